"""Every other array library goes through the array API standard, with no special code."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import array_api_strict as xp
import numpy as np
import pytest

from leaky import leaky_relu, leaky_relu_backward, leaky_relu_derivative


def test_array_api_strict_is_the_reference_namespace() -> None:
    x = xp.asarray([-2.0, -0.0, 0.0, 3.0], dtype=xp.float32)
    y = leaky_relu(x, 0.25)
    assert type(y) is type(x)
    assert y.dtype == xp.float32
    np.testing.assert_array_equal(np.from_dlpack(y), [-0.5, -0.0, 0.0, 3.0])
    d = leaky_relu_derivative(x, 0.25)
    np.testing.assert_array_equal(np.from_dlpack(d), [0.25, 1.0, 1.0, 1.0])
    b = leaky_relu_backward(xp.ones_like(x), x, 0.25)
    np.testing.assert_array_equal(np.from_dlpack(b), [0.25, 1.0, 1.0, 1.0])


def test_array_api_strict_int_input_promotes_to_its_default_float() -> None:
    y = leaky_relu(xp.asarray([-2, 4]), 0.5)
    assert y.dtype == xp.float64
    np.testing.assert_array_equal(np.from_dlpack(y), [-1.0, 4.0])


def test_array_api_strict_out_is_checked_then_written() -> None:
    x = xp.asarray([-2.0, 3.0])
    out = xp.zeros(2)
    assert leaky_relu(x, 0.5, out=out) is out
    np.testing.assert_array_equal(np.from_dlpack(out), [-1.0, 3.0])
    with pytest.raises(ValueError, match=r"dtype array_api_strict\.float64"):
        leaky_relu(x, 0.5, out=xp.zeros(2, dtype=xp.float32))


def test_array_api_strict_complex_raises() -> None:
    with pytest.raises(TypeError, match="complex128"):
        leaky_relu(xp.asarray([1j]))


def test_dask_stays_lazy_and_matches_numpy() -> None:
    import dask.array as da

    x_np = np.random.default_rng(0).standard_normal(10_000)
    x = da.from_array(x_np, chunks=1000)
    y = leaky_relu(x, 0.1)
    assert isinstance(y, da.Array)
    np.testing.assert_array_equal(y.compute(), leaky_relu(x_np, 0.1))
    g = leaky_relu_backward(da.ones_like(x), x, 0.1)
    np.testing.assert_array_equal(g.compute(), leaky_relu_derivative(x_np, 0.1))


def test_jax_arrays_stay_jax_and_work_under_jit_and_grad() -> None:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    x = jnp.asarray([-2.0, -0.0, 0.0, 3.0])
    y = leaky_relu(x, 0.25)
    assert isinstance(y, jax.Array) and y.dtype == jnp.float64
    np.testing.assert_array_equal(np.asarray(y), [-0.5, -0.0, 0.0, 3.0])
    np.testing.assert_array_equal(np.asarray(jax.jit(lambda v: leaky_relu(v, 0.25))(x)), y)
    grad = jax.grad(lambda v: leaky_relu(v, 0.25).sum())(x)
    np.testing.assert_array_equal(np.asarray(grad), [0.25, 1.0, 1.0, 1.0])  # 1 at 0, as JAX
    with pytest.raises(TypeError, match="immutable"):
        leaky_relu(x, out=jnp.zeros(4))


def test_numpy_use_imports_no_other_array_library() -> None:
    """Like array-api-compat's test_no_dependencies: NumPy users never pay for torch & co."""
    code = textwrap.dedent(
        """
        import sys
        import numpy as np
        import leaky
        x = np.linspace(-1, 1, 1 << 18).astype(np.float32)
        leaky.leaky_relu(x, 0.1)
        leaky.leaky_relu_derivative(x, 0.1)
        leaky.leaky_relu_backward(x, x, 0.1)
        leaky.leaky_relu([-1.0, 2.0])
        heavy = ["torch", "jax", "cupy", "dask", "array_api_strict", "matplotlib", "sklearn"]
        loaded = sorted(m for m in heavy if m in sys.modules)
        assert not loaded, loaded
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_import_is_light() -> None:
    code = "import sys, leaky; print([m for m in ('numba', 'typer', 'rich') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"
