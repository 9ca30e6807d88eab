"""Leaky ReLU in PyTorch networks: the ``LeakyReLU`` layer and ``convert`` for existing models.

Requires the ``torch`` extra (``pip install "leaky[torch]"``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from leaky import _torch, _validate

__all__ = ["Change", "ConversionReport", "LeakyReLU", "convert"]


class LeakyReLU(nn.Module):
    r"""Leaky ReLU layer with leaky's contract: :math:`y = x` if :math:`x \ge 0` else :math:`a x`.

    Values equal ``torch.nn.LeakyReLU`` bit for bit (for ``a > 0``; for ``a == 0`` every
    negative input gives +0.0, as ReLU). The gradient is leaky's: **1 at x == 0** (PyTorch's
    layer gives ``a``) and NaN at a NaN input. Works under ``torch.compile``, in TorchScript
    (``torch.jit.script``) and exports to ONNX as the standard ``LeakyRelu`` node with
    ``alpha = negative_slope``.

    Args:
        negative_slope: the slope ``a`` for negative inputs, a real number in [0, 1].
        inplace: overwrite the input. The backward then needs no copy of it: it reads the
            output's sign (slope > 0) or a one-byte mask (slope 0). One caveat: a negative
            input so small that ``a*x`` underflows to -0.0 gets the gradient of ``x >= 0``.
            Under ``torch.compile`` and in TorchScript the layer computes out of place
            (the compiler plans memory itself) and leaves the input unchanged.

    Example:
        >>> import torch
        >>> from leaky.nn import LeakyReLU
        >>> layer = LeakyReLU(0.1)
        >>> layer
        LeakyReLU(negative_slope=0.1, inplace=False)
        >>> x = torch.tensor([-2.0, 0.0, 3.0], requires_grad=True)
        >>> layer(x).sum().backward()
        >>> x.grad
        tensor([0.1000, 1.0000, 1.0000])
    """

    __constants__: ClassVar[list[str]] = ["negative_slope", "inplace"]
    negative_slope: float
    inplace: bool

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = _validate.negative_slope(negative_slope, "LeakyReLU")
        if not isinstance(inplace, bool):
            raise TypeError(
                f"The 'inplace' parameter of LeakyReLU must be a bool. Got {inplace!r} instead."
            )
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        if torch.jit.is_scripting():
            # TorchScript: the operator, out of place (TorchScript's autograd cannot use the
            # in-place backward), so inplace=True leaves the input unchanged there.
            return torch.ops.leaky.leaky_relu(x, self.negative_slope)
        return self._forward_python(x)

    @torch.jit.unused
    def _forward_python(self, x: Tensor) -> Tensor:
        if self.inplace and not torch.compiler.is_compiling():
            if torch.jit.is_tracing() and torch.onnx.is_in_onnx_export():
                return F.leaky_relu(x, self.negative_slope, inplace=True)  # exports as LeakyRelu
            return _torch.forward_inplace(x, self.negative_slope)
        return _torch.forward(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope!r}, inplace={self.inplace!r}"


@dataclass(frozen=True)
class Change:
    """One activation that ``convert`` replaced: where, what it was, what it became."""

    name: str  # qualified name ("" is the root; "fx:<node>" a functional call)
    old: str
    new: str


@dataclass
class ConversionReport:
    """What ``convert`` changed, and the functional calls it could not reach."""

    changes: list[Change] = field(default_factory=list)
    unreached: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"{len(self.changes)} activation(s) converted"]
        lines += [f"  {c.name or '<root>'}: {c.old} -> {c.new}" for c in self.changes]
        if self.unreached:
            lines.append("not converted (functional calls the model does not let torch.fx see):")
            lines += [f"  {u}" for u in self.unreached]
        return "\n".join(lines)


_FUNCTIONAL_RELUS = (F.relu, torch.relu, torch.relu_, F.relu_)
_METHOD_RELUS = ("relu", "relu_")
_INCLUDABLE = {"LeakyReLU": nn.LeakyReLU}


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _replacement(module: nn.Module, slope: float, inplace: bool | None) -> LeakyReLU:
    keep = bool(getattr(module, "inplace", False))
    return LeakyReLU(slope, inplace=keep if inplace is None else inplace)


def convert(
    model: nn.Module,
    negative_slope: float = 0.01,
    *,
    inplace: bool | None = None,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    functional: bool = True,
) -> tuple[nn.Module, ConversionReport]:
    """Replace a model's ReLUs with leaky's LeakyReLU, without touching a weight.

    Modules: every ``nn.ReLU`` in the tree (the root too) becomes ``leaky.nn.LeakyReLU``;
    ``include=["LeakyReLU"]`` also replaces ``torch.nn.LeakyReLU`` (giving it the new slope
    and leaky's gradient). ``inplace=None`` keeps each module's own ``inplace``. Functional
    calls (``F.relu``, ``torch.relu``, ``Tensor.relu``, ``relu_``) are rewritten through
    ``torch.fx`` when the model traces; when it does not, the report says which modules
    hold functional calls that stayed ReLU.

    Args:
        model: the model, modified in place where possible (a traced model is a new
            ``torch.fx.GraphModule``; use the returned model).
        negative_slope: the new slope, a real number in [0, 1].
        inplace: force ``inplace`` on every new layer, or None to keep each module's.
        include: extra activation class names to convert; only ``"LeakyReLU"`` for now.
        exclude: qualified-name patterns (``fnmatch``, like ``"layer4.*"``) left alone.
        functional: also rewrite functional ReLU calls through ``torch.fx``.

    Returns:
        ``(model, report)``: the converted model and a ``ConversionReport``.

    Example:
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(inplace=True), nn.Linear(3, 1))
        >>> model, report = convert(model, 0.1)
        >>> model[1]
        LeakyReLU(negative_slope=0.1, inplace=True)
        >>> print(report)
        1 activation(s) converted
          1: ReLU(inplace=True) -> LeakyReLU(negative_slope=0.1, inplace=True)
    """
    slope = _validate.negative_slope(negative_slope, "convert")
    include = list(include)
    unknown = [name for name in include if name not in _INCLUDABLE]
    if unknown:
        raise ValueError(
            f"The 'include' parameter of convert takes names from {sorted(_INCLUDABLE)}. "
            f"Got {unknown} instead."
        )
    targets = (nn.ReLU, *(_INCLUDABLE[n] for n in include))
    exclude = list(exclude)
    report = ConversionReport()

    def swap(module: nn.Module, name: str) -> nn.Module:
        if isinstance(module, targets) and not isinstance(module, LeakyReLU):
            if not _matches(name, exclude):
                new = _replacement(module, slope, inplace)
                report.changes.append(Change(name, repr(module), repr(new)))
                return new
            return module
        for child_name, child in list(module.named_children()):
            qualified = f"{name}.{child_name}" if name else child_name
            new_child = swap(child, qualified)
            if new_child is not child:
                setattr(module, child_name, new_child)
        return module

    model = swap(model, "")
    if functional:
        model = _convert_functional(model, slope, inplace, exclude, report)
    return model, report


def _convert_functional(
    model: nn.Module,
    slope: float,
    inplace: bool | None,
    exclude: list[str],
    report: ConversionReport,
) -> nn.Module:
    import torch.fx

    leaf_types = (LeakyReLU, nn.ReLU, nn.LeakyReLU)

    class _Tracer(torch.fx.Tracer):
        def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
            return isinstance(m, leaf_types) or super().is_leaf_module(m, qualname)

    try:
        graph = _Tracer().trace(model)
    except Exception as err:  # any trace failure means "cannot see inside"
        holders = _modules_calling_relu(model)
        reason = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        report.unreached += [
            f"{h} (forward uses a functional relu; trace failed: {reason})" for h in holders
        ]
        return model
    traced = torch.fx.GraphModule(model, graph, class_name=type(model).__name__)
    graph = traced.graph
    changed = False
    for node in list(graph.nodes):
        is_call = node.op == "call_function" and node.target in _FUNCTIONAL_RELUS
        is_method = node.op == "call_method" and node.target in _METHOD_RELUS
        if not (is_call or is_method):
            continue
        scope = node.meta.get("nn_module_stack")
        where = next(reversed(scope)) if scope else ""
        label = f"fx:{node.name}"
        if _matches(label, exclude) or (where and _matches(where, exclude)):
            continue
        in_place = node.target in (torch.relu_, F.relu_, "relu_") or bool(
            node.kwargs.get("inplace", False)
        )
        new = LeakyReLU(slope, inplace=in_place if inplace is None else inplace)
        name = f"leaky_fx_{node.name}"
        traced.add_submodule(name, new)
        with graph.inserting_before(node):
            replacement = graph.call_module(name, (node.args[0],))
        node.replace_all_uses_with(replacement)
        graph.erase_node(node)
        report.changes.append(Change(label, _describe(node), repr(new)))
        changed = True
    if not changed:
        return model
    graph.lint()
    traced.recompile()
    return traced


def _describe(node: object) -> str:
    target = node.target  # type: ignore[attr-defined]
    if isinstance(target, str):
        return f"Tensor.{target}()"
    module = getattr(target, "__module__", "") or ""
    prefix = "F" if "functional" in module else "torch"
    return f"{prefix}.{getattr(target, '__name__', str(target))}()"


def _modules_calling_relu(model: nn.Module) -> list[str]:
    """Qualified names of modules whose forward source mentions a functional relu."""
    import inspect

    found = []
    for name, module in model.named_modules():
        try:
            source = inspect.getsource(type(module).forward)
        except (OSError, TypeError):
            continue
        if any(token in source for token in ("relu(", "relu_(")) and not isinstance(
            module, (nn.ReLU, nn.LeakyReLU, LeakyReLU)
        ):
            found.append(name or "<root>")
    return found
