"""``DeadUnitMonitor`` and ``diagnose``."""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import FrameType
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from leaky import _validate
from leaky.monitor._counting import _mark_channels, _Site
from leaky.monitor._kinds import (
    _ACTIVATION_FREE,
    _CHANNEL_FIRST,
    _FUNCTIONS,
    _STATE_VERSION,
    ACTIVATION_NAMES,
    ACTIVATIONS,
    _Function,
    _kind,
)
from leaky.monitor._report import MonitorReport, _layer_report
from leaky.monitor._sites import (
    _ORDER,
    _Group,
    _Intercept,
    _outside_compile,
    _Thread,
    _Watched,
)
from leaky.nn import _functional_calls

if TYPE_CHECKING:
    pass


# --------------------------------------------------------------------------- the monitor

SnapshotCallback = Callable[["MonitorReport", int], None]


class DeadUnitMonitor:
    """Streams per-unit activation statistics of a model and reports dead and dormant units.

    Use it as a context manager around training: the hooks are added on ``__enter__`` and
    removed on ``__exit__`` (also when the body raises), and counts survive an exit, so
    the window can span several ``with`` blocks. The monitor never changes an output or a
    gradient: it only reads, under ``torch.no_grad()``. It counts what runs inside the
    model's own forward (``model(x)``), only in ``train()`` mode unless
    ``count_eval=True`` (validation batches are not training data), and never inside
    ``with monitor.pause():``. Threads may run the model at once inside one monitor: each
    call is a batch, counted as one thread would count it.

    Sites: every activation layer of the model (ReLU, ReLU6, LeakyReLU, leaky's
    LeakyReLU, PReLU, RReLU, GELU, SiLU, ELU, SELU, CELU, Mish, Hardswish, Softplus), and,
    with ``functional=True``, every functional activation called in a forward (``F.relu``,
    ``torch.relu``, ``x.relu()``, ``F.leaky_relu``, ``F.gelu``, ..., through a
    ``torch.overrides.TorchFunctionMode``), named ``"<module>:<function>"`` after the
    module whose forward called it (``"layer1.0:F.relu"``, ``"<root>:torch.relu"``).
    Sites the monitor cannot reach are listed in ``report().unreached``: TorchScript
    submodules, and modules whose forward calls an activation function that was never
    seen (``functional=False``, or a code path run outside Python).

    Args:
        model: the model to watch.
        modules: watch only these activation layers (modules or qualified names); then
            functional calls are not watched.
        unit_dim: the unit axis, for every site (an int) or per site name (a mapping); by
            default the channel (axis 1) after a convolution, batch norm or 1-d pooling
            layer, else the last axis of 1-d to 3-d tensors and axis 1 of 4-d/5-d ones
            (the module docstring).
        tau: the dormant threshold on the dormancy score (module docstring), > 0 by
            default; 0 leaves only the units that were never positive.
        near_dead: the "near-dead" threshold: a unit positive on fewer than this fraction
            of its inputs (and on at least one) is near-dead.
        count_eval: also count batches run in ``eval()`` mode.
        functional: also watch functional activation calls (default: when ``modules`` is
            not given).
        on_snapshot: called as ``on_snapshot(report, step)`` by each ``snapshot()``.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
        >>> with torch.no_grad():
        ...     _ = model[0].bias.copy_(torch.tensor([-1e3, 0.0, 0.0, 0.0]))
        >>> with DeadUnitMonitor(model) as mon:
        ...     _ = model(torch.randn(64, 3))
        >>> mon.report().layers[0].dead
        [0]
        >>> print(mon.report())  # doctest: +ELLIPSIS
        layer 1: 1 of 4 units dead (25%) — revive them with leaky.monitor.revive (ReDo): ...
        model: 1 of 4 units dead (25%), 0 in the negative regime, ...
    """

    def __init__(
        self,
        model: nn.Module,
        modules: Iterable[nn.Module | str] | None = None,
        *,
        unit_dim: int | Mapping[str, int] | None = None,
        tau: float = 0.025,
        near_dead: float = 0.01,
        count_eval: bool = False,
        functional: bool | None = None,
        on_snapshot: SnapshotCallback | None = None,
    ) -> None:
        func = "DeadUnitMonitor"
        _validate.is_a(model, "model", func, nn.Module, "torch.nn.Module")
        self.tau = _validate.positive_real(tau, "tau", func, zero=True)
        self.near_dead = _validate.closed_fraction(near_dead, "near_dead", func)
        _validate.optional_flag(count_eval, "count_eval", func)
        _validate.optional_flag(functional, "functional", func)
        self.model = model
        self.count_eval = count_eval
        self.functional = modules is None if functional is None else functional
        self.on_snapshot = on_snapshot
        self.unit_dim = unit_dim
        self.history: list[dict[str, Any]] = []
        self.batches = 0
        self.skipped = 0
        self.snapshots = 0
        named = dict(_named_modules(model))
        chosen: list[tuple[str, nn.Module]]
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
        if not chosen and not self.functional:
            raise ValueError(
                "DeadUnitMonitor found no activation layer to watch; pass modules= to name "
                "them, or functional=True to watch functional calls (F.relu, ...)."
            )
        # Names of every module, for naming functional sites by the module that called.
        self._names: dict[int, str] = {}
        for name, module in named.items():
            self._names.setdefault(id(module), name or "<root>")
        self._groups: dict[str, _Group] = {}
        self._watched: dict[int, _Watched] = {}
        for name, module in chosen:
            if id(module) in self._watched:
                continue  # one module registered twice: one set of hooks
            label = name or "<root>"
            group = _Group(label, _kind(module), type(module).__name__, self._dim(label), False)
            self._groups[label] = group
            self._watched[id(module)] = _Watched(self, module, group)
        # Intercept functional calls only where some module runs code of its own.
        self._intercept = self.functional and any(
            type(m) not in _ACTIVATION_FREE
            and id(m) not in self._watched
            and not isinstance(m, _compiled_type())
            for m in model.modules()
        )
        self._channel_first = [m for m in model.modules() if isinstance(m, _CHANNEL_FIRST)]
        self._handles: list[Any] = []
        # Threads may run the model at once: each has its own forward (``_Thread``); the
        # sites are found once (``_sites._DISCOVERY``) and each counts under its lock.
        self._local = _Thread()
        self._generation = 0  # one per ``with`` block: a thread's state from an old one is stale
        self._lock = threading.Lock()  # batches and skipped
        self._unreached_cache: list[tuple[str, str, tuple[str, ...]]] | None = None
        self._warned_unused = False  # report() of a monitor never entered warns once

    def _dim(self, name: str) -> int | None:
        if isinstance(self.unit_dim, Mapping):
            return self.unit_dim.get(name)
        return self.unit_dim

    # -- attaching ---------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """True between ``__enter__`` and ``__exit__``."""
        return bool(self._handles)

    @property
    def layer_names(self) -> list[str]:
        """The names of the sites seen so far, in order (and of watched layers not yet seen)."""
        return [name for group in self._groups.values() for name in group.names()]

    def __enter__(self) -> DeadUnitMonitor:
        if self._handles:
            raise RuntimeError("This DeadUnitMonitor is already active.")
        # Every hook runs outside torch.compile's graph (``_outside_compile``).
        begin, end = _outside_compile(self._begin), _outside_compile(self._end)
        self._handles.append(self.model.register_forward_pre_hook(begin))
        self._handles.append(self.model.register_forward_hook(end, always_call=True))
        for watched in self._watched.values():
            module = watched.module
            if not watched.always:
                pre = _outside_compile(watched.pre_hook)
                self._handles.append(module.register_forward_pre_hook(pre))
            self._handles.append(module.register_forward_hook(_outside_compile(watched.post_hook)))
        mark = _outside_compile(_mark_channels)
        for module in self._channel_first:  # tells a Conv1d's (N, C, L) from (N, L, F)
            self._handles.append(module.register_forward_hook(mark))
        self._generation += 1
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._leave_forward(self._local)
        self._local.depth = 0
        self._generation += 1

    def _thread(self) -> _Thread:
        """This thread's state, fresh if it was left by an earlier ``with`` block."""
        local = self._local
        if local.generation != self._generation:
            local.depth, local.counting, local.mode = 0, False, None
            local.generation = self._generation
        return local

    def _begin(self, module: nn.Module, inputs: Any) -> None:
        local = self._thread()
        local.depth += 1
        if local.depth > 1:
            return  # the model called inside its own forward: the same batch
        local.calls.clear()
        if local.paused:
            return
        if not (module.training or self.count_eval):
            with self._lock:
                self.skipped += 1
            return
        with self._lock:
            self.batches += 1
        local.counting = True
        if self._intercept:
            local.mode = _Intercept(self)
            local.mode.__enter__()

    def _end(self, module: nn.Module, inputs: Any, output: Any) -> None:
        local = self._thread()
        local.depth = max(local.depth - 1, 0)
        if local.depth == 0:
            self._leave_forward(local)

    def _leave_forward(self, local: _Thread) -> None:
        local.counting = False
        if local.mode is not None:
            mode, local.mode = local.mode, None
            mode.__exit__(None, None, None)

    def _functional_group(self, spec: _Function) -> _Group | None:
        """The group of a functional call, named after the nearest module of the model in
        the Python call stack; None inside a watched activation layer."""
        frame: FrameType | None = sys._getframe(2)
        names, watched = self._names, self._watched
        owner = "<root>"
        while frame is not None:
            code = frame.f_code
            if code.co_argcount and code.co_varnames[0] == "self":
                obj = frame.f_locals.get("self")
                key = id(obj)
                if key in names:
                    if key in watched:
                        return None
                    owner = names[key]
                    break
            frame = frame.f_back
        name = f"{owner}:{spec.label}"
        group = self._groups.get(name)
        if group is None:  # setdefault: one group even if two threads get here at once
            group = _Group(name, spec.kind, spec.label, self._dim(name), True)
            group = self._groups.setdefault(name, group)
        return group

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Count what runs inside as one batch of the model.

        The monitor counts inside the model's own forward (``model(x)``) by itself; this
        is for training steps that call its parts instead (a LightningModule's
        ``training_step`` calling ``self.net(x)``). The same rules apply: skipped in
        ``eval()`` mode unless ``count_eval``, and inside ``pause()``.
        """
        if not self._handles:
            raise RuntimeError("DeadUnitMonitor.batch() needs an active monitor (use `with`).")
        self._begin(self.model, ())
        try:
            yield
        finally:
            self._end(self.model, (), None)

    @contextlib.contextmanager
    def pause(self) -> Iterator[None]:
        """Count nothing inside this block (a validation pass, a probe, a warm-up), in the
        thread that runs it."""
        local = self._local
        local.paused += 1
        try:
            yield
        finally:
            local.paused -= 1

    # -- the window ----------------------------------------------------------------------

    def _ordered(self) -> list[_Group]:
        """Groups in the order they were first called, then those never called."""
        groups = list(self._groups.values())
        seen = sorted((g for g in groups if g.sites), key=lambda g: g.first)
        return seen + [g for g in groups if not g.sites]

    def reset(self) -> None:
        """Start a new window: forget every count."""
        for group in self._groups.values():
            group.sites.clear()
        self._local.calls.clear()
        self.batches = 0
        self.skipped = 0

    def report(self, tau: float | None = None, *, sync: bool | None = None) -> MonitorReport:
        """The report of the current window.

        Args:
            tau: overrides the monitor's dormant threshold.
            sync: sum the counts of every process of the default ``torch.distributed``
                group first (a collective: every rank must call it). By default, whenever
                a process group with more than one process is initialised. The monitor's
                own counts are left as they are.
        """
        t = (
            self.tau
            if tau is None
            else _validate.positive_real(tau, "tau", "DeadUnitMonitor.report", zero=True)
        )
        self._warn_if_unused()
        if _should_sync(sync):
            groups, batches, skipped = self._synced()
        else:
            groups, batches, skipped = self._ordered(), self.batches, self.skipped
        reports = []
        for group in groups:
            if not group.sites:
                empty = _Site(group.kind, group.activation, None)
                if not group.functional:
                    reports.append(_layer_report(group.name, empty, t, self.near_dead, False))
                continue
            for name, site in zip(group.names(), group.sites, strict=True):
                reports.append(_layer_report(name, site, t, self.near_dead, group.functional))
        return MonitorReport(
            reports,
            batches,
            t,
            near_dead_threshold=self.near_dead,
            skipped=skipped,
            unreached=self._unreached(groups, batches),
        )

    def _warn_if_unused(self) -> None:
        """Warn once when the monitor was never entered and so has counted nothing."""
        if self._generation or self._warned_unused or self.batches or self.skipped:
            return
        if any(group.sites for group in self._groups.values()):
            return  # counts loaded by load_state_dict()
        self._warned_unused = True
        warnings.warn(
            "This DeadUnitMonitor was never started, so it has counted nothing: use it as a "
            "context manager around the training loop (`with DeadUnitMonitor(model) as mon:` "
            "... then `mon.report()`); it watches only inside the `with` block.",
            UserWarning,
            stacklevel=3,
        )

    def compute(self) -> MonitorReport:
        """``report()``, under torchmetrics' name."""
        return self.report()

    def snapshot(self, step: int | None = None) -> MonitorReport:
        """Report the window, keep it in ``history``, call ``on_snapshot(report, step)``,
        and start a new window. ``step`` defaults to the number of earlier snapshots."""
        report = self.report()
        step = self.snapshots if step is None else int(step)
        self.snapshots += 1
        self.history.append({**report.to_dict(), "step": step})
        if self.on_snapshot is not None:
            self.on_snapshot(report, step)
        self.reset()
        return report

    def plot_history(self, *, layers: bool = True) -> Any:
        """Draw the snapshots in ``history`` over their steps; returns a matplotlib ``Figure``.

        Left: the share of the model's units that are dead, in the negative regime,
        near-dead and dormant; right (``layers=True``): per site, the share of its units
        never positive (dead or negative-regime). Made with matplotlib's object API (no
        ``pyplot``, no global state): show it in a notebook, or ``fig.savefig(path)``.
        """
        from leaky._imports import require_package

        require_package("DeadUnitMonitor.plot_history", "matplotlib")
        from matplotlib.figure import Figure

        if not self.history:
            raise ValueError(
                "DeadUnitMonitor.plot_history() needs snapshots: call monitor.snapshot() "
                "once an epoch (each adds one point to history)."
            )
        steps = [entry.get("step", k) for k, entry in enumerate(self.history)]
        fig = Figure(figsize=(10 if layers else 5.5, 3.6), layout="constrained")
        axes = fig.subplots(1, 2 if layers else 1, squeeze=False)[0]
        model = axes[0]
        for key, label in (
            ("dead", "dead"),
            ("negative_regime", "negative regime"),
            ("near_dead", "near-dead"),
            ("dormant", "dormant"),
        ):
            values = [
                100 * entry[key] / entry["units"] if entry["units"] else 0.0
                for entry in self.history
            ]
            model.plot(steps, values, marker="o", label=label)
        model.set(xlabel="step", ylabel="% of the model's units", title="model")
        model.legend(fontsize="small")
        if layers:
            ax = axes[1]
            names = dict.fromkeys(
                layer["name"] for entry in self.history for layer in entry["layers"]
            )
            for name in names:
                points = [
                    (
                        step,
                        100 * (len(layer["dead"]) + len(layer["negative_regime"])) / layer["units"],
                    )
                    for step, entry in zip(steps, self.history, strict=True)
                    for layer in entry["layers"]
                    if layer["name"] == name and layer["units"]
                ]
                if points:
                    x, y = zip(*points, strict=True)
                    ax.plot(x, y, marker="o", label=_plain(name))
            ax.set(xlabel="step", ylabel="% of the site's units never positive", title="sites")
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize="small")
        return fig

    # -- checkpoints ---------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The window's counts (int64 tensors: exact), for a checkpoint."""
        return {
            "version": _STATE_VERSION,
            "batches": self.batches,
            "skipped": self.skipped,
            "snapshots": self.snapshots,
            "history": json.loads(json.dumps(self.history)),
            "groups": {
                name: {
                    "kind": group.kind,
                    "activation": group.activation,
                    "functional": group.functional,
                    "sites": [site.state() for site in group.sites],
                }
                for name, group in ((g.name, g) for g in self._ordered())
            },
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore counts saved by ``state_dict()`` (replacing the current window).

        The state must come from a monitor of the same model: the same sites (names),
        kinds and activations, and the same number of units where this monitor knows it
        (from its own counts, or from the layer before an activation in a
        ``nn.Sequential``); elsewhere the first batch that does not fit says so. The
        first difference is a ``ValueError``, and nothing is loaded.
        """
        version = state.get("version") if isinstance(state, Mapping) else None
        if version != _STATE_VERSION:
            raise ValueError(
                f"Not a DeadUnitMonitor state (version {_STATE_VERSION} expected). "
                f"Got version {version!r}."
            )
        difference = self._difference(state["groups"])
        if difference is not None:
            raise ValueError(
                f"The state does not fit this model: {difference}; load a state saved by a "
                "monitor of the same model."
            )
        self.batches = int(state["batches"])
        self.skipped = int(state["skipped"])
        self.snapshots = int(state["snapshots"])
        self.history = list(state["history"])
        for group in self._groups.values():
            group.sites.clear()
        for name, saved in state["groups"].items():
            found = self._groups.get(name)
            if found is None:
                group = _Group(
                    name, saved["kind"], saved["activation"], self._dim(name), saved["functional"]
                )
                self._groups[name] = group
            else:
                group = found
            group.sites = [_Site.from_state(s) for s in saved["sites"]]
            group.first = next(_ORDER) if group.sites else -1
            for site in group.sites:
                site.unit_dim = group.unit_dim
            device = _model_device(self.model)
            for site in group.sites:
                if site.counts is not None and site.sums is not None:
                    site._set(site.counts.to(device), site.sums.to(device))

    def _difference(self, saved_groups: Mapping[str, Any]) -> str | None:
        """The first difference between saved sites and this model's, or None."""
        owners = set(self._names.values())
        labels = {spec.label: spec for spec in _FUNCTIONS.values()}
        widths = self._widths()
        for name, saved in saved_groups.items():
            kind, activation = saved["kind"], saved["activation"]
            if saved["functional"]:
                owner, _, label = name.rpartition(":")
                if not self.functional:
                    return (
                        f"site {name!r} is a functional call, and this monitor does not "
                        "watch functional calls (functional=False or modules= given)"
                    )
                if owner not in owners or label not in labels:
                    return f"site {name!r} names no module and function of this model"
                here = (labels[label].kind, label)
                group = self._groups.get(name)
            else:
                group = self._groups.get(name)
                if group is None or group.functional:
                    mine = ", ".join(repr(g.name) for g in self._module_groups()) or "none"
                    return f"site {name!r} is in the state, not in this model (its sites: {mine})"
                here = (group.kind, group.activation)
            if here != (kind, activation):
                return (
                    f"site {name!r} is a {kind!r} site ({activation}) in the state and a "
                    f"{here[0]!r} site ({here[1]}) in this model"
                )
            for k, site in enumerate(saved["sites"]):
                if site["counts"] is None:
                    continue
                units = int(site["counts"].shape[1])
                expected = None
                if group is not None and k < len(group.sites) and group.sites[k].counts is not None:
                    expected = int(group.sites[k].counts.shape[1])  # type: ignore[union-attr]
                elif name in widths and site.get("axis") is not None:
                    width, channels = widths[name]
                    axis, ndim = site["axis"], site.get("ndim", 0)
                    if axis == (1 if channels else ndim - 1):
                        expected = width
                if expected is not None and expected != units:
                    return (
                        f"site {name!r} has {units} units in the state and {expected} in this model"
                    )
        missing = [g.name for g in self._module_groups() if g.name not in saved_groups]
        if missing:
            return f"site {missing[0]!r} of this model is not in the state"
        return None

    def _module_groups(self) -> list[_Group]:
        return [g for g in self._groups.values() if not g.functional]

    def _widths(self) -> dict[str, tuple[int, bool]]:
        """The units of watched layers fed by a sized layer in a ``nn.Sequential``:
        ``(width, True)`` for channels (a convolution, a norm), ``(width, False)`` for
        features (a Linear); only where no ``unit_dim`` was given."""
        found: dict[str, tuple[int, bool]] = {}
        for parent in self.model.modules():
            if not isinstance(parent, nn.Sequential):
                continue
            before: tuple[int, bool] | None = None
            for child in parent:
                watched = self._watched.get(id(child))
                if watched is not None and before is not None and watched.group.unit_dim is None:
                    found[watched.group.name] = before
                before = _width(child, before)
        return found

    # -- processes -----------------------------------------------------------------------

    def _synced(self) -> tuple[list[_Group], int, int]:
        """The groups with every rank's counts summed (``all_reduce``, exact int64)."""
        import torch.distributed as dist

        layout = [
            (
                name,
                g.kind,
                g.activation,
                g.functional,
                [None if s.counts is None else s.counts.shape[1] for s in g.sites],
                [(s.axis, s.ndim) for s in g.sites],
            )
            for name, g in ((g.name, g) for g in self._ordered())
        ]
        everyone: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(everyone, layout)
        merged: dict[str, list[Any]] = {}
        axes: dict[tuple[str, int], tuple[int | None, int]] = {}  # (site, k): (axis, ndim)
        for rank_layout in everyone:
            for name, kind, activation, functional, units, site_axes in rank_layout:
                entry = merged.setdefault(name, [kind, activation, functional, []])
                for k, axis in enumerate(site_axes):
                    if axis[0] is not None:
                        axes.setdefault((name, k), axis)
                for k, u in enumerate(units):
                    if k >= len(entry[3]):
                        entry[3].append(u)
                    elif entry[3][k] is None:
                        entry[3][k] = u
                    elif u is not None and u != entry[3][k]:
                        raise ValueError(
                            f"Site {name!r} has {entry[3][k]} units on one rank and {u} on "
                            "another; every rank must run the same model."
                        )
        device = (
            torch.device("cuda", torch.cuda.current_device())
            if dist.get_backend() == "nccl"
            else torch.device("cpu")
        )
        ints: list[Tensor] = [torch.tensor([self.batches, self.skipped], dtype=torch.int64)]
        floats: list[Tensor] = []
        for name, (_, _, _, units) in merged.items():
            own = self._groups.get(name)
            for k, u in enumerate(units):
                site = own.sites[k] if own is not None and k < len(own.sites) else None
                width = u or 0
                if site is not None and site.counts is not None and site.sums is not None:
                    ints += [torch.tensor([site.samples]), site.counts.cpu().flatten()]
                    floats.append(site.sums.cpu())
                else:
                    ints += [torch.zeros(1 + 3 * width, dtype=torch.int64)]
                    floats.append(torch.zeros(width, dtype=torch.float64))
        flat_i = torch.cat(ints).to(device)
        flat_f = (torch.cat(floats) if floats else torch.zeros(0, dtype=torch.float64)).to(device)
        dist.all_reduce(flat_i)
        dist.all_reduce(flat_f)
        flat_i, flat_f = flat_i.cpu(), flat_f.cpu()
        i, f = 2, 0
        groups = []
        for name, (kind, activation, functional, units) in merged.items():
            group = _Group(name, kind, activation, None, functional)
            for k, u in enumerate(units):
                width = u or 0
                site = _Site(kind, activation, None)
                site.axis, site.ndim = axes.get((name, k), (None, 0))
                site.samples = int(flat_i[i])
                if width:
                    site._set(
                        flat_i[i + 1 : i + 1 + 3 * width].view(3, width).clone(),
                        flat_f[f : f + width].clone(),
                    )
                i += 1 + 3 * width
                f += width
                group.sites.append(site)
            groups.append(group)
        return groups, int(flat_i[0]), int(flat_i[1])

    # -- what cannot be watched ------------------------------------------------------------

    def _unreached(self, groups: list[_Group], batches: int) -> list[str]:
        if self._unreached_cache is None:
            self._unreached_cache = _scan_model(self.model, set(self._watched))
        seen: dict[str, set[str]] = {}
        for g in groups:
            if g.functional and g.sites:
                owner, _, label = g.name.rpartition(":")
                seen.setdefault(owner, set()).add(label.rpartition(".")[2])
        found = []
        for name, why, calls in self._unreached_cache:
            if why == "script":
                found.append(
                    f"{name} (TorchScript: its activations run outside Python and cannot be "
                    "watched)"
                )
            elif not self.functional:
                found.append(
                    f"{name} (forward calls {', '.join(calls)}; functional calls are not "
                    "watched: functional=False or modules= given)"
                )
            elif batches:
                missing = [c for c in calls if c.rpartition(".")[2] not in seen.get(name, ())]
                if missing:
                    found.append(
                        f"{name} (forward calls {', '.join(missing)}, but no such call was "
                        "seen: a branch not taken, or code run outside Python)"
                    )
        return found

    def __repr__(self) -> str:
        layers = sum(1 for g in self._groups.values() if not g.functional)
        return (
            f"DeadUnitMonitor(model={type(self.model).__name__}, layers={layers}, "
            f"functional={self.functional}, tau={self.tau:g}, near_dead={self.near_dead:g}, "
            f"count_eval={self.count_eval}, batches={self.batches}, skipped={self.skipped}, "
            f"active={self.active})"
        )


def _plain(text: str) -> str:
    """``text`` as matplotlib must draw it: literally (a ``$`` would start mathtext)."""
    return text.replace("$", r"\$")


def _compiled_type() -> type:
    """``torch.compile``'s wrapper of a module (``OptimizedModule``), or a type nothing is
    when torch._dynamo was never imported (then nothing was compiled)."""
    dynamo = sys.modules.get("torch._dynamo.eval_frame")
    return getattr(dynamo, "OptimizedModule", _NeverCompiled)


class _NeverCompiled:
    pass


def _named_modules(
    model: nn.Module, remove_duplicate: bool = False
) -> Iterator[tuple[str, nn.Module]]:
    """``model.named_modules()`` named as the uncompiled model's: ``torch.compile``'s
    wrapper holds the model as ``_orig_mod``, a name the user never wrote (a compiled
    model's ``_orig_mod.net.1`` is ``net.1``; the wrapper and its module share a name)."""
    compiled = _compiled_type()
    seen: set[int] = set()

    def walk(module: nn.Module, name: str) -> Iterator[tuple[str, nn.Module]]:
        if remove_duplicate:
            if id(module) in seen:
                return
            seen.add(id(module))
        yield name, module
        for child_name, child in module._modules.items():
            if child is None:
                continue
            if child_name == "_orig_mod" and isinstance(module, compiled):
                yield from walk(child, name)
            else:
                yield from walk(child, f"{name}.{child_name}" if name else child_name)

    return walk(model, "")


def _width(module: nn.Module, before: tuple[int, bool] | None) -> tuple[int, bool] | None:
    """The units of ``module``'s output in a ``nn.Sequential``, ``before`` its input's."""
    if isinstance(module, nn.Linear):
        return module.out_features, False
    if isinstance(module, nn.modules.conv._ConvNd):
        return module.out_channels, True
    if isinstance(module, nn.modules.batchnorm._NormBase):
        return module.num_features, True
    if isinstance(module, (*ACTIVATIONS, nn.Identity, nn.Dropout, nn.Tanh, nn.Sigmoid)):
        return before  # element-wise: the width passes through
    return None


def _should_sync(sync: bool | None) -> bool:
    if sync is False:
        return False
    import torch.distributed as dist

    ready = dist.is_available() and dist.is_initialized()
    if sync and not ready:
        raise RuntimeError("report(sync=True) needs an initialised torch.distributed group.")
    return ready and (sync is True or dist.get_world_size() > 1)


def _model_device(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    return torch.device("cpu")


_SCAN_CACHE: dict[type, tuple[str, ...]] = {}


def _scan_model(model: nn.Module, watched: set[int]) -> list[tuple[str, str, tuple[str, ...]]]:
    """Modules the monitor may not see into: TorchScript ones, and those whose forward
    calls an activation function (found in the source, precisely: ``self.relu(x)`` on a
    submodule and ``leaky_relu`` are not ``relu``)."""
    found: list[tuple[str, str, tuple[str, ...]]] = []
    script_prefixes: list[str] = []
    for name, module in _named_modules(model, remove_duplicate=True):
        if isinstance(module, _compiled_type()):
            continue  # torch.compile's wrapper: its module is scanned under the same name
        if any(name.startswith(p) for p in script_prefixes):
            continue
        label = name or "<root>"
        if isinstance(module, torch.jit.ScriptModule):
            found.append((label, "script", ()))
            script_prefixes.append(f"{name}." if name else "")
            continue
        if id(module) in watched:
            continue
        calls = tuple(c for c, base in _functional_calls(module) if base in ACTIVATION_NAMES)
        if calls:
            found.append((label, "calls", calls))
    return found


def diagnose(
    model: nn.Module,
    batches: Iterable[Any],
    *,
    max_batches: int | None = None,
    tau: float = 0.025,
    near_dead: float = 0.01,
    progress: Callable[[int], None] | None = None,
) -> MonitorReport:
    """Run ``model`` in eval mode over ``batches`` (no gradients) and report its units.

    A batch is a tensor, or a tuple/list whose first item is the input (``(x, y)`` from a
    DataLoader), or a dict passed as keyword arguments.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Linear(3, 8), nn.ReLU())
        >>> diagnose(model, [torch.randn(16, 3) for _ in range(4)]).batches
        4
    """
    was_training = model.training
    model.eval()
    try:
        monitor = DeadUnitMonitor(model, tau=tau, near_dead=near_dead, count_eval=True)
        with monitor, torch.no_grad():
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
    return monitor.report(sync=False)
