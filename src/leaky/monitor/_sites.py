"""Where the monitor watches: hooked activation layers and functional calls intercepted
inside a monitored forward (a ``TorchFunctionMode``)."""

from __future__ import annotations

import itertools
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


class _Group:
    """The call sites of one module or one (module, function) pair: one site per call in a
    forward (torchvision's ResNet blocks call one ``relu`` twice), reported as ``name#0``,
    ``name#1``, ... when there are several."""

    __slots__ = ("activation", "calls", "first", "functional", "kind", "name", "sites", "unit_dim")

    def __init__(
        self, name: str, kind: str, activation: str, unit_dim: int | None, functional: bool
    ) -> None:
        self.name = name
        self.kind = kind
        self.activation = activation
        self.unit_dim = unit_dim
        self.functional = functional
        self.sites: list[_Site] = []
        self.calls = 0
        self.first = -1  # when the group was first called in the window (report order)

    def next_site(self) -> _Site:
        if self.calls >= len(self.sites):
            if not self.sites:
                self.first = next(_ORDER)
            self.sites.append(_Site(self.kind, self.activation, self.unit_dim))
        site = self.sites[self.calls]
        self.calls += 1
        return site

    def names(self) -> list[str]:
        if len(self.sites) > 1:
            return [f"{self.name}#{k}" for k in range(len(self.sites))]
        return [self.name]


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
        self.pending: _Site | None = None  # the site whose input was counted

    def pre_hook(self, module: nn.Module, inputs: tuple[Any, ...]) -> None:
        """Count ``x > 0`` before the call, where the output cannot tell (may be in place)."""
        self.pending = None
        if not self.monitor._counting or self.monitor._paused or _module_keeps_sign(module):
            return
        if inputs and isinstance(inputs[0], Tensor) and inputs[0].ndim > 0:
            site = self.group.next_site()
            with torch.no_grad(), _NO_TORCH_FUNCTION():
                site.add_input(inputs[0].detach())
            self.pending = site

    def post_hook(self, module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        pending, self.pending = self.pending, None
        monitor = self.monitor
        if not monitor._counting or monitor._paused:
            return
        if not isinstance(output, Tensor) or output.ndim == 0:
            return
        if pending is not None:  # the positive count came from the input
            site, positive = pending, False
        elif self.always or _module_keeps_sign(module):
            site, positive = self.group.next_site(), True
        else:
            return  # the input was not a tensor: nothing to count
        if monitor._mode is None:  # a detached tensor: nothing is recorded by autograd
            site.add_output(output.detach(), positive)
        else:
            with _NO_TORCH_FUNCTION():
                site.add_output(output.detach(), positive)


class _Intercept(TorchFunctionMode):
    """Sees every torch call inside the monitored forward; counts the activations among them.

    PyTorch disables the mode while ``__torch_function__`` runs, so the activation and the
    counting below it are not intercepted again.
    """

    def __init__(self, monitor: DeadUnitMonitor) -> None:
        super().__init__()
        self.monitor = monitor

    def __torch_function__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        spec = _FUNCTIONS.get(func)
        if spec is None or self.monitor._paused or not self.monitor._counting:
            return func(*args, **kwargs)
        x = args[0] if args else kwargs.get("input")
        if not isinstance(x, Tensor) or x.ndim == 0:
            return func(*args, **kwargs)
        group = self.monitor._functional_group(spec)
        if group is None:  # inside a watched layer: its hooks count it
            return func(*args, **kwargs)
        site = group.next_site()
        keeps = spec.keeps_sign(args, kwargs)
        if not keeps:
            with torch.no_grad():
                site.add_input(x.detach())
        out = func(*args, **kwargs)
        if isinstance(out, Tensor) and out.ndim > 0:
            with torch.no_grad():
                site.add_output(out.detach(), positive=keeps)
        return out
