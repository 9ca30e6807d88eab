"""Where the monitor watches: hooked activation layers and functional calls intercepted
inside a monitored forward (a ``TorchFunctionMode``)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from leaky.monitor._counting import _Site
from leaky.monitor._kinds import _ALWAYS_KEEP_SIGN, _FUNCTIONS, _module_keeps_sign

if TYPE_CHECKING:
    from leaky.monitor._monitor import DeadUnitMonitor


# --------------------------------------------------------------------------- sites


_ORDER = itertools.count()
# Sites are discovered under this lock: threads running one model find each site once.
_DISCOVERY = threading.Lock()


class _Thread(threading.local):
    """What one thread is doing inside the monitor (threads may share one monitor).

    ``depth``: nested calls of the model; ``counting``: this forward is counted;
    ``paused``: nested ``pause()`` blocks; ``mode``: the functional interception of this
    forward; ``calls``: calls of each group so far in this forward (its k-th call is its
    k-th site); ``generation``: the ``with`` block these belong to.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.counting = False
        self.paused = 0
        self.mode: _Intercept | None = None
        self.calls: dict[_Group, int] = {}
        self.generation = -1


class _Group:
    """The call sites of one module or one (module, function) pair: one site per call in a
    forward (torchvision's ResNet blocks call one ``relu`` twice), reported as ``name#0``,
    ``name#1``, ... when there are several."""

    __slots__ = ("activation", "first", "functional", "kind", "name", "sites", "unit_dim")

    def __init__(
        self, name: str, kind: str, activation: str, unit_dim: int | None, functional: bool
    ) -> None:
        self.name = name
        self.kind = kind
        self.activation = activation
        self.unit_dim = unit_dim
        self.functional = functional
        self.sites: list[_Site] = []
        self.first = -1  # when the group was first called in the window (report order)

    def next_site(self, calls: dict[_Group, int]) -> _Site:
        """The site of this group's next call in the forward whose counts are ``calls``."""
        k = calls.get(self, 0)
        calls[self] = k + 1
        sites = self.sites
        if k < len(sites):
            return sites[k]
        with _DISCOVERY:  # another thread may be adding the same site
            while k >= len(sites):
                if not sites:
                    self.first = next(_ORDER)
                sites.append(_Site(self.kind, self.activation, self.unit_dim))
            return sites[k]

    def names(self) -> list[str]:
        if len(self.sites) > 1:
            return [f"{self.name}#{k}" for k in range(len(self.sites))]
        return [self.name]


def _outside_compile(hook: Any) -> Any:
    """``hook`` as torch.compile (dynamo) must run it: eagerly, never traced.

    The counting calls numba loops and NumPy, which dynamo cannot trace: traced, each
    call warned and recompiled until ``recompile_limit``. Disabled, a hook is one graph
    break in a compiled forward, and its counts are those of the eager model. Imports
    ``torch._dynamo`` (``torch.compile`` and every optimizer step import it already).
    """
    return torch.compiler.disable(hook, recursive=True)


# The layers' hooks run inside the monitored forward, where the functional interception
# is active: their own counting must not go through it (each call would cost a Python
# round trip).
_NO_TORCH_FUNCTION = torch._C.DisableTorchFunction


class _Watched:
    """One watched activation layer and its hooks."""

    __slots__ = ("always", "group", "module", "monitor", "pending")

    def __init__(self, monitor: DeadUnitMonitor, module: nn.Module, group: _Group) -> None:
        self.monitor = monitor
        self.module = module
        self.group = group
        self.always = isinstance(module, _ALWAYS_KEEP_SIGN)  # no input hook needed
        self.pending = threading.local()  # .site: the site whose input this thread counted

    def pre_hook(self, module: nn.Module, inputs: tuple[Any, ...]) -> None:
        """Count ``x > 0`` before the call, where the output cannot tell (may be in place)."""
        local, pending = self.monitor._local, self.pending
        pending.site = None
        if not local.counting or local.paused or _module_keeps_sign(module):
            return
        if inputs and isinstance(inputs[0], Tensor) and inputs[0].ndim > 0:
            site = self.group.next_site(local.calls)
            with torch.no_grad(), _NO_TORCH_FUNCTION():
                site.add_input(inputs[0].detach(), inputs[0])
            pending.site = site

    def post_hook(self, module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        local = self.monitor._local
        pending = None
        if not self.always:
            pending, self.pending.site = getattr(self.pending, "site", None), None
        if not local.counting or local.paused:
            return
        if not isinstance(output, Tensor) or output.ndim == 0:
            return
        source = inputs[0] if inputs else None
        if pending is not None:  # the positive count came from the input
            site, positive = pending, False
        elif self.always or _module_keeps_sign(module):
            site, positive = self.group.next_site(local.calls), True
        else:
            return  # the input was not a tensor: nothing to count
        if local.mode is None:  # a detached tensor: nothing is recorded by autograd
            site.add_output(output.detach(), positive, source)
        else:
            with _NO_TORCH_FUNCTION():
                site.add_output(output.detach(), positive, source)


class _Intercept(TorchFunctionMode):
    """Sees every torch call inside the monitored forward; counts the activations among them.

    PyTorch disables the mode while ``__torch_function__`` runs, so the activation and the
    counting below it are not intercepted again.
    """

    _wrapped = False  # __torch_function__ wrapped by ``_outside_compile`` yet

    def __init__(self, monitor: DeadUnitMonitor) -> None:
        super().__init__()
        self.monitor = monitor
        cls = type(self)
        if not cls._wrapped:  # once, here: wrapping imports torch._dynamo
            cls.__torch_function__ = _outside_compile(cls.__torch_function__)  # type: ignore[method-assign]
            cls._wrapped = True

    def __torch_function__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        spec = _FUNCTIONS.get(func)
        local = self.monitor._local
        if spec is None or local.paused or not local.counting:
            return func(*args, **kwargs)
        x = args[0] if args else kwargs.get("input")
        if not isinstance(x, Tensor) or x.ndim == 0:
            return func(*args, **kwargs)
        group = self.monitor._functional_group(spec)
        if group is None:  # inside a watched layer: its hooks count it
            return func(*args, **kwargs)
        site = group.next_site(local.calls)
        keeps = spec.keeps_sign(args, kwargs)
        if not keeps:
            with torch.no_grad():
                site.add_input(x.detach(), x)
        out = func(*args, **kwargs)
        if isinstance(out, Tensor) and out.ndim > 0:
            with torch.no_grad():
                site.add_output(out.detach(), keeps, x)
        return out
