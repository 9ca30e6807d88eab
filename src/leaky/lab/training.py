"""One training run of a small MLP, measured every epoch: the unit every experiment shares.

A run trains an MLP (``depth`` hidden layers of ``width`` units) with plain minibatch SGD
and cross-entropy, and measures at initialisation (epoch 0) and after every epoch, over the
whole training set (never one batch):

- ``dead_fraction`` / ``negative_regime_fraction``: hidden units whose pre-activation was
  <= 0 for every training input (``leaky.monitor``): dead under ReLU, negative-regime
  under Leaky ReLU;
- ``zero_fraction``: the fraction of hidden outputs exactly 0 (exact sparsity);
- ``nonpositive_fraction``: the fraction of hidden pre-activations <= 0 (sign sparsity);
- ``zero_grad_fraction``: the fraction of exactly-zero gradients reaching the activations'
  inputs, in a full-batch backward pass;
- ``grad_norm_first``: the norm of the full-batch gradient of the first layer's weights;
- ``loss``, ``train_acc``, ``test_acc``.

A run whose loss stops being finite is marked diverged (and kept, not dropped).
Deterministic for a given configuration: seeded, and single-threaded.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines one run. ``slope == 0`` means ``torch.nn.ReLU``."""

    dataset: str = "digits"
    slope: float = 0.0
    lr: float = 0.1
    shock: float = 0.0  # subtracted from every hidden bias at initialisation
    seed: int = 0
    epochs: int = 10
    width: int = 64
    depth: int = 3
    batch_size: int = 32


@dataclass
class Grid:
    """What every grid of runs shares: seeds per configuration, model size and epochs.

    Run ``s`` of a grid with base ``seed`` uses seed ``seed * 1000 + s``, so two grids with
    the same base seed train the same initialisations.
    """

    seeds: int = 5
    epochs: int = 10
    width: int = 64
    depth: int = 3
    seed: int = 0

    def run_config(
        self, dataset: str, slope: float, lr: float, s: int, shock: float = 0.0
    ) -> RunConfig:
        return RunConfig(
            dataset=dataset,
            slope=slope,
            lr=lr,
            shock=shock,
            seed=self.seed * 1000 + s,
            epochs=self.epochs,
            width=self.width,
            depth=self.depth,
        )


@dataclass
class RunResult:
    config: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)
    diverged: bool = False
    diverged_epoch: int | None = None

    @property
    def final(self) -> dict[str, float]:
        return self.history[-1]


def build_mlp(features: int, classes: int, width: int, depth: int, slope: float):
    """An MLP with He-initialised Linear layers and ReLU (slope 0) or leaky's LeakyReLU."""
    from torch import nn

    from leaky.nn import LeakyReLU

    layers: list[nn.Module] = []
    size = features
    for _ in range(depth):
        linear = nn.Linear(size, width)
        nonlinearity = "relu" if slope == 0 else "leaky_relu"
        nn.init.kaiming_normal_(linear.weight, a=slope, nonlinearity=nonlinearity)
        nn.init.zeros_(linear.bias)
        layers += [linear, nn.ReLU() if slope == 0 else LeakyReLU(slope)]
        size = width
    layers.append(nn.Linear(size, classes))
    return nn.Sequential(*layers)


def _measure(model, data, loss_fn) -> dict[str, float]:
    """One full-batch forward and backward over the training set, and a test forward."""
    import torch

    from leaky.monitor import DeadUnitMonitor

    x = torch.from_numpy(data.x_train)
    y = torch.from_numpy(data.y_train)
    zero_grads: list[float] = []
    activations = [m for m in model if not isinstance(m, torch.nn.Linear)]

    def grad_hook(module, grad_input, grad_output) -> None:
        g = grad_input[0]
        zero_grads.append(float((g == 0).sum()) / g.numel())

    handles = [m.register_full_backward_hook(grad_hook) for m in activations]
    model.zero_grad()
    try:
        with DeadUnitMonitor(model, modules=activations) as mon:
            logits = model(x)
        loss = loss_fn(logits, y)
        loss.backward()
    finally:
        for h in handles:
            h.remove()
    report = mon.report()
    first = model[0].weight.grad
    with torch.no_grad():
        test_logits = model(torch.from_numpy(data.x_test))
    units = report.units
    positive = [p for layer in report.layers for p in layer.positive_fraction]
    result = {
        "loss": float(loss.detach()),
        "train_acc": float((logits.argmax(1) == y).double().mean()),
        "test_acc": float((test_logits.argmax(1) == torch.from_numpy(data.y_test)).double().mean()),
        "dead_fraction": report.dead / units,
        "negative_regime_fraction": report.negative_regime / units,
        "zero_fraction": report.zero_fraction,
        "nonpositive_fraction": 1.0 - float(np.mean(positive)),
        "zero_grad_fraction": float(np.mean(zero_grads)) if zero_grads else math.nan,
        "grad_norm_first": float(first.norm()) if first is not None else math.nan,
    }
    model.zero_grad()
    return result


def train_run(config: RunConfig) -> RunResult:
    """Train and measure one configuration; see the module docstring for what is measured."""
    import torch

    from leaky.lab.data import load

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: one thread is faster, and deterministic
    try:
        torch.manual_seed(config.seed)
        data = load(config.dataset, seed=0)  # one split for every run: seeds vary the init
        model = build_mlp(data.features, data.classes, config.width, config.depth, config.slope)
        if config.shock:
            with torch.no_grad():
                for m in list(model)[:-1]:
                    if isinstance(m, torch.nn.Linear):
                        m.bias -= config.shock
        loss_fn = torch.nn.CrossEntropyLoss()
        opt = torch.optim.SGD(model.parameters(), lr=config.lr)
        result = RunResult(config=asdict(config))
        result.history.append({"epoch": 0, **_measure(model, data, loss_fn)})
        x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
        gen = torch.Generator().manual_seed(config.seed)
        for epoch in range(1, config.epochs + 1):
            order = torch.randperm(len(x), generator=gen)
            for start in range(0, len(x), config.batch_size):
                batch = order[start : start + config.batch_size]
                opt.zero_grad()
                loss = loss_fn(model(x[batch]), y[batch])
                if not torch.isfinite(loss):
                    result.diverged, result.diverged_epoch = True, epoch
                    return result
                loss.backward()
                opt.step()
            measured = _measure(model, data, loss_fn)
            if not math.isfinite(measured["loss"]):
                result.diverged, result.diverged_epoch = True, epoch
                return result
            result.history.append({"epoch": epoch, **measured})
        return result
    finally:
        torch.set_num_threads(threads)


def run_many(configs: list[RunConfig], jobs: int = 1, progress: Any = None) -> list[RunResult]:
    """Run configurations, in ``jobs`` processes when > 1; results keep the input order.

    Each run is deterministic on its own, so the results do not depend on ``jobs``.
    ``progress`` (optional) is called with the number of finished runs.
    """
    if jobs <= 1 or len(configs) <= 1:
        results = []
        for i, config in enumerate(configs):
            results.append(train_run(config))
            if progress is not None:
                progress(i + 1)
        return results
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: forking a process that already runs OpenMP threads can hang.
    context = multiprocessing.get_context("spawn")
    results_by_index: dict[int, RunResult] = {}
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {pool.submit(train_run, c): i for i, c in enumerate(configs)}
        from concurrent.futures import as_completed

        for done, future in enumerate(as_completed(futures), start=1):
            results_by_index[futures[future]] = future.result()
            if progress is not None:
                progress(done)
    return [results_by_index[i] for i in range(len(configs))]
