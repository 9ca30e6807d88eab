"""leaky.nn.LeakyReLU and leaky.nn.convert on PyTorch models."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from leaky import leaky_relu, leaky_relu_derivative
from leaky.nn import ConversionReport, LeakyReLU, convert

# PyTorch 2.13 deprecates TorchScript and the legacy ONNX exporter, and its own compiler
# stack triggers DeprecationWarnings inside torch; those (raised in torch's modules) only.
torch_deprecations = pytest.mark.filterwarnings(
    "ignore::DeprecationWarning:torch", "ignore::FutureWarning:torch"
)


SPECIALS = torch.tensor([-3.0, -1e-3, -0.0, 0.0, 2.0, float("inf"), float("-inf"), float("nan")])


def _sample(dtype: torch.dtype = torch.float32) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.cat([SPECIALS, torch.randn(5000, generator=g) * 10]).to(dtype)


def _same(a: torch.Tensor, b: torch.Tensor) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    assert torch.equal(a.isnan(), b.isnan())
    keep = ~a.isnan()
    assert torch.equal(a[keep], b[keep]) and torch.equal(a[keep].signbit(), b[keep].signbit())


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("slope", [0.01, 0.2, 1.0])
def test_values_equal_torch_layer(dtype: torch.dtype, slope: float) -> None:
    x = _sample(dtype)
    _same(LeakyReLU(slope)(x), nn.LeakyReLU(slope)(x))


@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("slope", [0.0, 0.01, 0.3])
def test_gradient_is_the_contract(inplace: bool, slope: float) -> None:
    x = _sample(torch.float64).requires_grad_()
    y = LeakyReLU(slope, inplace=inplace)(x * 1)  # x * 1: in place needs a non-leaf
    y.backward(torch.ones_like(y))
    _same(x.grad, leaky_relu_derivative(x.detach(), slope))
    assert x.grad[3] == 1.0  # x == +0.0
    assert x.grad[7].isnan()  # NaN in, NaN gradient
    x.grad = None
    nn.LeakyReLU(max(slope, 1e-9))(x).backward(torch.ones_like(x))
    assert x.grad[3] == pytest.approx(max(slope, 1e-9))  # torch's layer: the slope at 0


def test_inplace_overwrites_and_saves_no_copy_of_the_input() -> None:
    saved: list[torch.Tensor] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved.append(t)
        return t

    x = torch.randn(1000, requires_grad=True)
    h = x * 2
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = LeakyReLU(0.1, inplace=True)(h)
    assert y.data_ptr() == h.data_ptr()
    leaky_saved = [t for t in saved if t.numel() == 1000 and t.dtype == torch.float32]
    assert all(t.data_ptr() == y.data_ptr() for t in leaky_saved)  # only the output itself
    y.sum().backward()
    expected = 2 * torch.where(x.detach() * 2 >= 0, 1.0, 0.1)
    assert torch.equal(x.grad, expected)


def test_inplace_at_slope_zero_keeps_only_a_bool_mask() -> None:
    saved: list[torch.Tensor] = []
    x = torch.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    h = x * 1
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        y = LeakyReLU(0.0, inplace=True)(h)
    assert {t.dtype for t in saved} <= {torch.float32, torch.bool}
    assert any(t.dtype == torch.bool for t in saved)
    g = torch.autograd.grad(y.sum(), x)[0]
    assert g.tolist() == [0.0, 1.0, 1.0]  # x == 0 -> 1, x < 0 -> 0, told apart by the mask


def test_gradcheck_and_gradgradcheck() -> None:
    x = torch.tensor([-2.0, -0.3, 0.4, 5.0], dtype=torch.float64, requires_grad=True)
    for layer in (LeakyReLU(0.1), LeakyReLU(0.0)):
        assert torch.autograd.gradcheck(layer, (x,))
        assert torch.autograd.gradgradcheck(layer, (x,))
    assert torch.autograd.gradcheck(lambda t: LeakyReLU(0.1, inplace=True)(t * 1), (x,))


def test_repr_reproduces_the_constructor() -> None:
    for layer in (LeakyReLU(), LeakyReLU(0.2, inplace=True), LeakyReLU(0)):
        again = eval(repr(layer), {"LeakyReLU": LeakyReLU})
        assert (again.negative_slope, again.inplace) == (layer.negative_slope, layer.inplace)
    assert repr(LeakyReLU(0.2, True)) == "LeakyReLU(negative_slope=0.2, inplace=True)"


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"'negative_slope' parameter of LeakyReLU.*Got -1"):
        LeakyReLU(-1)
    with pytest.raises(TypeError, match="'inplace' parameter of LeakyReLU must be a bool"):
        LeakyReLU(0.1, inplace="yes")  # type: ignore[arg-type]


@torch_deprecations
@pytest.mark.parametrize("inplace", [False, True])
def test_torchscript(inplace: bool) -> None:
    model = nn.Sequential(nn.Linear(4, 8), LeakyReLU(0.1, inplace=inplace), nn.Linear(8, 2))
    scripted = torch.jit.script(model)
    x = torch.randn(16, 4)
    assert torch.equal(scripted(x), model(x))
    x.requires_grad_()
    (g1,) = torch.autograd.grad(scripted(x).sum(), x)
    (g2,) = torch.autograd.grad(model(x).sum(), x)
    assert torch.equal(g1, g2)


@torch_deprecations
@pytest.mark.parametrize("inplace", [False, True])
def test_torch_compile_without_graph_breaks(inplace: bool) -> None:
    torch._dynamo.reset()
    model = nn.Sequential(nn.Linear(4, 8), LeakyReLU(0.1, inplace=inplace), nn.Linear(8, 2))
    x = torch.randn(16, 4)
    explained = torch._dynamo.explain(model)(x)
    assert explained.graph_break_count == 0
    assert explained.graph_count == 1
    compiled = torch.compile(model)
    assert torch.equal(compiled(x), model(x))
    xg = x.clone().requires_grad_()
    (g1,) = torch.autograd.grad(compiled(xg).sum(), xg)
    (g2,) = torch.autograd.grad(model(xg).sum(), xg)
    torch.testing.assert_close(g1, g2, rtol=0, atol=1e-6)  # compiled matmul order may differ


# The exporters raise their own Deprecation- and FutureWarnings (torch.export, onnxscript).
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")
@pytest.mark.parametrize("dynamo", [True, False])
def test_onnx_export_is_the_standard_leakyrelu_node(dynamo: bool) -> None:
    import onnx

    model = nn.Sequential(nn.Linear(4, 8), LeakyReLU(0.125), nn.Linear(8, 2), LeakyReLU(0.5))
    model.eval()
    x = torch.randn(3, 4)
    if dynamo:
        proto = torch.onnx.export(model, (x,), dynamo=True, verbose=False).model_proto
    else:
        buffer = io.BytesIO()
        torch.onnx.export(model, (x,), buffer, dynamo=False)
        proto = onnx.load_from_string(buffer.getvalue())
    nodes = [n for n in proto.graph.node if n.op_type == "LeakyRelu"]
    assert [onnx.helper.get_attribute_value(n.attribute[0]) for n in nodes] == [0.125, 0.5]
    assert all(n.domain in ("", "ai.onnx") for n in nodes)


# ---- convert --------------------------------------------------------------------------


class BasicBlock(nn.Module):
    """torchvision's ResNet BasicBlock, shape for shape: one in-place ReLU used twice."""

    def __init__(self, channels: int, act: type[nn.Module] = nn.ReLU, **kw: float) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = act(inplace=True, **kw)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + x)


class TinyResNet(nn.Module):
    def __init__(self, act: type[nn.Module] = nn.ReLU, functional: bool = True, **kw: float):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), act(**kw))
        self.layer1 = nn.Sequential(BasicBlock(8, act, **kw), BasicBlock(8, act, **kw))
        self.fc = nn.Linear(8, 5)
        self.functional = functional
        self.slope = kw.get("negative_slope", 0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer1(self.stem(x))
        x = x.mean(dim=(2, 3))
        if self.functional:  # a functional relu, as many models have
            x = F.relu(x) if not self.slope else LeakyReLU(self.slope)(x)
        return self.fc(x)


class MLPBlock(nn.Module):
    """A transformer MLP block: Linear, activation, Linear, with the activation a method call."""

    def __init__(self, d: int = 16, slope: float | None = None) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.slope = slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc1(x)
        h = h.relu() if self.slope is None else LeakyReLU(self.slope)(h)
        return x + self.fc2(torch.relu(h) if self.slope is None else LeakyReLU(self.slope)(h))


def _convert(model: nn.Module, *args: object, **kw: object) -> tuple[nn.Module, ConversionReport]:
    reports: list[ConversionReport] = []
    converted = convert(model, *args, report=reports.append, **kw)  # type: ignore[arg-type]
    (report,) = reports
    return converted, report


def test_convert_resnet_style_model_equals_a_hand_built_leaky_model() -> None:
    torch.manual_seed(0)
    relu_model = TinyResNet().eval()
    leaky_model = TinyResNet(LeakyReLU, negative_slope=0.1).eval()
    leaky_model.load_state_dict(relu_model.state_dict())
    before = {k: v.clone() for k, v in relu_model.state_dict().items()}
    converted, report = _convert(relu_model, 0.1)
    x = torch.randn(4, 3, 8, 8)
    assert torch.equal(converted(x), leaky_model(x))
    for k, v in converted.state_dict().items():  # no weight touched
        assert torch.equal(v, before[k])
    names = [c.name for c in report.changes]
    assert names[:3] == ["stem.2", "layer1.0.relu", "layer1.1.relu"]
    assert names[3:] == ["<root>:relu"]  # the functional F.relu in TinyResNet.forward
    assert "ReLU(inplace=True) -> LeakyReLU(negative_slope=0.1, inplace=True)" in str(report)
    assert not report.unreached


def test_convert_returns_the_model_itself() -> None:
    """``model = convert(model)`` works, like nn.SyncBatchNorm.convert_sync_batchnorm."""
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    same = convert(model, 0.1)
    assert same is model and isinstance(model[1], LeakyReLU)
    assert model(torch.randn(4, 2)).shape == (4, 1)
    with pytest.raises(TypeError, match="'report' parameter of convert must be callable"):
        convert(model, report="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'model' parameter of convert"):
        convert("model")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'layer' parameter of convert must make"):
        convert(nn.ReLU(), layer=lambda **kw: 3)  # type: ignore[arg-type, return-value]


def test_convert_keeps_the_class_methods_and_attributes_of_a_functional_model() -> None:
    torch.manual_seed(0)
    model = TinyResNet().eval()
    model.custom_attribute = "kept"
    converted, report = _convert(model, 0.1)
    assert converted is model and type(model) is TinyResNet and isinstance(model, TinyResNet)
    assert model.custom_attribute == "kept" and model.functional
    (line,) = report.rewritten
    assert line.startswith("<root> (TinyResNet): forward replaced on the instance")
    assert "class, methods and attributes unchanged" in line and "leaky_relu" in line
    assert "forward rewritten (torch.fx):" in str(report)
    hand = TinyResNet(LeakyReLU, negative_slope=0.1).eval()
    hand.load_state_dict(model.state_dict())
    x = torch.randn(2, 3, 8, 8)
    buffer = io.BytesIO()
    torch.save(model, buffer)  # the rewritten forward pickles (as source) and loads
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    assert type(loaded) is TinyResNet and torch.equal(loaded(x), hand(x))
    assert torch.equal(model(x), hand(x))


def test_convert_layer_torch_leaky_relu_needs_no_leaky() -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(inplace=True), nn.Linear(3, 1), nn.ReLU())
    converted, report = _convert(model, 0.2, layer=nn.LeakyReLU)
    assert [type(m) for m in converted] == [nn.Linear, nn.LeakyReLU, nn.Linear, nn.LeakyReLU]
    assert converted[1].negative_slope == 0.2 and converted[1].inplace
    assert len(report.changes) == 2
    buffer = io.BytesIO()
    torch.save(converted, buffer)
    code = (
        "import io, sys, torch\n"
        "sys.modules['leaky'] = None  # importing leaky now fails\n"
        "m = torch.load(io.BytesIO(sys.stdin.buffer.read()), weights_only=False)\n"
        "print(type(m[1]).__module__, float(m(torch.ones(1, 2)).sum()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=buffer.getvalue(), capture_output=True, check=True
    )
    assert out.stdout.decode().startswith("torch.nn.modules.activation ")


def test_convert_a_relu_registered_twice_converts_every_occurrence() -> None:
    """Issue 9, item 10: the second place of a shared ReLU was skipped."""
    relu = nn.ReLU()
    model = nn.Sequential(nn.Linear(2, 3), relu, nn.Linear(3, 3), relu)
    converted, report = _convert(model, 0.1)
    assert isinstance(converted[1], LeakyReLU) and isinstance(converted[3], LeakyReLU)
    assert converted[1] is converted[3]  # still one shared layer
    assert [c.name for c in report.changes] == ["1", "3"]
    nested = nn.Sequential(nn.Sequential(relu), nn.Linear(2, 2), relu)
    converted, report = _convert(nested, 0.1)
    assert [c.name for c in report.changes] == ["0.0", "2"]


def test_convert_transformer_mlp_block_method_and_torch_relu() -> None:
    torch.manual_seed(1)
    block = MLPBlock()
    hand = MLPBlock(slope=0.05)
    hand.load_state_dict(block.state_dict())
    converted, report = _convert(block, 0.05)
    x = torch.randn(2, 7, 16)
    assert torch.equal(converted(x), hand(x))
    assert sorted(c.old for c in report.changes) == ["Tensor.relu()", "torch.relu()"]
    assert isinstance(converted, MLPBlock)


def test_convert_replaces_the_root_and_keeps_inplace_unless_told() -> None:
    new, report = _convert(nn.ReLU(inplace=True), 0.2)
    assert isinstance(new, LeakyReLU) and new.inplace and report.changes[0].name == ""
    new = convert(nn.Sequential(nn.ReLU(inplace=True)), 0.2, inplace=False)
    assert not new[0].inplace


def test_convert_exclude_and_include() -> None:
    model = nn.Sequential(
        nn.Sequential(nn.Linear(2, 2), nn.ReLU()), nn.ReLU(), nn.LeakyReLU(0.3), nn.Linear(2, 1)
    )
    model, report = _convert(model, 0.1, exclude=["0.*"], include=["LeakyReLU"])
    assert isinstance(model[0][1], nn.ReLU)  # excluded
    assert isinstance(model[1], LeakyReLU) and isinstance(model[2], LeakyReLU)
    assert model[2].negative_slope == 0.1
    assert [c.name for c in report.changes] == ["1", "2"]
    with pytest.raises(ValueError, match=r"'include' parameter of convert takes names"):
        convert(model, include=["GELU"])


class Untraceable(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:  # data-dependent control flow: torch.fx cannot trace it
            return F.relu(self.fc(x))
        return self.fc(x)


def test_convert_reports_functional_calls_it_cannot_reach() -> None:
    model, report = _convert(Untraceable(), 0.1)
    assert isinstance(model, Untraceable)
    (line,) = report.unreached
    assert line.startswith("<root> (forward calls F.relu; torch.fx could not trace it")
    assert "not converted" in str(report)


class NotARelu(nn.Module):
    """Calls a submodule named relu and leaky's leaky_relu: neither is a functional ReLU."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:  # untraceable, so the source is all convert can go by
            return leaky_relu(self.relu(self.fc(x)), 0.1)
        return self.fc(x)


def test_the_not_converted_report_is_precise() -> None:
    """Issue 9, item 10: the old substring match flagged ``self.relu(`` and ``leaky_relu(``."""
    _, report = _convert(NotARelu(), 0.1)
    assert report.unreached == []
    assert [c.name for c in report.changes] == ["relu"]
