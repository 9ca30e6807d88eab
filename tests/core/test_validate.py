"""Bad arguments get one clear message: the parameter, what is allowed, what was received."""

from __future__ import annotations

import math

import numpy as np
import pytest

from leaky import leaky_relu, leaky_relu_backward, leaky_relu_derivative

CALLS = {
    "leaky_relu": lambda a: leaky_relu(np.ones(2), a),
    "leaky_relu_derivative": lambda a: leaky_relu_derivative(np.ones(2), a),
    "leaky_relu_backward": lambda a: leaky_relu_backward(np.ones(2), np.ones(2), a),
}

BAD_VALUES = [
    (-0.5, ValueError, r"-0\.5 \(float\)"),
    (1.5, ValueError, r"1\.5 \(float\)"),
    (2, ValueError, r"2 \(int\)"),
    (-1e-300, ValueError, r"-1e-300 \(float\)"),
    (math.nan, ValueError, r"nan \(float\)"),
    (math.inf, ValueError, r"inf \(float\)"),
    (-math.inf, ValueError, r"-inf \(float\)"),
    ("0.1", TypeError, r"'0\.1' \(str\)"),
    (True, TypeError, r"True \(bool\)"),
    (np.bool_(False), TypeError, r"\(bool"),
    (np.array(0.1), TypeError, r"\(ndarray\)"),
    (np.array([0.1, 0.2]), TypeError, r"\(ndarray\)"),
    (None, TypeError, r"None \(NoneType\)"),
    (0.1 + 0j, TypeError, r"\(complex\)"),
]


@pytest.mark.parametrize("func", list(CALLS))
@pytest.mark.parametrize(("value", "error", "received"), BAD_VALUES)
def test_bad_slope_names_parameter_range_and_value(
    func: str, value: object, error: type, received: str
) -> None:
    pattern = (
        rf"The 'negative_slope' parameter of {func} must be a real number in \[0, 1\]\. "
        rf"Got .*{received}.* instead\."
    )
    with pytest.raises(error, match=pattern):
        CALLS[func](value)


@pytest.mark.parametrize(
    "value", [0, 0.0, 1, 1.0, 0.01, 5e-324, np.float32(0.2), np.float64(0.3), np.int64(1)]
)
def test_good_slopes_are_accepted(value: object) -> None:
    y = leaky_relu(np.array([-1.0, 1.0]), value)
    assert y[1] == 1.0
    assert y[0] == -float(value)


def test_slope_zero_is_relu_and_one_is_identity() -> None:
    x = np.array([-3.0, -0.0, 0.0, 2.0, -np.inf, np.inf])
    np.testing.assert_array_equal(leaky_relu(x, 0), np.maximum(x, 0.0))
    assert not np.signbit(leaky_relu(x, 0)[[0, 4]]).any()
    assert np.array_equal(leaky_relu(x, 1), x)
    assert np.signbit(leaky_relu(x, 1)[1])
