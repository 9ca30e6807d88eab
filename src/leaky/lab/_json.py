"""Numbers to JSON and back: the one home of "NaN is stored as null".

Results are stored as strict JSON (no NaN, no infinity: other readers refuse them). A
non-finite float is stored as ``null``; reading back, ``floats`` turns ``null`` into NaN
(a failed seed, a measure that does not exist). Everything that writes results
(``results.json``, the store, ``--format json``) goes through ``json_safe``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np


def json_safe(value: Any) -> Any:
    """``value`` as JSON types: non-finite floats as None, at any depth.

    Tuples become lists, dict keys strings, NumPy scalars and arrays Python numbers and
    lists; an object with ``to_dict()`` (a result record) is replaced by its dict.

    Examples:
        >>> json_safe({"a": (1.5, float("nan")), 2: np.float32(-np.inf), "b": np.arange(2)})
        {'a': [1.5, None], '2': None, 'b': [0, 1]}
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, type):
        return json_safe(to_dict())
    return value


def floats(values: Iterable[float | None]) -> tuple[float, ...]:
    """Stored values back as floats: JSON's null is NaN.

    Examples:
        >>> floats([1, None, 2.5])
        (1.0, nan, 2.5)
    """
    return tuple(math.nan if v is None else float(v) for v in values)
