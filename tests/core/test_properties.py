"""Properties that hold for every input (hypothesis; 1,000 examples each, see conftest)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from leaky import leaky_relu, leaky_relu_backward, leaky_relu_derivative
from tests.helpers import assert_same_bits

slopes = st.floats(0.0, 1.0)
finite = st.floats(-1e100, 1e100, allow_nan=False, allow_infinity=False)
finite_arrays = arrays(np.float64, st.integers(1, 64), elements=finite)
any_floats = st.floats(allow_nan=True, allow_infinity=True, width=32)
any_arrays = arrays(np.float32, st.integers(1, 300), elements=any_floats)


@given(finite_arrays, slopes)
def test_piecewise_linear(x: np.ndarray, a: float) -> None:
    y = leaky_relu(x, a)
    pos, neg = x >= 0, x < 0
    assert_same_bits(y[pos], x[pos])
    np.testing.assert_array_equal(y[neg], a * x[neg])


@given(finite_arrays, slopes)
def test_equals_max_of_x_and_ax(x: np.ndarray, a: float) -> None:
    np.testing.assert_array_equal(leaky_relu(x, a), np.maximum(x, a * x))


@given(
    arrays(
        np.float64,
        st.integers(1, 64),
        elements=st.floats(-1e100, 1e100).filter(lambda v: v == 0 or abs(v) > 1e-200),
    ),
    st.one_of(st.just(0.0), st.floats(1e-6, 1.0)),  # no subnormal products
    st.floats(1e-3, 1e3),
)
def test_positive_homogeneity(x: np.ndarray, a: float, c: float) -> None:
    # f(c x) = c f(x) up to the two roundings of the two sides: 2 ulp of float64.
    np.testing.assert_allclose(leaky_relu(c * x, a), c * leaky_relu(x, a), rtol=5e-16, atol=0)


@given(finite_arrays, slopes)
def test_monotone(x: np.ndarray, a: float) -> None:
    y = leaky_relu(np.sort(x), a)
    assert np.all(np.diff(y) >= 0)


@given(st.floats(-1e6, 1e6).filter(lambda v: abs(v) > 1e-3), st.floats(0.0, 1.0))
def test_derivative_matches_finite_difference_away_from_zero(v: float, a: float) -> None:
    h = 1e-7 * max(1.0, abs(v))
    fd = (leaky_relu(v + h, a) - leaky_relu(v - h, a)) / (2 * h)
    assert abs(fd - leaky_relu_derivative(v, a)) <= 1e-6


@given(any_arrays, any_arrays, slopes)
def test_backward_is_grad_times_derivative(g: np.ndarray, x: np.ndarray, a: float) -> None:
    n = min(g.size, x.size)
    g, x = g[:n], x[:n]
    d = leaky_relu_derivative(x, a).astype(np.float32)
    with np.errstate(invalid="ignore", over="ignore"):  # inf * 0 is NaN, by IEEE
        expected = np.where(np.isnan(x), np.float32(np.nan), g * d)
    assert_same_bits(leaky_relu_backward(g, x, a), expected)


@given(any_arrays, slopes)
def test_nan_in_nan_out_and_nothing_else_is_nan(x: np.ndarray, a: float) -> None:
    nan = np.isnan(x)
    assert np.array_equal(np.isnan(leaky_relu(x, a)), nan)
    assert np.array_equal(np.isnan(leaky_relu_derivative(x, a)), nan)


@given(any_arrays, slopes)
def test_engines_agree_bit_for_bit(x: np.ndarray, a: float) -> None:
    from leaky import _kernels, _numpy

    results = []
    saved = _numpy.ENGINE, _kernels.PARALLEL_MIN_BYTES
    for engine, threshold in (("numpy", 0), ("auto", 1 << 62), ("auto", 0)):
        _numpy.ENGINE, _kernels.PARALLEL_MIN_BYTES = engine, threshold
        try:
            results.append(
                (leaky_relu(x, a), leaky_relu_derivative(x, a), leaky_relu_backward(x, x, a))
            )
        finally:
            _numpy.ENGINE, _kernels.PARALLEL_MIN_BYTES = saved
    for other in results[1:]:
        for got, want in zip(other, results[0], strict=False):
            assert_same_bits(got, want)
