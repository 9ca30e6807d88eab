"""The contract of leaky_relu, leaky_relu_derivative and leaky_relu_backward (DESIGN.md)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from leaky import leaky_relu, leaky_relu_backward, leaky_relu_derivative
from tests.helpers import BACKENDS, FLOAT_DTYPES, assert_same_bits

SLOPES = [0.0, 0.01, 0.3, 1.0]


def compute_type(dtype):
    return np.float32 if np.dtype(dtype) == np.float16 else np.dtype(dtype).type


def ref_value(v: float, a: float, dtype) -> np.generic:
    """The contract, one element at a time, written independently of leaky."""
    dtype = np.dtype(dtype).type
    v = dtype(v)
    if math.isnan(v) or v >= 0:
        return v
    ct = compute_type(dtype)
    if ct(a) == 0:  # ReLU: a slope of 0, or one that rounds to 0 in the compute type
        return dtype(0.0)
    return dtype(ct(v) * ct(a))


def ref_derivative(v: float, a: float, dtype) -> np.generic:
    dtype = np.dtype(dtype).type
    if math.isnan(v):
        return dtype(np.nan)
    return dtype(1.0) if v >= 0 else dtype(a)


def ref_backward(g: float, v: float, a: float, dtype) -> np.generic:
    dtype = np.dtype(dtype).type
    if math.isnan(v):
        return dtype(np.nan)
    if v >= 0:
        return dtype(g)
    ct = compute_type(dtype)
    return dtype(ct(dtype(g)) * ct(a))


# The rows of the contract table in DESIGN.md, in its order.
CONTRACT_ROWS = {
    "x > 0": 3.0,
    "+0.0": 0.0,
    "-0.0": -0.0,
    "x < 0, finite": -2.5,
    "+inf": math.inf,
    "-inf": -math.inf,
    "NaN": math.nan,
}


# array-api-strict follows the standard, which has no float16.
BACKEND_DTYPES = [
    (name, dtype)
    for name in BACKENDS
    for dtype in FLOAT_DTYPES
    if not (name == "array_api_strict" and dtype == np.float16)
]


@pytest.mark.parametrize("a", SLOPES)
@pytest.mark.parametrize(("backend_name", "dtype"), BACKEND_DTYPES)
@pytest.mark.parametrize("row", list(CONTRACT_ROWS))
def test_contract_row_on_every_backend(row: str, backend_name: str, dtype, a: float) -> None:
    backend = BACKENDS[backend_name]
    v = CONTRACT_ROWS[row]
    x = backend(np.array([v, v], dtype=dtype))
    assert_same_bits(leaky_relu(x, a), np.array([ref_value(v, a, dtype)] * 2))
    assert_same_bits(leaky_relu_derivative(x, a), np.array([ref_derivative(v, a, dtype)] * 2))
    g = backend(np.array([-1.5, 4.0], dtype=dtype))
    expected = np.array([ref_backward(-1.5, v, a, dtype), ref_backward(4.0, v, a, dtype)])
    assert_same_bits(leaky_relu_backward(g, x, a), expected)


def test_contract_rows_spelled_out() -> None:
    """The table's entries as literal values, so nobody has to trust the reference above."""
    x = np.array([3.0, 0.0, -0.0, -2.0, np.inf, -np.inf, np.nan])
    y = leaky_relu(x, 0.1)
    assert y[0] == 3.0
    assert y[3] == -0.2
    assert y[4] == np.inf
    assert y[5] == -np.inf
    assert not np.signbit(y[1])
    assert np.signbit(y[2])
    assert y[2] == 0.0
    assert np.isnan(y[6])
    relu = leaky_relu(x, 0.0)
    assert relu[5] == 0.0
    assert not np.signbit(relu[5])
    assert relu[3] == 0.0
    assert not np.signbit(relu[3])
    d = leaky_relu_derivative(x, 0.1)
    np.testing.assert_array_equal(d[:6], [1.0, 1.0, 1.0, 0.1, 1.0, 0.1])
    assert np.isnan(d[6])


def test_a_slope_that_rounds_to_zero_is_relu(engine: str) -> None:
    x = np.array([-np.inf, -1.0, 2.0], np.float32)
    assert_same_bits(leaky_relu(x, 1e-300), np.array([0.0, 0.0, 2.0], np.float32))
    assert_same_bits(leaky_relu(x.astype(np.float64), 1e-300), np.array([-np.inf, -1e-300, 2.0]))


def test_gradient_at_zero_is_one() -> None:
    """The value at the kink, decided by the definition's x >= 0 branch (JAX's choice)."""
    for zero in (0.0, -0.0):
        assert leaky_relu_derivative(np.float32(zero), 0.2) == 1.0
        assert leaky_relu_backward(np.float32(5.0), np.float32(zero), 0.2) == 5.0


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("a", [0.0, 0.01, 1 / 5.5, 1.0])
def test_engines_match_the_reference(engine: str, dtype, a: float) -> None:
    rng = np.random.default_rng(7)
    x = (rng.standard_normal(5000) * 10).astype(dtype)
    x[::97] = 0.0
    x[1::97] = -0.0
    x[2::97], x[3::97], x[4::97] = np.inf, -np.inf, np.nan
    g = rng.standard_normal(5000).astype(dtype)
    assert_same_bits(leaky_relu(x, a), np.array([ref_value(v, a, dtype) for v in x]))
    assert_same_bits(
        leaky_relu_derivative(x, a), np.array([ref_derivative(v, a, dtype) for v in x])
    )
    expected = np.array([ref_backward(gv, v, a, dtype) for gv, v in zip(g, x, strict=False)])
    assert_same_bits(leaky_relu_backward(g, x, a), expected)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_dtype_is_preserved(engine: str, dtype) -> None:
    x = np.linspace(-3, 3, 11).astype(dtype)
    for result in (leaky_relu(x), leaky_relu_derivative(x), leaky_relu_backward(x, x)):
        assert result.dtype == dtype


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        (np.bool_, np.float16),
        (np.int8, np.float16),
        (np.uint8, np.float16),
        (np.int16, np.float32),
        (np.int32, np.float64),
        (np.int64, np.float64),
        (np.uint64, np.float64),
    ],
)
def test_integers_and_bools_promote_like_a_ufunc(dtype, expected) -> None:
    values = [True, False] if dtype == np.bool_ else [-2, 0, 1]
    if np.dtype(dtype).kind == "u":
        values = [0, 1, 200]
    x = np.array(values, dtype=dtype)
    y = leaky_relu(x, 0.5)
    assert y.dtype == expected == np.sin(x).dtype
    np.testing.assert_array_equal(y, np.where(x.astype(expected) < 0, 0.5 * x, x))


@pytest.mark.parametrize(
    ("value", "dtype_name"),
    [
        (np.array([1 + 2j]), "complex128"),
        (np.array(["a"]), "<U1"),
        (np.array([object()]), "object"),
        (np.array([b"x"]), "|S1"),
        (np.array(["2020-01-01"], dtype="datetime64[D]"), "datetime64[D]"),
    ],
)
def test_non_real_dtypes_raise_type_error_naming_the_dtype(value, dtype_name: str) -> None:
    for call in (leaky_relu, leaky_relu_derivative):
        with pytest.raises(
            TypeError, match=r"'x' parameter of leaky_relu\w* must be an array of dtype float16"
        ):
            call(value)
        with pytest.raises(TypeError, match=re.escape(f"dtype {dtype_name}")):
            call(value)
    with pytest.raises(TypeError, match="'grad_output' parameter of leaky_relu_backward"):
        leaky_relu_backward(value, np.ones(value.shape))


def test_python_scalars_and_lists_behave_like_numpy() -> None:
    assert leaky_relu(-2.0, 0.25) == -0.5
    assert isinstance(leaky_relu(-2.0, 0.25), np.float64)
    assert isinstance(leaky_relu(np.float32(-2.0), 0.25), np.float32)
    assert type(leaky_relu(3)) is type(np.sin(3))
    np.testing.assert_array_equal(leaky_relu([[-4, 2], [0, -8]], 0.5), [[-2.0, 2.0], [0.0, -4.0]])
    assert leaky_relu([[1.0, -1.0]]).shape == (1, 2)
    assert leaky_relu_derivative([-1.0, 1.0], 0.5).tolist() == [0.5, 1.0]
    assert leaky_relu_backward([2.0], [-1.0], 0.5).tolist() == [1.0]
    with pytest.raises(TypeError, match="cannot turn into one"):
        leaky_relu([[1.0], [1.0, 2.0]])


@pytest.mark.parametrize("shape", [(), (0,), (3, 0), (1,), (7, 5, 3), (2, 1, 4, 1)])
def test_any_shape(engine: str, shape: tuple[int, ...]) -> None:
    x = np.random.default_rng(0).standard_normal(shape)
    assert_same_bits(leaky_relu(x, 0.2, out=np.empty(shape)), np.where(x < 0, 0.2 * x, x))
    y = leaky_relu(x, 0.2)
    if shape == ():
        assert isinstance(y, np.float64)  # a 0-d result is a NumPy scalar, like a ufunc
    else:
        assert y.shape == shape


def _views(base: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "strided": base[::3],
        "transposed": base.reshape(60, 50).T,
        "fortran": np.asfortranarray(base.reshape(60, 50)),
        "negative-stride": base[::-1],
        "column": base.reshape(60, 50)[:, 7],
        "4d-sliced": base.reshape(5, 6, 10, 10)[:, ::2, 1:, ::3],
    }


@pytest.mark.parametrize("view", list(_views(np.zeros(3000))))
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_non_contiguous_views(engine: str, view: str, dtype) -> None:
    base = np.random.default_rng(1).standard_normal(3000).astype(dtype)
    x = _views(base)[view]
    contiguous = np.ascontiguousarray(x)
    expected = leaky_relu(contiguous, 0.1)
    assert_same_bits(leaky_relu(x, 0.1), expected)
    out = np.empty_like(x.T).T  # a non-contiguous out too
    assert_same_bits(leaky_relu(x, 0.1, out=out), expected)
    assert_same_bits(leaky_relu_derivative(x, 0.1), leaky_relu_derivative(contiguous, 0.1))
    assert_same_bits(
        leaky_relu_backward(x, x, 0.1), leaky_relu_backward(contiguous, contiguous, 0.1)
    )


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("size", [10, 50_000])
def test_in_place(engine: str, dtype, size: int) -> None:
    x = np.random.default_rng(2).standard_normal(size).astype(dtype)
    expected = leaky_relu(x.copy(), 0.1)
    same = x.copy()
    assert leaky_relu(same, 0.1, out=same) is same
    assert_same_bits(same, expected)
    d = x.copy()
    leaky_relu_derivative(d, 0.1, out=d)
    assert_same_bits(d, leaky_relu_derivative(x, 0.1))
    g, xx = x * 3, x.copy()
    leaky_relu_backward(g, xx, 0.1, out=xx)  # out aliases x
    assert_same_bits(xx, leaky_relu_backward(x * 3, x, 0.1))
    leaky_relu_backward(g, x, 0.1, out=g)  # out aliases grad_output
    assert_same_bits(g, leaky_relu_backward(x * 3, x, 0.1))


def test_out_overlapping_the_input_with_a_shift(engine: str) -> None:
    base = np.random.default_rng(3).standard_normal(1001)
    x, out = base[1:], base[:-1]
    expected = leaky_relu(x.copy(), 0.1)
    leaky_relu(x, 0.1, out=out)
    assert_same_bits(out, expected)


@pytest.mark.parametrize(
    ("out", "message"),
    [
        (np.zeros(4), r"must have shape \(3,\) and dtype float64.*Got shape \(4,\)"),
        (np.zeros(3, np.float32), r"Got shape \(3,\) and dtype float32"),
        (np.zeros((3, 1)), r"Got shape \(3, 1\)"),
    ],
)
def test_bad_out_raises_before_writing(out: np.ndarray, message: str) -> None:
    before = out.copy()
    x = np.array([-1.0, 0.0, 1.0])
    for call in (lambda: leaky_relu(x, out=out), lambda: leaky_relu_derivative(x, out=out)):
        with pytest.raises(ValueError, match=message):
            call()
        np.testing.assert_array_equal(out, before)
    with pytest.raises(ValueError, match=message):
        leaky_relu_backward(x, x, out=out)
    np.testing.assert_array_equal(out, before)


def test_out_must_be_a_writeable_numpy_array() -> None:
    x = np.array([-1.0, 1.0])
    with pytest.raises(TypeError, match="'out' parameter of leaky_relu must be a NumPy array"):
        leaky_relu(x, out=[0.0, 0.0])
    ro = np.zeros(2)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        leaky_relu(x, out=ro)


def test_backward_needs_matching_shapes_and_promotes_dtypes() -> None:
    with pytest.raises(ValueError, match=r"same shape. Got \(2,\) and \(3,\)"):
        leaky_relu_backward(np.ones(2), np.ones(3))
    g = np.array([1.0, 1.0], np.float32)
    x = np.array([-1.0, 1.0], np.float64)
    y = leaky_relu_backward(g, x, 0.5)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, [0.5, 1.0])


def test_large_arrays_use_no_full_size_temporary(engine: str) -> None:
    """Peak extra memory stays at a block, whatever the array size (tracemalloc)."""
    import tracemalloc

    x = np.random.default_rng(4).standard_normal(1 << 20).astype(np.float32)
    out = np.empty_like(x)
    g = np.ones_like(x)
    leaky_relu(x[:10], 0.1)  # compile before measuring
    leaky_relu_derivative(x[:10], 0.1)
    leaky_relu_backward(g[:10], x[:10], 0.1)
    tracemalloc.start()
    try:
        leaky_relu(x, 0.1, out=out)
        leaky_relu(x, 0.0, out=out)
        leaky_relu_derivative(x, 0.1, out=out)
        leaky_relu_backward(g, x, 0.1, out=out)
        leaky_relu(out, 0.1, out=out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < x.nbytes // 8, f"peak temporary {peak} bytes for a {x.nbytes}-byte array"


def test_masked_and_other_subclasses_are_refused_not_silently_unwrapped() -> None:
    masked = np.ma.array([1.0, -1.0], mask=[False, True])
    for call in (leaky_relu, leaky_relu_derivative):
        with pytest.raises(TypeError, match="its mask would be lost"):
            call(masked)

    class Tagged(np.ndarray):  # a subclass whose meaning a plain result would drop
        pass

    with pytest.raises(TypeError, match="must be a plain NumPy array"):
        leaky_relu(np.ones(2).view(Tagged))
    with pytest.raises(TypeError, match="its mask would be lost"):
        leaky_relu_backward(np.ones(2), np.ones(2), out=np.ma.zeros(2))
    with pytest.raises(TypeError, match="its mask would be lost"):
        leaky_relu(np.ones(2), out=np.ma.zeros(2))


def test_memmap_is_read_as_the_array_it_holds(tmp_path) -> None:
    mm = np.memmap(tmp_path / "x.bin", dtype=np.float32, mode="w+", shape=(4,))
    mm[:] = [-2.0, -0.0, 0.0, 3.0]
    assert np.array_equal(leaky_relu(mm, 0.5), [-1.0, -0.0, 0.0, 3.0])
    leaky_relu(mm, 0.5, out=mm)  # in place, into the file's memory
    assert mm.tolist() == [-1.0, -0.0, 0.0, 3.0]


def test_float128_is_refused_with_the_dtypes_that_are_allowed() -> None:
    with pytest.raises(TypeError, match=r"dtype float16, bfloat16, float32 or float64.*float128"):
        leaky_relu(np.ones(2, np.longdouble))


def _swapped(dtype) -> np.dtype:
    """``dtype`` in the byte order this machine does not use (big-endian on x86 and ARM)."""
    return np.dtype(dtype).newbyteorder("S")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("a", [0.0, 0.01, 1 / 5.5])
@pytest.mark.parametrize("out", ["none", "native", "swapped", "in-place"])
def test_non_native_byte_order_computes_on_the_native_value(engine: str, dtype, a, out) -> None:
    """Issue 20, item 10: '>f8' and '>f4' raised numba's TypingError, '>f2' was one ulp off
    and kept '>f2'. The result is the native computation bit for bit, in the native dtype;
    an ``out=`` of either byte order receives those values."""
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(300) * 10).astype(dtype)
    x[:7] = [0.0, -0.0, np.inf, -np.inf, np.nan, -1e-3, 2.5]
    g = rng.standard_normal(300).astype(dtype)
    native = np.dtype(dtype)
    expected = {
        "forward": leaky_relu(x, a),
        "derivative": leaky_relu_derivative(x, a),
        "backward": leaky_relu_backward(g, x, a),
    }
    calls = {
        "forward": lambda x_, g_, **kw: leaky_relu(x_, a, **kw),
        "derivative": lambda x_, g_, **kw: leaky_relu_derivative(x_, a, **kw),
        "backward": lambda x_, g_, **kw: leaky_relu_backward(g_, x_, a, **kw),
    }
    for name, call in calls.items():
        for xs, gs in ((x.astype(_swapped(dtype)), g), (x, g.astype(_swapped(dtype)))):
            gs = gs.astype(_swapped(dtype)) if name != "backward" else gs
            if out == "none":
                result = call(xs, gs)
                assert result.dtype == native
            elif out == "in-place":
                target = xs if xs.dtype != native else gs
                result = call(xs, gs, out=target)
                assert result is target
            else:
                target = np.empty(300, native if out == "native" else _swapped(dtype))
                result = call(xs, gs, out=target)
                assert result is target
            assert_same_bits(result.astype(native), expected[name])
