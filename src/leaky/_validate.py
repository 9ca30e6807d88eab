"""Every check of an argument, and its message, lives here once.

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


def load_object(spec: Any, param: str, func: str) -> Any:
    """Import ``"package.module:name"`` and return ``name``, or raise one clear ValueError."""
    import importlib

    if not isinstance(spec, str) or spec.count(":") != 1 or not all(spec.split(":")):
        raise ValueError(
            f"The '{param}' parameter of {func} must look like 'package.module:name'. "
            f"Got {spec!r} instead."
        )
    module_name, attr = spec.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(
            f"The '{param}' parameter of {func}: cannot import module {module_name!r} "
            f"({type(err).__name__}: {err}). Is it on PYTHONPATH?"
        ) from None
    try:
        obj = module
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError:
        raise ValueError(
            f"The '{param}' parameter of {func}: module {module_name!r} has no {attr!r}."
        ) from None
    if not callable(obj):
        raise ValueError(
            f"The '{param}' parameter of {func}: {spec!r} is a {type(obj).__name__}, "
            "not a callable."
        )
    return obj


def positive_int(value: Any, param: str, func: str) -> int:
    """An int >= 1 (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(
            f"The '{param}' parameter of {func} must be an integer >= 1. "
            f"Got {_received(value)} instead."
        )
    return int(value)


def slope_range(low: Any, high: Any, func: str) -> tuple[float, float]:
    """A log-uniform search range: 0 < low < high <= 1."""
    ok = all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
        for v in (low, high)
    )
    if not ok or not 0 < low < high <= 1:
        raise ValueError(
            f"The 'low' and 'high' parameters of {func} must satisfy 0 < low < high <= 1 "
            f"(a log-uniform range of slopes). Got low={low!r}, high={high!r} instead."
        )
    return float(low), float(high)


def seeds(value: Any, func: str) -> list[int]:
    """A non-empty sequence of distinct integer seeds."""
    try:
        items = list(value)
    except TypeError:
        items = []
    if (
        not items
        or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in items)
        or len(set(items)) != len(items)
    ):
        raise ValueError(
            f"The 'seeds' parameter of {func} must be a non-empty sequence of distinct "
            f"integers. Got {_received(value)} instead."
        )
    return [int(s) for s in items]


_BYTE_UNITS = {"": 1, "K": 1 << 10, "KB": 1 << 10, "KIB": 1 << 10, "M": 1 << 20, "MB": 1 << 20}
_BYTE_UNITS |= {"MIB": 1 << 20, "G": 1 << 30, "GB": 1 << 30, "GIB": 1 << 30}


def env_bytes(name: str, default: int) -> int:
    """A size in bytes from the environment variable ``name``: ``131072``, ``128K``, ``1MiB``.

    Example:
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


# --- leaky.lab.stats -------------------------------------------------------------------


def per_seed_values(value: Any, param: str, func: str) -> np.ndarray:
    """A 1-D float64 array of at least 2 finite real numbers, one per seed.

    NaN and infinities are refused: a failed run is entered as the value the caller chose
    for it (chance accuracy, the initial loss), never as NaN, and never dropped.
    """
    wanted = (
        f"The '{param}' parameter of {func} must be a 1-D sequence of at least 2 finite real "
        "numbers, one per seed"
    )
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        arr = np.asarray(None)
    if arr.dtype.kind not in "iuf" or arr.ndim != 1 or arr.size < 2:
        shape = f"shape {arr.shape}, dtype {arr.dtype}"
        raise ValueError(f"{wanted}. Got {_received(value)} ({shape}) instead.")
    arr = arr.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(
            f"{wanted}; a failed run must be entered as the value the caller chose for it "
            f"(e.g. chance accuracy), never NaN or inf, and never dropped. Got {arr[bad[0]]} "
            f"at index {bad[0]} instead."
        )
    return arr


def same_seeds(n_a: int, n_b: int, func: str) -> None:
    """Paired samples hold one value per shared seed: the same length."""
    if n_a != n_b:
        raise ValueError(
            f"The 'a' and 'b' parameters of {func} must hold one value per shared seed, in "
            f"the same seed order (the same length). Got {n_a} and {n_b} values instead."
        )


def _real(value: Any) -> float | None:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def open_interval(value: Any, param: str, func: str, low: float = 0.0, high: float = 1.0) -> float:
    """A real number strictly between ``low`` and ``high`` (a confidence level, alpha, power)."""
    x = _real(value)
    if x is None or not low < x < high:
        raise ValueError(
            f"The '{param}' parameter of {func} must be a real number in ({low:g}, {high:g}). "
            f"Got {_received(value)} instead."
        )
    return x


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


def count(value: Any, param: str, func: str, *, low: int = 0, high: int | None = None) -> int:
    """An integer (not a bool) in [low, high]."""
    ok = not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, np.integer))
    if not ok or value < low or (high is not None and value > high):
        allowed = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
        raise ValueError(
            f"The '{param}' parameter of {func} must be {allowed}. Got {_received(value)} instead."
        )
    return int(value)


def one_of(value: Any, param: str, func: str, allowed: tuple[str, ...]) -> str:
    """One of the strings ``allowed``; the message lists them."""
    if not isinstance(value, str) or value not in allowed:
        names = ", ".join(repr(a) for a in allowed)
        raise ValueError(
            f"The '{param}' parameter of {func} must be one of {names}. "
            f"Got {_received(value)} instead."
        )
    return value


def text(value: Any, param: str, func: str) -> str:
    """A non-empty string (a claim, the name of a measure)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            f"The '{param}' parameter of {func} must be a non-empty string. "
            f"Got {_received(value)} instead."
        )
    return value


def flag(value: Any, param: str, func: str) -> bool:
    """A bool (True or False), nothing that merely converts to one."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(
            f"The '{param}' parameter of {func} must be True or False. "
            f"Got {_received(value)} instead."
        )
    return bool(value)


def pvalues(value: Any, func: str) -> np.ndarray:
    """A 1-D float64 array of p-values in [0, 1] (may be empty)."""
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        arr = np.asarray([None])
    if arr.dtype.kind not in "iuf" or arr.ndim != 1 or not np.all((arr >= 0) & (arr <= 1)):
        raise ValueError(
            f"The 'pvalues' parameter of {func} must be a 1-D sequence of p-values in [0, 1] "
            f"(no NaN). Got {_received(value)} instead."
        )
    return arr.astype(np.float64)


def finite_real(value: Any, param: str, func: str) -> float:
    """A finite real number (not a bool)."""
    x = _real(value)
    if x is None:
        raise ValueError(
            f"The '{param}' parameter of {func} must be a finite real number. "
            f"Got {_received(value)} instead."
        )
    return x


def instances(value: Any, param: str, func: str, cls: type, source: str) -> list[Any]:
    """A non-empty sequence (list or tuple) of ``cls`` instances; ``source`` says where from."""
    items = list(value) if isinstance(value, (list, tuple)) else []
    if not items or not all(type(item) is cls for item in items):
        raise ValueError(
            f"The '{param}' parameter of {func} must be a non-empty list of {cls.__name__} "
            f"objects ({source}). Got {_received(value)} instead."
        )
    return items


def instance(value: Any, param: str, func: str, cls: type, source: str) -> Any:
    """One ``cls`` instance; ``source`` says where one comes from."""
    if type(value) is not cls:
        raise ValueError(
            f"The '{param}' parameter of {func} must be a {cls.__name__} ({source}). "
            f"Got {_received(value)} instead."
        )
    return value


# --- leaky.lab training (models, batched, harness) -------------------------------------


def int_tuple(
    value: Any, param: str, func: str, *, low: int = 0, empty: bool = False
) -> tuple[int, ...]:
    """A sequence of distinct integers >= ``low`` as a tuple (non-empty unless ``empty``)."""
    try:
        items = list(value) if not isinstance(value, (str, bytes)) else None
    except TypeError:
        items = None
    ok = (
        items is not None
        and (empty or items)
        and all(
            not isinstance(i, (bool, np.bool_)) and isinstance(i, (int, np.integer)) and i >= low
            for i in items
        )
        and len(set(items)) == len(items)
    )
    if not ok:
        size = "a" if empty else "a non-empty"
        raise ValueError(
            f"The '{param}' parameter of {func} must be {size} sequence of distinct integers "
            f">= {low}. Got {_received(value)} instead."
        )
    return tuple(int(i) for i in items)  # type: ignore[union-attr]


def fraction(value: Any, param: str, func: str) -> float:
    """A real number in [0, 1) (a held-out fraction)."""
    x = _real(value)
    if x is None or not 0 <= x < 1:
        raise ValueError(
            f"The '{param}' parameter of {func} must be a number in [0, 1). "
            f"Got {_received(value)} instead."
        )
    return x


# --- leaky.lab.runner and leaky.lab.store ----------------------------------------------

_SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")


def object_ref(value: Any, param: str, func: str) -> str:
    """A ``"package.module:name"`` reference (its form only; nothing is imported)."""
    import re

    if not isinstance(value, str) or not re.fullmatch(
        r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", value
    ):
        raise ValueError(
            f"The '{param}' parameter of {func} must look like 'package.module:function'. "
            f"Got {_received(value)} instead."
        )
    return value


def module_names(value: Any, param: str, func: str) -> tuple[str, ...]:
    """A sequence of dotted module names (``"leaky.lab.models"``), as a tuple."""
    import re

    items = list(value) if isinstance(value, (list, tuple)) else None
    if items is None or not all(
        isinstance(m, str) and re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", m) for m in items
    ):
        raise ValueError(
            f"The '{param}' parameter of {func} must be a list or tuple of module names like "
            f"'leaky.lab.models'. Got {_received(value)} instead."
        )
    return tuple(items)


def scheduler_address(value: Any, param: str, func: str) -> str | None:
    """None (no Dask), ``"local"`` (a LocalCluster) or a Dask scheduler address.

    ``host:port`` means ``tcp://host:port``; the schemes are tcp, tls, ws, wss and ucx.

    Example:
        >>> scheduler_address("127.0.0.1:8786", "scheduler", "run")
        'tcp://127.0.0.1:8786'
    """
    import re

    if value is None or value == "local":
        return value
    text = value.strip() if isinstance(value, str) else None
    if text is not None and "://" not in text:
        text = f"tcp://{text}"
    schemes = "|".join(_SCHEDULER_SCHEMES)
    host = r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)"
    if text is None or not re.fullmatch(rf"({schemes})://{host}:\d{{1,5}}", text):
        raise ValueError(
            f"The '{param}' parameter of {func} must be 'local' (a Dask LocalCluster here) or "
            f"the address of a running Dask scheduler like 'tcp://host:8786' (schemes: "
            f"{', '.join(_SCHEDULER_SCHEMES)}). Got {_received(value)} instead."
        )
    return text


def dashboard_address(name: str, default: str) -> str:
    """A Dask dashboard's ``host:port`` from the environment variable ``name``, else ``default``.

    The host is required (``:8787`` would mean every interface): to expose the dashboard on
    purpose, say so, as ``0.0.0.0:8787``.

    Example:
        >>> import os
        >>> os.environ["LEAKY_EXAMPLE_DASHBOARD"] = "0.0.0.0:8787"
        >>> dashboard_address("LEAKY_EXAMPLE_DASHBOARD", "127.0.0.1:0")
        '0.0.0.0:8787'
    """
    import os
    import re

    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    text = text.strip()
    match = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})", text)
    if match is None or int(match.group(2)) > 65535:
        raise ValueError(
            f"The environment variable {name} must be host:port, like 127.0.0.1:8787 (this "
            f"machine only) or 0.0.0.0:8787 (every interface), port 0 for any free one. "
            f"Got {text!r} instead."
        )
    return text


def jobs_for(value: Any, scheduler: str | None, param: str, func: str) -> int | None:
    """``jobs``: None (one per core) or an int >= 1; None only with a scheduler address
    (there the cluster's workers run the tasks)."""
    if value is None:
        return None
    jobs = positive_int(value, param, func)
    if scheduler not in (None, "local"):
        raise ValueError(
            f"The '{param}' parameter of {func} does not apply with the scheduler "
            f"{scheduler!r}: that cluster's workers run the tasks. Leave it out (None). "
            f"Got {_received(value)} instead."
        )
    return jobs


def sequence_of(value: Any, param: str, func: str, cls: type, source: str) -> list[Any]:
    """A list or tuple (possibly empty) of ``cls`` instances; ``source`` says where from."""
    if not isinstance(value, (list, tuple)) or not all(type(v) is cls for v in value):
        raise ValueError(
            f"The '{param}' parameter of {func} must be a list of {cls.__name__} objects "
            f"({source}). Got {_received(value)} instead."
        )
    return list(value)


# --- seeds (leaky tune, the report's commands) -----------------------------------------

SEED_MAX = 2**32 - 1
"""The largest seed: every generator leaky seeds takes [0, 2**32 - 1] (NumPy's legacy and
scikit-learn's ``random_state`` stop there; torch stops at 2**64 - 1 and refuses -1)."""


def seed(value: Any, param: str, func: str) -> int:
    """A seed: an integer (not a bool) in [0, SEED_MAX].

    Example:
        >>> seed(7, "seed", "leaky report")
        7
        >>> seed(-1, "--seed", "leaky report")
        Traceback (most recent call last):
          ...
        ValueError: The '--seed' parameter of leaky report must be an integer in [0, 4294967295] (a seed). Got -1 (int) instead.
    """  # noqa: E501
    ok = not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, np.integer))
    if not ok or not 0 <= value <= SEED_MAX:
        raise ValueError(
            f"The '{param}' parameter of {func} must be an integer in [0, {SEED_MAX}] (a seed). "
            f"Got {_received(value)} instead."
        )
    return int(value)


def seed_list(text: Any, param: str, func: str) -> list[int]:
    """Distinct seeds written as comma-separated integers: ``"0,1,2"`` -> ``[0, 1, 2]``.

    Example:
        >>> seed_list("0, 1,2", "--seeds", "leaky tune")
        [0, 1, 2]
    """
    items = [v for v in text.split(",") if v.strip()] if isinstance(text, str) else []
    try:
        values = [int(v) for v in items]
    except ValueError:
        values = []
    if not values or len(set(values)) < len(values):
        raise ValueError(
            f"The '{param}' parameter of {func} must be distinct seeds separated by commas, "
            f"like 0,1,2. Got {_received(text)} instead."
        )
    return [seed(v, param, func) for v in values]
