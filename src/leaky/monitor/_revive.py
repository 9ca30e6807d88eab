"""Acting on a report: ``revive`` (ReDo, Sokar et al. 2023)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

import torch
from torch import Tensor, nn

from leaky.monitor._report import LayerReport, MonitorReport

if TYPE_CHECKING:
    from torch.optim import Optimizer


# --------------------------------------------------------------------------- revival

_PRODUCERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
_Producer = nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d
_BETWEEN_PRODUCER = (nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)
_BETWEEN_CONSUMER = (
    *_BETWEEN_PRODUCER,
    nn.Flatten,
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.MaxPool3d,
    nn.AvgPool1d,
    nn.AvgPool2d,
    nn.AvgPool3d,
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveAvgPool3d,
    nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d,
    nn.AdaptiveMaxPool3d,
)
Which = Literal["dormant", "dead", "never_positive", "near_dead"]


def revive(
    model: nn.Module,
    report: MonitorReport,
    *,
    units: Which = "dormant",
    layers: Mapping[str, tuple[str, str]] | None = None,
    optimizer: Optimizer | None = None,
    generator: torch.Generator | None = None,
    keep_function: bool = True,
) -> dict[str, list[int]]:
    """Revive a report's dormant units the way ReDo does (Sokar et al. 2023).

    For each unit: its incoming weights (the row of the Linear/Conv layer that feeds the
    activation, and its bias) are drawn again from that layer's default initialisation
    (Kaiming-uniform, as ``reset_parameters``), and its outgoing weights (the columns of
    the next Linear/Conv layer that read it) are set to 0, so the unit is live again (it
    can learn) and the network's function does not change: exactly for units that were
    never positive under a ReLU-like activation (their output was 0), and by their small
    contribution for the other dormant ones. Under Leaky ReLU or a smooth activation a
    unit's negative outputs reach the next layer, so zeroing its outgoing weights changes
    the function: such sites are refused unless ``keep_function=False``.

    Supported: an activation site inside an ``nn.Sequential`` between a ``Linear`` or
    ``ConvNd`` (with only ``Identity``/``Dropout`` between them) and the next
    ``Linear``/``ConvNd`` (with ``Dropout``, pooling or ``Flatten`` between; a Conv
    followed by ``Flatten`` and a Linear zeroes each channel's block of columns). For
    other architectures name the pair yourself: ``layers={"site": ("incoming",
    "outgoing")}`` (qualified module names). Anything else — a functional site, a site
    called several times, grouped convolutions, a BatchNorm in between — is refused with
    a ``ValueError`` that says which site and why, before any weight changes.

    Args:
        model: the monitored model (changed in place).
        report: a ``DeadUnitMonitor`` report of ``model``.
        units: which units to revive: ``"dormant"`` (ReDo's choice), ``"dead"`` (ReLU
            units never positive), ``"never_positive"`` (dead or negative-regime) or
            ``"near_dead"`` (near-dead and never positive).
        layers: ``{site name: (incoming layer name, outgoing layer name)}`` for sites the
            automatic search cannot pair.
        optimizer: if given, its per-parameter state (momentum, Adam's moments) is zeroed
            for the revived weights, as ReDo does.
        generator: the random generator for the new weights.
        keep_function: refuse sites whose activation is not ReLU-like (where revival
            changes what the network computes); False revives them anyway.

    Returns:
        ``{site name: [unit indices revived]}`` (sites with nothing to revive omitted).
    """
    choices = ("dormant", "dead", "never_positive", "near_dead")
    if units not in choices:
        raise ValueError(
            f"The 'units' parameter of revive must be one of {choices}. Got {units!r} instead."
        )
    named = dict(model.named_modules())
    plan: list[tuple[str, list[int], _Producer, _Producer]] = []
    for layer in report.layers:
        if units == "dormant":
            chosen = layer.dormant
        elif units == "dead":
            chosen = layer.dead
        elif units == "never_positive":
            chosen = layer.dead + layer.negative_regime
        else:
            chosen = layer.dead + layer.negative_regime + layer.near_dead
        chosen = sorted(set(chosen))
        if not chosen:
            continue
        if layers is not None and layer.name in layers:
            incoming_name, outgoing_name = layers[layer.name]
            for n in (incoming_name, outgoing_name):
                if n not in named:
                    raise KeyError(f"revive: no module named {n!r} in the model.")
            found_in, found_out = named[incoming_name], named[outgoing_name]
        else:
            found_in, found_out = _neighbours(model, named, layer.name)
        incoming, outgoing = _check_pair(layer, found_in, found_out)
        if keep_function and layer.kind != "relu":
            raise ValueError(
                f"revive keeps the network's function only where a revived unit's output was "
                f"0 (ReLU-like sites); site {layer.name!r} is {layer.activation}: its "
                "negative outputs reach the next layer. Pass keep_function=False to revive "
                "it anyway."
            )
        plan.append((layer.name, chosen, incoming, outgoing))
    revived: dict[str, list[int]] = {}
    with torch.no_grad():
        for name, chosen, incoming, outgoing in plan:
            idx = torch.tensor(chosen, dtype=torch.long)
            _reinit_rows(incoming, idx, generator)
            _zero_columns(outgoing, idx, _units_of(incoming))
            if optimizer is not None:
                _reset_optimizer_state(optimizer, incoming, outgoing, idx, _units_of(incoming))
            revived[name] = chosen
    return revived


def _units_of(layer: _Producer) -> int:
    return layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels


def _inputs_of(layer: _Producer) -> int:
    return layer.in_features if isinstance(layer, nn.Linear) else layer.in_channels


def _neighbours(
    model: nn.Module, named: Mapping[str, nn.Module], site: str
) -> tuple[nn.Module, nn.Module]:
    why = (
        f"revive cannot pair site {site!r} with its layers automatically: it supports an "
        "activation inside an nn.Sequential, after a Linear/Conv layer and before the next "
        "one. Pass layers={site: (incoming, outgoing)} to name them."
    )
    if ":" in site or "#" in site:
        raise ValueError(why + " (functional and multiply-called sites need layers=)")
    parent_name, _, child = site.rpartition(".")
    parent = named.get(parent_name if site != "<root>" else "")
    if site == "<root>" or not isinstance(parent, nn.Sequential):
        raise ValueError(why)
    children = list(parent._modules.items())
    keys = [k for k, _ in children]
    if child not in keys:
        raise ValueError(why)
    at = keys.index(child)
    incoming = None
    for _, module in reversed(children[:at]):
        if isinstance(module, _PRODUCERS):
            incoming = module
            break
        if not isinstance(module, _BETWEEN_PRODUCER):
            raise ValueError(f"{why} ({type(module).__name__} before the activation)")
    outgoing = None
    for _, module in children[at + 1 :]:
        if isinstance(module, _PRODUCERS):
            outgoing = module
            break
        if not isinstance(module, _BETWEEN_CONSUMER):
            raise ValueError(f"{why} ({type(module).__name__} after the activation)")
    if incoming is None or outgoing is None:
        raise ValueError(f"{why} (no Linear/Conv layer on one side)")
    return incoming, outgoing


def _check_pair(
    layer: LayerReport, incoming: nn.Module, outgoing: nn.Module
) -> tuple[_Producer, _Producer]:
    for role, module in (("incoming", incoming), ("outgoing", outgoing)):
        if not isinstance(module, _PRODUCERS):
            raise ValueError(
                f"revive: the {role} layer of site {layer.name!r} must be a Linear or Conv "
                f"layer. Got {type(module).__name__}."
            )
        if getattr(module, "groups", 1) != 1:
            raise ValueError(f"revive: grouped convolutions are not supported ({layer.name!r}).")
    assert isinstance(incoming, _PRODUCERS) and isinstance(outgoing, _PRODUCERS)
    out = _units_of(incoming)
    if out != layer.units:
        raise ValueError(
            f"revive: site {layer.name!r} has {layer.units} units but its incoming layer "
            f"{type(incoming).__name__} has {out} outputs."
        )
    width = _inputs_of(outgoing)
    if width % out:
        raise ValueError(
            f"revive: the outgoing layer of {layer.name!r} reads {width} inputs, not a "
            f"multiple of the site's {out} units."
        )
    return incoming, outgoing


def _reinit_rows(layer: _Producer, idx: Tensor, generator: torch.Generator | None) -> None:
    weight = layer.weight
    fresh = torch.empty_like(weight, device="cpu")
    nn.init.kaiming_uniform_(fresh, a=math.sqrt(5), generator=generator)
    weight[idx] = fresh[idx].to(weight.device)
    if layer.bias is not None:
        fan_in = weight[0].numel()
        bound = 1 / math.sqrt(fan_in) if fan_in else 0.0
        bias = torch.empty(len(idx), dtype=layer.bias.dtype)
        bias.uniform_(-bound, bound, generator=generator)
        layer.bias[idx] = bias.to(layer.bias.device)


def _columns(outgoing: _Producer, idx: Tensor, units: int) -> Tensor:
    """The input columns of ``outgoing`` that read the units ``idx`` (a flattened channel
    is a block of consecutive columns)."""
    block = _inputs_of(outgoing) // units
    return (idx[:, None] * block + torch.arange(block)[None, :]).flatten()


def _zero_columns(outgoing: _Producer, idx: Tensor, units: int) -> None:
    outgoing.weight[:, _columns(outgoing, idx, units)] = 0


def _reset_optimizer_state(
    optimizer: Optimizer, incoming: _Producer, outgoing: _Producer, idx: Tensor, units: int
) -> None:
    cols = _columns(outgoing, idx, units)
    targets = [(incoming.weight, "rows"), (outgoing.weight, "cols")]
    if incoming.bias is not None:
        targets.append((incoming.bias, "rows"))
    for param, how in targets:
        for value in optimizer.state.get(param, {}).values():
            if isinstance(value, Tensor) and value.shape == param.shape:
                if how == "rows":
                    value[idx] = 0
                else:
                    value[:, cols] = 0
