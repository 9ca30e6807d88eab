"""The core's checks of an argument, and their messages, each in one place.

The lab's and the CLI's own checks (seeds, p-values, a Dask scheduler's address, a
``package.module:function`` reference) live in ``leaky.lab._checks``, which builds on
these.

Messages follow one pattern: which parameter of which function, what is allowed, and what
was received, e.g. ``The 'negative_slope' parameter of leaky_relu must be a real number in
[0, 1]. Got -0.5 (float) instead.``
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

SLOPE_RANGE = "a real number in [0, 1]"


def _received(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def negative_slope(value: Any, func: str) -> float:
    """Return ``value`` as a Python float if it is a valid slope, else raise.

    A valid slope is a real, finite number in [0, 1]: a Python int or float or a NumPy
    real scalar. Booleans, strings, arrays (also 0-d ones), NaN and infinities are refused.
    """
    if type(value) is float and 0.0 <= value <= 1.0:  # the common case, in ~100 ns
        return value
    is_real = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    if not is_real:
        raise TypeError(
            f"The 'negative_slope' parameter of {func} must be {SLOPE_RANGE}. "
            f"Got {_received(value)} instead."
        )
    slope = float(value)
    if not (math.isfinite(slope) and 0.0 <= slope <= 1.0):
        raise ValueError(
            f"The 'negative_slope' parameter of {func} must be {SLOPE_RANGE}. "
            f"Got {_received(value)} instead."
        )
    return slope


def _dtype_error(name: str, func: str, dtype: Any) -> TypeError:
    return TypeError(
        f"The '{name}' parameter of {func} must be an array of dtype float16, bfloat16, "
        "float32 or float64 (integer and bool arrays are promoted like np.sin). "
        f"Got an array of dtype {dtype} instead."
    )


def _plain_ndarray(value: Any, name: str, func: str) -> None:
    """Refuse NumPy subclasses whose meaning leaky's result would drop (a mask, a unit)."""
    if isinstance(value, np.ndarray) and type(value) not in (np.ndarray, np.memmap):
        hint = (
            "its mask would be lost; pass x.filled(fill_value) or compute on x.data and "
            "re-apply the mask"
            if isinstance(value, np.ma.MaskedArray)
            else "the result would be a plain ndarray; pass np.asarray(x)"
        )
        raise TypeError(
            f"The '{name}' parameter of {func} must be a plain NumPy array (np.memmap is "
            f"fine). Got a {type(value).__module__}.{type(value).__qualname__}: {hint}."
        )


def numpy_input(value: Any, name: str, func: str) -> np.ndarray:
    """Convert ``value`` (array, scalar, list) to a floating NumPy array.

    Floating dtypes (float16, float32, float64) are kept. Integer and bool inputs are
    promoted like a NumPy ufunc such as ``np.sin`` (int8 -> float16, int16 -> float32,
    int32/int64 -> float64). Complex, string, object and other dtypes (float128 too) raise
    TypeError, as do NumPy subclasses other than ``np.memmap`` (a masked array's mask
    would be lost). An array of the other byte order (``'>f8'`` on a little-endian
    machine) is converted to native order here, the one place every NumPy path passes:
    leaky computes on the native value and returns a native-order result.
    """
    _plain_ndarray(value, name, func)
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as err:  # ragged lists and the like
        raise TypeError(
            f"The '{name}' parameter of {func} must be an array of real numbers. "
            f"Got {_received(value)}, which NumPy cannot turn into one: {err}"
        ) from None
    kind = arr.dtype.kind
    if kind == "f" and arr.dtype.itemsize in (2, 4, 8):
        return arr if arr.dtype.isnative else arr.astype(arr.dtype.newbyteorder("="))
    if kind in "biu":
        return arr.astype(np.result_type(arr.dtype, np.float16))
    raise _dtype_error(name, func, arr.dtype)


def numpy_out(out: Any, shape: tuple[int, ...], dtype: np.dtype, func: str) -> np.ndarray:
    """Check an ``out=`` array for the NumPy path before anything is written to it.

    ``dtype`` is the result's (native) dtype; an ``out`` of that dtype in the other byte
    order (``'>f8'`` for float64 on a little-endian machine) is accepted, as NumPy's ufuncs
    accept it: the caller computes natively and stores the values into it.
    """
    if not isinstance(out, np.ndarray):
        raise TypeError(
            f"The 'out' parameter of {func} must be a NumPy array when the input is a NumPy "
            f"array. Got {_received(out)} instead."
        )
    _plain_ndarray(out, "out", func)
    if out.shape != shape or out.dtype.newbyteorder("=") != dtype:
        raise ValueError(
            f"The 'out' parameter of {func} must have shape {shape} and dtype {dtype} (those "
            f"of the result). Got shape {out.shape} and dtype {out.dtype} instead."
        )
    if not out.flags.writeable:
        raise ValueError(f"The 'out' parameter of {func} must be writeable; it is read-only.")
    return out


def same_shape(a_shape: tuple[int, ...], b_shape: tuple[int, ...], func: str) -> None:
    """Check that ``grad_output`` and ``x`` have the same shape."""
    if tuple(a_shape) != tuple(b_shape):
        raise ValueError(
            f"The 'grad_output' and 'x' parameters of {func} must have the same shape. "
            f"Got {tuple(a_shape)} and {tuple(b_shape)} instead."
        )


def xp_input(x: Any, xp: Any, name: str, func: str) -> Any:
    """Check and promote an array of any array-API library (the counterpart of numpy_input)."""
    if xp.isdtype(x.dtype, "real floating"):
        return x
    if xp.isdtype(x.dtype, ("integral", "bool")):
        info = xp.__array_namespace_info__()
        float_dtype = info.default_dtypes(device=_device(x))["real floating"]
        return xp.astype(x, float_dtype)
    raise _dtype_error(name, func, x.dtype)


def xp_out(out: Any, result: Any, func: str, records_grad: bool | None = None) -> None:
    """Check an ``out=`` array of any array-API library before anything is written.

    ``result`` is the result, or an array of its library, shape, dtype and device (the
    input, when the result is to be computed straight into ``out``); ``records_grad``
    says whether the call would record an autograd graph (by default: ``result``'s).
    """
    from array_api_compat import array_namespace, device, is_writeable_array

    try:
        same_namespace = array_namespace(out) is array_namespace(result)
    except TypeError:
        same_namespace = False
    if not same_namespace:
        raise TypeError(
            f"The 'out' parameter of {func} must be an array of the input's library "
            f"({type(result).__module__}). Got {_received(out)} instead."
        )
    if tuple(out.shape) != tuple(result.shape) or out.dtype != result.dtype:
        raise ValueError(
            f"The 'out' parameter of {func} must have shape {tuple(result.shape)} and dtype "
            f"{result.dtype} (those of the result). Got shape {tuple(out.shape)} and dtype "
            f"{out.dtype} instead."
        )
    if device(out) != device(result):
        raise ValueError(
            f"The 'out' parameter of {func} must be on the input's device {device(result)}. "
            f"Got an array on {device(out)} instead."
        )
    if not is_writeable_array(out):
        raise TypeError(
            f"The 'out' parameter of {func} must be a writeable array; arrays of "
            f"{type(out).__module__} are immutable. Leave out=None and use the returned array."
        )
    if records_grad is None:
        records_grad = bool(getattr(result, "requires_grad", False))
    if getattr(out, "requires_grad", False) or records_grad:
        raise RuntimeError(
            f"{func}(..., out=...) does not record an autograd graph (like PyTorch's own "
            "out= functions). Leave out=None when the input requires a gradient."
        )


def _device(x: Any) -> Any:
    from array_api_compat import device

    return device(x)


_BYTE_UNITS = {"": 1, "K": 1 << 10, "KB": 1 << 10, "KIB": 1 << 10, "M": 1 << 20, "MB": 1 << 20}
_BYTE_UNITS |= {"MIB": 1 << 20, "G": 1 << 30, "GB": 1 << 30, "GIB": 1 << 30}


def env_bytes(name: str, default: int) -> int:
    """A size in bytes from the environment variable ``name``: ``131072``, ``128K``, ``1MiB``.

    Examples:
        >>> import os
        >>> os.environ["LEAKY_EXAMPLE_BYTES"] = "128K"
        >>> env_bytes("LEAKY_EXAMPLE_BYTES", 0)
        131072
    """
    import os
    import re

    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    match = re.fullmatch(r"\s*(\d+)\s*([A-Za-z]*)\s*", text)
    unit = match.group(2).upper() if match else None
    if match is None or unit not in _BYTE_UNITS:
        raise ValueError(
            f"The environment variable {name} must be a size in bytes, like 131072, 128K or "
            f"1MiB. Got {text!r} instead."
        )
    return int(match.group(1)) * _BYTE_UNITS[unit]


# --- numbers, flags and choices (the monitor's; the lab's primitives) -----------------


def _real(value: Any) -> float | None:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def positive_real(value: Any, param: str, func: str, *, zero: bool = False) -> float:
    """A finite real number > 0 (>= 0 with ``zero=True``)."""
    x = _real(value)
    if x is None or x < 0 or (x == 0 and not zero):
        allowed = "a finite real number >= 0" if zero else "a finite real number > 0"
        raise ValueError(
            f"The '{param}' parameter of {func} must be {allowed}. Got {_received(value)} instead."
        )
    return x


def closed_fraction(value: Any, param: str, func: str) -> float:
    """A real number in [0, 1] (a fraction of inputs, of units)."""
    x = _real(value)
    if x is None or not 0 <= x <= 1:
        raise ValueError(
            f"The '{param}' parameter of {func} must be a number in [0, 1]. "
            f"Got {_received(value)} instead."
        )
    return x


def optional_flag(value: Any, param: str, func: str) -> bool | None:
    """None, or a bool (``TypeError`` for anything else)."""
    if value is not None and not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"The '{param}' parameter of {func} must be a bool. Got {_received(value)} instead."
        )
    return None if value is None else bool(value)


def is_a(value: Any, param: str, func: str, cls: type, name: str) -> Any:
    """An instance of ``cls`` (subclasses welcome); ``TypeError`` naming ``name`` otherwise."""
    if not isinstance(value, cls):
        raise TypeError(
            f"The '{param}' parameter of {func} must be a {name}. "
            f"Got {type(value).__name__} instead."
        )
    return value
