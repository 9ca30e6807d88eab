"""leaky.monitor.revive: ReDo (Sokar et al. 2023) on the units a report finds."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from leaky.monitor import DeadUnitMonitor, LayerReport, MonitorReport, revive
from leaky.nn import LeakyReLU
from tests.nn.models import MLPBlock, ResNet18

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


class Untraceable(Custom):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:  # data-dependent control flow: torch.fx cannot trace it
            x = x * 1.0
        return super().forward(x)


def test_unsupported_sites_are_refused_before_any_weight_changes() -> None:
    """Where fx cannot trace the model, only the Sequential search (or layers=) pairs."""
    model = Untraceable()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=r"cannot pair site 'act'.*layers=\{site") as err:
        revive(model, _rows("act"))
    assert "torch.fx cannot trace the model (TraceError: symbolically traced" in str(err.value)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match=r"\(BatchNorm1d before the activation\)"):
        revive(model, _rows("norm.2", units=4))
    with pytest.raises(ValueError, match="functional and multiply-called sites need layers="):
        revive(model, _rows("<root>:F.relu"))
    with pytest.raises(ValueError, match="'units' parameter of revive must be one of"):
        revive(model, _rows("act"), units="zombie")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'on_refused' parameter of revive must be one of"):
        revive(model, _rows("act"), on_refused="skip")  # type: ignore[arg-type]
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
    model = Untraceable()
    with torch.no_grad():
        model.inp.bias[:3] = -1e3
    x = _x(32, 4)
    out = model(x).detach()
    report = _report(model, x, modules=["act"])
    assert report.layers[0].dead == [0, 1, 2]
    assert revive(model, report, layers={"act": ("inp", "out")}) == {"act": [0, 1, 2]}
    assert torch.allclose(model(x), out, rtol=0, atol=1e-6)
    assert _report(model, x, modules=["act"]).layers[0].dead == []


def _tied() -> nn.Module:
    a, b = nn.Linear(8, 8), nn.Linear(8, 8)
    b.weight = a.weight
    return nn.Sequential(a, nn.ReLU(), b)


def _shared_linear() -> nn.Module:
    lin = nn.Linear(8, 8)
    return nn.Sequential(lin, nn.ReLU(), lin)


def _tokens() -> nn.Module:  # Linear on (batch, 4 positions, 6) -> ReLU -> Flatten -> Linear
    return nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Flatten(), nn.Linear(24, 2))


@pytest.mark.parametrize(
    ("make", "units", "message"),
    [
        (_shared_linear, 8, r"site '1'.*one module, nn\.Linear, is both its incoming and"),
        (_tied, 8, r"site '1'.*shares its weight with another layer \(tied weights\)"),
        (_tokens, 6, r"site '1'.*Linear applied to inputs of more than 2 dimensions"),
    ],
)
def test_sites_where_revival_would_change_the_function_are_refused(make, units, message) -> None:
    """Issue 20, item 6: each of these changed the network's function silently."""
    torch.manual_seed(0)
    model = make()
    before = {k: v.clone() for k, v in model.state_dict(keep_vars=False).items()}
    report = MonitorReport([LayerReport("1", "relu", "ReLU", units, 10, dormant=[0, 3])], 1, 0.1)
    with pytest.raises(ValueError, match=message) as err:
        revive(model, report)
    assert "\n" not in str(err.value)
    after = model.state_dict()
    assert all(torch.equal(v, before[k]) for k, v in after.items())


# ------------------------------------------------------- any model torch.fx can trace


class MLP(nn.Module):
    """fc1 -> act -> fc2 in a hand-written forward (no nn.Sequential)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


def test_a_custom_forward_is_paired_from_its_graph() -> None:
    torch.manual_seed(0)
    model = MLP()
    with torch.no_grad():
        model.fc1.bias[PLANTED] = -1e3
    x = _x(256, 6)
    report = _report(model, x)
    assert report.layers[0].dead == PLANTED
    out = model(x).detach()
    before = model.fc1.weight.detach().clone()
    assert revive(model, report, generator=torch.Generator().manual_seed(1)) == {"act": PLANTED}
    assert torch.allclose(model(x), out, rtol=0, atol=1e-6)
    assert torch.equal(model.fc2.weight[:, PLANTED], torch.zeros(3, 3))
    assert not torch.equal(model.fc1.weight[PLANTED], before[PLANTED])
    assert _report(model, x).layers[0].dead == []


def _calibrated_resnet() -> tuple[nn.Module, torch.Tensor]:
    """A ResNet-18 whose BatchNorms hold the data's statistics (no unit dead), in eval."""
    torch.manual_seed(0)
    model = ResNet18()
    x = torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = None  # the running statistics: the batch's own
    with torch.no_grad():
        model(x)
    return model.eval(), x


# channels pushed below zero by a BatchNorm bias; the first four feed a block's conv2 (or
# the next block's convs) only, the last two cannot be revived (their output, or their
# input, is a residual add)
SHOCK = {
    "layer1.0.bn1": [3, 17],
    "layer2.1.bn1": [5],
    "layer3.0.bn1": [0, 100],
    "layer4.1.bn1": [7],
    "bn1": [9],
    "layer2.0.bn2": [4],
}
REVIVABLE = {
    "layer1.0.relu#0": [3, 17],
    "layer2.1.relu#0": [5],
    "layer3.0.relu#0": [0, 100],
    "layer4.1.relu#0": [7],
}


def _eval_report(model: nn.Module, x: torch.Tensor) -> MonitorReport:
    with torch.no_grad(), DeadUnitMonitor(model, count_eval=True) as mon:
        model(x)
    return mon.report()


def test_resnet18_after_a_bias_shock_is_revived_where_it_can_be() -> None:
    """Eval mode throughout: BatchNorm then uses its running statistics, so a forward is
    a fixed function that does not change the model (train mode is checked on copies)."""
    model, x = _calibrated_resnet()
    assert _eval_report(model, x).dead == 0
    named = dict(model.named_modules())
    with torch.no_grad():
        for name, channels in SHOCK.items():
            named[name].bias[channels] = -1e3
    report = _eval_report(model, x)
    dead = {layer.name: layer.dead for layer in report.layers if layer.dead}
    assert dead == {**REVIVABLE, "relu": [9], "layer2.0.relu#1": [4]}
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        out = model(x)
    trained = copy.deepcopy(model).train()
    # the default refuses the whole call, naming every site it cannot revive and why
    with pytest.raises(ValueError, match="revive refused 2 sites and changed nothing") as err:
        revive(model, report, units="dead")
    assert "site 'relu' cannot be revived: its output flows into add" in str(err.value)
    assert "site 'layer2.0.relu#1' cannot be revived: its input comes from add" in str(err.value)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    with pytest.warns(UserWarning, match="revive left 2 site") as caught:
        revived = revive(model, report, units="dead", on_refused="warn")
    assert "'relu'" in str(caught[0].message) and "'layer2.0.relu#1'" in str(caught[0].message)
    assert revived == REVIVABLE
    with torch.no_grad():
        assert torch.allclose(model(x), out, rtol=0, atol=1e-5)  # the same function
        revived_train = copy.deepcopy(model).train()
        assert torch.allclose(revived_train(x), trained(x), rtol=0, atol=1e-5)
    block = model.layer1[0]
    assert torch.equal(block.conv2.weight[:, [3, 17]], torch.zeros(64, 2, 3, 3))
    assert torch.equal(block.bn1.running_mean[[3, 17]], torch.zeros(2))
    assert torch.equal(block.bn1.running_var[[3, 17]], torch.ones(2))
    assert torch.equal(block.bn1.weight[[3, 17]], torch.ones(2))
    assert torch.equal(block.bn1.bias[[3, 17]], torch.zeros(2))
    # layer3.0's relu#0 is read by layer3.0.conv2 only; layer1.0's output (relu#1) is
    # untouched, and so is every other channel
    keep = [c for c in range(64) if c not in (3, 17)]
    assert torch.equal(block.conv1.weight[keep], before["layer1.0.conv1.weight"][keep])
    assert torch.equal(block.bn1.bias[keep], before["layer1.0.bn1.bias"][keep])
    after = _eval_report(model, x)
    dead = {layer.name: layer.dead for layer in after.layers if layer.dead}
    assert dead == {"relu": [9], "layer2.0.relu#1": [4]}  # the revived are live again
    # and they learn: their outgoing weights, now 0, receive a gradient
    model.zero_grad()
    model(x).square().sum().backward()
    for site, channels in REVIVABLE.items():
        conv2 = named[site.partition(".relu")[0] + ".conv2"]
        assert bool((conv2.weight.grad[:, channels].abs().sum(dim=(0, 2, 3)) > 0).all())


class Transformer(nn.Module):
    def __init__(self, act: nn.Module) -> None:
        super().__init__()
        self.embed = nn.Linear(5, 8)
        self.block = MLPBlock(8, 32, act)
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.block(self.embed(x)).mean(dim=1))


@pytest.mark.parametrize("act", [nn.ReLU(), nn.GELU()], ids=["relu", "gelu"])
def test_a_transformer_mlp_block_is_revived(act: nn.Module) -> None:
    """LayerNorm -> Linear -> act -> Linear plus the residual add, on (batch, tokens, dim)."""
    torch.manual_seed(0)
    model = Transformer(act)
    with torch.no_grad():
        model.block.fc1.bias[PLANTED] = -1e3
    x = _x(16, 7, 5)
    report = _report(model, x)
    assert report.layers[0].name == "block.act"
    units = "dead" if isinstance(act, nn.ReLU) else "never_positive"
    chosen = report.layers[0].dead + report.layers[0].negative_regime
    assert chosen == PLANTED
    out = model(x).detach()
    if isinstance(act, nn.GELU):  # its negative outputs reach fc2: refused by default
        with pytest.raises(ValueError, match=r"site 'block\.act' is GELU"):
            revive(model, report, units=units)
    revived = revive(model, report, units=units, keep_function=False)
    assert revived == {"block.act": PLANTED}
    assert torch.allclose(model(x), out, rtol=0, atol=1e-6)  # GELU(-1e3) is 0 (or -0.0)
    assert torch.equal(model.block.fc2.weight[:, PLANTED], torch.zeros(8, 3))
    again = _report(model, x).layers[0]
    assert again.dead == [] and again.negative_regime == []


class Functional(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(4, 8), nn.Linear(8, 8), nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def test_functional_and_multiply_called_sites_are_found_by_their_call() -> None:
    torch.manual_seed(0)
    model = Functional()
    with torch.no_grad():
        model.fc1.bias[[1]] = -1e3
        model.fc2.bias[[2, 3]] = -1e3
    x = _x(64, 4)
    report = _report(model, x, functional=True)
    names = [layer.name for layer in report.layers]
    assert names == ["<root>:F.relu#0", "<root>:F.relu#1"]
    out = model(x).detach()
    revived = revive(model, report, units="dead")
    assert revived["<root>:F.relu#0"] == [1] and {2, 3} <= set(revived["<root>:F.relu#1"])
    assert torch.allclose(model(x), out, rtol=0, atol=1e-6)
    # fc2 is fc1's reader and #1's incoming layer: column 1 is 0 but in the new rows
    kept = [row for row in range(8) if row not in revived["<root>:F.relu#1"]]
    assert torch.equal(model.fc2.weight[kept, 1], torch.zeros(len(kept)))
    assert torch.equal(model.fc3.weight[:, [2, 3]], torch.zeros(2, 2))


class Biased(nn.Module):
    """Conv -> a per-channel bias (a bias-only affine) -> ReLU -> conv, its own forward."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.shift = nn.Parameter(torch.zeros(8, 1, 1))
        self.act = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.act(self.conv1(x) + self.shift))


def test_a_per_unit_bias_between_is_reset_with_the_units() -> None:
    torch.manual_seed(0)
    model = Biased()
    with torch.no_grad():
        model.shift[[1, 6]] = -1e3
    x = _x(8, 3, 6, 6)
    report = _report(model, x)
    assert report.layers[0].dead == [1, 6]
    out = model(x).detach()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(x).sum().backward()
    opt.step()
    with torch.no_grad():
        model.shift[[1, 6]] = -1e3  # the step moved it: dead again, the same function
    out = model(x).detach()
    assert revive(model, report, optimizer=opt) == {"act": [1, 6]}
    assert torch.allclose(model(x), out, rtol=0, atol=1e-5)
    assert torch.equal(model.shift.flatten()[[1, 6]], torch.zeros(2))
    assert torch.equal(opt.state[model.shift]["momentum_buffer"].flatten()[[1, 6]], torch.zeros(2))
    assert _report(model, x).layers[0].dead == []


class Normed(nn.Module):  # Linear -> LayerNorm -> ReLU -> Linear
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.norm, self.act = nn.Linear(4, 8), nn.LayerNorm(8), nn.ReLU()
        self.fc2 = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.norm(self.fc1(x))))


class Concat(MLP):  # the activation's output is concatenated with another tensor
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.fc1(x))
        return self.fc2(torch.cat([h, h], dim=1)[:, :16])


class Skip(MLP):  # the activation's output is added to the next layer's
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.fc1(x))
        return self.fc2(h) + h[:, :3]


class Returned(MLP):  # the activation's output is also an output of the model
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.act(self.fc1(x))
        return self.fc2(h), h


class Twice(MLP):  # fc2 reads the site and, again, another tensor
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x))) + self.fc2(torch.ones(1, 16))


class PreActivation(MLP):  # fc1's output is read before the activation too
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.fc1(x)
        return self.fc2(self.act(z)) + z[:, :3]


class Tied(MLP):  # the forward reads fc1's weight directly
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x))) + self.fc1.weight.sum()


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (Normed(), r"comes through LayerNorm 'norm', which normalises across the units"),
        (Concat(), r"its output flows into cat \(node 'cat'\)"),
        (Skip(), r"its output flows into getitem"),
        (Returned(), r"its output flows into the model's output"),
        (Twice(), r"outgoing layer 'fc2' is called 2 times in the forward"),
        (PreActivation(), r"the output of Linear 'fc1' on its input path is also read by"),
        (Tied(), r"the forward also reads 'fc1.weight' directly"),
    ],
    ids=["layernorm", "cat", "residual", "output", "called-twice", "pre-activation", "read"],
)
def test_sites_a_graph_shows_unsafe_are_refused_by_name(model: nn.Module, message: str) -> None:
    before = {k: v.clone() for k, v in model.state_dict().items()}
    units = 8 if isinstance(model, Normed) else 16
    report = MonitorReport([LayerReport("act", "relu", "ReLU", units, 10, dead=[0, 3])], 1, 0.1)
    with pytest.raises(ValueError, match=rf"site 'act' cannot be revived.*{message}") as err:
        revive(model, report, units="dead")
    assert "\n" not in str(err.value)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_batch_norm_in_a_sequential_is_now_paired_through() -> None:
    """The Sequential search refused a BatchNorm before the activation; the graph does not."""
    torch.manual_seed(0)
    model = Custom()
    with torch.no_grad():
        model.norm[1].bias[[1, 2]] = -1e3
    x = _x(64, 4)
    model.eval()
    report = _eval_report(model, x)
    dead = [(layer.name, layer.dead) for layer in report.layers if layer.dead]
    assert dead == [("norm.2", [1, 2])]
    with torch.no_grad():
        out = model(x)
    assert revive(model, report, units="dead") == {"norm.2": [1, 2]}
    with torch.no_grad():
        assert torch.allclose(model(x), out, rtol=0, atol=1e-6)
    assert _eval_report(model, x).dead == 0
