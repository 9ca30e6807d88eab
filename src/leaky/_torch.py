"""PyTorch autograd for leaky_relu: the gradient of the contract, not of a formula.

Imported only when a torch tensor reaches ``leaky.functional`` (torch is then already
imported by the caller). Differentiating ``where(x < 0, a*x, x)`` would give a gradient of 1
at a NaN input; this Function's backward is ``leaky_relu_backward``, so the gradient is
exactly ``grad_output * leaky_relu_derivative(x)``: 1 at 0, ``a`` below, NaN at NaN. The
backward is itself made of differentiable operations, so double backward works.
"""

from __future__ import annotations

from typing import Any

import torch
from array_api_compat import array_namespace

from leaky import _xp


class LeakyReLUFunction(torch.autograd.Function):
    """``y = leaky_relu(x, a)`` with ``dy/dx = leaky_relu_derivative(x, a)``."""

    @staticmethod
    def forward(x: torch.Tensor, a: float) -> torch.Tensor:  # type: ignore[override]
        return _xp.forward(array_namespace(x), x, a)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        x, a = inputs
        ctx.save_for_backward(x)
        ctx.a = a

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return _xp.backward(array_namespace(x), grad_output, x, ctx.a), None


def forward(x: torch.Tensor, a: float) -> torch.Tensor:
    """leaky_relu on a torch tensor, recording the contract's gradient when one is needed."""
    if torch.is_grad_enabled() and x.requires_grad:
        return LeakyReLUFunction.apply(x, a)
    return _xp.forward(array_namespace(x), x, a)
