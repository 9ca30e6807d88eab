"""Sparsity and gradient flow, at initialisation and after training, per slope.

- **Sparsity**: the fraction of hidden outputs that are exactly 0 (what "sparse
  activation" means for ReLU), and the fraction of pre-activations <= 0 (the units that
  are "off" in sign: exactly 0 under ReLU, small and negative under Leaky ReLU).
- **Gradient flow**: the fraction of exactly-zero gradients reaching the activations'
  inputs in a full-batch backward pass (ReLU blocks the gradient wherever x <= 0).

Both read the runs of the slope sweep (``leaky.lab.experiments.slopes``).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from leaky.lab.experiments import slopes
from leaky.lab.training import RunResult


def _at(members: list[RunResult], key: str, when: str) -> float:
    ok = [r for r in members if not r.diverged] if when == "final" else members
    values = [(r.history[0] if when == "init" else r.final)[key] for r in ok]
    return statistics.fmean(values) if values else float("nan")


def summarize(results: list[RunResult]) -> list[dict[str, Any]]:
    """Per slope: exact-zero, non-positive and zero-gradient fractions, init and final."""
    rows = []
    for slope, members in slopes.by_slope(results).items():
        row: dict[str, Any] = {"slope": slope, "runs": len(members)}
        for key in ("zero_fraction", "nonpositive_fraction", "zero_grad_fraction"):
            for when in ("init", "final"):
                row[f"{key}_{when}"] = _at(members, key, when)
        rows.append(row)
    return rows


def run(
    config: slopes.SlopeConfig | None = None,
    jobs: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    config = config or slopes.SlopeConfig()
    return {"slopes": summarize(slopes.runs(config, jobs, progress))}
