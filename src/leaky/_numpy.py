"""The NumPy kernels: forward, derivative and backward written into a given ``out``.

The callers (``leaky.functional``) have validated everything: the inputs are floating
ndarrays of one dtype and shape, ``out`` has that shape and dtype, the slope is a float in
[0, 1]. Nothing here allocates more than one cache-sized block, whatever the array size.

Two engines compute the same contract:

- the compiled engine (``leaky._kernels``, numba loops, threaded for large arrays), used for
  float32 and float64 arrays whose memory can be walked as one flat run;
- the blocked NumPy engine below, used for everything else (strided views, float16, numba
  missing or disabled with ``LEAKY_ENGINE=numpy``). It walks the arrays in blocks of
  ``BLOCK`` elements and computes each block in a block-sized scratch buffer, so ``out`` may
  alias the input and no temporary grows with the array.

float16 always computes in float32 and rounds once, like PyTorch's CPU kernels.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

BLOCK = 1 << 14  # elements; 64 KiB of float32, a size that stays in L2 cache


def _compute_dtype(dtype: np.dtype) -> np.dtype:
    return np.dtype(np.float32) if dtype == np.float16 else np.dtype(dtype)


def _block_index(shape: tuple[int, ...], block: int) -> Iterator[tuple[int | slice, ...]]:
    """Index tuples that cover an array of ``shape`` in pieces of at most ~``block`` items."""
    inner = math.prod(shape[1:])
    if inner <= block:
        step = max(1, block // max(inner, 1))
        for start in range(0, shape[0], step):
            yield (slice(start, start + step),)
    else:
        for i in range(shape[0]):
            for rest in _block_index(shape[1:], block):
                yield (i, *rest)


def _flat(arrays: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...] | None:
    """1-D views of ``arrays`` that pair up element by element, or None if there are none."""
    if all(a.flags.c_contiguous for a in arrays):
        return arrays if arrays[0].ndim == 1 else tuple(a.reshape(-1) for a in arrays)
    if all(a.flags.f_contiguous for a in arrays):
        return tuple(a.ravel(order="F") for a in arrays)
    return None


def _blocks(*arrays: np.ndarray, block: int = BLOCK) -> Iterator[tuple[np.ndarray, ...]]:
    """Matching views of same-shaped ``arrays``, one cache-sized block at a time."""
    flat = _flat(arrays)
    if flat is not None:
        n = flat[0].size
        for start in range(0, n, block):
            yield tuple(a[start : start + block] for a in flat)
    else:
        for index in _block_index(arrays[0].shape, block):
            yield tuple(a[index] for a in arrays)


def _hazard(out: np.ndarray, *inputs: np.ndarray) -> bool:
    """True when ``out`` overlaps an input other than element for element (a shifted view)."""
    for x in inputs:
        if out is x or not np.may_share_memory(out, x):  # the common cases, cheaply
            continue
        same_layout = (
            out.__array_interface__["data"][0] == x.__array_interface__["data"][0]
            and out.strides == x.strides
        )
        if not same_layout and np.shares_memory(out, x):
            return True
    return False


# "auto": the compiled engine where it applies; "numpy": the blocked NumPy engine only.
ENGINE = os.environ.get("LEAKY_ENGINE", "auto")


_COMPILED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _compiled(*arrays: np.ndarray) -> tuple[Any, tuple[np.ndarray, ...]] | None:
    """The kernels module and flat views when the compiled engine applies, else None."""
    if ENGINE == "numpy" or arrays[0].dtype not in _COMPILED_DTYPES:
        return None
    kernels = _load_kernels()
    flat = _flat(arrays) if kernels is not None else None
    return None if flat is None else (kernels, flat)


@functools.cache
def _load_kernels() -> Any:
    try:
        from leaky import _kernels  # imports numba
    except ImportError:
        return None
    return _kernels


def forward(x: np.ndarray, a: float, out: np.ndarray) -> None:
    """Write leaky_relu(x) into ``out``."""
    if _hazard(out, x):
        tmp = np.empty_like(out)
        forward(x, a, tmp)
        out[...] = tmp
        return
    compiled = _compiled(x, out)
    if compiled is not None:
        kernels, (xf, of) = compiled
        kernels.forward(xf, a, of)
        return
    ct = _compute_dtype(x.dtype)
    slope = ct.type(a)
    scratch = np.empty(BLOCK, ct)
    for xb, ob in _blocks(x, out):
        t = scratch[: xb.size].reshape(xb.shape)
        if slope == 0:  # ReLU, also for a slope that rounds to 0 in the compute type
            np.copyto(t, xb)
            np.copyto(t, ct.type(0.0), where=xb < 0)
        else:
            np.multiply(xb, slope, out=t)
            np.maximum(xb, t, out=t)  # max(x, a*x) for a in (0, 1]; NaN propagates
        np.copyto(ob, t)


def derivative(x: np.ndarray, a: float, out: np.ndarray) -> None:
    """Write the derivative of leaky_relu at ``x`` into ``out``."""
    if _hazard(out, x):
        tmp = np.empty_like(out)
        derivative(x, a, tmp)
        out[...] = tmp
        return
    compiled = _compiled(x, out)
    if compiled is not None:
        kernels, (xf, of) = compiled
        kernels.derivative(xf, a, of)
        return
    ct = _compute_dtype(x.dtype)
    scratch = np.empty(BLOCK, ct)
    for xb, ob in _blocks(x, out):
        t = scratch[: xb.size].reshape(xb.shape)
        t[...] = 1
        np.copyto(t, x.dtype.type(a), where=xb < 0)  # the slope rounded once, to x's dtype
        np.copyto(t, xb, where=np.isnan(xb))
        np.copyto(ob, t)


def backward(g: np.ndarray, x: np.ndarray, a: float, out: np.ndarray) -> None:
    """Write ``g * derivative(x)`` into ``out`` (one IEEE product per element)."""
    if _hazard(out, g, x):
        tmp = np.empty_like(out)
        backward(g, x, a, tmp)
        out[...] = tmp
        return
    compiled = _compiled(g, x, out)
    if compiled is not None:
        kernels, (gf, xf, of) = compiled
        kernels.backward(gf, xf, a, of)
        return
    ct = _compute_dtype(x.dtype)
    slope = ct.type(a)
    scratch = np.empty(BLOCK, ct)
    for gb, xb, ob in _blocks(g, x, out):
        t = scratch[: xb.size].reshape(xb.shape)
        np.copyto(t, gb)
        with np.errstate(invalid="ignore"):  # inf * 0 is NaN by IEEE, not a user error
            np.multiply(gb, slope, out=t, where=xb < 0)
        np.copyto(t, xb, where=np.isnan(xb))
        np.copyto(ob, t)


def fast(op: int, x: Any, a: Any, out: Any, g: Any = None) -> np.ndarray | None:
    """Run the compiled loop ``op`` (``leaky._kernels.FORWARD``, ``DERIVATIVE`` or
    ``BACKWARD``) straight away for a recognised common call and return ``out``; else None.

    Recognised: a valid float slope, C-contiguous float32/float64 arrays of one shape
    (not 0-d), a fresh ``out`` or a writeable one of the same layout. It decides nothing
    about errors: anything else takes the full path, which validates
    (``leaky._validate``) and raises. Small arrays pay one compiled call, which also
    checks that ``out`` does not partly overlap an input (a shifted view of it); measured
    with ``leaky bench`` against PyTorch's ``out=`` call.
    """
    if (
        type(x) is not np.ndarray
        or type(a) is not float
        or not 0.0 <= a <= 1.0
        or x.dtype.char not in "fd"
        or not x.dtype.isnative  # '>f8' is "d" too: the full path converts it first
        or not x.ndim
        or not x.flags.c_contiguous
        or ENGINE == "numpy"
    ):
        return None
    if g is not None and (
        type(g) is not np.ndarray
        or g.dtype != x.dtype
        or g.shape != x.shape
        or not g.flags.c_contiguous
    ):
        return None
    if out is None:
        out = np.empty_like(x)
    elif (
        type(out) is not np.ndarray
        or out.dtype != x.dtype
        or out.shape != x.shape
        or not out.flags.c_contiguous
        or not out.flags.writeable
    ):
        return None
    kernels = _load_kernels()
    if kernels is None:
        return None
    if x.ndim == 1:
        done = kernels.fast(op, x, a, out, g)
    else:
        gf = None if g is None else g.reshape(-1)
        done = kernels.fast(op, x.reshape(-1), a, out.reshape(-1), gf)
    return out if done else None
