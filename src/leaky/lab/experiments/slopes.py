"""Slope sweep: test accuracy against the negative slope on digits, over several seeds.

A small-scale analogue of Xu, Wang, Chen & Li (2015), "Empirical Evaluation of Rectified
Activations in Convolutional Network", which compared slopes 0 (ReLU), 0.01 and 1/5.5.
The same runs feed the gradient-flow and sparsity experiments.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from leaky.lab.training import Grid, RunConfig, RunResult, run_many

SLOPES = (0.0, 0.001, 0.01, 0.05, 0.1, 1 / 5.5, 0.3)


@dataclass
class SlopeConfig(Grid):
    dataset: str = "digits"
    slopes: Sequence[float] = SLOPES
    lr: float = 0.1

    def runs(self) -> list[RunConfig]:
        return [
            self.run_config(self.dataset, a, self.lr, s)
            for a in self.slopes
            for s in range(self.seeds)
        ]


def runs(
    config: SlopeConfig | None = None,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> list[RunResult]:
    """Train every slope for every seed (the runs three experiments share)."""
    config = config or SlopeConfig()
    configs = config.runs()
    done = (lambda n: progress(n, len(configs))) if progress is not None else None
    return run_many(configs, jobs=jobs, progress=done)


def by_slope(results: list[RunResult]) -> dict[float, list[RunResult]]:
    groups: dict[float, list[RunResult]] = {}
    for r in results:
        groups.setdefault(r.config["slope"], []).append(r)
    return dict(sorted(groups.items()))


def summarize(results: list[RunResult]) -> list[dict[str, Any]]:
    """Per slope: final test accuracy, mean, standard deviation and standard error."""
    rows = []
    for slope, members in by_slope(results).items():
        acc = [r.final["test_acc"] for r in members if not r.diverged]
        std = statistics.stdev(acc) if len(acc) > 1 else 0.0
        rows.append(
            {
                "slope": slope,
                "runs": len(members),
                "diverged": len(members) - len(acc),
                "test_acc_mean": statistics.fmean(acc) if acc else math.nan,
                "test_acc_std": std,
                "test_acc_sem": std / math.sqrt(len(acc)) if acc else math.nan,
                "test_acc": acc,
            }
        )
    return rows


def run(
    config: SlopeConfig | None = None,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    config = config or SlopeConfig()
    return {"config": asdict(config), "slopes": summarize(runs(config, jobs, progress))}
