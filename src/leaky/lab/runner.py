"""Run a study's tasks on one machine or a cluster, storing each result as it finishes.

``run(tasks, DIR)`` (or a ``Runner`` used for several runs) takes the study's ``Task`` list
(``leaky.lab.store``), skips those whose result ``DIR/runs.sqlite`` already holds, runs the
others, stores each outcome as it arrives, reports progress (``leaky.lab.progress``) and
returns every outcome in task order (``Results``). An interrupted study re-run with the same
tasks runs only what is missing; a stored failure is run again.

**Backends**, one interface:

===========================  ==============================================================
``jobs=1``                   in this process, one task after another
``jobs=N`` (default: cores)  N local worker processes (``spawn``); a worker dies with this
                             process (``PR_SET_PDEATHSIG`` on Linux, a watchdog elsewhere)
``scheduler="local"``        a ``dask.distributed.LocalCluster`` of ``jobs`` worker processes
``scheduler="tcp://h:p"``    the workers of a running Dask cluster (``jobs`` does not apply)
===========================  ==============================================================

Dask needs the ``cluster`` extra (``pip install 'leaky[cluster]'``); it is imported only
when a scheduler is given. The scheduler and every worker need leaky with its ``lab`` extra
(the scheduler unpickles each task's call, ``leaky.lab.runner._call``), and the workers the
modules of the tasks' functions and configurations: the client's environment, in short (for
your own module on a remote cluster, install it there or ``client.upload_file`` it). Only
strings travel to the workers (the function reference, the configuration's class reference
and its JSON) and back (the result's JSON), so every backend computes, and stores, the same
bytes. The first progress line carries the Dask dashboard's address (a LocalCluster's only
where bokeh is installed: ``pip install bokeh``). A LocalCluster's scheduler and dashboard
listen on 127.0.0.1 only; to reach its dashboard from another machine, set
``LEAKY_DASHBOARD_ADDRESS`` to the ``host:port`` it should listen on (``0.0.0.0:8787``:
every interface, on purpose), or forward the port (``ssh -L 8787:127.0.0.1:PORT``).

**A cluster of a batch system or Kubernetes**: start the Dask cluster there and pass its
scheduler's address. With dask-jobqueue on SLURM (PBS, SGE, LSF alike)::

    from dask_jobqueue import SLURMCluster   # in a Python session kept open on the login node
    cluster = SLURMCluster(cores=1, processes=1, memory="4GB", walltime="02:00:00")
    cluster.scale(jobs=20)              # 20 batch jobs, one single-threaded worker each
    print(cluster.scheduler_address)    # tcp://10.1.2.3:8786 -> leaky report --scheduler ...

(the scheduler lives in that session: keep it open while the study runs), or from shells:
``dask scheduler --scheduler-file ~/sched.json`` on the login node and
``dask worker --scheduler-file ~/sched.json --nthreads 1`` inside each batch job, then
``--scheduler`` with the address in ``~/sched.json``. With dask-kubernetes,
``KubeCluster(name="leaky", image=...)``, ``cluster.scale(20)`` and its
``scheduler_address`` (``kubectl port-forward`` 8786 when the client runs outside the
cluster); the image must hold leaky[lab]. Use one thread per worker (``--nthreads 1``): a
task sets its own thread count. The study's folder stays on the machine that runs the
client: only the client writes the store. Workers may come and go (a batch job that ends,
a pod that is preempted): their tasks run elsewhere.

**Faults.** A task that raises is stored as a failure with its error in one line
(``Outcome.error``; the traceback is kept in ``Outcome.traceback``), the study completes
and the next run retries it. A worker that dies mid-task (``kill -9``, out of memory)
costs only its tasks: Dask retries them on other workers (until its
``distributed.scheduler.allowed-failures``, 3 by default, then the task is a failure); the
local backend replaces the dead worker and resubmits its task (the other workers go on), up
to ``max_attempts`` times. A lost Dask scheduler is a ``SchedulerError`` (one line); the
results stored until then stay. Ctrl-C raises ``KeyboardInterrupt`` and SIGTERM raises
``Terminated`` (a ``SystemExit`` with code 143) once the workers are stopped: no worker
outlives the run, nothing half-written is stored, and the command exits 130 or 143.

Examples:
    >>> tasks = [Task("demo", "leaky.lab.runner:check_task", {"seed": s}) for s in (1, 2)]
    >>> results = run(tasks, jobs=1)
    >>> results.ran, results.cached, [o.value["seed"] for o in results.outcomes]
    (2, 0, [1, 2])
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import importlib.util
import json
import logging
import multiprocessing
import multiprocessing.util  # its atexit joins child processes: ours must run before it
import os
import signal
import sys
import threading
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError
from dataclasses import dataclass
from typing import Any

from leaky import _validate
from leaky._imports import try_import
from leaky.lab import _checks
from leaky.lab.progress import Progress, RunPlan
from leaky.lab.store import Outcome, Store, Task, canonical_json

__all__ = [
    "Outcome",
    "Results",
    "Runner",
    "RunnerError",
    "SchedulerError",
    "Task",
    "Terminated",
    "check_task",
    "default_jobs",
    "parse_scheduler",
    "run",
]

ERROR_CHARS = 500
"""A failure's error line is cut to this many characters."""
DASHBOARD_ENV = "LEAKY_DASHBOARD_ADDRESS"
"""A LocalCluster's dashboard listens on 127.0.0.1 (a free port) unless this says otherwise."""


class RunnerError(RuntimeError):
    """A study could not run; the message is one line (a CLI prints it as it is)."""


class SchedulerError(RunnerError):
    """The Dask scheduler cannot be reached or was lost; stored results are kept."""


class Terminated(SystemExit):
    """SIGTERM arrived during a run: the workers were stopped; exit status 143."""

    def __init__(self) -> None:
        super().__init__(143)


def default_jobs() -> int:
    """The number of cores this process may use (``os.sched_getaffinity`` where known)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def parse_scheduler(value: str | None) -> str | None:
    """Check a ``--scheduler`` value: None, ``"local"`` or a Dask scheduler address.

    Examples:
        >>> parse_scheduler("10.0.0.5:8786")
        'tcp://10.0.0.5:8786'
        >>> parse_scheduler("local")
        'local'
    """
    return _checks.scheduler_address(value, "scheduler", "leaky.lab.runner")


def check_task(config: dict[str, Any]) -> dict[str, Any]:
    """A tiny deterministic task (a sum of seeded normal draws), to check that a backend
    or a cluster runs leaky's tasks: ``Task("check", "leaky.lab.runner:check_task",
    {"seed": 0})``. ``config["sleep"]`` (seconds, optional) makes it slower.

    Examples:
        >>> check_task({"seed": 0}) == check_task({"seed": 0})
        True
    """
    import numpy as np

    seed = _checks.count(config.get("seed"), "config['seed']", "check_task")
    time.sleep(
        _validate.positive_real(config.get("sleep", 0), "config['sleep']", "check_task", zero=True)
    )
    draws = np.random.default_rng(seed).standard_normal(1000)
    return {"seed": seed, "sum": float(draws.sum()), "max": float(draws.max())}


# --- what runs in a worker --------------------------------------------------------------

_Reply = tuple[str, "str | None", "str | None", "str | None", float, str]
"""(status, value JSON, error line, traceback, seconds, worker)"""

_RESOLVED: dict[str, Any] = {}


def _resolve(ref: str, param: str) -> Any:
    if ref not in _RESOLVED:
        _RESOLVED[ref] = _checks.load_object(ref, param, "Task")
    return _RESOLVED[ref]


def one_line(error: BaseException) -> str:
    """``"TypeName: message"`` on one line (whitespace collapsed), cut to ERROR_CHARS.

    Examples:
        >>> one_line(ValueError("bad\\n  value"))
        'ValueError: bad value'
    """
    if isinstance(error, SystemExit):
        text = f"SystemExit: the task called sys.exit({error.code!r})"
    else:
        message = " ".join(str(error).split())
        text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 3] + "..."


def _where() -> str:
    get_worker = getattr(sys.modules.get("distributed"), "get_worker", None)
    if get_worker is not None:
        try:
            return str(get_worker().address)
        except ValueError:  # not in a Dask worker
            pass
    return _WORKER_NAME


_WORKER_NAME = "in-process"


def _call(function: str, config_type: str | None, config_json: str) -> _Reply:
    """Run one task where this is called; never raises for the task's own errors."""
    start = time.perf_counter()
    try:
        func = _resolve(function, "function")
        config: Any = json.loads(config_json)
        if config_type is not None:
            config = _resolve(config_type, "config").from_dict(config)
        result = func(config)
        value = result.to_dict() if callable(getattr(result, "to_dict", None)) else result
        try:
            text = canonical_json(value, allow_nan=True)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"the task's result must be JSON types (or have to_dict()): {err}"
            ) from None
    except (Exception, SystemExit) as err:
        seconds = time.perf_counter() - start
        return ("failed", None, one_line(err), traceback.format_exc(), seconds, _where())
    return ("done", text, None, None, time.perf_counter() - start, _where())


def _die_with_parent(parent: int) -> None:
    """A local worker's initializer: exit when the parent process dies; ignore Ctrl-C
    (the parent handles it and stops the workers)."""
    global _WORKER_NAME
    _WORKER_NAME = f"process {os.getpid()}"
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: SIGKILL when it dies
    else:

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, daemon=True, name="leaky-watch-parent").start()
    if os.getppid() != parent:  # it died before prctl: nobody would wait for us
        os._exit(1)


# --- backends ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    task: Task
    attempts: int  # of the stored failure it replaces, else 0

    @property
    def payload(self) -> tuple[str, str | None, str]:
        return (self.task.function, self.task.config_type, self.task.config_json)


_Done = Callable[[_Item, _Reply], None]


class _Backend:
    name = ""
    dashboard: str | None = None

    def run(self, items: Sequence[_Item], done: _Done) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        """Stop at once: no worker keeps running a task (called on any exception)."""

    def close(self) -> None:
        """Release the workers after a normal end."""


class _InProcess(_Backend):
    name = "in-process"

    def run(self, items: Sequence[_Item], done: _Done) -> None:
        for item in items:
            done(item, _call(*item.payload))


def _serve(conn: Any, parent: int) -> None:
    """A local worker's loop: run the tasks received on ``conn`` until None or EOF."""
    _die_with_parent(parent)
    while True:
        try:
            job = conn.recv()
        except EOFError:  # the parent closed its end (or died)
            return
        if job is None:
            return
        try:
            reply = _call(*job)
        except KeyboardInterrupt:  # raised by the task: the study stops, as in-process
            reply = ("interrupted", None, None, None, 0.0, _WORKER_NAME)
        try:
            conn.send(reply)
        except OSError:  # the parent is gone
            return


def _signal_name(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit status {exitcode}"


class _Worker:
    """One local worker process and the parent's end of its pipe."""

    def __init__(self, context: Any) -> None:
        parent_end, child_end = context.Pipe()
        # Not a daemon: a task may start processes of its own (a DataLoader's workers).
        self.process = context.Process(
            target=_serve, args=(child_end, os.getpid()), name="leaky-worker"
        )
        self.process.start()
        child_end.close()
        self.conn = parent_end
        self.item: _Item | None = None

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


class _Processes(_Backend):
    """Local worker processes, each with its own pipe, one task at a time each.

    A worker that dies costs only the task it was running (its pipe tells which): that
    task is resubmitted (up to ``max_attempts`` runs) and a new worker replaces it; the
    other workers go on undisturbed.
    """

    def __init__(self, jobs: int, max_attempts: int) -> None:
        self.jobs, self.max_attempts = jobs, max_attempts
        self.name = f"{jobs} local process{'es' if jobs > 1 else ''}"
        self._context = multiprocessing.get_context("spawn")  # fork + OpenMP can hang
        self._workers: list[_Worker] = []
        atexit.register(self.close)  # a Runner never closed: its idle workers still end

    def run(self, items: Sequence[_Item], done: _Done) -> None:
        from multiprocessing.connection import wait as wait_any

        queue = deque(items)
        deaths: Counter[str] = Counter()
        while queue or any(w.item is not None for w in self._workers):
            running = sum(w.item is not None for w in self._workers)
            while len(self._workers) < min(self.jobs, running + len(queue)):
                self._workers.append(_Worker(self._context))
            for worker in self._workers:
                if queue and worker.item is None:
                    sent = queue.popleft()
                    try:
                        worker.conn.send(sent.payload)
                    except OSError:  # it died idle: replaced below, the task not charged
                        queue.appendleft(sent)
                        self._drop(worker)
                        break
                    worker.item = sent
            busy = [w for w in self._workers if w.item is not None]
            if not busy:
                continue
            wait_any([w.conn for w in busy] + [w.process.sentinel for w in busy])
            for worker in busy:
                item = worker.item
                assert item is not None
                reply: _Reply | None = None
                closed = False
                try:
                    if worker.conn.poll():
                        reply = worker.conn.recv()
                except (EOFError, OSError):  # its end of the pipe closed: it is dying
                    closed = True
                if reply is not None:
                    worker.item = None
                    if reply[0] == "interrupted":
                        raise KeyboardInterrupt
                    done(item, reply)
                elif closed or not worker.process.is_alive():
                    worker.process.join(5)
                    self._drop(worker)
                    deaths[item.task.key] += 1
                    if deaths[item.task.key] >= self.max_attempts:
                        how = _signal_name(worker.process.exitcode)
                        done(item, _lost_reply(deaths[item.task.key], how))
                    else:
                        queue.appendleft(item)

    def _drop(self, worker: _Worker) -> None:
        worker.kill()
        self._workers.remove(worker)

    def abort(self) -> None:
        workers, self._workers = self._workers, []
        for worker in workers:
            if worker.process.is_alive():
                worker.process.kill()
        for worker in workers:
            worker.kill()

    def close(self) -> None:
        atexit.unregister(self.close)
        workers, self._workers = self._workers, []
        for worker in workers:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        for worker in workers:
            worker.process.join(10)
            worker.kill()


def _lost_reply(attempts: int, how: str) -> _Reply:
    times = "once" if attempts == 1 else f"{attempts} times"
    error = (
        f"WorkerDied: the worker process running this task died {times} (last: {how}; "
        "killed, out of memory or crashed)"
    )
    return ("failed", None, error, None, 0.0, "lost")


class _Dask(_Backend):
    """A Dask client: of a LocalCluster it starts, or of a running scheduler."""

    def __init__(self, scheduler: str, jobs: int, timeout: float) -> None:
        with try_import(f"leaky.lab.runner with scheduler={scheduler!r}", "cluster") as deps:
            import distributed
        deps.check()

        self._distributed = distributed
        self._cluster = None
        self.address = scheduler
        self._levels: dict[str, int] = {}  # of the loggers quieted, to restore
        if scheduler == "local":
            import dask

            # Dask's nanny gives its workers MALLOC_TRIM_THRESHOLD_=65536, which also turns
            # off glibc's dynamic mmap threshold: every tensor above 128 KiB is then a fresh
            # mmap and its page faults. Measured on the standard study's tasks: 2x slower
            # training (a warm MNIST-1D task 2.9 s -> 8.0 s). Our own cluster goes without it.
            environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
            environ.pop("MALLOC_TRIM_THRESHOLD_", None)
            # This machine only: the scheduler and its dashboard (":0" would mean every
            # interface); LEAKY_DASHBOARD_ADDRESS=0.0.0.0:8787 exposes the dashboard on purpose.
            try:
                dashboard = _checks.dashboard_address(DASHBOARD_ENV, "127.0.0.1:0")
            except ValueError as err:  # one line for the CLI, before any process starts
                raise RunnerError(str(err)) from None
            try:
                with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
                    self._cluster = distributed.LocalCluster(
                        n_workers=jobs,
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        dashboard_address=dashboard,
                        silence_logs=logging.ERROR,
                    )
                self.client = distributed.Client(self._cluster)
            except Exception as err:  # one line for the CLI; the cause stays chained
                if self._cluster is not None:
                    self._cluster.close()
                raise RunnerError(
                    f"Cannot start a Dask LocalCluster of {jobs} worker processes: {one_line(err)}"
                ) from err
            self.address = self._cluster.scheduler_address
        else:
            try:
                self.client = distributed.Client(scheduler, timeout=timeout)
            except OSError as err:
                raise SchedulerError(
                    f"Cannot reach the Dask scheduler at {scheduler} within {timeout:g} s "
                    f"({one_line(err)}). Is it running? Start one with `dask scheduler`."
                ) from None
        info = self.client.scheduler_info()
        workers = len(info.get("workers", {}))
        if scheduler == "local":
            processes = "1 worker process" if jobs == 1 else f"{jobs} worker processes"
            self.name = f"Dask LocalCluster ({processes}, {self.address})"
        else:
            self.name = f"Dask scheduler {self.address} ({workers} workers now)"
        # The dashboard's pages need bokeh; known missing here, it is not announced.
        has_bokeh = scheduler != "local" or importlib.util.find_spec("bokeh") is not None
        services = info.get("services", {})
        self.dashboard = (
            self.client.dashboard_link if "dashboard" in services and has_bokeh else None
        )
        self._futures: list[Any] = []
        # The client logs a lost connection (reconnect attempts, tracebacks of its
        # shutdown) on its own: said once here, as SchedulerError. Quiet until close().
        self._quiet("distributed.client")

    def _quiet(self, name: str) -> None:
        """Raise a logger to CRITICAL until ``close()`` restores it."""
        if name not in self._levels:
            self._levels[name] = logging.getLogger(name).level
            logging.getLogger(name).setLevel(logging.CRITICAL)

    def _lost(self, err: BaseException | None = None) -> SchedulerError:
        self._quiet("distributed")  # its shutdown too
        detail = f" ({one_line(err)})" if err is not None else ""
        return SchedulerError(
            f"Lost the Dask scheduler at {self.address} during the run{detail}; the results "
            "finished until then are stored: run the study again to compute the rest."
        )

    def run(self, items: Sequence[_Item], done: _Done) -> None:
        distributed = self._distributed
        try:  # one graph for all the tasks: one message to the scheduler, not one per task
            submitted = self.client.map(
                _call,
                *zip(*(item.payload for item in items), strict=True),
                key=[f"{item.task.experiment}-{item.task.key}" for item in items],
                pure=False,
            )
        except (OSError, distributed.client.FutureCancelledError) as err:
            raise self._lost(err) from None
        futures = dict(zip(submitted, items, strict=True))
        self._futures = list(futures)
        # Results are gathered by the client's event loop as they finish (with_results),
        # not one round trip at a time from this thread.
        finished = distributed.as_completed(self._futures, with_results=True, raise_errors=False)
        for future, result in finished:
            item = futures[future]
            # Judged by what came back, not by future.status: the status may have changed
            # since (a worker holding the result died after it was gathered).
            if isinstance(result, tuple) and len(result) == 6 and isinstance(result[0], str):
                reply = result  # what _call returned (a result or the task's own failure)
            elif isinstance(result, CancelledError):  # the connection to the scheduler
                raise self._lost(result)
            else:  # an error of Dask's (status "error"): (type, exception, traceback)
                error = result[1] if isinstance(result, tuple) else result
                if isinstance(error, distributed.KilledWorker):
                    error_line = (
                        "KilledWorker: the workers running this task died too often (killed, "
                        "out of memory or crashed); Dask gave up on it"
                    )
                elif isinstance(error, BaseException):
                    error_line = one_line(error)
                else:
                    error_line = f"DaskError: {error!r}"
                reply = ("failed", None, error_line, None, 0.0, "?")
            done(item, reply)
            future.release()
        self._futures = []

    def abort(self) -> None:
        futures, self._futures = self._futures, []
        with contextlib.suppress(Exception):
            if futures:
                self.client.cancel(futures)

    def close(self) -> None:
        self._quiet("distributed")  # shutting down: what failed was said already
        try:
            with contextlib.suppress(Exception):
                self.client.close(timeout=10)
            if self._cluster is not None:
                with contextlib.suppress(Exception):
                    self._cluster.close(timeout=10)
        finally:
            levels, self._levels = self._levels, {}
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)


# --- the runner -------------------------------------------------------------------------


@dataclass(frozen=True)
class Results:
    """What a run gave: every task's outcome in task order, and what was done.

    Attributes:
        outcomes: one ``Outcome`` per task given (a task repeated gets the same one).
        ran: tasks run by this call (each key once).
        cached: tasks whose stored result was used.
        failed: outcomes of this call that are failures (run now, each key once).
        seconds: the wall time of the call.
        backend: where the tasks ran (``"in-process"``, ``"2 local processes"``, ...;
            ``"nothing to run"`` when everything was stored).
    """

    outcomes: tuple[Outcome, ...]
    ran: int
    cached: int
    failed: int
    seconds: float
    backend: str

    def values(self) -> list[Any]:
        """The results' values in task order (None for a failure)."""
        return [o.value for o in self.outcomes]

    def failures(self) -> list[Outcome]:
        """The failed outcomes, in task order."""
        return [o for o in self.outcomes if not o.ok]

    def to_dict(self) -> dict[str, Any]:
        """JSON types."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["outcomes"] = [o.to_dict() for o in self.outcomes]
        return d


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While a run lasts, SIGTERM raises ``Terminated`` (so the workers are stopped) —
    where this is the main thread and nobody else handles SIGTERM."""
    install = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    )
    if not install:
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM kills at once
        raise Terminated()

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGTERM) is handler:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


class Runner:
    """One way to run tasks, kept for several runs (a cluster is started once).

    Args:
        jobs: worker processes; 1 runs in this process; None: one per core
            (``default_jobs()``). With ``scheduler="local"``, the LocalCluster's workers.
            Must be None with a scheduler address.
        scheduler: None (this machine), ``"local"`` (a Dask LocalCluster) or the address of
            a running Dask scheduler (``"tcp://host:8786"``).
        max_attempts: a local worker that dies running a task (``kill -9``, out of memory)
            costs that task one attempt; after this many it is stored as a failure. Dask
            has its own limit (``distributed.scheduler.allowed-failures``).
        connect_timeout: seconds to wait for the Dask scheduler.

    Nothing starts before the first task must run; ``close()`` (or ``with``) stops the
    workers. A Runner is used from one thread.

    Examples:
        >>> tasks = [Task("demo", "leaky.lab.runner:check_task", {"seed": 7})] * 2
        >>> with Runner(jobs=1) as runner:
        ...     results = runner.run(tasks)
        >>> results.ran, results.outcomes[0] == results.outcomes[1]
        (1, True)
    """

    def __init__(
        self,
        jobs: int | None = None,
        scheduler: str | None = None,
        *,
        max_attempts: int = 3,
        connect_timeout: float = 10.0,
    ) -> None:
        func = "Runner"
        self.scheduler = _checks.scheduler_address(scheduler, "scheduler", func)
        given = _checks.jobs_for(jobs, self.scheduler, "jobs", func)
        self.jobs = given if given is not None else default_jobs()
        self.max_attempts = _checks.positive_int(max_attempts, "max_attempts", func)
        self.connect_timeout = _validate.positive_real(connect_timeout, "connect_timeout", func)
        self._backend: _Backend | None = None

    def __repr__(self) -> str:
        scheduler = f", scheduler={self.scheduler!r}" if self.scheduler else ""
        return f"Runner(jobs={self.jobs}{scheduler})"

    def _start(self) -> _Backend:
        if self._backend is None:
            if self.scheduler is not None:
                self._backend = _Dask(self.scheduler, self.jobs, self.connect_timeout)
            elif self.jobs == 1:
                self._backend = _InProcess()
            else:
                self._backend = _Processes(self.jobs, self.max_attempts)
        return self._backend

    def close(self) -> None:
        """Stop the workers (a LocalCluster, a client's connection); idempotent."""
        backend, self._backend = self._backend, None
        if backend is not None:
            backend.close()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(
        self,
        tasks: Sequence[Task],
        store: Store | str | os.PathLike[str] | None = None,
        progress: Progress | None = None,
    ) -> Results:
        """Run the tasks that ``store`` lacks, store each outcome, return all in order.

        Args:
            tasks: the study (a list of ``Task``); a key given twice runs once.
            store: a ``Store``, a study folder (opened and closed here), or None (nothing
                is stored or skipped).
            progress: receives the run's events (``leaky.lab.progress``); None: silent.

        Raises:
            SchedulerError: the Dask scheduler cannot be reached or was lost.
            KeyboardInterrupt, Terminated: Ctrl-C, SIGTERM (workers stopped first).
            ValueError: a task's function cannot be imported here.
        """
        func = "Runner.run"
        tasks = _checks.sequence_of(tasks, "tasks", func, Task, "leaky.lab.store.Task")
        if store is not None and not isinstance(store, (Store, str, os.PathLike)):
            raise ValueError(
                f"The 'store' parameter of {func} must be a Store, a folder or None. "
                f"Got {store!r} ({type(store).__name__}) instead."
            )
        if progress is None:
            progress = Progress()
        elif not all(
            callable(getattr(progress, e, None)) for e in ("start", "task_done", "finish")
        ):
            raise ValueError(
                f"The 'progress' parameter of {func} must be a leaky.lab.progress.Progress "
                f"(start, task_done, finish) or None. Got {progress!r} instead."
            )
        start = time.perf_counter()
        db = Store(store) if isinstance(store, (str, os.PathLike)) else store
        try:
            return self._run(tasks, db, progress, start)
        finally:
            if db is not store and db is not None:
                db.close()

    def _run(
        self, tasks: list[Task], db: Store | None, progress: Progress, start: float
    ) -> Results:
        unique = {t.key: t for t in reversed(tasks)}  # the first task of each key wins
        unique = dict(reversed(unique.items()))
        stored = db.get_many(unique) if db is not None else {}
        todo = [
            _Item(t, stored[k].attempts if k in stored else 0)
            for k, t in unique.items()
            if k not in stored or not stored[k].ok
        ]
        for function in dict.fromkeys(item.task.function for item in todo):
            _resolve(function, "function")  # a typo fails here, before any worker starts
        totals = Counter(t.experiment for t in unique.values())
        cached = Counter(unique[k].experiment for k, o in stored.items() if o.ok)
        fresh: dict[str, Outcome] = {}

        def done(item: _Item, reply: _Reply) -> None:
            status, text, error, tb, seconds, worker = reply
            task = item.task
            outcome = Outcome(
                key=task.key,
                experiment=task.experiment,
                label=task.label,
                function=task.function,
                config=json.loads(task.config_json),
                status=status,  # type: ignore[arg-type]
                value=None if text is None else json.loads(text),
                error=error,
                seconds=seconds,
                worker=worker,
                attempts=item.attempts + 1,
                traceback=tb,
            )
            if db is not None and not db.put(outcome, task.code):
                outcome = db.get(task) or outcome  # another run stored it first: use that
            fresh[task.key] = outcome
            progress.task_done(outcome)

        results: Results | None = None
        try:
            with _sigterm_raises():
                backend = self._start() if todo else None
                progress.start(
                    RunPlan(
                        totals=dict(totals),
                        cached=dict(cached),
                        backend=backend.name if backend else "nothing to run",
                        dashboard=backend.dashboard if backend else None,
                    )
                )
                if backend is not None:
                    try:
                        backend.run(todo, done)
                    except BaseException as err:
                        backend.abort()
                        if isinstance(err, SchedulerError):
                            self.close()  # the next run connects again
                        raise
            outcomes = tuple(
                dataclasses.replace(
                    fresh.get(t.key) or stored[t.key],
                    experiment=t.experiment,
                    label=t.label,
                )
                for t in tasks
            )
            results = Results(
                outcomes=outcomes,
                ran=len(fresh),
                cached=sum(cached.values()),
                failed=sum(not o.ok for o in fresh.values()),
                seconds=time.perf_counter() - start,
                backend=backend.name if backend else "nothing to run",
            )
            return results
        finally:
            progress.finish(results)


def run(
    tasks: Sequence[Task],
    store: Store | str | os.PathLike[str] | None = None,
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    max_attempts: int = 3,
) -> Results:
    """Run a study once: ``Runner(jobs, scheduler).run(tasks, store, progress)``, closed after.

    See ``Runner`` and ``Runner.run`` for the arguments; the module's docstring for the
    backends, the faults and how to use a cluster.
    """
    with Runner(jobs, scheduler, max_attempts=max_attempts) as runner:
        return runner.run(tasks, store, progress)
