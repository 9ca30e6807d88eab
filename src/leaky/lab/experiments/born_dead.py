"""Born dead: how often a randomly initialised deep, narrow network is constant over its inputs.

After Lu, Shin, Su & Karniadakis (2019), "Dying ReLU and Initialization: Theory and
Numerical Examples": a ReLU network of small width and large depth is, with a probability
that grows with depth, constant over its whole input domain at initialisation, so it
cannot be trained. This Monte Carlo measures that probability against depth and width for
ReLU (He-normal weights; zero and normal biases) and for Leaky ReLU, vectorised over
thousands of trials per cell, in NumPy with leaky's own kernels.

A trial is **exactly constant** when every input gives bit-for-bit the same output, and
**nearly constant** when the spread of the outputs (max - min) is below ``1e-6`` of the
output scale (max |output|). Each probability comes with a 95 % Wilson interval.

``second_layer_dead`` checks the Monte Carlo against an exact result (Brownlowe et al.
2024, arXiv 2412.06829): with symmetric initialisation and ``n1 <= n0`` first-layer
neurons, a second-layer ReLU neuron is dead with probability ``1 / 2**(n1 + 1)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from leaky.functional import leaky_relu

NEAR = 1e-6  # "nearly constant": spread below this fraction of the output scale


@dataclass(frozen=True)
class Init:
    """An activation and an initialisation: slope 0 is ReLU; bias 'zero' or 'normal'."""

    slope: float
    bias: str = "zero"

    @property
    def label(self) -> str:
        name = "ReLU" if self.slope == 0 else f"Leaky {self.slope:g}"
        return f"{name}, {self.bias} bias"


INITS = (
    Init(0.0, "zero"),
    Init(0.0, "normal"),
    Init(0.01, "zero"),
    Init(0.01, "normal"),
    Init(0.1, "zero"),
    Init(0.3, "zero"),
)


@dataclass
class BornDeadConfig:
    depths: Sequence[int] = (2, 3, 5, 10, 20, 30, 50)
    widths: Sequence[int] = (2, 3, 4, 6, 10)
    inits: Sequence[Init] = INITS
    trials: int = 2000
    inputs: int = 64  # points where the network is evaluated, uniform in [-1, 1]^2
    input_dim: int = 2
    seed: int = 0


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (95 % for z = 1.96).

    Example:
        >>> lo, hi = wilson(0, 1000)
        >>> lo, round(hi, 4)
        (0.0, 0.0038)
    """
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class Cell:
    init: str
    slope: float
    bias: str
    depth: int
    width: int
    trials: int
    exactly_constant: int
    nearly_constant: int
    p_exact: float = 0.0
    p_near: float = 0.0
    ci_exact: tuple[float, float] = (0.0, 1.0)
    ci_near: tuple[float, float] = (0.0, 1.0)

    def __post_init__(self) -> None:
        self.p_exact = self.exactly_constant / self.trials
        self.p_near = self.nearly_constant / self.trials
        self.ci_exact = wilson(self.exactly_constant, self.trials)
        self.ci_near = wilson(self.nearly_constant, self.trials)


@dataclass
class BornDeadResult:
    config: dict[str, Any]
    cells: list[Cell] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config, "cells": [asdict(c) for c in self.cells]}


def _constant_trials(
    rng: np.random.Generator, init: Init, depth: int, width: int, config: BornDeadConfig
) -> tuple[int, int]:
    """Counts of exactly and nearly constant networks among ``config.trials`` samples."""
    t, m = config.trials, config.inputs
    x = rng.uniform(-1, 1, (m, config.input_dim))
    h = np.broadcast_to(x, (t, m, config.input_dim))
    fan_in = config.input_dim
    for _ in range(depth):  # hidden layers
        w = rng.normal(0, math.sqrt(2.0 / fan_in), (t, fan_in, width))
        h = h @ w
        if init.bias == "normal":
            h += rng.normal(0, 1, (t, 1, width))
        leaky_relu(h, init.slope, out=h)
        fan_in = width
    w_out = rng.normal(0, math.sqrt(1.0 / fan_in), (t, fan_in, 1))
    out = (h @ w_out)[..., 0]
    if init.bias == "normal":
        out += rng.normal(0, 1, (t, 1))
    spread = out.max(axis=1) - out.min(axis=1)
    scale = np.abs(out).max(axis=1)
    exact = spread == 0
    near = exact | (spread <= NEAR * scale)
    return int(exact.sum()), int(near.sum())


def run(
    config: BornDeadConfig | None = None, progress: Callable[[int, int], None] | None = None
) -> BornDeadResult:
    """The probability of a constant network per (activation and bias, depth, width).

    ``progress`` (optional) is called with (cells done, cells in all).
    """
    config = config or BornDeadConfig()
    result = BornDeadResult(config=asdict(config))
    total = len(config.inits) * len(config.depths) * len(config.widths)
    done = 0
    for i, init in enumerate(config.inits):
        for depth in config.depths:
            for width in config.widths:
                rng = np.random.default_rng([config.seed, i, depth, width])
                exact, near = _constant_trials(rng, init, depth, width, config)
                result.cells.append(
                    Cell(
                        init.label, init.slope, init.bias, depth, width, config.trials, exact, near
                    )
                )
                done += 1
                if progress is not None:
                    progress(done, total)
    return result


def second_layer_dead(
    n0: int, n1: int, trials: int = 20000, inputs: int = 4096, seed: int = 0
) -> tuple[float, tuple[float, float]]:
    """Monte Carlo probability that a second-layer ReLU neuron is dead at initialisation.

    Symmetric initialisation (standard normal weights and biases), ``n0`` inputs and
    ``n1`` first-layer ReLU neurons. Dead means a pre-activation <= 0 for every input;
    the input domain R^n0 is sampled by ``inputs`` points from a wide normal distribution.
    Returns the estimate and its Wilson interval; the exact value for ``n1 <= n0`` is
    ``1 / 2**(n1 + 1)`` (Brownlowe et al. 2024).
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 100.0, (inputs, n0))
    dead = 0
    for start in range(0, trials, 1000):
        t = min(1000, trials - start)
        w1 = rng.normal(size=(t, n0, n1))
        b1 = rng.normal(size=(t, 1, n1))
        w2 = rng.normal(size=(t, n1, 1))
        b2 = rng.normal(size=(t, 1, 1))
        h = leaky_relu(x @ w1 + b1, 0.0)
        z = h @ w2 + b2
        dead += int((z.max(axis=(1, 2)) <= 0).sum())
    return dead / trials, wilson(dead, trials)
