"""What the monitor counts as an activation: layers by kind, functional calls, and whether
the sign can be read on the output."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from leaky.nn import LeakyReLU

if TYPE_CHECKING:
    pass


# The kinds of activation layer the monitor finds by itself.
RELU_LIKE = (nn.ReLU, nn.ReLU6)
LEAKY_LIKE = (LeakyReLU, nn.LeakyReLU, nn.PReLU, nn.RReLU)
SMOOTH = (nn.GELU, nn.SiLU, nn.ELU, nn.SELU, nn.CELU, nn.Mish, nn.Hardswish, nn.Softplus)
ACTIVATIONS = RELU_LIKE + LEAKY_LIKE + SMOOTH
# Layers whose output is > 0 exactly where their input is, whatever their settings.
_ALWAYS_KEEP_SIGN = (*RELU_LIKE, nn.GELU, nn.SiLU, nn.Mish, nn.Hardswish, nn.SELU)

_STATE_VERSION = 1

# Layers whose unit is the channel, dim 1, also when their output is 3-d (N, C, L): there a
# bare activation would count the last axis, as of a Linear's (N, L, F). An activation
# whose input comes straight from one of these counts channels (``_counting``). Their 2-d
# and 3-d kin make 4-d and 5-d outputs, whose unit is dim 1 in any case: not hooked.
_CHANNEL_FIRST = (
    nn.Conv1d,
    nn.ConvTranspose1d,
    nn.BatchNorm1d,
    nn.SyncBatchNorm,
    nn.InstanceNorm1d,
    nn.GroupNorm,
    nn.MaxPool1d,
    nn.AvgPool1d,
    nn.LPPool1d,
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveMaxPool1d,
    nn.Dropout1d,
)

# torch's own layers that call no activation function in their forward: a model made only
# of these and watched activation layers needs no functional interception (the benchmark
# MLP and CNN, every nn.Sequential of standard layers), which saves its per-op cost.
_ACTIVATION_FREE = frozenset(
    {nn.Sequential, nn.ModuleList, nn.ModuleDict, nn.Identity, nn.Flatten, nn.Unflatten}
    | {nn.Linear, nn.Bilinear, nn.LazyLinear, nn.Embedding, nn.EmbeddingBag}
    | {nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d}
    | {nn.ConvTranspose3d, nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm}
    | {nn.GroupNorm, nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d, nn.RMSNorm}
    | {nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout}
    | {nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d}
    | {nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d}
    | {nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d, nn.Upsample}
    | {nn.Softmax, nn.LogSoftmax, nn.Sigmoid, nn.Tanh, nn.PixelShuffle, nn.PixelUnshuffle}
    | {nn.DataParallel, nn.parallel.DistributedDataParallel}
)


def _kind(module: nn.Module) -> str:
    if isinstance(module, LEAKY_LIKE):
        # slope 0 is ReLU: no output and no gradient below zero (leaky's ReLU control)
        return "relu" if getattr(module, "negative_slope", None) == 0 else "leaky"
    if isinstance(module, RELU_LIKE):
        return "relu"
    return "smooth"


def _module_keeps_sign(module: nn.Module) -> bool:
    """True when ``output > 0`` exactly where ``input > 0``, so the output can be counted.

    ``nn.LeakyReLU`` accepts a negative slope and ``nn.ELU``/``nn.CELU`` a negative
    ``alpha`` (then negative inputs give positive outputs); ``PReLU``'s learned weights and
    ``RReLU``'s bounds can turn negative during training; ``Softplus`` is positive
    everywhere. Those are counted on the input.
    """
    if isinstance(module, (nn.PReLU, nn.RReLU, nn.Softplus)):
        return False
    if isinstance(module, (nn.LeakyReLU, LeakyReLU)):
        return module.negative_slope >= 0
    if isinstance(module, (nn.ELU, nn.CELU)):
        return module.alpha >= 0
    return isinstance(module, ACTIVATIONS)


# ---------------------------------------------------------------- functional activations


def _arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], i: int, name: str, default: Any):
    return args[i] if len(args) > i else kwargs.get(name, default)


def _keeps_sign_always(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> bool:
    return True


def _keeps_sign_never(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> bool:
    return False


def _slope_keeps_sign(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> bool:
    return float(_arg(args, kwargs, 1, "negative_slope", 0.01)) >= 0


def _alpha_keeps_sign(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> bool:
    return float(_arg(args, kwargs, 1, "alpha", 1.0)) >= 0


@dataclass(frozen=True)
class _Function:
    label: str  # how the site is named: "F.relu", "Tensor.relu", ...
    kind: str  # "relu", "leaky" or "smooth"
    keeps_sign: Callable[[tuple[Any, ...], Mapping[str, Any]], bool]


def _function_table() -> dict[Any, _Function]:
    """Every functional activation the monitor intercepts, by identity."""
    entries: list[tuple[Any, str, str, Callable[..., bool]]] = [
        (F.relu, "F.relu", "relu", _keeps_sign_always),
        (F.relu_, "F.relu_", "relu", _keeps_sign_always),
        (torch.relu, "torch.relu", "relu", _keeps_sign_always),
        (Tensor.relu, "Tensor.relu", "relu", _keeps_sign_always),
        (Tensor.relu_, "Tensor.relu_", "relu", _keeps_sign_always),
        (F.relu6, "F.relu6", "relu", _keeps_sign_always),
        (F.leaky_relu, "F.leaky_relu", "leaky", _slope_keeps_sign),
        (F.leaky_relu_, "F.leaky_relu_", "leaky", _slope_keeps_sign),
        (torch._C._nn.leaky_relu, "leaky_relu", "leaky", _slope_keeps_sign),
        (F.prelu, "F.prelu", "leaky", _keeps_sign_never),
        (F.rrelu, "F.rrelu", "leaky", _keeps_sign_never),
        (F.rrelu_, "F.rrelu_", "leaky", _keeps_sign_never),
        (torch.rrelu, "torch.rrelu", "leaky", _keeps_sign_never),
        (F.gelu, "F.gelu", "smooth", _keeps_sign_always),
        (F.silu, "F.silu", "smooth", _keeps_sign_always),
        (F.mish, "F.mish", "smooth", _keeps_sign_always),
        (F.hardswish, "F.hardswish", "smooth", _keeps_sign_always),
        (F.elu, "F.elu", "smooth", _alpha_keeps_sign),
        (F.elu_, "F.elu_", "smooth", _alpha_keeps_sign),
        (F.celu, "F.celu", "smooth", _alpha_keeps_sign),
        (F.selu, "F.selu", "smooth", _keeps_sign_always),
        (torch.selu, "torch.selu", "smooth", _keeps_sign_always),
        (F.softplus, "F.softplus", "smooth", _keeps_sign_never),
    ]
    table: dict[Any, _Function] = {}
    for func, label, kind, keeps in entries:
        table.setdefault(func, _Function(label, kind, keeps))
    return table


_FUNCTIONS = _function_table()
# The names the source scan looks for (``F.gelu(``, ``x.relu()``, ``leaky_relu(``, ...).
ACTIVATION_NAMES = frozenset(
    {"relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "prelu", "rrelu", "rrelu_"}
    | {"gelu", "silu", "mish", "hardswish", "elu", "elu_", "celu", "selu", "softplus"}
)
