"""Claim 2b, dying during training: do Leaky ReLU's units stay alive where ReLU's die?

The dying ReLU problem is a training phenomenon: a large update pushes a unit's
pre-activation below zero for every input, its gradient is then zero, and it never comes
back. Two settings, both on generated spirals with the MNIST-1D paper's MLP and plain SGD,
measured over the whole training set at initialisation and after about 100 epochs (2000
steps of 32 examples):

- **high learning rate** (lr 1.0, no intervention): the units that die *during* training;
- **bias shock** (every hidden bias lowered by 2 at initialisation, lr 0.3): most units start
  below zero; do they come back?

A unit is **near-dead** when its pre-activation is positive on fewer than 1 % of the
training inputs: dead in ReLU's sense (no gradient), in the negative regime under Leaky ReLU
(it still learns, at the slope). Per arm (ReLU, Leaky ReLU 0.01, 0.1, 0.3, GELU), paired
over seeds: the near-dead fraction at the start and at the end, and the test accuracy
(a diverged run counts as chance and its units as missing).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from leaky.lab import stats
from leaky.lab.batched import TrainConfig, TrainResult
from leaky.lab.models import activation_label
from leaky.lab.store import Outcome, Task

NAME = "dying"
TITLE = "Dying during training (claim 2b)"
ARMS = (0.0, 0.01, 0.1, 0.3, "gelu")
NEAR_DEAD = 0.01  # positive on fewer than this fraction of the inputs
MARGIN = 5.0  # percentage points of units: the smallest difference that matters
CHANCE = 0.5
DEPENDS = ("leaky.lab.models", "leaky.lab.data", "leaky.nn", "leaky._torch", "leaky._kernels")


@dataclass(frozen=True)
class Setting:
    name: str
    lr: float
    shock: float


SETTINGS = (
    Setting("high learning rate (SGD lr 1.0)", 1.0, 0.0),
    Setting("bias shock 2 (SGD lr 0.3)", 0.3, 2.0),
)


@dataclass(frozen=True)
class Config:
    settings: tuple[Setting, ...]
    arms: tuple[float | str, ...]
    seeds: tuple[int, ...]
    steps: int

    def train_config(self, setting: Setting, arm: float | str) -> TrainConfig:
        return TrainConfig(
            model="mlp",
            dataset="spirals",
            activation=arm,
            seeds=self.seeds,
            optimizer="sgd",
            lr=setting.lr,
            batch_size=32,
            steps=self.steps,
            eval_every=0,
            bias_shift=setting.shock,
            stats_steps=(0, self.steps),
            stats_split="train",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": [asdict(s) for s in self.settings],
            "arms": list(self.arms),
            "seeds": list(self.seeds),
            "steps": self.steps,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        return cls(
            tuple(Setting(**s) for s in d["settings"]),
            tuple(d["arms"]),
            tuple(d["seeds"]),
            d["steps"],
        )


def plan(scale: str, seed: int = 0) -> Config:
    base = 1000 * seed
    if scale == "quick":
        return Config(SETTINGS, (0.0, 0.01), tuple(base + s for s in range(3)), 200)
    if scale == "standard":
        return Config(SETTINGS, ARMS, tuple(base + s for s in range(10)), 2000)
    return Config(SETTINGS, ARMS, tuple(base + s for s in range(20)), 4000)


def tasks(config: Config) -> list[Task]:
    return [
        Task(
            NAME,
            "leaky.lab.batched:train",
            config.train_config(setting, arm),
            depends=DEPENDS,
            label=f"spirals {setting.name} {activation_label(arm)}",
        )
        for setting in config.settings
        for arm in config.arms
    ]


def near_dead(result: TrainResult, index: int) -> np.ndarray:
    """Per member: the fraction of hidden units positive on < 1 % of the inputs at the
    ``index``-th measured step (NaN for a diverged member)."""
    out = np.full(len(result.members), math.nan)
    for i, m in enumerate(result.members):
        if m.diverged or len(m.activations) <= index:
            continue
        fractions = np.concatenate(
            [np.asarray(s.positive_fraction) for s in m.activations[index].sites]
        )
        out[i] = float(np.mean(fractions < NEAR_DEAD))
    return out


@dataclass(frozen=True)
class Arm:
    setting: str
    arm: float | str
    start: tuple[float, ...]  # percent of units near-dead at initialisation, per seed
    end: tuple[float, ...]  # after training (NaN: diverged)
    test_acc: tuple[float, ...]  # percent; a diverged run counts as chance
    diverged: int
    error: str | None = None

    @property
    def label(self) -> str:
        return activation_label(self.arm)

    def mean(self, key: str) -> float:
        v = np.asarray(getattr(self, key), dtype=float)
        return float(np.nanmean(v)) if np.isfinite(v).any() else math.nan


@dataclass(frozen=True)
class Result:
    config: Config
    arms: tuple[Arm, ...]

    def arm(self, setting: str, arm: float | str) -> Arm:
        return next(a for a in self.arms if a.setting == setting and a.arm == arm)

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "arms": [
                {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(a).items()}
                for a in self.arms
            ],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Result:
        def nan(values: list) -> tuple[float, ...]:
            return tuple(math.nan if v is None else float(v) for v in values)

        arms = tuple(
            Arm(
                a["setting"],
                a["arm"],
                nan(a["start"]),
                nan(a["end"]),
                nan(a["test_acc"]),
                a["diverged"],
                a["error"],
            )
            for a in d["arms"]
        )
        return cls(Config.from_dict(d["config"]), arms)


def summarize(config: Config, outcomes: Sequence[Outcome]) -> Result:
    arms = []
    it = iter(outcomes)
    for setting in config.settings:
        for arm in config.arms:
            outcome = next(it)
            if not outcome.ok:
                arms.append(Arm(setting.name, arm, (), (), (), 0, outcome.error))
                continue
            r = TrainResult.from_dict(outcome.value)
            bad = r.diverged | ~np.isfinite(r.final("test_acc"))
            arms.append(
                Arm(
                    setting.name,
                    arm,
                    tuple(map(float, near_dead(r, 0) * 100)),
                    tuple(map(float, near_dead(r, -1) * 100)),
                    tuple(map(float, np.where(bad, CHANCE, r.final("test_acc")) * 100)),
                    int(bad.sum()),
                )
            )
    return Result(config, tuple(arms))


def comparison(a: Arm, relu: Arm) -> stats.Comparison | None:
    """Does ``a`` end with fewer near-dead units than ReLU? Paired over the seeds both have."""
    if a.error or relu.error:
        return None
    x, y = np.asarray(a.end), np.asarray(relu.end)
    both = np.isfinite(x) & np.isfinite(y)
    if both.sum() < 2:
        return None
    return stats.compare(
        x[both],
        y[both],
        claim=f"{a.label} ends training with fewer near-dead units than ReLU ({a.setting})",
        measure="near-dead units at the end (% of hidden units; positive on < 1 % of inputs)",
        margin=MARGIN,
        kind=stats.LESS,
    )


def accuracy_comparison(a: Arm, relu: Arm) -> stats.Comparison | None:
    if a.error or relu.error or len(a.test_acc) < 2:
        return None
    return stats.compare(
        a.test_acc,
        relu.test_acc,
        claim=f"{a.label} reaches a higher test accuracy than ReLU ({a.setting})",
        measure="test accuracy (points)",
        margin=1.0,
        kind=stats.GREATER,
    )
