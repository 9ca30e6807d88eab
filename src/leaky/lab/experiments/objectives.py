"""Built-in objectives for slope tuning: ``objective(negative_slope, seed) -> accuracy``.

Each trains an MLP with the given slope and seed (``leaky.lab.training``) and
returns the accuracy on the held-out split, to maximise. ``leaky tune --objective NAME``
takes these names; any ``pkg.module:function`` with the same signature works too.
"""

from __future__ import annotations

from collections.abc import Callable

from leaky.lab.training import RunConfig, train_run


def digits_mlp(negative_slope: float, seed: int) -> float:
    """Held-out accuracy of a 3 x 64 MLP trained 10 epochs on digits (SGD, lr 0.1).

    Example:
        >>> 0.5 < digits_mlp(0.01, seed=0) <= 1.0
        True
    """
    run = train_run(RunConfig(dataset="digits", slope=negative_slope, seed=seed, lr=0.1))
    return float("nan") if run.diverged else run.final["test_acc"]


def blobs_mlp(negative_slope: float, seed: int) -> float:
    """Held-out accuracy of a 3 x 64 MLP trained 10 epochs on overlapping 10-D blobs."""
    run = train_run(RunConfig(dataset="blobs", slope=negative_slope, seed=seed, lr=0.05))
    return float("nan") if run.diverged else run.final["test_acc"]


OBJECTIVES: dict[str, Callable[[float, int], float]] = {
    "digits-mlp": digits_mlp,
    "blobs-mlp": blobs_mlp,
}
