"""``leaky compare``: the report's statistics on your own model.

Your objective (the same protocol as ``leaky tune``: ``objective(negative_slope, seed) ->
float``, a validation score) runs for every slope and every seed; slope 0 is the ReLU
baseline and must be among the slopes (``leaky compare`` adds it when ``--slopes`` leaves it
out, and says so: ``check_options(..., add_baseline=True)``). Every evaluation is one task
of the study runner (``leaky.lab.runner``: in this process, local processes or a Dask
cluster), stored as it finishes in ``DIR/runs.sqlite``, so an interrupted comparison
resumes where it stopped.

Each slope is compared with ReLU on the seeds both evaluated, paired (the same seed is the
same initialisation and data order in your objective, if your objective honours its
``seed``), by the rules of ``leaky.lab.stats``, the slopes corrected together with Holm's
method, with an equivalence margin for "no difference" (``margin``, in your objective's
units). The verdicts read (``sentence``), each followed by why (``explain``):

- "slope X is better than ReLU by d [lo, hi]" (supported),
- "no difference that matters" (the difference lies within ±margin) or "ReLU is better"
  (the opposite holds): not supported,
- "inconclusive" (the interval holds 0, or the effect does not survive Holm's correction),
  with the seeds it needs.

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
from leaky.lab.stats import _num, _p, _pct
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
    add_baseline: bool = False,
) -> CompareOptions:
    """Every field of ``Config`` checked, as ``Config`` checks them; the canonical values.

    ``names`` maps a field to the name the caller knows it by (``{"margin": "--margin"}``),
    so that ``leaky compare``'s messages name its options. ``add_baseline``: slope 0 (ReLU)
    is put first when ``slopes`` leaves it out (``leaky compare`` does, and says so); without
    it, slopes without 0 are refused.

    Examples:
        >>> check_options(
        ...     objective="m:f", slopes=[0.1], seeds=[0, 1], margin=0.01, add_baseline=True
        ... ).slopes
        (0.0, 0.1)
    """
    names = names or {}

    def name(param: str) -> str:
        return names.get(param, param)

    objective = _checks.text(objective, name("objective"), func)
    given = tuple(_validate.negative_slope(a, func) for a in slopes)
    add_baseline = _checks.flag(add_baseline, "add_baseline", func)
    checked = (0.0, *given) if add_baseline and 0.0 not in given else given
    if 0.0 not in checked or len(set(checked)) != len(checked) or len(checked) < 2:
        added = ", added when missing" if add_baseline else ""
        raise ValueError(
            f"The '{name('slopes')}' parameter of {func} must hold distinct slopes in [0, 1], "
            f"0 (the ReLU baseline{added}) and at least one other. Got {list(slopes)} instead."
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


def _pairs(row: Row, relu: Row) -> tuple[np.ndarray, np.ndarray]:
    """``row``'s values and ReLU's on the seeds both evaluated (in seed order): the pairs a
    verdict reads and the figure draws."""
    a, b = np.asarray(row.values, dtype=float), np.asarray(relu.values, dtype=float)
    both = np.isfinite(a) & np.isfinite(b)
    return a[both], b[both]


def _differences(row: Row, relu: Row) -> np.ndarray:
    """``row``'s value minus ReLU's, per seed, on the seeds both evaluated."""
    a, b = _pairs(row, relu)
    return a - b


@dataclass(frozen=True)
class CompareResult:
    config: Config
    rows: tuple[Row, ...]
    verdicts: tuple[Verdict, ...]
    sentences: tuple[str, ...] = field(default_factory=tuple)
    reused: int = 0  # evaluations read from the store, not run by this call

    @property
    def relu(self) -> Row:
        """The baseline's row (slope 0)."""
        return next(r for r in self.rows if r.slope == 0.0)

    @property
    def others(self) -> tuple[Row, ...]:
        """The rows compared with ReLU, in the order of the slopes."""
        return tuple(r for r in self.rows if r.slope != 0.0)

    def differences(self, slope: float) -> np.ndarray:
        """value(slope) - value(ReLU) per seed, on the seeds both evaluated: the pairs the
        verdict on ``slope`` reads."""
        return _differences(next(r for r in self.others if r.slope == slope), self.relu)

    def verdict(self, slope: float) -> Verdict | None:
        """The verdict on ``slope`` (not ReLU); None when it was not compared (fewer than
        two seeds evaluated both ways)."""
        compared = [r.slope for r in self.others if len(_differences(r, self.relu)) >= 2]
        return self.verdicts[compared.index(slope)] if slope in compared else None

    def sentence(self, slope: float) -> str:
        """The verdict in words for ``slope`` (not ReLU), against ReLU, with why."""
        return self.sentences[[r.slope for r in self.others].index(slope)]

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


OUTCOMES = ("better", "ReLU is better", "no difference", "inconclusive", "not compared")
"""A slope's outcome against ReLU in a word or three (``outcome``)."""


def outcome(v: Verdict | None) -> str:
    """The verdict on a slope against ReLU as one of ``OUTCOMES`` (None: not compared).

    ``not supported`` splits in two: "ReLU is better" (the interval lies on ReLU's side of 0)
    and "no difference" (it lies within the margin).
    """
    if v is None:
        return "not compared"
    if v.verdict == verdicts.SUPPORTED:
        return "better"
    if v.verdict == verdicts.NOT_SUPPORTED:
        opposite = v.ci_high < 0 if v.kind == verdicts.GREATER else v.ci_low > 0
        return "ReLU is better" if opposite else "no difference"
    return "inconclusive"


def explain(v: Verdict) -> str:
    """Why a slope's verdict against ReLU is what it is, in words, with the numbers read.

    The verdict is ``leaky.lab.verdicts``'s (``v.reason`` states the clause of its rule that
    decided); this says the same for a reader of ``leaky compare``, from ``v.ci_low``,
    ``v.ci_high`` (the (1 - alpha) interval of slope - ReLU), the (1 - 2 alpha) interval
    against ``v.margin``, ``v.p_adjusted`` and ``v.family_size`` (Holm's correction).

    Examples:
        >>> a, b = [0.91, 0.93, 0.92, 0.94], [0.90, 0.92, 0.91, 0.93]
        >>> v = verdicts.judge(verdicts.compare(a, b, claim="c", measure="m", margin=0.05))
        >>> explain(v)
        'the 90 % interval [+0.01, +0.01] lies within the margin ±0.05: no difference that matters'
    """
    margin = "" if v.margin is None else f" and reaches beyond the margin ±{v.margin:g}"
    if v.family_size > 1:
        holm = f"Holm's correction over {v.family_size} comparisons: p = {_p(v.p_adjusted)}"
    else:
        holm = f"p = {_p(v.p_adjusted)}"
    word = outcome(v)
    if word == "better":
        if v.family_size > 1:
            return f"the interval excludes 0 and the effect survives {holm}"
        return f"the interval excludes 0: {holm}"
    if word == "ReLU is better":
        return "the interval excludes 0, on ReLU's side"
    if word == "no difference":
        narrow = (
            f"{_pct(1 - 2 * v.alpha)} interval "
            f"[{_num(v.equivalence_low, True)}, {_num(v.equivalence_high, True)}]"
        )
        return f"the {narrow} lies within the margin ±{v.margin:g}: no difference that matters"
    if (v.ci_low > 0) if v.kind == verdicts.GREATER else (v.ci_high < 0):  # slope's side
        if v.family_size > 1:
            return f"the interval excludes 0, but the effect does not survive {holm}"
        return f"the interval excludes 0, but {holm} is not below {v.alpha:g}"
    return f"the interval holds 0{margin}"


def _sentence(v: Verdict, slope: float, n_pairs: int) -> str:
    """The verdict on ``slope`` in words, then why (``explain``), then the seeds."""
    better = "better" if v.kind == verdicts.GREATER else "better (lower)"
    diff = f"[{v.ci_low:+.4g}, {v.ci_high:+.4g}]"
    why = explain(v)
    word = outcome(v)
    if word == "better":
        return (
            f"slope {slope:g} is {better} than ReLU by {v.effect:+.4g} {diff}: {why} "
            f"({n_pairs} seeds)"
        )
    if word == "ReLU is better":
        return (
            f"slope {slope:g}: ReLU is better, by {abs(v.effect):.4g} {diff}: {why} "
            f"({n_pairs} seeds)"
        )
    if word == "no difference":
        return f"slope {slope:g}: {why} ({n_pairs} seeds)"
    need = (
        f"; needs about {v.seeds_needed} seeds"
        if v.seeds_needed and v.seeds_needed > n_pairs
        else ""
    )
    return (
        f"slope {slope:g}: inconclusive, difference {v.effect:+.4g} {diff}: {why} "
        f"({n_pairs} seeds){need}"
    )


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
        a, b = _pairs(r, relu)
        n_slope, n_relu = int(np.isfinite(r.values).sum()), int(np.isfinite(relu.values).sum())
        pairs.append((r.slope, len(a), n_slope, n_relu))
        if len(a) < 2:
            comparisons.append(None)
            continue
        comparisons.append(
            verdicts.compare(
                a,
                b,
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
        sentences.append(_sentence(v, slope, n_pairs))
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
