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
- **claim 3b, "sparse activation"**: at the end of training, per hidden layer, over the
  whole validation split: the fraction of outputs near zero (|h| below 5 % of the layer's
  mean |h|), the Hoyer sparsity of each example's activation vector, and the exact-zero
  fraction; Leaky ReLU against the linear control (is it sparser than a network without the
  activation's sparsity?) and against ReLU (how close?).

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
CHANCE = data.chance("mnist1d")  # the accuracy a failed run is counted at
DEPENDS = ("leaky.lab.models", "leaky.lab.data", "leaky.nn", "leaky._torch", "leaky._kernels")


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
            depends=DEPENDS,
            label=f"MNIST-1D {model} {activation_label(arm)}",
        )
        for model in config.models
        for arm in config.arms_of(model)
    ]


# --- summary ---------------------------------------------------------------------------


def sparsity(result: TrainResult) -> dict[str, np.ndarray]:
    """Per member, averaged over the hidden layers at the last measured step: the near-zero
    fraction, the Hoyer sparsity and the exact-zero fraction (NaN for a diverged member)."""
    keys = ("near_zero", "hoyer", "exact_zero", "positive")
    out = {k: np.full(len(result.members), math.nan) for k in keys}
    for i, member in enumerate(result.members):
        if member.diverged or not member.activations:
            continue
        snap = member.activations[-1]
        out["near_zero"][i] = np.mean([s.near_zero for s in snap.sites])
        out["hoyer"][i] = np.mean([s.hoyer for s in snap.sites])
        out["exact_zero"][i] = np.mean([np.mean(s.zero_fraction) for s in snap.sites])
        out["positive"][i] = np.mean([np.mean(s.positive_fraction) for s in snap.sites])
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


def sparsity_comparison(a: Arm, b: Arm, kind: str = verdicts.GREATER) -> verdicts.Comparison | None:
    """Near-zero outputs of ``a`` against ``b``, paired over seeds, margin ``SPARSITY_MARGIN``."""
    if a.error or b.error:
        return None
    x, y = _pairs(a, b, "near_zero")
    if len(x) < 2:
        return None
    return verdicts.compare(
        x,
        y,
        claim=f"{a.label} gives more near-zero outputs than {b.label} ({a.model})",
        measure="outputs near zero (% of a layer's outputs, |h| < 5 % of its mean |h|)",
        margin=SPARSITY_MARGIN,
        kind=kind,
    )
