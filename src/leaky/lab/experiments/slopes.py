"""Claims 5 and 3b on MNIST-1D: does the slope matter, and does Leaky ReLU make sparse networks?

One grid feeds three sections of the report: the MNIST-1D paper's MLP and CNN (Adam, lr
1e-2, batch 100: the authors' recipe) trained with each arm, every seed paired across arms
(seed ``s`` is the same initialisation draw and batch order in every arm), a validation
split held out of the training set for every choice, the test set read once:

- **arms**: the slopes 0 (ReLU: leaky's layer with slope 0, the same code path as every
  other arm), 0.01, 0.05, 0.1, 0.2 and 0.3 (Xu et al. 2015 found 1/5.5 helped on CIFAR),
  and two controls: the identity (slope 1, a linear network) and GELU (smooth);
- **claim 5, "the slope is worth tuning"** (``PREREGISTERED_5``): the slopes of ``tuned``
  are trained at every learning rate of a small grid (``lrs``; claim 4 shows slope and
  learning rate interact), with learning curves (every ``eval_every`` steps) read with
  early stopping: a run's accuracy is its test accuracy at its best validation step. The
  seeds split in two disjoint sets: on the first ``select`` seeds each slope's learning
  rate is chosen (best mean validation accuracy; ``train_tuned`` trains the other seeds
  only at that rate and the paper's) and then the slope; on the others, the
  chosen slope (at its learning rate) is tested against the document's default 0.01 (at
  its own) on test accuracy, paired, with an equivalence margin of 1 point. Every slope
  against ReLU, on the same confirmation seeds, Holm-corrected, for "What should I use?".
  Whether the runs are trained is measured, not assumed: the validation accuracy gained in
  the last quarter of the steps is shown, and a gain of a margin or more is flagged;
- **claim 3b, "similar to ReLU, Leaky ReLU encourages sparsity"**: at the end of training,
  per hidden layer, over the whole validation split, judged against ReLU (how much of
  ReLU's sparsity remains?) by three measures fixed in advance (``PREREGISTERED_3B``): the
  fraction of outputs near zero at ``|h| < SPARSITY_CUT`` x the layer's mean |h| (a cut-off
  ten times below the smallest slope, so that it does not decide the answer by itself; the
  whole curve over cut-offs is stored and drawn), the Hoyer sparsity of each example's
  activation vector (no cut-off at all), and a functional test: the test accuracy lost when
  the trained network's negative outputs are zeroed (evaluated with slope 0). Leaky ReLU
  against the identity (is it sparser than a linear network at all?) is a secondary.

A failed run (diverged) stays in: its accuracy counts as chance (10 %), its sparsity as
missing (the comparison then uses the seeds both arms have).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from leaky.lab import data, stats, verdicts
from leaky.lab._json import floats
from leaky.lab.batched import TrainConfig, TrainResult
from leaky.lab.experiments import record
from leaky.lab.models import activation_label
from leaky.lab.store import Outcome, Task

NAME = "slopes"
TITLE = "The slope on MNIST-1D (claims 5 and 3b)"
SLOPES = (0.0, 0.01, 0.05, 0.1, 0.2, 0.3)
ARMS = (*SLOPES, 1.0, "gelu")
DEFAULT_SLOPE = 0.01  # the seed document's "typically ... 0.01"
ACC_MARGIN = 1.0  # accuracy points: the smallest difference in test accuracy that matters
SPARSITY_MARGIN = 5.0  # percentage points of near-zero outputs
SPARSITY_CUT = 1e-3  # near zero: |h| below this times the layer's mean |h| (< the slopes)
HOYER_MARGIN = 0.05  # Hoyer sparsity (0 dense .. 1 one-hot)
ABLATION_MARGIN = 1.0  # accuracy points lost when the negative outputs are zeroed
PREREGISTERED_3B = {
    "measure": (
        f"outputs near zero: |h| < {SPARSITY_CUT:g} x the layer's mean |h| (below the smallest "
        "slope; the curve over cut-offs is shown), % of a layer's outputs"
    ),
    "comparison": (
        f"Leaky ReLU 0.01 against ReLU, paired over seeds: about as sparse, within "
        f"{SPARSITY_MARGIN:g} points (TOST)"
    ),
    "co-primary": f"Hoyer sparsity, Leaky 0.01 against ReLU, within {HOYER_MARGIN:g} (TOST)",
    "functional": (
        f"test accuracy lost when Leaky 0.01's negative outputs are zeroed, within "
        f"{ABLATION_MARGIN:g} point (TOST): its negative-regime outputs are inactive"
    ),
    "control": "Leaky ReLU 0.01 gives more near-zero outputs than the identity (slope 1)",
}
"""Claim 3b's measures, margins and comparisons, fixed before the run."""
CHANCE = data.chance("mnist1d")  # the accuracy a failed run is counted at
TUNED = (0.0, 0.01, 0.1, 0.3)  # the slopes trained over the learning-rate grid (standard)
LRS = (0.005, 0.01, 0.02)  # the learning-rate grid: around the paper's 1e-2
PREREGISTERED_5 = {
    "measure": (
        "test accuracy (points) at the run's best validation step (early stopping), the "
        "learning rate tuned per slope on a small grid"
    ),
    "selection": (
        "each slope's learning rate, then the slope, chosen on validation over the "
        "selection seeds; judged on a disjoint set of confirmation seeds"
    ),
    "comparison": "the chosen slope against the default 0.01, paired over confirmation seeds",
    "margin": f"{ACC_MARGIN:g} point",
    "test": "paired t-test, two-sided (TOST for no difference); Holm",
    "trained": (
        f"validation accuracy gained in the last quarter of the steps below {ACC_MARGIN:g} "
        "point (else flagged: not trained to a plateau)"
    ),
}
"""Claim 5's measure, selection, comparison and margin, fixed before the run."""


@dataclass(frozen=True)
class Config:
    models: tuple[str, ...]
    arms: tuple[float | str, ...]
    seeds: tuple[int, ...]
    steps: int
    lr: float = 1e-2
    batch_size: int = 100
    val: float = 0.125
    cnn_arms: tuple[float | str, ...] | None = None  # the CNN's arms, if fewer (cost)
    cnn_steps: int | None = None
    lrs: tuple[float, ...] = ()  # claim 5's learning-rate grid for the ``tuned`` arms
    tuned: tuple[float, ...] = ()
    select: int = 0  # the first ``select`` seeds choose; the others confirm
    eval_every: int = 0  # learning curves (early stopping); 0: the last step only

    def arms_of(self, model: str) -> tuple[float | str, ...]:
        return self.cnn_arms if model == "cnn" and self.cnn_arms is not None else self.arms

    def steps_of(self, model: str) -> int:
        return self.cnn_steps if model == "cnn" and self.cnn_steps is not None else self.steps

    def lrs_of(self, arm: float | str) -> tuple[float, ...]:
        """The learning rates ``arm`` trains at: the grid for a tuned slope, else ``lr``."""
        return self.lrs if self.lrs and arm in self.tuned else (self.lr,)

    @property
    def selection(self) -> tuple[int, ...]:
        return self.seeds[: self.select]

    @property
    def confirmation(self) -> tuple[int, ...]:
        return self.seeds[self.select :]

    def train_config(self, model: str, arm: float | str) -> TrainConfig:
        steps = self.steps_of(model)
        lrs = self.lrs_of(arm)
        return TrainConfig(
            model=model,
            dataset="mnist1d",
            activation=arm,
            seeds=self.seeds,
            optimizer="adam",
            lr=self.lr,
            lrs=lrs if len(lrs) > 1 else (),
            batch_size=self.batch_size,
            steps=steps,
            eval_every=self.eval_every,
            val=self.val,
            stats_steps=(steps,),
            stats_split="val",
            ablate="negative" if isinstance(arm, float) else "",  # 3b: the functional test
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("models", "arms", "seeds", "cnn_arms", "lrs", "tuned"):
            d[key] = None if d[key] is None else list(d[key])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        d = dict(d)
        for key in ("models", "arms", "seeds", "cnn_arms", "lrs", "tuned"):
            if d.get(key) is not None:
                d[key] = tuple(d[key])
        return cls(**d)


def plan(scale: str, seed: int = 0) -> Config:
    """The grid per scale. ``standard`` fits ``make demo``'s budget: the MLP only (the CNN
    needs the paper's 6,000 steps to be trained: ``full``), the slopes 0, 0.01, 0.1 and 0.3
    at three learning rates, 2,000 steps with early stopping, 4 selection and 10
    confirmation seeds (the verdict states the power that gives; 6 confirmation seeds were
    too few: an independent reproduction with 6 others found a third of the effect, and 24
    fresh seeds put it between the two); ``full`` is the paper's recipe (6,000 steps) on the
    MLP and the CNN, every slope tuned, 10 + 40 seeds."""
    base = 1000 * seed
    if scale == "quick":
        return Config(
            ("mlp",),
            (0.0, 0.01, 0.3, 1.0),
            tuple(base + s for s in range(4)),
            150,
            lrs=(0.01, 0.02),
            tuned=(0.0, 0.01, 0.3),
            select=2,
            eval_every=50,
        )
    if scale == "standard":
        return Config(
            ("mlp",),
            (*TUNED, 1.0, "gelu"),
            tuple(base + s for s in range(14)),
            2000,
            lrs=LRS,
            tuned=TUNED,
            select=4,
            eval_every=100,
        )
    return Config(
        ("mlp", "cnn"),
        ARMS,
        tuple(base + s for s in range(50)),
        6000,
        lrs=LRS,
        tuned=SLOPES,
        select=10,
        eval_every=250,
    )


@dataclass(frozen=True)
class TunedConfig:
    """Claim 5's task for one tuned slope: ``train`` (a grid over ``train.lrs`` and every
    seed) run in two phases, as the protocol reads: the first ``select`` seeds at every
    learning rate of the grid, then the others only at the learning rate they chose and at
    the paper's (``train.lr``, for claim 3b's sparsity and ablation, measured on every arm
    alike). Half the training of the whole grid, with the same result for what is judged."""

    train: TrainConfig
    select: int

    @property
    def selection(self) -> TrainConfig:
        return self.train.replace(seeds=self.train.seeds[: self.select])

    def confirmation(self, chosen: float) -> TrainConfig:
        lrs = tuple(sorted({chosen, self.train.lr}))
        seeds = self.train.seeds[self.select :]
        if len(lrs) == 1:
            return self.train.replace(seeds=seeds, lrs=(), lr=lrs[0])
        return self.train.replace(seeds=seeds, lrs=lrs)

    @property
    def members(self) -> int:
        """The members it trains when the chosen rate is the paper's (for cost estimates)."""
        return self.select * len(self.train.lrs) + len(self.train.seeds) - self.select

    def to_dict(self) -> dict[str, Any]:
        return {"train": self.train.to_dict(), "select": self.select}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TunedConfig:
        return cls(TrainConfig.from_dict(d["train"]), int(d["select"]))


def choose_lr(result: TrainResult, lrs: Sequence[float], select: int) -> tuple[float, list[float]]:
    """The learning rate of ``lrs`` with the best mean early-stopped validation accuracy over
    the first ``select`` seeds of ``result`` (a diverged run counts at chance), and each rate's
    mean (points); ties go to the first rate of the grid."""
    means = [float(np.mean(_early(_at((result,), lr))[0][:select])) for lr in lrs]
    return float(lrs[int(np.argmax(means))]), means


def train_tuned(config: TunedConfig) -> dict[str, Any]:
    """Claim 5's two phases for one slope (``TunedConfig``): the selection seeds over the
    learning-rate grid, then the confirmation seeds at the rate they chose (and the paper's).

    Returns ``{"lr": chosen, "selection": TrainResult dict, "confirmation": TrainResult
    dict}``; a pure function of ``config``.
    """
    from leaky.lab.batched import train

    selection = train(config.selection)
    chosen, _ = choose_lr(selection, config.train.lrs, config.select)
    confirmation = train(config.confirmation(chosen))
    return {"lr": chosen, "selection": selection.to_dict(), "confirmation": confirmation.to_dict()}


def tasks(config: Config) -> list[Task]:
    out = []
    for model in config.models:
        for arm in config.arms_of(model):
            train = config.train_config(model, arm)
            label = f"MNIST-1D {model} {activation_label(arm)}"
            if train.lrs and config.select:  # claim 5's tuned slopes: select, then confirm
                tuned = TunedConfig(train, config.select)
                out.append(
                    Task(NAME, "leaky.lab.experiments.slopes:train_tuned", tuned, label=label)
                )
            else:
                out.append(Task(NAME, "leaky.lab.batched:train", train, label=label))
    return out


# --- summary ---------------------------------------------------------------------------


def sparsity(result: TrainResult) -> dict[str, np.ndarray]:
    """Per member, averaged over the hidden layers at the last measured step: the near-zero
    fraction, the Hoyer sparsity and the exact-zero fraction (NaN for a diverged member)."""
    from leaky.lab.batched import NEAR_ZERO_CURVE

    keys = ("near_zero", "hoyer", "exact_zero", "positive", "near_zero_strict")
    out = {k: np.full(len(result.members), math.nan) for k in keys}
    out["curve"] = np.full((len(result.members), len(NEAR_ZERO_CURVE)), math.nan)
    cut = NEAR_ZERO_CURVE.index(SPARSITY_CUT)
    for i, member in enumerate(result.members):
        if member.diverged or not member.activations:
            continue
        snap = member.activations[-1]
        out["near_zero"][i] = np.mean([s.near_zero for s in snap.sites])
        out["hoyer"][i] = np.mean([s.hoyer for s in snap.sites])
        out["exact_zero"][i] = np.mean([np.mean(s.zero_fraction) for s in snap.sites])
        out["positive"][i] = np.mean([np.mean(s.positive_fraction) for s in snap.sites])
        if all(s.near_zero_curve for s in snap.sites):
            curve = np.mean([s.near_zero_curve for s in snap.sites], axis=0)
            out["curve"][i] = curve
            out["near_zero_strict"][i] = curve[cut]
    return out


@dataclass(frozen=True)
class Arm:
    """One model and arm: its per-seed values (paired across arms by position)."""

    model: str
    arm: float | str
    seeds: tuple[int, ...]
    val_acc: tuple[float, ...]  # percent; a diverged run counts as chance
    test_acc: tuple[float, ...]
    diverged: int
    near_zero: tuple[float, ...]  # percent of outputs; NaN for a diverged run
    hoyer: tuple[float, ...]
    exact_zero: tuple[float, ...]  # percent
    error: str | None = None
    near_zero_strict: tuple[float, ...] = ()  # percent at SPARSITY_CUT, per seed
    near_zero_curve: tuple[float, ...] = ()  # percent at each NEAR_ZERO_CURVE cut, mean
    ablated_test_acc: tuple[float, ...] = ()  # percent, negative outputs zeroed, per seed
    lr: float | None = None  # the learning rate chosen on the selection seeds
    lr_val: tuple[float, ...] = ()  # per grid learning rate: mean selection validation acc
    late_gain: float = math.nan  # validation points gained in the last quarter of the steps
    paper_test_acc: tuple[float, ...] = ()  # at the paper's lr, last step (3b's ablation)

    @property
    def label(self) -> str:
        return activation_label(self.arm)

    def mean(self, key: str) -> float:
        values = np.asarray(getattr(self, key), dtype=float)
        return float(np.nanmean(values)) if np.isfinite(values).any() else math.nan

    def interval(self, key: str) -> tuple[float, float]:
        """The 95 % t interval of the mean of ``key`` over the seeds."""
        values = np.asarray(getattr(self, key), dtype=float)
        r = stats.mean_interval(values[np.isfinite(values)])
        return r.low, r.high


@dataclass(frozen=True)
class Result:
    config: Config
    arms: tuple[Arm, ...]

    def arm(self, model: str, arm: float | str) -> Arm:
        return next(a for a in self.arms if a.model == model and a.arm == arm)

    def selection_val(self, arm: Arm) -> float:
        """``arm``'s mean validation accuracy over the selection seeds (all without them)."""
        n = self.config.select or len(arm.val_acc)
        v = np.asarray(arm.val_acc[:n], dtype=float)
        return float(np.nanmean(v)) if np.isfinite(v).any() else -math.inf

    def selected(self, model: str, exclude: tuple[float, ...] = ()) -> Arm | None:
        """The slope (0 to 0.3) with the best validation accuracy on the selection seeds,
        each at its own chosen learning rate: the tuned choice."""
        slopes = [
            a
            for a in self.arms
            if a.model == model
            and a.arm in SLOPES
            and a.arm not in exclude
            and a.error is None
            and a.val_acc
        ]
        return max(slopes, key=self.selection_val, default=None)

    def confirmation(self, arm: Arm, key: str = "test_acc") -> tuple[float, ...]:
        """``arm``'s values on the confirmation seeds (every seed without a selection set)."""
        return tuple(getattr(arm, key)[self.config.select :])

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "arms": [record(a) for a in self.arms],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Result:
        arms = tuple(
            Arm(
                a["model"],
                a["arm"],
                tuple(a["seeds"]),
                floats(a["val_acc"]),
                floats(a["test_acc"]),
                a["diverged"],
                floats(a["near_zero"]),
                floats(a["hoyer"]),
                floats(a["exact_zero"]),
                a["error"],
                floats(a.get("near_zero_strict", ())),
                floats(a.get("near_zero_curve", ())),
                floats(a.get("ablated_test_acc", ())),
                a.get("lr"),
                floats(a.get("lr_val", ())),
                floats([a.get("late_gain")])[0],
                floats(a.get("paper_test_acc", ())),
            )
            for a in d["arms"]
        )
        return cls(Config.from_dict(d["config"]), arms)


def _early_stopped(result: TrainResult, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per member in ``rows``: the best validation accuracy and the test accuracy at that
    step (early stopping; the last step without a validation curve), NaN where diverged."""
    val = result.curve("val_acc")[rows] if result.members[0].val_acc else None
    test = result.curve("test_acc")[rows]
    if val is None or val.shape[1] == 0:
        return result.final("val_acc")[rows], result.final("test_acc")[rows]
    filled = np.where(np.isfinite(val), val, -np.inf)
    best = filled.argmax(axis=1)
    pick = np.arange(len(rows))
    return val[pick, best], test[pick, best]


def _late_gains(result: TrainResult) -> np.ndarray:
    """Validation points gained in the last quarter, per member: best over all steps minus
    best up to three quarters of them (NaN without a curve)."""
    steps = np.asarray(result.steps)
    if not result.members[0].val_acc or len(steps) < 4:
        return np.full(len(result.members), math.nan)
    val = result.curve("val_acc")
    early = steps <= 0.75 * steps[-1]
    with np.errstate(all="ignore"):
        return (np.nanmax(val, axis=1) - np.nanmax(val[:, early], axis=1)) * 100


def _mean(values: np.ndarray) -> float:
    return float(np.nanmean(values)) if np.isfinite(values).any() else math.nan


def _at(results: Sequence[TrainResult], lr: float) -> TrainResult:
    """The members of ``results`` (in order: selection seeds, then confirmation) trained at
    ``lr``, as one result in seed order."""
    members = tuple(
        m
        for r in results
        for (_, member_lr, _), m in zip(r.config.members, r.members, strict=True)
        if math.isclose(member_lr, lr)
    )
    return TrainResult(results[0].config, results[0].steps, members)


def _early(result: TrainResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per member: early-stopped validation and test accuracy (points; chance where the run
    failed) and whether it failed."""
    rows = np.arange(len(result.members))
    bad = result.diverged | ~np.isfinite(result.final("test_acc"))
    val, test = _early_stopped(result, rows)
    return np.where(bad, CHANCE, val) * 100, np.where(bad, CHANCE, test) * 100, bad


def _arm(model: str, arm: float | str, config: Config, outcome: Outcome) -> Arm:
    if not outcome.ok:
        return Arm(model, arm, config.seeds, (), (), 0, (), (), (), outcome.error)
    value = outcome.value
    lr_val: list[float] = []
    runs: tuple[TrainResult, ...]
    if "selection" in value:  # a tuned slope: selection over the grid, then confirmation
        selection = TrainResult.from_dict(value["selection"])
        chosen, lr_val = choose_lr(selection, config.lrs_of(arm), config.select)
        runs = (selection, TrainResult.from_dict(value["confirmation"]))
    else:  # one learning rate (or, without selection seeds, a grid chosen on every seed)
        result = TrainResult.from_dict(value)
        runs, lrs = (result,), config.lrs_of(arm)
        if len(lrs) > 1:
            chosen, lr_val = choose_lr(result, lrs, config.select or len(config.seeds))
        else:
            chosen = lrs[0]
    at_chosen = _at(runs, chosen)
    val, test, failed = _early(at_chosen)
    # sparsity and the ablation at the paper's learning rate, every arm alike
    sub = _at(runs, config.lr)
    sub = sub if len(sub.members) == len(config.seeds) else at_chosen
    bad = _early(sub)[2]
    sp = sparsity(sub)
    curve = sp["curve"][np.isfinite(sp["curve"]).all(axis=1)]
    ablated = [m.ablated_test_acc for m in sub.members]
    paper_test = np.where(bad, CHANCE, sub.final("test_acc")) * 100
    return Arm(
        model,
        arm,
        config.seeds,
        tuple(map(float, val)),
        tuple(map(float, test)),
        int(failed.sum()),
        tuple(map(float, sp["near_zero"] * 100)),
        tuple(map(float, sp["hoyer"])),
        tuple(map(float, sp["exact_zero"] * 100)),
        near_zero_strict=tuple(map(float, sp["near_zero_strict"] * 100)),
        near_zero_curve=tuple(map(float, curve.mean(axis=0) * 100)) if len(curve) else (),
        ablated_test_acc=(
            tuple(math.nan if bad[i] or v is None else 100 * v for i, v in enumerate(ablated))
            if all(v is not None for v in ablated)
            else ()
        ),
        lr=float(chosen),
        lr_val=tuple(lr_val),
        late_gain=_mean(_late_gains(at_chosen)),
        paper_test_acc=tuple(map(float, paper_test)),
    )


def summarize(config: Config, outcomes: Sequence[Outcome]) -> Result:
    it = iter(outcomes)
    arms = tuple(_arm(m, a, config, next(it)) for m in config.models for a in config.arms_of(m))
    return Result(config, arms)


def _pairs(a: Arm, b: Arm, key: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(getattr(a, key)), np.asarray(getattr(b, key))
    both = np.isfinite(x) & np.isfinite(y)
    return x[both], y[both]


def _pairs_after(a: Arm, b: Arm, skip: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(a.test_acc[skip:], dtype=float)
    y = np.asarray(b.test_acc[skip:], dtype=float)
    both = np.isfinite(x) & np.isfinite(y)
    return x[both], y[both]


def accuracy_comparison(
    a: Arm, b: Arm, kind: str = verdicts.GREATER, skip: int = 0
) -> verdicts.Comparison | None:
    """Test accuracy of ``a`` against ``b`` (each at its chosen learning rate, early
    stopped), paired over the seeds after the first ``skip`` (the selection seeds), margin
    ``ACC_MARGIN``."""
    if a.error or b.error or len(a.test_acc) - skip < 2:
        return None
    x, y = _pairs(a, b, "test_acc")
    if skip:
        x, y = _pairs_after(a, b, skip)
    return verdicts.compare(
        x,
        y,
        claim=f"{a.label} reaches a higher test accuracy than {b.label} ({a.model})",
        measure="test accuracy (points)",
        margin=ACC_MARGIN,
        kind=kind,
    )


def sparsity_comparison(
    a: Arm, b: Arm, kind: str = verdicts.GREATER, key: str = "near_zero_strict"
) -> verdicts.Comparison | None:
    """Near-zero outputs (``key``) of ``a`` against ``b``, paired, margin ``SPARSITY_MARGIN``."""
    if a.error or b.error:
        return None
    x, y = _pairs(a, b, key)
    if len(x) < 2:
        return None
    cut = SPARSITY_CUT if key == "near_zero_strict" else 0.05
    what = {
        verdicts.GREATER: f"gives more near-zero outputs than {b.label}",
        verdicts.LESS: f"gives fewer near-zero outputs than {b.label}",
        verdicts.NO_DIFFERENCE: f"is about as sparse as {b.label}",
    }[kind]
    return verdicts.compare(
        x,
        y,
        claim=f"{a.label} {what} ({a.model})",
        measure=f"outputs near zero (% of a layer's outputs, |h| < {cut:g} x its mean |h|)",
        margin=SPARSITY_MARGIN,
        kind=kind,
    )


def hoyer_comparison(
    a: Arm, b: Arm, kind: str = verdicts.NO_DIFFERENCE
) -> verdicts.Comparison | None:
    """Hoyer sparsity of ``a`` against ``b``, paired over seeds, margin ``HOYER_MARGIN``."""
    if a.error or b.error:
        return None
    x, y = _pairs(a, b, "hoyer")
    if len(x) < 2:
        return None
    what = "is about as sparse as" if kind == verdicts.NO_DIFFERENCE else "is sparser than"
    return verdicts.compare(
        x,
        y,
        claim=f"{a.label} {what} {b.label} by Hoyer's measure ({a.model})",
        measure="Hoyer sparsity of a layer's output vector (0 dense, 1 one-hot)",
        margin=HOYER_MARGIN,
        kind=kind,
    )


def ablation_comparison(a: Arm) -> verdicts.Comparison | None:
    """Test accuracy of ``a`` as trained against the same network with its negative outputs
    zeroed: is nothing lost (within ``ABLATION_MARGIN``)?"""
    if a.error or not a.ablated_test_acc:
        return None
    x = np.asarray(a.paper_test_acc or a.test_acc, dtype=float)  # the same runs, as trained
    y = np.asarray(a.ablated_test_acc, dtype=float)
    both = np.isfinite(x) & np.isfinite(y)
    if both.sum() < 2:
        return None
    return verdicts.compare(
        x[both],
        y[both],
        claim=(
            f"zeroing {a.label}'s negative outputs after training costs no accuracy: they are "
            f"inactive ({a.model})"
        ),
        measure="test accuracy (points): as trained, minus with the negative outputs zeroed",
        margin=ABLATION_MARGIN,
        kind=verdicts.NO_DIFFERENCE,
    )
