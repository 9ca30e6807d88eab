"""Find dead, dormant and negative-regime units while a PyTorch model runs.

``DeadUnitMonitor`` hooks every activation layer of a model and streams per-unit counts
over every sample it sees (a window), in O(units) memory: it never keeps an activation.
Definitions (DESIGN.md), per unit, over the window:

- **dead** (ReLU-like layers): the pre-activation was <= 0 for every input, so ReLU output
  and gradient were 0 throughout: the unit cannot learn.
- **negative-regime** (Leaky ReLU and smooth activations): the same condition, under an
  activation that still passes a gradient (scaled by the slope). Alive, reported apart.
- **dormant (tau)**: the unit's mean |output| divided by the layer's mean is <= tau
  (Sokar et al. 2023, "The Dormant Neuron Phenomenon in Deep Reinforcement Learning").
- **exact-zero fraction**: the fraction of output elements that are exactly 0.

A unit is a feature of the last dimension for Linear-style tensors (2-d and 3-d) and a
channel (dim 1) for convolution-style tensors (4-d and 5-d); ``unit_dim`` overrides it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from leaky.nn import LeakyReLU

# The kinds of activation the monitor finds by itself.
RELU_LIKE = (nn.ReLU, nn.ReLU6)
LEAKY_LIKE = (LeakyReLU, nn.LeakyReLU, nn.PReLU, nn.RReLU)
SMOOTH = (nn.GELU, nn.SiLU, nn.ELU, nn.SELU, nn.CELU, nn.Mish, nn.Hardswish, nn.Softplus)
ACTIVATIONS = RELU_LIKE + LEAKY_LIKE + SMOOTH
# Activations whose output is > 0 exactly where their input is: the positive count can be
# read off the output, so no hook on the input is needed (and in-place layers work).
SIGN_PRESERVING = (
    RELU_LIKE + LEAKY_LIKE + (nn.GELU, nn.SiLU, nn.ELU, nn.SELU, nn.CELU, nn.Mish, nn.Hardswish)
)


def _kind(module: nn.Module) -> str:
    if isinstance(module, LEAKY_LIKE):
        return "leaky"
    if isinstance(module, RELU_LIKE):
        return "relu"
    return "smooth"


def _default_unit_dim(ndim: int) -> int:
    return 1 if ndim >= 4 else ndim - 1


@dataclass
class LayerReport:
    """What one activation layer did over the window."""

    name: str
    kind: str  # "relu", "leaky" or "smooth"
    activation: str
    units: int
    samples: int  # elements seen per unit (batch x positions)
    dead: list[int] = field(default_factory=list)
    negative_regime: list[int] = field(default_factory=list)
    dormant: list[int] = field(default_factory=list)
    zero_fraction: float = 0.0
    positive_fraction: list[float] = field(default_factory=list)

    @property
    def dead_fraction(self) -> float:
        return len(self.dead) / self.units if self.units else 0.0

    @property
    def negative_regime_fraction(self) -> float:
        return len(self.negative_regime) / self.units if self.units else 0.0

    def sentence(self) -> str:
        """The finding in plain words."""
        if self.samples == 0:
            return f"layer {self.name}: saw no input"
        if self.dead:
            return (
                f"layer {self.name}: {len(self.dead)} of {self.units} units dead "
                f"({self.dead_fraction:.0%}) — consider leaky.nn.convert"
            )
        if self.negative_regime:
            return (
                f"layer {self.name}: {len(self.negative_regime)} of {self.units} units in the "
                f"negative regime ({self.negative_regime_fraction:.0%}) — alive, learning "
                f"at the slope"
            )
        return f"layer {self.name}: all {self.units} units alive"


@dataclass
class MonitorReport:
    """Per layer and for the whole model; renders as a rich table, a dict or JSON."""

    layers: list[LayerReport]
    batches: int
    tau: float

    @property
    def units(self) -> int:
        return sum(layer.units for layer in self.layers)

    @property
    def dead(self) -> int:
        return sum(len(layer.dead) for layer in self.layers)

    @property
    def negative_regime(self) -> int:
        return sum(len(layer.negative_regime) for layer in self.layers)

    @property
    def dormant(self) -> int:
        return sum(len(layer.dormant) for layer in self.layers)

    @property
    def dead_fraction(self) -> float:
        return self.dead / self.units if self.units else 0.0

    @property
    def negative_regime_fraction(self) -> float:
        return self.negative_regime / self.units if self.units else 0.0

    @property
    def zero_fraction(self) -> float:
        total = sum(layer.samples * layer.units for layer in self.layers)
        zeros = sum(layer.zero_fraction * layer.samples * layer.units for layer in self.layers)
        return zeros / total if total else 0.0

    def summary(self) -> list[str]:
        """One sentence per layer and one for the model."""
        lines = [layer.sentence() for layer in self.layers]
        lines.append(
            f"model: {self.dead} of {self.units} units dead ({self.dead_fraction:.0%}), "
            f"{self.negative_regime} in the negative regime, {self.dormant} dormant at "
            f"tau={self.tau:g}, {self.zero_fraction:.1%} of outputs exactly 0, over "
            f"{self.batches} batch(es)"
        )
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "tau": self.tau,
            "units": self.units,
            "dead": self.dead,
            "negative_regime": self.negative_regime,
            "dormant": self.dormant,
            "dead_fraction": self.dead_fraction,
            "zero_fraction": self.zero_fraction,
            "layers": [asdict(layer) for layer in self.layers],
            "summary": self.summary(),
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def __rich__(self) -> Any:
        from rich.table import Table

        table = Table(
            "layer",
            "activation",
            "units",
            "dead",
            "negative-regime",
            f"dormant (tau={self.tau:g})",
            "exact zeros",
            title=f"Dead-unit report over {self.batches} batch(es)",
        )
        for layer in self.layers:
            dead = f"{len(layer.dead)} ({layer.dead_fraction:.0%})" if layer.kind == "relu" else "-"
            neg = (
                f"{len(layer.negative_regime)} ({layer.negative_regime_fraction:.0%})"
                if layer.kind != "relu"
                else "-"
            )
            table.add_row(
                layer.name,
                layer.activation,
                str(layer.units),
                f"[red]{dead}[/]" if layer.dead else dead,
                neg,
                str(len(layer.dormant)),
                f"{layer.zero_fraction:.1%}",
            )
        table.caption = "\n".join(self.summary())
        table.caption_justify = "left"
        return table


class _Site:
    """Running per-unit counts for one call site of an activation layer (O(units) memory).

    A module called several times in one forward (torchvision's ResNet blocks reuse one
    ``relu``) has one site per call, reported as ``name#0``, ``name#1``, ...
    """

    def __init__(self, module: nn.Module, unit_dim: int | None) -> None:
        self.module = module
        self.kind = _kind(module)
        self.unit_dim = unit_dim
        # One float64 accumulator, rows: sum of |output|, positive count, nonzero count.
        # float64 counts are exact to 2^53, and one (3, units) add per batch is the cheapest
        # update there is (the hooks' cost is mostly the number of tensor ops).
        self.acc: Tensor | None = None
        self.samples = 0  # elements per unit

    def _dims(self, t: Tensor) -> tuple[int, tuple[int, ...]]:
        dim = self.unit_dim if self.unit_dim is not None else _default_unit_dim(t.ndim)
        dim = dim % t.ndim
        return dim, tuple(d for d in range(t.ndim) if d != dim)

    def _start(self, t: Tensor) -> tuple[int, tuple[int, ...]]:
        dim, other = self._dims(t)
        units = t.shape[dim]
        if self.acc is None:
            self.acc = torch.zeros(3, units, dtype=torch.float64, device=t.device)
        elif self.acc.shape[1] != units:
            raise ValueError(
                f"An activation changed its number of units from {self.acc.shape[1]} to "
                f"{units} between batches; pass unit_dim= to choose the unit axis."
            )
        return units, other

    def pre(self, x: Tensor) -> None:
        """Count positive pre-activations (only for activations that do not keep the sign)."""
        _, other = self._start(x)
        self.acc[1] += (x > 0).sum(dim=other)  # type: ignore[index]

    def _unit_sum(self, t: Tensor, other: tuple[int, ...]) -> Tensor:
        """Sum over every axis but the unit axis, in float32 or wider.

        A sum over (0, 2, 3) of an NCHW tensor is several times slower in PyTorch than two
        sums over contiguous axes, so that common case is reshaped first.
        """
        dtype = torch.float64 if t.dtype == torch.float64 else torch.float32
        if other == (0, *range(2, t.ndim)) and t.ndim > 2 and t.is_contiguous():
            return t.reshape(t.shape[0], t.shape[1], -1).sum(-1, dtype=dtype).sum(0)
        return t.sum(dim=other, dtype=dtype)

    def post(self, y: Tensor, from_output: bool) -> None:
        units, other = self._start(y)
        n = y.numel() // units
        self.samples += n
        magnitude = self._unit_sum(y if self.kind == "relu" else y.abs(), other)
        # Counting through float sums of sign(y) is exact while a count stays below 2^24
        # and is about ten times faster than PyTorch's reductions of bool tensors. sign(NaN)
        # is 0, so a batch with a NaN (or inf) output is counted the slow, exact way.
        if n < 2**24 and math.isfinite(float(magnitude.sum())):
            sign = torch.sign(y)
            balance = self._unit_sum(sign, other)  # positives - negatives
            if self.kind == "relu":  # no negatives
                positive = nonzero = balance
            else:
                nonzero = self._unit_sum(sign.abs(), other)  # positives + negatives
                positive = (balance + nonzero) / 2
        else:
            positive = (y > 0).sum(dim=other)
            nonzero = n - (y == 0).sum(dim=other)
        if not from_output:  # counted on the input, by pre()
            positive = torch.zeros_like(magnitude)
        self.acc += torch.stack((magnitude, positive, nonzero))  # type: ignore[operator]

    def report(self, name: str, tau: float) -> LayerReport:
        activation = type(self.module).__name__
        if self.acc is None or self.samples == 0:
            return LayerReport(name, self.kind, activation, 0, 0)
        magnitude, positive, nonzero = self.acc.cpu()
        never_positive = (positive == 0).nonzero().flatten().tolist()
        mean_abs = magnitude / self.samples
        layer_mean = float(mean_abs.mean())
        score = mean_abs / layer_mean if layer_mean > 0 else torch.zeros_like(mean_abs)
        units = positive.numel()
        zeros = self.samples * units - float(nonzero.sum())
        return LayerReport(
            name=name,
            kind=self.kind,
            activation=activation,
            units=units,
            samples=self.samples,
            dead=never_positive if self.kind == "relu" else [],
            negative_regime=never_positive if self.kind != "relu" else [],
            dormant=(score <= tau).nonzero().flatten().tolist(),
            zero_fraction=zeros / (self.samples * units),
            positive_fraction=(positive / self.samples).tolist(),
        )


class _Layer:
    """One watched activation module, its hooks and its call sites."""

    def __init__(self, name: str, module: nn.Module, unit_dim: int | None) -> None:
        self.name = name
        self.module = module
        self.unit_dim = unit_dim
        self.sites: list[_Site] = []
        self.calls = 0  # calls in the current forward of the model
        self._current: _Site | None = None

    @property
    def needs_input(self) -> bool:
        return not isinstance(self.module, SIGN_PRESERVING)

    def _site(self, module: nn.Module) -> _Site:
        if self.calls >= len(self.sites):
            self.sites.append(_Site(module, self.unit_dim))
        site = self.sites[self.calls]
        self.calls += 1
        return site

    def pre_hook(self, module: nn.Module, inputs: tuple[Any, ...]) -> None:
        """Only for activations that do not keep the sign: count x > 0 before the call."""
        self._current = None
        if inputs and isinstance(inputs[0], Tensor) and inputs[0].ndim > 0:
            self._current = self._site(module)
            with torch.no_grad():
                self._current.pre(inputs[0].detach())

    def post_hook(self, module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        if not isinstance(output, Tensor) or output.ndim == 0:
            return
        from_output = not self.needs_input
        site = self._site(module) if from_output else self._current
        if site is not None:
            with torch.no_grad():
                site.post(output.detach(), from_output)
        self._current = None


class DeadUnitMonitor:
    """Streams per-unit activation statistics of a model and reports dead and dormant units.

    Hooks are added on ``__enter__`` and removed on ``__exit__``, also when the body
    raises. The monitor never changes an output or a gradient: it only reads, under
    ``torch.no_grad()``.

    Args:
        model: the model to watch.
        modules: the activation layers to watch, as modules or qualified names; by default
            every activation layer found (ReLU, ReLU6, LeakyReLU, leaky's LeakyReLU, PReLU,
            GELU, SiLU, ELU, ...).
        unit_dim: the unit axis, for every layer (an int) or per layer name (a mapping);
            by default the last axis of 2-d/3-d tensors and axis 1 of 4-d/5-d tensors.
        tau: the dormant threshold (Sokar et al. 2023); 0 counts only units whose output
            was always 0.
        on_snapshot: called with each report ``snapshot()`` makes.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
        >>> with torch.no_grad():
        ...     _ = model[0].bias.copy_(torch.tensor([-1e3, 0.0, 0.0, 0.0]))
        >>> with DeadUnitMonitor(model) as mon:
        ...     _ = model(torch.randn(64, 3))
        >>> mon.report().layers[0].dead
        [0]
    """

    def __init__(
        self,
        model: nn.Module,
        modules: Iterable[nn.Module | str] | None = None,
        *,
        unit_dim: int | Mapping[str, int] | None = None,
        tau: float = 0.0,
        on_snapshot: Callable[[MonitorReport], None] | None = None,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(
                "The 'model' parameter of DeadUnitMonitor must be a torch.nn.Module. "
                f"Got {type(model).__name__} instead."
            )
        if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not tau >= 0:
            raise ValueError(
                f"The 'tau' parameter of DeadUnitMonitor must be a number >= 0. Got {tau!r}."
            )
        self.model = model
        self.tau = float(tau)
        self.on_snapshot = on_snapshot
        self.history: list[dict[str, Any]] = []
        self.batches = 0
        named = dict(model.named_modules())
        if modules is None:
            chosen = [(n, m) for n, m in named.items() if isinstance(m, ACTIVATIONS)]
        else:
            by_id = {id(m): n for n, m in named.items()}
            chosen = []
            for item in modules:
                if isinstance(item, str):
                    if item not in named:
                        raise KeyError(
                            f"No module named {item!r} in the model. Valid names: "
                            f"{', '.join(repr(n) for n in named if n) or '(none)'}"
                        )
                    chosen.append((item, named[item]))
                elif id(item) in by_id:
                    chosen.append((by_id[id(item)], item))
                else:
                    raise ValueError(f"Module {item!r} is not part of the model.")
        if not chosen:
            raise ValueError(
                "DeadUnitMonitor found no activation layer to watch; pass modules= to name "
                "them (activations written as functional calls have no module to hook)."
            )
        self._layers = []
        for name, module in chosen:
            dim = unit_dim.get(name) if isinstance(unit_dim, Mapping) else unit_dim
            self._layers.append(_Layer(name or "<root>", module, dim))
        self._handles: list[Any] = []

    @property
    def layer_names(self) -> list[str]:
        return [layer.name for layer in self._layers]

    def __enter__(self) -> DeadUnitMonitor:
        if self._handles:
            raise RuntimeError("This DeadUnitMonitor is already active.")
        self._handles.append(self.model.register_forward_pre_hook(self._new_batch))
        for layer in self._layers:
            if layer.needs_input:
                self._handles.append(layer.module.register_forward_pre_hook(layer.pre_hook))
            self._handles.append(layer.module.register_forward_hook(layer.post_hook))
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _new_batch(self, module: nn.Module, inputs: Any) -> None:
        self.batches += 1
        for layer in self._layers:
            layer.calls = 0

    def reset(self) -> None:
        """Start a new window: forget every count."""
        for layer in self._layers:
            layer.sites.clear()
        self.batches = 0

    def report(self, tau: float | None = None) -> MonitorReport:
        """The report of the current window (``tau`` overrides the monitor's)."""
        t = self.tau if tau is None else float(tau)
        reports = []
        for layer in self._layers:
            many = len(layer.sites) > 1
            for k, site in enumerate(layer.sites):
                reports.append(site.report(f"{layer.name}#{k}" if many else layer.name, t))
            if not layer.sites:
                reports.append(_Site(layer.module, None).report(layer.name, t))
        return MonitorReport(reports, self.batches, t)

    def snapshot(self) -> MonitorReport:
        """Report the current window, keep it in ``history``, call ``on_snapshot``, reset."""
        report = self.report()
        self.history.append(report.to_dict())
        if self.on_snapshot is not None:
            self.on_snapshot(report)
        self.reset()
        return report


def diagnose(
    model: nn.Module,
    batches: Iterable[Any],
    *,
    max_batches: int | None = None,
    tau: float = 0.0,
    progress: Callable[[int], None] | None = None,
) -> MonitorReport:
    """Run ``model`` in eval mode over ``batches`` (no gradients) and report its units.

    A batch is a tensor, or a tuple/list whose first item is the input (``(x, y)`` from a
    DataLoader), or a dict passed as keyword arguments.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Linear(3, 8), nn.ReLU())
        >>> diagnose(model, [torch.randn(16, 3) for _ in range(4)]).batches
        4
    """
    was_training = model.training
    model.eval()
    try:
        with DeadUnitMonitor(model, tau=tau) as mon, torch.no_grad():
            for i, batch in enumerate(batches):
                if max_batches is not None and i >= max_batches:
                    break
                if isinstance(batch, Mapping):
                    model(**batch)
                elif isinstance(batch, (tuple, list)):
                    model(batch[0])
                else:
                    model(batch)
                if progress is not None:
                    progress(i + 1)
    finally:
        model.train(was_training)
    return mon.report()
