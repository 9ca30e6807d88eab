"""The MNIST-1D paper's models, with the activation as a parameter, and one activation factory.

The models of Table 1 of Greydanus & Kobak, "Scaling down deep learning with MNIST-1D"
(ICML 2024), re-implemented after the authors' ``notebooks/models.py``:

============  =================================================================  ==========
name          architecture                                                       parameters
============  =================================================================  ==========
``logistic``  Linear 40 -> 10 (logistic regression; no hidden activation)               410
``mlp``       Linear 40 -> 100, act; h + act(Linear 100 -> 100 (h)); Linear 100 -> 10  15,210
``cnn``       3 x (Conv1d 25 channels, kernel 5/3/3, stride 2, padding 1, act),         5,210
              flatten 25 x 5 = 125, Linear 125 -> 10
``gru``       bidirectional GRU, hidden 6, over the 40 time steps; Linear 480 -> 10     5,134
              (its gates are the GRU's own sigmoid and tanh: no activation parameter)
============  =================================================================  ==========

**One activation factory** (``activation``) for every experiment, so that the arms of a
comparison differ only where they are meant to:

- a slope ``a`` in [0, 1] gives leaky's own layer ``leaky.nn.LeakyReLU(a)``. Slope 0 is the
  ReLU control and slope 1 the identity (linear) control: ReLU, Leaky ReLU and the linear
  network run through one code path, and only the slope differs. The names ``"relu"`` and
  ``"identity"`` are the slopes 0.0 and 1.0.
- ``"gelu"``: the smooth control, ``torch.nn.GELU()`` (the exact, erf form). GELU rather
  than tanh because it differs from ReLU only in being smooth (and slightly negative below
  0): it is unbounded above, near the identity for large inputs and near 0 for very
  negative ones, so the PyTorch-default and He initialisations that suit ReLU suit it too.
  tanh differs in several ways at once (bounded, saturating, zero-centred, gain 5/3), so a
  difference to it could not be pinned on smoothness.

**Initialisation** (``build``) draws every parameter from one ``torch.Generator`` seeded
with the run's seed, in the order the parameters are declared, never from PyTorch's global
generator: ``"default"`` is PyTorch's own (what the authors use: Linear and Conv1d weights
and biases uniform in ``±1/sqrt(fan_in)``, the GRU's uniform in ``±1/sqrt(hidden)``);
``"he"`` draws the weights of the hidden layers (those followed by the activation) from
``N(0, gain^2 / fan_in)`` with the gain of the activation, ``sqrt(2 / (1 + a^2))`` for slope
``a`` (He et al. 2015; ReLU's ``sqrt(2)`` for GELU), and their biases 0; the output layer
keeps PyTorch's default. ``bias_shift`` is then subtracted from every hidden bias (a
"shock" that pushes units into the negative regime).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from leaky import _validate

__all__ = [
    "ACTIVATION_NAMES",
    "CNN",
    "GRU",
    "INITS",
    "MLP",
    "MODELS",
    "ActivationSpec",
    "Logistic",
    "activation",
    "activation_label",
    "build",
    "canonical_activation",
    "he_gain",
]

ActivationSpec = float | str
"""A slope in [0, 1] (leaky's LeakyReLU) or a name from ``ACTIVATION_NAMES``."""

ACTIVATION_NAMES: dict[str, float | str] = {"relu": 0.0, "identity": 1.0, "gelu": "gelu"}
"""Names ``activation`` accepts, and what each stands for (a slope, or the smooth control)."""

INITS = ("default", "he")


def canonical_activation(spec: Any, func: str = "canonical_activation") -> ActivationSpec:
    """The one spelling of an activation: a float slope, or ``"gelu"``.

    ``"relu"`` is the slope 0.0 and ``"identity"`` the slope 1.0, so a ReLU arm and a
    slope-0 arm are the same configuration. Anything else raises, naming the valid values.

    Examples:
        >>> canonical_activation("relu"), canonical_activation(0.01), canonical_activation("gelu")
        (0.0, 0.01, 'gelu')
        >>> canonical_activation("swish")
        Traceback (most recent call last):
          ...
        ValueError: The 'activation' parameter of canonical_activation must be a slope in [0, 1] (leaky's LeakyReLU) or one of 'relu', 'identity', 'gelu'. Got 'swish' (str) instead.
    """  # noqa: E501
    if isinstance(spec, str):
        if spec in ACTIVATION_NAMES:
            value = ACTIVATION_NAMES[spec]
            return float(value) if not isinstance(value, str) else value
    else:
        try:
            return _validate.negative_slope(spec, func)
        except (TypeError, ValueError):
            pass
    names = ", ".join(repr(n) for n in ACTIVATION_NAMES)
    raise ValueError(
        f"The 'activation' parameter of {func} must be a slope in [0, 1] (leaky's LeakyReLU) "
        f"or one of {names}. Got {_validate._received(spec)} instead."
    )


def activation(spec: ActivationSpec) -> nn.Module:
    """The activation layer for ``spec``: ``leaky.nn.LeakyReLU(slope)`` or ``nn.GELU()``.

    Every experiment gets its activations here. The layers act element-wise on tensors
    of any shape, so the batched models of ``leaky.lab.batched`` use the same ones.

    Examples:
        >>> activation("relu")
        LeakyReLU(negative_slope=0.0, inplace=False)
        >>> activation(0.1), activation("gelu")
        (LeakyReLU(negative_slope=0.1, inplace=False), GELU(approximate='none'))
    """
    from leaky.nn import LeakyReLU

    spec = canonical_activation(spec, "activation")
    if spec == "gelu":
        return nn.GELU()
    return LeakyReLU(float(spec))


def activation_label(spec: ActivationSpec | None) -> str:
    """A short label for tables and figures.

    Examples:
        >>> [activation_label(s) for s in (0.0, 0.01, 1.0, "gelu", None)]
        ['ReLU (slope 0)', 'LeakyReLU(0.01)', 'identity (slope 1)', 'GELU', 'none']
    """
    if spec is None:
        return "none"
    spec = canonical_activation(spec, "activation_label")
    if spec == "gelu":
        return "GELU"
    if spec == 0.0:
        return "ReLU (slope 0)"
    if spec == 1.0:
        return "identity (slope 1)"
    return f"LeakyReLU({spec:g})"


def he_gain(spec: ActivationSpec) -> float:
    """The He gain of an activation: ``sqrt(2 / (1 + a^2))`` for slope ``a``; ReLU's for GELU.

    Examples:
        >>> he_gain(0.0), he_gain(1.0)
        (1.4142135623730951, 1.0)
    """
    spec = canonical_activation(spec, "he_gain")
    slope = 0.0 if spec == "gelu" else float(spec)
    return math.sqrt(2.0 / (1.0 + slope**2))


class Logistic(nn.Module):
    """Logistic regression: one Linear layer (the paper's ``LinearBase``).

    Examples:
        >>> Logistic()(torch.zeros(3, 40)).shape
        torch.Size([3, 10])
    """

    hidden_layers: tuple[str, ...] = ()

    def __init__(self, features: int = 40, classes: int = 10) -> None:
        super().__init__()
        self.features, self.classes = features, classes
        self.linear = nn.Linear(features, classes)

    def forward(self, x: Tensor, record: list[Tensor] | None = None) -> Tensor:
        return self.linear(x)

    def extra_repr(self) -> str:
        return f"features={self.features}, classes={self.classes}"


class MLP(nn.Module):
    """The paper's MLP (``MLPBase``): two hidden layers of ``hidden`` units, the second residual.

    ``h1 = act(W1 x + b1)``, ``h2 = h1 + act(W2 h1 + b2)``, ``logits = W3 h2 + b3``.
    ``record``, a list, receives the pre-activations of the two hidden layers.

    Examples:
        >>> mlp = MLP(activation=0.01)
        >>> pre = []
        >>> mlp(torch.zeros(3, 40), record=pre).shape, [p.shape for p in pre]
        (torch.Size([3, 10]), [torch.Size([3, 100]), torch.Size([3, 100])])
    """

    hidden_layers: tuple[str, ...] = ("linear1", "linear2")
    residual = True  # the paper's: h2 = h1 + act(z2)

    def __init__(
        self,
        features: int = 40,
        classes: int = 10,
        hidden: int = 100,
        activation: ActivationSpec = 0.0,
    ) -> None:
        super().__init__()
        self.features, self.classes, self.hidden = features, classes, hidden
        self.linear1 = nn.Linear(features, hidden)
        self.linear2 = nn.Linear(hidden, hidden)
        self.linear3 = nn.Linear(hidden, classes)
        self.act = _activation_module(activation)

    def forward(self, x: Tensor, record: list[Tensor] | None = None) -> Tensor:
        z1 = self.linear1(x)
        h = self.act(z1)
        z2 = self.linear2(h)
        h = h + self.act(z2) if self.residual else self.act(z2)
        if record is not None:
            record += [z1, z2]
        return self.linear3(h)

    def extra_repr(self) -> str:
        return f"features={self.features}, classes={self.classes}, hidden={self.hidden}"


class PlainMLP(MLP):
    """The paper's MLP without its residual connection: ``h2 = act(W2 h1 + b2)``.

    A control for claim 4: with the residual path, a second layer whose units all died is
    bypassed; without it, nothing reaches the output but through the activation.

    Examples:
        >>> PlainMLP(activation=0.0)(torch.zeros(2, 40)).shape
        torch.Size([2, 10])
    """

    residual = False


def conv_length(length: int, kernels: tuple[int, ...] = (5, 3, 3)) -> int:
    """The length after the CNN's convolutions (stride 2, padding 1): 40 -> 19 -> 10 -> 5.

    Examples:
        >>> conv_length(40)
        5
    """
    for k in kernels:
        length = (length + 2 - k) // 2 + 1
    return length


class CNN(nn.Module):
    """The paper's CNN (``ConvBase``): three Conv1d layers, then a linear classifier.

    Kernels 5, 3, 3, stride 2, padding 1, ``channels`` channels each, the activation after
    each convolution; the 25 x 5 features are flattened into Linear 125 -> 10. ``record``
    receives the three pre-activations, shape ``(batch, channels, length)``.

    Examples:
        >>> cnn = CNN()
        >>> cnn(torch.zeros(3, 40)).shape, sum(p.numel() for p in cnn.parameters())
        (torch.Size([3, 10]), 5210)
    """

    hidden_layers: tuple[str, ...] = ("conv1", "conv2", "conv3")
    kernels: tuple[int, ...] = (5, 3, 3)

    def __init__(
        self,
        features: int = 40,
        classes: int = 10,
        channels: int = 25,
        activation: ActivationSpec = 0.0,
    ) -> None:
        super().__init__()
        self.features, self.classes, self.channels = features, classes, channels
        k1, k2, k3 = self.kernels
        self.conv1 = nn.Conv1d(1, channels, k1, stride=2, padding=1)
        self.conv2 = nn.Conv1d(channels, channels, k2, stride=2, padding=1)
        self.conv3 = nn.Conv1d(channels, channels, k3, stride=2, padding=1)
        self.linear = nn.Linear(channels * conv_length(features, self.kernels), classes)
        self.act = _activation_module(activation)

    def forward(self, x: Tensor, record: list[Tensor] | None = None) -> Tensor:
        h = x.reshape(x.shape[0], 1, x.shape[-1])
        for conv in (self.conv1, self.conv2, self.conv3):
            z = conv(h)
            if record is not None:
                record.append(z)
            h = self.act(z)
        return self.linear(h.flatten(1))

    def extra_repr(self) -> str:
        return f"features={self.features}, classes={self.classes}, channels={self.channels}"


class GRU(nn.Module):
    """The paper's GRU (``GRUBase``): a bidirectional GRU over the signal, then Linear.

    The signal is read as ``features`` time steps of one value; every step's output of
    both directions (2 x ``hidden``) is flattened into one Linear layer. The initial state
    is zero. No activation parameter: its nonlinearities are the GRU's own gates.

    Examples:
        >>> gru = GRU()
        >>> gru(torch.zeros(3, 40)).shape, sum(p.numel() for p in gru.parameters())
        (torch.Size([3, 10]), 5134)
    """

    hidden_layers: tuple[str, ...] = ()

    def __init__(self, features: int = 40, classes: int = 10, hidden: int = 6) -> None:
        super().__init__()
        self.features, self.classes, self.hidden = features, classes, hidden
        self.gru = nn.GRU(1, hidden, batch_first=True, bidirectional=True)
        self.linear = nn.Linear(2 * hidden * features, classes)

    def forward(self, x: Tensor, record: list[Tensor] | None = None) -> Tensor:
        out, _ = self.gru(x.reshape(x.shape[0], x.shape[-1], 1))
        return self.linear(out.reshape(out.shape[0], -1))

    def extra_repr(self) -> str:
        return f"features={self.features}, classes={self.classes}, hidden={self.hidden}"


def _activation_module(spec: ActivationSpec) -> nn.Module:
    return activation(spec)


MODELS: dict[str, type[nn.Module]] = {
    "logistic": Logistic,
    "mlp": MLP,
    "mlp-plain": PlainMLP,
    "cnn": CNN,
    "gru": GRU,
}
"""The models by name."""

HAS_ACTIVATION = {"logistic": False, "mlp": True, "mlp-plain": True, "cnn": True, "gru": False}


def model_class(name: Any, func: str = "model_class") -> type[nn.Module]:
    """The model class called ``name``; an unknown name lists the valid ones.

    Examples:
        >>> model_class("mlp").__name__
        'MLP'
        >>> model_class("resnet")
        Traceback (most recent call last):
          ...
        ValueError: The 'model' parameter of model_class must be one of 'logistic', 'mlp', 'mlp-plain', 'cnn', 'gru'. Got 'resnet' (str) instead.
    """  # noqa: E501
    if not isinstance(name, str) or name not in MODELS:
        names = ", ".join(repr(n) for n in MODELS)
        raise ValueError(
            f"The 'model' parameter of {func} must be one of {names}. "
            f"Got {_validate._received(name)} instead."
        )
    return MODELS[name]


def check_model_options(
    model: str,
    activation: Any,
    init: Any,
    bias_shift: Any,
    func: str,
) -> tuple[ActivationSpec | None, str, float]:
    """Check the activation, init and bias shift that ``model`` can take; canonical values.

    A model without a hidden activation (logistic, GRU) takes ``activation=None``,
    ``init="default"`` and ``bias_shift=0``: it would otherwise be accepted and ignored.
    """
    model_class(model, func)
    if init not in INITS:
        raise ValueError(
            f"The 'init' parameter of {func} must be one of {', '.join(map(repr, INITS))}. "
            f"Got {_validate._received(init)} instead."
        )
    shift = bias_shift
    if isinstance(shift, bool) or not isinstance(shift, (int, float)) or not math.isfinite(shift):
        raise ValueError(
            f"The 'bias_shift' parameter of {func} must be a finite real number. "
            f"Got {_validate._received(bias_shift)} instead."
        )
    if not HAS_ACTIVATION[model]:
        if activation is not None or init != "default" or shift != 0:
            raise ValueError(
                f"The model {model!r} has no hidden activation: the 'activation' parameter of "
                f"{func} must be None, 'init' 'default' and 'bias_shift' 0. Got "
                f"activation={activation!r}, init={init!r}, bias_shift={bias_shift!r} instead."
            )
        return None, init, 0.0
    if activation is None:
        raise ValueError(
            f"The 'activation' parameter of {func} must be a slope in [0, 1] or one of "
            f"{', '.join(map(repr, ACTIVATION_NAMES))} for the model {model!r}. Got None instead."
        )
    return canonical_activation(activation, func), init, float(shift)


def build(
    model: str,
    activation: ActivationSpec | None = 0.0,
    *,
    seed: int,
    features: int = 40,
    classes: int = 10,
    init: str = "default",
    bias_shift: float = 0.0,
    dtype: torch.dtype = torch.float32,
) -> nn.Module:
    """A model by name, initialised from its own generator seeded with ``seed``.

    The same arguments give the same parameters bit for bit, whatever PyTorch's global
    random state (it is neither read nor changed). See the module docstring for ``init``
    and ``bias_shift``.

    Examples:
        >>> a = build("mlp", "relu", seed=1)
        >>> b = build("mlp", 0.0, seed=1)
        >>> all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
        True
        >>> torch.equal(a.linear1.weight, build("mlp", 0.0, seed=2).linear1.weight)
        False
    """
    act, init, shift = check_model_options(model, activation, init, bias_shift, "build")
    cls = model_class(model, "build")
    kwargs: dict[str, Any] = {"features": features, "classes": classes}
    if act is not None:
        kwargs["activation"] = act
    with torch.device("meta"):  # no draw from the global generator
        module = cls(**kwargs)
    module = module.to_empty(device="cpu").to(dtype)
    generator = torch.Generator().manual_seed(int(seed))
    initialise(module, generator, init=init, activation=act, bias_shift=shift)
    return module


def initialise(
    module: nn.Module,
    generator: torch.Generator,
    *,
    init: str = "default",
    activation: ActivationSpec | None = None,
    bias_shift: float = 0.0,
) -> None:
    """Draw every parameter of ``module`` from ``generator``, in declaration order."""
    hidden = set(getattr(module, "hidden_layers", ()))
    with torch.no_grad():
        for name, layer in module.named_children():
            if isinstance(layer, (nn.Linear, nn.Conv1d)):
                fan_in = layer.weight[0].numel()
                bound = 1 / math.sqrt(fan_in)
                bias = layer.bias  # None only for bias=False, which no model here uses
                if init == "he" and name in hidden:
                    gain = he_gain(activation if activation is not None else 0.0)
                    std = gain / math.sqrt(fan_in)
                    layer.weight.normal_(0.0, std, generator=generator)
                    if bias is not None:
                        bias.zero_()
                else:  # PyTorch's reset_parameters, from our generator
                    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
                    if bias is not None:
                        bias.uniform_(-bound, bound, generator=generator)
                if name in hidden and bias_shift and bias is not None:
                    bias.sub_(bias_shift)
            elif isinstance(layer, nn.GRU):
                bound = 1 / math.sqrt(layer.hidden_size)
                for p in layer.parameters():
                    p.uniform_(-bound, bound, generator=generator)
            elif any(True for _ in layer.parameters()):
                raise TypeError(f"initialise does not know how to draw {type(layer).__name__}")
