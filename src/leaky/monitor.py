"""Find dead, near-dead, dormant and negative-regime units while a PyTorch model trains.

``DeadUnitMonitor`` watches every activation site of a model — activation layers
(``nn.ReLU``, ``nn.GELU``, leaky's ``LeakyReLU``, ...) and functional calls made inside the
model's forward (``F.relu``, ``torch.relu``, ``x.relu()``, ``F.leaky_relu``, ``F.gelu``,
...) — and streams exact per-unit counts over every sample it sees (a *window*: the whole
data set by default, never silently one batch), in O(units) memory: it never keeps an
activation, and on CPU it counts in one pass over the activation without any full-size
temporary.

Definitions, per unit, over the window (``n`` = elements seen by the unit: batch x
positions; ``h`` = the activation's output, ``x`` = its input):

- **positive count** ``P``: inputs with ``x > 0`` (read on the output where the activation
  keeps the sign, on the input where it does not: ``Softplus``, ``PReLU``, ``RReLU``, a
  negative slope or ``alpha``).
- **non-finite**: the unit's output was NaN or ±inf at least once. Such a unit is reported
  as non-finite and **never** as dead, near-dead or dormant: the model diverged or was fed
  NaN, and that is what the report says.
- **dead** (ReLU-like activations): ``P == 0``: ReLU's output and gradient were 0 for every
  input, the unit cannot learn.
- **negative-regime** (Leaky ReLU and smooth activations): ``P == 0`` under an activation
  that still passes a gradient (scaled by the slope): alive, reported apart from the dead.
- **near-dead**: ``0 < P < near_dead * n`` (positive on fewer than 1 % of the inputs by
  default); the dead are not repeated here.
- **dormant (tau)**: ``s_i <= tau`` with the dormancy score ``s_i = mean(h_i⁺) /
  mean_j(mean(h_j⁺))``, where ``h⁺ = max(h, 0)`` is the positive part of the output and
  ``j`` runs over the layer's finite units. This is Sokar et al. (2023, "The Dormant
  Neuron Phenomenon in Deep Reinforcement Learning") on the *positive part*: their
  ``mean |h|`` would count Leaky's negative outputs as activity (a shocked Leaky network,
  off on 99 % of its inputs, scored 0 % dormant), so it could not be compared across
  activations. ``tau = 0.025`` by default (a threshold Sokar et al. use); ``tau = 0``
  leaves only the units that were never positive.
- **exact-zero fraction**: the fraction of output elements that are exactly 0.

A unit is a feature of the last dimension for Linear-style tensors (1-d to 3-d) and a
channel (dim 1) for convolution-style tensors (4-d and 5-d); ``unit_dim`` overrides it.

The monitor follows torchmetrics' ``Metric`` and ``torch.ao.quantization``'s observers:
``report()`` (alias ``compute()``), ``reset()``, ``state_dict()``/``load_state_dict()``
(exact integer counts, so a checkpointed and resumed run reports what an uninterrupted
one does), counts summed across processes under ``torch.distributed`` (``report()`` on
every rank describes the whole data set), ``pause()``, and batches run in ``eval()`` mode
are skipped unless ``count_eval=True``.

Acting on a report: ``revive`` (ReDo, Sokar et al. 2023). Logging it:
``to_tensorboard``; ``leaky.integrations.lightning.DeadUnitCallback`` for Lightning.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from leaky import _validate
from leaky.nn import LeakyReLU, _functional_calls

if TYPE_CHECKING:
    from torch.optim import Optimizer

__all__ = [
    "DeadUnitMonitor",
    "LayerReport",
    "MonitorReport",
    "diagnose",
    "revive",
    "to_tensorboard",
]

# The kinds of activation layer the monitor finds by itself.
RELU_LIKE = (nn.ReLU, nn.ReLU6)
LEAKY_LIKE = (LeakyReLU, nn.LeakyReLU, nn.PReLU, nn.RReLU)
SMOOTH = (nn.GELU, nn.SiLU, nn.ELU, nn.SELU, nn.CELU, nn.Mish, nn.Hardswish, nn.Softplus)
ACTIVATIONS = RELU_LIKE + LEAKY_LIKE + SMOOTH
# Layers whose output is > 0 exactly where their input is, whatever their settings.
_ALWAYS_KEEP_SIGN = (*RELU_LIKE, nn.GELU, nn.SiLU, nn.Mish, nn.Hardswish, nn.SELU)

_STATE_VERSION = 1

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


# ------------------------------------------------------------------------ the counting


def _default_unit_dim(ndim: int) -> int:
    return 1 if ndim >= 4 else ndim - 1


_KERNELS: dict[str, Any] = {}
_KERNELS_LOCK = threading.Lock()
_MAX_EXACT_F32 = 1 << 24  # float32 counts inside one kernel call stay exact below this


def _kernels() -> dict[str, Any]:
    """The one-pass counting loops (numba), compiled on first use and cached on disk.

    Each reads every element once and keeps no temporary beyond O(units x threads)
    accumulators: per unit, the positive count, the zero count, a non-finite check and
    the sum of the positive part (``rows_part``: an (A, U) array, units contiguous,
    vectorised over units, eight rows at a time; ``planes_part``: (A, U, L), vectorised
    over L). ``merge`` adds the partial results of each thread into the site's counts and
    returns False when a non-finite value was seen; ``nonfinite`` then counts those
    exactly (a second pass, only in such a batch). Large activations are split by rows
    over **PyTorch's own OpenMP team** (``leaky._openmp``, as leaky's layer does: never a
    second thread pool); those under ``_TEAM_MIN_BYTES`` run on the calling thread. One
    pass costs about what one ``tensor.sum()`` over the same activation does.
    """
    if _KERNELS:
        return _KERNELS
    with _KERNELS_LOCK:
        if _KERNELS:
            return _KERNELS
        import numpy as np
        from numba import carray, cfunc, types

        from leaky._kernels import _call_int, _f32_pointer, _f64_pointer, _jit, _no_cache

        count = _jit(fastmath={"reassoc", "contract", "nsz"})
        plain = _jit()

        @count
        def rows_acc(y, p, z, chk, s):  # pragma: no cover - numba
            # (A, U), units contiguous, eight rows at a time: p, z, chk, s (U,) += positive,
            # zero, sum of v * 0 (NaN exactly where a value was NaN or ±inf), positive part
            a_n, u_n = y.shape
            t = y.dtype.type
            zero = t(0)
            a8 = a_n - a_n % 8
            for a in range(0, a8, 8):
                r0, r1, r2, r3 = y[a], y[a + 1], y[a + 2], y[a + 3]
                r4, r5, r6, r7 = y[a + 4], y[a + 5], y[a + 6], y[a + 7]
                for u in range(u_n):
                    v0, v1, v2, v3 = r0[u], r1[u], r2[u], r3[u]
                    v4, v5, v6, v7 = r4[u], r5[u], r6[u], r7[u]
                    p[u] += ((t(v0 > 0) + t(v1 > 0)) + (t(v2 > 0) + t(v3 > 0))) + (
                        (t(v4 > 0) + t(v5 > 0)) + (t(v6 > 0) + t(v7 > 0))
                    )
                    s[u] += ((max(v0, zero) + max(v1, zero)) + (max(v2, zero) + max(v3, zero))) + (
                        (max(v4, zero) + max(v5, zero)) + (max(v6, zero) + max(v7, zero))
                    )
                    z[u] += ((t(v0 == 0) + t(v1 == 0)) + (t(v2 == 0) + t(v3 == 0))) + (
                        (t(v4 == 0) + t(v5 == 0)) + (t(v6 == 0) + t(v7 == 0))
                    )
                    chk[u] += ((v0 * zero + v1 * zero) + (v2 * zero + v3 * zero)) + (
                        (v4 * zero + v5 * zero) + (v6 * zero + v7 * zero)
                    )
            for a in range(a8, a_n):
                r = y[a]
                for u in range(u_n):
                    v = r[u]
                    p[u] += t(v > 0)
                    s[u] += max(v, zero)
                    z[u] += t(v == 0)
                    chk[u] += v * zero

        @count
        def rows_part(y, part):  # pragma: no cover - numba; part (4, U) = the four sums
            u_n = y.shape[1]
            p = np.zeros(u_n, y.dtype)
            z = np.zeros(u_n, y.dtype)
            chk = np.zeros(u_n, y.dtype)
            s = np.zeros(u_n, y.dtype)
            rows_acc(y, p, z, chk, s)
            for u in range(u_n):
                part[0, u] = p[u]
                part[1, u] = z[u]
                part[2, u] = chk[u]
                part[3, u] = s[u]

        @count
        def rows(y, counts, sums, take_positive, take_rest):  # pragma: no cover - numba
            # the serial path of a Linear's output: straight into the site's counts
            u_n = y.shape[1]
            p = np.zeros(u_n, y.dtype)
            z = np.zeros(u_n, y.dtype)
            chk = np.zeros(u_n, y.dtype)
            s = np.zeros(u_n, y.dtype)
            rows_acc(y, p, z, chk, s)
            finite = True
            for u in range(u_n):
                if take_positive:
                    counts[0, u] += np.int64(p[u])
                if take_rest:
                    counts[1, u] += np.int64(z[u])
                    sums[u] += s[u]
                finite = finite and chk[u] == 0
            return finite

        @count
        def planes_part(y, part):  # pragma: no cover - numba
            a_n, u_n, l_n = y.shape
            zero = y.dtype.type(0)
            part[:] = 0.0
            for a in range(a_n):
                for u in range(u_n):
                    r = y[a, u]
                    p = zero
                    z = zero
                    chk = zero
                    s = zero
                    for i in range(l_n):
                        v = r[i]
                        p += v > 0
                        s += max(v, zero)
                        z += v == 0
                        chk += v * zero
                    part[0, u] += p
                    part[1, u] += z
                    part[2, u] += chk
                    part[3, u] += s

        @plain
        def merge(parts, counts, sums, take_positive, take_rest):  # pragma: no cover - numba
            finite = True
            for u in range(parts.shape[2]):
                p = 0.0
                z = 0.0
                chk = 0.0
                s = 0.0
                for k in range(parts.shape[0]):
                    p += parts[k, 0, u]
                    z += parts[k, 1, u]
                    chk += parts[k, 2, u]
                    s += parts[k, 3, u]
                if take_positive:
                    counts[0, u] += np.int64(p)
                if take_rest:
                    counts[1, u] += np.int64(z)
                    sums[u] += s
                finite = finite and chk == 0
            return finite

        @plain
        def nonfinite(y, counts):  # pragma: no cover - numba; (A, U, L): the exact count
            a_n, u_n, l_n = y.shape
            for a in range(a_n):
                for u in range(u_n):
                    bad = 0
                    for i in range(l_n):
                        v = y[a, u, i]
                        bad += v - v != 0  # NaN exactly for NaN and ±inf
                    counts[2, u] += bad

        @plain
        def span(kind, dtype, y_address, a_n, u_n, l_n, part):  # pragma: no cover - numba
            if dtype == 0:
                if kind == 0:
                    rows_part(carray(_f32_pointer(y_address), (a_n, u_n)), part)
                else:
                    planes_part(carray(_f32_pointer(y_address), (a_n, u_n, l_n)), part)
            elif kind == 0:
                rows_part(carray(_f64_pointer(y_address), (a_n, u_n)), part)
            else:
                planes_part(carray(_f64_pointer(y_address), (a_n, u_n, l_n)), part)

        def block_body(data):  # pragma: no cover - numba; one thread's rows of the team
            slots = carray(data, (_SLOTS,), dtype=np.int64)
            tid = _call_int(slots[_S_THREAD_NUM])
            nt = _call_int(slots[_S_NUM_THREADS])
            a_n, u_n, l_n = slots[_S_A], slots[_S_U], slots[_S_L]
            parts = carray(_f64_pointer(slots[_S_PARTS]), (slots[_S_MAX_THREADS], 4, u_n))
            if tid >= slots[_S_MAX_THREADS]:
                return
            chunk = (a_n + nt - 1) // nt
            start = min(a_n, tid * chunk)
            stop = min(a_n, start + chunk)
            itemsize = 4 if slots[_S_DTYPE] == 0 else 8
            address = slots[_S_Y] + start * u_n * l_n * itemsize
            span(slots[_S_KIND], slots[_S_DTYPE], address, stop - start, u_n, l_n, parts[tid])

        try:
            block = cfunc(types.void(types.voidptr), nopython=True, cache=True)(block_body)
        except RuntimeError as err:  # no writable cache directory, as leaky._kernels
            if "cannot cache" not in str(err):
                raise
            _no_cache("monitor block", err)
            block = cfunc(types.void(types.voidptr), nopython=True)(block_body)

        _KERNELS.update(
            rows=rows,
            rows_part=rows_part,
            planes_part=planes_part,
            merge=merge,
            nonfinite=nonfinite,
            block=block.address,
        )
    return _KERNELS


# The argument block of the team's loop (int64 slots, one per calling thread).
_SLOTS = 11
(
    _S_KIND,
    _S_DTYPE,
    _S_Y,
    _S_A,
    _S_U,
    _S_L,
    _S_PARTS,
    _S_MAX_THREADS,
    _S_THREAD_NUM,
    _S_NUM_THREADS,
    _S_SPARE,
) = range(_SLOTS)
_local = threading.local()
# Below this size the team's start-up costs more than the second thread saves. Measured on
# 2 cores, counting a convolution's output right after the convolution: 2 MiB 230 us on
# the team against 193 us serial, 4 MiB 395 against 450, 8 MiB 535 against 726.
_TEAM_MIN_BYTES = 4 << 20


def _run_kernel(view: Any, positive: bool, rest: bool, arrays: Any) -> bool:
    """Count an (A, U, L) C-contiguous NumPy view into ``arrays``; False if a non-finite
    value was seen. Split over PyTorch's OpenMP team when large enough."""
    kernels = _kernels()
    a_n, u_n, l_n = view.shape
    team = _openmp_team() if view.nbytes >= _TEAM_MIN_BYTES and a_n > 1 else None
    threads = 1 if team is None else torch.get_num_threads()
    parts = _scratch(threads, u_n)
    if team is None:
        if l_n == 1:
            kernels["rows_part"](view[:, :, 0], parts[0])
        else:
            kernels["planes_part"](view, parts[0])
    else:
        parts[:] = 0.0  # a thread with no rows leaves its slot as it is
        block = _scratch_block()
        block[_S_KIND] = 0 if l_n == 1 else 1
        block[_S_DTYPE] = 0 if view.dtype.itemsize == 4 else 1
        block[_S_Y] = view.ctypes.data
        block[_S_A], block[_S_U], block[_S_L] = a_n, u_n, l_n
        block[_S_PARTS] = parts.ctypes.data
        block[_S_MAX_THREADS] = threads
        block[_S_THREAD_NUM] = team.thread_num
        block[_S_NUM_THREADS] = team.num_threads
        team.run(kernels["block"], block.ctypes.data)
    return bool(kernels["merge"](parts, arrays[0], arrays[1], positive, rest))


def _openmp_team() -> Any:
    from leaky import _openmp

    return _openmp.team()


def _scratch(threads: int, units: int) -> Any:
    """This thread's (threads, 4, units) float64 buffer of partial counts (O(units))."""
    buffers = _local.__dict__.setdefault("parts", {})
    parts = buffers.get((threads, units))
    if parts is None:
        import numpy as np

        parts = buffers[(threads, units)] = np.zeros((threads, 4, units))
    return parts


def _scratch_block() -> Any:
    block = _local.__dict__.get("block")
    if block is None:
        import numpy as np

        block = _local.block = np.zeros(_SLOTS, np.int64)
    return block


def _as_units(t: Tensor, dim: int) -> Tensor | None:
    """``t`` as an (A, U, L) view with the unit axis in the middle, or None if no view is."""
    if t.is_contiguous():
        shape = t.shape
        outer = math.prod(shape[:dim])
        inner = math.prod(shape[dim + 1 :])
        return t.view(outer, shape[dim], inner)
    if t.ndim == 4 and dim == 1 and t.is_contiguous(memory_format=torch.channels_last):
        return t.permute(0, 2, 3, 1).reshape(-1, t.shape[1], 1)  # a view: NHWC is contiguous
    return None


_KERNEL_DTYPES = (torch.float32, torch.float64)


def _count(
    t: Tensor, dim: int, counts: Tensor, sums: Tensor, positive: bool, rest: bool, arrays: Any
) -> None:
    """Add ``t``'s per-unit counts (positive, zero, non-finite) and positive-part sums.

    ``arrays`` is ``(counts, sums)`` as NumPy views for the CPU loops (None elsewhere).
    """
    if arrays is not None and t.dtype in _KERNEL_DTYPES:
        if (
            dim == 1
            and t.ndim == 2
            and t.is_contiguous()
            and t.shape[0] * t.shape[1] * t.element_size() < _TEAM_MIN_BYTES
        ):  # a Linear's output, in the fewest Python steps (each costs, right after a GEMM)
            flat = t.numpy()
            kernels = _KERNELS or _kernels()
            if not kernels["rows"](flat, arrays[0], arrays[1], positive, rest) and rest:
                kernels["nonfinite"](flat[:, :, None], arrays[0])
            return
        view = _as_units(t, dim)
        if view is not None and view.shape[0] < _MAX_EXACT_F32 and view.shape[2] < _MAX_EXACT_F32:
            flat = view.numpy()
            if not _run_kernel(flat, positive, rest, arrays) and rest:
                _kernels()["nonfinite"](flat, arrays[0])
            return
    # Elsewhere (GPU, float16/bfloat16, strided views): PyTorch's reductions, exact counts.
    if t.ndim == 1:
        t = t[None]  # sum(dim=()) would reduce every axis
        dim = 1
    other = tuple(d for d in range(t.ndim) if d != dim)
    is_positive = t > 0
    if positive:
        counts[0] += is_positive.sum(dim=other)
    if rest:
        counts[1] += (t == 0).sum(dim=other)
        counts[2] += (~torch.isfinite(t)).sum(dim=other)
        sums += torch.where(is_positive, t, 0).sum(dim=other, dtype=torch.float64)


class _Site:
    """Running per-unit counts of one call site (O(units) memory).

    ``counts`` (int64, 3 x units): positive, exactly-zero and non-finite elements;
    ``sums`` (float64, units): sum of the output's positive part; ``samples``: elements
    per unit.
    """

    __slots__ = (
        "activation",
        "arrays",
        "counts",
        "kind",
        "layout",
        "samples",
        "shape",
        "sums",
        "unit_dim",
    )

    def __init__(self, kind: str, activation: str, unit_dim: int | None) -> None:
        self.kind = kind
        self.activation = activation
        self.unit_dim = unit_dim
        self.counts: Tensor | None = None
        self.sums: Tensor | None = None
        self.arrays: Any = None  # (counts, sums) as NumPy views, on CPU
        self.samples = 0
        self.shape: Any = None  # the last batch's shape, and its (unit axis, samples)
        self.layout: tuple[int, int] = (0, 0)

    def _set(self, counts: Tensor, sums: Tensor) -> None:
        self.counts, self.sums = counts, sums
        self.arrays = (counts.numpy(), sums.numpy()) if counts.is_cpu else None

    def _dim(self, t: Tensor) -> int:
        dim = self.unit_dim if self.unit_dim is not None else _default_unit_dim(t.ndim)
        if not -t.ndim <= dim < t.ndim:
            raise ValueError(
                f"unit_dim={dim} does not fit an activation of shape {tuple(t.shape)}; pass "
                "unit_dim= (an int, or a mapping by layer name) to choose the unit axis."
            )
        return dim % t.ndim

    def _start(self, t: Tensor) -> int:
        dim = self._dim(t)
        units = t.shape[dim]
        if self.counts is None:
            self._set(
                torch.zeros(3, units, dtype=torch.int64, device=t.device),
                torch.zeros(units, dtype=torch.float64, device=t.device),
            )
        elif self.counts.shape[1] != units:
            raise ValueError(
                f"An activation changed its number of units from {self.counts.shape[1]} to "
                f"{units} between batches; pass unit_dim= to choose the unit axis."
            )
        return dim

    def add_input(self, x: Tensor) -> None:
        """Count ``x > 0`` on the input (activations that do not keep the sign)."""
        dim = self._start(x)
        _count(x, dim, self.counts, self.sums, True, False, self.arrays)  # type: ignore[arg-type]

    def add_output(self, y: Tensor, positive: bool) -> None:
        shape = y.shape
        if shape == self.shape:  # the common case: the layout of the last batch
            dim, n = self.layout
        else:
            dim = self._start(y)
            n = y.numel() // shape[dim]
            self.shape, self.layout = shape, (dim, n)
        self.samples += n
        _count(y, dim, self.counts, self.sums, positive, True, self.arrays)  # type: ignore[arg-type]

    def state(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "activation": self.activation,
            "unit_dim": self.unit_dim,
            "samples": self.samples,
            "counts": None if self.counts is None else self.counts.detach().cpu().clone(),
            "sums": None if self.sums is None else self.sums.detach().cpu().clone(),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> _Site:
        site = cls(state["kind"], state["activation"], state["unit_dim"])
        site.samples = int(state["samples"])
        if state["counts"] is not None:
            site._set(
                torch.as_tensor(state["counts"], dtype=torch.int64).clone(),
                torch.as_tensor(state["sums"], dtype=torch.float64).clone(),
            )
        return site


# --------------------------------------------------------------------------- reports


@dataclass
class LayerReport:
    """What one activation site did over the window (definitions: the module docstring)."""

    name: str
    kind: str  # "relu", "leaky" or "smooth"
    activation: str
    units: int
    samples: int  # elements seen per unit (batch x positions)
    dead: list[int] = field(default_factory=list)
    negative_regime: list[int] = field(default_factory=list)
    near_dead: list[int] = field(default_factory=list)
    dormant: list[int] = field(default_factory=list)
    nonfinite: list[int] = field(default_factory=list)  # units that output NaN or ±inf
    zero_fraction: float = 0.0
    nonfinite_fraction: float = 0.0  # of output elements
    positive_fraction: list[float] = field(default_factory=list)
    dormancy: list[float | None] = field(default_factory=list)  # None: a non-finite unit
    site: str = "module"  # "module" (an activation layer) or "functional" (a call)

    def _fraction(self, items: Sequence[int]) -> float:
        return len(items) / self.units if self.units else 0.0

    @property
    def dead_fraction(self) -> float:
        return self._fraction(self.dead)

    @property
    def negative_regime_fraction(self) -> float:
        return self._fraction(self.negative_regime)

    @property
    def near_dead_fraction(self) -> float:
        return self._fraction(self.near_dead)

    @property
    def dormant_fraction(self) -> float:
        return self._fraction(self.dormant)

    def sentence(self) -> str:
        """The finding in plain words."""
        if self.samples == 0:
            return f"layer {self.name}: saw no input"
        if self.nonfinite:
            return (
                f"layer {self.name}: produces NaN/inf in {len(self.nonfinite)} of {self.units} "
                f"units ({self.nonfinite_fraction:.1%} of its outputs) — the model diverged or "
                f"was fed NaN/inf; those units are not counted as dead"
            )
        if self.dead:
            return (
                f"layer {self.name}: {len(self.dead)} of {self.units} units dead "
                f"({self.dead_fraction:.0%}) — consider leaky.nn.convert"
            )
        if self.negative_regime:
            return (
                f"layer {self.name}: {len(self.negative_regime)} of {self.units} units in the "
                f"negative regime ({self.negative_regime_fraction:.0%}) — alive, learning "
                f"at the slope"
            )
        if self.near_dead:
            return (
                f"layer {self.name}: {len(self.near_dead)} of {self.units} units near-dead "
                f"({self.near_dead_fraction:.0%}, rarely positive)"
            )
        return f"layer {self.name}: all {self.units} units alive"


@dataclass
class MonitorReport:
    """Per site and for the whole model; prints as its summary, renders as a rich table,
    a dict or JSON."""

    layers: list[LayerReport]
    batches: int
    tau: float
    near_dead_threshold: float = 0.01
    skipped: int = 0  # batches run in eval() mode, not counted
    unreached: list[str] = field(default_factory=list)  # sites the monitor cannot watch

    def _total(self, attr: str) -> int:
        return sum(len(getattr(layer, attr)) for layer in self.layers)

    @property
    def units(self) -> int:
        return sum(layer.units for layer in self.layers)

    @property
    def dead(self) -> int:
        return self._total("dead")

    @property
    def negative_regime(self) -> int:
        return self._total("negative_regime")

    @property
    def near_dead(self) -> int:
        return self._total("near_dead")

    @property
    def dormant(self) -> int:
        return self._total("dormant")

    @property
    def nonfinite(self) -> int:
        return self._total("nonfinite")

    @property
    def dead_fraction(self) -> float:
        return self.dead / self.units if self.units else 0.0

    @property
    def negative_regime_fraction(self) -> float:
        return self.negative_regime / self.units if self.units else 0.0

    @property
    def zero_fraction(self) -> float:
        total = sum(layer.samples * layer.units for layer in self.layers)
        zeros = sum(layer.zero_fraction * layer.samples * layer.units for layer in self.layers)
        return zeros / total if total else 0.0

    def summary(self) -> list[str]:
        """One sentence per site, one for the model, and the sites that cannot be watched."""
        lines = [layer.sentence() for layer in self.layers]
        model = (
            f"model: {self.dead} of {self.units} units dead ({self.dead_fraction:.0%}), "
            f"{self.negative_regime} in the negative regime, {self.near_dead} near-dead "
            f"(positive on < {self.near_dead_threshold:.0%} of inputs), {self.dormant} dormant "
            f"at tau={self.tau:g}, {self.zero_fraction:.1%} of outputs exactly 0, over "
            f"{self.batches} batch(es)"
        )
        if self.skipped:
            model += f" ({self.skipped} eval-mode batch(es) skipped)"
        if self.nonfinite:
            layers = sum(1 for layer in self.layers if layer.nonfinite)
            model = (
                f"model: produces NaN/inf ({self.nonfinite} units in {layers} layer(s)) — "
                f"check the inputs, the loss and the learning rate; " + model[len("model: ") :]
            )
        lines.append(model)
        lines += [f"not watched: {item}" for item in self.unreached]
        return lines

    def __str__(self) -> str:
        return "\n".join(self.summary())

    def __repr__(self) -> str:
        return (
            f"MonitorReport(batches={self.batches}, layers={len(self.layers)}, "
            f"units={self.units}, dead={self.dead}, negative_regime={self.negative_regime}, "
            f"near_dead={self.near_dead}, dormant={self.dormant}, nonfinite={self.nonfinite}, "
            f"tau={self.tau:g}, skipped={self.skipped}, unreached={len(self.unreached)})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "skipped": self.skipped,
            "tau": self.tau,
            "near_dead_threshold": self.near_dead_threshold,
            "units": self.units,
            "dead": self.dead,
            "negative_regime": self.negative_regime,
            "near_dead": self.near_dead,
            "dormant": self.dormant,
            "nonfinite": self.nonfinite,
            "dead_fraction": self.dead_fraction,
            "zero_fraction": self.zero_fraction,
            "layers": [asdict(layer) for layer in self.layers],
            "unreached": list(self.unreached),
            "summary": self.summary(),
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def __rich__(self) -> Any:
        from rich.markup import escape
        from rich.table import Table

        table = Table(
            "layer",
            "activation",
            "units",
            "dead",
            "negative-regime",
            f"near-dead (<{self.near_dead_threshold:.0%})",
            f"dormant (tau={self.tau:g})",
            "NaN/inf",
            "exact zeros",
            title=f"Dead-unit report over {self.batches} batch(es)",
        )

        def share(items: list[int], layer: LayerReport) -> str:
            return f"{len(items)} ({len(items) / layer.units:.0%})" if layer.units else "0"

        for layer in self.layers:
            dead = share(layer.dead, layer) if layer.kind == "relu" else "-"
            neg = share(layer.negative_regime, layer) if layer.kind != "relu" else "-"
            bad = share(layer.nonfinite, layer)
            table.add_row(
                escape(layer.name),
                escape(layer.activation),
                str(layer.units),
                f"[red]{dead}[/]" if layer.dead else dead,
                neg,
                str(len(layer.near_dead)),
                str(len(layer.dormant)),
                f"[red]{bad}[/]" if layer.nonfinite else bad,
                f"{layer.zero_fraction:.1%}",
            )
        table.caption = escape(str(self))
        table.caption_justify = "left"
        return table


def _layer_report(
    name: str, site: _Site, tau: float, near_dead: float, functional: bool
) -> LayerReport:
    where = "functional" if functional else "module"
    if site.counts is None or site.sums is None or site.samples == 0:
        return LayerReport(name, site.kind, site.activation, 0, 0, site=where)
    positive, zeros, bad = site.counts.cpu()
    sums = site.sums.cpu()
    n = site.samples
    units = positive.numel()
    finite = bad == 0
    never = (positive == 0) & finite
    near = (positive > 0) & (positive < near_dead * n) & finite
    mean_positive = sums / n
    layer_mean = float(mean_positive[finite].mean()) if bool(finite.any()) else 0.0
    score = mean_positive / layer_mean if layer_mean > 0 else torch.zeros_like(mean_positive)
    dormant = (score <= tau) & finite

    def ids(mask: Tensor) -> list[int]:
        return mask.nonzero().flatten().tolist()

    return LayerReport(
        name=name,
        kind=site.kind,
        activation=site.activation,
        units=units,
        samples=n,
        dead=ids(never) if site.kind == "relu" else [],
        negative_regime=ids(never) if site.kind != "relu" else [],
        near_dead=ids(near),
        dormant=ids(dormant),
        nonfinite=ids(~finite),
        zero_fraction=float(zeros.sum()) / (n * units),
        nonfinite_fraction=float(bad.sum()) / (n * units),
        positive_fraction=(positive.double() / n).tolist(),
        dormancy=[None if not ok else float(s) for s, ok in zip(score, finite, strict=True)],
        site=where,
    )


# --------------------------------------------------------------------------- sites


_ORDER = itertools.count()


class _Group:
    """The call sites of one module or one (module, function) pair: one site per call in a
    forward (torchvision's ResNet blocks call one ``relu`` twice), reported as ``name#0``,
    ``name#1``, ... when there are several."""

    __slots__ = ("activation", "calls", "first", "functional", "kind", "name", "sites", "unit_dim")

    def __init__(
        self, name: str, kind: str, activation: str, unit_dim: int | None, functional: bool
    ) -> None:
        self.name = name
        self.kind = kind
        self.activation = activation
        self.unit_dim = unit_dim
        self.functional = functional
        self.sites: list[_Site] = []
        self.calls = 0
        self.first = -1  # when the group was first called in the window (report order)

    def next_site(self) -> _Site:
        if self.calls >= len(self.sites):
            if not self.sites:
                self.first = next(_ORDER)
            self.sites.append(_Site(self.kind, self.activation, self.unit_dim))
        site = self.sites[self.calls]
        self.calls += 1
        return site

    def names(self) -> list[str]:
        if len(self.sites) > 1:
            return [f"{self.name}#{k}" for k in range(len(self.sites))]
        return [self.name]


# The layers' hooks run inside the monitored forward, where the functional interception
# is active: their own counting must not go through it (each call would cost a Python
# round trip).
_NO_TORCH_FUNCTION = torch._C.DisableTorchFunction


class _Watched:
    """One watched activation layer and its hooks."""

    __slots__ = ("always", "group", "module", "monitor", "pending")

    def __init__(self, monitor: DeadUnitMonitor, module: nn.Module, group: _Group) -> None:
        self.monitor = monitor
        self.module = module
        self.group = group
        self.always = isinstance(module, _ALWAYS_KEEP_SIGN)  # no input hook needed
        self.pending: _Site | None = None  # the site whose input was counted

    def pre_hook(self, module: nn.Module, inputs: tuple[Any, ...]) -> None:
        """Count ``x > 0`` before the call, where the output cannot tell (may be in place)."""
        self.pending = None
        if not self.monitor._counting or self.monitor._paused or _module_keeps_sign(module):
            return
        if inputs and isinstance(inputs[0], Tensor) and inputs[0].ndim > 0:
            site = self.group.next_site()
            with torch.no_grad(), _NO_TORCH_FUNCTION():
                site.add_input(inputs[0].detach())
            self.pending = site

    def post_hook(self, module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        pending, self.pending = self.pending, None
        monitor = self.monitor
        if not monitor._counting or monitor._paused:
            return
        if not isinstance(output, Tensor) or output.ndim == 0:
            return
        if pending is not None:  # the positive count came from the input
            site, positive = pending, False
        elif self.always or _module_keeps_sign(module):
            site, positive = self.group.next_site(), True
        else:
            return  # the input was not a tensor: nothing to count
        if monitor._mode is None:  # a detached tensor: nothing is recorded by autograd
            site.add_output(output.detach(), positive)
        else:
            with _NO_TORCH_FUNCTION():
                site.add_output(output.detach(), positive)


class _Intercept(TorchFunctionMode):
    """Sees every torch call inside the monitored forward; counts the activations among them.

    PyTorch disables the mode while ``__torch_function__`` runs, so the activation and the
    counting below it are not intercepted again.
    """

    def __init__(self, monitor: DeadUnitMonitor) -> None:
        super().__init__()
        self.monitor = monitor

    def __torch_function__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        spec = _FUNCTIONS.get(func)
        if spec is None or self.monitor._paused or not self.monitor._counting:
            return func(*args, **kwargs)
        x = args[0] if args else kwargs.get("input")
        if not isinstance(x, Tensor) or x.ndim == 0:
            return func(*args, **kwargs)
        group = self.monitor._functional_group(spec)
        if group is None:  # inside a watched layer: its hooks count it
            return func(*args, **kwargs)
        site = group.next_site()
        keeps = spec.keeps_sign(args, kwargs)
        if not keeps:
            with torch.no_grad():
                site.add_input(x.detach())
        out = func(*args, **kwargs)
        if isinstance(out, Tensor) and out.ndim > 0:
            with torch.no_grad():
                site.add_output(out.detach(), positive=keeps)
        return out


# --------------------------------------------------------------------------- the monitor

SnapshotCallback = Callable[["MonitorReport", int], None]


class DeadUnitMonitor:
    """Streams per-unit activation statistics of a model and reports dead and dormant units.

    Use it as a context manager around training: the hooks are added on ``__enter__`` and
    removed on ``__exit__`` (also when the body raises), and counts survive an exit, so
    the window can span several ``with`` blocks. The monitor never changes an output or a
    gradient: it only reads, under ``torch.no_grad()``. It counts what runs inside the
    model's own forward (``model(x)``), only in ``train()`` mode unless
    ``count_eval=True`` (validation batches are not training data), and never inside
    ``with monitor.pause():``.

    Sites: every activation layer of the model (ReLU, ReLU6, LeakyReLU, leaky's
    LeakyReLU, PReLU, RReLU, GELU, SiLU, ELU, SELU, CELU, Mish, Hardswish, Softplus), and,
    with ``functional=True``, every functional activation called in a forward (``F.relu``,
    ``torch.relu``, ``x.relu()``, ``F.leaky_relu``, ``F.gelu``, ..., through a
    ``torch.overrides.TorchFunctionMode``), named ``"<module>:<function>"`` after the
    module whose forward called it (``"layer1.0:F.relu"``, ``"<root>:torch.relu"``).
    Sites the monitor cannot reach are listed in ``report().unreached``: TorchScript
    submodules, and modules whose forward calls an activation function that was never
    seen (``functional=False``, or a code path run outside Python).

    Args:
        model: the model to watch.
        modules: watch only these activation layers (modules or qualified names); then
            functional calls are not watched.
        unit_dim: the unit axis, for every site (an int) or per site name (a mapping); by
            default the last axis of 1-d to 3-d tensors and axis 1 of 4-d/5-d tensors.
        tau: the dormant threshold on the dormancy score (module docstring), > 0 by
            default; 0 leaves only the units that were never positive.
        near_dead: the "near-dead" threshold: a unit positive on fewer than this fraction
            of its inputs (and on at least one) is near-dead.
        count_eval: also count batches run in ``eval()`` mode.
        functional: also watch functional activation calls (default: when ``modules`` is
            not given).
        on_snapshot: called as ``on_snapshot(report, step)`` by each ``snapshot()``.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
        >>> with torch.no_grad():
        ...     _ = model[0].bias.copy_(torch.tensor([-1e3, 0.0, 0.0, 0.0]))
        >>> with DeadUnitMonitor(model) as mon:
        ...     _ = model(torch.randn(64, 3))
        >>> mon.report().layers[0].dead
        [0]
        >>> print(mon.report())  # doctest: +ELLIPSIS
        layer 1: 1 of 4 units dead (25%) — consider leaky.nn.convert
        model: 1 of 4 units dead (25%), 0 in the negative regime, ...
    """

    def __init__(
        self,
        model: nn.Module,
        modules: Iterable[nn.Module | str] | None = None,
        *,
        unit_dim: int | Mapping[str, int] | None = None,
        tau: float = 0.025,
        near_dead: float = 0.01,
        count_eval: bool = False,
        functional: bool | None = None,
        on_snapshot: SnapshotCallback | None = None,
    ) -> None:
        func = "DeadUnitMonitor"
        _validate.is_a(model, "model", func, nn.Module, "torch.nn.Module")
        self.tau = _validate.positive_real(tau, "tau", func, zero=True)
        self.near_dead = _validate.closed_fraction(near_dead, "near_dead", func)
        _validate.optional_flag(count_eval, "count_eval", func)
        _validate.optional_flag(functional, "functional", func)
        self.model = model
        self.count_eval = count_eval
        self.functional = modules is None if functional is None else functional
        self.on_snapshot = on_snapshot
        self.unit_dim = unit_dim
        self.history: list[dict[str, Any]] = []
        self.batches = 0
        self.skipped = 0
        self.snapshots = 0
        named = dict(model.named_modules(remove_duplicate=False))
        chosen: list[tuple[str, nn.Module]]
        if modules is None:
            chosen = [(n, m) for n, m in named.items() if isinstance(m, ACTIVATIONS)]
        else:
            by_id = {id(m): n for n, m in named.items()}
            chosen = []
            for item in modules:
                if isinstance(item, str):
                    if item not in named:
                        raise KeyError(
                            f"No module named {item!r} in the model. Valid names: "
                            f"{', '.join(repr(n) for n in named if n) or '(none)'}"
                        )
                    chosen.append((item, named[item]))
                elif id(item) in by_id:
                    chosen.append((by_id[id(item)], item))
                else:
                    raise ValueError(f"Module {item!r} is not part of the model.")
        if not chosen and not self.functional:
            raise ValueError(
                "DeadUnitMonitor found no activation layer to watch; pass modules= to name "
                "them, or functional=True to watch functional calls (F.relu, ...)."
            )
        # Names of every module, for naming functional sites by the module that called.
        self._names: dict[int, str] = {}
        for name, module in named.items():
            self._names.setdefault(id(module), name or "<root>")
        self._groups: dict[str, _Group] = {}
        self._watched: dict[int, _Watched] = {}
        for name, module in chosen:
            if id(module) in self._watched:
                continue  # one module registered twice: one set of hooks
            label = name or "<root>"
            group = _Group(label, _kind(module), type(module).__name__, self._dim(label), False)
            self._groups[label] = group
            self._watched[id(module)] = _Watched(self, module, group)
        # Intercept functional calls only where some module runs code of its own.
        self._intercept = self.functional and any(
            type(m) not in _ACTIVATION_FREE and id(m) not in self._watched for m in model.modules()
        )
        self._handles: list[Any] = []
        self._mode: _Intercept | None = None
        self._depth = 0
        self._counting = False
        self._paused = 0
        self._unreached_cache: list[tuple[str, str, tuple[str, ...]]] | None = None

    def _dim(self, name: str) -> int | None:
        if isinstance(self.unit_dim, Mapping):
            return self.unit_dim.get(name)
        return self.unit_dim

    # -- attaching ---------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """True between ``__enter__`` and ``__exit__``."""
        return bool(self._handles)

    @property
    def layer_names(self) -> list[str]:
        """The names of the sites seen so far, in order (and of watched layers not yet seen)."""
        return [name for group in self._groups.values() for name in group.names()]

    def __enter__(self) -> DeadUnitMonitor:
        if self._handles:
            raise RuntimeError("This DeadUnitMonitor is already active.")
        self._handles.append(self.model.register_forward_pre_hook(self._begin))
        self._handles.append(self.model.register_forward_hook(self._end, always_call=True))
        for watched in self._watched.values():
            module = watched.module
            if not watched.always:
                self._handles.append(module.register_forward_pre_hook(watched.pre_hook))
            self._handles.append(module.register_forward_hook(watched.post_hook))
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._leave_forward()
        self._depth = 0

    def _begin(self, module: nn.Module, inputs: Any) -> None:
        self._depth += 1
        if self._depth > 1:
            return  # the model called inside its own forward: the same batch
        for group in self._groups.values():
            group.calls = 0
        if self._paused:
            return
        if not (module.training or self.count_eval):
            self.skipped += 1
            return
        self.batches += 1
        self._counting = True
        if self._intercept:
            self._mode = _Intercept(self)
            self._mode.__enter__()

    def _end(self, module: nn.Module, inputs: Any, output: Any) -> None:
        self._depth = max(self._depth - 1, 0)
        if self._depth == 0:
            self._leave_forward()

    def _leave_forward(self) -> None:
        self._counting = False
        if self._mode is not None:
            mode, self._mode = self._mode, None
            mode.__exit__(None, None, None)

    def _functional_group(self, spec: _Function) -> _Group | None:
        """The group of a functional call, named after the nearest module of the model in
        the Python call stack; None inside a watched activation layer."""
        frame: FrameType | None = sys._getframe(2)
        names, watched = self._names, self._watched
        owner = "<root>"
        while frame is not None:
            code = frame.f_code
            if code.co_argcount and code.co_varnames[0] == "self":
                obj = frame.f_locals.get("self")
                key = id(obj)
                if key in names:
                    if key in watched:
                        return None
                    owner = names[key]
                    break
            frame = frame.f_back
        name = f"{owner}:{spec.label}"
        group = self._groups.get(name)
        if group is None:
            group = _Group(name, spec.kind, spec.label, self._dim(name), True)
            self._groups[name] = group
        return group

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Count what runs inside as one batch of the model.

        The monitor counts inside the model's own forward (``model(x)``) by itself; this
        is for training steps that call its parts instead (a LightningModule's
        ``training_step`` calling ``self.net(x)``). The same rules apply: skipped in
        ``eval()`` mode unless ``count_eval``, and inside ``pause()``.
        """
        if not self._handles:
            raise RuntimeError("DeadUnitMonitor.batch() needs an active monitor (use `with`).")
        self._begin(self.model, ())
        try:
            yield
        finally:
            self._end(self.model, (), None)

    @contextlib.contextmanager
    def pause(self) -> Iterator[None]:
        """Count nothing inside this block (a validation pass, a probe, a warm-up)."""
        self._paused += 1
        try:
            yield
        finally:
            self._paused -= 1

    # -- the window ----------------------------------------------------------------------

    def _ordered(self) -> list[_Group]:
        """Groups in the order they were first called, then those never called."""
        groups = list(self._groups.values())
        seen = sorted((g for g in groups if g.sites), key=lambda g: g.first)
        return seen + [g for g in groups if not g.sites]

    def reset(self) -> None:
        """Start a new window: forget every count."""
        for group in self._groups.values():
            group.sites.clear()
            group.calls = 0
        self.batches = 0
        self.skipped = 0

    def report(self, tau: float | None = None, *, sync: bool | None = None) -> MonitorReport:
        """The report of the current window.

        Args:
            tau: overrides the monitor's dormant threshold.
            sync: sum the counts of every process of the default ``torch.distributed``
                group first (a collective: every rank must call it). By default, whenever
                a process group with more than one process is initialised. The monitor's
                own counts are left as they are.
        """
        t = (
            self.tau
            if tau is None
            else _validate.positive_real(tau, "tau", "DeadUnitMonitor.report", zero=True)
        )
        if _should_sync(sync):
            groups, batches, skipped = self._synced()
        else:
            groups, batches, skipped = self._ordered(), self.batches, self.skipped
        reports = []
        for group in groups:
            if not group.sites:
                empty = _Site(group.kind, group.activation, None)
                if not group.functional:
                    reports.append(_layer_report(group.name, empty, t, self.near_dead, False))
                continue
            for name, site in zip(group.names(), group.sites, strict=True):
                reports.append(_layer_report(name, site, t, self.near_dead, group.functional))
        return MonitorReport(
            reports,
            batches,
            t,
            near_dead_threshold=self.near_dead,
            skipped=skipped,
            unreached=self._unreached(groups, batches),
        )

    def compute(self) -> MonitorReport:
        """``report()``, under torchmetrics' name."""
        return self.report()

    def snapshot(self, step: int | None = None) -> MonitorReport:
        """Report the window, keep it in ``history``, call ``on_snapshot(report, step)``,
        and start a new window. ``step`` defaults to the number of earlier snapshots."""
        report = self.report()
        step = self.snapshots if step is None else int(step)
        self.snapshots += 1
        self.history.append(report.to_dict())
        if self.on_snapshot is not None:
            self.on_snapshot(report, step)
        self.reset()
        return report

    # -- checkpoints ---------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The window's counts (int64 tensors: exact), for a checkpoint."""
        return {
            "version": _STATE_VERSION,
            "batches": self.batches,
            "skipped": self.skipped,
            "snapshots": self.snapshots,
            "history": json.loads(json.dumps(self.history)),
            "groups": {
                name: {
                    "kind": group.kind,
                    "activation": group.activation,
                    "functional": group.functional,
                    "sites": [site.state() for site in group.sites],
                }
                for name, group in ((g.name, g) for g in self._ordered())
            },
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore counts saved by ``state_dict()`` (replacing the current window)."""
        version = state.get("version") if isinstance(state, Mapping) else None
        if version != _STATE_VERSION:
            raise ValueError(
                f"Not a DeadUnitMonitor state (version {_STATE_VERSION} expected). "
                f"Got version {version!r}."
            )
        self.batches = int(state["batches"])
        self.skipped = int(state["skipped"])
        self.snapshots = int(state["snapshots"])
        self.history = list(state["history"])
        for group in self._groups.values():
            group.sites.clear()
        for name, saved in state["groups"].items():
            found = self._groups.get(name)
            if found is None:
                group = _Group(
                    name, saved["kind"], saved["activation"], self._dim(name), saved["functional"]
                )
                self._groups[name] = group
            else:
                group = found
            group.sites = [_Site.from_state(s) for s in saved["sites"]]
            group.first = next(_ORDER) if group.sites else -1
            for site in group.sites:
                site.unit_dim = group.unit_dim
            device = _model_device(self.model)
            for site in group.sites:
                if site.counts is not None and site.sums is not None:
                    site._set(site.counts.to(device), site.sums.to(device))

    # -- processes -----------------------------------------------------------------------

    def _synced(self) -> tuple[list[_Group], int, int]:
        """The groups with every rank's counts summed (``all_reduce``, exact int64)."""
        import torch.distributed as dist

        layout = [
            (
                name,
                g.kind,
                g.activation,
                g.functional,
                [None if s.counts is None else s.counts.shape[1] for s in g.sites],
            )
            for name, g in ((g.name, g) for g in self._ordered())
        ]
        everyone: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(everyone, layout)
        merged: dict[str, list[Any]] = {}
        for rank_layout in everyone:
            for name, kind, activation, functional, units in rank_layout:
                entry = merged.setdefault(name, [kind, activation, functional, []])
                for k, u in enumerate(units):
                    if k >= len(entry[3]):
                        entry[3].append(u)
                    elif entry[3][k] is None:
                        entry[3][k] = u
                    elif u is not None and u != entry[3][k]:
                        raise ValueError(
                            f"Site {name!r} has {entry[3][k]} units on one rank and {u} on "
                            "another; every rank must run the same model."
                        )
        device = (
            torch.device("cuda", torch.cuda.current_device())
            if dist.get_backend() == "nccl"
            else torch.device("cpu")
        )
        ints: list[Tensor] = [torch.tensor([self.batches, self.skipped], dtype=torch.int64)]
        floats: list[Tensor] = []
        for name, (_, _, _, units) in merged.items():
            own = self._groups.get(name)
            for k, u in enumerate(units):
                site = own.sites[k] if own is not None and k < len(own.sites) else None
                width = u or 0
                if site is not None and site.counts is not None and site.sums is not None:
                    ints += [torch.tensor([site.samples]), site.counts.cpu().flatten()]
                    floats.append(site.sums.cpu())
                else:
                    ints += [torch.zeros(1 + 3 * width, dtype=torch.int64)]
                    floats.append(torch.zeros(width, dtype=torch.float64))
        flat_i = torch.cat(ints).to(device)
        flat_f = (torch.cat(floats) if floats else torch.zeros(0, dtype=torch.float64)).to(device)
        dist.all_reduce(flat_i)
        dist.all_reduce(flat_f)
        flat_i, flat_f = flat_i.cpu(), flat_f.cpu()
        i, f = 2, 0
        groups = []
        for name, (kind, activation, functional, units) in merged.items():
            group = _Group(name, kind, activation, None, functional)
            for u in units:
                width = u or 0
                site = _Site(kind, activation, None)
                site.samples = int(flat_i[i])
                if width:
                    site._set(
                        flat_i[i + 1 : i + 1 + 3 * width].view(3, width).clone(),
                        flat_f[f : f + width].clone(),
                    )
                i += 1 + 3 * width
                f += width
                group.sites.append(site)
            groups.append(group)
        return groups, int(flat_i[0]), int(flat_i[1])

    # -- what cannot be watched ------------------------------------------------------------

    def _unreached(self, groups: list[_Group], batches: int) -> list[str]:
        if self._unreached_cache is None:
            self._unreached_cache = _scan_model(self.model, set(self._watched))
        seen: dict[str, set[str]] = {}
        for g in groups:
            if g.functional and g.sites:
                owner, _, label = g.name.rpartition(":")
                seen.setdefault(owner, set()).add(label.rpartition(".")[2])
        found = []
        for name, why, calls in self._unreached_cache:
            if why == "script":
                found.append(
                    f"{name} (TorchScript: its activations run outside Python and cannot be "
                    "watched)"
                )
            elif not self.functional:
                found.append(
                    f"{name} (forward calls {', '.join(calls)}; functional calls are not "
                    "watched: functional=False or modules= given)"
                )
            elif batches:
                missing = [c for c in calls if c.rpartition(".")[2] not in seen.get(name, ())]
                if missing:
                    found.append(
                        f"{name} (forward calls {', '.join(missing)}, but no such call was "
                        "seen: a branch not taken, or code run outside Python)"
                    )
        return found

    def __repr__(self) -> str:
        layers = sum(1 for g in self._groups.values() if not g.functional)
        return (
            f"DeadUnitMonitor(model={type(self.model).__name__}, layers={layers}, "
            f"functional={self.functional}, tau={self.tau:g}, near_dead={self.near_dead:g}, "
            f"count_eval={self.count_eval}, batches={self.batches}, skipped={self.skipped}, "
            f"active={self.active})"
        )


def _should_sync(sync: bool | None) -> bool:
    if sync is False:
        return False
    import torch.distributed as dist

    ready = dist.is_available() and dist.is_initialized()
    if sync and not ready:
        raise RuntimeError("report(sync=True) needs an initialised torch.distributed group.")
    return ready and (sync is True or dist.get_world_size() > 1)


def _model_device(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    return torch.device("cpu")


_SCAN_CACHE: dict[type, tuple[str, ...]] = {}


def _scan_model(model: nn.Module, watched: set[int]) -> list[tuple[str, str, tuple[str, ...]]]:
    """Modules the monitor may not see into: TorchScript ones, and those whose forward
    calls an activation function (found in the source, precisely: ``self.relu(x)`` on a
    submodule and ``leaky_relu`` are not ``relu``)."""
    found: list[tuple[str, str, tuple[str, ...]]] = []
    script_prefixes: list[str] = []
    for name, module in model.named_modules():
        if any(name.startswith(p) for p in script_prefixes):
            continue
        label = name or "<root>"
        if isinstance(module, torch.jit.ScriptModule):
            found.append((label, "script", ()))
            script_prefixes.append(f"{name}." if name else "")
            continue
        if id(module) in watched:
            continue
        calls = tuple(c for c, base in _functional_calls(module) if base in ACTIVATION_NAMES)
        if calls:
            found.append((label, "calls", calls))
    return found


def diagnose(
    model: nn.Module,
    batches: Iterable[Any],
    *,
    max_batches: int | None = None,
    tau: float = 0.025,
    near_dead: float = 0.01,
    progress: Callable[[int], None] | None = None,
) -> MonitorReport:
    """Run ``model`` in eval mode over ``batches`` (no gradients) and report its units.

    A batch is a tensor, or a tuple/list whose first item is the input (``(x, y)`` from a
    DataLoader), or a dict passed as keyword arguments.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Linear(3, 8), nn.ReLU())
        >>> diagnose(model, [torch.randn(16, 3) for _ in range(4)]).batches
        4
    """
    was_training = model.training
    model.eval()
    try:
        monitor = DeadUnitMonitor(model, tau=tau, near_dead=near_dead, count_eval=True)
        with monitor, torch.no_grad():
            for i, batch in enumerate(batches):
                if max_batches is not None and i >= max_batches:
                    break
                if isinstance(batch, Mapping):
                    model(**batch)
                elif isinstance(batch, (tuple, list)):
                    model(batch[0])
                else:
                    model(batch)
                if progress is not None:
                    progress(i + 1)
    finally:
        model.train(was_training)
    return monitor.report(sync=False)


# --------------------------------------------------------------------------- logging


def to_tensorboard(
    writer: Any,
    report: MonitorReport,
    step: int,
    *,
    prefix: str = "dead_units",
    histograms: bool = True,
) -> None:
    """Write ``report`` to a ``torch.utils.tensorboard.SummaryWriter`` at ``step``.

    Per site: scalars ``{prefix}/{site}/dead`` (fraction of units), ``negative_regime``,
    ``near_dead``, ``dormant``, ``nonfinite``, ``zero_fraction``; histograms
    ``{prefix}/{site}/positive_fraction`` and ``dormancy`` (one value per unit). For the
    model: ``{prefix}/model/...``. See ``leaky.integrations.tensorboard``.
    """
    from leaky.integrations.tensorboard import to_tensorboard as write

    write(writer, report, step, prefix=prefix, histograms=histograms)


# --------------------------------------------------------------------------- revival

_PRODUCERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
_Producer = nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d
_BETWEEN_PRODUCER = (nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)
_BETWEEN_CONSUMER = (
    *_BETWEEN_PRODUCER,
    nn.Flatten,
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.MaxPool3d,
    nn.AvgPool1d,
    nn.AvgPool2d,
    nn.AvgPool3d,
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveAvgPool3d,
    nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d,
    nn.AdaptiveMaxPool3d,
)
Which = Literal["dormant", "dead", "never_positive", "near_dead"]


def revive(
    model: nn.Module,
    report: MonitorReport,
    *,
    units: Which = "dormant",
    layers: Mapping[str, tuple[str, str]] | None = None,
    optimizer: Optimizer | None = None,
    generator: torch.Generator | None = None,
    keep_function: bool = True,
) -> dict[str, list[int]]:
    """Revive a report's dormant units the way ReDo does (Sokar et al. 2023).

    For each unit: its incoming weights (the row of the Linear/Conv layer that feeds the
    activation, and its bias) are drawn again from that layer's default initialisation
    (Kaiming-uniform, as ``reset_parameters``), and its outgoing weights (the columns of
    the next Linear/Conv layer that read it) are set to 0, so the unit is live again (it
    can learn) and the network's function does not change: exactly for units that were
    never positive under a ReLU-like activation (their output was 0), and by their small
    contribution for the other dormant ones. Under Leaky ReLU or a smooth activation a
    unit's negative outputs reach the next layer, so zeroing its outgoing weights changes
    the function: such sites are refused unless ``keep_function=False``.

    Supported: an activation site inside an ``nn.Sequential`` between a ``Linear`` or
    ``ConvNd`` (with only ``Identity``/``Dropout`` between them) and the next
    ``Linear``/``ConvNd`` (with ``Dropout``, pooling or ``Flatten`` between; a Conv
    followed by ``Flatten`` and a Linear zeroes each channel's block of columns). For
    other architectures name the pair yourself: ``layers={"site": ("incoming",
    "outgoing")}`` (qualified module names). Anything else — a functional site, a site
    called several times, grouped convolutions, a BatchNorm in between — is refused with
    a ``ValueError`` that says which site and why, before any weight changes.

    Args:
        model: the monitored model (changed in place).
        report: a ``DeadUnitMonitor`` report of ``model``.
        units: which units to revive: ``"dormant"`` (ReDo's choice), ``"dead"`` (ReLU
            units never positive), ``"never_positive"`` (dead or negative-regime) or
            ``"near_dead"`` (near-dead and never positive).
        layers: ``{site name: (incoming layer name, outgoing layer name)}`` for sites the
            automatic search cannot pair.
        optimizer: if given, its per-parameter state (momentum, Adam's moments) is zeroed
            for the revived weights, as ReDo does.
        generator: the random generator for the new weights.
        keep_function: refuse sites whose activation is not ReLU-like (where revival
            changes what the network computes); False revives them anyway.

    Returns:
        ``{site name: [unit indices revived]}`` (sites with nothing to revive omitted).
    """
    choices = ("dormant", "dead", "never_positive", "near_dead")
    if units not in choices:
        raise ValueError(
            f"The 'units' parameter of revive must be one of {choices}. Got {units!r} instead."
        )
    named = dict(model.named_modules())
    plan: list[tuple[str, list[int], _Producer, _Producer]] = []
    for layer in report.layers:
        if units == "dormant":
            chosen = layer.dormant
        elif units == "dead":
            chosen = layer.dead
        elif units == "never_positive":
            chosen = layer.dead + layer.negative_regime
        else:
            chosen = layer.dead + layer.negative_regime + layer.near_dead
        chosen = sorted(set(chosen))
        if not chosen:
            continue
        if layers is not None and layer.name in layers:
            incoming_name, outgoing_name = layers[layer.name]
            for n in (incoming_name, outgoing_name):
                if n not in named:
                    raise KeyError(f"revive: no module named {n!r} in the model.")
            found_in, found_out = named[incoming_name], named[outgoing_name]
        else:
            found_in, found_out = _neighbours(model, named, layer.name)
        incoming, outgoing = _check_pair(layer, found_in, found_out)
        if keep_function and layer.kind != "relu":
            raise ValueError(
                f"revive keeps the network's function only where a revived unit's output was "
                f"0 (ReLU-like sites); site {layer.name!r} is {layer.activation}: its "
                "negative outputs reach the next layer. Pass keep_function=False to revive "
                "it anyway."
            )
        plan.append((layer.name, chosen, incoming, outgoing))
    revived: dict[str, list[int]] = {}
    with torch.no_grad():
        for name, chosen, incoming, outgoing in plan:
            idx = torch.tensor(chosen, dtype=torch.long)
            _reinit_rows(incoming, idx, generator)
            _zero_columns(outgoing, idx, _units_of(incoming))
            if optimizer is not None:
                _reset_optimizer_state(optimizer, incoming, outgoing, idx, _units_of(incoming))
            revived[name] = chosen
    return revived


def _units_of(layer: _Producer) -> int:
    return layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels


def _inputs_of(layer: _Producer) -> int:
    return layer.in_features if isinstance(layer, nn.Linear) else layer.in_channels


def _neighbours(
    model: nn.Module, named: Mapping[str, nn.Module], site: str
) -> tuple[nn.Module, nn.Module]:
    why = (
        f"revive cannot pair site {site!r} with its layers automatically: it supports an "
        "activation inside an nn.Sequential, after a Linear/Conv layer and before the next "
        "one. Pass layers={site: (incoming, outgoing)} to name them."
    )
    if ":" in site or "#" in site:
        raise ValueError(why + " (functional and multiply-called sites need layers=)")
    parent_name, _, child = site.rpartition(".")
    parent = named.get(parent_name if site != "<root>" else "")
    if site == "<root>" or not isinstance(parent, nn.Sequential):
        raise ValueError(why)
    children = list(parent._modules.items())
    keys = [k for k, _ in children]
    if child not in keys:
        raise ValueError(why)
    at = keys.index(child)
    incoming = None
    for _, module in reversed(children[:at]):
        if isinstance(module, _PRODUCERS):
            incoming = module
            break
        if not isinstance(module, _BETWEEN_PRODUCER):
            raise ValueError(f"{why} ({type(module).__name__} before the activation)")
    outgoing = None
    for _, module in children[at + 1 :]:
        if isinstance(module, _PRODUCERS):
            outgoing = module
            break
        if not isinstance(module, _BETWEEN_CONSUMER):
            raise ValueError(f"{why} ({type(module).__name__} after the activation)")
    if incoming is None or outgoing is None:
        raise ValueError(f"{why} (no Linear/Conv layer on one side)")
    return incoming, outgoing


def _check_pair(
    layer: LayerReport, incoming: nn.Module, outgoing: nn.Module
) -> tuple[_Producer, _Producer]:
    for role, module in (("incoming", incoming), ("outgoing", outgoing)):
        if not isinstance(module, _PRODUCERS):
            raise ValueError(
                f"revive: the {role} layer of site {layer.name!r} must be a Linear or Conv "
                f"layer. Got {type(module).__name__}."
            )
        if getattr(module, "groups", 1) != 1:
            raise ValueError(f"revive: grouped convolutions are not supported ({layer.name!r}).")
    assert isinstance(incoming, _PRODUCERS) and isinstance(outgoing, _PRODUCERS)
    out = _units_of(incoming)
    if out != layer.units:
        raise ValueError(
            f"revive: site {layer.name!r} has {layer.units} units but its incoming layer "
            f"{type(incoming).__name__} has {out} outputs."
        )
    width = _inputs_of(outgoing)
    if width % out:
        raise ValueError(
            f"revive: the outgoing layer of {layer.name!r} reads {width} inputs, not a "
            f"multiple of the site's {out} units."
        )
    return incoming, outgoing


def _reinit_rows(layer: _Producer, idx: Tensor, generator: torch.Generator | None) -> None:
    weight = layer.weight
    fresh = torch.empty_like(weight, device="cpu")
    nn.init.kaiming_uniform_(fresh, a=math.sqrt(5), generator=generator)
    weight[idx] = fresh[idx].to(weight.device)
    if layer.bias is not None:
        fan_in = weight[0].numel()
        bound = 1 / math.sqrt(fan_in) if fan_in else 0.0
        bias = torch.empty(len(idx), dtype=layer.bias.dtype)
        bias.uniform_(-bound, bound, generator=generator)
        layer.bias[idx] = bias.to(layer.bias.device)


def _columns(outgoing: _Producer, idx: Tensor, units: int) -> Tensor:
    """The input columns of ``outgoing`` that read the units ``idx`` (a flattened channel
    is a block of consecutive columns)."""
    block = _inputs_of(outgoing) // units
    return (idx[:, None] * block + torch.arange(block)[None, :]).flatten()


def _zero_columns(outgoing: _Producer, idx: Tensor, units: int) -> None:
    outgoing.weight[:, _columns(outgoing, idx, units)] = 0


def _reset_optimizer_state(
    optimizer: Optimizer, incoming: _Producer, outgoing: _Producer, idx: Tensor, units: int
) -> None:
    cols = _columns(outgoing, idx, units)
    targets = [(incoming.weight, "rows"), (outgoing.weight, "cols")]
    if incoming.bias is not None:
        targets.append((incoming.bias, "rows"))
    for param, how in targets:
        for value in optimizer.state.get(param, {}).values():
            if isinstance(value, Tensor) and value.shape == param.shape:
                if how == "rows":
                    value[idx] = 0
                else:
                    value[:, cols] = 0
