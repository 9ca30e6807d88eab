"""The contract written once in array-API operations, for every array library but NumPy.

Each function takes validated, floating arrays of one namespace ``xp`` and a validated
slope. They only use the array API standard (``where``, comparisons, ``*``), so PyTorch,
JAX, CuPy, Dask and array-api-strict share them without special code.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _scalar(xp: Any, value: float, like: Any) -> Any:
    from array_api_compat import device

    return xp.asarray(value, dtype=like.dtype, device=device(like))


def _times_slope(xp: Any, v: Any, a: float) -> Any:
    """``v * a`` with the slope rounded to the compute type: float32 for 16-bit floats.

    Libraries differ for float16 (NumPy and Dask round the slope to float16 first, PyTorch
    computes in float32); computing 16-bit floats in float32 and rounding once makes every
    library agree with the NumPy kernels and with PyTorch, bit for bit.
    """
    if xp.finfo(v.dtype).bits < 32:
        return xp.astype(xp.astype(v, xp.float32) * a, v.dtype)
    return v * a


def forward(xp: Any, x: Any, a: float) -> Any:
    """``x`` where ``x >= 0`` (and NaN), ``a * x`` where ``x < 0``; slope 0 gives +0.0 there."""
    compute = np.float32 if xp.finfo(x.dtype).bits <= 32 else np.float64
    if compute(a) == 0:  # a slope of 0, or one that rounds to 0 in the compute type
        # 0 * -inf would be NaN: plain ReLU gives +0.0 for every negative input.
        return xp.where(x < 0, _scalar(xp, 0.0, x), x)
    return xp.where(x < 0, _times_slope(xp, x, a), x)


def derivative(xp: Any, x: Any, a: float) -> Any:
    """1 where ``x >= 0``, ``a`` where ``x < 0``, NaN where ``x`` is NaN."""
    one, slope = _scalar(xp, 1.0, x), _scalar(xp, a, x)
    return xp.where(x >= 0, one, xp.where(x < 0, slope, x))


def backward(xp: Any, grad_output: Any, x: Any, a: float) -> Any:
    """``grad_output * derivative(x)`` as one IEEE product per element; NaN where x is NaN."""
    g = grad_output  # same dtype as x: functional promotes both first
    return xp.where(x >= 0, g, xp.where(x < 0, _times_slope(xp, g, a), x))
