"""Is the harness sound? Our ReLU models on MNIST-1D against the paper's Table 1.

Greydanus & Kobak ("Scaling down deep learning with MNIST-1D", ICML 2024), Table 1, test
accuracy on MNIST-1D: logistic regression 32 ± 1 %, MLP 68 ± 2 %, CNN 94 ± 2 %, GRU 91 ± 2 %.
We train the same models (``leaky.lab.models``; ReLU as leaky's layer with slope 0) with
the authors' recipe, read from their ``notebooks/train.py``: Adam (PyTorch defaults), lr
1e-2, batch 100, no weight decay, PyTorch's default initialisation, float32, all 4,000
training signals (no validation split held out) in the authors' fixed order (step ``t``
takes the signals ``(100 t) % 4000 ...``; no shuffling), and the test accuracy of the
last step, as their notebook prints it. They run ``total_steps + 1`` = 6,001 updates; we
run 6,000 (one update in six thousand).

**The check.** Per model, over our seeds: the mean final test accuracy, shown with its
95 % t-interval (``stats.mean_interval``). A row *passes* when

    |our mean - paper mean| <= paper's ± + 0.5

a tolerance fixed in advance: the paper's ± (its run-to-run spread, the band a run of the
recipe lands in) and 0.5 because it prints whole percentages. Our own interval does not
widen it (a noisier run must not pass more easily). A harness with a wrong model, recipe or
data set misses by far more (on MNIST-1D a broken CNN falls to MLP level, 20+ points
away). A member that diverged counts at chance (10 %), never dropped. At a scale that does
not train for the paper's steps (``quick``) no row is checked: it says "not checked at this
scale", never FAIL.

**Scales** (``SCALES``): ``quick`` is a smoke run (60 steps: the accuracies are
far below the paper's and the check is *preliminary*: not the paper's recipe);
``standard`` (what ``make demo`` runs) is the paper's recipe, 6,000 steps, on the
logistic, MLP and CNN, 5 seeds each; ``full`` adds the GRU and 20 seeds.

``configs(scale)`` lists the training jobs (``leaky.lab.batched.TrainConfig``, one per
model; the GRU, which cannot be batched, in jobs of 2 seeds); a runner trains them
(``leaky.lab.batched.train``) anywhere, and ``check(results)`` compares. ``run(scale)``
does both in this process.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from leaky import _validate
from leaky.lab import _checks, data, stats
from leaky.lab.batched import TrainConfig, TrainResult, train

__all__ = [
    "PAPER_TABLE1",
    "SCALES",
    "HarnessResult",
    "HarnessRow",
    "Scale",
    "check",
    "configs",
    "run",
]

PAPER_TABLE1: dict[str, tuple[float, float]] = {
    "logistic": (32.0, 1.0),
    "mlp": (68.0, 2.0),
    "cnn": (94.0, 2.0),
    "gru": (91.0, 2.0),
}
"""Test accuracy (%) on MNIST-1D, mean and ± as printed in the paper's Table 1."""

PAPER_ROUNDING = 0.5
"""The paper prints whole percentages: its means are known to ± 0.5."""

CONFIDENCE = 0.95
CHANCE = 100 * data.chance("mnist1d")  # % on MNIST-1D: where a diverged member is counted

RECIPE = TrainConfig(
    model="mlp",
    dataset="mnist1d",
    activation=0.0,
    optimizer="adam",
    lr=1e-2,
    batch_size=100,
    steps=6000,
    eval_every=1000,
    val=0.0,
    batch_order="cycle",
    init="default",
    dtype="float32",
)
"""The authors' recipe as a ``TrainConfig`` (the model and seeds are set per job)."""

TOLERANCE_RULE = (
    "pass if |our mean - paper mean| <= paper's ± + 0.5 (the paper rounds to whole "
    "percentages), a tolerance fixed in advance; checked only at the paper's 6,000 steps; a "
    "diverged seed counts at chance (10 %)"
)


@dataclass(frozen=True)
class Scale:
    """A preset: how many seeds and steps, on which models, in jobs of how many seeds."""

    name: str
    seeds: int
    steps: int
    models: tuple[str, ...]
    eval_every: int
    gru_seeds_per_job: int = 2

    @property
    def paper_recipe(self) -> bool:
        """True when the steps are the paper's (the check is then more than a smoke test)."""
        return self.steps == RECIPE.steps

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["models"] = list(self.models)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scale:
        return cls(**{**d, "models": tuple(d["models"])})


SCALES: dict[str, Scale] = {
    # a smoke run (the report's quick scale): far from the recipe, so the check is preliminary
    "quick": Scale("quick", seeds=2, steps=60, models=("logistic", "mlp", "cnn"), eval_every=0),
    "standard": Scale(
        "standard", seeds=5, steps=6000, models=("logistic", "mlp", "cnn"), eval_every=1000
    ),
    "full": Scale(
        "full", seeds=20, steps=6000, models=("logistic", "mlp", "cnn", "gru"), eval_every=500
    ),
}
"""The presets, by name (see the module docstring)."""


def _scale(scale: str | Scale, func: str) -> Scale:
    if isinstance(scale, Scale):
        return scale
    return SCALES[_checks.one_of(scale, "scale", func, tuple(SCALES))]


def configs(scale: str | Scale = "standard") -> list[TrainConfig]:
    """The training jobs of the harness check at ``scale``: the paper's recipe per model.

    Examples:
        >>> jobs = configs("quick")
        >>> [(c.model, c.activation, c.seeds, c.steps) for c in jobs]
        [('logistic', None, (0, 1), 60), ('mlp', 0.0, (0, 1), 60), ('cnn', 0.0, (0, 1), 60)]
        >>> len(configs("full"))  # the GRU in jobs of 2 seeds
        13
    """
    s = _scale(scale, "configs")
    jobs = []
    for model in s.models:
        has_act = model in ("mlp", "cnn")
        base = RECIPE.replace(
            model=model,
            activation=0.0 if has_act else None,
            steps=s.steps,
            eval_every=s.eval_every,
        )
        per_job = s.gru_seeds_per_job if model == "gru" else s.seeds
        for start in range(0, s.seeds, per_job):
            jobs.append(base.replace(seeds=tuple(range(start, min(start + per_job, s.seeds)))))
    return jobs


@dataclass(frozen=True)
class HarnessRow:
    """One model: our final test accuracies (%) per seed against the paper's Table 1."""

    model: str
    seeds: tuple[int, ...]
    accuracies: tuple[float, ...]  # % per seed, a diverged seed at chance
    diverged: int
    steps: int
    paper_mean: float
    paper_pm: float
    mean: float
    ci_low: float
    ci_high: float
    tolerance: float  # paper's ± + rounding: fixed, not widened by our noise
    passed: bool
    checked: bool = True  # False where the scale does not train for the paper's steps

    @property
    def status(self) -> str:
        """``pass``, ``FAIL`` or ``not checked at this scale``."""
        if not self.checked:
            return "not checked at this scale"
        return "pass" if self.passed else "FAIL"

    @property
    def difference(self) -> float:
        """Our mean minus the paper's, in percentage points."""
        return self.mean - self.paper_mean

    @property
    def sd(self) -> float:
        return float(np.std(self.accuracies, ddof=1)) if len(self.accuracies) > 1 else math.nan

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["seeds"], d["accuracies"] = list(self.seeds), list(self.accuracies)
        d["difference"] = self.difference
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HarnessRow:
        names = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw["seeds"], kw["accuracies"] = tuple(d["seeds"]), tuple(d["accuracies"])
        return cls(**kw)


@dataclass(frozen=True)
class HarnessResult:
    """The harness check: one row per model, the rule, and whether it is preliminary.

    ``preliminary`` is True when the steps are not the paper's (a smoke run): its
    pass/fail says nothing about the harness.
    """

    rows: tuple[HarnessRow, ...]
    steps: int
    preliminary: bool
    rule: str = TOLERANCE_RULE

    @property
    def passed(self) -> bool:
        """True when every checked row passes (and at least one row was checked)."""
        checked = [r for r in self.rows if r.checked]
        return bool(checked) and all(r.passed for r in checked)

    def row(self, model: str) -> HarnessRow:
        """The row of ``model``; an unknown name lists the rows there are."""
        for r in self.rows:
            if r.model == model:
                return r
        names = ", ".join(repr(r.model) for r in self.rows)
        raise ValueError(
            f"The 'model' parameter of HarnessResult.row must be one of {names}. "
            f"Got {model!r} instead."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": [r.to_dict() for r in self.rows],
            "steps": self.steps,
            "preliminary": self.preliminary,
            "rule": self.rule,
            "passed": self.passed,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HarnessResult:
        return cls(
            tuple(HarnessRow.from_dict(r) for r in d["rows"]),
            int(d["steps"]),
            bool(d["preliminary"]),
            d.get("rule", TOLERANCE_RULE),
        )


def _row(model: str, results: list[TrainResult]) -> HarnessRow:
    seeds: list[int] = []
    accs: list[float] = []
    diverged = 0
    for r in results:
        for m in r.members:
            seeds.append(m.seed)
            last = m.test_acc[-1]
            failed = m.diverged or not math.isfinite(last)
            diverged += failed
            accs.append(CHANCE if failed else 100.0 * last)
    values = np.array(accs)
    interval = stats.mean_interval(values, confidence=CONFIDENCE)
    low, high, mean = interval.low, interval.high, interval.mean
    paper_mean, paper_pm = PAPER_TABLE1[model]
    tolerance = paper_pm + PAPER_ROUNDING
    steps = results[0].config.steps
    return HarnessRow(
        model=model,
        seeds=tuple(seeds),
        accuracies=tuple(accs),
        diverged=diverged,
        steps=steps,
        paper_mean=paper_mean,
        paper_pm=paper_pm,
        mean=mean,
        ci_low=low,
        ci_high=high,
        tolerance=tolerance,
        passed=bool(abs(mean - paper_mean) <= tolerance),
        checked=steps == RECIPE.steps,
    )


def check(results: Sequence[TrainResult]) -> HarnessResult:
    """Compare trained jobs (``configs``' jobs, trained) with the paper's Table 1.

    Jobs of one model are pooled (their seeds must differ). Every job must follow the
    paper's recipe except for its steps, seeds and evaluation schedule.
    """
    by_model: dict[str, list[TrainResult]] = {}
    for r in results:
        if not isinstance(r, TrainResult):
            raise TypeError(
                "The 'results' parameter of check must hold TrainResult objects "
                f"(leaky.lab.batched.train). Got {_validate._received(r)} instead."
            )
        c = r.config
        expected = RECIPE.replace(
            model=c.model,
            activation=c.activation,
            seeds=c.seeds,
            steps=c.steps,
            eval_every=c.eval_every,
        )
        if c != expected or c.model not in PAPER_TABLE1 or c.activation not in (0.0, None):
            raise ValueError(
                "The 'results' parameter of check must hold runs of the paper's recipe with "
                f"ReLU (harness.configs). Got a run of {c.to_dict()} instead."
            )
        by_model.setdefault(c.model, []).append(r)
    steps = {r.config.steps for r in results}
    if len(steps) != 1:
        raise ValueError(
            f"The 'results' parameter of check must hold runs of one length. Got steps {steps}."
        )
    for model, rs in by_model.items():
        seeds = [m.seed for r in rs for m in r.members]
        if len(set(seeds)) != len(seeds):
            raise ValueError(
                f"The 'results' parameter of check holds seed(s) of {model!r} twice: {seeds}."
            )
    order = [m for m in PAPER_TABLE1 if m in by_model]
    (n_steps,) = steps
    return HarnessResult(
        rows=tuple(_row(m, by_model[m]) for m in order),
        steps=n_steps,
        preliminary=n_steps != RECIPE.steps,
    )


def run(scale: str | Scale = "standard") -> HarnessResult:
    """Train every job of ``configs(scale)`` here, one after another, and ``check`` them.

    Examples:
        >>> tiny = Scale("tiny", seeds=2, steps=20, models=("logistic",), eval_every=0)
        >>> result = run(tiny)
        >>> result.preliminary, result.row("logistic").seeds
        (True, (0, 1))
    """
    return check([train(c) for c in configs(_scale(scale, "run"))])
