"""Built-in objectives for slope tuning: ``objective(negative_slope, seed) -> accuracy``.

Each trains a 3 x 64 MLP with the given slope and seed and returns the accuracy on the
held-out split, to maximise (NaN if the loss stops being finite: ``leaky tune`` counts
that trial as failed). ``leaky tune --objective NAME`` takes these names; any
``pkg.module:function`` with the same signature works too.

**Deterministic, also from several threads at once** (``leaky tune --jobs 2`` runs
objectives in threads): every random draw, the initialisation and the batch order, comes
from a ``torch.Generator`` of the run's own, seeded with ``seed``; PyTorch's global
generator is neither read nor changed, so the same (slope, seed) gives the same value
whatever runs beside it. The data split is fixed (seed 0): seeds vary the initialisation
and the batch order.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, Literal

from leaky.lab._threads import one_thread

EPOCHS = 10
WIDTH = 64
DEPTH = 3
BATCH_SIZE = 32


def train_mlp(dataset: str, negative_slope: float, seed: int, lr: float) -> float:
    """Held-out accuracy of a 3 x 64 MLP trained 10 epochs with SGD; NaN if it diverged.

    He-initialised hidden layers for the slope (``kaiming_normal_`` with ``a = slope``),
    zero biases, PyTorch's default initialisation for the output layer, minibatches of 32
    in an order drawn anew each epoch; every draw from one generator seeded with ``seed``.
    """
    from leaky.lab.data import load

    with one_thread():  # one split for every run (seed 0): seeds vary the init
        return _train(load(dataset, seed=0), negative_slope, seed, lr)


def _train(data: Any, negative_slope: float, seed: int, lr: float) -> float:
    import torch
    from torch import nn

    from leaky.nn import LeakyReLU

    gen = torch.Generator().manual_seed(seed)
    layers: list[nn.Module] = []
    size = data.features
    with torch.device("meta"):  # no draw from the global generator while building
        for _ in range(DEPTH):
            layers += [nn.Linear(size, WIDTH), LeakyReLU(negative_slope)]
            size = WIDTH
        layers.append(nn.Linear(size, data.classes))
        model = nn.Sequential(*layers)
    model = model.to_empty(device="cpu")
    linears = [m for m in model if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for linear in linears[:-1]:
            nonlinearity: Literal["relu", "leaky_relu"] = (
                "relu" if negative_slope == 0 else "leaky_relu"
            )
            nn.init.kaiming_normal_(
                linear.weight, a=negative_slope, nonlinearity=nonlinearity, generator=gen
            )
            linear.bias.zero_()
        out = linears[-1]
        nn.init.kaiming_uniform_(out.weight, a=math.sqrt(5), generator=gen)
        bound = 1 / math.sqrt(out.weight.shape[1])
        out.bias.uniform_(-bound, bound, generator=gen)
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(EPOCHS):
        order = torch.randperm(len(x), generator=gen)
        for start in range(0, len(x), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            opt.zero_grad()
            loss = loss_fn(model(x[batch]), y[batch])
            if not torch.isfinite(loss):
                return math.nan
            loss.backward()
            opt.step()
    with torch.inference_mode():
        predicted = model(torch.from_numpy(data.x_test)).argmax(1)
    return float((predicted == torch.from_numpy(data.y_test)).double().mean())


def digits_mlp(negative_slope: float, seed: int) -> float:
    """Held-out accuracy of a 3 x 64 MLP trained 10 epochs on digits (SGD, lr 0.1).

    Examples:
        >>> 0.5 < digits_mlp(0.01, seed=0) <= 1.0
        True
    """
    return train_mlp("digits", negative_slope, seed, lr=0.1)


def blobs_mlp(negative_slope: float, seed: int) -> float:
    """Held-out accuracy of a 3 x 64 MLP trained 10 epochs on overlapping 10-D blobs."""
    return train_mlp("blobs", negative_slope, seed, lr=0.05)


OBJECTIVES: dict[str, Callable[[float, int], float]] = {
    "digits-mlp": digits_mlp,
    "blobs-mlp": blobs_mlp,
}


def resolve(
    name: str,
    param: str = "objective",
    func: str = "leaky compare",
    load: Callable[[str], Any] | None = None,
) -> Callable[[float, int], float]:
    """An objective by name: a built-in one (``digits-mlp``), or ``pkg.module:function``.

    The one resolver of ``leaky tune`` and ``leaky compare`` (and of compare's tasks, in
    whatever process runs them). ``load`` imports a ``pkg.module:function`` (default:
    ``leaky.lab._checks.load_object``; the CLI passes its own, which imports leaky's
    dependencies first and reports the user's import errors in one line).

    Examples:
        >>> resolve("digits-mlp") is digits_mlp
        True
        >>> resolve("nope", "--objective", "leaky tune")
        Traceback (most recent call last):
          ...
        ValueError: The '--objective' parameter of leaky tune must be a built-in objective (digits-mlp, blobs-mlp) or 'pkg.module:function'. Got 'nope' instead.
    """  # noqa: E501
    if name in OBJECTIVES:
        return OBJECTIVES[name]
    if ":" not in name:
        raise ValueError(
            f"The '{param}' parameter of {func} must be a built-in objective "
            f"({', '.join(OBJECTIVES)}) or 'pkg.module:function'. Got {name!r} instead."
        )
    if load is None:
        from leaky.lab import _checks

        load = functools.partial(_checks.load_object, param=param, func=func)
    objective: Callable[[float, int], float] = load(name)
    return objective
