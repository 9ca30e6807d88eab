"""Claim 4, stability: does Leaky ReLU train more stably than ReLU when training is made hard?

The seed document says Leaky ReLU "introduces a more stable and robust training process".
Stability is what fails at high learning rates, so the test is a learning-rate grid, per
activation, with every run kept:

- **settings**: the MNIST-1D paper's MLP on generated spirals with plain SGD (learning rates
  geometric from 1 to 4, where runs start to fail), and the same MLP on MNIST-1D with Adam
  at learning rates above the paper's 0.01 (0.02 to 0.5);
- **arms**: ReLU (leaky's layer with slope 0, the same code as every other arm), Leaky ReLU
  0.01 (the document's typical value), 0.1 and 0.3, and two controls: the identity (slope 1,
  a linear network) and GELU (a smooth activation);
- **a failure** is a run whose loss stops being finite, or whose final training loss is above
  its initial one, or whose final training accuracy stays below chance + 15 points (a run
  that "survives" by collapsing to chance is a failure too). Failed runs stay in every
  denominator, every figure and every mean: their test accuracy counts as chance.

Each cell (setting, arm, learning rate) is one task: all its seeds trained as one batched
model (``leaky.lab.batched.train``). ``summarize`` turns the stored results into failure
rates with Wilson intervals, the critical learning rate per arm (the smallest one where
half the runs or more fail) and Fisher's exact test of each arm against ReLU, per cell and
pooled over a setting's learning rates; ``leaky.lab.claims`` judges them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from leaky.lab import stats, verdicts
from leaky.lab.batched import TrainConfig, TrainResult
from leaky.lab.models import activation_label, canonical_activation
from leaky.lab.store import Outcome, Task

NAME = "stability"
TITLE = "Stability under high learning rates (claim 4)"
CHANCE_MARGIN = 0.15  # a run whose final training accuracy is below chance + this failed
ARMS = (0.0, 0.01, 0.1, 0.3, 1.0, "gelu")
DEPENDS = ("leaky.lab.models", "leaky.lab.data", "leaky.nn", "leaky._torch", "leaky._kernels")


@dataclass(frozen=True)
class Setting:
    """One model, data set and optimiser, and its learning-rate grid."""

    name: str
    model: str
    dataset: str
    optimizer: str
    lrs: tuple[float, ...]
    steps: int
    batch_size: int
    classes: int
    arms: tuple[float | str, ...] | None = None  # fewer arms than the study's (cost)

    def train_config(self, activation: float | str, lr: float, seeds: Sequence[int]) -> TrainConfig:
        return TrainConfig(
            model=self.model,
            dataset=self.dataset,
            activation=activation,
            seeds=tuple(seeds),
            optimizer=self.optimizer,
            lr=lr,
            batch_size=self.batch_size,
            steps=self.steps,
            eval_every=0,
        )


@dataclass(frozen=True)
class Config:
    settings: tuple[Setting, ...]
    arms: tuple[float | str, ...] = ARMS
    seeds: tuple[int, ...] = tuple(range(10))

    def arms_of(self, setting: Setting) -> tuple[float | str, ...]:
        return tuple(a for a in self.arms if setting.arms is None or a in setting.arms)

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": [asdict(s) for s in self.settings],
            "arms": list(self.arms),
            "seeds": list(self.seeds),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        settings = tuple(Setting(**{**s, "lrs": tuple(s["lrs"])}) for s in d["settings"])
        return cls(settings, tuple(d["arms"]), tuple(d["seeds"]))


def _geometric(low: float, high: float, n: int) -> tuple[float, ...]:
    return tuple(float(f"{v:.3g}") for v in np.geomspace(low, high, n))


def plan(scale: str, seed: int = 0) -> Config:
    """The grid for a scale: ``quick`` (a smoke run), ``standard`` or ``full``."""
    base = 1000 * seed
    if scale == "quick":
        return Config(
            (Setting("spirals, SGD", "mlp", "spirals", "sgd", (0.3, 1.0), 150, 32, 2),),
            arms=(0.0, 0.01, 1.0),
            seeds=tuple(base + s for s in range(3)),
        )
    n_seeds, steps, lrs = (10, 1000, 5) if scale == "standard" else (20, 3000, 7)
    mnist_arms = (0.0, 0.01, 0.1, "gelu") if scale == "standard" else None
    return Config(
        (
            Setting(
                "spirals, SGD", "mlp", "spirals", "sgd", _geometric(1.0, 4.0, lrs), steps, 32, 2
            ),
            Setting(
                "MNIST-1D, Adam",
                "mlp",
                "mnist1d",
                "adam",
                _geometric(0.02, 0.5, lrs - 1),
                steps,
                100,
                10,
                arms=mnist_arms,
            ),
        ),
        seeds=tuple(base + s for s in range(n_seeds)),
    )


def tasks(config: Config) -> list[Task]:
    return [
        Task(
            NAME,
            "leaky.lab.batched:train",
            setting.train_config(arm, lr, config.seeds),
            depends=DEPENDS,
            label=f"{setting.name} {activation_label(arm)} lr {lr:g}",
        )
        for setting in config.settings
        for arm in config.arms_of(setting)
        for lr in setting.lrs
    ]


# --- summary ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One setting, arm and learning rate: its runs' fates and final test accuracies."""

    setting: str
    arm: float | str
    lr: float
    runs: int
    failures: int
    diverged: int
    failure_rate: float
    failure_ci: tuple[float, float]
    test_acc: tuple[float, ...]  # per seed; a failed run counts as chance
    error: str | None = None  # the task itself failed (one line): no runs measured

    @property
    def label(self) -> str:
        return activation_label(self.arm)


@dataclass(frozen=True)
class Result:
    """The whole grid, the critical learning rates and the comparisons with ReLU."""

    config: Config
    cells: tuple[Cell, ...]
    critical_lr: dict[str, dict[str, float | None]]  # setting -> arm label -> lr
    comparisons: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def cell(self, setting: str, arm: float | str, lr: float) -> Cell:
        return next(c for c in self.cells if (c.setting, c.arm, c.lr) == (setting, arm, lr))

    def pooled(self, setting: str | None, arm: float | str) -> tuple[int, int]:
        """(failures, runs) of ``arm`` over every learning rate of ``setting`` (None: all)."""
        chosen = [
            c
            for c in self.cells
            if c.arm == arm and (setting is None or c.setting == setting) and c.error is None
        ]
        return sum(c.failures for c in chosen), sum(c.runs for c in chosen)

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "cells": [
                {**asdict(c), "failure_ci": list(c.failure_ci), "test_acc": list(c.test_acc)}
                for c in self.cells
            ],
            "critical_lr": self.critical_lr,
            "comparisons": list(self.comparisons),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Result:
        cells = tuple(
            Cell(
                **{
                    **c,
                    "failure_ci": tuple(c["failure_ci"]),
                    "test_acc": tuple(c["test_acc"]),
                }
            )
            for c in d["cells"]
        )
        return cls(Config.from_dict(d["config"]), cells, d["critical_lr"], tuple(d["comparisons"]))


def failed(result: TrainResult, classes: int) -> np.ndarray:
    """One bool per member: diverged, ended above its initial loss, or stuck near chance."""
    initial = result.curve("train_loss")[:, 0]
    final_loss = result.final("train_loss")
    final_acc = result.final("train_acc")
    with np.errstate(invalid="ignore"):
        bad = (
            result.diverged
            | ~np.isfinite(final_loss)
            | (final_loss > initial)
            | (final_acc < 1.0 / classes + CHANCE_MARGIN)
        )
    return np.asarray(bad, dtype=bool)


def _cell(setting: Setting, arm: float | str, lr: float, outcome: Outcome) -> Cell:
    if not outcome.ok:
        nan = math.nan
        return Cell(setting.name, arm, lr, 0, 0, 0, nan, (nan, nan), (), outcome.error)
    result = TrainResult.from_dict(outcome.value)
    bad = failed(result, setting.classes)
    chance = 1.0 / setting.classes
    acc = np.where(bad | ~np.isfinite(result.final("test_acc")), chance, result.final("test_acc"))
    p = stats.proportion(int(bad.sum()), len(bad))
    return Cell(
        setting.name,
        arm,
        lr,
        len(bad),
        int(bad.sum()),
        int(result.diverged.sum()),
        p.estimate,
        (p.ci_low, p.ci_high),
        tuple(float(v) for v in acc),
    )


def summarize(config: Config, outcomes: Sequence[Outcome]) -> Result:
    """Failure rates, critical learning rates and Fisher tests from the stored outcomes."""
    it = iter(outcomes)
    cells = tuple(
        _cell(setting, arm, lr, next(it))
        for setting in config.settings
        for arm in config.arms_of(setting)
        for lr in setting.lrs
    )
    critical: dict[str, dict[str, float | None]] = {}
    for setting in config.settings:
        critical[setting.name] = {}
        for arm in config.arms_of(setting):
            rates = [
                (c.lr, c.failure_rate)
                for c in cells
                if c.setting == setting.name and c.arm == arm and c.error is None
            ]
            first = next((lr for lr, rate in sorted(rates) if rate >= 0.5), None)
            critical[setting.name][activation_label(arm)] = first
    result = Result(config, cells, critical)
    return Result(config, cells, critical, tuple(_comparisons(result)))


def _comparisons(result: Result) -> list[dict[str, Any]]:
    """Each arm against ReLU, pooled per setting and over both; failure counts, Fisher."""
    rows = []
    relu = canonical_activation("relu")
    scopes = [s.name for s in result.config.settings] + [None]
    for arm in result.config.arms:
        if arm == relu:
            continue
        for scope in scopes:
            fa, na = result.pooled(scope, arm)
            fb, nb = result.pooled(scope, relu)
            if na == 0 or nb == 0:
                continue
            rows.append(
                {
                    "arm": arm,
                    "setting": scope or "all settings",
                    "failures": fa,
                    "runs": na,
                    "relu_failures": fb,
                    "relu_runs": nb,
                }
            )
    return rows


def comparison(row: dict[str, Any]) -> verdicts.Comparison:
    """The test of one pooled row: does ``arm`` fail less often than ReLU?"""
    return verdicts.compare_failures(
        row["failures"],
        row["runs"],
        row["relu_failures"],
        row["relu_runs"],
        claim=(
            f"{activation_label(row['arm'])} fails less often than ReLU "
            f"({row['setting']}, every learning rate of the grid)"
        ),
        measure="failure rate (diverged, loss above its start, or accuracy near chance)",
        kind=verdicts.LESS,
    )
