"""leaky.lab.runner: one study, three backends (in-process, local processes, a real Dask
cluster on loopback), the same bytes from each; resumed after Ctrl-C; failures stored in
one line; workers killed; no orphan process after SIGTERM or kill -9 of the parent."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from leaky._imports import MissingExtraError
from leaky.lab.progress import (
    PlainProgress,
    Progress,
    RichProgress,
    RunPlan,
    auto_progress,
)
from leaky.lab.runner import (
    Results,
    Runner,
    SchedulerError,
    Task,
    default_jobs,
    parse_scheduler,
    run,
)
from leaky.lab.store import STORE_FILE, Outcome, Store, canonical_json
from tests.lab.toy_tasks import Config

ROOT = Path(__file__).resolve().parents[2]
DRAW = "tests.lab.toy_tasks:draw"


def study(n: int = 10, sleep: float = 0.0, experiment: str = "toy") -> list[Task]:
    tasks = [
        Task(experiment, DRAW, {"seed": s, "sleep": sleep}, label=f"seed {s}") for s in range(n)
    ]
    tasks.append(Task("typed", "tests.lab.toy_tasks:scaled", Config(seed=5, scale=0.5)))
    return tasks


def as_json(results: Results) -> str:
    return canonical_json(results.values(), allow_nan=True)


@pytest.fixture(scope="module")
def reference() -> str:
    """The toy study's values run in this process, with nothing stored: the yardstick."""
    results = run(study(), jobs=1)
    assert results.ran == len(study()) and results.failed == 0
    return as_json(results)


class Recorder(Progress):
    def __init__(self) -> None:
        self.plan: RunPlan | None = None
        self.done: list[Outcome] = []
        self.finished: list[Results | None] = []

    def start(self, plan: RunPlan) -> None:
        self.plan = plan

    def task_done(self, outcome: Outcome) -> None:
        self.done.append(outcome)

    def finish(self, results: Results | None) -> None:
        self.finished.append(results)


# --- in-process and local processes ----------------------------------------------------


def test_local_processes_store_the_bytes_of_an_in_process_run(
    reference: str, tmp_path: Path
) -> None:
    recorder = Recorder()
    results = run(study(), tmp_path, jobs=2, progress=recorder)
    assert as_json(results) == reference
    assert results.ran == 11 and results.cached == 0 and results.backend == "2 local processes"
    assert all(re.fullmatch(r"process \d+", o.worker) for o in results.outcomes)
    assert results.outcomes[-1].value["config_type"] == "Config"  # the dataclass came back
    assert recorder.plan == RunPlan({"toy": 10, "typed": 1}, {}, "2 local processes", None)
    assert len(recorder.done) == 11 and recorder.finished == [results]
    with Store(tmp_path, create=False) as store:
        assert canonical_json([o.value for o in store.load(study())], allow_nan=True) == reference

    again = Recorder()
    rerun = run(study(), tmp_path, jobs=2, progress=again)
    assert (rerun.ran, rerun.cached, rerun.backend) == (0, 11, "nothing to run")
    assert as_json(rerun) == reference and all(o.cached for o in rerun.outcomes)
    assert again.plan is not None and again.plan.to_run == 0 and again.done == []


def test_a_task_listed_twice_runs_once_and_comes_back_under_each_name() -> None:
    task = Task("a", DRAW, {"seed": 1})
    twin = Task("b", DRAW, {"seed": 1}, label="twin")
    results = run([task, twin, task], jobs=1)
    assert results.ran == 1
    assert [o.experiment for o in results.outcomes] == ["a", "b", "a"]
    assert results.outcomes[0].value == results.outcomes[1].value


def test_a_task_that_raises_is_stored_as_a_one_line_failure_and_retried(tmp_path: Path) -> None:
    tasks = [
        *study(3),
        Task("toy", "tests.lab.toy_tasks:has_child", {}),  # a worker may have children
        Task("toy", DRAW, {"seed": 9, "fail": True}, label="bad"),
    ]
    results = run(tasks, tmp_path, jobs=2)
    assert results.ran == 6 and results.failed == 1
    assert results.outcomes[-2].value == {"exitcode": 0}
    (failure,) = results.failures()
    assert failure.error == "ValueError: seed 9 fails on purpose"  # one line
    assert "Traceback" in failure.traceback and failure.value is None
    assert all(o.ok for o in results.outcomes[:-1])
    with Store(tmp_path, create=False) as store:
        assert store.get(tasks[-1]).error == failure.error
        assert store.summary() == {
            "toy": {"done": 4, "failed": 1},
            "typed": {"done": 1, "failed": 0},
        }
    again = run(tasks, tmp_path, jobs=1)
    assert (again.ran, again.cached, again.failed) == (1, 5, 1)
    assert again.outcomes[-1].attempts == 2


def test_results_that_are_not_json_and_sys_exit_are_failures_not_exits() -> None:
    tasks = [
        Task("e", "tests.lab.toy_tasks:not_json", {"seed": 0}),
        Task("e", "tests.lab.toy_tasks:exits", {"code": 0}),
        Task("e", DRAW, {"seed": 1}),
    ]
    errors = [o.error for o in run(tasks, jobs=1).outcomes]
    assert errors[0].startswith("TypeError: the task's result must be JSON types")
    assert errors[1] == "SystemExit: the task called sys.exit(0)"
    assert errors[2] is None


def test_a_function_that_cannot_be_imported_fails_before_any_work(tmp_path: Path) -> None:
    tasks = [Task("e", "tests.lab.toy_tasks:no_such_function", {"seed": 0})]
    with pytest.raises(ValueError, match="has no 'no_such_function'"):
        run(tasks, tmp_path, jobs=2)
    with Store(tmp_path, create=False) as store:
        assert len(store) == 0


def test_a_worker_killed_mid_task_costs_only_its_task(tmp_path: Path) -> None:
    marker = tmp_path / "died-once"
    tasks = [
        *study(4, sleep=0.1),
        Task("toy", DRAW, {"seed": 20, "die_once": str(marker)}, label="dies once"),
        Task("toy", DRAW, {"seed": 21, "die": True}, label="always dies"),
    ]
    results = run(tasks, tmp_path / "store", jobs=2, max_attempts=2)
    assert marker.exists()
    assert as_json(Results(results.outcomes[:5], 0, 0, 0, 0, "")) == canonical_json(
        run(study(4, sleep=0.1), jobs=1).values(), allow_nan=True
    )
    revived, dead = results.outcomes[-2:]
    assert revived.ok and revived.value == run([Task("t", DRAW, {"seed": 20})], jobs=1).values()[0]
    assert not dead.ok and dead.error.startswith(
        "WorkerDied: the worker process running this task died 2 times (last: killed by SIGKILL"
    )
    assert results.failed == 1 and all(o.ok for o in results.outcomes[:-1])


def test_a_task_raising_keyboard_interrupt_stops_a_local_study(tmp_path: Path) -> None:
    tasks = [*study(2), Task("toy", DRAW, {"seed": 30, "interrupt": True})]
    recorder = Recorder()
    with pytest.raises(KeyboardInterrupt):
        run(tasks, tmp_path, jobs=2, progress=recorder)
    assert recorder.finished == [None]
    with Store(tmp_path, create=False) as store:
        assert len(store) == len(recorder.done)


# --- signals, in a subprocess ---------------------------------------------------------

_STUDY = textwrap.dedent(
    """
    import sys
    from leaky.lab.runner import Task, run

    folder, sleep, jobs = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    tasks = [Task("toy", "tests.lab.toy_tasks:draw", {"seed": s, "sleep": sleep})
             for s in range(12)]
    if __name__ == "__main__":
        results = run(tasks, folder, jobs=jobs)
        print("ran", results.ran, "cached", results.cached)
    """
)


def _start_study(folder: Path, sleep: float, jobs: int = 2) -> subprocess.Popen:
    script = folder.parent / "study.py"
    script.write_text(_STUDY)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(script), str(folder), str(sleep), str(jobs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _stored(folder: Path) -> int:
    try:
        with sqlite3.connect(f"file:{folder / STORE_FILE}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT count(*) FROM runs").fetchone()[0]
    except sqlite3.Error:
        return 0


def _wait_until(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_ctrl_c_keeps_the_stored_results_and_a_rerun_runs_only_the_rest(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "study"
    proc = _start_study(folder, sleep=0.15)
    _wait_until(lambda: _stored(folder) >= 3 or proc.poll() is not None)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGINT, err  # the shell's 130
    assert "KeyboardInterrupt" in err
    stored = _stored(folder)
    assert 3 <= stored < 12

    tasks = [Task("toy", DRAW, {"seed": s, "sleep": 0.15}) for s in range(12)]
    recorder = Recorder()
    results = run(tasks, folder, jobs=1, progress=recorder)
    assert (results.ran, results.cached) == (12 - stored, stored)
    assert len(recorder.done) == 12 - stored
    fresh = run([Task("toy", DRAW, {"seed": s, "sleep": 0}) for s in range(12)], jobs=1)
    assert results.values() == fresh.values()  # sleep changes the time, not the values


def _descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "kill-9"])
def test_no_worker_outlives_its_parent(tmp_path: Path, sig: signal.Signals) -> None:
    folder = tmp_path / "study"
    proc = _start_study(folder, sleep=30.0)  # the workers are busy when the signal comes
    _wait_until(
        lambda: (
            proc.poll() is not None
            or sum(c.name().startswith("python") for c in _descendants(proc.pid)) >= 2
        )
    )
    workers = _descendants(proc.pid)
    time.sleep(0.5)  # the workers import and start their tasks
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == (143 if sig == signal.SIGTERM else -signal.SIGKILL), err
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert alive == [], [p.cmdline() for p in alive]
    assert _stored(folder) == 0  # nothing finished, nothing half-written


# --- arguments ------------------------------------------------------------------------


def test_the_runner_checks_its_arguments() -> None:
    assert Runner().jobs == default_jobs()
    assert parse_scheduler(None) is None and parse_scheduler("local") == "local"
    assert parse_scheduler("tls://[::1]:8786") == "tls://[::1]:8786"
    for bad in ("tcp://nohost", "http://h:1", "", 8786):
        with pytest.raises(ValueError, match=r"'scheduler' parameter of leaky\.lab\.runner"):
            parse_scheduler(bad)
    with pytest.raises(ValueError, match="'jobs' parameter of Runner does not apply"):
        Runner(jobs=2, scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(ValueError, match="'jobs' parameter of Runner must be an integer >= 1"):
        Runner(jobs=0)
    with pytest.raises(ValueError, match=r"'tasks' parameter of Runner\.run must be a list"):
        Runner(jobs=1).run(Task("e", DRAW, {"seed": 0}))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"'store' parameter of Runner\.run"):
        Runner(jobs=1).run([], store=3)  # type: ignore[arg-type]
    assert run([], jobs=1).outcomes == ()


def test_a_scheduler_without_the_cluster_extra_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingExtraError) as info:
        run([Task("e", DRAW, {"seed": 0})], scheduler="local", jobs=1)
    assert "pip install 'leaky[cluster]'" in str(info.value)
    assert "\n" not in str(info.value)


# --- progress ---------------------------------------------------------------------------


def _outcome(experiment: str, label: str, error: str | None = None) -> Outcome:
    return Outcome(
        key="ab" * 32,
        experiment=experiment,
        label=label,
        function=DRAW,
        config={},
        status="done" if error is None else "failed",
        value={} if error is None else None,
        error=error,
        seconds=1.25,
        worker="process 7",
    )


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_plain_progress_is_one_line_per_task_with_counts_and_eta() -> None:
    out, clock = io.StringIO(), Clock()
    progress = PlainProgress(out, clock=clock)
    plan = RunPlan(
        {"stress": 4, "slopes [/]": 1},
        {"stress": 1},
        "Dask scheduler tcp://h:1 (2 workers now)",
        "http://h:8787/status",
    )
    progress.start(plan)
    clock.now += 10
    progress.task_done(_outcome("stress", "mlp lr=0.1"))
    clock.now += 10
    progress.task_done(_outcome("slopes [/]", "[bold]x", error="ValueError: [/] bad"))
    progress.finish(None)
    assert out.getvalue().splitlines() == [
        "leaky: running 4 of 5 tasks (1 stored) on Dask scheduler tcp://h:1 (2 workers now); "
        "dashboard: http://h:8787/status",
        "[1/4] stress 2/4: mlp lr=0.1 done in 1.2 s (process 7), eta 30.0 s",
        "[2/4] slopes [/] 1/1: [bold]x FAILED in 1.2 s (process 7): ValueError: [/] bad, "
        "eta 20.0 s",
        "leaky: stopped: 2 of 4 tasks finished (stored)",
    ]


def test_rich_progress_draws_bars_and_prints_user_text_as_it_is() -> None:
    from rich.console import Console

    console = Console(file=io.StringIO(), force_terminal=True, width=120, color_system=None)
    progress = RichProgress(console)
    progress.start(RunPlan({"[red]stress": 2, "b": 1}, {"b": 1}, "2 local processes"))
    progress.task_done(_outcome("[red]stress", "one"))
    progress.task_done(_outcome("[red]stress", "[/]two", error="ValueError: [/] :smile:"))
    results = Results((), 2, 1, 1, 3.0, "2 local processes")
    progress.finish(results)
    text = console.file.getvalue()
    assert "leaky: running 2 of 3 tasks (1 stored) on 2 local processes" in text
    assert "[red]stress" in text and "2/2" in text  # the bar, its name not read as markup
    assert "[red]stress: [/]two failed: ValueError: [/] :smile:" in text
    assert "leaky: done in" in text and "2 ran, 1 stored, 1 failed" in text


def test_auto_progress_draws_bars_only_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert type(auto_progress(Terminal())) is RichProgress
    assert type(auto_progress(io.StringIO())) is PlainProgress


def test_a_run_reports_progress_after_an_interruption_too(tmp_path: Path) -> None:
    out = io.StringIO()
    tasks = [Task("toy", DRAW, {"seed": 0}), Task("toy", DRAW, {"seed": 1, "interrupt": True})]
    with pytest.raises(KeyboardInterrupt):
        run(tasks, tmp_path, jobs=1, progress=PlainProgress(out))
    lines = out.getvalue().splitlines()
    assert lines[0] == "leaky: running 2 tasks (0 stored) in-process"
    assert lines[-1] == "leaky: stopped: 1 of 2 tasks finished (stored)"
    with pytest.raises(ValueError, match=r"'progress' parameter of Runner\.run"):
        run(tasks, jobs=1, progress=print)  # type: ignore[arg-type]


# --- a real Dask cluster on loopback ---------------------------------------------------


def test_a_dask_cluster_stores_the_bytes_of_an_in_process_run(
    reference: str, dask_cluster, tmp_path: Path
) -> None:
    recorder = Recorder()
    results = run(study(), tmp_path, scheduler=dask_cluster.address, progress=recorder)
    assert as_json(results) == reference
    assert results.ran == 11 and results.backend.startswith(
        f"Dask scheduler {dask_cluster.address}"
    )
    assert all(o.worker.startswith("tcp://127.0.0.1:") for o in results.outcomes)
    rerun = run(study(), tmp_path, scheduler=dask_cluster.address)
    assert (rerun.ran, rerun.cached) == (0, 11) and as_json(rerun) == reference


def test_a_quick_study_on_the_dask_cluster_equals_the_in_process_one(
    dask_cluster, quick_report: Path, tmp_path: Path
) -> None:
    # The real study, not toy tasks: every experiment of `leaky report --quick --seed 1`
    # through the loopback cluster gives the results.json the command wrote on this machine
    # (setup aside: it names the backend and the time).
    from leaky.lab import report

    _, rep = report.build(tmp_path / "r", scale="quick", seed=1, scheduler=dask_cluster.address)
    assert rep.setup["ran on"].startswith(f"Dask scheduler {dask_cluster.address}")
    here = json.loads((tmp_path / "r" / "results.json").read_text())
    there = json.loads((quick_report / "results.json").read_text())
    for part in ("plan", "claims", "advice", "results", "failures"):
        assert here[part] == there[part], part


def test_a_dask_task_that_raises_is_a_stored_failure(dask_cluster, tmp_path: Path) -> None:
    tasks = [*study(2), Task("toy", DRAW, {"seed": 9, "fail": True})]
    results = run(tasks, tmp_path, scheduler=dask_cluster.address)
    assert results.failed == 1
    assert results.outcomes[-1].error == "ValueError: seed 9 fails on purpose"


class KillOneWorker(Progress):
    """Kills a busy Dask worker (kill -9) when the first task finishes."""

    def __init__(self, cluster) -> None:
        self.cluster, self.killed = cluster, 0
        self.done: list[Outcome] = []

    def task_done(self, outcome: Outcome) -> None:
        self.done.append(outcome)
        if not self.killed:
            self.cluster.kill_worker(self.cluster.alive()[0])
            self.killed += 1


def test_a_dask_worker_killed_while_tasks_run(reference: str, dask_cluster, tmp_path: Path) -> None:
    dask_cluster.wait_for_workers(2)
    killer = KillOneWorker(dask_cluster)
    try:
        results = run(study(sleep=0.3), tmp_path, scheduler=dask_cluster.address, progress=killer)
    finally:
        dask_cluster.add_worker(wait=False)  # a second worker again for the next tests
    assert killer.killed == 1
    assert as_json(results) == reference
    assert results.ran == 11 and len(killer.done) == 11  # no task reported twice
    with Store(tmp_path, create=False) as store:
        assert len(store) == 11 and all(o.attempts == 1 for o in store)


def test_a_local_dask_cluster_stores_the_bytes_of_an_in_process_run(
    reference: str, tmp_path: Path
) -> None:
    import dask

    recorder = Recorder()
    killer = Task("toy", DRAW, {"seed": 40, "die": True})  # kills its worker each time
    # The LocalCluster's scheduler runs here: it gives up on a task after one dead worker
    # (and on any task running there then: the killer runs alone).
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        Runner(jobs=1, scheduler="local") as runner,
    ):
        results = runner.run(study(), tmp_path, progress=recorder)
        killed = runner.run([killer], tmp_path)
        # our own cluster's workers go without the nanny's MALLOC_TRIM_THRESHOLD_ (2x slower
        # PyTorch training), and keep its one-thread settings
        environ = runner._backend.client.run(lambda: dict(os.environ))  # type: ignore[union-attr]
    for env in environ.values():
        assert "MALLOC_TRIM_THRESHOLD_" not in env and env["OMP_NUM_THREADS"] == "1"
    assert as_json(results) == reference
    assert results.backend.startswith("Dask LocalCluster (1 worker process,")
    assert recorder.plan is not None and recorder.plan.backend == results.backend
    assert killed.outcomes[0].error.startswith("KilledWorker: the workers running this task")


def _listening(pid: int) -> set[tuple[str, int]]:
    return {
        (c.laddr.ip, c.laddr.port)
        for c in psutil.Process(pid).net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    }


def test_a_local_dask_cluster_listens_on_loopback_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEAKY_DASHBOARD_ADDRESS", raising=False)
    with Runner(jobs=1, scheduler="local") as runner:
        backend = runner._start()
        port = backend.client.scheduler_info()["services"]["dashboard"]  # type: ignore[union-attr]
        listening = _listening(os.getpid())  # the LocalCluster's scheduler runs here
    assert ("127.0.0.1", port) in listening  # the dashboard, on loopback
    assert not {ip for ip, _ in listening} - {"127.0.0.1", "::1"}, listening


def test_the_dashboard_address_is_exposed_only_on_purpose_and_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from leaky.lab.runner import RunnerError

    monkeypatch.setenv("LEAKY_DASHBOARD_ADDRESS", ":8787")  # every interface, implicitly
    with pytest.raises(RunnerError, match=r"^The environment variable LEAKY_DASHBOARD_ADDRESS"):
        Runner(jobs=1, scheduler="local")._start()
    port = _free_port()
    monkeypatch.setenv("LEAKY_DASHBOARD_ADDRESS", f"0.0.0.0:{port}")
    with Runner(jobs=1, scheduler="local") as runner:
        runner._start()
        listening = _listening(os.getpid())
    assert ("0.0.0.0", port) in listening


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_scheduler_is_one_line(tmp_path: Path) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    runner = Runner(scheduler=address, connect_timeout=1.0)
    with pytest.raises(SchedulerError) as info:
        runner.run([Task("e", DRAW, {"seed": 0})], tmp_path)
    message = str(info.value)
    assert message.startswith(f"Cannot reach the Dask scheduler at {address} within 1 s")
    assert "\n" not in message


def test_a_lost_scheduler_is_one_line_and_keeps_the_stored_results(tmp_path: Path) -> None:
    from tests.lab.dask_cluster import LoopbackCluster

    cluster = LoopbackCluster(tmp_path / "cluster", workers=1)

    class KillScheduler(Progress):
        def task_done(self, outcome: Outcome) -> None:
            if cluster.scheduler.poll() is None:
                cluster.scheduler.kill()

    try:
        runner = Runner(scheduler=cluster.address, connect_timeout=2.0)
        with pytest.raises(SchedulerError) as info:
            runner.run(study(6, sleep=0.2), tmp_path / "study", progress=KillScheduler())
        started = time.monotonic()
        runner.close()
        assert time.monotonic() - started < 10
    finally:
        cluster.stop()
    message = str(info.value)
    assert message.startswith(f"Lost the Dask scheduler at {cluster.address}")
    assert "\n" not in message
    with Store(tmp_path / "study", create=False) as store:
        assert len(store) >= 1
