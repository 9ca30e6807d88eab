"""Claim 4, stability: does Leaky ReLU train more stably than ReLU when training is made hard?

The seed document says Leaky ReLU "introduces a more stable and robust training process".
Stability is what fails when the learning rate grows, so the test is a learning rate x
slope grid on MNIST-1D, every run kept. The measure, the failure rule, the comparison and
the test are fixed here, before any run (``PREREGISTERED``; a test pins them):

- **settings**: the MNIST-1D paper's MLP with its residual connection (``mlp``) and without
  it (``mlp-plain``: nothing bypasses a dead layer), each with Adam and with SGD with
  momentum 0.9, at six learning rates each (Adam's include the paper's 0.01);
- **arms**: ReLU (leaky's function with slope 0: only the slope differs), Leaky ReLU 0.01
  (the document's typical value), 0.1 and 0.3, GELU (a smooth activation), and the
  identity (slope 1, a linear network) as a labelled capacity control;
- **a failed run**: its loss was not finite at some step (it diverged), or its final
  validation accuracy is below the linear floor: the mean validation accuracy of logistic
  regression trained in the same study (the paper's recipe, Adam 0.01, the same steps and
  seeds). A run whose loss ends above where it started but that still beats the floor is a
  **loss spike**: counted and shown, never a failure. A finite run's accuracy is its own,
  never replaced;
- **the comparison**: each arm against ReLU, failure counts per stratum (setting x learning
  rate, the same seeds in both arms: matched denominators), tested by Cochran-Mantel-
  Haenszel (``verdicts.compare_failures_stratified``); the primary claim is "Leaky 0.01
  fails less often than ReLU" over every stratum, and per setting as secondaries;
- **descriptively**, per arm and setting: accuracy against the learning rate with
  intervals, divergences, spikes, and the learning-rate window: the grid's learning rates
  within ``WINDOW_POINTS`` of the arm's best mean validation accuracy.

Each setting's whole grid of leaky's slopes (every slope x learning rate x seed) trains as
one batched model (``TrainConfig(slopes=..., lrs=...)``), GELU's learning rates as another,
the linear floor as a third task: a setting costs about what one run per member costs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from leaky.lab import data, stats, verdicts
from leaky.lab.batched import TrainConfig, TrainResult
from leaky.lab.models import activation_label
from leaky.lab.store import Outcome, Task

NAME = "stability"
TITLE = "Stability under high learning rates (claim 4)"
RELU = 0.0
SLOPES = (0.0, 0.01, 0.1, 0.3, 1.0)  # leaky's function: ReLU, three slopes, the identity
SMOOTH = ("gelu",)
ARMS: tuple[float | str, ...] = (*SLOPES, *SMOOTH)
CAPACITY_CONTROL = 1.0  # the identity: a linear network, labelled as a control
PRIMARY_ARM = 0.01
WINDOW_POINTS = 1.0  # the learning-rate window: within this many points of the arm's best
FLOOR_RECIPE: dict[str, Any] = {"model": "logistic", "optimizer": "adam", "lr": 0.01}
LRS: dict[str, tuple[float, ...]] = {
    "adam": (0.003, 0.01, 0.03, 0.1, 0.2, 0.5),
    "sgd-momentum": (0.01, 0.03, 0.1, 0.3, 1.0, 3.0),
}
PREREGISTERED = {
    "measure": "failure rate over every setting and learning rate of the grid",
    "failure": (
        "the loss is not finite at some step, or the final validation accuracy is below the "
        "linear floor (logistic regression, Adam 0.01, the same steps and seeds)"
    ),
    "spike": "a finite run whose final training loss is above its initial one (not a failure)",
    "comparison": "Leaky ReLU 0.01 against ReLU, the same seeds in every stratum",
    "test": "Cochran-Mantel-Haenszel over the strata (setting x learning rate), two-sided",
    "alpha": verdicts.ALPHA,
    "family": "every arm against ReLU over all strata, and Leaky 0.01 per setting (Holm)",
    "window": f"learning rates within {WINDOW_POINTS:g} point of the arm's best validation "
    "accuracy",
}
"""Claim 4's measure, failure rule, comparison and test, fixed before the run."""


@dataclass(frozen=True)
class Setting:
    """One model variant and optimiser on MNIST-1D, and its learning-rate grid."""

    name: str
    model: str  # "mlp" (residual, the paper's) or "mlp-plain"
    optimizer: str
    lrs: tuple[float, ...]
    steps: int
    batch_size: int = 100

    def config(self, seeds: Sequence[int], **grid: Any) -> TrainConfig:
        return TrainConfig(
            model=self.model,
            dataset="mnist1d",
            seeds=tuple(seeds),
            optimizer=self.optimizer,
            batch_size=self.batch_size,
            steps=self.steps,
            eval_every=0,
            **grid,
        )


@dataclass(frozen=True)
class Config:
    settings: tuple[Setting, ...]
    slopes: tuple[float, ...] = SLOPES
    smooth: tuple[str, ...] = SMOOTH
    seeds: tuple[int, ...] = tuple(range(10))

    @property
    def arms(self) -> tuple[float | str, ...]:
        return (*self.slopes, *self.smooth)

    @property
    def steps(self) -> int:
        return self.settings[0].steps

    def floor_config(self) -> TrainConfig:
        return floor_config(self.seeds, self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": [asdict(s) for s in self.settings],
            "slopes": list(self.slopes),
            "smooth": list(self.smooth),
            "seeds": list(self.seeds),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        settings = tuple(Setting(**{**s, "lrs": tuple(s["lrs"])}) for s in d["settings"])
        return cls(settings, tuple(d["slopes"]), tuple(d["smooth"]), tuple(d["seeds"]))


def floor_config(seeds: Sequence[int], steps: int, **changes: Any) -> TrainConfig:
    """The linear floor's run: logistic regression with ``FLOOR_RECIPE`` on MNIST-1D, for
    ``seeds`` and ``steps`` (claim 4's and claim 6's failure rule read it)."""
    return TrainConfig(
        dataset="mnist1d",
        activation=None,
        seeds=tuple(seeds),
        steps=steps,
        eval_every=0,
        **{**FLOOR_RECIPE, **changes},
    )


def settings(steps: int, lrs: Mapping[str, tuple[float, ...]] = LRS) -> tuple[Setting, ...]:
    """The four settings: with and without the residual connection, Adam and SGD-momentum."""
    return tuple(
        Setting(f"{variant}, {opt_name}", model, opt, lrs[opt], steps)
        for variant, model in (("residual MLP", "mlp"), ("plain MLP", "mlp-plain"))
        for opt, opt_name in (("adam", "Adam"), ("sgd-momentum", "SGD-momentum"))
    )


def plan(scale: str, seed: int = 0) -> Config:
    """The grid for a scale: ``quick`` (a smoke run), ``standard`` or ``full``."""
    base = 1000 * seed
    if scale == "quick":
        quick_lrs = {opt: (lrs[1], lrs[-2]) for opt, lrs in LRS.items()}
        return Config(
            settings(60, quick_lrs)[::3],  # the residual MLP with Adam, the plain with SGD-m
            slopes=(0.0, 0.01),
            smooth=(),
            seeds=tuple(base + s for s in range(3)),
        )
    n_seeds, steps = (10, 300) if scale == "standard" else (20, 1000)
    return Config(settings(steps), seeds=tuple(base + s for s in range(n_seeds)))


def tasks(config: Config) -> list[Task]:
    """Per setting: the slopes' grid as one task and the smooth arms' as another; the floor."""
    out = [Task(NAME, "leaky.lab.batched:train", config.floor_config(), label="linear floor")]
    for s in config.settings:
        if config.slopes:
            grid = s.config(config.seeds, activation=config.slopes[0])
            grid = grid.replace(slopes=config.slopes, lrs=s.lrs)
            out.append(Task(NAME, "leaky.lab.batched:train", grid, label=f"{s.name} slopes"))
        for arm in config.smooth:
            smooth = s.config(config.seeds, activation=arm, lrs=s.lrs)
            out.append(Task(NAME, "leaky.lab.batched:train", smooth, label=f"{s.name} {arm}"))
    return out


# --- summary ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One setting, arm and learning rate: its runs' fates and accuracies (per seed)."""

    setting: str
    arm: float | str
    lr: float
    runs: int
    failures: int
    diverged: int
    spikes: int
    below_floor: int
    failure_rate: float
    failure_ci: tuple[float, float]
    val_acc: tuple[float, ...]  # per seed, %; NaN where the run diverged (no accuracy)
    test_acc: tuple[float, ...]
    failed: tuple[bool, ...] = ()  # per seed
    error: str | None = None  # the task itself failed (one line): no runs measured

    @property
    def label(self) -> str:
        return activation_label(self.arm)

    def mean(self, key: str) -> float:
        """The mean accuracy over seeds, a diverged run counted at chance (10 %)."""
        values = np.asarray(getattr(self, key), dtype=float)
        if values.size == 0:
            return math.nan
        return float(np.where(np.isfinite(values), values, CHANCE).mean())


CHANCE = 100 * data.chance("mnist1d")


@dataclass(frozen=True)
class ArmSummary:
    """One arm in one setting over the learning rates: best accuracy, window, counts."""

    setting: str
    arm: float | str
    best_lr: float | None
    best_val_acc: float
    best_test_acc: float
    best_test_ci: tuple[float, float]
    window: tuple[float, ...]  # the learning rates within WINDOW_POINTS of the best
    failures: int
    diverged: int
    spikes: int
    runs: int

    @property
    def label(self) -> str:
        return activation_label(self.arm)

    @property
    def window_decades(self) -> float:
        """The window's width in decades of learning rate (0 for one learning rate)."""
        return math.log10(max(self.window) / min(self.window)) if self.window else math.nan


@dataclass(frozen=True)
class Result:
    """The whole grid, the linear floor, per-arm summaries and the comparisons with ReLU."""

    config: Config
    floor: float  # the linear floor (validation accuracy, %)
    cells: tuple[Cell, ...]
    arms: tuple[ArmSummary, ...] = ()
    comparisons: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    errors: tuple[str, ...] = ()

    def cell(self, setting: str, arm: float | str, lr: float) -> Cell:
        return next(c for c in self.cells if (c.setting, c.arm, c.lr) == (setting, arm, lr))

    def strata(
        self, arm: float | str, setting: str | None = None
    ) -> list[tuple[int, int, int, int]]:
        """``(failures, runs, relu_failures, relu_runs)`` per (setting, lr) both arms ran."""
        out = []
        for c in self.cells:
            if c.arm != arm or c.error is not None or setting not in (None, c.setting):
                continue
            relu = self.cell(c.setting, RELU, c.lr)
            if relu.error is None and relu.runs == c.runs:
                out.append((c.failures, c.runs, relu.failures, relu.runs))
        return out

    def pooled(self, arm: float | str, setting: str | None = None) -> tuple[int, int]:
        """(failures, runs) of ``arm`` over the learning rates of ``setting`` (None: all)."""
        rows = self.strata(arm, setting)
        return sum(r[0] for r in rows), sum(r[1] for r in rows)

    def summary(self, setting: str, arm: float | str) -> ArmSummary | None:
        return next((a for a in self.arms if (a.setting, a.arm) == (setting, arm)), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "floor": self.floor,
            "cells": [
                {
                    **asdict(c),
                    "failure_ci": list(c.failure_ci),
                    "val_acc": list(c.val_acc),
                    "test_acc": list(c.test_acc),
                    "failed": list(c.failed),
                }
                for c in self.cells
            ],
            "arms": [
                {**asdict(a), "best_test_ci": list(a.best_test_ci), "window": list(a.window)}
                for a in self.arms
            ],
            "comparisons": list(self.comparisons),
            "errors": list(self.errors),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Result:
        from leaky.lab._json import floats

        cells = tuple(
            Cell(
                **{
                    **c,
                    "failure_ci": floats(c["failure_ci"]),
                    "val_acc": floats(c["val_acc"]),
                    "test_acc": floats(c["test_acc"]),
                    "failed": tuple(bool(f) for f in c["failed"]),
                }
            )
            for c in d["cells"]
        )
        arms = tuple(
            ArmSummary(
                **{
                    **a,
                    "best_val_acc": floats([a["best_val_acc"]])[0],
                    "best_test_acc": floats([a["best_test_acc"]])[0],
                    "best_test_ci": floats(a["best_test_ci"]),
                    "window": tuple(a["window"]),
                }
            )
            for a in d["arms"]
        )
        return cls(
            Config.from_dict(d["config"]),
            floats([d["floor"]])[0],
            cells,
            arms,
            tuple(d["comparisons"]),
            tuple(d["errors"]),
        )


def fates(
    result: TrainResult, floor: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per member: failed, diverged, below the floor, loss spike (the rules above).

    ``floor`` is the linear floor as a fraction. A member whose loss was never finite at an
    evaluation or a step diverged; a finite member below the floor failed too; a finite
    member at or above the floor whose final training loss exceeds its initial one spiked.
    """
    val = result.final("val_acc")
    initial = result.curve("train_loss")[:, 0]
    final = result.final("train_loss")
    diverged = result.diverged | ~np.isfinite(val) | ~np.isfinite(final)
    with np.errstate(invalid="ignore"):
        below = ~diverged & (val < floor)
        spike = ~diverged & ~below & (final > initial)
    return diverged | below, diverged, below, spike


def _cells(setting: Setting, outcome: Outcome, floor: float) -> list[Cell]:
    """The cells of one grid task: one per (arm, lr) of its members."""
    if not outcome.ok:
        return []
    result = TrainResult.from_dict(outcome.value)
    failed, diverged, below, spike = fates(result, floor / 100)
    cfg = result.config
    groups: dict[tuple[float | str, float], list[int]] = {}
    for i, (act, lr, _) in enumerate(cfg.members):
        if act is not None:  # the grids always have an activation
            groups.setdefault((act, lr), []).append(i)
    val, test = result.final("val_acc") * 100, result.final("test_acc") * 100
    out = []
    for (act, lr), idx in groups.items():
        k = int(failed[idx].sum())
        p = stats.proportion(k, len(idx))
        out.append(
            Cell(
                setting.name,
                act,
                lr,
                len(idx),
                k,
                int(diverged[idx].sum()),
                int(spike[idx].sum()),
                int(below[idx].sum()),
                p.estimate,
                (p.ci_low, p.ci_high),
                tuple(float(v) for v in np.where(diverged[idx], np.nan, val[idx])),
                tuple(float(v) for v in np.where(diverged[idx], np.nan, test[idx])),
                tuple(bool(f) for f in failed[idx]),
            )
        )
    return out


def _arm_summary(setting: str, arm: float | str, cells: list[Cell]) -> ArmSummary:
    ok = sorted((c for c in cells if c.error is None), key=lambda c: c.lr)
    means = [c.mean("val_acc") for c in ok]
    best = int(np.nanargmax(means)) if ok and np.isfinite(means).any() else None
    if best is None:
        nan = math.nan
        return ArmSummary(setting, arm, None, nan, nan, (nan, nan), (), 0, 0, 0, 0)
    top = ok[best]
    test = np.asarray(top.test_acc, dtype=float)
    ci = stats.mean_interval(np.where(np.isfinite(test), test, CHANCE))
    window = tuple(c.lr for c, m in zip(ok, means, strict=True) if m >= means[best] - WINDOW_POINTS)
    return ArmSummary(
        setting,
        arm,
        top.lr,
        means[best],
        top.mean("test_acc"),
        (ci.low, ci.high),
        window,
        sum(c.failures for c in ok),
        sum(c.diverged for c in ok),
        sum(c.spikes for c in ok),
        sum(c.runs for c in ok),
    )


def summarize(config: Config, outcomes: Sequence[Outcome]) -> Result:
    """Fates, per-arm summaries and the stratified comparisons, from the stored outcomes."""
    it = iter(outcomes)
    floor_outcome = next(it)
    errors = []
    if floor_outcome.ok:
        floor_result = TrainResult.from_dict(floor_outcome.value)
        val = floor_result.final("val_acc")
        floor = float(np.nanmean(val) * 100) if np.isfinite(val).any() else math.nan
    else:
        floor = math.nan
        errors.append(f"linear floor: {floor_outcome.error}")
    cells: list[Cell] = []
    for s in config.settings:
        groups: list[tuple[str, tuple[float | str, ...]]] = []
        if config.slopes:
            groups.append(("slopes", config.slopes))
        groups += [(a, (a,)) for a in config.smooth]
        for label, group in groups:
            outcome = next(it)
            if not outcome.ok or not math.isfinite(floor):
                why = outcome.error or "no linear floor"
                errors.append(f"{s.name} {label}: {why}")
                nan = math.nan
                cells += [
                    Cell(s.name, a, lr, 0, 0, 0, 0, 0, nan, (nan, nan), (), (), (), why)
                    for a in group
                    for lr in s.lrs
                ]
                continue
            cells += _cells(s, outcome, floor)
    arms: tuple[ArmSummary, ...] = tuple(
        _arm_summary(s.name, a, [c for c in cells if c.setting == s.name and c.arm == a])
        for s in config.settings
        for a in config.arms
    )
    result = Result(config, floor, tuple(cells), arms, (), tuple(errors))
    return Result(config, floor, tuple(cells), arms, tuple(_comparisons(result)), tuple(errors))


def _comparisons(result: Result) -> list[dict[str, Any]]:
    """Leaky 0.01 against ReLU over every stratum (primary) and per setting; the others."""
    rows: list[dict[str, Any]] = []
    arms = [a for a in result.config.arms if a != RELU]
    if RELU not in result.config.slopes:
        return rows
    order = sorted(arms, key=lambda a: a != PRIMARY_ARM)
    for arm in order:
        scopes: list[str | None] = [None]
        if arm == PRIMARY_ARM:
            scopes += [s.name for s in result.config.settings]
        for scope in scopes:
            tables = result.strata(arm, scope)
            if not tables:
                continue
            rows.append(
                {
                    "arm": arm,
                    "setting": scope or "all settings",
                    "tables": [list(t) for t in tables],
                    "failures": sum(t[0] for t in tables),
                    "runs": sum(t[1] for t in tables),
                    "relu_failures": sum(t[2] for t in tables),
                    "relu_runs": sum(t[3] for t in tables),
                }
            )
    return rows


def comparison(row: dict[str, Any]) -> verdicts.Comparison:
    """The test of one row: does ``arm`` fail less often than ReLU, stratum by stratum?"""
    control = " (a capacity control: a linear network)" if row["arm"] == CAPACITY_CONTROL else ""
    return verdicts.compare_failures_stratified(
        [tuple(t) for t in row["tables"]],
        claim=(
            f"{activation_label(row['arm'])}{control} fails less often than ReLU "
            f"({row['setting']}, every learning rate of the grid)"
        ),
        measure=(
            "log odds ratio of failing (Mantel-Haenszel; failed: diverged, or validation "
            "accuracy below the linear floor)"
        ),
        kind=verdicts.LESS,
    )
