"""Training under stress: ReLU against Leaky ReLU when training is made hard.

MLPs trained with plain SGD on the bundled digits and on generated spirals, across
learning rates from 0.01 to 1.0, with and without a negative-bias shock at initialisation
(every hidden bias lowered by ``shock``, which pushes most units below zero, where ReLU has
no gradient). Every configuration runs for several seeds; every run is measured every
epoch (see ``leaky.lab.training``), and diverged runs are counted, not dropped.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from leaky.lab.training import Grid, RunConfig, RunResult, run_many

CURVES = ("dead_fraction", "negative_regime_fraction", "test_acc", "train_acc", "grad_norm_first")


@dataclass
class StressConfig(Grid):
    datasets: Sequence[str] = ("digits", "spirals")
    lrs: Sequence[float] = (0.01, 0.1, 0.3, 1.0)
    shocks: Sequence[float] = (0.0, 2.0)
    slopes: Sequence[float] = (0.0, 0.01, 0.1)

    def runs(self) -> list[RunConfig]:
        return [
            self.run_config(d, a, lr, s, shock)
            for d in self.datasets
            for lr in self.lrs
            for shock in self.shocks
            for a in self.slopes
            for s in range(self.seeds)
        ]


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def _std(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def summarize(runs: list[RunResult]) -> list[dict[str, Any]]:
    """One row per (dataset, lr, shock, slope): counts, final means and mean curves."""
    groups: dict[tuple, list[RunResult]] = {}
    for r in runs:
        c = r.config
        groups.setdefault((c["dataset"], c["lr"], c["shock"], c["slope"]), []).append(r)
    rows = []
    for (dataset, lr, shock, slope), members in groups.items():
        ok = [r for r in members if not r.diverged]
        epochs = max(len(r.history) for r in members)
        curves = {
            key: [
                _mean([r.history[e][key] for r in ok if len(r.history) > e]) for e in range(epochs)
            ]
            for key in CURVES
        }
        final_acc = [r.final["test_acc"] for r in ok]
        rows.append(
            {
                "dataset": dataset,
                "lr": lr,
                "shock": shock,
                "slope": slope,
                "activation": "ReLU" if slope == 0 else f"Leaky {slope:g}",
                "runs": len(members),
                "diverged": len(members) - len(ok),
                "test_acc_mean": _mean(final_acc),
                "test_acc_std": _std(final_acc),
                "init_dead_or_negative": _mean(
                    [
                        r.history[0]["dead_fraction"] + r.history[0]["negative_regime_fraction"]
                        for r in members
                    ]
                ),
                "final_dead": _mean([r.final["dead_fraction"] for r in ok]),
                "final_negative_regime": _mean([r.final["negative_regime_fraction"] for r in ok]),
                "curves": curves,
            }
        )
    return rows


@dataclass
class StressResult:
    config: dict[str, Any]
    groups: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config, "groups": self.groups, "runs": self.runs}


def run(
    config: StressConfig | None = None,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> StressResult:
    """Every configuration of ``config``, for every seed; returns the runs and their summary."""
    config = config or StressConfig()
    configs = config.runs()
    done = (lambda n: progress(n, len(configs))) if progress is not None else None
    runs = run_many(configs, jobs=jobs, progress=done)
    return StressResult(
        config=asdict(config),
        groups=summarize(runs),
        runs=[asdict(r) for r in runs],
    )
