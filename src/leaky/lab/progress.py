"""How a run tells what it does: three events, and renderers for a terminal and for a log.

A run (``leaky.lab.runner``) calls, in its own thread and in this order:

1. ``start(plan)`` once: a ``RunPlan`` with the tasks per experiment, how many of them are
   already stored, where the rest runs and the Dask dashboard's address (or None);
2. ``task_done(outcome)`` for each task as it finishes (an ``Outcome``: its experiment,
   label, status, one-line error, seconds, worker); stored tasks are counted in the plan
   and not reported one by one;
3. ``finish(results)`` once, also after an interruption or an error: the ``Results``, or
   None when the run did not complete.

``Progress`` does nothing on each event: subclass it and override what you need. The
renderers draw, they compute nothing:

- ``PlainProgress``: one plain line per finished task (a CI log, a file, a Dask worker's
  output), with counts and an ETA; the first line says where the tasks run (and the
  dashboard);
- ``RichProgress``: a live bar per experiment in a terminal (done / total, elapsed, ETA),
  a failed task's line printed above the bars; rich is imported only here;
- ``auto_progress(stream)``: the first where ``stream`` is a terminal, else the second;
- ``CallbackProgress(fn)``: ``fn(experiment, done, total)`` after each task, for code that
  draws its own bars.

User text (experiment names, labels, error messages) is never read as rich markup.

Examples:
    >>> import io
    >>> from leaky.lab.runner import Task, run
    >>> out = io.StringIO()
    >>> tasks = [Task("demo", "leaky.lab.runner:check_task", {"seed": 1}, label="seed 1")]
    >>> _ = run(tasks, jobs=1, progress=PlainProgress(out, clock=lambda: 0.0))
    >>> print(out.getvalue(), end="")  # doctest: +ELLIPSIS
    leaky: running 1 task (0 stored) in-process
    [1/1] demo 1/1: seed 1 done in ... s (in-process)
    leaky: done in 0.0 s: 1 ran, 0 stored, 0 failed
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from leaky.lab.runner import Results
    from leaky.lab.store import Outcome

__all__ = [
    "CallbackProgress",
    "PlainProgress",
    "Progress",
    "RichProgress",
    "RunPlan",
    "auto_progress",
    "duration",
]


@dataclass(frozen=True)
class RunPlan:
    """What a run is about to do.

    Attributes:
        totals: tasks per experiment (each key once), the stored ones included.
        cached: of those, per experiment, the ones whose stored result is used.
        backend: where the others run (``"in-process"``, ``"2 local processes"``, ...).
        dashboard: the Dask dashboard's address, or None.
    """

    totals: dict[str, int]
    cached: dict[str, int]
    backend: str
    dashboard: str | None = None

    @property
    def total(self) -> int:
        """All tasks."""
        return sum(self.totals.values())

    @property
    def to_run(self) -> int:
        """The tasks this run computes."""
        return self.total - sum(self.cached.values())

    def describe(self) -> str:
        """The first line of a run's output.

        Examples:
            >>> RunPlan({"a": 3, "b": 2}, {"a": 1}, "2 local processes").describe()
            'running 4 of 5 tasks (1 stored) on 2 local processes'
        """
        if self.to_run == 0:
            return f"all {self.total} tasks are stored: nothing to run"
        count = f"{self.to_run} of {self.total}" if self.to_run < self.total else f"{self.total}"
        tasks = "task" if self.total == 1 else "tasks"
        where = self.backend if self.backend == "in-process" else f"on {self.backend}"
        line = f"running {count} {tasks} ({self.total - self.to_run} stored) {where}"
        return line + (f"; dashboard: {self.dashboard}" if self.dashboard else "")


def duration(seconds: float) -> str:
    """``"4.2 s"``, ``"3m05s"``, ``"1h02m"``.

    Examples:
        >>> duration(4.21), duration(185), duration(3725)
        ('4.2 s', '3m05s', '1h02m')
    """
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


class Progress:
    """The events of a run; each does nothing here (override the ones you need)."""

    def start(self, plan: RunPlan) -> None:
        """The run begins (workers started when there is something to run)."""

    def task_done(self, outcome: Outcome) -> None:
        """A task finished now (a result or a failure), already stored."""

    def finish(self, results: Results | None) -> None:
        """The run ended: its results, or None if it was interrupted or failed."""


class _Counts(Progress):
    """Counts per experiment and an ETA, for the renderers."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.plan: RunPlan | None = None
        self.done: Counter[str] = Counter()
        self.finished = 0  # tasks finished by this run
        self.started = 0.0

    def start(self, plan: RunPlan) -> None:
        self.plan, self.started = plan, self.clock()
        self.done = Counter(plan.cached)

    def _count(self, outcome: Outcome) -> None:
        self.done[outcome.experiment] += 1
        self.finished += 1

    def eta(self) -> float | None:
        """Seconds left at the mean pace so far, or None (nothing finished, or all)."""
        assert self.plan is not None
        left = self.plan.to_run - self.finished
        if self.finished == 0 or left <= 0:
            return None
        return (self.clock() - self.started) / self.finished * left

    def _summary(self, results: Results | None) -> str:
        if results is None:
            to_run = self.plan.to_run if self.plan else 0
            return f"stopped: {self.finished} of {to_run} tasks finished (stored)"
        return (
            f"done in {duration(self.clock() - self.started)}: {results.ran} ran, "
            f"{results.cached} stored, {results.failed} failed"
        )


class PlainProgress(_Counts):
    """One plain line per finished task, for a log (no colour, no cursor movement).

    Args:
        stream: where to write (default: ``sys.stderr`` at each write).
        clock: the time source (seconds), replaceable for tests.
    """

    def __init__(
        self, stream: TextIO | None = None, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        super().__init__(clock)
        self.stream = stream

    def _write(self, line: str) -> None:
        stream = self.stream if self.stream is not None else sys.stderr
        stream.write(line + "\n")
        stream.flush()

    def start(self, plan: RunPlan) -> None:
        super().start(plan)
        self._write(f"leaky: {plan.describe()}")

    def task_done(self, outcome: Outcome) -> None:
        self._count(outcome)
        assert self.plan is not None
        exp = outcome.experiment
        head = (
            f"[{self.finished}/{self.plan.to_run}] {exp} {self.done[exp]}/"
            f"{self.plan.totals.get(exp, 0)}: {outcome.name}"
        )
        took = f"in {duration(outcome.seconds)} ({outcome.worker})"
        line = f"{head} done {took}" if outcome.ok else f"{head} FAILED {took}: {outcome.error}"
        eta = self.eta()
        self._write(line + (f", eta {duration(eta)}" if eta is not None else ""))

    def finish(self, results: Results | None) -> None:
        self._write(f"leaky: {self._summary(results)}")


class RichProgress(_Counts):
    """A live progress bar per experiment (done / total, elapsed, ETA) in a terminal.

    Args:
        console: a ``rich.console.Console`` (default: a new one on stderr).
    """

    def __init__(self, console: Any = None) -> None:
        super().__init__()
        from rich.console import Console

        self.console = console if console is not None else Console(stderr=True)
        self._bars: Any = None
        self._ids: dict[str, Any] = {}

    def _line(self, text: str, style: str = "") -> None:
        from rich.text import Text

        target = self._bars.console if self._bars is not None else self.console
        target.print(Text(text, style=style))  # a Text is never read as markup

    def start(self, plan: RunPlan) -> None:
        from rich.markup import escape
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        super().start(plan)
        self._line(f"leaky: {plan.describe()}", style="bold")
        if plan.to_run == 0:
            return
        width = max(len(name) for name in plan.totals)
        self._bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=self.console,
        )
        for name, total in plan.totals.items():
            self._ids[name] = self._bars.add_task(
                escape(name.ljust(width)), total=total, completed=plan.cached.get(name, 0)
            )
        self._bars.start()

    def task_done(self, outcome: Outcome) -> None:
        self._count(outcome)
        if self._bars is not None and outcome.experiment in self._ids:
            self._bars.advance(self._ids[outcome.experiment])
        if not outcome.ok:
            self._line(f"{outcome.experiment}: {outcome.name} failed: {outcome.error}", style="red")

    def finish(self, results: Results | None) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None
        self._line(f"leaky: {self._summary(results)}")


class CallbackProgress(_Counts):
    """Calls ``callback(experiment, done, total)`` at the start (for each experiment) and
    after each task; ``done`` counts the stored tasks too.

    Examples:
        >>> from leaky.lab.runner import Task, run
        >>> calls = []
        >>> tasks = [Task("demo", "leaky.lab.runner:check_task", {"seed": 2})]
        >>> _ = run(tasks, jobs=1, progress=CallbackProgress(lambda *a: calls.append(a)))
        >>> calls
        [('demo', 0, 1), ('demo', 1, 1)]
    """

    def __init__(self, callback: Callable[[str, int, int], None]) -> None:
        super().__init__()
        self.callback = callback

    def start(self, plan: RunPlan) -> None:
        super().start(plan)
        for name, total in plan.totals.items():
            self.callback(name, self.done[name], total)

    def task_done(self, outcome: Outcome) -> None:
        self._count(outcome)
        assert self.plan is not None
        exp = outcome.experiment
        self.callback(exp, self.done[exp], self.plan.totals.get(exp, 0))


def auto_progress(stream: TextIO | None = None) -> Progress:
    """``RichProgress`` where ``stream`` (default: stderr) is a terminal, else
    ``PlainProgress``.

    Examples:
        >>> import io
        >>> type(auto_progress(io.StringIO())).__name__
        'PlainProgress'
    """
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    if callable(isatty) and isatty():
        from rich.console import Console

        return RichProgress(Console(file=stream))
    return PlainProgress(stream)
