"""The evidence report: plan the study, run it (resumably), judge every claim, render one folder.

Running stores, rendering reads (after asv): ``build`` plans the experiments of
``leaky.lab.experiments`` at a scale, runs their tasks through ``leaky.lab.runner`` (in
this process, in local processes or on a Dask cluster), each finished task stored at once
in ``DIR/runs.sqlite``; it then reads the stored results back, summarises them, judges the
claims (``leaky.lab.claims``), draws the figures (``leaky.lab.figures``) and writes
``DIR/index.html`` (readable offline, no external assets), ``DIR/results.json`` (every
number behind every figure and verdict), ``DIR/results.md`` and ``DIR/figures/``.
``rerender(DIR)`` (``leaky report --from DIR``) does the second half only, from the stored
results, in seconds, training nothing. An interrupted study re-run with the same arguments
computes only the tasks that are missing.

**Scales**: ``quick`` is a smoke run (seconds; every verdict marked preliminary);
``standard`` is what ``make demo`` runs (about 6 minutes on two cores); ``full`` is for a
bigger machine or a cluster (more seeds, longer training).

The output folder is the user's (``leaky.lab.outdir``): leaky only ever writes into a
folder that it created or that holds its marker file (``.leaky-report``); ``DIR`` must be a
new path, an empty folder or a previous report, and anything else (a folder holding other
files, a file, a symlink, the working directory, the home directory, ``/``) is refused by
``outdir.check_out`` before any experiment runs. Rendered files are written into a
temporary folder inside ``DIR`` and moved into place one by one (``results.json`` last), so
no file is ever half-written; a symbolic link where a file goes is refused before anything
moves; a temporary folder left behind by a killed run is removed by the next one.

What a study folder holds is read back only through its schema: ``StudyPlan.from_dict``
checks the scale, the seed and the experiments' names; ``setup.json`` keeps only plain
values (text, numbers, booleans, null). The HTML page is rendered by a Jinja2 template
(``templates/report.html.j2``) with autoescaping: every stored value is shown as text.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leaky._version import __version__
from leaky.lab import claims as claims_mod
from leaky.lab._json import json_safe
from leaky.lab.experiments import slopes
from leaky.lab.outdir import (
    MARKER,
    OLD_FIGURES_PREFIX,
    RENDER_PREFIX,
    OutDirError,
    atomic_write,
    is_report,
    prepare,
    refuse_symlink,
)
from leaky.lab.plan import EXPERIMENTS, PLAN_FILE, StudyPlan, plan
from leaky.lab.progress import Progress
from leaky.lab.render import markdown, page

SETUP_FILE = "setup.json"  # the last run's setup: kept for --from
_FILES = ("results.md", "index.html", "results.json")  # moved in this order: results.json last


# --- the report, as data -----------------------------------------------------------------


@dataclass
class Report:
    """Everything the files show: the plan, each experiment's result, the claims, advice."""

    plan: StudyPlan
    results: dict[str, Any]
    claims: list[claims_mod.Claim]
    advice: list[claims_mod.Advice]
    setup: dict[str, Any]
    failures: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "setup": self.setup,
            "plan": self.plan.to_dict(),
            "claims": [c.to_dict() for c in self.claims],
            "advice": [a.to_dict() for a in self.advice],
            "results": {name: r.to_dict() for name, r in self.results.items()},
            "failures": list(self.failures),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Report:
        p = StudyPlan.from_dict(d["plan"])
        results = {name: EXPERIMENTS[name].Result.from_dict(r) for name, r in d["results"].items()}
        return cls(
            p,
            results,
            [claims_mod.Claim.from_dict(c) for c in d["claims"]],
            [claims_mod.Advice.from_dict(a) for a in d["advice"]],
            {str(k): v for k, v in d["setup"].items() if isinstance(v, SETUP_VALUES)},
            list(d["failures"]),
        )


def summarize(p: StudyPlan, outcomes: Mapping[str, list[Any]], setup: dict[str, Any]) -> Report:
    """The report of stored outcomes: summaries, claims and advice (no training)."""
    results = {
        name: EXPERIMENTS[name].summarize(p.configs[name], outcomes[name]) for name in p.configs
    }
    failures = [
        f"{o.experiment} / {o.label}: {o.error}"
        for name in p.configs
        for o in outcomes[name]
        if not o.ok
    ]
    judged = claims_mod.judge(results, p.preliminary)
    advice = claims_mod.advice(results.get(slopes.NAME), p.preliminary)
    return Report(p, results, judged, advice, setup, failures)


def machine_setup(p: StudyPlan, backend: str, seconds: float, ran: int, cached: int) -> dict:
    import numpy
    import torch

    from leaky.lab import bench

    seeds = sorted(
        {len(getattr(cfg, "seeds", ())) for cfg in p.configs.values() if hasattr(cfg, "seeds")}
    )
    return {
        "leaky": __version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "torch": torch.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "processor": str(bench.machine().get("processor", "?")),
        "scale": p.scale,
        "seeds per cell": ", ".join(str(s) for s in seeds),
        "seed": p.seed,
        "ran on": backend,
        "tasks run": ran,
        "tasks read from the store": cached,
        "seconds": round(seconds, 1),
        "command": " ".join(["leaky", *sys.argv[1:]]) if sys.argv else "leaky report",
    }


def work_setup(
    p: StudyPlan, tasks: Mapping[str, Sequence[Any]], seconds: Mapping[str, float]
) -> dict[str, Any]:
    """The run's task seconds (summed over tasks, wherever they ran) and, from them, an
    estimate of what ``--scale full`` takes (``plan.estimate_seconds``)."""
    from leaky.lab.plan import estimate_seconds

    out: dict[str, Any] = {"task seconds": round(sum(seconds.values()), 1)}
    if p.scale != "full":
        full = plan("full", p.seed)
        out["full scale estimate (task seconds)"] = round(estimate_seconds(tasks, seconds, full))
    return out


# --- run, or read back -----------------------------------------------------------------


def build(
    out: str | Path = "leaky-report",
    *,
    scale: str = "standard",
    seed: int = 0,
    jobs: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> tuple[Path, Report]:
    """Plan, run (resuming what is stored), judge and write the report; returns both.

    ``out`` is checked (``check_out``) before anything runs.
    """
    from leaky.lab.runner import run

    out = prepare(out)
    p = plan(scale, seed)
    atomic_write(out / PLAN_FILE, json.dumps(p.to_dict(), indent=1))
    per_experiment = p.tasks()
    every = [t for tasks in per_experiment.values() for t in tasks]
    start = time.perf_counter()
    results = run(every, out, jobs=jobs, scheduler=scheduler, progress=progress)
    by_key = {o.key: o for o in results.outcomes}
    outcomes = {
        name: [_relabel(by_key[t.key], t) for t in tasks] for name, tasks in per_experiment.items()
    }
    setup = machine_setup(
        p, results.backend, time.perf_counter() - start, results.ran, results.cached
    )
    setup |= work_setup(p, per_experiment, {o.key: o.seconds for o in results.outcomes})
    atomic_write(out / SETUP_FILE, json.dumps(setup, indent=1))
    report = summarize(p, outcomes, setup)
    write(out, report)
    return out, report


def _relabel(outcome: Any, task: Any) -> Any:
    import dataclasses

    return dataclasses.replace(outcome, experiment=task.experiment, label=task.label)


SETUP_VALUES = (str, int, float, bool, type(None))
"""What ``setup.json`` may hold, by key: plain values only (anything else is dropped)."""


def read_setup(path: Path) -> dict[str, Any]:
    """The setup stored in ``path`` (``setup.json``): its plain values; {} if unreadable.

    Examples:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "setup.json"
        >>> _ = path.write_text('{"seed": 1, "cpu": {"nested": 1}, "ok": null}')
        >>> read_setup(path)
        {'seed': 1, 'ok': None}
    """
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(stored, dict):
        return {}
    return {k: v for k, v in stored.items() if isinstance(v, SETUP_VALUES)}


def rerender(folder: str | Path) -> tuple[Path, Report]:
    """The report of a study already run in ``folder``, from its stored results alone.

    Raises:
        ValueError: ``folder`` holds no study, or its plan is not valid.
        StoreError: the store is missing, damaged, lacks results, or holds a value that
            cannot be read (one line naming the file).
    """
    from leaky.lab.store import Store, StoreError

    folder = Path(folder)
    if not is_report(folder) or not (folder / PLAN_FILE).is_file():
        raise ValueError(
            f"--from {str(folder)!r} holds no leaky study (no {MARKER} and {PLAN_FILE}); "
            "give the folder a `leaky report --out` wrote."
        )
    try:
        p = StudyPlan.from_dict(json.loads((folder / PLAN_FILE).read_text()))
    except ValueError as err:
        raise ValueError(f"--from {str(folder)!r}: {PLAN_FILE} is refused: {err}") from None
    per_experiment = p.tasks()
    with Store(folder, create=False) as store:  # loaded at once: counts are the study's
        loaded = iter(store.load([t for tasks in per_experiment.values() for t in tasks]))
        outcomes = {name: [next(loaded) for _ in tasks] for name, tasks in per_experiment.items()}
    setup = read_setup(folder / SETUP_FILE)
    setup["rendered"] = "from the stored results (leaky report --from)"
    try:
        report = summarize(p, outcomes, setup)
    except (KeyError, IndexError, TypeError, ValueError) as err:  # a stored value, damaged
        raise StoreError(
            f"{store.path} holds a result that cannot be read ({type(err).__name__}: {err}); "
            "run the study again with `leaky report --out` (to a new folder) to recompute it."
        ) from err
    write(folder, report)
    return folder, report


# --- the files ----------------------------------------------------------------------------


def write(out: str | Path, report: Report) -> Path:
    """Render ``report`` into ``out`` (a marked folder): files complete, or the old ones."""
    from leaky.lab import figures

    out = prepare(out)
    for name in ("figures", *_FILES):  # a link in the way: refused before anything is drawn
        refuse_symlink(out / name)
    if (out / "figures").exists() and not (out / "figures").is_dir():
        raise OutDirError(f"{out / 'figures'} is not a folder; leaky does not replace it.")
    tmp = out / f"{RENDER_PREFIX}{os.getpid()}"
    old_figures = out / f"{OLD_FIGURES_PREFIX}{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        (tmp / "figures").mkdir()
        drawn = figures.report_figures(report)
        for name, (fig, _) in drawn.items():
            for suffix in figures.FORMATS:
                figures.save(fig, tmp / "figures" / f"{name}{suffix}")
        alt = {name: text for name, (_, text) in drawn.items()}
        atomic_write(tmp / "results.md", markdown(report))
        atomic_write(tmp / "index.html", page(report, alt))
        atomic_write(tmp / "results.json", json.dumps(json_safe(report.to_dict()), indent=1))
        set_aside = (out / "figures").is_dir()  # not a link: refused above
        if set_aside:
            os.rename(out / "figures", old_figures)
        try:
            os.rename(tmp / "figures", out / "figures")
        except BaseException:
            if set_aside:  # the new figures did not go in: the old ones go back
                os.rename(old_figures, out / "figures")
            raise
        for name in _FILES:  # results.json last: the commit
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old_figures, ignore_errors=True)
    return out
