"""The lab's and the CLI's checks of an argument, and their messages, each in one place.

The core's own checks (the slope, arrays, ``out=``) and the primitives these build on
live in ``leaky._validate``; messages follow its pattern: which parameter of which
function, what is allowed, and what was received.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from leaky._validate import _real, _received

# --- integers and fractions (the lab's configs, the CLI's options) ---------------------


def positive_int(value: Any, param: str, func: str) -> int:
    """An int >= 1 (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(
            f"The '{param}' parameter of {func} must be an integer >= 1. "
            f"Got {_received(value)} instead."
        )
    return int(value)


def count(value: Any, param: str, func: str, *, low: int = 0, high: int | None = None) -> int:
    """An integer (not a bool) in [low, high]."""
    ok = not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, np.integer))
    if not ok or value < low or (high is not None and value > high):
        allowed = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
        raise ValueError(
            f"The '{param}' parameter of {func} must be {allowed}. Got {_received(value)} instead."
        )
    return int(value)


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
    if not ok or items is None:
        size = "a" if empty else "a non-empty"
        raise ValueError(
            f"The '{param}' parameter of {func} must be {size} sequence of distinct integers "
            f">= {low}. Got {_received(value)} instead."
        )
    return tuple(int(i) for i in items)


def fraction(value: Any, param: str, func: str) -> float:
    """A real number in [0, 1) (a held-out fraction)."""
    x = _real(value)
    if x is None or not 0 <= x < 1:
        raise ValueError(
            f"The '{param}' parameter of {func} must be a number in [0, 1). "
            f"Got {_received(value)} instead."
        )
    return x


# --- objects, ranges and seeds (leaky tune, leaky compare) -----------------------------


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


def slope_range(
    low: Any, high: Any, func: str, names: tuple[str, str] = ("low", "high")
) -> tuple[float, float]:
    """A log-uniform search range: 0 < low < high <= 1.

    ``names``: what the caller calls ``low`` and ``high`` (``("--low", "--high")``).

    Examples:
        >>> slope_range(0, 0.5, "leaky tune", ("--low", "--high"))
        Traceback (most recent call last):
          ...
        ValueError: The '--low' and '--high' parameters of leaky tune must satisfy 0 < low < high <= 1 (a log-uniform range of slopes). Got --low=0, --high=0.5 instead.
    """  # noqa: E501
    low_name, high_name = names
    ok = all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
        for v in (low, high)
    )
    if not ok or not 0 < low < high <= 1:
        raise ValueError(
            f"The '{low_name}' and '{high_name}' parameters of {func} must satisfy "
            "0 < low < high <= 1 (a log-uniform range of slopes). "
            f"Got {low_name}={low!r}, {high_name}={high!r} instead."
        )
    return float(low), float(high)


def seeds(value: Any, func: str, param: str = "seeds") -> list[int]:
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
            f"The '{param}' parameter of {func} must be a non-empty sequence of distinct "
            f"integers. Got {_received(value)} instead."
        )
    return [int(s) for s in items]


# --- statistics (leaky.lab.stats, leaky.lab.verdicts) ----------------------------------


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


def open_interval(value: Any, param: str, func: str, low: float = 0.0, high: float = 1.0) -> float:
    """A real number strictly between ``low`` and ``high`` (a confidence level, alpha, power)."""
    x = _real(value)
    if x is None or not low < x < high:
        raise ValueError(
            f"The '{param}' parameter of {func} must be a real number in ({low:g}, {high:g}). "
            f"Got {_received(value)} instead."
        )
    return x


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


# --- the study runner and its store ----------------------------------------------------


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

    Examples:
        >>> scheduler_address("127.0.0.1:8786", "scheduler", "run")
        'tcp://127.0.0.1:8786'
    """
    import re

    if value is None:
        return None
    if value == "local":
        return "local"
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

    Examples:
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


# --- one seed, and a list of them (leaky tune, the report's commands) ------------------


SEED_MAX = 2**32 - 1
"""The largest seed: every generator leaky seeds takes [0, 2**32 - 1] (NumPy's legacy and
scikit-learn's ``random_state`` stop there; torch stops at 2**64 - 1 and refuses -1)."""


def seed(value: Any, param: str, func: str) -> int:
    """A seed: an integer (not a bool) in [0, SEED_MAX].

    Examples:
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

    Examples:
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


def one_of(value: Any, param: str, func: str, allowed: tuple[str, ...]) -> str:
    """One of the strings ``allowed``; the message lists them."""
    if not isinstance(value, str) or value not in allowed:
        names = ", ".join(repr(a) for a in allowed)
        raise ValueError(
            f"The '{param}' parameter of {func} must be one of {names}. "
            f"Got {_received(value)} instead."
        )
    return value
