"""The monitor's counting loops (numba), defined at module level so that numba caches them
on disk (``cache=True`` keys a function by its module and name: loops made inside a
function were compiled again in every process, 2 s before the first counted batch).

Imported on the first count (``leaky.monitor._counting._kernels``), never by ``import
leaky.monitor``. Where no cache directory is writable the loops are compiled in memory,
with the one warning of ``leaky._kernels``.
"""

from __future__ import annotations

import numpy as np
from numba import carray, cfunc, types

from leaky._kernels import _call_int, _f32_pointer, _f64_pointer, _jit, _no_cache

# The argument block of the team's loop (int64 slots, one block per calling thread).
SLOTS = 11
(
    S_KIND,
    S_DTYPE,
    S_Y,
    S_A,
    S_U,
    S_L,
    S_PARTS,
    S_MAX_THREADS,
    S_THREAD_NUM,
    S_NUM_THREADS,
    S_SPARE,
) = range(SLOTS)

_count = _jit(fastmath={"reassoc", "contract", "nsz"})
_plain = _jit()


@_count
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


@_count
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


@_count
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


@_count
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


@_plain
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


@_plain
def nonfinite(y, counts):  # pragma: no cover - numba; (A, U, L): the exact count
    a_n, u_n, l_n = y.shape
    for a in range(a_n):
        for u in range(u_n):
            bad = 0
            for i in range(l_n):
                v = y[a, u, i]
                bad += v - v != 0  # NaN exactly for NaN and ±inf
            counts[2, u] += bad


@_plain
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
    slots = carray(data, (SLOTS,), dtype=np.int64)
    tid = _call_int(slots[S_THREAD_NUM])
    nt = _call_int(slots[S_NUM_THREADS])
    a_n, u_n, l_n = slots[S_A], slots[S_U], slots[S_L]
    parts = carray(_f64_pointer(slots[S_PARTS]), (slots[S_MAX_THREADS], 4, u_n))
    if tid >= slots[S_MAX_THREADS]:
        return
    chunk = (a_n + nt - 1) // nt
    start = min(a_n, tid * chunk)
    stop = min(a_n, start + chunk)
    itemsize = 4 if slots[S_DTYPE] == 0 else 8
    address = slots[S_Y] + start * u_n * l_n * itemsize
    span(slots[S_KIND], slots[S_DTYPE], address, stop - start, u_n, l_n, parts[tid])


try:
    # numba's cfunc takes its compiler options as **options; its annotation misses them
    block = cfunc(types.void(types.voidptr), nopython=True, cache=True)(block_body)  # type: ignore[call-arg]
except RuntimeError as _err:  # no writable cache directory, as leaky._kernels
    if "cannot cache" not in str(_err):
        raise
    _no_cache("monitor block", _err)
    block = cfunc(types.void(types.voidptr), nopython=True)(block_body)  # type: ignore[call-arg]
