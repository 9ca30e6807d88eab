"""A real Dask cluster on loopback for the tests: a `dask scheduler` process and `dask
worker` processes (one thread each, no nanny, no dashboard), started and stopped here.

The scheduler picks a free port and writes its address to a scheduler file; workers read
it. Safety nets if the test process dies: the scheduler closes after 120 s without work
(``--idle-timeout``) and a worker exits 30 s after its scheduler is gone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class LoopbackCluster:
    """``address``, ``workers`` (Popen objects); ``add_worker``, ``kill_worker``, ``stop``."""

    def __init__(self, folder: Path, workers: int = 2, timeout: float = 60.0) -> None:
        self.folder, self.timeout = folder, timeout
        folder.mkdir(parents=True, exist_ok=True)
        self.scheduler_file = folder / "scheduler.json"
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
        )
        self.workers: list[subprocess.Popen] = []
        self._logs: list = []
        self.scheduler = self._spawn(
            "scheduler",
            "distributed.cli.dask_scheduler",
            "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
            "--scheduler-file", str(self.scheduler_file), "--idle-timeout", "120s",
        )  # fmt: skip
        try:
            for _ in range(workers):  # they wait for the scheduler file (--death-timeout)
                self.add_worker(wait=False)
            self.address = self._wait_for_address()
            self.wait_for_workers(workers)
        except BaseException:
            self.stop()
            raise

    def _spawn(self, name: str, module: str, *args: str) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self._logs.append(log)
        return subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env,
            cwd=self.folder,
        )

    def _wait_for_address(self) -> str:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.scheduler.poll() is not None:
                raise RuntimeError(f"dask scheduler exited: {self.log('scheduler')}")
            try:
                return json.loads(self.scheduler_file.read_text())["address"]
            except (OSError, ValueError, KeyError):
                time.sleep(0.1)
        raise TimeoutError(f"no dask scheduler address after {self.timeout} s")

    def add_worker(self, wait: bool = True) -> subprocess.Popen:
        n = len(self.workers)
        worker = self._spawn(
            f"worker-{n}",
            "distributed.cli.dask_worker",
            "--scheduler-file", str(self.scheduler_file), "--host", "127.0.0.1",
            "--nthreads", "1", "--no-nanny", "--no-dashboard", "--name", f"w{n}",
            "--death-timeout", "30s",
        )  # fmt: skip
        self.workers.append(worker)
        if wait:
            self.wait_for_workers(len(self.alive()))
        return worker

    def alive(self) -> list[subprocess.Popen]:
        return [w for w in self.workers if w.poll() is None]

    def wait_for_workers(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=self.timeout) as client:
            client.wait_for_workers(n, timeout=self.timeout)

    def kill_worker(self, worker: subprocess.Popen) -> None:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def stop(self) -> None:
        """Kill every process (nothing of a test cluster is worth a graceful close)."""
        procs = [*self.workers, self.scheduler]
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        for proc in procs:
            proc.wait(30)
        for log in self._logs:
            log.close()
