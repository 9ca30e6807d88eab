"""Vanishing gradients: does Leaky ReLU's non-zero gradient keep deep plain networks trainable?

The seed document says Leaky ReLU's non-zero gradient "helps prevent the vanishing gradient
problem and enables more stable training of deep neural networks". A gradient vanishes
when the first layers of a deep network receive almost none of the signal the last layers
receive, so the test is a deep *plain* MLP (no normalisation, no residual connection:
nothing carries the gradient around an activation) on MNIST-1D. The measure, the rule, the
comparison and the test are fixed here, before any run (``PREREGISTERED``; a test pins them):

- **networks**: ``depth`` hidden layers of ``width`` units, ``Linear -> activation`` each,
  then ``Linear width -> 10``; depths 10, 20 and 50, widths 32 and 128;
- **arms** (activation and initialisation): ReLU (leaky's function with slope 0: only the
  slope differs), Leaky ReLU 0.01 (the document's typical value), 0.1 and 0.3, and the
  identity (slope 1, a linear network: a control), all with He initialisation whose gain
  depends on the slope (``N(0, 2 / ((1 + a^2) fan_in))``, zero biases, the output layer
  PyTorch's default), every He arm drawing the *same* standard normal weights for a seed
  (only the gain and the slope differ); tanh and sigmoid with PyTorch's default
  initialisation, the **positive controls**: activations known to make gradients vanish,
  which show that the measure can fail; ReLU and Leaky 0.01 with PyTorch's default
  initialisation too (the same uniform draws for both), the setting where an untuned
  initialisation could let the leak matter;
- **the measure** (primary), at initialisation: per seed, ``log10(||dL/dW_1|| / ||dL/dW_L||)``,
  the Frobenius norm of the gradient of the mean cross-entropy with respect to the first
  hidden layer's weight over that of the last hidden layer's, on a fixed batch of
  ``BATCH`` MNIST-1D training signals, computed in float64 (a vanished gradient is a
  property of the network, not of float32's range). **Vanished**: the ratio is below
  ``VANISH_RATIO`` = 1e-3, three decades (a cut-off far below every slope compared, 0.01
  to 1, and fixed before the data). A ratio is clipped to ±``CLIP`` decades; a network
  whose last hidden layer receives no gradient at all (0 / 0) enters at ``-CLIP``
  (its first layer cannot learn) and is counted apart as *dead*;
- **the comparison**: Leaky 0.01 against ReLU, both He, at depth 50 and width 32, paired
  by seed: "Leaky 0.01 keeps a larger share of the gradient in the first layer" (kind
  greater, margin ``MARGIN`` = 0.5 decades, a factor of about 3), the paired t-test,
  two-sided, with the equivalence test that makes a difference inside ±0.5 decades *not
  supported*; the other slopes, the identity, the other width and the default
  initialisation as secondaries; the positive controls against ReLU (kind less: tanh's
  and sigmoid's first layers keep less); one Holm family;
- **secondary, after a short training** (``STEPS`` Adam steps, lr ``LR``, batch
  ``BATCH_SIZE``, float32, at width ``TRAIN_WIDTH`` and the ``train_depths``; the arms of
  ``TRAINED``, ReLU, Leaky 0.01 and 0.3, in the standard run, more in the full): a run
  **fails** if its loss is not finite at some step or its final validation accuracy is
  below the linear floor (the mean validation accuracy of logistic regression trained in
  the same study: ``stability.FLOOR_RECIPE``, the same steps and seeds). Leaky 0.01 against
  ReLU, failure counts per depth (Fisher's exact test), in the same family.

One task per arm (every depth and width measured, every training depth trained; all seeds
of a network are the members of one batched model, ``torch.baddbmm``), and the linear floor
as one more task (``leaky.lab.batched.train``, shared with claim 4's when their
configurations agree).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from leaky import _validate
from leaky.lab import _checks, data, stats, verdicts
from leaky.lab._json import floats, json_safe
from leaky.lab.experiments import stability
from leaky.lab.store import Outcome, Task

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure

    from leaky.lab.batched import TrainConfig

NAME = "gradients"
TITLE = "Vanishing gradients in deep plain networks"
QUOTE = (
    "Leaky ReLU's non-zero gradient helps prevent the vanishing gradient problem and enables "
    "more stable training of deep neural networks."
)

VANISH_RATIO = 1e-3  # vanished: first layer's gradient norm below this times the last's
MARGIN = 0.5  # decades of the gradient ratio: the smallest difference that matters
CLIP = 30.0  # ratios clipped to ±CLIP decades; a dead network (0 / 0) enters at -CLIP
BATCH = 128  # the fixed batch of MNIST-1D training signals the gradient is measured on
DATA_SEED = 0  # the validation split of MNIST-1D (``data.mnist1d(DATA_SEED)``)
DEPTHS = (10, 20, 50)
WIDTHS = (32, 128)
PRIMARY_DEPTH = 50
PRIMARY_WIDTH = 32
TRAIN_WIDTH = 32
STEPS = 300
LR = 1e-3
BATCH_SIZE = 100
SMOOTH = ("tanh", "sigmoid")  # the positive controls' activations (not slopes)
INITS = ("he", "default")
RELU = 0.0
PRIMARY_ARM = 0.01
IDENTITY = 1.0

PREREGISTERED = {
    "measure": (
        "log10(||dL/dW_1|| / ||dL/dW_L||) at initialisation, per seed: the gradient norm of "
        "the first hidden layer's weight over the last hidden layer's, mean cross-entropy on "
        f"a fixed batch of {BATCH} MNIST-1D training signals, float64"
    ),
    "vanished": f"the ratio below {VANISH_RATIO:g} (log10 below {math.log10(VANISH_RATIO):g})",
    "entered": (
        f"ratios clipped to ±{CLIP:g} decades; a network whose last hidden layer gets no "
        f"gradient (0 / 0) enters at -{CLIP:g} and is counted as dead"
    ),
    "comparison": (
        f"LeakyReLU(0.01) against ReLU, both He-initialised (gain per slope), depth "
        f"{PRIMARY_DEPTH}, width {PRIMARY_WIDTH}, paired by seed, kind greater"
    ),
    "test": "paired t-test, two-sided; TOST for 'too small to matter'",
    "margin": f"{MARGIN:g} decades of the ratio",
    "alpha": verdicts.ALPHA,
    "positive controls": (
        "tanh and sigmoid with PyTorch's default initialisation against ReLU (He), kind less: "
        "they must vanish, or the measure could not fail"
    ),
    "training": (
        f"{STEPS} Adam steps, lr {LR:g}, batch {BATCH_SIZE}, width {TRAIN_WIDTH}, float32; a "
        "run fails if its loss is not finite at some step or its final validation accuracy "
        "is below the linear floor (logistic regression, Adam 0.01, the same steps and "
        "seeds); Leaky 0.01 against ReLU per depth, Fisher's exact test"
    ),
    "family": (
        "every comparison above, one Holm family: the primary first, then the other slopes, "
        "the identity, the other widths, the default initialisation, the positive "
        "controls and the training failures"
    ),
}
"""The measure, rule, comparison and test of the vanishing-gradient claim, fixed before the run."""


# --- arms and configurations ---------------------------------------------------------------


@dataclass(frozen=True)
class Arm:
    """An activation (a slope of leaky's function, or ``"tanh"``/``"sigmoid"``) and an init.

    ``"he"``: hidden weights ``N(0, gain^2 / fan_in)`` with ``gain = sqrt(2 / (1 + a^2))``,
    zero hidden biases (slopes only); ``"default"``: PyTorch's ``nn.Linear`` initialisation,
    weights and biases uniform in ``±1 / sqrt(fan_in)``. The output layer is PyTorch's
    default in every arm.

    Examples:
        >>> Arm(0.0).label, Arm("tanh", "default").label
        ('ReLU (slope 0), He', 'tanh, PyTorch default init')
    """

    activation: float | str
    init: str = "he"

    def __post_init__(self) -> None:
        func = "Arm"
        if isinstance(self.activation, str):
            _checks.one_of(self.activation, "activation", func, SMOOTH)
            if self.init == "he":
                raise ValueError(
                    f"The 'init' parameter of {func} must be 'default' for {self.activation!r}: "
                    "He's gain is defined here for leaky's slopes only. Got 'he' instead."
                )
        else:
            object.__setattr__(
                self, "activation", _validate.closed_fraction(self.activation, "activation", func)
            )
        _checks.one_of(self.init, "init", func, INITS)

    @property
    def is_slope(self) -> bool:
        return not isinstance(self.activation, str)

    @property
    def name(self) -> str:
        """The activation's label (``models.activation_label`` for a slope)."""
        if not self.is_slope:
            return str(self.activation)
        from leaky.lab.models import activation_label

        return activation_label(float(self.activation))

    @property
    def label(self) -> str:
        return f"{self.name}, " + ("He" if self.init == "he" else "PyTorch default init")

    @property
    def short(self) -> str:
        """A short label for axes: ``"ReLU, He"``, ``"Leaky 0.01, He"``, ``"tanh, default"``."""
        a = self.activation
        if not self.is_slope:
            name = str(a)
        else:
            name = {0.0: "ReLU", 1.0: "identity"}.get(float(a), f"Leaky {float(a):g}")
        return f"{name}, {self.init}"

    @property
    def gain(self) -> float:
        """The He gain of a slope, ``sqrt(2 / (1 + a^2))`` (``models.he_gain``'s formula)."""
        a = float(self.activation) if self.is_slope else 0.0
        return math.sqrt(2.0 / (1.0 + a * a))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Arm:
        return cls(d["activation"], d["init"])


ARMS = (
    Arm(0.0),
    Arm(0.01),
    Arm(0.1),
    Arm(0.3),
    Arm(1.0),
    Arm("tanh", "default"),
    Arm("sigmoid", "default"),
    Arm(0.0, "default"),
    Arm(0.01, "default"),
)
"""Every arm of the standard run; the first is the reference (ReLU, He)."""
REFERENCE = Arm(0.0)
TRAINED = (Arm(0.0), Arm(0.01), Arm(0.3))
"""The arms trained for the secondary measure in the standard run (the cost is the training's:
about 1 s per 50 steps of a depth-50 network's ten seeds on one core)."""
TRAINED_FULL = (*TRAINED, Arm(0.1), Arm(1.0), Arm("tanh", "default"))


@dataclass(frozen=True)
class ArmConfig:
    """One task: one arm, every depth and width at initialisation, the training depths."""

    activation: float | str
    init: str
    depths: tuple[int, ...]
    widths: tuple[int, ...]
    seeds: tuple[int, ...]
    batch: int = BATCH
    train_depths: tuple[int, ...] = ()
    train_width: int = TRAIN_WIDTH
    steps: int = STEPS
    lr: float = LR
    batch_size: int = BATCH_SIZE
    data_seed: int = DATA_SEED

    @property
    def arm(self) -> Arm:
        return Arm(self.activation, self.init)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("depths", "widths", "seeds", "train_depths"):
            d[key] = list(d[key])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ArmConfig:
        d = dict(d)
        for key in ("depths", "widths", "seeds", "train_depths"):
            d[key] = tuple(d[key])
        return cls(**d)


@dataclass(frozen=True)
class Config:
    arms: tuple[Arm, ...] = ARMS
    depths: tuple[int, ...] = DEPTHS
    widths: tuple[int, ...] = WIDTHS
    seeds: tuple[int, ...] = tuple(range(10))
    batch: int = BATCH
    trained: tuple[Arm, ...] = TRAINED
    train_depths: tuple[int, ...] = (PRIMARY_DEPTH,)
    train_width: int = TRAIN_WIDTH
    steps: int = STEPS
    lr: float = LR
    batch_size: int = BATCH_SIZE

    def arm_configs(self) -> list[ArmConfig]:
        return [
            ArmConfig(
                arm.activation,
                arm.init,
                self.depths,
                self.widths,
                self.seeds,
                self.batch,
                self.train_depths if arm in self.trained else (),
                self.train_width,
                self.steps,
                self.lr,
                self.batch_size,
            )
            for arm in self.arms
        ]

    @property
    def trains(self) -> bool:
        return bool(self.train_depths) and any(a in self.trained for a in self.arms)

    def floor_config(self) -> TrainConfig:
        """Logistic regression with claim 4's floor recipe, the same steps and seeds."""
        return stability.floor_config(self.seeds, self.steps, split_seed=DATA_SEED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "arms": [a.to_dict() for a in self.arms],
            "depths": list(self.depths),
            "widths": list(self.widths),
            "seeds": list(self.seeds),
            "batch": self.batch,
            "trained": [a.to_dict() for a in self.trained],
            "train_depths": list(self.train_depths),
            "train_width": self.train_width,
            "steps": self.steps,
            "lr": self.lr,
            "batch_size": self.batch_size,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        return cls(
            tuple(Arm.from_dict(a) for a in d["arms"]),
            tuple(d["depths"]),
            tuple(d["widths"]),
            tuple(d["seeds"]),
            d["batch"],
            tuple(Arm.from_dict(a) for a in d["trained"]),
            tuple(d["train_depths"]),
            d["train_width"],
            d["steps"],
            d["lr"],
            d["batch_size"],
        )


def plan(scale: str, seed: int = 0) -> Config:
    """The grid for a scale: ``quick`` (a smoke run), ``standard`` or ``full``."""
    base = 1000 * seed
    if scale == "quick":
        return Config(
            arms=(Arm(0.0), Arm(0.01), Arm(1.0), Arm("tanh", "default")),
            depths=(10, PRIMARY_DEPTH),
            widths=(PRIMARY_WIDTH,),
            seeds=tuple(base + s for s in range(2)),
            trained=(Arm(0.0), Arm(0.01)),
            steps=50,
        )
    if scale == "standard":
        return Config(seeds=tuple(base + s for s in range(10)))
    return Config(
        seeds=tuple(base + s for s in range(20)),
        trained=TRAINED_FULL,
        train_depths=(20, PRIMARY_DEPTH),
    )


def tasks(config: Config) -> list[Task]:
    """The linear floor (when anything trains), then one task per arm."""
    out = []
    if config.trains:
        out.append(
            Task(NAME, "leaky.lab.batched:train", config.floor_config(), label="linear floor")
        )
    out += [
        Task(
            NAME,
            "leaky.lab.experiments.gradients:measure",
            c,
            label=c.arm.label,
        )
        for c in config.arm_configs()
    ]
    return out


# --- the work of one task --------------------------------------------------------------


def _stream(*parts: int) -> int:
    """A 63-bit seed for a ``torch.Generator``, derived from integers (``SeedSequence``)."""
    return int(np.random.SeedSequence(list(parts)).generate_state(2, np.uint64)[0] >> np.uint64(1))


_INIT_TAG = {"he": 0x4E, "default": 0xDE}
_ORDER_TAG = 0x0D3
_SMOOTH_FN = {"tanh": "tanh", "sigmoid": "sigmoid"}


def init_params(
    arm: Arm, depth: int, width: int, seeds: Sequence[int], dtype: torch.dtype
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Weights ``(members, fan_in, fan_out)`` and biases ``(members, 1, fan_out)``, the
    output layer last, one member per seed, drawn in float64 and cast to ``dtype``.

    Each member's draws come from its own generator seeded from ``(seed, depth, width,
    init)``: the He arms of a seed share their standard normal draws (only the gain
    differs), the default-init arms their uniform draws.
    """
    import torch

    ws: list[list[torch.Tensor]] = []
    bs: list[list[torch.Tensor]] = []
    features, classes = 40, 10
    for seed in seeds:
        g = torch.Generator().manual_seed(_stream(seed, depth, width, _INIT_TAG[arm.init]))
        w_m, b_m = [], []
        fan_in = features
        for layer in range(depth + 1):
            hidden = layer < depth
            fan_out = width if hidden else classes
            bound = 1.0 / math.sqrt(fan_in)
            if hidden and arm.init == "he":
                z = torch.randn(fan_in, fan_out, generator=g, dtype=torch.float64)
                w = z * (arm.gain / math.sqrt(fan_in))
                b = torch.zeros(1, fan_out, dtype=torch.float64)
            else:  # PyTorch's nn.Linear default: uniform in ±1/sqrt(fan_in), weight and bias
                w = (torch.rand(fan_in, fan_out, generator=g, dtype=torch.float64) * 2 - 1) * bound
                b = (torch.rand(1, fan_out, generator=g, dtype=torch.float64) * 2 - 1) * bound
            w_m.append(w)
            b_m.append(b)
            fan_in = fan_out
        ws.append(w_m)
        bs.append(b_m)
    weights = [torch.stack([m[i] for m in ws]).to(dtype) for i in range(depth + 1)]
    biases = [torch.stack([m[i] for m in bs]).to(dtype) for i in range(depth + 1)]
    return weights, biases


def _activation(arm: Arm) -> Any:
    import torch

    if arm.is_slope:
        from leaky.nn import LeakyReLU

        return LeakyReLU(float(arm.activation))
    return getattr(torch, _SMOOTH_FN[str(arm.activation)])


def _forward(x: torch.Tensor, weights: list, biases: list, act: Any) -> torch.Tensor:
    import torch

    h = x if x.dim() == 3 else x.expand(weights[0].shape[0], *x.shape)
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        h = torch.baddbmm(b, h, w)
        if i < len(weights) - 1:
            h = act(h)
    return h


def _losses(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Each member's mean cross-entropy, shape ``(members,)``."""
    import torch.nn.functional as F

    m, n, c = logits.shape
    target = y.reshape(-1) if y.dim() == 2 else y.repeat(m)  # per member, or one for all
    per = F.cross_entropy(logits.reshape(m * n, c), target, reduction="none")
    return per.reshape(m, n).mean(dim=1)


def gradient_norms(
    arm: Arm, depth: int, width: int, seeds: Sequence[int], x: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """``(members, depth + 1)``: per seed, the Frobenius norm of the gradient of the mean
    cross-entropy on ``(x, y)`` with respect to each layer's weight (the hidden layers in
    order, the output layer last), at initialisation, in float64."""
    import torch

    weights, biases = init_params(arm, depth, width, seeds, torch.float64)
    for p in (*weights, *biases):
        p.requires_grad_(True)
    xs = torch.as_tensor(np.asarray(x, dtype=np.float64))
    ys = torch.as_tensor(np.asarray(y, dtype=np.int64))
    _losses(_forward(xs, weights, biases, _activation(arm)), ys).sum().backward()
    grads = [w.grad for w in weights]
    assert all(g is not None for g in grads)  # every weight is on the loss's path
    norms = torch.stack([g.flatten(1).norm(dim=1) for g in grads if g is not None], dim=1)
    return norms.detach().numpy()


def _train(arm: Arm, depth: int, config: ArmConfig, ds: data.Dataset) -> dict[str, Any]:
    """Every seed of one network trained as one batched model: final accuracies and fates."""
    import torch

    seeds = config.seeds
    weights, biases = init_params(arm, depth, config.train_width, seeds, torch.float32)
    params = [p.requires_grad_(True) for p in (*weights, *biases)]
    opt = torch.optim.Adam(params, lr=config.lr, foreach=True)
    act = _activation(arm)
    x_train = torch.as_tensor(ds.x_train)
    y_train = torch.as_tensor(ds.y_train)
    n, bsz = len(y_train), config.batch_size
    gens = [torch.Generator().manual_seed(_stream(s, _ORDER_TAG)) for s in seeds]
    per_epoch = n // bsz
    orders: list[torch.Tensor] = []
    finite = torch.ones(len(seeds), dtype=torch.bool)
    initial = None
    last = torch.full((len(seeds),), math.nan)
    for step in range(config.steps):
        if step % per_epoch == 0:
            orders = [torch.randperm(n, generator=g) for g in gens]
        k = step % per_epoch
        idx = torch.stack([o[k * bsz : (k + 1) * bsz] for o in orders])  # (members, batch)
        logits = _forward(x_train[idx], weights, biases, act)
        loss = _losses(logits, y_train[idx])
        if initial is None:
            initial = loss.detach().clone()
        finite &= torch.isfinite(loss.detach())
        last = loss.detach().clone()
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt.step()

    def accuracy(split: str) -> np.ndarray:
        xs, ys = ds.split(split)
        with torch.no_grad():
            logits = _forward(torch.as_tensor(xs), weights, biases, act)
        ok = torch.isfinite(logits).all(dim=2).all(dim=1)
        acc = (logits.argmax(dim=2) == torch.as_tensor(ys)).double().mean(dim=1)
        return torch.where(ok, acc, torch.nan).numpy() * 100

    val, test = accuracy("val"), accuracy("test")
    diverged = ~finite.numpy() | ~np.isfinite(val)
    return json_safe(
        {
            "depth": depth,
            "width": config.train_width,
            "val_acc": np.where(diverged, np.nan, val),  # a diverged run has no accuracy
            "test_acc": np.where(diverged, np.nan, test),
            "diverged": diverged,
            "initial_loss": (initial if initial is not None else last).numpy(),
            "final_loss": last.numpy(),
        }
    )


def measure(config: ArmConfig) -> dict[str, Any]:
    """The task: gradient norms at initialisation per depth and width, then the training.

    Deterministic (its own generators, one thread): the same configuration gives the same
    numbers bit for bit. Returns JSON types: per (depth, width) the per-seed norms of every
    layer's weight gradient; per training depth the per-seed accuracies and fates.
    """
    import torch

    arm = config.arm
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ds = data.mnist1d(config.data_seed)
        x, y = ds.x_train[: config.batch], ds.y_train[: config.batch]
        rows = []
        for width in config.widths:
            for depth in config.depths:
                norms = gradient_norms(arm, depth, width, config.seeds, x, y)
                rows.append({"depth": depth, "width": width, "norms": norms.tolist()})
        trained = [_train(arm, depth, config, ds) for depth in config.train_depths]
        return {"arm": arm.to_dict(), "init": rows, "trained": trained}
    finally:
        torch.set_num_threads(threads)


# --- summary ---------------------------------------------------------------------------


def log_ratio(first: float, last: float) -> float:
    """``log10(first / last)`` clipped to ±``CLIP``; 0 / 0 (a dead network) is ``-CLIP``.

    Examples:
        >>> log_ratio(1e-5, 1.0), log_ratio(0.0, 0.0), log_ratio(0.0, 1.0), log_ratio(1.0, 0.0)
        (-5.0, -30.0, -30.0, 30.0)
    """
    if first == 0.0:  # 0 / 0 included: no gradient reaches the first layer
        return -CLIP
    if last == 0.0:
        return CLIP
    return float(np.clip(math.log10(first / last), -CLIP, CLIP))


CHANCE = 100 * data.chance("mnist1d")  # a diverged run's accuracy in a mean (never dropped)
TINY = 1e-300  # a zero norm's stand-in in the mean log profile (float64's range)


@dataclass(frozen=True)
class _Measured:
    """What every row of the result names first: the arm, the depth and the width."""

    activation: float | str
    init: str
    depth: int
    width: int

    @property
    def arm(self) -> Arm:
        return Arm(self.activation, self.init)

    @property
    def label(self) -> str:
        return self.arm.label


@dataclass(frozen=True)
class Cell(_Measured):
    """One arm, depth and width at initialisation: the ratio per seed and the profile."""

    log_ratio: tuple[float, ...]  # per seed, log10(first / last hidden), clipped
    vanished: tuple[bool, ...]  # per seed: ratio below VANISH_RATIO
    dead: int  # seeds whose last hidden layer got no gradient (entered at -CLIP)
    profile: tuple[float, ...]  # per layer (hidden 1..depth, output): mean log10 norm
    error: str | None = None  # the task failed: nothing measured

    @property
    def vanished_count(self) -> int:
        return sum(self.vanished)

    def mean(self) -> float:
        return float(np.mean(self.log_ratio)) if self.log_ratio else math.nan

    def interval(self) -> stats.MeanInterval:
        return stats.mean_interval(self.log_ratio)


@dataclass(frozen=True)
class Trained(_Measured):
    """One arm trained at one depth: the accuracies and fates of every seed."""

    val_acc: tuple[float, ...]  # per seed, %; NaN where the run diverged
    test_acc: tuple[float, ...]
    diverged: tuple[bool, ...]
    failed: tuple[bool, ...]  # diverged, or validation accuracy below the linear floor
    error: str | None = None

    @property
    def runs(self) -> int:
        return len(self.failed)

    @property
    def failures(self) -> int:
        return sum(self.failed)

    def failure_rate(self) -> stats.Proportion:
        return stats.proportion(self.failures, self.runs)


@dataclass(frozen=True)
class Result:
    """Every cell at initialisation, every trained arm, the linear floor (validation, %)."""

    config: Config
    floor: float
    cells: tuple[Cell, ...]
    trained: tuple[Trained, ...] = ()
    errors: tuple[str, ...] = field(default_factory=tuple)

    def cell(self, arm: Arm, depth: int, width: int) -> Cell | None:
        return next(
            (c for c in self.cells if (c.arm, c.depth, c.width) == (arm, depth, width)), None
        )

    def trained_arm(self, arm: Arm, depth: int) -> Trained | None:
        return next((t for t in self.trained if (t.arm, t.depth) == (arm, depth)), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "floor": json_safe(self.floor),
            "cells": [json_safe(asdict(c)) for c in self.cells],
            "trained": [json_safe(asdict(t)) for t in self.trained],
            "errors": list(self.errors),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Result:
        cells = tuple(
            Cell(
                c["activation"],
                c["init"],
                int(c["depth"]),
                int(c["width"]),
                floats(c["log_ratio"]),
                tuple(bool(v) for v in c["vanished"]),
                int(c["dead"]),
                floats(c["profile"]),
                c["error"],
            )
            for c in d["cells"]
        )
        trained = tuple(
            Trained(
                t["activation"],
                t["init"],
                int(t["depth"]),
                int(t["width"]),
                floats(t["val_acc"]),
                floats(t["test_acc"]),
                tuple(bool(v) for v in t["diverged"]),
                tuple(bool(v) for v in t["failed"]),
                t["error"],
            )
            for t in d["trained"]
        )
        floor = floats([d["floor"]])[0]
        return cls(Config.from_dict(d["config"]), floor, cells, trained, tuple(d["errors"]))


def _cell(arm: Arm, row: dict[str, Any]) -> Cell:
    norms = np.asarray(row["norms"], dtype=np.float64)  # (seeds, depth + 1)
    depth = int(row["depth"])
    first, last = norms[:, 0], norms[:, depth - 1]
    ratios = tuple(log_ratio(float(f), float(la)) for f, la in zip(first, last, strict=True))
    vanished = tuple(r < math.log10(VANISH_RATIO) for r in ratios)
    dead = int(np.sum(last == 0.0))
    profile = tuple(float(v) for v in np.log10(np.maximum(norms, TINY)).mean(axis=0))
    return Cell(arm.activation, arm.init, depth, int(row["width"]), ratios, vanished, dead, profile)


def _trained(arm: Arm, row: dict[str, Any], floor: float) -> Trained:
    """The fates of one trained network's seeds: failed = diverged or below the floor."""
    val, test = floats(row["val_acc"]), floats(row["test_acc"])
    diverged = tuple(bool(v) for v in row["diverged"])
    depth, width = int(row["depth"]), int(row["width"])
    if not math.isfinite(floor):  # no floor: the fates cannot be judged (never "all failed")
        return Trained(arm.activation, arm.init, depth, width, val, test, diverged, (), "no floor")
    failed = tuple(d or v < floor for v, d in zip(val, diverged, strict=True))
    return Trained(arm.activation, arm.init, depth, width, val, test, diverged, failed)


def summarize(config: Config, outcomes: Sequence[Outcome]) -> Result:
    """Ratios, profiles, fates, from the stored outcomes (a failed task: a failed cell)."""
    it = iter(outcomes)
    errors: list[str] = []
    floor = math.nan
    if config.trains:
        floor_outcome = next(it)
        if floor_outcome.ok:
            from leaky.lab.batched import TrainResult

            val = TrainResult.from_dict(floor_outcome.value).final("val_acc")
            if np.isfinite(val).any():
                floor = float(np.nanmean(val) * 100)
        else:
            errors.append(f"linear floor: {floor_outcome.error}")
    cells: list[Cell] = []
    trained: list[Trained] = []
    for c, outcome in zip(config.arm_configs(), it, strict=True):
        arm = c.arm
        if not outcome.ok:
            errors.append(f"{arm.label}: {outcome.error}")
            cells += [
                Cell(arm.activation, arm.init, d, w, (), (), 0, (), outcome.error or "failed")
                for w in c.widths
                for d in c.depths
            ]
            trained += [
                Trained(arm.activation, arm.init, d, c.train_width, (), (), (), (), outcome.error)
                for d in c.train_depths
            ]
            continue
        cells += [_cell(arm, row) for row in outcome.value["init"]]
        trained += [_trained(arm, row, floor) for row in outcome.value["trained"]]
    return Result(config, floor, tuple(cells), tuple(trained), tuple(errors))


# --- the verdicts' inputs: comparisons and the finding ----------------------------------


def primary_cell(config: Config) -> tuple[int, int]:
    """The (depth, width) of the primary comparison: the deepest depth, ``PRIMARY_WIDTH``
    where it was measured (else the first width)."""
    width = PRIMARY_WIDTH if PRIMARY_WIDTH in config.widths else config.widths[0]
    return max(config.depths), width


def _ratio_comparison(
    result: Result, arm: Arm, against: Arm, depth: int, width: int, kind: str, note: str = ""
) -> verdicts.Comparison | None:
    a, b = result.cell(arm, depth, width), result.cell(against, depth, width)
    if a is None or b is None or a.error or b.error or len(a.log_ratio) < 2:
        return None
    if len(a.log_ratio) != len(b.log_ratio):
        return None
    more = "more" if kind == verdicts.GREATER else "less"
    return verdicts.compare(
        a.log_ratio,
        b.log_ratio,
        claim=(
            f"{arm.label}{note} keeps {more} of the gradient in the first layer than "
            f"{against.label} (plain MLP, depth {depth}, width {width}, at initialisation)"
        ),
        measure="log10 of the first hidden layer's gradient norm over the last's (decades)",
        margin=MARGIN,
        kind=kind,
    )


def _failure_comparison(result: Result, arm: Arm, against: Arm, depth: int) -> Any:
    a, b = result.trained_arm(arm, depth), result.trained_arm(against, depth)
    if a is None or b is None or a.error or b.error or not a.runs or not b.runs:
        return None
    return verdicts.compare_failures(
        a.failures,
        a.runs,
        b.failures,
        b.runs,
        claim=(
            f"{arm.label} fails to train less often than {against.label} (plain MLP, depth "
            f"{depth}, width {a.width}, {result.config.steps} Adam steps)"
        ),
        measure="failure rate (not finite, or validation accuracy below the linear floor)",
        kind=verdicts.LESS,
    )


def comparisons(result: Result) -> list[verdicts.Comparison]:
    """The claim's family, the primary first (``PREREGISTERED``); what is not measured is
    left out, so the primary is first only when it was measured (``primary_measured``)."""
    cfg = result.config
    depth, width = primary_cell(cfg)
    relu = REFERENCE
    rows: list[verdicts.Comparison | None] = []
    rows.append(_ratio_comparison(result, Arm(PRIMARY_ARM), relu, depth, width, verdicts.GREATER))
    for arm in cfg.arms:
        if arm.init == "he" and arm.is_slope and arm.activation not in (RELU, PRIMARY_ARM):
            note = " (a control: a linear network)" if arm.activation == IDENTITY else ""
            rows.append(_ratio_comparison(result, arm, relu, depth, width, verdicts.GREATER, note))
    for w in cfg.widths:
        if w != width:
            rows.append(
                _ratio_comparison(result, Arm(PRIMARY_ARM), relu, depth, w, verdicts.GREATER)
            )
    rows.append(
        _ratio_comparison(
            result,
            Arm(PRIMARY_ARM, "default"),
            Arm(RELU, "default"),
            depth,
            width,
            verdicts.GREATER,
        )
    )
    for name in SMOOTH:
        rows.append(
            _ratio_comparison(
                result,
                Arm(name, "default"),
                relu,
                depth,
                width,
                verdicts.LESS,
                " (a positive control: known to vanish)",
            )
        )
    for d in cfg.train_depths:
        rows.append(_failure_comparison(result, Arm(PRIMARY_ARM), relu, d))
    return [r for r in rows if r is not None]


def primary_measured(result: Result) -> bool:
    """True when the primary comparison (Leaky 0.01 against ReLU, He) could be made."""
    depth, width = primary_cell(result.config)
    return all(
        (c := result.cell(a, depth, width)) is not None and not c.error and len(c.log_ratio) >= 2
        for a in (Arm(PRIMARY_ARM), REFERENCE)
    )


def _ratio_text(cell: Cell | None) -> str:
    if cell is None or cell.error or not cell.log_ratio:
        return "not measured"
    return (
        f"{cell.mean():+.2f} decades ({cell.vanished_count}/{len(cell.vanished)} vanished"
        + (f", {cell.dead} dead" if cell.dead else "")
        + ")"
    )


def controls_vanished(result: Result) -> bool | None:
    """Did every positive control vanish in most seeds at the primary cell? None: not run."""
    depth, width = primary_cell(result.config)
    found = [result.cell(Arm(n, "default"), depth, width) for n in SMOOTH]
    cells = [c for c in found if c is not None and not c.error and c.vanished]
    if not cells:
        return None
    return all(2 * c.vanished_count > len(c.vanished) for c in cells)


def finding(result: Result) -> str:
    """The finding in words, every number from ``result``."""
    cfg = result.config
    depth, width = primary_cell(cfg)
    parts = [
        f"At initialisation (plain MLP, depth {depth}, width {width}), the first hidden "
        "layer's gradient norm over the last's, log10, mean over seeds: "
        + "; ".join(f"{a.label} {_ratio_text(result.cell(a, depth, width))}" for a in cfg.arms)
        + f". Vanished means below {VANISH_RATIO:g} (-3 decades)."
    ]
    control = controls_vanished(result)
    if control is False:
        parts.append(
            "The positive controls did NOT vanish in most seeds: the measure did not show "
            "that it can fail here, so its other readings are weak evidence."
        )
    elif control:
        parts.append("The positive controls (tanh, sigmoid, default init) vanished, as expected.")
    for d in cfg.train_depths:
        rows = [result.trained_arm(a, d) for a in cfg.trained if a in cfg.arms]
        text = "; ".join(
            f"{t.label} {t.failures}/{t.runs} failed (mean test accuracy "
            f"{np.mean(np.where(np.isfinite(t.test_acc), t.test_acc, CHANCE)):.1f} %)"
            for t in rows
            if t is not None and not t.error and t.runs
        )
        if text:
            parts.append(
                f"After {cfg.steps} Adam steps (lr {cfg.lr:g}) at depth {d}, width "
                f"{cfg.train_width}, runs below the linear floor ({result.floor:.1f} % "
                f"validation accuracy) or not finite: {text}."
            )
    if result.errors:
        parts.append(f"{len(result.errors)} task(s) failed: " + "; ".join(result.errors) + ".")
    return " ".join(parts)


def notes() -> tuple[str, ...]:
    """The pre-registered rules, one line each, for the claim's notes."""
    return tuple(f"Pre-registered {k}: {v}." for k, v in PREREGISTERED.items())


# --- the figure ------------------------------------------------------------------------


def figure(result: Result) -> tuple[Figure, str]:
    """Gradient norm per layer relative to the last hidden layer's (log scale) against the
    layer, one line per arm, a panel per depth (a row per width); at the right, the ratio
    per arm at the deepest depth, each seed and the mean with its 95 % interval."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from leaky.lab.figures import FONT, _colors, _style

    cfg = result.config
    depths, widths = sorted(cfg.depths), list(cfg.widths)
    colors = _colors(list(cfg.arms))
    styles = {a: "-" if a.is_slope and a.init == "he" else ":" for a in cfg.arms}
    fig = Figure(
        figsize=(3.6 * (len(depths) + 1) + 1.0, 3.4 * len(widths) + 0.8), layout="constrained"
    )
    axes = np.atleast_2d(fig.subplots(len(widths), len(depths) + 1, squeeze=False))
    threshold = math.log10(VANISH_RATIO)
    rng = np.random.default_rng(0)
    for row, width in enumerate(widths):
        for col, depth in enumerate(depths):
            ax = axes[row][col]
            for arm in cfg.arms:
                c = result.cell(arm, depth, width)
                if c is None or c.error or not c.profile:
                    continue
                rel = np.asarray(c.profile[:depth]) - c.profile[depth - 1]
                ax.plot(np.arange(1, depth + 1), 10.0**rel, styles[arm], color=colors[arm], lw=1.4)
            ax.axhline(VANISH_RATIO, color="0.3", ls="--", lw=1)
            ax.set_yscale("log")
            ax.set_title(f"depth {depth}, width {width}")
            ax.set_xlabel("hidden layer")
            if col == 0:
                ax.set_ylabel("gradient norm / last hidden\nlayer's (geometric mean)")
        ax = axes[row][-1]
        deepest = depths[-1]
        for i, arm in enumerate(cfg.arms):
            c = result.cell(arm, deepest, width)
            if c is None or c.error or not c.log_ratio:
                continue
            v = np.asarray(c.log_ratio)
            ax.plot(rng.uniform(-0.12, 0.12, len(v)) + i, v, ".", color="0.55", alpha=0.7)
            ci = c.interval()
            err = None
            if math.isfinite(ci.low):
                err = [[ci.mean - ci.low], [ci.high - ci.mean]]
            ax.errorbar([i], [ci.mean], yerr=err, fmt="o", color=colors[arm], capsize=3)
        ax.axhline(threshold, color="0.3", ls="--", lw=1)
        ax.set_xticks(range(len(cfg.arms)), [a.short for a in cfg.arms], rotation=35, ha="right")
        ax.set_title(f"ratio at depth {deepest}, width {width}")
        ax.set_ylabel("log10(first / last hidden)")
    handles = [Line2D([], [], color=colors[a], ls=styles[a], label=a.label) for a in cfg.arms]
    handles.append(Line2D([], [], color="0.3", ls="--", label=f"vanished (< {VANISH_RATIO:g})"))
    fig.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=FONT - 1)
    _style(fig)
    deepest, width = primary_cell(cfg)
    alt = (
        f"At depth {deepest}, width {width}, the first hidden layer's gradient norm over the "
        "last's (log10, mean over seeds): "
        + ", ".join(
            f"{a.label} {c.mean():+.1f}"
            for a in cfg.arms
            if (c := result.cell(a, deepest, width)) is not None and c.log_ratio
        )
        + f"; below {math.log10(VANISH_RATIO):g} the gradient has vanished."
    )
    return fig, alt
