"""The paper's models, the activation factory, and seeded initialisation."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from leaky.lab import models
from leaky.nn import LeakyReLU


@pytest.mark.parametrize(
    ("name", "params"), [("logistic", 410), ("mlp", 15210), ("cnn", 5210), ("gru", 5134)]
)
def test_models_have_the_papers_parameter_counts(name: str, params: int) -> None:
    """The counts the authors' models print (notebooks/models.py, MNIST-1D, 10 classes)."""
    act = 0.0 if models.HAS_ACTIVATION[name] else None
    model = models.build(name, act, seed=0)
    assert sum(p.numel() for p in model.parameters()) == params
    assert model(torch.zeros(7, 40)).shape == (7, 10)


def test_mlp_second_layer_is_residual_and_cnn_shapes_follow_the_paper() -> None:
    mlp = models.build("mlp", 0.0, seed=0)
    x = torch.randn(5, 40)
    h1 = torch.relu(mlp.linear1(x))
    expected = mlp.linear3(h1 + torch.relu(mlp.linear2(h1)))
    torch.testing.assert_close(mlp(x), expected, rtol=0, atol=0)
    cnn = models.build("cnn", 0.0, seed=0)
    assert [c.kernel_size[0] for c in (cnn.conv1, cnn.conv2, cnn.conv3)] == [5, 3, 3]
    assert all(c.stride == (2,) and c.padding == (1,) for c in (cnn.conv1, cnn.conv2, cnn.conv3))
    assert cnn.linear.in_features == 125 and cnn.conv3.out_channels == 25
    record: list[torch.Tensor] = []
    cnn(x, record=record)
    assert [tuple(r.shape) for r in record] == [(5, 25, 19), (5, 25, 10), (5, 25, 5)]


@pytest.mark.parametrize("name", ["logistic", "mlp", "cnn", "gru"])
def test_default_init_is_pytorchs_drawn_from_the_members_own_generator(name: str) -> None:
    """build(seed=s) gives what PyTorch's own constructors give after manual_seed(s)."""
    act = 0.0 if models.HAS_ACTIVATION[name] else None
    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(11)
        kwargs = {} if act is None else {"activation": act}
        reference = models.MODELS[name](**kwargs)
        torch.manual_seed(999)  # build must neither read nor move the global generator
        before = torch.random.get_rng_state()
        ours = models.build(name, act, seed=11)
        assert torch.equal(torch.random.get_rng_state(), before)
    finally:
        torch.random.set_rng_state(state)
    for p, q in zip(ours.parameters(), reference.parameters(), strict=True):
        assert torch.equal(p, q)


def test_he_init_and_bias_shift_touch_hidden_layers_only() -> None:
    slope = 0.2
    a = models.build("mlp", slope, seed=3, init="he", bias_shift=0.5)
    default = models.build("mlp", slope, seed=3)
    std = a.linear2.weight.std().item()
    expected = math.sqrt(2 / (1 + slope**2)) / math.sqrt(100)
    assert abs(std - expected) / expected < 0.05  # 10,000 draws
    assert torch.equal(a.linear1.bias, torch.full((100,), -0.5))
    assert torch.equal(a.linear2.bias, torch.full((100,), -0.5))
    # the output layer keeps PyTorch's default bound 1/sqrt(100)
    assert a.linear3.weight.abs().max() <= 0.1 and not torch.equal(
        a.linear3.weight, default.linear3.weight
    )
    shifted = models.build("cnn", 0.0, seed=3, bias_shift=1.0)
    plain = models.build("cnn", 0.0, seed=3)
    torch.testing.assert_close(shifted.conv2.bias, plain.conv2.bias - 1.0, rtol=0, atol=0)
    assert torch.equal(shifted.linear.bias, plain.linear.bias)


def test_one_activation_factory_relu_is_leakys_layer_at_slope_zero() -> None:
    relu = models.activation("relu")
    assert type(relu) is LeakyReLU and relu.negative_slope == 0.0
    ident = models.activation("identity")
    x = torch.tensor([-2.0, -0.0, 0.0, 3.0])
    assert torch.equal(ident(x), x)
    assert type(models.activation(0.01)) is LeakyReLU
    assert isinstance(models.activation("gelu"), nn.GELU)
    mlp = models.build("mlp", "relu", seed=0)
    assert type(mlp.act) is LeakyReLU and mlp.act.negative_slope == 0.0
    assert models.canonical_activation("identity") == 1.0 == models.canonical_activation(1)


@pytest.mark.parametrize("bad", ["swish", -0.1, 1.5, float("nan"), True, None, [0.1]])
def test_activation_lookup_fails_listing_the_valid_names(bad: object) -> None:
    with pytest.raises(ValueError, match=r"slope in \[0, 1\].*'relu', 'identity', 'gelu'"):
        models.activation(bad)  # type: ignore[arg-type]


def test_model_options_are_checked_never_silently_ignored() -> None:
    with pytest.raises(ValueError, match=r"'model' parameter of build must be one of 'logistic'"):
        models.build("resnet", 0.0, seed=0)
    with pytest.raises(ValueError, match=r"'logistic' has no hidden activation"):
        models.build("logistic", 0.0, seed=0)
    with pytest.raises(ValueError, match=r"'gru' has no hidden activation"):
        models.build("gru", None, seed=0, bias_shift=1.0)
    with pytest.raises(ValueError, match=r"'init' parameter of build must be one of 'default'"):
        models.build("mlp", 0.0, seed=0, init="xavier")
    with pytest.raises(ValueError, match=r"'activation' parameter of build .* Got None"):
        models.build("cnn", None, seed=0)
    with pytest.raises(ValueError, match=r"'bias_shift' parameter of build must be a finite"):
        models.build("mlp", 0.0, seed=0, bias_shift=float("inf"))
