"""Leaky ReLU in PyTorch networks: the ``LeakyReLU`` layer and ``convert`` for existing models.

Requires the ``torch`` extra (``pip install "leaky[torch]"``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar, overload

from leaky._imports import require

require("leaky.nn", "torch", ("torch",))  # one line naming the extra, not a traceback

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from leaky import _torch, _validate

__all__ = ["Change", "ConversionReport", "LeakyReLU", "convert"]


class LeakyReLU(nn.Module):
    r"""Leaky ReLU layer with leaky's contract: ``y = x`` if ``x >= 0`` else ``a * x``.

    Values equal ``torch.nn.LeakyReLU`` bit for bit (for ``a > 0``; for ``a == 0`` every
    negative input gives +0.0, as ReLU). The gradient is leaky's: **1 at x == 0** (PyTorch's
    layer gives ``a``) and NaN at a NaN input, in reverse and forward mode (``jvp``) alike.
    Works under ``torch.compile``, under ``torch.func`` (``vmap``, ``grad``, ``jacrev``,
    ``hessian``, per-sample gradients), in TorchScript (``torch.jit.script`` and
    ``torch.jit.trace``: plain aten operations, so a saved file loads without leaky) and
    exports to ONNX as the standard ``LeakyRelu`` node with ``alpha = negative_slope``.

    Args:
        negative_slope: the slope ``a`` for negative inputs, a real number in [0, 1].
        inplace: overwrite the input. The backward then needs no copy of it: it reads the
            output's sign (slope > 0) or a one-byte mask (slope 0). One caveat: a negative
            input so small that ``a*x`` underflows to -0.0 gets the gradient of ``x >= 0``.
            Under ``torch.compile``, ``torch.func`` transforms, forward-mode AD and in
            TorchScript the layer computes out of place (the compiler plans memory
            itself) and leaves the input unchanged.

    Examples:
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
            # TorchScript: plain aten operations with the contract's values and gradient
            # (a saved file needs only torch), out of place (TorchScript's autograd cannot
            # use the in-place backward), so inplace=True leaves the input unchanged there.
            return _torch.aten_forward(x, self.negative_slope)
        return self._forward_python(x)

    @torch.jit.unused
    def _forward_python(self, x: Tensor) -> Tensor:
        if self.inplace and not torch.compiler.is_compiling():
            if torch.jit.is_tracing():  # type: ignore[no-untyped-call]  # torch: unannotated
                if torch.onnx.is_in_onnx_export():  # exports as LeakyRelu
                    return F.leaky_relu(x, self.negative_slope, inplace=True)
                return _torch.aten_forward(x, self.negative_slope)  # as in torch.jit.script
            return _torch.forward_inplace(x, self.negative_slope)
        return _torch.forward(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope!r}, inplace={self.inplace!r}"


@dataclass(frozen=True)
class Change:
    """One activation that ``convert`` replaced: where, what it was, what it became.

    ``name`` is the qualified name of the replaced module ("" is the root), or
    ``"<module>:<node>"`` for a functional call rewritten in that module's forward.
    """

    name: str
    old: str
    new: str


@dataclass
class ConversionReport:
    """What ``convert`` changed, what it could not reach, and what changed about types.

    Attributes:
        changes: one ``Change`` per activation replaced (a module registered at two
            places is two changes).
        unreached: modules whose forward calls a functional ReLU that stayed ReLU, and why.
        rewritten: one line per module whose ``forward`` was replaced by a torch.fx
            rewrite, saying exactly what changed about it (its class, methods and
            attributes are kept; only the instance's ``forward`` is new).
    """

    changes: list[Change] = field(default_factory=list)
    unreached: list[str] = field(default_factory=list)
    rewritten: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"{len(self.changes)} activation(s) converted"]
        lines += [f"  {c.name or '<root>'}: {c.old} -> {c.new}" for c in self.changes]
        if self.rewritten:
            lines.append("forward rewritten (torch.fx):")
            lines += [f"  {r}" for r in self.rewritten]
        if self.unreached:
            lines.append("not converted (functional calls the model does not let torch.fx see):")
            lines += [f"  {u}" for u in self.unreached]
        return "\n".join(lines)


_FUNCTIONAL_RELUS = (F.relu, torch.relu, torch.relu_, F.relu_)
_METHOD_RELUS = ("relu", "relu_")
_RELU_NAMES = frozenset({"relu", "relu_"})
_INCLUDABLE = {"LeakyReLU": nn.LeakyReLU}

LayerFactory = Callable[..., nn.Module]


def _matches(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _make(layer: LayerFactory, slope: float, inplace: bool) -> nn.Module:
    new = layer(negative_slope=slope, inplace=inplace)
    if not isinstance(new, nn.Module):
        raise TypeError(
            "The 'layer' parameter of convert must make a torch.nn.Module when called as "
            f"layer(negative_slope=..., inplace=...). Got {type(new).__name__} instead."
        )
    return new


ModelT = TypeVar("ModelT", bound=nn.Module)


@overload
def convert(  # a ReLU root is replaced: not the same type
    model: nn.ReLU | nn.LeakyReLU,
    negative_slope: float = ...,
    *,
    layer: LayerFactory = ...,
    inplace: bool | None = ...,
    include: Iterable[str] = ...,
    exclude: Iterable[str] = ...,
    functional: bool = ...,
    report: Callable[[ConversionReport], object] | None = ...,
) -> nn.Module: ...


@overload
def convert(
    model: ModelT,
    negative_slope: float = ...,
    *,
    layer: LayerFactory = ...,
    inplace: bool | None = ...,
    include: Iterable[str] = ...,
    exclude: Iterable[str] = ...,
    functional: bool = ...,
    report: Callable[[ConversionReport], object] | None = ...,
) -> ModelT: ...


def convert(
    model: nn.Module,
    negative_slope: float = 0.01,
    *,
    layer: LayerFactory = LeakyReLU,
    inplace: bool | None = None,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    functional: bool = True,
    report: Callable[[ConversionReport], object] | None = None,
) -> nn.Module:
    """Replace a model's ReLUs with Leaky ReLU, without touching a weight; return the model.

    Used as ``model = convert(model)``, like ``nn.SyncBatchNorm.convert_sync_batchnorm``.

    Modules: every ``nn.ReLU`` in the tree (the root too, and every place a module is
    registered: one ``nn.ReLU`` instance used twice is replaced at both places, by one
    shared new layer) becomes ``layer(negative_slope=..., inplace=...)``: leaky's
    ``LeakyReLU`` by default (leaky's gradient: 1 at 0), or ``layer=torch.nn.LeakyReLU``
    for a model that needs nothing but torch to load. ``include=["LeakyReLU"]`` also
    replaces ``torch.nn.LeakyReLU`` (giving it the new slope). ``inplace=None`` keeps
    each module's own ``inplace``.

    Functional calls (``F.relu``, ``torch.relu``, ``Tensor.relu``, ``relu_``) are
    rewritten through ``torch.fx``, one module at a time: each module whose forward calls
    one is traced on its own (its submodules left as calls), the new layers are added to
    it as submodules, and **only its forward is replaced** (on the instance): its class,
    ``isinstance`` checks, methods, attributes, hooks and the modules around it stay as
    they are, and ``report.rewritten`` says which forwards were replaced. Pickling such a
    module whole (``torch.save(model)``) then needs leaky to load (the new forward is
    leaky's); its ``state_dict`` does not. A module whose forward does not trace (data
    dependent control flow) keeps its functional ReLUs, and the report says which and why.

    Args:
        model: the model, modified in place (the root itself is replaced when it is an
            ``nn.ReLU``: use the returned model).
        negative_slope: the new slope, a real number in [0, 1].
        layer: the new layer's class (or any callable taking ``negative_slope`` and
            ``inplace``); ``leaky.nn.LeakyReLU`` by default, ``torch.nn.LeakyReLU`` for a
            model without leaky.
        inplace: force ``inplace`` on every new layer, or None to keep each module's.
        include: extra activation class names to convert; only ``"LeakyReLU"`` for now.
        exclude: qualified-name patterns (``fnmatch``, like ``"layer4.*"``) left alone.
        functional: also rewrite functional ReLU calls through ``torch.fx``.
        report: called once with the ``ConversionReport`` (``report=print`` prints it;
            ``report=reports.append`` keeps it).

    Returns:
        The converted model: ``model`` itself (typed as its own class), unless the root is
        a ReLU that was replaced.

    Examples:
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(inplace=True), nn.Linear(3, 1))
        >>> model = convert(model, 0.1, report=print)
        1 activation(s) converted
          1: ReLU(inplace=True) -> LeakyReLU(negative_slope=0.1, inplace=True)
        >>> model[1]
        LeakyReLU(negative_slope=0.1, inplace=True)
    """
    slope = _validate.negative_slope(negative_slope, "convert")
    if not isinstance(model, nn.Module):
        raise TypeError(
            "The 'model' parameter of convert must be a torch.nn.Module. "
            f"Got {type(model).__name__} instead."
        )
    if not callable(layer):
        raise TypeError(
            "The 'layer' parameter of convert must be a class or callable making the new "
            f"layer (leaky.nn.LeakyReLU, torch.nn.LeakyReLU). Got {layer!r} instead."
        )
    if report is not None and not callable(report):
        raise TypeError(
            f"The 'report' parameter of convert must be callable or None. Got {report!r}."
        )
    include = list(include)
    unknown = [name for name in include if name not in _INCLUDABLE]
    if unknown:
        raise ValueError(
            f"The 'include' parameter of convert takes names from {sorted(_INCLUDABLE)}. "
            f"Got {unknown} instead."
        )
    new_type = layer if isinstance(layer, type) else None
    targets = (nn.ReLU, *(_INCLUDABLE[n] for n in include))
    exclude = list(exclude)
    result = ConversionReport()
    replaced: dict[int, nn.Module] = {}  # one new layer per old instance, however shared

    def should_swap(module: nn.Module, name: str) -> bool:
        if not isinstance(module, targets) or _matches(name, exclude):
            return False
        return new_type is None or type(module) is not new_type or isinstance(module, nn.ReLU)

    def swap(module: nn.Module, name: str) -> nn.Module:
        if isinstance(module, torch.jit.ScriptModule):
            _report_scripted(module, name, result)
            return module
        if should_swap(module, name):
            new = replaced.get(id(module))
            if new is None:
                keep = bool(getattr(module, "inplace", False))
                new = _make(layer, slope, keep if inplace is None else inplace)
                replaced[id(module)] = new
            result.changes.append(Change(name, repr(module), repr(new)))
            return new
        # _modules, not named_children(): named_children() skips a module registered twice
        for child_name, child in list(module._modules.items()):
            if child is None:
                continue
            qualified = f"{name}.{child_name}" if name else child_name
            new_child = swap(child, qualified)
            if new_child is not child:
                module._modules[child_name] = new_child
        return module

    model = swap(model, "")
    if functional:
        _convert_functional(model, slope, layer, inplace, exclude, result)
    if report is not None:
        report(result)
    return model


def _report_scripted(module: torch.jit.ScriptModule, name: str, report: ConversionReport) -> None:
    """A TorchScript module is compiled code convert cannot change: its ReLUs are listed in
    ``report.unreached``, never skipped silently."""
    try:
        graph = str(module.inlined_graph)
    except (AttributeError, RuntimeError):  # no forward compiled
        return
    relus = graph.count("aten::relu(") + graph.count("aten::relu_(")
    if relus:
        report.unreached.append(
            f"{name or '<root>'} (a TorchScript module: {relus} ReLU call(s) compiled in it "
            "stay ReLU; convert cannot change compiled code: convert the model before "
            "scripting it)"
        )


def _relu_calls_in(source: str) -> list[str]:
    """The functional ReLU calls (``torch.relu(x)``, ``x.relu()``...) left in a forward's
    source; calls of ``self.<name>`` are submodule calls."""
    import ast

    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        on_self = isinstance(func, ast.Attribute) and ast.unparse(func.value) == "self"
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in _RELU_NAMES and not on_self:
            found.append(ast.unparse(func))
    return found


def _functional_calls(module: nn.Module) -> list[tuple[str, str]]:
    """The functional calls in ``type(module).forward``'s source: ``(text, name)`` pairs.

    Read from the syntax tree, so it is precise: ``F.relu(x)``, ``torch.relu(x)``,
    ``x.relu()`` and ``relu(x)`` are calls named ``relu``; ``leaky_relu(x)`` is named
    ``leaky_relu``; ``self.relu(x)`` is a call of a submodule (not functional) when
    ``module.relu`` is an ``nn.Module``. Empty where the source cannot be read.
    """
    cls = type(module)
    calls = _SOURCE_CALLS.get(cls)
    if calls is None:
        calls = _SOURCE_CALLS[cls] = _calls_in_source(cls)
    found = []
    for text, name, on_self in calls:
        if on_self and isinstance(getattr(module, name, None), nn.Module):
            continue  # self.relu(x): a submodule
        found.append((text, name))
    return found


_SOURCE_CALLS: dict[type, list[tuple[str, str, bool]]] = {}


def _calls_in_source(cls: type) -> list[tuple[str, str, bool]]:
    import ast
    import inspect
    import textwrap

    forward = getattr(cls, "forward", None)
    if forward is None or forward in (nn.Module.forward,):
        return []
    if getattr(forward, "__module__", "").startswith("torch."):
        return []  # torch's own layers: watched or converted as modules
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(forward)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return []
    calls: list[tuple[str, str, bool]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            on_self = isinstance(func.value, ast.Name) and func.value.id == "self"
            calls.append((ast.unparse(func), func.attr, on_self))
        elif isinstance(func, ast.Name):
            calls.append((func.id, func.id, False))
    return calls


class _Forward:
    """A forward generated by torch.fx for one module, bound to it (the instance keeps its
    class). Pickles as its source code (imports + function), recompiled on load."""

    def __init__(self, owner: nn.Module, source: str) -> None:
        self.owner = owner
        self.source = source
        namespace: dict[str, object] = {}
        name = f"<leaky.nn.convert: {type(owner).__qualname__}.forward>"
        exec(compile(source, name, "exec"), namespace)
        self._function = namespace["forward"]

    def __call__(self, *args: object, **kwargs: object) -> object:
        return self._function(self.owner, *args, **kwargs)  # type: ignore[operator]

    def __reduce__(self) -> tuple[object, ...]:
        return (_Forward, (self.owner, self.source))

    def prepare_scriptable(self) -> nn.Module:
        """What ``torch.jit.script`` compiles in the owner's place (its
        ``__prepare_scriptable__``): a shallow copy of the owner whose ``forward`` is this
        source as a real method, its text registered in ``linecache`` (TorchScript reads
        source), as torch.fx does for a GraphModule. The owner itself is left as it is."""
        import contextlib
        import copy
        import linecache
        import types

        owner = self.owner
        stand_in = copy.copy(owner)
        stand_in.__dict__["_modules"] = dict(owner._modules)  # scripting rewrites this dict
        del stand_in.__dict__["__prepare_scriptable__"]
        filename = f"<leaky.nn.convert: {type(owner).__qualname__}.forward, {id(self):x}>"
        linecache.cache[filename] = (len(self.source), None, self.source.splitlines(True), filename)
        namespace: dict[str, object] = {}
        exec(compile(self.source, filename, "exec"), namespace)
        for name, value in list(namespace.items()):  # string annotations ('torch.Tensor')
            if isinstance(value, str) and name != "__builtins__":
                with contextlib.suppress(NameError, AttributeError, SyntaxError):
                    namespace[name] = eval(value, namespace)  # TorchScript needs the type
        function = namespace["forward"]
        stand_in.__dict__["forward"] = types.MethodType(function, stand_in)  # type: ignore[arg-type]
        return stand_in


def _forward_source(graph: object) -> str:
    """The Python source of a graph's forward with the imports it needs (as torch.fx's
    GraphModule pickles itself)."""
    from torch.fx.graph_module import _format_import_statement
    from torch.package import sys_importer

    code = graph.python_code(root_module="self")  # type: ignore[attr-defined]
    lines = {
        f"{name} = {obj!r}"
        if isinstance(obj, str)
        else _format_import_statement(name, obj, sys_importer)
        for name, obj in code.globals.items()
    }
    src: str = code.src
    return "\n".join(sorted(lines)) + "\n" + src


def _convert_functional(
    model: nn.Module,
    slope: float,
    layer: LayerFactory,
    inplace: bool | None,
    exclude: list[str],
    report: ConversionReport,
) -> None:
    done: set[int] = set()
    for name, module in list(model.named_modules()):
        if id(module) in done or isinstance(
            module, (LeakyReLU, nn.ReLU, nn.LeakyReLU, torch.jit.ScriptModule)
        ):
            continue  # a TorchScript module is reported by convert's module pass
        done.add(id(module))
        label = name or "<root>"
        rewritten = module.__dict__.get("forward")
        if isinstance(rewritten, _Forward):
            # An earlier convert rewrote this forward: its functional sites are submodules
            # now (converted by the module pass, following include=); tracing the class's
            # forward again would add a second layer per site and orphan the first.
            left = _relu_calls_in(rewritten.source)
            if left:
                report.unreached.append(
                    f"{label} (forward already rewritten by convert; functional call(s) "
                    f"{', '.join(left)} left by that convert stay ReLU)"
                )
            continue
        calls = [text for text, base in _functional_calls(module) if base in _RELU_NAMES]
        if not calls or (name and _matches(name, exclude)):
            continue
        _rewrite_forward(module, label, calls, slope, layer, inplace, exclude, report)


def _rewrite_forward(
    module: nn.Module,
    label: str,
    calls: list[str],
    slope: float,
    layer: LayerFactory,
    inplace: bool | None,
    exclude: list[str],
    report: ConversionReport,
) -> None:
    import torch.fx

    class _Tracer(torch.fx.Tracer):
        def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
            return True  # trace this module's own forward only; submodules stay calls

    try:
        graph = _Tracer().trace(module)
    except Exception as err:  # any trace failure means "cannot see inside"
        reason = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        report.unreached.append(
            f"{label} (forward calls {', '.join(calls)}; torch.fx could not trace it: {reason})"
        )
        return
    traced = torch.fx.GraphModule(module, graph)
    graph = traced.graph
    added: list[str] = []
    for node in list(graph.nodes):
        is_call = node.op == "call_function" and node.target in _FUNCTIONAL_RELUS
        is_method = node.op == "call_method" and node.target in _METHOD_RELUS
        if not (is_call or is_method):
            continue
        where = f"{label}:{node.name}"
        if _matches(where, exclude):
            continue
        in_place = node.target in (torch.relu_, F.relu_, "relu_") or bool(
            node.kwargs.get("inplace", False)
        )
        new = _make(layer, slope, in_place if inplace is None else inplace)
        sub = _free_name(module, f"leaky_{node.name}")
        module.add_module(sub, new)
        traced.add_submodule(sub, new)
        with graph.inserting_before(node):
            replacement = graph.call_module(sub, (node.args[0],))
        node.replace_all_uses_with(replacement)
        graph.erase_node(node)
        report.changes.append(Change(where, _describe(node), repr(new)))
        added.append(sub)
    if not added:
        return
    graph.lint()
    constants = []
    for node in graph.nodes:  # constants the trace created live on the traced copy only
        if node.op == "get_attr" and not _has_path(module, node.target):
            value = _get_path(traced, node.target)
            if isinstance(value, Tensor) and "." not in node.target:
                module.register_buffer(node.target, value, persistent=False)
            else:
                _set_path(module, node.target, value)
            constants.append(node.target)
    forward = _Forward(module, _forward_source(graph))
    module.forward = forward
    # torch's stub types Module.__setattr__'s value as Tensor | Module; torch.jit.script
    # reads this attribute (a method), which nn.Module stores like any other attribute
    module.__prepare_scriptable__ = forward.prepare_scriptable  # type: ignore[assignment]
    extra = f"; constant(s) added: {', '.join(constants)}" if constants else ""
    report.rewritten.append(
        f"{label} ({type(module).__qualname__}): forward replaced on the instance by a traced "
        f"forward calling the new submodule(s) {', '.join(added)}{extra}; class, methods and "
        "attributes unchanged"
    )


def _has_path(obj: object, path: str) -> bool:
    try:
        _get_path(obj, path)
    except AttributeError:
        return False
    return True


def _get_path(obj: object, path: str) -> object:
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def _set_path(obj: object, path: str, value: object) -> None:
    *parents, last = path.split(".")
    for part in parents:
        obj = getattr(obj, part)
    setattr(obj, last, value)


def _free_name(module: nn.Module, base: str) -> str:
    name, k = base, 1
    while hasattr(module, name):
        name, k = f"{base}_{k}", k + 1
    return name


def _describe(node: object) -> str:
    target = node.target  # type: ignore[attr-defined]
    if isinstance(target, str):
        return f"Tensor.{target}()"
    module = getattr(target, "__module__", "") or ""
    prefix = "F" if "functional" in module else "torch"
    return f"{prefix}.{getattr(target, '__name__', str(target))}()"
