"""Claim 2a, born dead: are deep, narrow Leaky ReLU networks spared what kills ReLU ones at birth?

After Lu, Shin, Su & Karniadakis (2019), "Dying ReLU and Initialization: Theory and
Numerical Examples": a ReLU network of small width and large depth is, with a probability
that grows with depth, constant over its whole input domain at initialisation, and then it
cannot be trained. For each arm (activation and initialisation), width and depth:

- **nearly constant** (the primary shape measure): the spread of the network's outputs
  over ``inputs`` points drawn uniformly in [-1, 1]^2, max - min, is at most ``near`` times
  the output scale (max |output|), computed in float32, the dtype networks train in.
  It does not depend on rounding: a spread of 1e-3 of the scale is far above float32's.
- **exactly constant**, in float32 and in float64: every input gives bit for bit the same
  output. Under Leaky ReLU a network is never constant mathematically, so an exact
  constant there is a rounding effect, and is reported as one.
- **untrainable** (the test that matters): the same network, trained for a short while to
  fit a non-constant target (``x1 + sin(pi x2) / 2``, mean squared error, Adam), cannot
  explain 10 % of the target's variance (a constant fits its mean and no more; a living
  network explains the linear part, 73 % of the variance, easily).

Arms: ReLU with He initialisation (``N(0, 2 / fan_in)``, zero biases), ReLU with normal
biases, ReLU with the randomized asymmetric initialisation (RAI) of Lu et al., the positive
control known to reduce born-dead ReLU networks, and Leaky ReLU 0.01, 0.1 and 0.3 with He
initialisation whose gain depends on the slope (``N(0, 2 / ((1 + a^2) fan_in))``).

RAI, as implemented here: in every neuron's row of weights and bias, one entry chosen at
random is drawn from Beta(2, 1) (positive), the others from ``N(0, 1.5 / fan_in)``, which
keeps the row's expected squared norm at He's 2 (Beta(2, 1) has second moment 1/2).

One task per arm and width (all depths): ``cell`` below, in NumPy (float32 and float64
forward passes, vectorised over trials) and PyTorch (the training, every trial a member
of one batched model). ``second_layer_dead`` checks the Monte Carlo against an exact
result (Brownlowe et al. 2024): with symmetric initialisation and ``n1 <= n0``
first-layer neurons, a second-layer ReLU neuron is dead with probability ``1 / 2**(n1 + 1)``.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from leaky.functional import leaky_relu
from leaky.lab import stats, verdicts
from leaky.lab.store import Outcome, Task

NAME = "born_dead"
TITLE = "Born dead: deep, narrow networks at initialisation (claim 2a)"
NEAR = 1e-3  # nearly constant: spread at most this fraction of the output scale
TRAINABLE_R2 = 0.1  # a trained network explains at least this fraction of the variance


@dataclass(frozen=True)
class Arm:
    """An activation and an initialisation: slope 0 is ReLU."""

    slope: float
    scheme: str = "he"  # "he" (slope-dependent gain) or "rai"
    bias: str = "zero"  # "zero" or "normal" (N(0, 1))

    @property
    def label(self) -> str:
        name = "ReLU" if self.slope == 0 else f"Leaky {self.slope:g}"
        if self.scheme == "rai":
            return f"{name}, RAI"
        return f"{name}, He" + (", normal bias" if self.bias == "normal" else "")


ARMS = (
    Arm(0.0),
    Arm(0.0, bias="normal"),
    Arm(0.0, "rai"),
    Arm(0.01),
    Arm(0.1),
    Arm(0.3),
)


@dataclass(frozen=True)
class CellConfig:
    """One task: one arm and width, every depth."""

    slope: float
    scheme: str
    bias: str
    width: int
    depths: tuple[int, ...]
    trials: int
    inputs: int
    train_depths: tuple[int, ...]
    train_trials: int
    train_steps: int
    near: float = NEAR
    seed: int = 0

    @property
    def arm(self) -> Arm:
        return Arm(self.slope, self.scheme, self.bias)

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "depths": list(self.depths),
            "train_depths": list(self.train_depths),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CellConfig:
        return cls(**{**d, "depths": tuple(d["depths"]), "train_depths": tuple(d["train_depths"])})


@dataclass(frozen=True)
class Config:
    arms: tuple[Arm, ...]
    widths: tuple[int, ...]
    depths: tuple[int, ...]
    trials: int
    inputs: int
    train_depths: tuple[int, ...]
    train_trials: int
    train_steps: int
    seed: int = 0

    def cells(self) -> list[CellConfig]:
        return [
            CellConfig(
                arm.slope,
                arm.scheme,
                arm.bias,
                width,
                self.depths,
                self.trials,
                self.inputs,
                self.train_depths,
                self.train_trials,
                self.train_steps,
                seed=self.seed,
            )
            for arm in self.arms
            for width in self.widths
        ]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["arms"] = [asdict(a) for a in self.arms]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        d = dict(d)
        d["arms"] = tuple(Arm(**a) for a in d["arms"])
        for key in ("widths", "depths", "train_depths"):
            d[key] = tuple(d[key])
        return cls(**d)


def plan(scale: str, seed: int = 0) -> Config:
    """The grid for a scale: ``quick`` (a smoke run), ``standard`` or ``full``."""
    if scale == "quick":
        return Config(
            (Arm(0.0), Arm(0.0, "rai"), Arm(0.01)), (3,), (2, 10), 200, 32, (10,), 30, 50, seed
        )
    if scale == "standard":
        return Config(ARMS, (2, 3), (2, 5, 10, 20, 30, 50), 2000, 64, (10, 20), 100, 150, seed)
    return Config(
        ARMS, (2, 3, 4, 6), (2, 3, 5, 10, 20, 30, 50), 10000, 64, (5, 10, 20, 30), 300, 400, seed
    )


def tasks(config: Config) -> list[Task]:
    return [
        Task(
            NAME,
            "leaky.lab.experiments.born_dead:cell",
            c,
            label=f"{c.arm.label}, width {c.width}",
        )
        for c in config.cells()
    ]


# --- the work of one task --------------------------------------------------------------


def _layers(
    rng: np.random.Generator, arm: Arm, trials: int, depth: int, width: int, fan_in0: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Weights (trials, fan_in, fan_out) and biases (trials, 1, fan_out), float64, the
    output layer last (He-like with gain 1, zero bias, in every arm)."""
    layers = []
    fan_in = fan_in0
    for layer in range(depth + 1):
        fan_out = 1 if layer == depth else width
        if layer < depth and arm.scheme == "rai":
            rows = rng.normal(0.0, math.sqrt(1.5 / fan_in), (trials, fan_in + 1, fan_out))
            pick = rng.integers(0, fan_in + 1, (trials, fan_out))
            positive = rng.beta(2.0, 1.0, (trials, fan_out))
            t_idx, o_idx = np.meshgrid(np.arange(trials), np.arange(fan_out), indexing="ij")
            rows[t_idx, pick, o_idx] = positive
            w, b = rows[:, :fan_in, :], rows[:, fan_in:, :]
        else:
            gain = 2.0 / (1.0 + arm.slope**2) if layer < depth else 1.0
            w = rng.normal(0.0, math.sqrt(gain / fan_in), (trials, fan_in, fan_out))
            if layer < depth and arm.bias == "normal":
                b = rng.normal(0.0, 1.0, (trials, 1, fan_out))
            else:
                b = np.zeros((trials, 1, fan_out))
        layers.append((w, b))
        fan_in = fan_out
    return layers


def _forward(x: np.ndarray, layers: list, slope: float, dtype: type) -> np.ndarray:
    h: np.ndarray = np.broadcast_to(x.astype(dtype), (layers[0][0].shape[0], *x.shape))
    for i, (w, b) in enumerate(layers):
        h = h @ w.astype(dtype) + b.astype(dtype)
        if i < len(layers) - 1:
            leaky_relu(h, slope, out=h)
    return h[..., 0]


def _constancy(out: np.ndarray, near: float) -> tuple[np.ndarray, np.ndarray]:
    spread = out.max(axis=1) - out.min(axis=1)
    scale = np.abs(out).max(axis=1)
    exact = spread == 0
    return exact, exact | (spread <= near * scale)


def _trainable(layers: list, slope: float, x: np.ndarray, steps: int, seed: int) -> np.ndarray:
    """One bool per trial: after ``steps`` of Adam, does the network explain at least
    ``TRAINABLE_R2`` of the target's variance? All trials train as one batched model."""
    import torch

    from leaky.nn import LeakyReLU

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        act = LeakyReLU(slope)
        xs = torch.tensor(x, dtype=torch.float32)
        target = xs[:, 0] + 0.5 * torch.sin(math.pi * xs[:, 1])
        var = float(target.var(unbiased=False))
        ws = [torch.tensor(w, dtype=torch.float32, requires_grad=True) for w, _ in layers]
        bs = [torch.tensor(b, dtype=torch.float32, requires_grad=True) for _, b in layers]
        opt = torch.optim.Adam(ws + bs, lr=1e-2)
        members = ws[0].shape[0]
        h0 = xs.expand(members, *xs.shape)

        def predict() -> torch.Tensor:
            h = h0
            for i, (w, b) in enumerate(zip(ws, bs, strict=True)):
                h = torch.baddbmm(b, h, w)
                if i < len(ws) - 1:
                    h = act(h)
            return h[..., 0]

        for _ in range(steps):
            opt.zero_grad()
            loss = ((predict() - target) ** 2).mean(dim=1)
            loss.sum().backward()
            opt.step()
        with torch.no_grad():
            mse = ((predict() - target) ** 2).mean(dim=1)
        ok = torch.isfinite(mse) & (mse <= (1 - TRAINABLE_R2) * var)
        return ok.numpy()
    finally:
        torch.set_num_threads(threads)


def cell(config: CellConfig) -> dict[str, Any]:
    """Counts for every depth of one arm and width (the task's result)."""
    arm = config.arm
    rows = []
    for depth in config.depths:
        rng = np.random.default_rng(
            [config.seed, config.width, depth, zlib.crc32(arm.label.encode())]
        )
        x = rng.uniform(-1, 1, (config.inputs, 2))
        exact32 = near32 = exact64 = 0
        for start in range(0, config.trials, 1000):
            n = min(1000, config.trials - start)
            layers = _layers(rng, arm, n, depth, config.width, 2)
            e32, n32 = _constancy(_forward(x, layers, arm.slope, np.float32), config.near)
            e64, _ = _constancy(_forward(x, layers, arm.slope, np.float64), config.near)
            exact32 += int(e32.sum())
            near32 += int(n32.sum())
            exact64 += int(e64.sum())
        row: dict[str, Any] = {
            "depth": depth,
            "trials": config.trials,
            "exact32": exact32,
            "exact64": exact64,
            "near32": near32,
            "untrainable": None,
            "train_trials": 0,
        }
        if depth in config.train_depths:
            layers = _layers(rng, arm, config.train_trials, depth, config.width, 2)
            ok = _trainable(layers, arm.slope, x, config.train_steps, config.seed)
            row["untrainable"] = int((~ok).sum())
            row["train_trials"] = config.train_trials
        rows.append(row)
    return {"arm": asdict(arm), "width": config.width, "rows": rows}


# --- summary ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One arm, width and depth: each rate with its 95 % Wilson interval."""

    arm: str
    slope: float
    width: int
    depth: int
    trials: int
    near: stats.Proportion
    exact32: stats.Proportion
    exact64: stats.Proportion
    untrainable: stats.Proportion | None
    untrainable_count: int | None
    train_trials: int


@dataclass(frozen=True)
class Result:
    config: Config
    points: tuple[Point, ...]
    errors: tuple[str, ...]  # one line per failed task
    brownlowe: tuple[dict[str, Any], ...]

    def for_arm(self, label: str) -> list[Point]:
        return [p for p in self.points if p.arm == label]

    def pooled_untrainable(self, label: str) -> tuple[int, int]:
        """(untrainable, trained) of an arm over every trained width and depth."""
        chosen = [p for p in self.for_arm(label) if p.untrainable_count is not None]
        counts = [p.untrainable_count for p in chosen if p.untrainable_count is not None]
        return sum(counts), sum(p.train_trials for p in chosen)

    def to_dict(self) -> dict[str, Any]:
        points = []
        for p in self.points:
            d = {k: getattr(p, k) for k in ("arm", "slope", "width", "depth", "trials")}
            for k in ("near", "exact32", "exact64", "untrainable"):
                v = getattr(p, k)
                d[k] = None if v is None else v.to_dict()
            d["untrainable_count"], d["train_trials"] = p.untrainable_count, p.train_trials
            points.append(d)
        return {
            "config": self.config.to_dict(),
            "points": points,
            "errors": list(self.errors),
            "brownlowe": list(self.brownlowe),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Result:
        def prop(v: Any) -> stats.Proportion | None:
            return None if v is None else stats.Proportion(**v)

        points = tuple(
            Point(
                p["arm"],
                p["slope"],
                p["width"],
                p["depth"],
                p["trials"],
                stats.Proportion(**p["near"]),
                stats.Proportion(**p["exact32"]),
                stats.Proportion(**p["exact64"]),
                prop(p["untrainable"]),
                p["untrainable_count"],
                p["train_trials"],
            )
            for p in d["points"]
        )
        return cls(Config.from_dict(d["config"]), points, tuple(d["errors"]), tuple(d["brownlowe"]))


def summarize(config: Config, outcomes: Sequence[Outcome]) -> Result:
    points, errors = [], []
    for c, outcome in zip(config.cells(), outcomes, strict=True):
        if not outcome.ok:
            errors.append(f"{c.arm.label}, width {c.width}: {outcome.error}")
            continue
        for row in outcome.value["rows"]:
            n, k = row["trials"], row["untrainable"]
            points.append(
                Point(
                    c.arm.label,
                    c.slope,
                    c.width,
                    row["depth"],
                    n,
                    stats.proportion(row["near32"], n),
                    stats.proportion(row["exact32"], n),
                    stats.proportion(row["exact64"], n),
                    None if k is None else stats.proportion(k, row["train_trials"]),
                    k,
                    row["train_trials"],
                )
            )
    quick = config.trials < 1000
    return Result(config, tuple(points), tuple(errors), tuple(brownlowe(quick, config.seed)))


def comparison(result: Result, arm: str, against: str) -> verdicts.Comparison | None:
    """Does ``arm`` leave fewer networks untrainable than ``against`` (pooled)?"""
    fa, na = result.pooled_untrainable(arm)
    fb, nb = result.pooled_untrainable(against)
    if na == 0 or nb == 0:
        return None
    return verdicts.compare_failures(
        fa,
        na,
        fb,
        nb,
        claim=f"{arm} leaves fewer deep, narrow networks untrainable than {against}",
        measure="untrainable rate at initialisation (R² < 0.1 after a short training)",
        kind=verdicts.LESS,
    )


# --- a check of the method against an exact result -------------------------------------


def second_layer_dead(
    n0: int, n1: int, trials: int = 20000, inputs: int = 4096, seed: int = 0
) -> stats.Proportion:
    """Monte Carlo probability that a second-layer ReLU neuron is dead at initialisation.

    Symmetric initialisation (standard normal weights and biases), ``n0`` inputs and
    ``n1`` first-layer ReLU neurons. Dead means a pre-activation <= 0 for every input;
    the input domain R^n0 is sampled by ``inputs`` points from a wide normal distribution.
    The exact value for ``n1 <= n0`` is ``1 / 2**(n1 + 1)`` (Brownlowe et al. 2024).

    Example:
        >>> p = second_layer_dead(3, 1, trials=2000, inputs=512)
        >>> p.ci_low <= 0.25 <= p.ci_high
        True
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
    return stats.proportion(dead, trials)


def brownlowe(quick: bool, seed: int) -> list[dict[str, Any]]:
    rows = []
    for n1 in (1, 2, 3):
        p = second_layer_dead(3, n1, trials=4000 if quick else 20000, seed=seed)
        exact = 1 / 2 ** (n1 + 1)
        rows.append(
            {
                "n0": 3,
                "n1": n1,
                "p": p.to_dict(),
                "exact": exact,
                "agrees": p.ci_low <= exact <= p.ci_high,
            }
        )
    return rows
