"""Many seeds at once: every seed of one configuration trained as ONE batched model.

The unit of work of the evidence is ``train(config)``: a pure function of a frozen
``TrainConfig`` that returns a typed ``TrainResult``. Same configuration, same result, bit
for bit, whatever the number of processes or threads around it: it draws from no global
random generator (every member has its own ``torch.Generator`` objects) and computes on one
thread (``torch.set_num_threads(1)`` inside, restored after: one job per core).

**One model, many members.** The seeds of a configuration are the *members* of one model
whose weights carry a leading member dimension: ``torch.baddbmm`` for the Linear layers,
im2col and ``torch.baddbmm`` for the convolutions (channels-last), and leaky's own
activation layers, which act element-wise on any shape. Each member sees exactly what it
would see alone:

- its own PyTorch-default (or He) initialisation, drawn from a generator seeded with the
  member's seed (``leaky.lab.models.build``: the plain model of that seed, stacked);
- its own batch order, from a second generator seeded from the member's seed
  (``batch_indices``); ``batch_order="cycle"`` is the MNIST-1D authors' fixed order instead;
- the loss is the *sum* of the members' mean cross-entropies, so each member's gradient is
  its own, and the optimiser (Adam or SGD, element-wise, no clipping, no weight decay) is
  member-wise too. Nothing couples two members: a diverged member (NaN) leaves the others
  untouched, is kept to the end and reported with ``diverged=True``, never dropped.

The GRU has no hand-batched form: its members are plain ``nn.GRU`` modules run one after
another inside one model (``StackedMembers``), equivalent by construction, not faster.

**Measured** at every evaluation step (step 0, every ``eval_every`` steps, the last step),
per member, over whole splits (never one batch): loss and accuracy on train, validation
and test; the initial loss; divergence and its step. On request (``stats_steps``), per
hidden unit over a whole split: the fraction of inputs on which its pre-activation is > 0,
the fraction of its outputs that are exactly 0, and a histogram of ``|output|``.

``train_models(config)`` also returns the trained members as plain models;
``train_member(config, seed)`` trains one seed as a plain ``nn.Module`` through the same
loop (the reference that a batched member must equal, and the sequential side of
``speedup``, which times N seeds both ways).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from leaky import _validate
from leaky.lab import _checks
from leaky.lab import models as _models
from leaky.lab._json import floats, json_safe
from leaky.lab._threads import one_thread

__all__ = [
    "ABS_EDGES",
    "ActivationSnapshot",
    "BatchedCNN",
    "BatchedConv1d",
    "BatchedLinear",
    "BatchedLogistic",
    "BatchedMLP",
    "MemberResult",
    "SiteStats",
    "StackedMembers",
    "TrainConfig",
    "TrainResult",
    "batch_indices",
    "batched_model",
    "train",
    "train_member",
    "train_models",
]

DATASETS = ("mnist1d", "spirals", "digits", "blobs")
OPTIMIZERS = ("adam", "sgd", "sgd-momentum")
MOMENTUM = 0.9  # of "sgd-momentum" (PyTorch's SGD, dampening 0, no Nesterov)
BATCH_ORDERS = ("shuffle", "cycle")
DTYPES = {"float32": torch.float32, "float64": torch.float64}
SPLITS = ("train", "val", "test")
NEAR_ZERO = 0.05  # "near zero": |h| below this fraction of the layer's mean |h|
NEAR_ZERO_CURVE = (1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 3e-1)
"""Thresholds (fractions of the layer's mean |h|) of the near-zero curve: claim 3b reads the
curve, never one cut-off on the scale of the slopes it compares."""
NEAR_DEAD = 0.01
"""A unit is near-dead when its pre-activation is positive on fewer than this fraction of
the inputs: dead in ReLU's sense (no gradient), in the negative regime under Leaky ReLU."""
ABLATIONS = ("", "negative", "near-dead")
EVAL_CHUNK = 250  # examples per forward pass when a whole split is measured (cache-sized)

ABS_EDGES = tuple(10.0**k for k in range(-6, 3))
"""Edges of the ``|output|`` histogram: bins ``0`` (exactly), ``(0, 1e-6)``, ``[1e-6, 1e-5)``,
..., ``[10, 100)``, ``[100, inf)``: ``len(ABS_EDGES) + 2`` bins, NaN counted apart."""

_F = "TrainConfig"


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines one batched training job; hashable and JSON-serialisable.

    Attributes:
        model: ``"logistic"``, ``"mlp"``, ``"cnn"`` or ``"gru"`` (``leaky.lab.models``).
        dataset: ``"mnist1d"`` (primary), ``"spirals"``, ``"digits"`` or ``"blobs"``.
        activation: a slope in [0, 1] (leaky's LeakyReLU; ``"relu"`` = 0.0 and
            ``"identity"`` = 1.0 are stored as those slopes) or ``"gelu"``; ``None`` for the
            models without a hidden activation (logistic, GRU).
        seeds: the members, distinct integers >= 0; each seeds its member's initialisation
            and (through a derived stream) its batch order.
        optimizer: ``"adam"`` (PyTorch's defaults: betas 0.9/0.999, eps 1e-8),
            ``"sgd"`` (plain, no momentum) or ``"sgd-momentum"`` (momentum 0.9); ``lr`` its
            learning rate.
        slopes, lrs: a grid trained as one model (claim 4's learning rate x slope grid):
            the members are every ``(slope, lr, seed)`` of ``slopes x lrs x seeds``, in
            that order; ``slopes`` replaces ``activation`` (leaky's function, one slope per
            member) and ``lrs`` replaces ``lr`` (one learning rate per member). Empty: one
            slope (``activation``) and one learning rate (``lr``).
        batch_size, steps: examples per step; optimisation steps.
        eval_every: measure every this many steps (and always at 0 and at ``steps``);
            0 measures only at 0 and at ``steps``.
        val: fraction of the training split held out for validation (0: none, the
            MNIST-1D paper's protocol); ``split_seed`` chooses it.
        batch_order: ``"shuffle"`` (each member a fresh permutation per epoch, from its
            own generator; the last incomplete batch of an epoch is dropped) or ``"cycle"``
            (the authors' order: step ``t`` takes examples ``(t*B) % n ... + B``, the same
            for every member).
        init: ``"default"`` (PyTorch's) or ``"he"`` (slope-dependent gain);
            ``bias_shift`` is subtracted from every hidden bias after it.
        dtype: ``"float32"`` or ``"float64"``.
        stats_steps: steps at which per-unit activation statistics are measured over the
            whole ``stats_split`` (``"train"``, ``"val"`` or ``"test"``).
        ablate: after training, the validation and test accuracy again with some outputs
            zeroed: ``"negative"`` every negative output (the network evaluated with slope
            0), ``"near-dead"`` every unit near-dead (``NEAR_DEAD``) at the last
            ``stats_steps`` measurement, which must be ``steps``; ``""``: none.

    Examples:
        >>> c = TrainConfig(model="mlp", activation="relu", seeds=(0, 1), steps=10)
        >>> c.activation, c.eval_steps
        (0.0, (0, 10))
        >>> TrainConfig.from_dict(c.to_dict()) == c
        True
    """

    model: str = "mlp"
    dataset: str = "mnist1d"
    activation: float | str | None = 0.0
    seeds: tuple[int, ...] = (0,)
    optimizer: str = "adam"
    lr: float = 1e-2
    batch_size: int = 100
    steps: int = 6000
    eval_every: int = 500
    val: float = 0.125
    split_seed: int = 0
    batch_order: str = "shuffle"
    init: str = "default"
    bias_shift: float = 0.0
    dtype: str = "float32"
    stats_steps: tuple[int, ...] = ()
    stats_split: str = "train"
    slopes: tuple[float, ...] = ()
    lrs: tuple[float, ...] = ()
    ablate: str = ""

    def __post_init__(self) -> None:
        put = object.__setattr__
        act, init, shift = _models.check_model_options(
            self.model, self.activation, self.init, self.bias_shift, _F
        )
        put(self, "activation", act)
        put(self, "init", init)
        put(self, "bias_shift", shift)
        _checks.one_of(self.dataset, "dataset", _F, DATASETS)
        put(self, "seeds", _checks.int_tuple(self.seeds, "seeds", _F))
        _checks.one_of(self.optimizer, "optimizer", _F, OPTIMIZERS)
        put(self, "lr", _validate.positive_real(self.lr, "lr", _F))
        put(self, "batch_size", _checks.count(self.batch_size, "batch_size", _F, low=1))
        put(self, "steps", _checks.count(self.steps, "steps", _F, low=0))
        put(self, "eval_every", _checks.count(self.eval_every, "eval_every", _F, low=0))
        put(self, "val", _checks.fraction(self.val, "val", _F))
        put(self, "split_seed", _checks.count(self.split_seed, "split_seed", _F, low=0))
        _checks.one_of(self.batch_order, "batch_order", _F, BATCH_ORDERS)
        _checks.one_of(self.dtype, "dtype", _F, tuple(DTYPES))
        stats = _checks.int_tuple(self.stats_steps, "stats_steps", _F, empty=True)
        if any(s > self.steps for s in stats):
            raise ValueError(
                f"The 'stats_steps' parameter of {_F} must hold steps in [0, steps={self.steps}]."
                f" Got {stats} instead."
            )
        put(self, "stats_steps", tuple(sorted(stats)))
        _checks.one_of(self.stats_split, "stats_split", _F, SPLITS)
        if isinstance(self.ablate, bool):  # plans stored before the modes had names
            put(self, "ablate", "negative" if self.ablate else "")
        _checks.one_of(self.ablate, "ablate", _F, ABLATIONS)
        if self.ablate == "near-dead" and self.steps not in stats:
            raise ValueError(
                f"The 'ablate' parameter of {_F} is 'near-dead', which zeroes the units "
                f"near-dead at the end: 'stats_steps' must include steps={self.steps}."
            )
        slopes = tuple(_validate.closed_fraction(a, "slopes", _F) for a in self.slopes)
        put(self, "slopes", slopes)
        put(self, "lrs", tuple(_validate.positive_real(lr, "lrs", _F) for lr in self.lrs))
        if slopes and not isinstance(self.activation, float):
            raise ValueError(
                f"The 'slopes' parameter of {_F} gives each member a slope of leaky's "
                f"function; the 'activation' must then be a slope too. Got {self.activation!r}."
            )
        if self.model == "cnn" and self.dataset == "spirals":
            raise ValueError(
                f"The 'model' parameter of {_F} is 'cnn', whose first convolution (kernel 5) "
                "needs signals of length >= 3; the data set 'spirals' has 2 features. Choose "
                "'logistic' or 'mlp' for spirals."
            )
        if self.stats_split == "val" and self.val == 0 and stats:
            raise ValueError(
                f"The 'stats_split' parameter of {_F} is 'val' but no validation split is "
                "held out (val=0). Choose 'train' or 'test', or set val > 0."
            )

    @property
    def eval_steps(self) -> tuple[int, ...]:
        """The steps at which every member is measured: 0, every ``eval_every``, ``steps``."""
        every = range(0, self.steps + 1, self.eval_every) if self.eval_every else ()
        return tuple(sorted({0, self.steps, *every}))

    @property
    def members(self) -> tuple[tuple[float | str | None, float, int], ...]:
        """Every member's ``(activation, lr, seed)``, in the order of the results.

        Examples:
            >>> TrainConfig(slopes=(0.0, 0.1), lrs=(0.1, 1.0), seeds=(7,)).members[:2]
            ((0.0, 0.1, 7), (0.0, 1.0, 7))
        """
        acts = self.slopes or (self.activation,)
        lrs = self.lrs or (self.lr,)
        return tuple((a, lr, seed) for a in acts for lr in lrs for seed in self.seeds)

    @property
    def grid(self) -> bool:
        """True when members differ in slope or learning rate (``slopes`` or ``lrs``)."""
        return bool(self.slopes or self.lrs)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied (and checked)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (tuples become lists); an empty grid is left out."""
        d = dataclasses.asdict(self)
        d["seeds"], d["stats_steps"] = list(self.seeds), list(self.stats_steps)
        for key in ("slopes", "lrs"):
            if d[key]:
                d[key] = list(d[key])
            else:
                del d[key]
        if not d["ablate"]:
            del d["ablate"]
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """The inverse of ``to_dict``; an unknown key raises, naming the valid ones."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(
                f"TrainConfig.from_dict got unknown keys {unknown}. Valid keys: {sorted(names)}."
            )
        d = dict(data)
        for key in ("seeds", "stats_steps", "slopes", "lrs"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)


# --- results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteStats:
    """Per-unit activation statistics of one hidden layer of one member, over a whole split.

    A unit is a feature of a Linear layer or a channel of a convolution (counted over
    inputs and positions). ``positive_fraction[u]``: the fraction of inputs on which unit
    ``u``'s pre-activation was > 0 (0 means dead under ReLU, negative-regime under Leaky
    ReLU); ``zero_fraction[u]``: the fraction of its outputs exactly 0; ``abs_histogram``:
    counts of ``|output|`` over the layer in the bins of ``ABS_EDGES``; ``nan_count``:
    NaN outputs (not in the histogram). Graded sparsity, over the layer's outputs on the
    whole split: ``near_zero``, the fraction of outputs with ``|h|`` below ``NEAR_ZERO``
    times the layer's mean ``|h|``; ``hoyer``, the mean over inputs of the Hoyer sparsity of
    the input's output vector (``(sqrt(d) - |h|_1 / |h|_2) / (sqrt(d) - 1)``: 0 when every
    entry has the same size, 1 when one entry holds everything; 1 for an all-zero vector).
    NaN outputs are left out of both.
    """

    site: str
    positive_fraction: tuple[float, ...]
    zero_fraction: tuple[float, ...]
    abs_histogram: tuple[int, ...]
    nan_count: int
    near_zero: float = math.nan
    hoyer: float = math.nan
    near_zero_curve: tuple[float, ...] = ()  # at each of NEAR_ZERO_CURVE

    def to_dict(self) -> dict[str, Any]:
        d = {
            "site": self.site,
            "positive_fraction": json_safe(self.positive_fraction),
            "zero_fraction": json_safe(self.zero_fraction),
            "abs_histogram": list(self.abs_histogram),
            "nan_count": self.nan_count,
            "near_zero": json_safe([self.near_zero])[0],
            "hoyer": json_safe([self.hoyer])[0],
        }
        if self.near_zero_curve:
            d["near_zero_curve"] = json_safe(self.near_zero_curve)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SiteStats:
        return cls(
            d["site"],
            floats(d["positive_fraction"]),
            floats(d["zero_fraction"]),
            tuple(int(c) for c in d["abs_histogram"]),
            int(d["nan_count"]),
            floats([d.get("near_zero")])[0],
            floats([d.get("hoyer")])[0],
            floats(d.get("near_zero_curve", ())),
        )


@dataclass(frozen=True)
class ActivationSnapshot:
    """Every hidden layer's ``SiteStats`` of one member at one step, on one split."""

    step: int
    split: str
    sites: tuple[SiteStats, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "split": self.split, "sites": [s.to_dict() for s in self.sites]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ActivationSnapshot:
        return cls(int(d["step"]), d["split"], tuple(SiteStats.from_dict(s) for s in d["sites"]))


_CURVES = tuple(f"{split}_{m}" for split in SPLITS for m in ("loss", "acc"))


@dataclass(frozen=True)
class MemberResult:
    """One member (seed) of a batched run: its curves at ``TrainResult.steps``, its fate.

    ``*_loss`` is the mean cross-entropy and ``*_acc`` the accuracy (a fraction) over the
    whole split at each evaluation step; NaN where the member's outputs were not finite
    (after divergence), and empty tuples for ``val_*`` when no validation split was held
    out. ``initial_loss`` is ``train_loss[0]``, before any step. ``diverged_step`` is the
    first step whose minibatch loss, or the first evaluation whose loss, was not finite.
    """

    seed: int
    diverged: bool
    diverged_step: int | None
    train_loss: tuple[float, ...]
    train_acc: tuple[float, ...]
    val_loss: tuple[float, ...]
    val_acc: tuple[float, ...]
    test_loss: tuple[float, ...]
    test_acc: tuple[float, ...]
    activations: tuple[ActivationSnapshot, ...] = ()
    slope: float | None = None  # a grid's member: its slope and learning rate
    lr: float | None = None
    ablated_val_acc: float | None = None  # with outputs zeroed (``TrainConfig.ablate``)
    ablated_test_acc: float | None = None

    @property
    def initial_loss(self) -> float:
        return self.train_loss[0]

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "seed": self.seed,
            "diverged": self.diverged,
            "diverged_step": self.diverged_step,
        }
        d |= {name: json_safe(getattr(self, name)) for name in _CURVES}
        d["activations"] = [a.to_dict() for a in self.activations]
        if self.lr is not None:
            d["slope"], d["lr"] = self.slope, self.lr
        if self.ablated_test_acc is not None:
            d["ablated_val_acc"] = json_safe(self.ablated_val_acc)
            d["ablated_test_acc"] = json_safe(self.ablated_test_acc)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MemberResult:
        return cls(
            seed=int(d["seed"]),
            diverged=bool(d["diverged"]),
            diverged_step=None if d["diverged_step"] is None else int(d["diverged_step"]),
            **{name: floats(d[name]) for name in _CURVES},
            activations=tuple(ActivationSnapshot.from_dict(a) for a in d["activations"]),
            slope=d.get("slope"),
            lr=d.get("lr"),
            ablated_val_acc=_optional_float(d.get("ablated_val_acc", False)),
            ablated_test_acc=_optional_float(d.get("ablated_test_acc", False)),
        )


def _optional_float(value: Any) -> float | None:
    """A stored optional number: absent (False) is None, null is NaN."""
    if value is False:
        return None
    return math.nan if value is None else float(value)


@dataclass(frozen=True)
class TrainResult:
    """What ``train`` returns: the configuration, the evaluation steps, one result per seed.

    Examples:
        >>> r = train(TrainConfig(dataset="spirals", steps=4, eval_every=2, seeds=(0, 1)))
        >>> r.steps, len(r.members), r.final("test_acc").shape
        ((0, 2, 4), 2, (2,))
        >>> TrainResult.from_dict(r.to_dict()).to_dict() == r.to_dict()
        True
    """

    config: TrainConfig
    steps: tuple[int, ...]
    members: tuple[MemberResult, ...]

    def curve(self, name: str) -> np.ndarray:
        """``(members, steps)`` array of one curve, e.g. ``"test_acc"`` (NaN kept)."""
        _checks.one_of(name, "name", "TrainResult.curve", _CURVES)
        return np.array([getattr(m, name) for m in self.members], dtype=np.float64).reshape(
            len(self.members), -1
        )

    def final(self, name: str) -> np.ndarray:
        """One value per member at the last step, e.g. ``final("test_acc")`` (NaN kept)."""
        return self.curve(name)[:, -1]

    @property
    def diverged(self) -> np.ndarray:
        """One bool per member."""
        return np.array([m.diverged for m in self.members])

    def to_dict(self) -> dict[str, Any]:
        """JSON types only; NaN becomes None."""
        return {
            "config": self.config.to_dict(),
            "steps": list(self.steps),
            "members": [m.to_dict() for m in self.members],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainResult:
        return cls(
            TrainConfig.from_dict(d["config"]),
            tuple(int(s) for s in d["steps"]),
            tuple(MemberResult.from_dict(m) for m in d["members"]),
        )


# --- batched layers and models ---------------------------------------------------------


class BatchedLinear(nn.Module):
    """``members`` Linear layers in one: ``y[m] = x[m] @ weight[m] + bias[m]``.

    ``weight`` has shape ``(members, in, out)`` (member ``m``'s ``nn.Linear.weight.T``),
    ``bias`` ``(members, 1, out)``; ``x`` is ``(members, batch, in)``.
    """

    def __init__(self, layers: Sequence[nn.Linear]) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.stack([lin.weight.detach().t() for lin in layers]))
        self.bias = nn.Parameter(torch.stack([lin.bias.detach() for lin in layers]).unsqueeze(1))

    def forward(self, x: Tensor) -> Tensor:
        return torch.baddbmm(self.bias, x, self.weight)

    def member(self, m: int) -> nn.Linear:
        _, fan_in, fan_out = self.weight.shape
        w = self.weight
        lin = nn.Linear(fan_in, fan_out, device="meta", dtype=w.dtype).to_empty(device=w.device)
        with torch.no_grad():
            lin.weight.copy_(w[m].t())
            lin.bias.copy_(self.bias[m, 0])
        return lin


def _bias(layer: nn.Conv1d | nn.Linear) -> Tensor:
    """A layer's bias (the paper's layers all have one)."""
    if layer.bias is None:
        raise ValueError(f"{type(layer).__name__} has no bias; the batched layers need one.")
    return layer.bias


class BatchedConv1d(nn.Module):
    """``members`` Conv1d layers in one, as im2col and one batched matrix product.

    Works channels-last: ``(members, batch, length, channels)`` in and out. The columns
    are the ``kernel`` strided slices of the padded input side by side, so
    ``weight`` is ``(members, kernel * in, out)`` (row ``j * in + c`` is tap ``j`` of input
    channel ``c``) and ``bias`` ``(members, 1, out)``. (A grouped ``conv1d`` with one group
    per member computes the same, but oneDNN runs it several times slower on CPU than
    this; the backward of these slices is cheap, that of ``Tensor.unfold`` is not.)
    """

    def __init__(self, layers: Sequence[nn.Conv1d]) -> None:
        super().__init__()
        first = layers[0]
        if not isinstance(first.padding, tuple):  # "same"/"valid": not the paper's CNN
            raise ValueError(f"BatchedConv1d needs a numeric padding. Got {first.padding!r}.")
        (self.kernel,), (self.stride,), (self.padding,) = (
            first.kernel_size,
            first.stride,
            first.padding,
        )
        out, fan_in, kernel = first.weight.shape
        self.weight = nn.Parameter(
            torch.stack(
                [c.weight.detach().permute(2, 1, 0).reshape(kernel * fan_in, out) for c in layers]
            )
        )
        self.bias = nn.Parameter(torch.stack([_bias(c) for c in layers]).unsqueeze(1))

    def forward(self, x: Tensor) -> Tensor:
        members, batch, length, _ = x.shape
        k, s, p = self.kernel, self.stride, self.padding
        xp = F.pad(x, (0, 0, p, p)) if p else x
        out_length = (length + 2 * p - k) // s + 1
        span = s * (out_length - 1) + 1
        cols = torch.cat([xp[:, :, j : j + span : s] for j in range(k)], dim=3)
        y = torch.baddbmm(self.bias, cols.view(members, batch * out_length, -1), self.weight)
        return y.view(members, batch, out_length, -1)

    def member(self, m: int) -> nn.Conv1d:
        _, rows, out = self.weight.shape
        fan_in = rows // self.kernel
        w = self.weight
        conv = nn.Conv1d(
            fan_in,
            out,
            self.kernel,
            stride=self.stride,
            padding=self.padding,
            device="meta",
            dtype=w.dtype,
        ).to_empty(device=w.device)
        with torch.no_grad():
            conv.weight.copy_(w[m].reshape(self.kernel, fan_in, out).permute(2, 1, 0))
            _bias(conv).copy_(self.bias[m, 0])
        return conv


class BatchedModule(nn.Module):
    """A batched model: ``(members, batch, features) -> (members, batch, classes)``;
    ``member(m)`` gives member ``m`` back as a plain model."""

    def member(self, m: int) -> nn.Module:
        raise NotImplementedError


class BatchedLogistic(BatchedModule):
    """Logistic regression members: ``(members, batch, features) -> (members, batch, classes)``."""

    def __init__(self, members: Sequence[_models.Logistic]) -> None:
        super().__init__()
        self.template = members[0]
        self.linear = BatchedLinear([m.linear for m in members])

    def forward(self, x: Tensor, record: list[Tensor] | None = None) -> Tensor:
        return self.linear(x)

    def member(self, m: int) -> nn.Module:
        t = self.template
        with torch.device("meta"):
            out = _models.Logistic(t.features, t.classes)
        out.linear = self.linear.member(m)
        return out


class BatchedMLP(BatchedModule):
    """The paper's MLP, members batched; ``record`` gets ``(members, batch, hidden)`` tensors."""

    def __init__(self, members: Sequence[_models.MLP]) -> None:
        super().__init__()
        self.template = members[0]
        self.linear1 = BatchedLinear([m.linear1 for m in members])
        self.linear2 = BatchedLinear([m.linear2 for m in members])
        self.linear3 = BatchedLinear([m.linear3 for m in members])
        self.act = members[0].act  # element-wise, stateless: one layer serves every member
        self.residual = members[0].residual

    # The same computation as the single model's (linear1/2/3 and act are batched here).
    forward = _models.MLP.forward

    def member(self, m: int) -> nn.Module:
        t = self.template
        with torch.device("meta"):
            out = type(t)(t.features, t.classes, t.hidden)
        out.act = self.act
        for name in ("linear1", "linear2", "linear3"):
            setattr(out, name, getattr(self, name).member(m))
        return out


class BatchedCNN(BatchedModule):
    """The paper's CNN, members batched, computed channels-last.

    The classifier reads the last convolution's ``(length, channels)`` features in that
    order, so its weight rows are the plain model's ``(channels, length)`` rows permuted
    (``member`` permutes them back). ``record`` gets the pre-activations as
    ``(members, batch, channels, length)`` tensors.
    """

    def __init__(self, members: Sequence[_models.CNN]) -> None:
        super().__init__()
        t = self.template = members[0]
        self.conv1 = BatchedConv1d([m.conv1 for m in members])
        self.conv2 = BatchedConv1d([m.conv2 for m in members])
        self.conv3 = BatchedConv1d([m.conv3 for m in members])
        self.length = _models.conv_length(t.features, t.kernels)
        self.linear = BatchedLinear([self._to_ours(m.linear) for m in members])
        self.act = t.act

    def _to_ours(self, linear: nn.Linear) -> nn.Linear:
        """Reorder the classifier's inputs from (channels, length) to (length, channels)."""
        out = nn.Linear(linear.in_features, linear.out_features, device="meta")
        out = out.to_empty(device=linear.weight.device).to(linear.weight.dtype)
        c, n = self.template.channels, self.length
        with torch.no_grad():
            out.weight.copy_(linear.weight.view(-1, c, n).transpose(1, 2).reshape(-1, c * n))
            out.bias.copy_(linear.bias)
        return out

    def forward(self, x: Tensor, record: list[Tensor] | None = None) -> Tensor:
        members, batch, length = x.shape
        h = x.reshape(members, batch, length, 1)
        for conv in (self.conv1, self.conv2, self.conv3):
            z = conv(h)
            if record is not None:
                record.append(z.transpose(2, 3))
            h = self.act(z)
        return self.linear(h.reshape(members, batch, -1))

    def member(self, m: int) -> nn.Module:
        t = self.template
        with torch.device("meta"):
            out = _models.CNN(t.features, t.classes, t.channels)
        out.act = self.act
        for name in ("conv1", "conv2", "conv3"):
            setattr(out, name, getattr(self, name).member(m))
        ours = self.linear.member(m)
        c, n = t.channels, self.length
        with torch.no_grad():
            ours.weight.copy_(ours.weight.view(-1, n, c).transpose(1, 2).reshape(-1, c * n))
        out.linear = ours
        return out


class StackedMembers(BatchedModule):
    """Any plain models as members of one model, run one after another (e.g. the GRU).

    Equivalent to training each alone by construction; not faster.
    """

    def __init__(self, members: Sequence[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: Tensor, record: list[Tensor] | None = None) -> Tensor:
        parts: list[list[Tensor]] = []
        outs = []
        for i, model in enumerate(self.members):
            rec: list[Tensor] | None = [] if record is not None else None
            outs.append(model(x[i], record=rec))
            if rec is not None:
                parts.append(rec)
        if record is not None and parts and parts[0]:
            record += [torch.stack(site) for site in zip(*parts, strict=True)]
        return torch.stack(outs)

    def member(self, m: int) -> nn.Module:
        return self.members[m]


_BATCHED: dict[type, type[BatchedModule]] = {
    _models.Logistic: BatchedLogistic,
    _models.MLP: BatchedMLP,
    _models.PlainMLP: BatchedMLP,
    _models.CNN: BatchedCNN,
}


def batched_model(members: Sequence[nn.Module]) -> BatchedModule:
    """One batched model of plain models of one class (their parameters copied, stacked).

    ``model.member(m)`` gives member ``m`` back as a plain model.

    Examples:
        >>> plain = [_models.build("mlp", 0.0, seed=s) for s in (0, 1)]
        >>> both = batched_model(plain)
        >>> x = torch.randn(5, 40)
        >>> out = both(x.expand(2, 5, 40))
        >>> torch.allclose(out[1], plain[1](x), atol=1e-6)
        True
    """
    kind = type(members[0])
    if any(type(m) is not kind for m in members):
        raise ValueError("batched_model needs members of one class.")
    return _BATCHED.get(kind, StackedMembers)(members)


class _Single(BatchedModule):
    """A plain model seen as a batched model of one member (the sequential reference)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor, record: list[Tensor] | None = None) -> Tensor:
        rec: list[Tensor] | None = [] if record is not None else None
        out = self.model(x[0], record=rec)
        if record is not None and rec is not None:
            record += [r.unsqueeze(0) for r in rec]
        return out.unsqueeze(0)

    def member(self, m: int) -> nn.Module:
        return self.model


class MemberSlopes(nn.Module):
    """Leaky ReLU with one slope per member (dim 0): a grid's activation.

    ``z`` if ``z >= 0`` else ``slope[m] * z``, rounded once, with the contract's values at
    the edges (derivative 1 at 0; ``-inf`` with slope 0 gives 0, never NaN): what leaky's
    layer gives each member alone, computed for all of them at once.
    """

    slopes: Tensor

    def __init__(self, slopes: Sequence[float], dtype: torch.dtype) -> None:
        super().__init__()
        self.register_buffer("slopes", torch.tensor(slopes, dtype=dtype))

    def forward(self, z: Tensor) -> Tensor:
        a = self.slopes.view(-1, *([1] * (z.dim() - 1)))
        out = torch.where(z >= 0, z, z * a)
        return torch.where(torch.isneginf(z) & (a == 0), torch.zeros_like(z), out)


class MemberOptimizer:
    """Adam, SGD or SGD with momentum, with one learning rate per member.

    Every parameter of a batched model stacks its members along dim 0; the update is
    PyTorch's (``torch.optim.Adam`` with its defaults; ``torch.optim.SGD``, momentum 0 or
    ``MOMENTUM``), with the step size a per-member tensor broadcast along dim 0.
    """

    def __init__(self, params: Any, kind: str, lrs: Sequence[float]) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.kind = kind
        self.lrs = torch.tensor(lrs, dtype=torch.float64)
        self.state: list[dict[str, Tensor]] = [{} for _ in self.params]
        self.t = 0

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.t += 1
        for p, state in zip(self.params, self.state, strict=True):
            if p.grad is None:
                continue
            g = p.grad
            lr = self.lrs.to(p.dtype).view(-1, *([1] * (p.dim() - 1)))
            if self.kind == "adam":
                beta1, beta2, eps = 0.9, 0.999, 1e-8
                if not state:
                    state["m"], state["v"] = torch.zeros_like(p), torch.zeros_like(p)
                m, v = state["m"], state["v"]
                m.lerp_(g, 1 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                step_size = lr / (1 - beta1**self.t)
                denom = (v.sqrt() / math.sqrt(1 - beta2**self.t)).add_(eps)
                p.sub_(step_size * m / denom)
            elif self.kind == "sgd-momentum":
                if "buf" not in state:
                    state["buf"] = g.clone()
                else:
                    state["buf"].mul_(MOMENTUM).add_(g)
                p.sub_(lr * state["buf"])
            else:
                p.sub_(lr * g)


# --- data, batches, seeds --------------------------------------------------------------


def stream_seed(seed: int, stream: int) -> int:
    """An independent 63-bit seed for stream ``stream`` of member ``seed`` (SeedSequence).

    Examples:
        >>> stream_seed(0, 1) == stream_seed(0, 1) != stream_seed(1, 1)
        True
    """
    state = np.random.SeedSequence([seed, stream]).generate_state(2, np.uint32)
    return (int(state[0]) << 31) ^ int(state[1])


_ORDER_STREAM = 1  # stream 0 is the seed itself (the initialisation)


def _load(config: TrainConfig):  # -> leaky.lab.data.Dataset
    from leaky.lab import data

    return data.load(config.dataset, seed=config.split_seed, val=config.val)


def batch_indices(config: TrainConfig, seed: int) -> Iterator[Tensor]:
    """The training indices member ``seed`` sees, step by step (int64 tensors).

    ``"shuffle"``: a permutation per epoch from the member's own generator, cut into
    ``n // batch_size`` batches; ``"cycle"``: the authors' ``(t * B) % n`` slices.

    Examples:
        >>> c = TrainConfig(dataset="spirals", batch_size=4, steps=2)
        >>> it = batch_indices(c, seed=0)
        >>> next(it).shape
        torch.Size([4])
    """
    n = len(_load(config).y_train)
    return _index_stream(config, seed, n)


def _index_stream(config: TrainConfig, seed: int, n: int) -> Iterator[Tensor]:
    b = config.batch_size
    if config.batch_order == "cycle":
        step = 0
        while True:
            start = (step * b) % n
            yield torch.arange(start, min(start + b, n))
            step += 1
    if b > n:
        raise ValueError(
            f"The 'batch_size' parameter of {_F} must be at most the training split's size "
            f"({n}) with batch_order='shuffle'. Got {b} instead."
        )
    generator = torch.Generator().manual_seed(stream_seed(seed, _ORDER_STREAM))
    while True:
        perm = torch.randperm(n, generator=generator)
        for k in range(n // b):
            yield perm[k * b : (k + 1) * b]


# --- measuring ---------------------------------------------------------------------------


class _SiteCounter:
    """Accumulates per-unit statistics of one site over chunks: ``(members, n, units, *)``."""

    def __init__(self) -> None:
        self.positive: Tensor | None = None
        self.zero: Tensor | None = None
        self.hist: Tensor | None = None
        self.nan: Tensor | None = None
        self.count = 0
        self.outputs: list[Tensor] = []  # (members, n, d) per chunk: for the graded measures

    def add(self, z: Tensor, h: Tensor) -> None:
        members, n = z.shape[:2]
        reduce = (1, *range(3, z.dim()))
        positive = (z > 0).sum(dim=reduce, dtype=torch.int64)
        zero = (h == 0).sum(dim=reduce, dtype=torch.int64)
        a = h.abs().reshape(members, -1)
        finite = ~torch.isnan(a)
        edges = torch.tensor(ABS_EDGES, dtype=a.dtype)
        bucket = torch.where(a == 0, 0, torch.bucketize(a, edges, right=True) + 1)
        bucket = torch.where(finite, bucket, len(ABS_EDGES) + 2)  # a NaN bucket, dropped
        bins = len(ABS_EDGES) + 3
        offsets = torch.arange(members).unsqueeze(1) * bins
        hist = torch.bincount((bucket + offsets).reshape(-1), minlength=members * bins)
        hist = hist.reshape(members, bins)
        nan = hist[:, -1].clone()
        hist = hist[:, :-1]
        if self.positive is None or self.zero is None or self.hist is None or self.nan is None:
            self.positive, self.zero, self.hist, self.nan = positive, zero, hist, nan
        else:
            self.positive += positive
            self.zero += zero
            self.hist += hist
            self.nan += nan
        self.count += n * int(np.prod(z.shape[3:], dtype=np.int64))
        self.outputs.append(h.reshape(members, n, -1).float())

    def result(self, m: int, site: str) -> SiteStats:
        assert self.positive is not None and self.zero is not None
        assert self.hist is not None and self.nan is not None
        near_zero, hoyer, curve = self._graded(m)
        return SiteStats(
            site,
            tuple((self.positive[m].double() / self.count).tolist()),
            tuple((self.zero[m].double() / self.count).tolist()),
            tuple(int(c) for c in self.hist[m].tolist()),
            int(self.nan[m]),
            near_zero,
            hoyer,
            curve,
        )

    def _graded(self, m: int) -> tuple[float, float, tuple[float, ...]]:
        """Member ``m``'s near-zero fraction (at ``NEAR_ZERO`` and along the curve) and mean
        Hoyer sparsity over the whole split."""
        h = torch.cat([o[m] for o in self.outputs]).double()  # (n, d)
        ok = ~torch.isnan(h).any(dim=1)
        h = h[ok]
        if h.numel() == 0:
            return math.nan, math.nan, tuple(math.nan for _ in NEAR_ZERO_CURVE)
        a = h.abs()
        mean = float(a.mean())

        def near_at(cut: float) -> float:
            return float((a < cut * mean).double().mean()) if mean > 0 else 1.0

        near = near_at(NEAR_ZERO)
        curve = tuple(near_at(cut) for cut in NEAR_ZERO_CURVE)
        d = a.shape[1]
        if d < 2:
            return near, math.nan, curve
        l1, l2 = a.sum(dim=1), h.pow(2).sum(dim=1).sqrt()
        root = math.sqrt(d)
        ratio = torch.where(l2 > 0, l1 / l2.clamp_min(torch.finfo(l2.dtype).tiny), root)
        hoyer = torch.where(l2 > 0, (root - ratio) / (root - 1), torch.ones_like(l1))
        return near, float(hoyer.mean()), curve


def _evaluate(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    members: int,
    sites: tuple[str, ...] = (),
    act: nn.Module | None = None,
) -> tuple[Tensor, Tensor, list[_SiteCounter]]:
    """Mean loss and accuracy per member over a whole split (and per-unit counts).

    With ``sites``, the hidden pre-activations are recorded and counted per unit; ``act``
    (the model's activation) turns them into the outputs whose zeros and sizes are counted.
    """
    loss_sum = torch.zeros(members, dtype=torch.float64)
    correct = torch.zeros(members, dtype=torch.int64)
    finite = torch.ones(members, dtype=torch.bool)
    counters = [_SiteCounter() for _ in sites]
    with torch.no_grad():
        for start in range(0, len(y), EVAL_CHUNK):
            xb, yb = x[start : start + EVAL_CHUNK], y[start : start + EVAL_CHUNK]
            record: list[Tensor] | None = [] if sites else None
            logits = model(xb.expand(members, *xb.shape), record=record)
            finite &= torch.isfinite(logits).flatten(1).all(1)
            losses = F.cross_entropy(
                logits.flatten(0, 1), yb.repeat(members), reduction="none"
            ).view(members, -1)
            loss_sum += losses.double().sum(1)
            correct += (logits.argmax(-1) == yb).sum(1)
            if record:
                for counter, z in zip(counters, record, strict=True):
                    counter.add(z, act(z) if act is not None else z)
    n = max(len(y), 1)
    nan = torch.full((members,), math.nan, dtype=torch.float64)
    loss = torch.where(finite, loss_sum / n, nan)
    acc = torch.where(finite, correct.double() / n, nan)
    return loss, acc, counters


class _SiteMask(nn.Module):
    """The model's activation with per-member, per-unit masks: ``masks[k]`` (members,
    units) multiplies the output of the ``k``-th call, the ``k``-th hidden site (the
    models call their activation once per site, in ``hidden_layers`` order)."""

    def __init__(self, act: nn.Module, masks: list[Tensor]) -> None:
        super().__init__()
        self.act, self.masks, self.calls = act, masks, 0

    def forward(self, z: Tensor) -> Tensor:
        mask = self.masks[self.calls % len(self.masks)]
        self.calls += 1
        return self.act(z) * mask.view(*mask.shape[:1], 1, mask.shape[1], *[1] * (z.dim() - 3))


def _optimizer(config: TrainConfig, params: Any, lrs: Sequence[float] | None = None) -> Any:
    """PyTorch's optimizer for one learning rate; ``MemberOptimizer`` for one per member."""
    if lrs is not None:
        return MemberOptimizer(params, config.optimizer, lrs)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr)
    momentum = MOMENTUM if config.optimizer == "sgd-momentum" else 0.0
    return torch.optim.SGD(params, lr=config.lr, momentum=momentum)


def _fit(
    model: BatchedModule,
    config: TrainConfig,
    seeds: tuple[int, ...],
    lrs: Sequence[float] | None = None,
) -> list[MemberResult]:
    """The training loop every path shares: ``model`` maps (members, B, F) -> (members, B, C)."""
    dtype = DTYPES[config.dtype]
    data = _load(config)
    splits = {}
    for name in SPLITS:
        x, y = data.split(name)
        if name == "val" and len(y) == 0:
            continue
        splits[name] = (torch.tensor(x, dtype=dtype), torch.tensor(y))
    x_train, y_train = splits["train"]
    members = len(seeds)
    streams = [_index_stream(config, s, len(y_train)) for s in seeds]
    template = model.member(0)
    sites = tuple(getattr(template, "hidden_layers", ()))
    act = getattr(template, "act", None)
    opt = _optimizer(config, model.parameters(), lrs)
    evals = set(config.eval_steps)
    curves: dict[str, list[list[float]]] = {name: [] for name in _CURVES}
    diverged_at: list[int | None] = [None] * members
    snapshots: list[list[ActivationSnapshot]] = [[] for _ in seeds]

    def measure(step: int) -> None:
        for name, (x, y) in splits.items():
            loss, acc, _ = _evaluate(model, x, y, members)
            curves[f"{name}_loss"].append(loss.tolist())
            curves[f"{name}_acc"].append(acc.tolist())
            for m in torch.nonzero(~torch.isfinite(loss)).flatten().tolist():
                if diverged_at[m] is None:
                    diverged_at[m] = step

    def probe(step: int) -> None:
        x, y = splits[config.stats_split]
        _, _, counters = _evaluate(model, x, y, members, sites, act)
        for m in range(members):
            stats = tuple(c.result(m, s) for c, s in zip(counters, sites, strict=True))
            snapshots[m].append(ActivationSnapshot(step, config.stats_split, stats))

    stats_steps = set(config.stats_steps) if sites else set()
    for step in range(config.steps + 1):
        if step in evals:
            measure(step)
        if step in stats_steps:
            probe(step)
        if step == config.steps:
            break
        idx = torch.stack([next(s) for s in streams])  # (members, B)
        xb = x_train.index_select(0, idx.flatten()).view(*idx.shape, -1)
        yb = y_train.index_select(0, idx.flatten())
        logits = model(xb)
        losses = F.cross_entropy(logits.flatten(0, 1), yb, reduction="none")
        losses = losses.view(idx.shape).mean(1)  # each member's own mean loss
        bad = ~torch.isfinite(losses.detach())
        if bad.any():
            for m in torch.nonzero(bad).flatten().tolist():
                if diverged_at[m] is None:
                    diverged_at[m] = step + 1
        opt.zero_grad(set_to_none=True)
        losses.sum().backward()
        opt.step()

    ablated: dict[str, list[float]] = {}
    if config.ablate and act is not None:
        saved = model.act
        if config.ablate == "negative":
            model.act = _models.build("mlp", 0.0, seed=0).act  # leaky's layer, slope 0
        else:  # "near-dead": the units the last measurement (at ``steps``) found near-dead
            alive = [
                torch.tensor(
                    [
                        [f >= NEAR_DEAD for f in snapshots[m][-1].sites[k].positive_fraction]
                        for m in range(members)
                    ],
                    dtype=x_train.dtype,
                )
                for k in range(len(sites))
            ]
            model.act = _SiteMask(act, alive)
        try:
            for name in ("val", "test"):
                if name in splits:
                    ablated[name] = _evaluate(model, *splits[name], members)[1].tolist()
        finally:
            model.act = saved
    results = []
    for m, seed in enumerate(seeds):
        values = {name: tuple(point[m] for point in curves[name]) for name in _CURVES}
        results.append(
            MemberResult(
                seed=seed,
                diverged=diverged_at[m] is not None,
                diverged_step=diverged_at[m],
                activations=tuple(snapshots[m]),
                train_loss=values["train_loss"],
                train_acc=values["train_acc"],
                val_loss=values["val_loss"],
                val_acc=values["val_acc"],
                test_loss=values["test_loss"],
                test_acc=values["test_acc"],
                ablated_val_acc=ablated["val"][m] if "val" in ablated else None,
                ablated_test_acc=ablated["test"][m] if "test" in ablated else None,
            )
        )
    return results


def _plain(config: TrainConfig, seed: int, activation: Any = "config") -> nn.Module:
    data = _load(config)
    return _models.build(
        config.model,
        config.activation if activation == "config" else activation,
        seed=seed,
        features=data.features,
        classes=data.classes,
        init=config.init,
        bias_shift=config.bias_shift,
        dtype=DTYPES[config.dtype],
    )


def train(config: TrainConfig) -> TrainResult:
    """Train every seed of ``config`` as one batched model; a pure function of ``config``.

    Examples:
        >>> c = TrainConfig(dataset="spirals", steps=20, eval_every=10, seeds=(0, 1, 2))
        >>> r = train(c)
        >>> r.steps, r.final("test_acc").shape, bool(r.diverged.any())
        ((0, 10, 20), (3,), False)
        >>> train(c) == r  # bit for bit
        True
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(
            f"The 'config' parameter of train must be a TrainConfig. "
            f"Got {_validate._received(config)} instead."
        )
    return train_models(config)[0]


def train_member(config: TrainConfig, seed: int) -> tuple[MemberResult, nn.Module]:
    """Train one seed alone as a plain ``nn.Module``, through the same loop as ``train``.

    The reference a batched member must equal (``seed`` need not be in ``config.seeds``);
    returns the member's result and the trained model.
    """
    seed = _checks.count(seed, "seed", "train_member", low=0)
    with one_thread():
        model = _plain(config, seed)
        (result,) = _fit(_Single(model), config, (seed,))
    return result, model


def train_models(config: TrainConfig) -> tuple[TrainResult, list[nn.Module]]:
    """Like ``train``, and also the trained members as plain models (to inspect or reuse)."""
    with one_thread():
        if config.grid:
            return _train_grid(config)
        model = batched_model([_plain(config, s) for s in config.seeds])
        members = _fit(model, config, config.seeds)
        plain = [model.member(m) for m in range(len(config.seeds))]
    return TrainResult(config, config.eval_steps, tuple(members)), plain


def _train_grid(config: TrainConfig) -> tuple[TrainResult, list[nn.Module]]:
    """Every ``(slope, lr, seed)`` of the grid as one batched model (``TrainConfig.members``).

    Member ``(a, lr, seed)`` starts from the parameters and follows the batch order that
    ``seed`` gives it alone, runs leaky's function with slope ``a`` (``MemberSlopes``) and
    steps with learning rate ``lr`` (``MemberOptimizer``): the same computation as
    ``train_member(config.replace(slopes=(), lrs=(), activation=a, lr=lr), seed)``, up to
    the rounding of batched matrix products.
    """
    grid = config.members
    model = batched_model([_plain(config, seed, activation=a) for a, _, seed in grid])
    if config.slopes:
        model.act = MemberSlopes([float(a) for a, _, _ in grid], DTYPES[config.dtype])  # type: ignore[arg-type]
    seeds = tuple(seed for _, _, seed in grid)
    fitted = _fit(model, config, seeds, [lr for _, lr, _ in grid])
    members = tuple(
        dataclasses.replace(r, slope=a if isinstance(a, float) else None, lr=lr)
        for r, (a, lr, _) in zip(fitted, grid, strict=True)
    )
    plain = []
    for m, (a, _, _) in enumerate(grid):
        member = model.member(m)
        if config.slopes:
            member.act = _models.build(config.model, a, seed=0).act  # its own leaky layer
        plain.append(member)
    return TrainResult(config, config.eval_steps, members), plain
