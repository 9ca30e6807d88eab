"""The counting: one pass over an activation, exact integer counts per unit, no
full-size temporary (numba loops; large ones on PyTorch's OpenMP team)."""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

# ------------------------------------------------------------------------ the counting


def _default_unit_dim(ndim: int, channels: bool = False) -> int:
    """The unit axis of an activation with ``ndim`` axes (``unit_dim`` overrides it).

    ``channels``: the activation's input came straight from a channel-first layer
    (``_kinds.CHANNEL_FIRST``: a convolution, a batch norm, a 1-d pooling): the unit is
    the channel, dim 1, also of a Conv1d's 3-d (N, C, L). Otherwise, as for a bare
    activation whose input was made elsewhere: the last axis of 1-d to 3-d tensors (a
    Linear's (N, F) and (N, L, F)) and dim 1 of 4-d and 5-d tensors (images, volumes).
    """
    if channels and ndim >= 2:
        return 1
    return 1 if ndim >= 4 else ndim - 1


# The last output of a channel-first layer, per thread (a weak reference: it keeps nothing
# alive). Recorded by a forward hook on those layers while a monitor is active.
_made = threading.local()


def _mark_channels(module: Any, inputs: Any, output: Any) -> None:
    if isinstance(output, Tensor):
        _made.channels = weakref.ref(output)


def _from_channels(source: Tensor | None) -> bool:
    """True if ``source`` is the output of the last channel-first layer this thread ran."""
    ref = getattr(_made, "channels", None)
    return source is not None and ref is not None and ref() is source


_KERNELS: dict[str, Any] = {}
_MAX_EXACT_F32 = 1 << 24  # float32 counts inside one kernel call stay exact below this


def _kernels() -> dict[str, Any]:
    """The one-pass counting loops (numba, ``leaky.monitor._loops``), cached on disk.

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
    if not _KERNELS:
        from leaky.monitor import _loops  # module-level loops: numba caches them on disk

        _KERNELS.update(
            rows=_loops.rows,
            rows_part=_loops.rows_part,
            planes_part=_loops.planes_part,
            merge=_loops.merge,
            nonfinite=_loops.nonfinite,
            block=_loops.block.address,
            block_cfunc=_loops.block,
        )
    return _KERNELS


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
        from leaky.monitor import _loops as k

        parts[:] = 0.0  # a thread with no rows leaves its slot as it is
        block = _scratch_block(k.SLOTS)
        block[k.S_KIND] = 0 if l_n == 1 else 1
        block[k.S_DTYPE] = 0 if view.dtype.itemsize == 4 else 1
        block[k.S_Y] = view.ctypes.data
        block[k.S_A], block[k.S_U], block[k.S_L] = a_n, u_n, l_n
        block[k.S_PARTS] = parts.ctypes.data
        block[k.S_MAX_THREADS] = threads
        block[k.S_THREAD_NUM] = team.thread_num
        block[k.S_NUM_THREADS] = team.num_threads
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


def _scratch_block(slots: int) -> Any:
    block = _local.__dict__.get("block")
    if block is None:
        import numpy as np

        block = _local.block = np.zeros(slots, np.int64)
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
        "axis",
        "counts",
        "kind",
        "layout",
        "loaded",
        "lock",
        "ndim",
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
        self.axis: int | None = None  # the unit axis, decided on the first batch ...
        self.ndim = 0  # ... for activations with this many axes
        self.loaded = False  # restored by load_state_dict()
        self.lock = threading.Lock()  # threads running the model count one at a time

    def _set(self, counts: Tensor, sums: Tensor) -> None:
        self.counts, self.sums = counts, sums
        self.arrays = (counts.numpy(), sums.numpy()) if counts.is_cpu else None

    def _dim(self, t: Tensor, source: Tensor | None) -> int:
        if self.axis is not None and self.ndim == t.ndim:
            return self.axis  # decided once: every batch counts the same axis
        dim = self.unit_dim
        if dim is None:
            dim = _default_unit_dim(t.ndim, _from_channels(source))
        if not -t.ndim <= dim < t.ndim:
            raise ValueError(
                f"unit_dim={dim} does not fit an activation of shape {tuple(t.shape)}; pass "
                "unit_dim= (an int, or a mapping by layer name) to choose the unit axis."
            )
        self.axis, self.ndim = dim % t.ndim, t.ndim
        return self.axis

    def _start(self, t: Tensor, source: Tensor | None) -> int:
        dim = self._dim(t, source)
        units = t.shape[dim]
        if self.counts is None:
            self._set(
                torch.zeros(3, units, dtype=torch.int64, device=t.device),
                torch.zeros(units, dtype=torch.float64, device=t.device),
            )
        elif self.counts.shape[1] != units:
            if self.loaded:
                raise ValueError(
                    f"This activation has {units} units, and the state loaded by "
                    f"load_state_dict() had {self.counts.shape[1]}: it came from another "
                    "model; load the state of this model."
                )
            raise ValueError(
                f"An activation changed its number of units from {self.counts.shape[1]} to "
                f"{units} between batches; pass unit_dim= to choose the unit axis."
            )
        return dim

    def add_input(self, x: Tensor, source: Tensor | None = None) -> None:
        """Count ``x > 0`` on the input (activations that do not keep the sign).

        ``source``: the activation's input as the model passed it (not detached), which
        tells whether a channel-first layer made it (the unit axis); on every ``add_*``.
        """
        with self.lock:
            dim = self._start(x, source)
            _count(x, dim, self.counts, self.sums, True, False, self.arrays)  # type: ignore[arg-type]

    def add_output(self, y: Tensor, positive: bool, source: Tensor | None = None) -> None:
        with self.lock:
            shape = y.shape
            if shape == self.shape:  # the common case: the layout of the last batch
                dim, n = self.layout
            else:
                dim = self._start(y, source)
                n = y.numel() // shape[dim]
                self.shape, self.layout = shape, (dim, n)
            self.samples += n
            _count(y, dim, self.counts, self.sums, positive, True, self.arrays)  # type: ignore[arg-type]

    def state(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "activation": self.activation,
            "unit_dim": self.unit_dim,
            "axis": self.axis,
            "ndim": self.ndim,
            "samples": self.samples,
            "counts": None if self.counts is None else self.counts.detach().cpu().clone(),
            "sums": None if self.sums is None else self.sums.detach().cpu().clone(),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> _Site:
        site = cls(state["kind"], state["activation"], state["unit_dim"])
        site.samples = int(state["samples"])
        site.axis, site.ndim = state.get("axis"), int(state.get("ndim", 0))  # older: absent
        site.loaded = True
        if state["counts"] is not None:
            site._set(
                torch.as_tensor(state["counts"], dtype=torch.int64).clone(),
                torch.as_tensor(state["sums"], dtype=torch.float64).clone(),
            )
        return site
