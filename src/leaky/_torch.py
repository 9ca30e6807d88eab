"""PyTorch autograd for Leaky ReLU: the contract's values and the contract's gradient.

Imported only when a torch tensor reaches leaky (torch is then already imported).

Values come from PyTorch's own fused kernels, which equal the contract bit for bit:
``aten.leaky_relu`` for a slope > 0 and ``torch.relu`` for a slope of 0 (or one that rounds
to 0 in the compute type), where ``aten.leaky_relu`` would turn ``-inf`` into NaN. The
gradient is leaky's, not PyTorch's: ``leaky_relu_backward`` gives 1 at ``x == 0`` (PyTorch
gives the slope) and NaN at a NaN input (PyTorch gives a finite number). On CPU it runs
leaky's compiled loop on the tensors' memory, on PyTorch's own OpenMP team for large
tensors (``leaky._openmp``: never a second thread pool beside PyTorch's); elsewhere the
array-API formulas.

Four ways in, one contract:

- eager mode: ``LeakyReLUFunction`` (an ``autograd.Function``; the least overhead);
- forward-mode AD and the ``torch.func`` transforms (``vmap``, ``grad``, ``jacrev``,
  ``jacfwd``, ``hessian``): ``LeakyReLUTransformFunction``, with ``setup_context``, a
  ``jvp`` (1 at ``x == 0``, NaN at NaN) and a generated vmap rule; under a transform the
  backward is plain aten operations, so it can itself be transformed again;
- ``torch.compile``: the custom operators ``leaky::leaky_relu`` and
  ``leaky::leaky_relu_backward`` (``torch.library``, with fake implementations, so the
  compiler sees them without a graph break);
- TorchScript (``torch.jit.trace`` and ``torch.jit.script``): ``aten_forward``, the
  contract in plain aten operations whose autograd is the contract's gradient, so a
  saved TorchScript file needs nothing but torch to load and run;
- in place: ``LeakyReLUInplaceFunction`` overwrites the input and saves no copy of it: for a
  slope > 0 the backward reads the output's sign (y < 0 exactly where x < 0, NaN where x
  was NaN); for slope 0 the output cannot tell x == 0 from x < 0, so a one-byte mask of
  ``x < 0`` is kept.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.autograd.forward_ad as _fwad
import torch.nn.functional as F
from array_api_compat import array_namespace
from torch import Tensor

from leaky import _numpy, _xp

_NUMPY_DTYPES = (torch.float16, torch.float32, torch.float64)
_KERNEL_DTYPES: dict[torch.dtype, np.dtype[Any]] = {
    torch.float32: np.dtype(np.float32),
    torch.float64: np.dtype(np.float64),
}
_relu_leaky = torch._C._nn.leaky_relu  # the binding F.leaky_relu calls, without its Python frame


def _is_relu(dtype: torch.dtype, a: float) -> bool:
    """True when the slope, rounded to the compute type, is 0: the function is ReLU."""
    if a > 1e-44:  # every such slope is > 0 in float32 too (the common case, no NumPy call)
        return False
    compute = np.float64 if dtype == torch.float64 else np.float32
    return compute(a) == 0


def _values(x: Tensor, a: float) -> Tensor:
    return torch.relu(x) if _is_relu(x.dtype, a) else _relu_leaky(x, a)


def _values_(x: Tensor, a: float) -> Tensor:
    return torch.relu_(x) if _is_relu(x.dtype, a) else torch._C._nn.leaky_relu_(x, a)


def _transformed() -> bool:
    """True under forward-mode AD (a dual level is open) or a ``torch.func`` transform."""
    return _fwad._current_level >= 0 or torch._C._are_functorch_transforms_active()


def _scaled(v: Tensor, a: float) -> Tensor:
    """``v * a``, 16-bit floats computed in float32 and rounded once (PyTorch's CPU rule)."""
    if v.dtype == torch.float16 or v.dtype == torch.bfloat16:
        return (v.float() * a).to(v.dtype)
    return v * a


def _aten_backward(grad: Tensor, x: Tensor, a: float) -> Tensor:
    """``grad * leaky_relu_derivative(x)`` in plain aten operations (any transform sees them)."""
    return torch.where(x >= 0, grad, torch.where(x < 0, _scaled(grad, a), x))


def aten_forward(x: Tensor, a: float) -> Tensor:
    """leaky_relu of the contract in plain aten operations, for TorchScript.

    ``x * factor`` with ``factor`` (detached) 1 where ``x >= 0``, ``a`` where ``x < 0``
    and NaN where x is NaN: the values are the contract's (``-0.0`` stays ``-0.0``, one
    rounding of ``a*x``, 16-bit floats computed in float32), and autograd of the
    expression is the contract's gradient (1 at both zeros, NaN at NaN; the second
    derivative 0). A slope that is 0 in the compute type is ReLU: every negative input,
    ``-inf`` included, gives +0.0 (``-inf * 0`` would be NaN). Written for TorchScript:
    ``torch.jit.script`` compiles it, ``torch.jit.trace`` records its operations.
    """
    wide = x.dtype == torch.float16 or x.dtype == torch.bfloat16
    xc = x.float() if wide else x
    xd = xc.detach()
    slope = torch.where(xd < 0, torch.full_like(xd, a), xd)  # NaN stays NaN
    y = xc * torch.where(xd >= 0, torch.ones_like(xd), slope)
    if a == 0.0 or (xc.dtype != torch.float64 and a <= 2.0**-150):  # 0 in the compute type
        y = torch.where(xd < 0, torch.zeros_like(xd), y)
    return y.to(x.dtype) if wide else y


def _backward(grad: Tensor, x: Tensor, a: float) -> Tensor:
    """grad * leaky_relu_derivative(x): leaky's loops on CPU, array-API formulas elsewhere.

    On CPU (float32, float64) the loop runs on PyTorch's own OpenMP team for large tensors
    (``leaky._openmp``) and serially for small ones: never on a second thread pool. It
    reads the tensors' memory directly; a gradient that is one value broadcast (the
    backward of ``.sum()``) is read as that one value, not copied out to full size.
    This runs on every training step: it spends as few Python operations as it can.
    """
    if torch._C._are_functorch_transforms_active():  # torch.func: plain aten operations
        return _aten_backward(grad, x, a)
    if torch.is_grad_enabled():  # double backward: stay differentiable
        return leaky_relu_backward_op(grad, x, a)
    dtype = _KERNEL_DTYPES.get(x.dtype)
    kernels = _kernels()
    if dtype is None or kernels is None or not (x.is_cpu and grad.is_cpu) or grad.dtype != x.dtype:
        return _backward_other(grad, x, a)
    if not x.is_contiguous():
        x = x.contiguous()
    out = torch.empty_like(x)
    n = x.numel()
    if grad.is_contiguous():  # autograd hands over a gradient of the output's shape
        op = kernels.BACKWARD
    elif not any(grad.stride()):  # one value broadcast to every element
        op = kernels.BACKWARD_SCALAR
    else:
        op, grad = kernels.BACKWARD, grad.expand_as(x).contiguous()
    if n:
        parallel = n * dtype.itemsize >= kernels.PARALLEL_MIN_BYTES
        kernels.launch(op, dtype, n, x.data_ptr(), out.data_ptr(), grad.data_ptr(), a, parallel)
    return out


def _kernels() -> Any:
    return _numpy._load_kernels() if _numpy.ENGINE != "numpy" else None


def _backward_other(grad: Tensor, x: Tensor, a: float) -> Tensor:
    """float16 on CPU through the NumPy engine; other dtypes and devices through array-API."""
    if grad.device.type != "cpu" or x.device.type != "cpu" or grad.dtype != x.dtype:
        return _xp.backward(array_namespace(x), grad, x, a)
    if x.dtype in _NUMPY_DTYPES:
        out = torch.empty_like(x, memory_format=torch.contiguous_format)
        _numpy.backward(grad.expand_as(x).numpy(), x.detach().numpy(), a, out.numpy())
        return out
    return _xp.backward(array_namespace(x), grad, x, a)


class LeakyReLUFunction(torch.autograd.Function):
    """``y = leaky_relu(x, a)`` with ``dy/dx = leaky_relu_derivative(x, a)``: eager mode.

    The classic form (``ctx`` in ``forward``): ``Function.apply`` binds the arguments of a
    ``setup_context`` Function with ``inspect.signature`` on every call (~20 us), too much
    for a layer called on every step. ``LeakyReLUTransformFunction`` is the same function
    for forward-mode AD and ``torch.func``.
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor, a: float) -> Tensor:
        ctx.save_for_backward(x)
        ctx.a = a
        return _values(x, a)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (x,) = ctx.saved_tensors
        return _backward(grad, x, ctx.a), None


class LeakyReLUTransformFunction(torch.autograd.Function):
    """``LeakyReLUFunction`` for forward-mode AD and the ``torch.func`` transforms: a
    ``forward`` without ``ctx``, ``setup_context``, a ``jvp`` with the contract's derivative
    (1 at ``x == 0``, NaN at NaN) and a generated vmap rule."""

    generate_vmap_rule = True  # forward, backward and jvp are made of batchable operations

    @staticmethod
    def forward(x: Tensor, a: float) -> Tensor:
        return _values(x, a)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Tensor) -> None:
        x, a = inputs
        ctx.save_for_backward(x)
        ctx.save_for_forward(x)
        ctx.a = a

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (x,) = ctx.saved_tensors
        return _backward(grad, x, ctx.a), None

    @staticmethod
    def jvp(ctx: Any, x_tangent: Tensor, a_tangent: None) -> Tensor:
        (x,) = ctx.saved_tensors
        return _aten_backward(x_tangent, x, ctx.a)  # the contract's derivative: 1 at 0


class LeakyReLUInplaceFunction(torch.autograd.Function):
    """In-place leaky_relu whose backward needs no copy of the input (see the module doc)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, a: float) -> Tensor:
        negative = (x < 0) if _is_relu(x.dtype, a) else None
        _values_(x, a)
        ctx.mark_dirty(x)
        ctx.a = a
        if negative is None:
            ctx.save_for_backward(x)  # the output: its sign is x's sign
        else:
            ctx.save_for_backward(x, negative)
        return x

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        saved = ctx.saved_tensors
        y = saved[0]
        if len(saved) == 2:  # slope 0: y is +0.0 for x <= 0; the mask says which were < 0
            y = y.masked_fill(saved[1], -1.0)
        return _backward(grad, y, ctx.a), None


@torch.library.custom_op("leaky::leaky_relu", mutates_args=())
def leaky_relu_op(x: Tensor, negative_slope: float) -> Tensor:
    """leaky_relu of the contract, as an operator torch.compile and TorchScript can see."""
    return _values(x, negative_slope)


@leaky_relu_op.register_fake
def _(x: Tensor, negative_slope: float) -> Tensor:
    return torch.empty_like(x)


@torch.library.custom_op("leaky::leaky_relu_backward", mutates_args=())
def leaky_relu_backward_op(grad_output: Tensor, x: Tensor, negative_slope: float) -> Tensor:
    """``grad_output * leaky_relu_derivative(x)``, as an operator."""
    return _xp.backward(array_namespace(x), grad_output, x, negative_slope)


@leaky_relu_backward_op.register_fake
def _(grad_output: Tensor, x: Tensor, negative_slope: float) -> Tensor:
    return torch.empty_like(x)


def _op_setup(ctx: Any, inputs: tuple[Any, ...], output: Tensor) -> None:
    ctx.save_for_backward(inputs[-2])  # x, for both operators
    ctx.a = inputs[-1]


def _op_backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
    (x,) = ctx.saved_tensors
    return leaky_relu_backward_op(grad, x, ctx.a), None


def _op_backward_backward(ctx: Any, grad: Tensor) -> tuple[Tensor, Tensor, None]:
    # leaky_relu_backward is linear in grad_output and piecewise constant in x.
    (x,) = ctx.saved_tensors
    return leaky_relu_backward_op(grad, x, ctx.a), torch.zeros_like(x), None


leaky_relu_op.register_autograd(_op_backward, setup_context=_op_setup)
leaky_relu_backward_op.register_autograd(_op_backward_backward, setup_context=_op_setup)


def forward(x: Tensor, a: float) -> Tensor:
    """leaky_relu on a torch tensor, with the contract's gradient, in any mode."""
    if x.requires_grad and torch.is_grad_enabled():
        if not (torch.compiler.is_compiling() or torch.jit.is_tracing() or _transformed()):
            return LeakyReLUFunction.apply(x, a)  # eager training: the common case first
        if _transformed():
            return LeakyReLUTransformFunction.apply(x, a)
        if torch.onnx.is_in_onnx_export():
            return F.leaky_relu(x, a)  # the same values; exports as ONNX LeakyRelu(alpha=a)
        if torch.compiler.is_compiling():
            return leaky_relu_op(x, a)
        return aten_forward(x, a)  # torch.jit.trace: plain aten operations
    if torch.jit.is_tracing() and not torch.onnx.is_in_onnx_export():
        return aten_forward(x, a)  # the trace may later run with a gradient
    if _transformed():
        return LeakyReLUTransformFunction.apply(x, a)  # forward-mode AD, torch.func
    return _values(x, a)


def records_grad(x: Tensor) -> bool:
    """True when an operation on ``x`` would record an autograd graph here."""
    return x.requires_grad and torch.is_grad_enabled()


def forward_out(x: Tensor, a: float, out: Tensor) -> Tensor:
    """leaky_relu of ``x`` written into ``out`` (checked by the caller; may be ``x``)."""
    with torch.no_grad():
        if out is not x:
            out.copy_(x)
        _values_(out, a)
    return out


def forward_inplace(x: Tensor, a: float) -> Tensor:
    """leaky_relu written into ``x``; autograd-aware, saves no copy of the input.

    Under forward-mode AD and ``torch.func`` transforms it computes out of place (as under
    ``torch.compile``): only the out-of-place function has a ``jvp`` and a vmap rule.
    """
    if _transformed():
        return forward(x, a)
    if x.requires_grad and torch.is_grad_enabled():
        return LeakyReLUInplaceFunction.apply(x, a)
    with torch.no_grad():
        return _values_(x, a)
