"""The counting: one pass over an activation, exact integer counts per unit, no
full-size temporary (numba loops; large ones on PyTorch's OpenMP team)."""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

if TYPE_CHECKING:
    pass


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
