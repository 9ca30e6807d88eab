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
- **untrainable at a budget** (the test that matters): the network, trained with Adam
  (lr 0.01, full batch) to fit a non-constant target (``x1 + sin(pi x2) / 2``, mean
  squared error), cannot explain ``TRAINABLE_R2`` (10 %) of the target's variance after
  that many steps (a constant fits its mean and no more; a living network explains the
  linear part, 73 % of the variance, easily). Every network trains once, to the longest
  budget, and is checked at each budget on the way (``Config.budgets``): a network
  untrainable after 150 steps but not after 2000 is slow, not dead. The counts need not
  fall with the budget (a network may fit at 500 steps and lose it by 2000).

Arms: ReLU with He initialisation (``N(0, 2 / fan_in)``, zero biases), ReLU with normal
biases, ReLU with the randomized asymmetric initialisation (RAI) of Lu et al., the positive
control known to reduce born-dead ReLU networks, and Leaky ReLU 0.01, 0.1 and 0.3 with He
initialisation whose gain depends on the slope (``N(0, 2 / ((1 + a^2) fan_in))``).

RAI, as implemented here: in every neuron's row of weights and bias, one entry chosen at
random is drawn from Beta(2, 1) (positive), the others from ``N(0, 1.5 / fan_in)``, which
keeps the row's expected squared norm at He's 2 (Beta(2, 1) has second moment 1/2).

Two kinds of task. ``cell``: one per arm and width, the constancy counts at every depth, in
NumPy (float32 and float64 forward passes, vectorised over trials). ``train_cell``: one per
width and trained depth, every arm's networks trained side by side as the members of one
batched model (``train_mse``; a test checks that a member trains as it would alone). Each
arm's networks come from a generator seeded by the seed, width, depth and the arm's label,
so an arm's counts do not depend on which other arms share its task.
``second_layer_dead`` checks the Monte Carlo against an exact result (Brownlowe et al. 2024):
with symmetric initialisation and ``n1 <= n0`` first-layer neurons, a second-layer ReLU
neuron is dead with probability ``1 / 2**(n1 + 1)``.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from leaky.functional import leaky_relu
from leaky.lab import _checks, stats, verdicts
from leaky.lab.store import Outcome, Task

NAME = "born_dead"
TITLE = "Born dead: deep, narrow networks at initialisation (claim 2a)"
NEAR = 1e-3  # nearly constant: spread at most this fraction of the output scale
TRAINABLE_R2 = 0.1  # a trained network explains at least this fraction of the variance
LR = 1e-2  # Adam's learning rate (PyTorch's other defaults: betas 0.9, 0.999, eps 1e-8)


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
RELU = Arm(0.0).label
PRIMARY = Arm(0.01).label  # the document's typical slope, against RELU
RAI = Arm(0.0, "rai").label  # the positive control


@dataclass(frozen=True)
class CellConfig:
    """One constancy task: one arm and width, every depth."""

    slope: float
    scheme: str
    bias: str
    width: int
    depths: tuple[int, ...]
    trials: int
    inputs: int
    near: float = NEAR
    seed: int = 0

    @property
    def arm(self) -> Arm:
        return Arm(self.slope, self.scheme, self.bias)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "depths": list(self.depths)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CellConfig:
        return cls(**{**d, "depths": tuple(d["depths"])})


def _budgets(value: Any, func: str) -> tuple[int, ...]:
    budgets = _checks.int_tuple(value, "budgets", func, low=1)
    if list(budgets) != sorted(budgets):
        raise ValueError(
            f"The 'budgets' parameter of {func} must list the training steps in increasing "
            f"order. Got {budgets!r} instead."
        )
    return budgets


@dataclass(frozen=True)
class TrainCellConfig:
    """One training task: every arm at one width and depth, trained side by side.

    Every network trains once for ``budgets[-1]`` steps and is checked after each budget.
    """

    arms: tuple[Arm, ...]
    width: int
    depth: int
    trials: int
    inputs: int
    budgets: tuple[int, ...]
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "budgets", _budgets(self.budgets, "TrainCellConfig"))

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "arms": [asdict(a) for a in self.arms],
            "budgets": list(self.budgets),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainCellConfig:
        arms = tuple(Arm(**a) for a in d["arms"])
        return cls(**{**d, "arms": arms, "budgets": tuple(d["budgets"])})


@dataclass(frozen=True)
class Config:
    arms: tuple[Arm, ...]
    widths: tuple[int, ...]
    depths: tuple[int, ...]
    trials: int
    inputs: int
    train_depths: tuple[int, ...]
    train_trials: int
    budgets: tuple[int, ...]  # training steps at which trainability is read, increasing
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "budgets", _budgets(self.budgets, "born_dead.Config"))

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
                seed=self.seed,
            )
            for arm in self.arms
            for width in self.widths
        ]

    def trainings(self) -> list[TrainCellConfig]:
        return [
            TrainCellConfig(
                self.arms, width, depth, self.train_trials, self.inputs, self.budgets, self.seed
            )
            for width in self.widths
            for depth in self.train_depths
        ]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["arms"] = [asdict(a) for a in self.arms]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        d = dict(d)
        d["arms"] = tuple(Arm(**a) for a in d["arms"])
        for key in ("widths", "depths", "train_depths", "budgets"):
            d[key] = tuple(d[key])
        return cls(**d)


def plan(scale: str, seed: int = 0) -> Config:
    """The grid for a scale: ``quick`` (a smoke run), ``standard`` or ``full``."""
    if scale == "quick":
        return Config(
            (Arm(0.0), Arm(0.0, "rai"), Arm(0.01)),
            (3,),
            (2, 10),
            200,
            32,
            (10,),
            30,
            (20, 50),
            seed,
        )
    if scale == "standard":
        return Config(
            ARMS, (2, 3), (2, 5, 10, 20, 30, 50), 2000, 64, (10, 20), 40, (150, 500, 1500), seed
        )
    return Config(
        ARMS,
        (2, 3, 4, 6),
        (2, 3, 5, 10, 20, 30, 50),
        10000,
        64,
        (5, 10, 20, 30),
        300,
        (150, 500, 2000, 5000),
        seed,
    )


PREREGISTERED = {
    "measure": (
        f"untrainable: after a budget of full-batch Adam steps (lr {LR:g}) on a non-constant "
        f"target, the network explains less than {TRAINABLE_R2:g} of the target's variance "
        "(R²); every network trains once, to the longest budget, and is read at each budget"
    ),
    "budgets": "standard scale: "
    + ", ".join(str(b) for b in plan("standard").budgets)
    + " steps; the longest decides, the shorter ones tell slow from untrainable",
    "comparison": (
        "Leaky ReLU 0.01 (He init) against ReLU (He init), the same networks' widths and "
        "depths: each width x depth a stratum"
    ),
    "test": (
        "Cochran-Mantel-Haenszel over the width x depth strata at the longest budget, "
        "two-sided; Holm over the family Leaky 0.01, 0.1, 0.3 and RAI (the positive "
        "control) against ReLU"
    ),
    "secondary": (
        "Leaky 0.01 against ReLU at each shorter budget (one Holm family); per stratum at "
        "the longest budget, Fisher's exact test, two-sided (one Holm family); ReLU with "
        "normal biases against ReLU"
    ),
    "wording": (
        "'reduces' when the primary comparison is supported; 'prevents' only if, besides, "
        "no Leaky 0.01 network is untrainable in any stratum at the longest budget"
    ),
}
"""Claim 2a's measure, budgets, comparison, test and wording, fixed before any run."""


def tasks(config: Config) -> list[Task]:
    """The constancy tasks (one per arm and width), then the training tasks (one per width
    and trained depth, every arm in each)."""
    cells = [
        Task(
            NAME,
            "leaky.lab.experiments.born_dead:cell",
            c,
            label=f"{c.arm.label}, width {c.width}",
        )
        for c in config.cells()
    ]
    return cells + [
        Task(
            NAME,
            "leaky.lab.experiments.born_dead:train_cell",
            t,
            label=f"train every arm, width {t.width}, depth {t.depth}",
        )
        for t in config.trainings()
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


def cell(config: CellConfig) -> dict[str, Any]:
    """Constancy counts for every depth of one arm and width (the task's result)."""
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
        rows.append(
            {
                "depth": depth,
                "trials": config.trials,
                "exact32": exact32,
                "exact64": exact64,
                "near32": near32,
            }
        )
    return {"arm": asdict(arm), "width": config.width, "rows": rows}


# --- training: every network at once, one per SIMD lane ---------------------------------


def target(x: np.ndarray) -> np.ndarray:
    """The non-constant target, float32: ``x1 + sin(pi x2) / 2`` for ``x`` of shape (n, 2)."""
    xs = x.astype(np.float32)
    return xs[:, 0] + np.float32(0.5) * np.sin(np.float32(math.pi) * xs[:, 1])


def train_mse(
    layers: Sequence[tuple[np.ndarray, np.ndarray]],
    slopes: Sequence[float],
    x: np.ndarray,
    budgets: Sequence[int],
    lr: float = LR,
) -> np.ndarray:
    """Each network's mean squared error on ``target(x)`` after each budget of Adam steps.

    All networks train side by side as one batched model (``torch.baddbmm`` over the
    members, each member's slope broadcast, ``torch.optim.Adam`` with its defaults but
    ``lr`` on one flat tensor of every parameter, full batch, float32, one thread). The
    members' losses are summed, so each member's gradient is its own: a member trains as
    it would alone.

    Args:
        layers: (weights (members, fan_in, fan_out), biases (members, 1, fan_out)) per
            layer, the output layer (fan_out 1) last, as ``_layers`` draws them.
        slopes: each member's slope (0: ReLU).
        x: the inputs, (n, 2).
        budgets: increasing step counts; every network trains once, to the last.
        lr: Adam's learning rate.

    Returns:
        float32 (members, budgets): NaN or inf where training diverged.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> nets = _layers(rng, Arm(0.01), 4, 3, 8, 2)
        >>> train_mse(nets, [0.01] * 4, rng.uniform(-1, 1, (32, 2)), (10, 50)).shape
        (4, 2)
    """
    import torch

    budgets = _budgets(budgets, "train_mse")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        members = layers[0][0].shape[0]
        # One flat leaf holds every weight and bias, so Adam updates one tensor a step;
        # the layers are views of it.
        flat = torch.tensor(
            np.concatenate([a.ravel() for w, b in layers for a in (w, b)]), dtype=torch.float32
        ).requires_grad_()
        views: list[tuple[torch.Tensor, torch.Tensor]] = []
        at = 0
        for w, b in layers:
            end = at + w.size + b.size
            views.append(
                (flat[at : at + w.size].view(w.shape), flat[at + w.size : end].view(b.shape))
            )
            at = end
        a = torch.tensor(list(slopes), dtype=torch.float32).view(members, 1, 1)
        h0 = torch.tensor(x, dtype=torch.float32).expand(members, *x.shape)
        y = torch.from_numpy(target(x))
        opt = torch.optim.Adam([flat], lr=lr)

        def errors() -> torch.Tensor:
            h = h0
            for i, (w, b) in enumerate(views):
                h = torch.baddbmm(b, h, w)
                if i < len(views) - 1:
                    h = torch.where(h >= 0, h, h * a)  # leaky's contract: 1 at 0
            return ((h[..., 0] - y) ** 2).mean(dim=1)

        mse = np.empty((members, len(budgets)), np.float32)
        read = 0
        for step in range(budgets[-1] + 1):
            opt.zero_grad()
            loss = errors()
            if step == budgets[read]:
                mse[:, read] = loss.detach().numpy()
                read += 1
                if read == len(budgets):
                    break
            loss.sum().backward()
            opt.step()
        return mse
    finally:
        torch.set_num_threads(threads)


def trainable(mse: np.ndarray, x: np.ndarray) -> np.ndarray:
    """True where a network explains at least ``TRAINABLE_R2`` of ``target(x)``'s variance."""
    var = float(np.var(target(x).astype(np.float64)))
    return np.isfinite(mse) & (mse <= (1 - TRAINABLE_R2) * var)


def _train_inputs(seed: int, width: int, depth: int, inputs: int) -> np.ndarray:
    return np.random.default_rng([seed, width, depth]).uniform(-1, 1, (inputs, 2))


def _train_layers(config: TrainCellConfig, arm: Arm) -> list[tuple[np.ndarray, np.ndarray]]:
    """An arm's networks: its own generator, seeded by the seed, width, depth and label."""
    key = [config.seed, config.width, config.depth, zlib.crc32(arm.label.encode()), 1]
    return _layers(np.random.default_rng(key), arm, config.trials, config.depth, config.width, 2)


def train_cell(config: TrainCellConfig) -> dict[str, Any]:
    """Untrainable networks per arm and budget at one width and depth (the task's result)."""
    per_arm = [_train_layers(config, arm) for arm in config.arms]
    layers = [
        (
            np.concatenate([a[i][0] for a in per_arm]),
            np.concatenate([a[i][1] for a in per_arm]),
        )
        for i in range(config.depth + 1)
    ]
    slopes = [arm.slope for arm in config.arms for _ in range(config.trials)]
    x = _train_inputs(config.seed, config.width, config.depth, config.inputs)
    ok = trainable(train_mse(layers, slopes, x, config.budgets), x)
    ok = ok.reshape(len(config.arms), config.trials, len(config.budgets))
    return {
        "width": config.width,
        "depth": config.depth,
        "trials": config.trials,
        "budgets": list(config.budgets),
        "arms": [
            {"arm": asdict(arm), "untrainable": [int(v) for v in (~ok[i]).sum(axis=0)]}
            for i, arm in enumerate(config.arms)
        ],
    }


# --- summary ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One arm, width and depth at initialisation: each rate with its 95 % Wilson interval."""

    arm: str
    slope: float
    width: int
    depth: int
    trials: int
    near: stats.Proportion
    exact32: stats.Proportion
    exact64: stats.Proportion


@dataclass(frozen=True)
class Trained:
    """One arm, width and depth trained: the networks left untrainable after each budget."""

    arm: str
    slope: float
    width: int
    depth: int
    trials: int
    untrainable: tuple[int, ...]  # one count per budget, in ``Config.budgets`` order

    def rate(self, index: int = -1) -> stats.Proportion:
        """The untrainable rate at ``budgets[index]`` (the longest by default)."""
        return stats.proportion(self.untrainable[index], self.trials)


@dataclass(frozen=True)
class Result:
    config: Config
    points: tuple[Point, ...]
    trained: tuple[Trained, ...]
    errors: tuple[str, ...]  # one line per failed task
    brownlowe: tuple[dict[str, Any], ...]

    def for_arm(self, label: str) -> list[Point]:
        return [p for p in self.points if p.arm == label]

    def budget_index(self, budget: int | None) -> int:
        """The index of ``budget`` in ``config.budgets`` (None: the longest)."""
        if budget is None:
            return len(self.config.budgets) - 1
        if budget not in self.config.budgets:
            raise ValueError(
                f"The 'budget' parameter must be one of {self.config.budgets}. Got {budget!r}."
            )
        return self.config.budgets.index(budget)

    def strata(self, label: str) -> dict[tuple[int, int], Trained]:
        """An arm's trained cells by (width, depth)."""
        return {(t.width, t.depth): t for t in self.trained if t.arm == label}

    def tables(
        self, arm: str, against: str, budget: int | None = None
    ) -> list[tuple[tuple[int, int], tuple[int, int, int, int]]]:
        """Per (width, depth) both arms trained: (untrainable A, n A, untrainable B, n B)."""
        i = self.budget_index(budget)
        a, b = self.strata(arm), self.strata(against)
        return [
            (key, (a[key].untrainable[i], a[key].trials, b[key].untrainable[i], b[key].trials))
            for key in sorted(a.keys() & b.keys())
        ]

    def pooled_untrainable(self, label: str, budget: int | None = None) -> tuple[int, int]:
        """(untrainable, trained) of an arm summed over every trained width and depth, at
        ``budget`` (the longest by default): for the text; the tests keep the strata apart."""
        i = self.budget_index(budget)
        cells = self.strata(label).values()
        return sum(t.untrainable[i] for t in cells), sum(t.trials for t in cells)

    def prevented(self, label: str) -> bool:
        """True if ``label`` was trained in some stratum and left no network untrainable in
        any stratum at the longest budget."""
        cells = self.strata(label).values()
        return bool(cells) and all(t.untrainable[-1] == 0 for t in cells)

    def to_dict(self) -> dict[str, Any]:
        points = []
        for p in self.points:
            d: dict[str, Any] = {
                k: getattr(p, k) for k in ("arm", "slope", "width", "depth", "trials")
            }
            for k in ("near", "exact32", "exact64"):
                d[k] = getattr(p, k).to_dict()
            points.append(d)
        return {
            "config": self.config.to_dict(),
            "points": points,
            "trained": [{**asdict(t), "untrainable": list(t.untrainable)} for t in self.trained],
            "errors": list(self.errors),
            "brownlowe": list(self.brownlowe),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Result:
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
            )
            for p in d["points"]
        )
        trained = tuple(
            Trained(**{**t, "untrainable": tuple(t["untrainable"])}) for t in d["trained"]
        )
        return cls(
            Config.from_dict(d["config"]),
            points,
            trained,
            tuple(d["errors"]),
            tuple(d["brownlowe"]),
        )


def summarize(config: Config, outcomes: Sequence[Outcome]) -> Result:
    cells, trainings = config.cells(), config.trainings()
    if len(outcomes) != len(cells) + len(trainings):
        raise ValueError(
            f"born_dead.summarize needs one outcome per task ({len(cells)} constancy and "
            f"{len(trainings)} training tasks). Got {len(outcomes)} instead."
        )
    points, trained, errors = [], [], []
    for c, outcome in zip(cells, outcomes[: len(cells)], strict=True):
        if not outcome.ok:
            errors.append(f"{c.arm.label}, width {c.width}: {outcome.error}")
            continue
        for row in outcome.value["rows"]:
            n = row["trials"]
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
                )
            )
    for t, outcome in zip(trainings, outcomes[len(cells) :], strict=True):
        if not outcome.ok:
            errors.append(f"training, width {t.width}, depth {t.depth}: {outcome.error}")
            continue
        for row in outcome.value["arms"]:
            arm = Arm(**row["arm"])
            trained.append(
                Trained(
                    arm.label,
                    arm.slope,
                    t.width,
                    t.depth,
                    outcome.value["trials"],
                    tuple(row["untrainable"]),
                )
            )
    quick = config.trials < 1000
    return Result(
        config, tuple(points), tuple(trained), tuple(errors), tuple(brownlowe(quick, config.seed))
    )


def _measure(result: Result, budget: int | None) -> str:
    steps = result.config.budgets[result.budget_index(budget)]
    return f"untrainable rate after {steps} steps (R² < {TRAINABLE_R2:g} on the target)"


def comparison(
    result: Result, arm: str, against: str, budget: int | None = None
) -> verdicts.Comparison | None:
    """Does ``arm`` leave fewer networks untrainable than ``against`` after ``budget`` steps
    (the longest by default)? Cochran-Mantel-Haenszel over the width x depth strata."""
    tables = [t for _, t in result.tables(arm, against, budget)]
    if not tables:
        return None
    steps = result.config.budgets[result.budget_index(budget)]
    return verdicts.compare_failures_stratified(
        tables,
        claim=f"{arm} leaves fewer deep, narrow networks untrainable than {against} "
        f"({steps} steps)",
        measure=_measure(result, budget),
        kind=verdicts.LESS,
    )


def stratum_comparison(
    result: Result, arm: str, against: str, width: int, depth: int
) -> verdicts.Comparison | None:
    """The same question in one stratum at the longest budget: Fisher's exact test."""
    table = dict(result.tables(arm, against)).get((width, depth))
    if table is None:
        return None
    return verdicts.compare_failures(
        *table,
        claim=f"{arm} leaves fewer networks untrainable than {against} at width {width}, "
        f"depth {depth}",
        measure=_measure(result, None),
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

    Examples:
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
        # z = relu(x w1 + b1) w2 + b2, one first-layer neuron at a time: (t, n0) @ (n0,
        # inputs) is one matrix product, where (inputs, n0) @ (n0, n1) per trial is t tiny ones
        z = np.repeat(b2[:, :, 0], inputs, axis=1)
        for j in range(n1):
            z += leaky_relu(w1[:, :, j] @ x.T + b1[:, :, j], 0.0) * w2[:, j, :]
        dead += int((z.max(axis=1) <= 0).sum())
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
