"""Claims 5 and 3b on MNIST-1D: does the slope matter, and does Leaky ReLU make sparse networks?

One grid feeds three sections of the report: the MNIST-1D paper's MLP and CNN (Adam, lr
1e-2, batch 100: the authors' recipe) trained with each arm, every seed paired across arms
(seed ``s`` is the same initialisation draw and batch order in every arm), a validation
split held out of the training set for every choice, the test set read once:

- **arms**: the slopes 0 (ReLU: leaky's layer with slope 0, the same code path as every
  other arm), 0.01, 0.05, 0.1, 0.2 and 0.3 (Xu et al. 2015 found 1/5.5 helped on CIFAR),
  and two controls: the identity (slope 1, a linear network) and GELU (smooth);
- **claim 5, "the slope is worth tuning"**: the slope chosen on validation against the
  document's default 0.01, on test accuracy, paired over seeds, with an equivalence margin
  of 1 point; every slope against ReLU, Holm-corrected, for "What should I use?";
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

    def arms_of(self, model: str) -> tuple[float | str, ...]:
        return self.cnn_arms if model == "cnn" and self.cnn_arms is not None else self.arms

    def train_config(self, model: str, arm: float | str) -> TrainConfig:
        steps = self.cnn_steps if model == "cnn" and self.cnn_steps is not None else self.steps
        return TrainConfig(
            model=model,
            dataset="mnist1d",
            activation=arm,
            seeds=self.seeds,
            optimizer="adam",
            lr=self.lr,
            batch_size=self.batch_size,
            steps=steps,
            eval_every=0,
            val=self.val,
            stats_steps=(steps,),
            stats_split="val",
            ablate=isinstance(arm, float),  # leaky's slopes: the functional test of 3b
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("models", "arms", "seeds", "cnn_arms"):
            d[key] = None if d[key] is None else list(d[key])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        d = dict(d)
        for key in ("models", "arms", "seeds", "cnn_arms"):
            if d.get(key) is not None:
                d[key] = tuple(d[key])
        return cls(**d)


def plan(scale: str, seed: int = 0) -> Config:
    """The grid per scale. ``standard`` fits ``make demo``'s budget: every slope on the MLP
    (2,000 steps), five arms on the CNN (1,000 steps); ``full`` is the paper's recipe (6,000
    steps) on both, every arm, 20 seeds."""
    base = 1000 * seed
    if scale == "quick":
        return Config(("mlp",), (0.0, 0.01, 0.3, 1.0), tuple(base + s for s in range(3)), 150)
    if scale == "standard":
        return Config(
            ("mlp", "cnn"),
            ARMS,
            tuple(base + s for s in range(10)),
            2000,
            cnn_arms=(0.0, 0.01, 0.1, 0.3, 1.0),
            cnn_steps=1000,
        )
    return Config(("mlp", "cnn"), ARMS, tuple(base + s for s in range(20)), 6000)


def tasks(config: Config) -> list[Task]:
    return [
        Task(
            NAME,
            "leaky.lab.batched:train",
            config.train_config(model, arm),
            label=f"MNIST-1D {model} {activation_label(arm)}",
        )
        for model in config.models
        for arm in config.arms_of(model)
    ]


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

    def selected(self, model: str) -> Arm | None:
        """The slope (0 to 0.3) with the best mean validation accuracy: the tuned choice."""
        slopes = [
            a
            for a in self.arms
            if a.model == model and a.arm in SLOPES and a.error is None and a.val_acc
        ]
        return max(slopes, key=lambda a: a.mean("val_acc"), default=None)

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
            )
            for a in d["arms"]
        )
        return cls(Config.from_dict(d["config"]), arms)


def _arm(model: str, arm: float | str, config: Config, outcome: Outcome) -> Arm:
    if not outcome.ok:
        return Arm(model, arm, config.seeds, (), (), 0, (), (), (), outcome.error)
    result = TrainResult.from_dict(outcome.value)
    bad = result.diverged | ~np.isfinite(result.final("test_acc"))
    val = np.where(bad, CHANCE, result.final("val_acc")) * 100
    test = np.where(bad, CHANCE, result.final("test_acc")) * 100
    sp = sparsity(result)
    curve = sp["curve"][np.isfinite(sp["curve"]).all(axis=1)]
    ablated = [m.ablated_test_acc for m in result.members]
    return Arm(
        model,
        arm,
        config.seeds,
        tuple(map(float, val)),
        tuple(map(float, test)),
        int(bad.sum()),
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
    )


def summarize(config: Config, outcomes: Sequence[Outcome]) -> Result:
    it = iter(outcomes)
    arms = tuple(_arm(m, a, config, next(it)) for m in config.models for a in config.arms_of(m))
    return Result(config, arms)


def _pairs(a: Arm, b: Arm, key: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(getattr(a, key)), np.asarray(getattr(b, key))
    both = np.isfinite(x) & np.isfinite(y)
    return x[both], y[both]


def accuracy_comparison(a: Arm, b: Arm, kind: str = verdicts.GREATER) -> verdicts.Comparison | None:
    """Test accuracy of ``a`` against ``b``, paired over seeds, margin ``ACC_MARGIN``."""
    if a.error or b.error or len(a.test_acc) < 2:
        return None
    x, y = _pairs(a, b, "test_acc")
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
    x = np.asarray(a.test_acc, dtype=float)
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
