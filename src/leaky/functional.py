"""The Leaky ReLU function, its derivative and its backward, on any array library.

NumPy inputs (arrays, NumPy scalars, Python scalars and lists) take the fast NumPy kernels
of ``leaky._numpy``. Every other array goes through the Python array API standard
(``array_api_compat.array_namespace``) and comes back an array of its own library, on its
own device: PyTorch, JAX, CuPy, Dask, array-api-strict. Nothing here imports a library the
caller has not imported.

The contract (also in the README) is the same on every path:

=================  ===================================  ==================
input              ``leaky_relu``                       derivative
=================  ===================================  ==================
x > 0              x                                    1
+0.0               +0.0                                 1 (``x >= 0``)
-0.0               -0.0 (x itself)                      1
x < 0, finite      a*x, slope rounded to the dtype      a
+inf               +inf                                 1
-inf               -inf if a > 0; +0.0 if a == 0        a
NaN                NaN                                  NaN
=================  ===================================  ==================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from array_api_compat import array_namespace, is_array_api_obj, is_torch_array

from leaky import _numpy, _validate, _xp

__all__ = ["leaky_relu", "leaky_relu_backward", "leaky_relu_derivative"]


def _is_numpy(*values: Any) -> bool:
    """True when every value is NumPy's (array or scalar) or a plain Python object."""
    return all(isinstance(v, (np.ndarray, np.generic)) or not is_array_api_obj(v) for v in values)


_FORWARD, _DERIVATIVE, _BACKWARD = 0, 2, 3  # the loops of leaky._kernels


def _numpy_target(out: Any, shape: tuple[int, ...], dtype: np.dtype, func: str) -> np.ndarray:
    """The native-order array the kernels write: ``out`` (checked), a new array when ``out``
    is None, or a native scratch array for an ``out`` of the other byte order."""
    if out is None:
        return np.empty(shape, dtype)
    _validate.numpy_out(out, shape, dtype, func)
    return out if out.dtype.isnative else np.empty(shape, dtype)


def _numpy_apply(
    kernel: Callable[..., None], arrays: tuple[np.ndarray, ...], a: float, out: Any, func: str
) -> Any:
    """Run a NumPy engine (``_numpy.forward`` etc.) on checked ``arrays`` into ``out``."""
    last = arrays[-1]
    target = _numpy_target(out, last.shape, last.dtype, func)
    kernel(*arrays, a, target)
    return _numpy_result(out, target)


def _numpy_result(out: Any, target: np.ndarray) -> Any:
    if out is None:
        # Like a NumPy ufunc: a 0-d result comes back as a NumPy scalar unless out= was given.
        return target if target.ndim else target[()]
    if target is not out:
        out[...] = target  # the native result, stored into an out of the other byte order
    return out


def _xp_result(result: Any, out: Any, func: str) -> Any:
    if out is None:
        return result
    _validate.xp_out(out, result, func)
    out[...] = result
    return out


def leaky_relu(x: Any, negative_slope: float = 0.01, *, out: Any = None) -> Any:
    r"""Leaky rectified linear unit, element-wise.

        LeakyReLU(x) = x        if x >= 0
                     = a * x    if x <  0

    where ``a`` is ``negative_slope``. The ``x >= 0`` branch holds at both zeros, so
    ``-0.0`` maps to ``-0.0``; NaN stays NaN. For ``a == 0`` the function is exactly ReLU,
    and every negative input, ``-inf`` included, maps to ``+0.0`` (never NaN). For ``a > 0``,
    ``a * x`` is computed with the slope rounded to the compute type (float32 for float16 and
    float32, float64 for float64) and the product rounded once to the input's dtype, the same
    arithmetic as PyTorch's CPU kernel; a slope that rounds to 0 there (1e-300 on float32)
    is ReLU.

    Args:
        x: an array of any array-API library, a NumPy scalar, a Python number or a
            (nested) list. Floating dtypes are kept; integer and bool inputs are promoted
            like a NumPy ufunc (``np.sin``); complex, string and object inputs raise
            ``TypeError``. A NumPy array of the other byte order (``'>f4'`` on a
            little-endian machine) is read as its native-order value: the result is the
            native computation bit for bit, in the native dtype.
        negative_slope: the slope ``a`` for negative inputs, a real number in [0, 1]. 0 is
            ReLU, 1 the identity; Leaky ReLU (Maas et al. 2013) uses 0.01.
        out: an array of the result's shape and dtype to write into; it may be ``x``
            itself (in place). Checked before anything is written. A NumPy ``out`` of the
            result's dtype in the other byte order (``'>f8'``) receives the values, stored
            in its byte order, as a NumPy ufunc's ``out`` does.

    Returns:
        An array of the input's library, device, shape and floating dtype. As with a NumPy
        ufunc, a 0-d NumPy result is returned as a NumPy scalar when ``out`` is not given.

    Examples:
        >>> import numpy as np
        >>> from leaky import leaky_relu
        >>> leaky_relu(np.array([-2.0, -0.0, 0.0, 3.0]), negative_slope=0.1)
        array([-0.2, -0. ,  0. ,  3. ])
        >>> leaky_relu(-np.inf, negative_slope=0.0)
        np.float64(0.0)

    See also:
        leaky_relu_derivative: the derivative, 1 at ``x == 0``.
        leaky_relu_backward: ``grad_output`` times the derivative, in one pass.
        leaky.nn.LeakyReLU: the PyTorch layer.
    """
    fast = _numpy.fast(_FORWARD, x, negative_slope, out)
    if fast is not None:
        return fast
    func = "leaky_relu"
    a = _validate.negative_slope(negative_slope, func)
    if _is_numpy(x):
        return _numpy_apply(_numpy.forward, (_validate.numpy_input(x, "x", func),), a, out, func)
    xp = array_namespace(x)
    x = _validate.xp_input(x, xp, "x", func)
    if is_torch_array(x):
        from leaky import _torch

        if out is None:
            return _torch.forward(x, a)
        _validate.xp_out(out, x, func, records_grad=_torch.records_grad(x))
        return _torch.forward_out(x, a, out)  # straight into out: no full-size temporary
    return _xp_result(_xp.forward(xp, x, a), out, func)


def leaky_relu_derivative(x: Any, negative_slope: float = 0.01, *, out: Any = None) -> Any:
    r"""Derivative of ``leaky_relu`` with respect to its input, element-wise.

        d/dx LeakyReLU(x) = 1    if x >= 0
                          = a    if x <  0

    The function has a kink at 0 and no derivative there in the strict sense; leaky follows
    its definition's ``x >= 0`` branch and returns **1 at x == 0** (both zeros), as JAX and
    MLX do. PyTorch, TensorFlow and oneDNN return ``a`` there. At ``+-inf`` the derivative is
    that of the branch (1 or ``a``); at NaN it is NaN, so a NaN input never turns into a
    finite gradient.

    Args:
        x: the input of the forward pass; any array library, as for ``leaky_relu``.
        negative_slope: the slope ``a``, a real number in [0, 1].
        out: an array of the result's shape and dtype to write into (may be ``x``).

    Returns:
        An array like ``x`` holding 1, ``a`` (rounded to the dtype) or NaN.

    Examples:
        >>> import numpy as np
        >>> from leaky import leaky_relu_derivative
        >>> leaky_relu_derivative(np.array([-1.0, 0.0, 2.0, np.nan]), negative_slope=0.1)
        array([0.1, 1. , 1. , nan])

    See also:
        leaky_relu_backward: the derivative multiplied by an incoming gradient.
    """
    fast = _numpy.fast(_DERIVATIVE, x, negative_slope, out)
    if fast is not None:
        return fast
    func = "leaky_relu_derivative"
    a = _validate.negative_slope(negative_slope, func)
    if _is_numpy(x):
        arr = _validate.numpy_input(x, "x", func)
        return _numpy_apply(_numpy.derivative, (arr,), a, out, func)
    xp = array_namespace(x)
    x = _validate.xp_input(x, xp, "x", func)
    return _xp_result(_xp.derivative(xp, x, a), out, func)


def leaky_relu_backward(
    grad_output: Any, x: Any, negative_slope: float = 0.01, *, out: Any = None
) -> Any:
    r"""The gradient of a loss with respect to the input of ``leaky_relu``.

        dL/dx = dL/dy * 1      if x >= 0
              = dL/dy * a      if x <  0
              = NaN            if x is NaN

    computed in one pass, one IEEE multiplication per element: ``grad_output`` passes
    unchanged where ``x >= 0`` (1 at ``x == 0``, see ``leaky_relu_derivative``), is
    multiplied by ``a`` where ``x < 0`` and becomes NaN where ``x`` is NaN. This is the
    function a training framework calls in backpropagation.

    Args:
        grad_output: the gradient of the loss with respect to the output, same shape as
            ``x`` and of the same array library.
        x: the input of the forward pass.
        negative_slope: the slope ``a``, a real number in [0, 1].
        out: an array of the result's shape and dtype to write into (may be either input).

    Returns:
        An array of the shape of ``x`` and of the dtype both inputs promote to.

    Examples:
        >>> import numpy as np
        >>> from leaky import leaky_relu_backward
        >>> leaky_relu_backward(np.array([2.0, 2.0, 2.0]), np.array([-1.0, 0.0, 1.0]), 0.5)
        array([1., 2., 2.])

    See also:
        leaky_relu_derivative: the factor this multiplies ``grad_output`` by.
    """
    fast = _numpy.fast(_BACKWARD, x, negative_slope, out, grad_output)
    if fast is not None:
        return fast
    func = "leaky_relu_backward"
    a = _validate.negative_slope(negative_slope, func)
    if _is_numpy(grad_output, x):
        g = _validate.numpy_input(grad_output, "grad_output", func)
        arr = _validate.numpy_input(x, "x", func)
        _validate.same_shape(g.shape, arr.shape, func)
        dtype = np.result_type(g.dtype, arr.dtype)
        g, arr = g.astype(dtype, copy=False), arr.astype(dtype, copy=False)
        return _numpy_apply(_numpy.backward, (g, arr), a, out, func)
    xp = array_namespace(grad_output, x)
    g = _validate.xp_input(grad_output, xp, "grad_output", func)
    x = _validate.xp_input(x, xp, "x", func)
    _validate.same_shape(g.shape, x.shape, func)
    dtype = xp.result_type(g, x)
    g, x = xp.astype(g, dtype, copy=False), xp.astype(x, dtype, copy=False)
    return _xp_result(_xp.backward(xp, g, x, a), out, func)
