"""Acting on a report: ``revive`` (ReDo, Sokar et al. 2023).

How a site finds its layers: the model is traced with ``torch.fx`` (``symbolic_trace``'s
tracer, activation layers kept whole) and the graph is read around the site's node, so
any model fx can trace is supported, its ``forward`` written by hand included. Where fx
cannot trace the model (data-dependent control flow, ...), the site is paired the way it
was before fx: inside an ``nn.Sequential``, or by the user's ``layers=``; a site neither
can pair is refused with fx's reason in one line.
"""

from __future__ import annotations

import math
import operator
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import torch
import torch.fx as fx
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from leaky.monitor._kinds import _FUNCTIONS, ACTIVATIONS
from leaky.monitor._report import LayerReport, MonitorReport

if TYPE_CHECKING:
    from torch.optim import Optimizer


# --------------------------------------------------------------------------- revival

_PRODUCERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
_Producer = nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d
_BETWEEN_PRODUCER = (nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)
_POOLING = (
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
_BETWEEN_CONSUMER = (*_BETWEEN_PRODUCER, nn.Flatten, *_POOLING)
# Layers that normalise over several units: one unit's new weights would change the others.
_ACROSS_UNITS = (nn.LayerNorm, nn.GroupNorm, nn.RMSNorm, nn.LocalResponseNorm)
_ADDS = (operator.add, operator.iadd, torch.add)
_FLATTENS = (torch.flatten,)
Which = Literal["dormant", "dead", "never_positive", "near_dead"]


class _Refusal(ValueError):
    """A site revive will not touch, and why (one line)."""


@dataclass
class _Pairing:
    """The layers around one site: what feeds it and every layer that reads it."""

    incoming: nn.Module
    outgoing: list[nn.Module]
    norms: list[nn.Module] = field(default_factory=list)  # BatchNorms between, in order
    biases: list[tuple[str, Tensor]] = field(default_factory=list)  # per-unit ``x + b``
    names: dict[str, list[str]] = field(default_factory=dict)  # role -> qualified names


@dataclass
class _Revival:
    site: str
    units: list[int]
    incoming: _Producer
    outgoing: list[_Producer]
    norms: list[_BatchNorm]
    biases: list[tuple[Tensor, int]]  # a per-unit bias and the axis of its units


def revive(
    model: nn.Module,
    report: MonitorReport,
    *,
    units: Which = "dormant",
    layers: Mapping[str, tuple[str, str]] | None = None,
    optimizer: Optimizer | None = None,
    generator: torch.Generator | None = None,
    keep_function: bool = True,
    on_refused: Literal["raise", "warn"] = "raise",
) -> dict[str, list[int]]:
    """Revive a report's dormant units the way ReDo does (Sokar et al. 2023).

    For each unit: its incoming weights (the row of the Linear/Conv layer that feeds the
    activation, and its bias) are drawn again from that layer's default initialisation
    (Kaiming-uniform, as ``reset_parameters``), and its outgoing weights (the columns of
    every Linear/Conv layer that reads it) are set to 0, so the unit is live again (it
    can learn) and the network's function does not change: exactly for units that were
    never positive under a ReLU-like activation (their output was 0), and by their small
    contribution for the other dormant ones. Under Leaky ReLU or a smooth activation a
    unit's negative outputs reach the next layer, so zeroing its outgoing weights changes
    the function: such sites are refused unless ``keep_function=False``.

    Where a site's layers are found: the model is traced with ``torch.fx``, so a model
    with its own ``forward`` (``fc2(act(fc1(x)))``, a ResNet block) is read like an
    ``nn.Sequential``; multiply-called sites (``relu#0``) and functional ones
    (``"block:F.relu"``) are found by their call. A site is revived when:

    - its input comes from a ``Linear`` or ``ConvNd`` (not grouped) through layers that
      act on each unit alone: ``BatchNorm``, ``Dropout``, ``Identity`` and a per-unit bias
      (``x + self.bias``); each of them feeds only the next (else the new weights would
      reach another path). ``LayerNorm``/``GroupNorm`` normalise across the units (one
      unit's new weights would change the others) and are refused;
    - every use of its output ends in a ``Linear``/``ConvNd`` layer, through ``Dropout``,
      pooling (a Conv's channels) or ``Flatten`` (a Conv followed by ``Flatten`` and a
      Linear zeroes each channel's block of columns). What that layer's output does next
      does not matter (a residual ``add`` after the second conv of a ResNet block is
      fine); an output that flows into an ``add``, a ``cat``, the model's output or any
      other operation is refused, naming it: there a zero column cannot stand in for the
      unit;
    - each of these layers is called once in the forward and owns its parameters (no tied
      weights, no direct read of them in ``forward``); the incoming and outgoing layers
      differ; a Linear applied to 3-D (or higher) input is not flattened before the next
      layer (its units would be interleaved in that layer's columns).

    A BatchNorm between the incoming layer and the activation is reset for the revived
    channels to its initial state (``running_mean`` 0, ``running_var`` 1, ``weight`` 1,
    ``bias`` 0, as ``reset_running_stats`` and ``reset_parameters`` do): its old
    statistics describe the old weights, and its shift is often what killed the unit. A
    per-unit bias added on the way is set to 0 for those units. The function is kept in
    train and eval mode alike, since the revived units' outputs are read by zero weights
    only.

    Where fx cannot trace the model, a site is paired only inside an ``nn.Sequential``
    (a Linear/Conv, then ``Identity``/``Dropout``, the activation, ``Dropout``/pooling/
    ``Flatten`` and the next Linear/Conv), and the refusal of any other site carries fx's
    reason. ``layers={"site": ("incoming", "outgoing")}`` (qualified module names) names
    the pair for a site yourself; it is checked like any pair but not against the graph.
    Every refusal is a ``ValueError`` that names the site and why, raised before any
    weight changes.

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
        on_refused: ``"raise"``: a site that cannot be revived refuses the whole call, and
            the error names every such site; ``"warn"``: the other sites are revived and
            one ``UserWarning`` names each refused site and why.

    Returns:
        ``{site name: [unit indices revived]}`` (sites with nothing to revive omitted).

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> from leaky.monitor import DeadUnitMonitor, revive
        >>> class MLP(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc1, self.act, self.fc2 = nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)
        ...
        ...     def forward(self, x):
        ...         return self.fc2(self.act(self.fc1(x)))
        >>> model = MLP()
        >>> with torch.no_grad():
        ...     model.fc1.bias[[1, 5]] = -100.0  # units 1 and 5 never fire
        >>> x = torch.randn(64, 4, generator=torch.Generator().manual_seed(0))
        >>> with DeadUnitMonitor(model) as monitor:
        ...     before = model(x)
        >>> revive(model, monitor.report(), units="dead")
        {'act': [1, 5]}
        >>> torch.allclose(model(x), before, atol=1e-6)
        True
    """
    choices = ("dormant", "dead", "never_positive", "near_dead")
    if units not in choices:
        raise ValueError(
            f"The 'units' parameter of revive must be one of {choices}. Got {units!r} instead."
        )
    if on_refused not in ("raise", "warn"):
        raise ValueError(
            "The 'on_refused' parameter of revive must be one of ('raise', 'warn'). Got "
            f"{on_refused!r} instead."
        )
    named = dict(model.named_modules())
    graph: _Graph | None = None
    plan: list[_Revival] = []
    refused: list[str] = []
    for layer in report.layers:
        chosen = sorted(set(_chosen(layer, units)))
        if not chosen:
            continue
        try:
            if layers is not None and layer.name in layers:
                incoming_name, outgoing_name = layers[layer.name]
                for n in (incoming_name, outgoing_name):
                    if n not in named:
                        raise KeyError(f"revive: no module named {n!r} in the model.")
                pairing = _Pairing(named[incoming_name], [named[outgoing_name]])
            else:
                if graph is None:
                    graph = _Graph(model, report)
                if graph.nodes is None:
                    found_in, found_out = _neighbours(model, named, layer.name, graph.why)
                    pairing = _Pairing(found_in, [found_out])
                else:
                    pairing = graph.pair(layer.name)
            revival = _check(model, layer, chosen, pairing)
            if pairing.names:
                assert graph is not None
                graph.check_uses(layer.name, pairing.names)
            if keep_function and layer.kind != "relu":
                raise _Refusal(
                    f"revive keeps the network's function only where a revived unit's "
                    f"output was 0 (ReLU-like sites); site {layer.name!r} is "
                    f"{layer.activation}: its negative outputs reach the next layer. Pass "
                    "keep_function=False to revive it anyway."
                )
        except _Refusal as err:
            refused.append(str(err))
            continue
        plan.append(revival)
    if refused and on_refused == "raise":
        if len(refused) == 1:
            raise ValueError(refused[0])
        raise ValueError(
            f"revive refused {len(refused)} sites and changed nothing: " + " | ".join(refused)
        )
    if refused:
        warnings.warn(
            f"revive left {len(refused)} site(s) as they were: " + " | ".join(refused),
            UserWarning,
            stacklevel=2,
        )
    revived: dict[str, list[int]] = {}
    with torch.no_grad():
        for item in plan:
            _apply(item, generator)
            if optimizer is not None:
                _reset_optimizer_state(optimizer, item)
            revived[item.site] = item.units
    return revived


def _chosen(layer: LayerReport, units: Which) -> list[int]:
    if units == "dormant":
        return layer.dormant
    if units == "dead":
        return layer.dead
    if units == "never_positive":
        return layer.dead + layer.negative_regime
    return layer.dead + layer.negative_regime + layer.near_dead


def _check(model: nn.Module, layer: LayerReport, chosen: list[int], pairing: _Pairing) -> _Revival:
    """The pair's own checks (types, sizes, independence), then the plan of one revival."""
    incoming, outgoing = _check_pair(layer, pairing.incoming, pairing.outgoing)
    _check_independent(model, layer.name, incoming, outgoing)
    norms: list[_BatchNorm] = []
    for norm in pairing.norms:
        assert isinstance(norm, _BatchNorm)
        if norm.num_features != layer.units:
            raise _Refusal(
                f"revive: site {layer.name!r} has {layer.units} units but the "
                f"{type(norm).__name__} before it has {norm.num_features} features."
            )
        norms.append(norm)
    biases = [(t, _bias_axis(layer.name, name, t, incoming)) for name, t in pairing.biases]
    return _Revival(layer.name, chosen, incoming, outgoing, norms, biases)


def _bias_axis(site: str, name: str, bias: Tensor, incoming: _Producer) -> int:
    """The axis of ``bias`` that holds the units, where it adds one number per unit."""
    units = _units_of(incoming)
    # a Linear's units are the last axis; a ConvNd's are followed by its N spatial axes
    after = 0 if isinstance(incoming, nn.Linear) else incoming.weight.ndim - 2
    shape = list(bias.shape)
    axis = len(shape) - 1 - after
    if axis >= 0 and shape[axis] == units and math.prod(shape) == units:
        return axis
    raise _Refusal(
        f"revive: site {site!r} cannot be revived: the tensor {name!r} of shape "
        f"{tuple(shape)} added before it is not one number per unit of its "
        f"{type(incoming).__name__} ({units} units)."
    )


# ------------------------------------------------------------------ the graph (torch.fx)


class _Tracer(fx.Tracer):
    """fx's tracer, keeping every activation layer (and every named site) whole."""

    def __init__(self, sites: set[str]) -> None:
        super().__init__()
        self.sites = sites

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return (
            isinstance(m, ACTIVATIONS)
            or module_qualified_name in self.sites
            or super().is_leaf_module(m, module_qualified_name)
        )


class _Graph:
    """The model's forward as torch.fx reads it; ``nodes`` is None where it cannot."""

    def __init__(self, model: nn.Module, report: MonitorReport) -> None:
        self.model = model
        self.modules = dict(model.named_modules())
        sites = {layer.name.partition("#")[0] for layer in report.layers}
        self.why = ""
        self.nodes: list[fx.Node] | None = None
        try:
            graph = _Tracer(sites).trace(model)
        except Exception as err:  # fx fails in many ways on code it cannot trace
            text = str(err).strip().splitlines()
            self.why = f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")
            return
        self.nodes = list(graph.nodes)
        self.calls = Counter(n.target for n in self.nodes if n.op == "call_module")
        self.reads = Counter(n.target for n in self.nodes if n.op == "get_attr")

    # -- naming

    def _module(self, node: fx.Node) -> nn.Module | None:
        return self.modules.get(node.target) if node.op == "call_module" else None

    def _what(self, node: fx.Node) -> str:
        if node.op == "call_module":
            return f"{type(self._module(node)).__name__} {node.target!r}"
        if node.op == "output":
            return "the model's output"
        if node.op == "placeholder":
            return f"the model's input {node.target!r}"
        if node.op == "get_attr":
            return f"the tensor {node.target!r}"
        if node.op == "call_method":
            return f"Tensor.{node.target} (node {node.name!r})"
        target = getattr(node.target, "__name__", str(node.target))
        return f"{target} (node {node.name!r})"

    @staticmethod
    def _label(node: fx.Node) -> str | None:
        """How the monitor names a functional activation call ("F.relu", "Tensor.relu")."""
        func: object
        if node.op == "call_function":
            func = node.target
        elif node.op == "call_method":
            func = getattr(torch.Tensor, str(node.target), None)
        else:
            return None
        try:
            found = _FUNCTIONS.get(func)
        except TypeError:  # an unhashable target
            return None
        return found.label if found is not None else None

    @staticmethod
    def _owner(node: fx.Node) -> str:
        """The module whose forward made the call (the monitor's prefix of a functional site)."""
        stack = node.meta.get("nn_module_stack") or {}
        if not stack:
            return "<root>"
        path = list(stack.values())[-1][0]
        return path or "<root>"

    def _site_node(self, site: str) -> fx.Node:
        assert self.nodes is not None
        if ":" in site:
            owner, _, rest = site.partition(":")
            label, _, k = rest.partition("#")
            nodes = [n for n in self.nodes if self._label(n) == label and self._owner(n) == owner]
        else:
            base, _, k = site.partition("#")
            nodes = [n for n in self.nodes if n.op == "call_module" and n.target == base]
        index = int(k) if k.isdigit() else 0
        if not nodes or index >= len(nodes) or (not k and len(nodes) > 1):
            raise _Refusal(
                f"revive: site {site!r} is not where the report says in the model's forward "
                f"as torch.fx traces it ({len(nodes)} call(s) found): pass layers={{site: "
                "(incoming, outgoing)}} to name its layers."
            )
        return nodes[index]

    # -- pairing

    def pair(self, site: str) -> _Pairing:
        node = self._site_node(site)
        x = node.args[0] if node.args else node.kwargs.get("input")
        if not isinstance(x, fx.Node):
            raise _Refusal(f"revive: site {site!r} cannot be revived: its input is not a tensor.")
        incoming, norms, biases, names = self._incoming(site, x)
        outgoing, out_names = self._outgoing(site, node, incoming)
        return _Pairing(
            incoming,
            outgoing,
            norms,
            biases,
            {"incoming": names, "outgoing": out_names},
        )

    def _incoming(
        self, site: str, x: fx.Node
    ) -> tuple[nn.Module, list[nn.Module], list[tuple[str, Tensor]], list[str]]:
        why = f"revive: site {site!r} cannot be revived:"
        norms: list[nn.Module] = []
        biases: list[tuple[str, Tensor]] = []
        names: list[str] = []
        while True:
            if len(x.users) > 1:
                others = ", ".join(self._what(u) for u in x.users)
                raise _Refusal(
                    f"{why} the output of {self._what(x)} on its input path is also read by "
                    f"{others}: new weights would reach those too."
                )
            module = self._module(x)
            if isinstance(module, _PRODUCERS):
                names.append(str(x.target))
                return module, norms, biases, names
            if isinstance(module, _BatchNorm):
                norms.append(module)
                names.append(str(x.target))
            elif isinstance(module, _ACROSS_UNITS):
                raise _Refusal(
                    f"{why} its input comes through {self._what(x)}, which normalises "
                    "across the units: one unit's new weights would change the others."
                )
            elif module is None and (bias := self._bias_add(x)) is not None:
                biases.append(bias[1])
                names.append(bias[0])
                x = bias[2]
                continue
            elif not isinstance(module, _BETWEEN_PRODUCER):
                raise _Refusal(
                    f"{why} its input comes from {self._what(x)}, not from a Linear/Conv "
                    "layer through per-unit layers (BatchNorm, Dropout, a per-unit bias)."
                )
            arg = x.args[0] if x.args else None
            if not isinstance(arg, fx.Node):
                raise _Refusal(f"{why} {self._what(x)} has no tensor input.")
            x = arg

    def _bias_add(self, node: fx.Node) -> tuple[str, tuple[str, Tensor], fx.Node] | None:
        """``x + self.b`` (or ``b + x``): (the read's name, (name, b), x), else None."""
        is_add = (node.op == "call_function" and node.target in _ADDS) or (
            node.op == "call_method" and node.target in ("add", "add_")
        )
        if not is_add or len(node.args) != 2 or node.kwargs:
            return None
        a, b = node.args
        for tensor_node, other in ((a, b), (b, a)):
            if (
                isinstance(tensor_node, fx.Node)
                and tensor_node.op == "get_attr"
                and isinstance(other, fx.Node)
            ):
                name = str(tensor_node.target)
                value = operator.attrgetter(name)(self.model)
                if isinstance(value, Tensor) and len(tensor_node.users) == 1:
                    return name, (name, value), other
        return None

    def _outgoing(
        self, site: str, node: fx.Node, incoming: nn.Module
    ) -> tuple[list[nn.Module], list[str]]:
        why = f"revive: site {site!r} cannot be revived:"
        conv = not isinstance(incoming, nn.Linear)
        found: dict[fx.Node, nn.Module] = {}
        stack = [(node, False)]
        while stack:
            x, flat = stack.pop()
            for user in x.users:
                module = self._module(user)
                if isinstance(module, _PRODUCERS) and user.all_input_nodes == [x]:
                    if conv and isinstance(module, nn.Linear) != flat:
                        raise _Refusal(
                            f"{why} the {type(incoming).__name__}'s channels reach "
                            f"{self._what(user)} {'flattened' if flat else 'unflattened'}."
                        )
                    if not conv and not isinstance(module, nn.Linear):
                        raise _Refusal(f"{why} the Linear's units are read by {self._what(user)}.")
                    found[user] = module
                    continue
                if self._flattens(user, module):
                    stack.append((user, True))
                    continue
                passes = _BETWEEN_PRODUCER if not conv or flat else _BETWEEN_CONSUMER
                if isinstance(module, passes) and not isinstance(module, nn.Flatten):
                    stack.append((user, flat))
                    continue
                raise _Refusal(
                    f"{why} its output flows into {self._what(user)}, not only into "
                    "Linear/Conv layers (through Dropout, pooling or Flatten), where zero "
                    "weights would stand in for the revived units."
                )
        if not found:
            raise _Refusal(f"{why} its output is not read by any layer.")
        return list(found.values()), [str(n.target) for n in found]

    @staticmethod
    def _flattens(node: fx.Node, module: nn.Module | None) -> bool:
        """A flatten of everything after the batch axis (what a Linear after a Conv needs)."""
        if module is not None:
            return isinstance(module, nn.Flatten) and module.start_dim == 1 and module.end_dim == -1
        method = node.op == "call_method" and node.target == "flatten"
        if not method and not (node.op == "call_function" and node.target in _FLATTENS):
            return False
        args = node.args[1:]
        start = node.kwargs.get("start_dim", args[0] if args else 0)
        end = node.kwargs.get("end_dim", args[1] if len(args) > 1 else -1)
        return (start, end) == (1, -1)

    def check_uses(self, site: str, names: Mapping[str, Sequence[str]]) -> None:
        """Each layer touched is called once, and its parameters are not read elsewhere."""
        why = f"revive: site {site!r} cannot be revived without changing the network's function:"
        for role, items in names.items():
            for name in items:
                calls = self.calls.get(name, 0)
                if calls > 1:
                    raise _Refusal(
                        f"{why} its {role} layer {name!r} is called {calls} times in the "
                        "forward: the change would reach its other calls too."
                    )
                reads = [t for t in self.reads if str(t).startswith(name + ".")]
                if reads or self.reads.get(name, 0) > 1:
                    raise _Refusal(
                        f"{why} the forward also reads {(reads or [name])[0]!r} directly."
                    )


def _neighbours(
    model: nn.Module, named: Mapping[str, nn.Module], site: str, traced: str = ""
) -> tuple[nn.Module, nn.Module]:
    """The pair of a site inside an ``nn.Sequential`` (where fx cannot trace the model)."""
    fx_failed = f"torch.fx cannot trace the model ({traced}), and " if traced else ""
    why = (
        f"revive cannot pair site {site!r} with its layers automatically: {fx_failed}without "
        "a graph it supports an activation inside an nn.Sequential, after a Linear/Conv "
        "layer and before the next one. Pass layers={site: (incoming, outgoing)} to name "
        "them."
    )
    if ":" in site or "#" in site:
        raise _Refusal(why + " (functional and multiply-called sites need layers=)")
    parent_name, _, child = site.rpartition(".")
    parent = named.get(parent_name if site != "<root>" else "")
    if site == "<root>" or not isinstance(parent, nn.Sequential):
        raise _Refusal(why)
    children = list(parent._modules.items())
    keys = [k for k, _ in children]
    if child not in keys:
        raise _Refusal(why)
    at = keys.index(child)
    incoming = None
    for _, module in reversed(children[:at]):
        if isinstance(module, _PRODUCERS):
            incoming = module
            break
        if not isinstance(module, _BETWEEN_PRODUCER):
            raise _Refusal(f"{why} ({type(module).__name__} before the activation)")
    outgoing = None
    for _, module in children[at + 1 :]:
        if isinstance(module, _PRODUCERS):
            outgoing = module
            break
        if not isinstance(module, _BETWEEN_CONSUMER):
            raise _Refusal(f"{why} ({type(module).__name__} after the activation)")
    if incoming is None or outgoing is None:
        raise _Refusal(f"{why} (no Linear/Conv layer on one side)")
    return incoming, outgoing


def _units_of(layer: _Producer) -> int:
    return layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels


def _inputs_of(layer: _Producer) -> int:
    return layer.in_features if isinstance(layer, nn.Linear) else layer.in_channels


def _check_pair(
    layer: LayerReport, incoming: nn.Module, outgoing: Sequence[nn.Module]
) -> tuple[_Producer, list[_Producer]]:
    for role, module in [("incoming", incoming)] + [("outgoing", m) for m in outgoing]:
        if not isinstance(module, _PRODUCERS):
            raise _Refusal(
                f"revive: the {role} layer of site {layer.name!r} must be a Linear or Conv "
                f"layer. Got {type(module).__name__}."
            )
        if getattr(module, "groups", 1) != 1:
            raise _Refusal(f"revive: grouped convolutions are not supported ({layer.name!r}).")
    assert isinstance(incoming, _PRODUCERS)
    readers = [m for m in outgoing if isinstance(m, _PRODUCERS)]
    out = _units_of(incoming)
    if out != layer.units:
        raise _Refusal(
            f"revive: site {layer.name!r} has {layer.units} units but its incoming layer "
            f"{type(incoming).__name__} has {out} outputs."
        )
    for reader in readers:
        width = _inputs_of(reader)
        if width % out:
            raise _Refusal(
                f"revive: the outgoing layer of {layer.name!r} reads {width} inputs, not a "
                f"multiple of the site's {out} units."
            )
    return incoming, readers


def _check_independent(
    model: nn.Module, site: str, incoming: _Producer, outgoing: Sequence[_Producer]
) -> None:
    """Refuse a pair whose change would reach further than the revived units: one layer in
    both roles, a parameter shared with another layer, or units interleaved in the columns."""
    why = f"revive: site {site!r} cannot be revived without changing the network's function:"
    if any(incoming is reader for reader in outgoing):
        raise _Refusal(
            f"{why} one module, nn.{type(incoming).__name__}, is both its incoming and its "
            "outgoing layer (the new rows and the zeroed columns would overwrite each other)."
        )
    owners: dict[int, set[int]] = {}  # parameter storage -> the modules holding it
    for module in model.modules():
        for param in module._parameters.values():
            if param is not None and param.numel():
                owners.setdefault(param.untyped_storage().data_ptr(), set()).add(id(module))
    for role, producer in [("incoming", incoming)] + [("outgoing", m) for m in outgoing]:
        for name, param in producer._parameters.items():
            if param is None or not param.numel():
                continue
            if len(owners.get(param.untyped_storage().data_ptr(), ())) > 1:
                raise _Refusal(
                    f"{why} its {role} layer {type(producer).__name__} shares its {name} with "
                    "another layer (tied weights): reviving would change that layer too."
                )
    for reader in outgoing:
        if isinstance(incoming, nn.Linear) and _inputs_of(reader) != incoming.out_features:
            raise _Refusal(
                f"{why} it follows a Linear applied to inputs of more than 2 dimensions and "
                "is flattened before the outgoing layer, whose columns interleave its units "
                "(position-major), not one block per unit."
            )


def _apply(item: _Revival, generator: torch.Generator | None) -> None:
    """Reinitialise the units' incoming weights, reset what lies between, zero their reads."""
    idx = torch.tensor(item.units, dtype=torch.long)
    units = _units_of(item.incoming)
    _reinit_rows(item.incoming, idx, generator)
    for norm in item.norms:
        _reset_norm(norm, idx)
    for bias, axis in item.biases:
        bias.index_fill_(axis, idx.to(bias.device), 0.0)
    for reader in item.outgoing:
        _zero_columns(reader, idx, units)


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


def _reset_norm(norm: _BatchNorm, idx: Tensor) -> None:
    """A BatchNorm's channels back to their initial state (``reset_running_stats`` and
    ``reset_parameters``, for these channels only)."""
    if norm.running_mean is not None:
        norm.running_mean[idx.to(norm.running_mean.device)] = 0
    if norm.running_var is not None:
        norm.running_var[idx.to(norm.running_var.device)] = 1
    if norm.weight is not None:
        norm.weight[idx.to(norm.weight.device)] = 1
    if norm.bias is not None:
        norm.bias[idx.to(norm.bias.device)] = 0


def _columns(outgoing: _Producer, idx: Tensor, units: int) -> Tensor:
    """The input columns of ``outgoing`` that read the units ``idx`` (a flattened channel
    is a block of consecutive columns)."""
    block = _inputs_of(outgoing) // units
    return (idx[:, None] * block + torch.arange(block)[None, :]).flatten()


def _zero_columns(outgoing: _Producer, idx: Tensor, units: int) -> None:
    outgoing.weight[:, _columns(outgoing, idx, units)] = 0


def _reset_optimizer_state(optimizer: Optimizer, item: _Revival) -> None:
    """Zero the optimizer's state (momentum, moments) of every value revive changed."""
    idx = torch.tensor(item.units, dtype=torch.long)
    units = _units_of(item.incoming)
    targets: list[tuple[Tensor | None, int, Tensor]] = [
        (item.incoming.weight, 0, idx),
        (item.incoming.bias, 0, idx),
    ]
    for norm in item.norms:
        targets += [(norm.weight, 0, idx), (norm.bias, 0, idx)]
    targets += [(bias, axis, idx) for bias, axis in item.biases]
    targets += [(r.weight, 1, _columns(r, idx, units)) for r in item.outgoing]
    for param, axis, index in targets:
        if param is None:
            continue
        for value in optimizer.state.get(param, {}).values():
            if isinstance(value, Tensor) and value.shape == param.shape:
                value.index_fill_(axis, index.to(value.device), 0)
