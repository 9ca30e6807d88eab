"""leaky.nn.LeakyReLU and leaky.nn.convert on PyTorch models."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from leaky import leaky_relu, leaky_relu_backward, leaky_relu_derivative
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


# ---- issue 20: forward mode, torch.func, TorchScript ---------------------------------

AT = torch.tensor([-1.0, -0.0, 0.0, 1.0, float("nan")], dtype=torch.float64)
CONTRACT_DERIVATIVE = [0.1, 1.0, 1.0, 1.0, float("nan")]  # slope 0.1


def _tolist(t: torch.Tensor) -> list[float]:
    return [float("nan") if v != v else v for v in t.tolist()]


def _is_contract(t: torch.Tensor) -> bool:
    got, want = _tolist(t), CONTRACT_DERIVATIVE
    return all((g != g and w != w) or g == pytest.approx(w) for g, w in zip(got, want, strict=True))


@torch_deprecations  # forward AD loads torch's jvp decompositions (TorchScript)
def test_forward_mode_derivative_is_the_contract_at_zero_and_nan() -> None:
    """Issue 20, item 11: the jvp at 0 was the slope (aten's), the backward 1."""
    layer = LeakyReLU(0.1)
    _, tangent = torch.func.jvp(layer, (AT,), (torch.ones_like(AT),))
    assert _is_contract(tangent), tangent
    import torch.autograd.forward_ad as fwad

    for requires_grad in (False, True):
        with fwad.dual_level():
            dual = fwad.make_dual(AT.clone().requires_grad_(requires_grad), torch.ones_like(AT))
            out = fwad.unpack_dual(layer(dual))
        assert _is_contract(out.tangent), out.tangent
        assert _tolist(out.primal)[:4] == [-0.1, -0.0, 0.0, 1.0]
    x = AT.clone().requires_grad_()
    layer(x).backward(torch.ones_like(x))
    assert _tolist(x.grad)[:4] == _tolist(tangent)[:4]  # reverse and forward mode agree


@torch_deprecations  # forward AD loads torch's jvp decompositions (TorchScript)
def test_torch_func_per_sample_gradients_jacrev_and_hessian() -> None:
    """Issue 20, item 12: torch.func raised 'must override setup_context'."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), LeakyReLU(0.1), nn.Linear(8, 1))
    params = {k: v.detach() for k, v in model.named_parameters()}
    x, y = torch.randn(6, 4), torch.randn(6, 1)

    def loss(p: dict[str, torch.Tensor], xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        out = torch.func.functional_call(model, p, (xi[None],))
        return ((out - yi[None]) ** 2).sum()

    per_sample = torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0, 0))(params, x, y)
    for i in range(6):
        model.zero_grad()
        ((model(x[i : i + 1]) - y[i : i + 1]) ** 2).sum().backward()
        for k, v in model.named_parameters():
            torch.testing.assert_close(per_sample[k][i], v.grad, rtol=1e-6, atol=1e-7)
    layer = LeakyReLU(0.1)
    jac = torch.func.jacrev(layer)(AT)
    assert _is_contract(torch.diagonal(jac)), jac
    assert torch.equal(jac[:4, :4], torch.diag(torch.diagonal(jac)[:4]))
    v = torch.tensor([-2.0, -0.0, 0.0, 3.0], dtype=torch.float64)
    assert torch.equal(torch.func.hessian(lambda t: layer(t).sum())(v), torch.zeros(4, 4).double())
    batch = torch.randn(5, 7)
    assert torch.equal(torch.func.vmap(layer)(batch), layer(batch))
    inplace = LeakyReLU(0.1, inplace=True)
    assert _is_contract(torch.func.jacrev(lambda t: inplace(t * 1))(AT).diagonal())


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("slope", [0.0, 1e-300, 0.01, 0.2, 1.0])
def test_the_aten_path_is_the_contract_bit_for_bit(dtype: torch.dtype, slope: float) -> None:
    """What TorchScript runs: the same values as the kernels, autograd the contract's."""
    from leaky import _torch

    x = _sample(dtype).requires_grad_()
    y = _torch.aten_forward(x, slope)
    _same(y.detach(), leaky_relu(x.detach(), slope))
    three = torch.full_like(y, 3.0)
    (g,) = torch.autograd.grad(y, x, three)
    _same(g, leaky_relu_backward(three, x.detach(), slope))
    if slope == 0 or (dtype != torch.float64 and slope < 1e-40):  # ReLU in the compute type
        assert not y[x.detach() < 0].signbit().any()  # +0.0 for every negative, -inf too


@torch_deprecations
@pytest.mark.parametrize("inplace", [False, True])
def test_jit_trace_save_and_load_round_trip(inplace: bool) -> None:
    """Issue 20, item 12: jit.trace raised TracingCheckError; a trace could not be saved."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), LeakyReLU(0.1, inplace=inplace), nn.Linear(8, 8))
    x = torch.randn(16, 4)
    traced = torch.jit.trace(model, x)
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer)
    buffer.seek(0)
    loaded = torch.jit.load(buffer)
    probe = torch.cat([torch.randn(16, 4), torch.zeros(1, 4)])
    assert torch.equal(loaded(probe), model(probe))
    xs = torch.tensor([[-1.0, -0.0, 0.0, float("nan")]], dtype=torch.float32)
    lin_free = torch.jit.trace(LeakyReLU(0.1, inplace=inplace), xs.clone())
    xg = xs.clone().requires_grad_()
    (g,) = torch.autograd.grad(lin_free(xg * 1).sum(), xg)
    assert _tolist(g[0])[:3] == [pytest.approx(0.1), 1.0, 1.0] and g[0, 3].isnan()
    code = (  # the saved trace needs nothing but torch
        "import io, sys, torch\n"
        "sys.modules['leaky'] = None\n"
        "m = torch.jit.load(io.BytesIO(sys.stdin.buffer.read()))\n"
        "print(m(torch.tensor([[-2.0, 0.0, 3.0, 1.0]])).shape)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], input=buffer.getvalue(), capture_output=True, check=True
    )
    assert done.stdout.decode().strip() == "torch.Size([1, 8])"


@torch_deprecations
def test_jit_script_after_an_fx_rewrite() -> None:
    """Issue 20, item 12: '_Forward' object has no attribute '__globals__'."""
    torch.manual_seed(0)
    block = MLPBlock()
    model = nn.Sequential(TinyResNet().eval(), nn.Identity())
    converted, report = _convert(block, 0.05)
    assert len(report.rewritten) == 1
    scripted = torch.jit.script(converted)
    x = torch.randn(2, 7, 16)
    assert torch.equal(scripted(x), converted(x))
    buffer = io.BytesIO()
    torch.jit.save(scripted, buffer)
    buffer.seek(0)
    assert torch.equal(torch.jit.load(buffer)(x), converted(x))
    assert type(converted.forward).__name__ == "_Forward"  # the model itself is unchanged
    model = convert(model, 0.1)
    scripted = torch.jit.script(model)
    images = torch.randn(2, 3, 8, 8)
    assert torch.equal(scripted(images), model(images))


@pytest.mark.parametrize("layer", [LeakyReLU, nn.LeakyReLU])
def test_a_second_convert_leaves_the_converted_functional_sites_alone(layer: type) -> None:
    """Issue 20, item 7: a second convert re-traced the class's forward, swapped in the
    new slope without include=["LeakyReLU"] and left the first new layer an orphan."""
    torch.manual_seed(0)
    model = TinyResNet().eval()
    x = torch.randn(2, 3, 8, 8)
    model, first = _convert(model, 0.1, layer=layer)
    assert [c.name for c in first.changes][-1] == "<root>:relu"
    modules = len(list(model.named_modules()))
    out = model(x)
    model, second = _convert(model, 0.3, layer=layer)
    assert second.changes == [] and second.rewritten == [] and second.unreached == []
    assert len(list(model.named_modules())) == modules  # no orphan layer added
    assert model.leaky_relu.negative_slope == 0.1  # the functional site keeps its slope
    assert torch.equal(model(x), out)
    if layer is nn.LeakyReLU:  # include= converts torch's layers, the functional site too
        model, third = _convert(model, 0.3, include=["LeakyReLU"])
        assert "leaky_relu" in [c.name for c in third.changes] and third.rewritten == []
        assert len(list(model.named_modules())) == modules
        assert model.leaky_relu.negative_slope == 0.3


class Scripted(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.fc(x))


@torch_deprecations
def test_relus_inside_torchscript_submodules_are_reported_not_skipped() -> None:
    """Issue 20, item 12: convert cannot change compiled code; it says so."""
    model = nn.Sequential(
        torch.jit.script(nn.Sequential(nn.Linear(3, 3), nn.ReLU())),
        torch.jit.script(Scripted()),
        torch.jit.script(nn.Linear(3, 3)),  # no ReLU in it: nothing to say
        nn.ReLU(),
    )
    model, report = _convert(model, 0.1)
    assert [c.name for c in report.changes] == ["3"]
    assert len(report.unreached) == 2
    assert (
        report.unreached[0].startswith("0 (a TorchScript module")
        and "1 ReLU" in (report.unreached[0])
    )
    assert report.unreached[1].startswith("1 (a TorchScript module")
    assert "convert the model before scripting it" in report.unreached[1]
    assert "not converted" in str(report)
