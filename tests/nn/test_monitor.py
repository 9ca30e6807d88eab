"""DeadUnitMonitor finds exactly the planted dead units, changes nothing, and cleans up."""

from __future__ import annotations

import json

import pytest
import torch
from rich.console import Console
from torch import nn

from leaky.monitor import DeadUnitMonitor, diagnose
from leaky.nn import LeakyReLU

PLANTED = [2, 5, 11]


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


@pytest.mark.parametrize("act", [nn.ReLU(), nn.ReLU(inplace=True), nn.ReLU6()])
def test_planted_dead_units_in_linear_layers_are_found_exactly(act: nn.Module) -> None:
    report = _run(_mlp(act), (32, 6))
    (layer,) = report.layers
    assert layer.dead == PLANTED
    assert layer.negative_regime == []
    assert layer.units == 16 and layer.samples == 5 * 32
    assert report.batches == 5
    assert "3 of 16 units dead (19%) — consider leaky.nn.convert" in layer.sentence()


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
    assert _run(model, (64, 6)).layers[0].dormant == PLANTED  # tau = 0: dead only


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


def test_memory_is_o_units_not_o_activations() -> None:
    model = _mlp(nn.ReLU())
    with DeadUnitMonitor(model) as mon:
        for _ in range(50):
            model(torch.randn(256, 6))
        (site,) = mon._layers[0].sites
    assert site.acc is not None and site.acc.shape == (3, 16)  # O(units), whatever the window
    assert len(mon._layers[0].sites) == 1


def test_reset_snapshot_history_and_callback() -> None:
    model = _mlp(nn.ReLU())
    seen = []
    with DeadUnitMonitor(model, on_snapshot=seen.append) as mon:
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
    assert len(seen) == 3


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
        DeadUnitMonitor(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="not part of the model"):
        DeadUnitMonitor(model, modules=[nn.ReLU()])
    with pytest.raises(TypeError, match=r"must be a torch\.nn\.Module"):
        DeadUnitMonitor("model")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'tau' parameter"):
        DeadUnitMonitor(model, tau=-1)


def test_report_renders_as_dict_json_and_rich_table() -> None:
    report = _run(_mlp(nn.ReLU()), (32, 6))
    data = json.loads(report.to_json())
    assert data["dead"] == 3 and data["units"] == 16
    assert data["layers"][0]["dead"] == PLANTED
    console = Console(record=True, width=120)
    console.print(report)
    text = console.export_text()
    assert "Dead-unit report" in text and "3 (19%)" in text
    assert "consider leaky.nn.convert" in text


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
