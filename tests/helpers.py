"""What tests import: the array libraries under test, the dtypes, and a bit-exact comparison.

Fixtures live in ``conftest.py``; everything a test imports lives here.
"""

from __future__ import annotations

import numpy as np

FLOAT_DTYPES = [np.float16, np.float32, np.float64]


def _numpy_backend(a: np.ndarray) -> np.ndarray:
    return a


def _torch_backend(a: np.ndarray):
    import torch

    return torch.from_numpy(a.copy())


def _strict_backend(a: np.ndarray):
    import array_api_strict as xp

    return xp.asarray(a)


def _dask_backend(a: np.ndarray):
    import dask.array as da

    return da.from_array(a, chunks=max(1, a.size // 2) if a.ndim == 1 else "auto")


def _jax_backend(a: np.ndarray):
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)  # float64 stays float64, as in the contract
    return jnp.asarray(a)


BACKENDS = {
    "numpy": _numpy_backend,
    "torch": _torch_backend,
    "array_api_strict": _strict_backend,
    "dask": _dask_backend,
    "jax": _jax_backend,
}


def to_numpy(a) -> np.ndarray:
    """Any array (or NumPy scalar) back to a NumPy array, for comparison."""
    if hasattr(a, "compute"):
        a = a.compute()
    if type(a).__module__.startswith("torch"):
        return a.detach().numpy()
    if type(a).__module__.startswith("array_api_strict"):
        return np.from_dlpack(a)
    return np.asarray(a)


def assert_same_bits(actual, expected) -> None:
    """Equal dtype and shape, NaN exactly where expected has NaN, every other bit equal."""
    actual, expected = to_numpy(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    nan = np.isnan(expected)
    np.testing.assert_array_equal(np.isnan(actual), nan)
    uint = {2: np.uint16, 4: np.uint32, 8: np.uint64}[expected.dtype.itemsize]
    np.testing.assert_array_equal(actual[~nan].view(uint), expected[~nan].view(uint))
