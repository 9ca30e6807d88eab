"""``leaky compare``: the report's statistics on your own model.

Your objective (the same protocol as ``leaky tune``: ``objective(negative_slope, seed) ->
float``, a validation score) runs for every slope and every seed; slope 0 is the ReLU
baseline and must be among the slopes. Every evaluation is one task of the study runner
(``leaky.lab.runner``: in this process, local processes or a Dask cluster), stored as it
finishes in ``DIR/runs.sqlite``, so an interrupted comparison resumes where it stopped.

Each slope is compared with ReLU on the seeds both evaluated, paired (the same seed is the
same initialisation and data order in your objective, if your objective honours its
``seed``), by the rules of ``leaky.lab.stats``, the slopes corrected together with Holm's
method, with an equivalence margin for "no difference" (``margin``, in your objective's
units). The verdicts read:

- "slope X is better than ReLU by d [lo, hi]" (supported),
- "no difference within ±margin" (the difference is too small to matter, or the opposite
  holds: then "ReLU is better"),
- "inconclusive: needs about N seeds".

An evaluation that raises or returns NaN/inf is a failure: it is counted and shown, and the
pairs it belongs to are left out of that slope's comparison (stated in the result).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from leaky import _validate
from leaky.lab import _checks, verdicts
from leaky.lab.store import Outcome, Task
from leaky.lab.verdicts import Verdict

NAME = "compare"
BUILTIN = "leaky.lab.experiments.objectives"


def evaluate(config: dict[str, Any]) -> dict[str, Any]:
    """One task: ``objective(slope, seed)``; a non-finite value raises (a failed task)."""
    from leaky.lab._threads import one_thread
    from leaky.lab.experiments.objectives import resolve

    objective = resolve(config["objective"])
    with one_thread():  # one job per core: the user's torch and BLAS pools on one thread
        value = float(objective(float(config["slope"]), int(config["seed"])))
    if not math.isfinite(value):
        raise ValueError(f"the objective returned {value} (not a finite number)")
    return {"value": value}


MAX_SEEDS = 10_000
"""The most seeds per slope a comparison takes (``leaky compare --seeds``): each is one
evaluation per slope, and a plan of 10,000 x slopes evaluations is already days of work."""


@dataclass(frozen=True)
class CompareOptions:
    """A comparison's options, checked and canonical (``check_options``)."""

    objective: str
    slopes: tuple[float, ...]
    seeds: tuple[int, ...]
    margin: float
    direction: str


def check_options(
    *,
    objective: Any,
    slopes: Any,
    seeds: Any,
    margin: Any,
    direction: Any = "maximize",
    func: str = "leaky compare",
    names: dict[str, str] | None = None,
) -> CompareOptions:
    """Every field of ``Config`` checked, as ``Config`` checks them; the canonical values.

    ``names`` maps a field to the name the caller knows it by (``{"margin": "--margin"}``),
    so that ``leaky compare``'s messages name its options.
    """
    names = names or {}

    def name(param: str) -> str:
        return names.get(param, param)

    objective = _checks.text(objective, name("objective"), func)
    checked = tuple(_validate.negative_slope(a, func) for a in slopes)
    if 0.0 not in checked or len(set(checked)) != len(checked) or len(checked) < 2:
        raise ValueError(
            f"The '{name('slopes')}' parameter of {func} must hold distinct slopes in [0, 1], "
            f"0 (the ReLU baseline) and at least one other. Got {list(slopes)} instead."
        )
    seed_list = _checks.seeds(seeds, func, name("seeds"))
    if not 2 <= len(seed_list) <= MAX_SEEDS:
        raise ValueError(
            f"The '{name('seeds')}' parameter of {func} must hold from 2 seeds (a paired "
            f"comparison needs two) to {MAX_SEEDS:,}. Got {len(seed_list)} seeds instead."
        )
    return CompareOptions(
        objective=objective,
        slopes=checked,
        seeds=tuple(seed_list),
        margin=_validate.positive_real(margin, name("margin"), func),
        direction=_checks.one_of(direction, name("direction"), func, ("maximize", "minimize")),
    )


@dataclass(frozen=True)
class Config:
    objective: str
    slopes: tuple[float, ...]
    seeds: tuple[int, ...]
    margin: float
    direction: str = "maximize"

    def __post_init__(self) -> None:
        options = check_options(
            objective=self.objective,
            slopes=self.slopes,
            seeds=self.seeds,
            margin=self.margin,
            direction=self.direction,
        )
        for f in dataclasses.fields(options):
            object.__setattr__(self, f.name, getattr(options, f.name))

    @classmethod
    def from_options(cls, options: CompareOptions) -> Config:
        """The configuration of options already checked (``check_options``)."""
        return cls(
            options.objective, options.slopes, options.seeds, options.margin, options.direction
        )

    def tasks(self) -> list[Task]:
        """One task per (slope, seed). The key holds the source of the objective's module
        and of every module of the user's project it imports (``store.user_imports``): an
        edited helper module reruns the comparison.

        Raises:
            ValueError: the objective's module (or one it imports) has no source file.
        """
        from leaky.lab.store import user_imports

        module = self.objective.split(":", 1)[0] if ":" in self.objective else BUILTIN
        depends = (module, *user_imports(module))
        return [
            Task(
                NAME,
                "leaky.lab.compare:evaluate",
                {"objective": self.objective, "slope": a, "seed": s},
                depends=depends,
                label=f"slope {a:g} seed {s}",
            )
            for a in self.slopes
            for s in self.seeds
        ]


@dataclass(frozen=True)
class Row:
    slope: float
    values: tuple[float, ...]  # per seed; NaN where the evaluation failed
    failures: tuple[str, ...]  # one line per failed evaluation

    @property
    def mean(self) -> float:
        v = np.asarray(self.values)
        return float(np.nanmean(v)) if np.isfinite(v).any() else math.nan


@dataclass(frozen=True)
class CompareResult:
    config: Config
    rows: tuple[Row, ...]
    verdicts: tuple[Verdict, ...]
    sentences: tuple[str, ...] = field(default_factory=tuple)
    reused: int = 0  # evaluations read from the store, not run by this call

    def sentence(self, slope: float) -> str:
        """The verdict in words for ``slope`` (not ReLU), against ReLU."""
        others = [r.slope for r in self.rows if r.slope != 0.0]
        return self.sentences[others.index(slope)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": {
                "objective": self.config.objective,
                "slopes": list(self.config.slopes),
                "seeds": list(self.config.seeds),
                "margin": self.config.margin,
                "direction": self.config.direction,
            },
            "rows": [
                {
                    "slope": r.slope,
                    "values": [v if math.isfinite(v) else None for v in r.values],
                    "mean": r.mean if math.isfinite(r.mean) else None,
                    "failures": list(r.failures),
                }
                for r in self.rows
            ],
            "verdicts": [v.to_dict() for v in self.verdicts],
            "sentences": list(self.sentences),
        }


def _sentence(v: verdicts.Verdict, slope: float, margin: float, n_pairs: int) -> str:
    better = "better" if v.kind == verdicts.GREATER else "better (lower)"
    if v.verdict == verdicts.SUPPORTED:
        return (
            f"slope {slope:g} is {better} than ReLU by {v.effect:+.4g} "
            f"[{v.ci_low:+.4g}, {v.ci_high:+.4g}] ({n_pairs} seeds, Holm p = {v.p_adjusted:.2g})"
        )
    if v.verdict == verdicts.NOT_SUPPORTED:
        opposite = v.ci_high < 0 if v.kind == verdicts.GREATER else v.ci_low > 0
        if opposite:
            return (
                f"slope {slope:g}: ReLU is better, by {abs(v.effect):.4g} "
                f"[{v.ci_low:+.4g}, {v.ci_high:+.4g}] ({n_pairs} seeds)"
            )
        return f"slope {slope:g}: no difference within ±{margin:g} ({n_pairs} seeds)"
    need = (
        f": needs about {v.seeds_needed} seeds"
        if v.seeds_needed and v.seeds_needed > n_pairs
        else ""
    )
    diff = f"{v.effect:+.4g} [{v.ci_low:+.4g}, {v.ci_high:+.4g}]"
    return f"slope {slope:g}: inconclusive{need} (difference {diff}, {n_pairs} seeds)"


def summarize(config: Config, outcomes: Sequence[Outcome]) -> CompareResult:
    n = len(config.seeds)
    rows = []
    for i, slope in enumerate(config.slopes):
        chunk = outcomes[i * n : (i + 1) * n]
        values = tuple(o.value["value"] if o.ok else math.nan for o in chunk)
        failures = tuple(
            f"seed {s}: {o.error}" for s, o in zip(config.seeds, chunk, strict=True) if not o.ok
        )
        rows.append(Row(slope, values, failures))
    relu = next(r for r in rows if r.slope == 0.0)
    kind = verdicts.GREATER if config.direction == "maximize" else verdicts.LESS
    comparisons: list[verdicts.Comparison | None] = []
    pairs: list[tuple[float, int, int, int]] = []
    for r in rows:
        if r.slope == 0.0:
            continue
        a, b = np.asarray(r.values), np.asarray(relu.values)
        both = np.isfinite(a) & np.isfinite(b)
        pairs.append(
            (r.slope, int(both.sum()), int(np.isfinite(a).sum()), int(np.isfinite(b).sum()))
        )
        if both.sum() < 2:
            comparisons.append(None)
            continue
        comparisons.append(
            verdicts.compare(
                a[both],
                b[both],
                claim=f"slope {r.slope:g} is better than ReLU on {config.objective}",
                measure=f"{config.objective} ({config.direction})",
                margin=config.margin,
                kind=kind,
            )
        )
    present = [c for c in comparisons if c is not None]
    judged = iter(verdicts.judge_family(present) if present else [])
    judged_verdicts, sentences = [], []
    for (slope, n_pairs, n_slope, n_relu), c in zip(pairs, comparisons, strict=True):
        if c is None:
            sentences.append(
                f"slope {slope:g}: not compared (fewer than 2 seeds evaluated both ways: "
                f"{n_slope} of {n} with this slope, {n_relu} of {n} with ReLU)"
            )
            continue
        v = next(judged)
        judged_verdicts.append(v)
        sentences.append(_sentence(v, slope, config.margin, n_pairs))
    return CompareResult(config, tuple(rows), tuple(judged_verdicts), tuple(sentences))


def run(
    config: Config,
    out: Any,
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    progress: Any = None,
    rerun: bool = False,
) -> CompareResult:
    """Evaluate every (slope, seed) not stored in ``out`` yet, then compare; see the module.

    ``rerun``: forget the stored results of these evaluations first and compute them all.
    The tasks (their keys) are made before ``out`` is created, so an objective whose
    source cannot be read leaves no folder behind. ``CompareResult.reused`` counts the
    evaluations read from the store.
    """
    from leaky.lab.outdir import prepare
    from leaky.lab.runner import run as run_tasks
    from leaky.lab.store import Store

    tasks = config.tasks()
    folder = prepare(out)
    if rerun:
        with Store(folder) as store:
            store.discard(tasks)
    results = run_tasks(tasks, folder, jobs=jobs, scheduler=scheduler, progress=progress)
    result = summarize(config, list(results.outcomes))
    return dataclasses.replace(result, reused=results.cached)
