"""DeadUnitMonitor finds exactly the planted dead units, changes nothing, and cleans up."""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from collections.abc import Iterator

import pytest
import torch
import torch.nn.functional as F
from rich.console import Console
from torch import nn

from leaky import leaky_relu
from leaky.monitor import DeadUnitMonitor, LayerReport, MonitorReport, diagnose
from leaky.nn import LeakyReLU

PLANTED = [2, 5, 11]


@contextlib.contextmanager
def torch_deprecations_ignored() -> Iterator[None]:
    """PyTorch 2.13 deprecates TorchScript (warnings raised inside torch)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=FutureWarning)
        yield


def _mlp(act: nn.Module) -> nn.Sequential:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), act, nn.Linear(16, 3))
    with torch.no_grad():
        model[0].bias[PLANTED] = -1e3
    return model


def _cnn(act: nn.Module) -> nn.Sequential:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), act, nn.Flatten(), nn.Linear(8 * 25, 2))
    with torch.no_grad():
        model[0].bias[[1, 6]] = -1e3
    return model


def _run(model: nn.Module, shape: tuple[int, ...], batches: int = 5, **kw: object):
    with DeadUnitMonitor(model, **kw) as mon:
        for _ in range(batches):
            model(torch.randn(*shape))
    return mon.report()


@pytest.mark.parametrize(
    "act", [nn.ReLU(), nn.ReLU(inplace=True), nn.ReLU6(), LeakyReLU(0.0), nn.LeakyReLU(0.0)]
)
def test_planted_dead_units_in_linear_layers_are_found_exactly(act: nn.Module) -> None:
    report = _run(_mlp(act), (32, 6))
    (layer,) = report.layers
    assert layer.dead == PLANTED
    assert layer.negative_regime == []
    assert layer.units == 16 and layer.samples == 5 * 32
    assert report.batches == 5
    assert "3 of 16 units dead (19%) — revive them with leaky.monitor.revive" in layer.sentence()


@pytest.mark.parametrize("act", [LeakyReLU(0.1), LeakyReLU(0.1, inplace=True), nn.LeakyReLU()])
def test_planted_units_under_leaky_relu_are_negative_regime_not_dead(act: nn.Module) -> None:
    (layer,) = _run(_mlp(act), (32, 6)).layers
    assert layer.dead == []
    assert layer.negative_regime == PLANTED
    assert "negative regime" in layer.sentence()
    assert layer.zero_fraction == 0.0  # leaky outputs are almost never exactly 0


@pytest.mark.parametrize(
    ("act", "field"), [(nn.ReLU(), "dead"), (LeakyReLU(0.2), "negative_regime")]
)
def test_planted_dead_channels_in_conv_layers(act: nn.Module, field: str) -> None:
    (layer,) = _run(_cnn(act), (4, 3, 5, 5)).layers
    assert getattr(layer, field) == [1, 6]
    assert layer.units == 8 and layer.samples == 5 * 4 * 25


def test_dormant_units_at_tau() -> None:
    model = _mlp(nn.ReLU())
    with torch.no_grad():
        model[0].weight[7] *= 1e-4  # alive but tiny
        model[0].bias[7] = 1e-4
    report = _run(model, (64, 6), tau=0.05)
    assert report.layers[0].dormant == sorted([*PLANTED, 7])
    assert report.tau == 0.05
    assert _run(model, (64, 6)).tau == 0.025  # tau > 0 by default
    assert _run(model, (64, 6), tau=0).layers[0].dormant == PLANTED  # tau = 0: dead only


def test_the_window_is_every_batch_not_the_last() -> None:
    model = nn.Sequential(nn.Identity(), nn.ReLU())
    with DeadUnitMonitor(model) as mon:
        model(torch.tensor([[1.0, -1.0, -1.0]]))  # unit 0 positive only in this batch
        model(torch.tensor([[-1.0, 2.0, -1.0]]))
        model(torch.tensor([[-1.0, -1.0, -1.0]]))
    assert mon.report().layers[0].dead == [2]


def test_monitor_changes_no_output_and_no_gradient() -> None:
    def step(monitored: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        model = _cnn(nn.ReLU(inplace=True))
        x = torch.randn(4, 3, 5, 5, generator=torch.Generator().manual_seed(1))
        if monitored:
            with DeadUnitMonitor(model):
                out = model(x)
                out.square().sum().backward()
        else:
            out = model(x)
            out.square().sum().backward()
        return out.detach(), [p.grad.clone() for p in model.parameters()]

    (a, ga), (b, gb) = step(False), step(True)
    assert torch.equal(a, b)
    assert all(torch.equal(x, y) for x, y in zip(ga, gb, strict=True))


def test_hooks_are_removed_on_exit_even_when_the_body_raises() -> None:
    model = _mlp(nn.ReLU())
    softplus = nn.Sequential(nn.Linear(2, 2), nn.Softplus())  # needs an input hook too
    with (
        pytest.raises(RuntimeError, match="boom"),
        DeadUnitMonitor(model),
        DeadUnitMonitor(softplus),
    ):
        assert model[1]._forward_hooks and model._forward_pre_hooks
        assert softplus[1]._forward_pre_hooks
        raise RuntimeError("boom")
    assert not model[1]._forward_hooks and not model[1]._forward_pre_hooks
    assert not model._forward_pre_hooks
    assert not softplus[1]._forward_pre_hooks and not softplus[1]._forward_hooks


def test_reset_snapshot_history_and_callback() -> None:
    model = _mlp(nn.ReLU())
    seen: list[tuple[int, int]] = []
    on_snapshot = lambda report, step: seen.append((report.dead, step))  # noqa: E731
    with DeadUnitMonitor(model, on_snapshot=on_snapshot) as mon:
        for epoch in range(3):
            for _ in range(2):
                model(torch.randn(8, 6))
            report = mon.snapshot()
            assert report.batches == 2
            if epoch == 1:
                with torch.no_grad():
                    model[0].bias[PLANTED] = 1e3  # revive them
        model(torch.randn(8, 6))
        mon.reset()
        assert mon.report().batches == 0 and mon.report().layers[0].units == 0
    assert [h["dead"] for h in mon.history] == [3, 3, 0]
    assert seen == [(3, 0), (3, 1), (0, 2)]  # the report and the step (default: a count)
    mon.snapshot(step=100)
    assert seen[-1] == (0, 100)


def test_a_module_called_twice_reports_one_site_per_call() -> None:
    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Linear(4, 8), nn.Linear(8, 3)
            self.relu = nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.relu(self.b(self.relu(self.a(x))))

    report = _run(Block(), (16, 4))
    assert [(layer.name, layer.units) for layer in report.layers] == [
        ("relu#0", 8),
        ("relu#1", 3),
    ]


def test_explicit_modules_names_and_unit_dim() -> None:
    model = _cnn(nn.ReLU())
    report = _run(model, (4, 3, 5, 5), modules=["1"], unit_dim=-1)
    assert report.layers[0].units == 5  # width, as asked
    with pytest.raises(KeyError, match=r"No module named 'nope'.*Valid names: '0', '1'"):
        DeadUnitMonitor(model, modules=["nope"])
    with pytest.raises(ValueError, match="found no activation layer"):
        DeadUnitMonitor(nn.Linear(2, 2), functional=False)
    with pytest.raises(ValueError, match="not part of the model"):
        DeadUnitMonitor(model, modules=[nn.ReLU()])
    with pytest.raises(TypeError, match=r"must be a torch\.nn\.Module"):
        DeadUnitMonitor("model")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'tau' parameter"):
        DeadUnitMonitor(model, tau=-1)
    with pytest.raises(ValueError, match=r"'near_dead' parameter .* \[0, 1\]"):
        DeadUnitMonitor(model, near_dead=2)
    with pytest.raises(TypeError, match="'count_eval' parameter"):
        DeadUnitMonitor(model, count_eval="yes")  # type: ignore[arg-type]


def test_report_renders_as_dict_json_and_rich_table() -> None:
    report = _run(_mlp(nn.ReLU()), (32, 6))
    data = json.loads(report.to_json())
    assert data["dead"] == 3 and data["units"] == 16
    assert data["layers"][0]["dead"] == PLANTED
    console = Console(record=True, width=120)
    console.print(report)
    text = console.export_text()
    assert "Dead-unit report" in text and "3 (19%)" in text
    assert "leaky.monitor.revive" in text


def test_diagnose_runs_eval_mode_without_gradients() -> None:
    model = _mlp(nn.ReLU())
    model.train()
    data = [(torch.randn(8, 6), torch.zeros(8)) for _ in range(10)]
    report = diagnose(model, data, max_batches=4)
    assert report.batches == 4 and report.layers[0].dead == PLANTED
    assert model.training  # restored


def test_counts_are_exact_with_nan_and_for_activations_that_do_not_keep_the_sign() -> None:
    x = torch.tensor([[1.0, -1.0, 0.0], [float("nan"), -2.0, 0.0], [3.0, 4.0, -1.0]])
    for act, zeros in ((nn.ReLU(), 5 / 9), (LeakyReLU(0.1), 2 / 9)):
        model = nn.Sequential(nn.Identity(), act)
        with DeadUnitMonitor(model) as mon:
            model(x)
        (layer,) = mon.report().layers
        assert layer.positive_fraction == [2 / 3, 1 / 3, 0.0]
        assert layer.zero_fraction == pytest.approx(zeros)
    model = nn.Sequential(nn.Identity(), nn.Softplus())  # softplus(x) > 0 everywhere
    with DeadUnitMonitor(model) as mon:
        model(torch.tensor([[1.0, -1.0], [2.0, -3.0]]))
    (layer,) = mon.report().layers
    assert layer.positive_fraction == [1.0, 0.0]
    assert layer.negative_regime == [1]
    model = nn.Sequential(nn.Identity(), nn.GELU())
    with DeadUnitMonitor(model) as mon:
        model(torch.tensor([[1.0, -1.0], [2.0, -3.0]]))
    assert mon.report().layers[0].negative_regime == [1]


# ---------------------------------------------------------------- conventions (issue 13.1)


def test_repr_and_print_show_the_summary() -> None:
    model = _mlp(nn.ReLU())
    mon = DeadUnitMonitor(model, tau=0.1)
    assert repr(mon) == (
        "DeadUnitMonitor(model=Sequential, layers=1, functional=True, tau=0.1, "
        "near_dead=0.01, count_eval=False, batches=0, skipped=0, active=False)"
    )
    with mon:
        assert "active=True" in repr(mon)
        model(torch.randn(32, 6))
    report = mon.report()
    assert str(report) == "\n".join(report.summary())
    assert str(report).startswith("layer 1: 3 of 16 units dead (19%) — revive them with leaky.")
    assert repr(report).startswith("MonitorReport(batches=1, layers=1, units=16, dead=3,")
    assert len(repr(report)) < 300


class _Mixed(nn.Module):
    """A module site, a functional site, an in-place sign-changing site, and a NaN unit."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(6, 16), nn.Linear(16, 8)
        self.act = nn.LeakyReLU(0.1)
        self.prelu = nn.PReLU(8, init=-0.3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.fc1(x))
        return self.prelu(self.act(self.fc2(h)))


def _batches(n: int, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(32, 6, generator=g) for _ in range(n)]


def _mixed() -> _Mixed:
    torch.manual_seed(0)
    model = _Mixed()
    with torch.no_grad():
        model.fc1.bias[PLANTED] = -1e3
        model.fc2.bias[3] = float("nan")
    return model


def test_state_dict_resume_gives_the_uninterrupted_report() -> None:
    data = _batches(10)
    model = _mixed()
    with DeadUnitMonitor(model) as whole:
        for x in data:
            model(x)
    with DeadUnitMonitor(model) as first:
        for x in data[:4]:
            model(x)
        first.snapshot()  # history travels with the checkpoint too
        for x in data[4:7]:
            model(x)
    buffer = io.BytesIO()
    torch.save({"monitor": first.state_dict()}, buffer)
    buffer.seek(0)
    state = torch.load(buffer)["monitor"]  # weights_only: plain tensors and builtins
    for group in state["groups"].values():
        for site in group["sites"]:
            assert site["counts"].dtype == torch.int64  # exact integer counts
    resumed = DeadUnitMonitor(_mixed())
    resumed.load_state_dict(state)
    with resumed:
        for x in data[7:]:
            resumed.model(x)
    assert resumed.history == first.history and resumed.snapshots == 1
    with DeadUnitMonitor(model) as tail:  # the same window as `resumed`, uninterrupted
        for x in data[4:]:
            model(x)
    assert resumed.report().to_dict() == tail.report().to_dict()
    names = [layer.name for layer in whole.report().layers]
    assert names == ["<root>:F.relu", "act", "prelu"]
    with pytest.raises(ValueError, match="Not a DeadUnitMonitor state"):
        resumed.load_state_dict({"version": 99})


def test_eval_batches_and_paused_batches_are_skipped_unless_asked() -> None:
    model = _mlp(nn.ReLU())
    alive = torch.full((8, 6), 1e4)  # would make every planted unit positive
    for count_eval, batches, dead in ((False, 4, PLANTED), (True, 5, [])):
        with torch.no_grad():
            model[0].weight.fill_(1.0)
            model[0].bias[PLANTED] = -1e3
        with DeadUnitMonitor(model, count_eval=count_eval) as mon:
            model.train()
            for x in _batches(4):
                model(x.abs())
            model.eval()
            model(alive)  # a validation batch
            model.train()
            with mon.pause():
                model(alive)  # a probe
        report = mon.report()
        assert report.batches == batches and report.layers[0].dead == dead
        assert report.skipped == (0 if count_eval else 1)
    assert "(1 eval-mode batch(es) skipped)" not in str(report)


# ----------------------------------------------------------------- every site (issue 13.2)


class BasicBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.conv1(x))
        return F.relu(self.conv2(out) + x)


class FunctionalResNet(nn.Module):
    """A ResNet written with F.relu in forward: no activation module anywhere."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.layer1 = nn.Sequential(BasicBlock(8), BasicBlock(8))
        self.head = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.stem(x))
        x = self.layer1(x)
        return self.head(x.mean((2, 3)))


def test_a_resnet_written_with_functional_relu_is_watched_site_by_site() -> None:
    torch.manual_seed(0)
    model = FunctionalResNet()
    with torch.no_grad():
        model.layer1[0].conv1.bias[[1, 6]] = -1e3
    report = _run(model, (4, 3, 6, 6), batches=3)
    assert [layer.name for layer in report.layers] == [
        "<root>:torch.relu",
        "layer1.0:F.relu#0",
        "layer1.0:F.relu#1",
        "layer1.1:F.relu#0",
        "layer1.1:F.relu#1",
    ]
    assert all(layer.site == "functional" and layer.units == 8 for layer in report.layers)
    assert report.layers[1].dead == [1, 6] and report.layers[1].samples == 3 * 4 * 36
    assert report.unreached == []


class EveryForm(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = torch.relu(x) + x.relu() + F.relu6(x)
        b = F.leaky_relu(x, 0.1) + F.gelu(x) + F.silu(x) + F.softplus(x) + F.elu(x)
        c = leaky_relu(x, 0.2) + F.relu(x.clone(), inplace=True) + x.clone().relu_()
        return a + b + c


def test_every_functional_form_is_intercepted_and_counted_exactly() -> None:
    x = torch.randn(64, 5)
    x[:, 2] = -x[:, 2].abs() - 0.1  # never positive
    model = EveryForm()
    with DeadUnitMonitor(model) as mon:
        model(x)
    report = mon.report()
    by_name = {layer.name: layer for layer in report.layers}
    assert sorted(by_name) == sorted(
        "<root>:" + n
        for n in [
            "torch.relu",
            "Tensor.relu",
            "F.relu6",
            "F.leaky_relu",
            "F.gelu",
            "F.silu",
            "F.softplus",
            "F.elu",
            "leaky_relu",  # leaky.leaky_relu on a tensor reaches torch's leaky_relu
            "F.relu",
            "Tensor.relu_",
        ]
    )
    expected = ((x > 0).sum(0).double() / 64).tolist()
    for layer in report.layers:
        assert layer.positive_fraction == expected, layer.name  # in place and sign-free too
        assert (layer.dead if layer.kind == "relu" else layer.negative_regime) == [2]
    assert by_name["<root>:F.leaky_relu"].kind == "leaky"
    assert by_name["<root>:F.gelu"].kind == "smooth"


def test_a_watched_layer_is_not_counted_again_as_its_functional_call() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), LeakyReLU(0.1))
    report = _run(model, (8, 3))
    assert [layer.name for layer in report.layers] == ["1", "3"]
    assert [layer.site for layer in report.layers] == ["module", "module"]


class Branchy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.relu(self.fc(x))  # a submodule call, not a functional relu
        h = leaky_relu(h, 0.1)  # not relu either
        if x.shape[0] > 10**6:  # never taken here
            h = F.gelu(h)
        return h


def test_sites_that_cannot_be_reached_are_listed_never_dropped() -> None:
    model = FunctionalResNet()
    with DeadUnitMonitor(nn.Sequential(model, nn.ReLU()), functional=False) as mon:
        mon.model(torch.randn(2, 3, 4, 4))
    report = mon.report()
    assert [layer.name for layer in report.layers] == ["1"]
    unreached = "\n".join(report.unreached)
    for name in ("0 (forward calls torch.relu", "0.layer1.0 (forward calls F.relu, F.relu"):
        assert name in unreached
    assert "functional calls are not watched" in unreached
    assert "not watched: 0.layer1.1" in str(report)

    branchy = Branchy()
    report = _run(branchy, (4, 3))
    assert [layer.name for layer in report.layers] == ["relu", "<root>:leaky_relu"]
    assert report.unreached == [
        "<root> (forward calls F.gelu, but no such call was seen: a branch not taken, or code "
        "run outside Python)"
    ]

    with torch_deprecations_ignored():
        scripted = nn.Sequential(nn.Linear(3, 3), torch.jit.script(nn.Sequential(nn.ReLU())))
        report = _run(scripted, (4, 3))
    assert report.unreached == [
        "1 (TorchScript: its activations run outside Python and cannot be watched)"
    ]


# ---------------------------------------------------------------------- measures (13.3)


def test_near_dead_and_dormancy_on_the_positive_part_compare_across_activations() -> None:
    n = 400
    x = -torch.rand(n, 5) * 10 - 1  # negative everywhere ...
    x[: n // 2, 0] = 1.0  # unit 0: positive on half the inputs
    x[0, 1] = 1.0  # unit 1: positive once in 400 (0.25 % < 1 %): near-dead
    # unit 2: never positive
    x[:, 3] = 1e-5  # unit 3: always positive, tiny: dormant, not near-dead
    x[: n // 2, 4] = 1.0  # unit 4: like unit 0 but with huge negative outputs under Leaky
    x[n // 2 :, 4] = -1e6
    reports = {}
    for act in (nn.ReLU(), LeakyReLU(0.1), nn.GELU()):
        model = nn.Sequential(nn.Identity(), act)
        with DeadUnitMonitor(model) as mon:
            model(x)
        reports[type(act).__name__] = layer = mon.report().layers[0]
        assert layer.near_dead == [1]
        assert layer.dormant == [1, 2, 3]
        assert layer.positive_fraction == [0.5, 1 / n, 0.0, 1.0, 0.5]
    relu, leaky = reports["ReLU"], reports["LeakyReLU"]
    assert relu.dead == [2] and leaky.negative_regime == [2] and leaky.dead == []
    # the dormancy score reads the positive part only: Leaky's -1e5 outputs are not activity
    assert leaky.dormancy == pytest.approx(relu.dormancy, rel=1e-12)
    assert relu.dormancy[4] == pytest.approx(relu.dormancy[0])


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_inf_are_counted_as_such_never_as_dead(bad: float) -> None:
    """Issue 9, item 11: a model fed NaN was '8 of 8 units dead — consider convert'."""
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), LeakyReLU(0.1))
    report = diagnose(model, [torch.full((16, 4), bad)])
    for layer in report.layers[1:] if bad == float("-inf") else report.layers:
        assert layer.nonfinite == list(range(8)) and layer.dead == [] and layer.dormant == []
        assert "produces NaN/inf in 8 of 8 units" in layer.sentence()
    text = str(report)
    assert "model: produces NaN/inf" in text and "leaky.monitor.revive" not in text
    console = Console(record=True, width=200)
    console.print(report)
    assert "produces NaN/inf" in console.export_text()
    # one bad unit among finite ones: only it is set apart
    model = nn.Sequential(nn.Identity(), nn.ReLU())
    x = torch.randn(32, 3)
    x[5, 1] = bad
    x[:, 2] = -1.0
    (layer,) = diagnose(model, [x]).layers
    assert layer.dead == [2] and layer.nonfinite == ([1] if bad != float("-inf") else [])


@pytest.mark.parametrize(
    "act",
    [
        nn.PReLU(3, init=-0.5),
        nn.LeakyReLU(-0.5),
        nn.LeakyReLU(-0.5, inplace=True),
        nn.ELU(alpha=-1.0),
        nn.RReLU(-0.5, -0.1),
    ],
)
def test_negative_slopes_are_counted_on_the_input(act: nn.Module) -> None:
    """Issue 9: torch allows negative slopes, so the output's sign is not the input's."""
    x = torch.tensor([[-1.0, 1.0, -2.0], [-3.0, 2.0, 4.0]])
    model = nn.Sequential(nn.Identity(), act)
    with DeadUnitMonitor(model) as mon:
        model(x.clone())
    (layer,) = mon.report().layers
    assert layer.positive_fraction == [0.0, 1.0, 0.5]
    assert layer.negative_regime == [0]


def test_negative_slopes_in_functional_calls_are_counted_on_the_input() -> None:
    class Net(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            w = torch.full((3,), -0.5)
            return F.leaky_relu(x, -0.5) + F.prelu(x, w) + F.leaky_relu(x.clone(), -0.5, True)

    x = torch.tensor([[-1.0, 1.0, -2.0], [-3.0, 2.0, 4.0]])
    report = _run_on(Net(), x)
    assert [layer.positive_fraction for layer in report.layers] == [[0.0, 1.0, 0.5]] * 3


def _run_on(model: nn.Module, x: torch.Tensor) -> MonitorReport:
    with DeadUnitMonitor(model) as mon:
        model(x)
    return mon.report()


# -------------------------------------------------------- counting: exact, every layout


def _reference(t: torch.Tensor, dim: int) -> tuple[list[int], list[int], list[int], torch.Tensor]:
    t64 = t.double() if t.ndim > 1 else t.double()[None]
    dim = dim if t.ndim > 1 else 1
    other = tuple(d for d in range(t64.ndim) if d != dim)
    return (
        (t64 > 0).sum(other).tolist(),
        (t64 == 0).sum(other).tolist(),
        (~torch.isfinite(t64)).sum(other).tolist(),
        torch.where(t64 > 0, t64, 0).sum(other),
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
@pytest.mark.parametrize(
    ("shape", "dim", "layout"),
    [
        ((37, 11), 1, "contiguous"),  # Linear: the rows loop (37 rows: a tail of 1)
        ((5, 7, 11), 2, "contiguous"),  # tokens
        ((4, 6, 5, 3), 1, "contiguous"),  # NCHW: the planes loop
        ((4, 6, 5, 3), 1, "channels_last"),  # NHWC memory: the rows loop on a view
        ((4, 6, 5, 3), 3, "contiguous"),  # unit_dim=-1
        ((9, 11), 1, "strided"),  # a non-contiguous view: PyTorch's reductions
        ((13,), 0, "contiguous"),
    ],
)
def test_counts_are_exact_on_every_path(
    dtype: torch.dtype, shape: tuple[int, ...], dim: int, layout: str
) -> None:
    from leaky.monitor._counting import _count

    g = torch.Generator().manual_seed(1)
    t = torch.randn(*shape, generator=g) * 3
    t[t.abs() < 0.5] = 0.0
    flat = t.view(-1)
    flat[::7] = float("nan")
    flat[3::11] = float("inf")
    flat[5::13] = float("-inf")
    t = t.to(dtype)
    if layout == "channels_last":
        t = t.contiguous(memory_format=torch.channels_last)
    elif layout == "strided":
        t = torch.randn(shape[1], shape[0]).to(dtype).t()
    units = t.shape[dim]
    counts = torch.zeros(3, units, dtype=torch.int64)
    sums = torch.zeros(units, dtype=torch.float64)
    for _ in range(2):  # accumulates
        _count(t, dim, counts, sums, True, True, (counts.numpy(), sums.numpy()))
    positive, zeros, bad, total = _reference(t, dim)
    assert counts[0].tolist() == [2 * p for p in positive]
    assert counts[1].tolist() == [2 * z for z in zeros]
    assert counts[2].tolist() == [2 * b for b in bad]
    finite = torch.tensor(bad) == 0
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert torch.allclose(sums[finite], 2 * total[finite], rtol=tol, atol=tol)


# ------------------------------------------------------------------- memory (issue 10)


def _allocations(model: nn.Module, x: torch.Tensor) -> tuple[int, int]:
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        model(x)
    sizes = [e.cpu_memory_usage for e in prof.events() if e.cpu_memory_usage > 0]
    return len(sizes), sum(sizes)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_memory_is_o_units_and_nothing_per_batch() -> None:
    """Measured, not inferred from the accumulator's shape: PyTorch's allocation events of
    a monitored forward equal an unmonitored one's, at batch 64 and 4096, for a layer site,
    a functional site and a convolution; the monitor's state is 3 int64 + 1 float64 per
    unit."""

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.fc = nn.Linear(8 * 16, 64)
            self.relu = nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = F.gelu(self.conv(x)).flatten(1)
            return self.relu(self.fc(h))

    model = Net()
    for batch in (64, 4096):
        x = torch.randn(batch, 3, 4, 4)
        plain = _allocations(model, x)
        with DeadUnitMonitor(model) as mon:
            model(x)  # the first batch makes the accumulators
            watched = _allocations(model, x)
        assert watched == plain, batch
        assert mon.report().batches == 2
    state = mon.state_dict()["groups"]
    sizes = {
        name: [s["counts"].numel() + s["sums"].numel() for s in g["sites"]]
        for name, g in state.items()
    }
    assert sizes == {"<root>:F.gelu": [4 * 8], "relu": [4 * 64]}


def test_batch_counts_a_training_step_that_calls_the_models_parts() -> None:
    model = nn.Sequential(_mlp(nn.ReLU()))  # the step below calls the inner part only
    monitor = DeadUnitMonitor(model)
    with pytest.raises(RuntimeError, match=r"batch\(\) needs an active monitor"), monitor.batch():
        pass
    with monitor:
        for x in _batches(3):
            model[0](x)  # outside the model's forward: not a batch of the model
        assert monitor.report().batches == 0 and monitor.report().layers[0].units == 0
        for x in _batches(3):
            with monitor.batch():
                model[0](x)
    report = monitor.compute()  # torchmetrics' name for report()
    assert report.batches == 3 and report.layers[0].dead == PLANTED


@pytest.mark.parametrize("shape", [(1031, 129), (9, 33, 37, 41)])  # rows, and planes
def test_large_activations_are_counted_exactly_on_pytorchs_thread_team(
    shape: tuple[int, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large activations are split over PyTorch's own OpenMP team (never a second pool);
    the counts stay exact, NaN and ±inf included."""
    from leaky import _openmp, monitor
    from leaky.monitor._counting import _count

    monkeypatch.setattr(monitor._counting, "_TEAM_MIN_BYTES", 1 << 17)  # these are 0.5 MiB
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        team = _openmp.team()
        assert team is not None  # PyTorch's Linux wheels run an OpenMP team
        runs: list[tuple[int, int]] = []
        original = type(team).run

        def run(self: _openmp.Team, function: int, data: int) -> None:
            runs.append((function, data))
            original(self, function, data)

        monkeypatch.setattr(type(team), "run", run)
        g = torch.Generator().manual_seed(2)
        t = torch.randn(*shape, generator=g)
        t[t.abs() < 0.3] = 0.0
        flat = t.view(-1)
        flat[::1009] = float("nan")
        flat[5::2003] = float("inf")
        flat[7::3001] = float("-inf")
        counts = torch.zeros(3, shape[1], dtype=torch.int64)
        sums = torch.zeros(shape[1], dtype=torch.float64)
        _count(t, 1, counts, sums, True, True, (counts.numpy(), sums.numpy()))
        assert len(runs) == 1
    finally:
        torch.set_num_threads(threads)
    positive, zeros, bad, total = _reference(t, 1)
    assert counts.tolist() == [positive, zeros, bad]
    finite = torch.tensor(bad) == 0
    assert torch.allclose(sums[finite], total[finite], rtol=1e-5)


# ------------------------------------------------------------- threads (issue 20, item 5)


def test_threads_count_as_one_thread_would() -> None:
    """8 threads x 20 calls of one model inside the monitor report what one thread running
    the same 160 batches reports: the same sites, the same exact counts."""
    import threading

    data = _batches(160, seed=3)
    model = _mlp(nn.ReLU())
    with DeadUnitMonitor(model) as alone:
        for x in data:
            model(x)
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            start.wait()
            for x in data[k * 20 : (k + 1) * 20]:
                model(x)
        except BaseException as err:  # reported below: a thread's error must fail the test
            errors.append(err)

    with DeadUnitMonitor(model) as threaded:
        workers = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert errors == []
    one, many = alone.report().to_dict(), threaded.report().to_dict()
    # the positive parts' float64 sums are added in another order: equal to rounding
    for layer_one, layer_many in zip(one["layers"], many["layers"], strict=True):
        assert layer_many.pop("dormancy") == pytest.approx(layer_one.pop("dormancy"), rel=1e-12)
    assert many == one
    assert threaded.report().dead == 3 and len(threaded.report().layers) == 1


def test_functional_sites_are_discovered_once_under_threads() -> None:
    import threading

    data = _batches(64, seed=4)
    model = _mixed()
    with DeadUnitMonitor(model) as alone:
        for x in data:
            model(x)
    with DeadUnitMonitor(model) as threaded:
        workers = [
            threading.Thread(target=lambda k=k: [model(x) for x in data[k::4]]) for k in range(4)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    one, many = alone.report(), threaded.report()
    assert [layer.name for layer in many.layers] == [layer.name for layer in one.layers]
    assert many.batches == one.batches == 64
    for a, b in zip(one.layers, many.layers, strict=True):
        assert (a.units, a.samples, a.positive_fraction, a.nonfinite) == (
            b.units,
            b.samples,
            b.positive_fraction,
            b.nonfinite,
        )


# ------------------------------------------------------- load_state_dict (issue 20, item 8)


def _state_of(model: nn.Module, shape: tuple[int, ...]) -> dict:
    with DeadUnitMonitor(model) as mon:
        model(torch.randn(*shape))
    return mon.state_dict()


def test_load_state_dict_refuses_another_models_state() -> None:
    relu = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    state = _state_of(relu, (8, 6))
    tanh = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU())
    with pytest.raises(ValueError, match=r"^The state does not fit this model: site '1' ") as err:
        DeadUnitMonitor(tanh).load_state_dict(state)
    assert "\n" not in str(err.value)
    wide = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 3))
    with pytest.raises(ValueError, match=r"site '1' has 16 units in the state and 32 in "):
        DeadUnitMonitor(wide).load_state_dict(state)
    leaky_model = nn.Sequential(nn.Linear(6, 16), LeakyReLU(0.1), nn.Linear(16, 3))
    with pytest.raises(ValueError, match=r"site '1' is a 'relu' site \(ReLU\) in the state and"):
        DeadUnitMonitor(leaky_model).load_state_dict(state)
    functional = _state_of(_mixed(), (4, 6))
    with pytest.raises(ValueError, match=r"site '<root>:F.relu' "):
        DeadUnitMonitor(_mixed(), functional=False).load_state_dict(functional)
    # the same architecture loads, before and after a batch of its own
    fresh = DeadUnitMonitor(nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3)))
    fresh.load_state_dict(state)
    assert fresh.report().layers[0].units == 16
    used = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    with DeadUnitMonitor(used) as mon:
        used(torch.randn(2, 6))
    mon.load_state_dict(state)
    assert mon.report().batches == 1
    DeadUnitMonitor(_mixed()).load_state_dict(functional)


def test_a_loaded_state_that_meets_other_units_says_so() -> None:
    """Where the units could not be known when loading (an activation fed by a layer the
    monitor cannot size), the first batch that does not fit names the loaded state."""

    class Net(nn.Module):
        def __init__(self, width: int) -> None:
            super().__init__()
            self.fc = nn.Linear(6, width)
            self.act = nn.ReLU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.act(self.fc(x))

    state = _state_of(Net(16), (4, 6))
    other = Net(32)
    mon = DeadUnitMonitor(other)
    mon.load_state_dict(state)
    with mon, pytest.raises(ValueError, match=r"the state loaded by load_state_dict\(\)"):
        other(torch.randn(4, 6))


# -------------------------------------------------------- channels of Conv1d (item 9)


def _conv1d(act: nn.Module) -> nn.Sequential:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(3, 8, 3, padding=1), act, nn.Flatten(), nn.Linear(8 * 40, 2))
    with torch.no_grad():
        model[0].bias[[1, 6]] = -1e3
    return model


@pytest.mark.parametrize("act", [nn.ReLU(), nn.ReLU(inplace=True), LeakyReLU(0.0), nn.PReLU()])
def test_conv1d_counts_channels_not_positions(act: nn.Module) -> None:
    report = _run(_conv1d(act), (4, 3, 40))
    (layer,) = report.layers
    assert layer.units == 8 and layer.samples == 5 * 4 * 40
    assert (layer.unit, layer.unit_dim) == ("channel", 1)
    if layer.kind == "relu":
        assert layer.dead == [1, 6]
        assert "2 of 8 channels dead (25%)" in layer.sentence()
    else:
        assert layer.negative_regime == [1, 6]


def test_the_unit_axis_follows_the_producing_layer() -> None:
    """A Conv1d's (N, C, L) counts channels; a Linear's (N, L, F) and a bare activation's
    3-d tensor count features (the last axis), and the report says which."""

    class Net(nn.Module):  # one activation layer fed by both, registered after the Linear
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv1d(3, 8, 3, padding=1)
            self.norm = nn.BatchNorm1d(8)
            self.fc = nn.Linear(40, 5)
            self.act = nn.ReLU()
            self.gelu = nn.GELU()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            c = self.act(self.norm(self.conv(x)))  # (N, 8, 40): 8 channels
            f = self.act(self.fc(x))  # (N, 3, 5): 5 features
            b = self.gelu(x)  # a bare activation on (N, 3, 40): 40 features
            return c.sum() + f.sum() + b.sum()

    report = _run(Net(), (4, 3, 40), batches=2)
    got = {layer.name: (layer.units, layer.unit, layer.unit_dim) for layer in report.layers}
    assert got == {
        "act#0": (8, "channel", 1),
        "act#1": (5, "feature", 2),
        "gelu": (40, "feature", 2),
    }
    assert "all 5 units alive" in str(report) and "all 8 channels alive" in str(report)
    # diagnose (no gradients, eval mode) decides the same way
    with torch.no_grad():
        again = diagnose(Net(), [torch.randn(4, 3, 40)])
    assert [(layer.units, layer.unit) for layer in again.layers] == [
        (8, "channel"),
        (5, "feature"),
        (40, "feature"),
    ]


def test_the_unit_axis_survives_a_checkpoint() -> None:
    model = _conv1d(nn.ReLU())
    state = _state_of(model, (4, 3, 40))
    resumed = DeadUnitMonitor(_conv1d(nn.ReLU()))
    resumed.load_state_dict(state)
    (layer,) = resumed.report().layers
    assert (layer.units, layer.unit, layer.unit_dim) == (8, "channel", 1)
    assert layer.dead == [1, 6]


# ------------------------------------------------------ the kernels' disk cache (item 16)


def test_the_counting_kernels_come_from_numbas_disk_cache(tmp_path) -> None:
    """A second process with the same NUMBA_CACHE_DIR compiles none of the monitor's loops:
    each is loaded from the cache the first process wrote."""
    import os
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import json, torch
        from torch import nn
        from leaky.monitor import DeadUnitMonitor, _counting
        model = nn.Sequential(
            nn.Conv1d(3, 4, 1), nn.ReLU(), nn.Flatten(), nn.Linear(24, 16), nn.ReLU()
        )
        with DeadUnitMonitor(model) as mon:
            model(torch.randn(4, 3, 6))
            model.double()(torch.randn(4, 3, 6, dtype=torch.float64))
        assert mon.report().batches == 2
        kernels = _counting._kernels()
        stats = {}
        for name, kernel in kernels.items():
            if hasattr(kernel, "stats"):
                stats[name] = [sum(kernel.stats.cache_hits.values()),
                               sum(kernel.stats.cache_misses.values())]
        stats["block"] = [getattr(kernels.get("block_cfunc"), "cache_hits", 0), 0]
        print(json.dumps(stats))
        """
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    runs = []
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
        )
        assert result.returncode == 0, result.stdout + result.stderr
        runs.append(json.loads(result.stdout.strip().splitlines()[-1]))
    first, second = runs
    assert all(first[name][1] > 0 for name in ("rows", "planes_part", "merge")), first
    assert all(misses == 0 for hits, misses in second.values()), second  # nothing compiled
    assert all(second[name][0] > 0 for name in ("rows", "planes_part", "merge")), second
    assert second["block"][0] > 0, second  # the team's C entry point, loaded too


# ------------------------------------------------ the PyTorch user's second day (issue 24)


def test_hints_name_revive_and_say_what_the_negative_regime_means() -> None:
    dead = LayerReport("1", "relu", "ReLU", 16, 100, dead=[2, 5, 11], dormant=[2, 5, 11])
    dormant = LayerReport("1", "relu", "ReLU", 16, 100, dormant=[4])
    near = LayerReport("1", "relu", "ReLU", 16, 100, near_dead=[4])
    leaky_never = LayerReport("1", "leaky", "LeakyReLU", 16, 100, negative_regime=[3])
    leaky_near = LayerReport("1", "leaky", "LeakyReLU", 16, 100, near_dead=[3], dormant=[3])
    gelu_never = LayerReport("1", "smooth", "GELU", 16, 100, negative_regime=[3])
    for layer in (dead, dormant, near, leaky_never, leaky_near, gelu_never):
        text = layer.sentence()
        assert "leaky.monitor.revive" in text and "claim 2b" in text, text
        assert "leaky.nn.convert" not in text and "alive" not in text, text
    assert "after a bias shock it brought such units back" in dead.sentence()
    assert 'units="near_dead"' in near.sentence()
    for layer in (leaky_never, leaky_near):  # in the negative regime, and what that means
        text = layer.sentence()
        assert "in the negative regime" in text
        assert "still learn, with their gradient scaled by the slope" in text
        assert "keep_function=False" in text
    assert "GELU's small gradient below zero" in gelu_never.sentence()


def test_the_revive_hint_follows_the_stored_study() -> None:
    # The hints say: after a bias shock under plain SGD ReDo brought units back and Leaky
    # ReLU 0.01 did not; under Adam Leaky 0.01 brought most back (claim 2b). The standard
    # run in docs/results.json must show that, or the hint must change; its numbers stay
    # in the study (the report and the README's table).
    from pathlib import Path
    from statistics import mean

    results = Path(__file__).resolve().parents[2] / "docs" / "results.json"
    revival = {r["arm"]: r for r in json.loads(results.read_text())["results"]["dying"]["revival"]}
    near_dead = {arm: mean(r["end"]) for arm, r in revival.items()}
    accuracy = {arm: mean(r["test_acc"]) for arm, r in revival.items()}
    assert near_dead["relu+redo"] < 10 < 90 < min(near_dead["relu"], near_dead["leaky"])
    assert accuracy["relu+redo"] > accuracy["leaky"] + 20
    dying = json.loads(results.read_text())["results"]["dying"]
    shocks = {s["name"]: s["optimizer"] for s in dying["config"]["settings"] if s["shock"]}
    back = {
        (shocks[a["setting"]], a["arm"]): mean(a["recovered"])
        for a in dying["arms"]
        if a["setting"] in shocks and a["arm"] == 0.01
    }
    assert back[("sgd", 0.01)] < 10 and back[("adam", 0.01)] > 50  # per cent


class _Tail(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3), nn.GELU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.net(x))  # a functional site, intercepted


@pytest.mark.parametrize("model_type", [nn.Sequential, _Tail])
def test_monitor_under_torch_compile_warns_nothing_and_counts_as_eager(model_type: type) -> None:
    torch.manual_seed(0)
    if model_type is nn.Sequential:
        model: nn.Module = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3), nn.GELU())
        first = model[0]
    else:
        model = _Tail()
        first = model.net[0]
    with torch.no_grad():
        first.bias[PLANTED] = -1e3
    xs = [torch.randn(32, 6, generator=torch.Generator().manual_seed(i)) for i in range(6)]
    compiled = torch.compile(model, backend="eager")
    # Recorded, not raised: torch itself raises "The .grad attribute of a Tensor that is
    # not a leaf" under warnings-as-errors at any graph break (a plain model with
    # torch._dynamo.graph_break() does too), where a user's run shows nothing; recording
    # every warning checks what a user would see: none.
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with DeadUnitMonitor(compiled) as mon:
            for x in xs:
                compiled(x).sum().backward()
    assert [str(w.message) for w in seen] == []
    with DeadUnitMonitor(model) as eager:
        for x in xs:
            model(x).sum().backward()
    report, expected = mon.report(), eager.report()
    assert [layer.name for layer in report.layers] == [layer.name for layer in expected.layers]
    assert not any("_orig_mod" in layer.name for layer in report.layers)
    assert report.to_dict()["layers"] == expected.to_dict()["layers"]
    assert report.batches == expected.batches == len(xs) and report.layers[0].dead == PLANTED


def test_a_monitor_never_entered_warns_once_on_report() -> None:
    model = _mlp(nn.ReLU())
    mon = DeadUnitMonitor(model)
    model(torch.randn(8, 6))  # outside any `with`: nothing is counted
    with pytest.warns(UserWarning, match=r"never started.*with DeadUnitMonitor\(model\) as mon"):
        assert mon.report().batches == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mon.report()  # once
        used = DeadUnitMonitor(model)
        with used:
            pass
        used.report()  # entered, even with no batch: no warning


def test_rich_table_folds_long_layer_names_instead_of_cutting_them() -> None:
    name = "encoder.stage_three.residual_block_eleven.feed_forward_network.activation"
    inner = nn.Sequential(nn.Linear(6, 16), nn.ReLU())
    report = MonitorReport([_run(inner, (8, 6)).layers[0]], 1, 0.025)
    report.layers[0].name = name
    out = io.StringIO()
    Console(width=60, file=out, force_terminal=False).print(report)
    lines = out.getvalue().splitlines()
    cells = [line.split("│")[1].strip() for line in lines if line.count("│") > 2]
    assert name in "".join(cells)  # the name whole, across lines
    assert all(len(line) <= 60 for line in lines) and "…" not in out.getvalue().split("\n\n")[0]


def test_report_html_escapes_every_name() -> None:
    report = _run(_mlp(nn.ReLU()), (32, 6))
    report.layers[0].name = "<script>alert(1)</script>"
    page = report._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<tr>") == 2 and "<th>dead</th>" in page and "3 (19%)" in page


def test_plot_history_draws_the_snapshots_without_pyplot() -> None:
    import sys

    from matplotlib.figure import Figure

    model = _mlp(nn.ReLU())
    mon = DeadUnitMonitor(model)
    with pytest.raises(ValueError, match="needs snapshots"):
        mon.plot_history()
    with mon:
        for step in (10, 20):
            model(torch.randn(32, 6))
            mon.snapshot(step=step)
    fig = mon.plot_history()
    assert isinstance(fig, Figure)
    model_axes, sites = fig.axes
    dead = next(line for line in model_axes.get_lines() if line.get_label() == "dead")
    assert list(dead.get_xdata()) == [10, 20]
    assert list(dead.get_ydata()) == pytest.approx([100 * 3 / 16] * 2)
    assert [line.get_label() for line in sites.get_lines()] == ["1"]
    assert (
        "matplotlib.pyplot" not in sys.modules or not sys.modules["matplotlib.pyplot"].get_fignums()
    )
    assert [h["step"] for h in mon.history] == [10, 20]
