"""leaky.monitor.revive: ReDo (Sokar et al. 2023) on the units a report finds."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from leaky.monitor import DeadUnitMonitor, LayerReport, MonitorReport, revive
from leaky.nn import LeakyReLU

PLANTED = [2, 5, 11]


def _report(model: nn.Module, x: torch.Tensor, **kw: object) -> MonitorReport:
    with DeadUnitMonitor(model, **kw) as mon:  # type: ignore[arg-type]
        model(x)
    return mon.report()


def _x(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(5))


def test_revival_keeps_the_function_and_the_units_are_live_again() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.0), nn.Linear(16, 3))
    with torch.no_grad():
        model[0].bias[PLANTED] = -1e3
    x = _x(256, 6)
    report = _report(model, x)
    assert report.layers[0].dead == PLANTED
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out = model(x).detach()
    revived = revive(model, report, generator=torch.Generator().manual_seed(1))
    assert revived == {"1": PLANTED}
    assert torch.allclose(model(x), out, rtol=0, atol=1e-6)  # the same function
    keep = [u for u in range(16) if u not in PLANTED]
    after = model.state_dict()
    assert torch.equal(after["0.weight"][keep], before["0.weight"][keep])  # others untouched
    assert torch.equal(after["0.bias"][keep], before["0.bias"][keep])
    assert not torch.equal(after["0.weight"][PLANTED], before["0.weight"][PLANTED])
    assert torch.equal(after["3.weight"][:, PLANTED], torch.zeros(3, 3))  # outgoing zeroed
    assert torch.equal(after["3.weight"][:, keep], before["3.weight"][:, keep])
    again = _report(model, x)  # the next monitored pass: alive
    assert again.layers[0].dead == [] and again.layers[0].dormant == []


def test_revival_of_conv_channels_read_through_flatten() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 4, 3, padding=1),
        LeakyReLU(0.1),
        nn.Flatten(),
        nn.Linear(4 * 25, 2),
    )
    with torch.no_grad():
        model[0].bias[[1, 6]] = -1e3
        model[2].bias[[0, 3]] = -1e3
    x = _x(16, 3, 5, 5)
    report = _report(model, x)
    assert report.layers[0].dead == [1, 6] and report.layers[1].negative_regime == [0, 3]
    out = model(x).detach()
    with pytest.raises(ValueError, match="site '3' is LeakyReLU: its negative outputs reach"):
        revive(model, report, units="never_positive")
    assert torch.equal(model(x), out)  # refused before any weight changed
    revived = revive(model, report, units="never_positive", keep_function=False)
    assert revived == {"1": [1, 6], "3": [0, 3]}
    columns = [c for unit in (0, 3) for c in range(unit * 25, unit * 25 + 25)]
    assert torch.equal(model[5].weight[:, columns], torch.zeros(2, 50))
    # conv -> conv: channels 1 and 6 are no longer read, except by the rows of channels 0
    # and 3 of the next layer, revived in turn (new rows; their own outputs are not read)
    assert torch.equal(model[2].weight[[1, 2]][:, [1, 6]], torch.zeros(2, 2, 3, 3))
    again = _report(model, x)
    assert again.layers[0].dead == [] and again.layers[1].negative_regime == []


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_revival_resets_the_optimizer_state_of_the_revived_weights(optimizer: str) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = (
        torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        if optimizer == "sgd"
        else torch.optim.Adam(model.parameters())
    )
    model(_x(8, 6)).sum().backward()
    opt.step()
    with torch.no_grad():
        model[0].bias[PLANTED] = -1e3
    revive(model, _report(model, _x(64, 6)), optimizer=opt)
    for name, param in model.named_parameters():
        for value in opt.state[param].values():
            if not isinstance(value, torch.Tensor) or value.shape != param.shape:
                continue
            if name.startswith("0."):
                assert torch.equal(value[PLANTED], torch.zeros_like(value[PLANTED]))
                assert bool(value[[0, 1]].abs().sum() > 0)
            elif name == "2.weight":
                assert torch.equal(value[:, PLANTED], torch.zeros(3, 3))


class Custom(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inp, self.out = nn.Linear(4, 8), nn.Linear(8, 2)
        self.act = nn.ReLU()
        self.norm = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.act(self.inp(x))) + self.norm(x)


def _rows(*names: str, units: int = 8) -> MonitorReport:
    """A report with one dormant unit (unit 0) per site."""
    layers = [LayerReport(n, "relu", "ReLU", units, 10, dormant=[0]) for n in names]
    return MonitorReport(layers, 1, 0.1)


def test_unsupported_sites_are_refused_before_any_weight_changes() -> None:
    model = Custom()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=r"cannot pair site 'act'.*layers=\{site"):
        revive(model, _rows("act"))
    with pytest.raises(ValueError, match=r"\(BatchNorm1d before the activation\)"):
        revive(model, _rows("norm.2", units=4))
    with pytest.raises(ValueError, match="functional and multiply-called sites need layers="):
        revive(model, _rows("<root>:F.relu"))
    with pytest.raises(ValueError, match="'units' parameter of revive must be one of"):
        revive(model, _rows("act"), units="zombie")  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="no module named 'nope'"):
        revive(model, _rows("act"), layers={"act": ("nope", "out")})
    with pytest.raises(ValueError, match="has 8 units but its incoming layer Linear has 4"):
        revive(model, _rows("act"), layers={"act": ("norm.0", "out")})
    with pytest.raises(ValueError, match="outgoing layer of site 'act' must be a Linear"):
        revive(model, _rows("act"), layers={"act": ("inp", "norm.1")})
    # one bad site refuses the whole call: nothing changed, the good site included
    with pytest.raises(ValueError, match=r"cannot pair site 'norm\.2'"):
        revive(model, _rows("act", "norm.2"), layers={"act": ("inp", "out")})
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_named_pairs_revive_what_the_search_cannot() -> None:
    torch.manual_seed(0)
    model = Custom()
    with torch.no_grad():
        model.inp.bias[:3] = -1e3
    x = _x(32, 4)
    out = model(x).detach()
    report = _report(model, x, modules=["act"])
    assert report.layers[0].dead == [0, 1, 2]
    assert revive(model, report, layers={"act": ("inp", "out")}) == {"act": [0, 1, 2]}
    assert torch.allclose(model(x), out, rtol=0, atol=1e-6)
    assert _report(model, x, modules=["act"]).layers[0].dead == []
