"""leaky on torch tensors: library, device, dtype and graph kept; differences pinned."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from leaky import leaky_relu, leaky_relu_backward, leaky_relu_derivative

TORCH_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
SPECIALS = [0.0, -0.0, 1.0, -1.0, float("inf"), float("-inf"), float("nan"), 1e-3, -7.5]


def _sample(dtype: torch.dtype, n: int = 20_000) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, generator=g, dtype=torch.float64) * 50
    x[: len(SPECIALS)] = torch.tensor(SPECIALS, dtype=torch.float64)
    return x.to(dtype)


def _same(a: torch.Tensor, b: torch.Tensor) -> None:
    assert a.dtype == b.dtype
    assert a.shape == b.shape
    assert torch.equal(a.isnan(), b.isnan())
    keep = ~a.isnan()
    assert torch.equal(a[keep], b[keep])
    assert torch.equal(a[keep].signbit(), b[keep].signbit())


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
@pytest.mark.parametrize("a", [0.01, 0.1, 1 / 5.5, 0.3, 1.0])
def test_values_equal_torch_leaky_relu_bit_for_bit(dtype: torch.dtype, a: float) -> None:
    x = _sample(dtype)
    y = leaky_relu(x, a)
    assert isinstance(y, torch.Tensor)
    assert y.dtype == dtype
    assert y.device == x.device
    _same(y, F.leaky_relu(x, a))


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
def test_slope_zero_equals_torch_relu(dtype: torch.dtype) -> None:
    x = _sample(dtype)
    y = leaky_relu(x, 0.0)
    nonzero = x != 0  # torch.relu keeps or drops the sign of a zero input by kernel
    _same(y[nonzero], torch.relu(x)[nonzero])
    assert not y[x < 0].signbit().any()  # every negative input, -inf too, gives +0.0


@pytest.mark.parametrize("dtype", TORCH_DTYPES)
@pytest.mark.parametrize("a", [0.0, 0.01, 0.3])
def test_autograd_gradient_equals_leaky_relu_derivative(dtype: torch.dtype, a: float) -> None:
    x = _sample(dtype).requires_grad_()
    leaky_relu(x, a).backward(torch.ones_like(x))
    _same(x.grad, leaky_relu_derivative(x.detach(), a))


@pytest.mark.parametrize("a", [0.01, 0.2])
def test_the_one_documented_difference_is_the_gradient_at_zero(a: float) -> None:
    x = torch.tensor([-1.0, 0.0, -0.0, 2.0], requires_grad=True)
    leaky_relu(x, a).sum().backward()
    ours = x.grad.clone()
    x.grad = None
    F.leaky_relu(x, a).sum().backward()
    theirs = x.grad
    assert ours.tolist() == [pytest.approx(a), 1.0, 1.0, 1.0]
    assert theirs.tolist() == [pytest.approx(a), pytest.approx(a), pytest.approx(a), 1.0]
    away_from_zero = torch.tensor([True, False, False, True])
    assert torch.equal(ours[away_from_zero], theirs[away_from_zero])


def test_nan_input_gives_nan_gradient_where_torch_gives_a_finite_one() -> None:
    x = torch.tensor([float("nan"), -1.0], requires_grad=True)
    leaky_relu(x, 0.1).sum().backward()
    assert x.grad[0].isnan()
    assert x.grad[1] == pytest.approx(0.1)


def test_gradcheck_and_gradgradcheck_in_float64() -> None:
    x = torch.tensor([-2.0, -0.5, 0.7, 3.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: leaky_relu(t, 0.1), (x,))
    assert torch.autograd.gradgradcheck(lambda t: leaky_relu(t, 0.1), (x,))


def test_backward_and_derivative_match_torch_kernel_away_from_zero() -> None:
    x = _sample(torch.float32)
    x = x[(x != 0) & ~x.isnan()]
    g = torch.randn_like(x)
    ours = leaky_relu_backward(g, x, 0.1)
    theirs = torch.ops.aten.leaky_relu_backward(g, x, 0.1, False)
    _same(ours, theirs)


def test_result_keeps_the_graph_and_works_inside_a_model() -> None:
    torch.manual_seed(0)
    lin = torch.nn.Linear(4, 3)
    x = torch.randn(5, 4)
    y = leaky_relu(lin(x), 0.2)
    assert y.requires_grad
    assert y.grad_fn is not None
    y.sum().backward()
    assert lin.weight.grad is not None
    assert lin.weight.grad.abs().sum() > 0


def test_integer_tensors_promote_to_torch_default_float() -> None:
    y = leaky_relu(torch.tensor([-2, 3]), 0.5)
    assert y.dtype == torch.get_default_dtype()
    assert y.tolist() == [-1.0, 3.0]


def test_complex_tensor_raises_type_error_naming_the_dtype() -> None:
    with pytest.raises(TypeError, match=r"dtype torch\.complex64"):
        leaky_relu(torch.tensor([1 + 1j]))


def test_out_for_torch_tensors() -> None:
    x = torch.tensor([-2.0, 3.0])
    out = torch.empty(2)
    assert leaky_relu(x, 0.5, out=out) is out
    assert out.tolist() == [-1.0, 3.0]
    leaky_relu(x, 0.5, out=x)  # in place
    assert x.tolist() == [-1.0, 3.0]
    bad = torch.zeros(3)
    with pytest.raises(ValueError, match=r"must have shape \(2,\)"):
        leaky_relu(x, out=bad)
    assert bad.tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(TypeError, match="must be an array of the input's library"):
        leaky_relu(x, out=np.zeros(2, np.float32))
    with pytest.raises(RuntimeError, match="does not record an autograd graph"):
        leaky_relu(x.clone().requires_grad_(), out=torch.empty(2))


def test_mixing_libraries_is_refused() -> None:
    with pytest.raises(TypeError):
        leaky_relu_backward(torch.ones(2), np.ones(2))


@pytest.mark.parametrize("a", [0.0, 0.1])
def test_out_is_written_in_place_without_a_full_size_temporary(a: float) -> None:
    n = 1 << 20
    x = torch.linspace(-2, 2, n)
    expected = leaky_relu(x.clone(), a)
    out = torch.empty(n)
    with torch.profiler.profile(profile_memory=True) as prof:
        leaky_relu(x, a, out=x)  # in place
        leaky_relu(expected.clone().neg_().neg_(), a, out=out)  # into another tensor
    # the one full-size allocation is the clone made for the second call's argument
    allocated = [
        e.cpu_memory_usage
        for e in prof.events()
        if e.name.startswith("aten::empty") and e.cpu_memory_usage >= 4 * n
    ]
    assert allocated == [4 * n], allocated
    _same(x, expected)
    _same(out, leaky_relu(expected, a))
