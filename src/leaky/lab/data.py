"""The data sets the experiments use: bundled or generated, never downloaded.

- ``digits``: scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes),
  read from the installed package (``sklearn.datasets.load_digits``), no network.
- ``spirals``: two interleaved noisy spirals in 2-D, generated (a classic task that needs
  a non-linear model).
- ``blobs``: overlapping Gaussian clusters in 10-D, 4 classes, generated.

Each returns a ``Dataset`` of float32 arrays, standardised with the training split's mean
and standard deviation, split deterministically by ``seed``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NAMES = ("digits", "spirals", "blobs")


@dataclass(frozen=True)
class Dataset:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int

    @property
    def features(self) -> int:
        return self.x_train.shape[1]


def _split(name: str, x: np.ndarray, y: np.ndarray, seed: int, test: float) -> Dataset:
    order = np.random.default_rng(seed).permutation(len(x))
    cut = round(len(x) * (1 - test))
    train, held = order[:cut], order[cut:]
    mean = x[train].mean(axis=0)
    std = x[train].std(axis=0)
    std[std == 0] = 1.0
    x = ((x - mean) / std).astype(np.float32)
    return Dataset(
        name,
        x[train],
        y[train].astype(np.int64),
        x[held],
        y[held].astype(np.int64),
        int(y.max()) + 1,
    )


def digits(seed: int = 0, test: float = 0.2) -> Dataset:
    """scikit-learn's bundled digits, standardised; 80 % train, 20 % test.

    Example:
        >>> d = digits()
        >>> d.x_train.shape, d.x_test.shape, d.classes
        ((1438, 64), (359, 64), 10)
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return _split("digits", bunch.data.astype(np.float64), bunch.target, seed, test)


def spirals(n: int = 1000, noise: float = 0.2, seed: int = 0, test: float = 0.2) -> Dataset:
    """Two interleaved spirals, ``n`` points in all, generated from ``seed``.

    Example:
        >>> s = spirals(200)
        >>> s.x_train.shape, s.classes
        ((160, 2), 2)
    """
    rng = np.random.default_rng(seed)
    half = n // 2
    t = np.sqrt(rng.uniform(0, 1, half)) * 3 * np.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1)
    x = np.concatenate([arm, -arm]) + rng.normal(0, noise, (2 * half, 2)) * 2
    y = np.concatenate([np.zeros(half), np.ones(half)])
    return _split("spirals", x, y, seed, test)


def blobs(
    n: int = 1200, features: int = 10, classes: int = 4, seed: int = 0, test: float = 0.2
) -> Dataset:
    """Overlapping Gaussian clusters: ``classes`` centres, unit spread, generated from ``seed``.

    Example:
        >>> b = blobs(100)
        >>> b.x_train.shape, b.classes
        ((80, 10), 4)
    """
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1.5, (classes, features))
    y = rng.integers(0, classes, n)
    x = centres[y] + rng.normal(0, 1.0, (n, features))
    y[:classes] = np.arange(classes)  # every class present, whatever n
    return _split("blobs", x, y, seed, test)


def load(name: str, seed: int = 0) -> Dataset:
    """A data set by name; an unknown name lists the valid ones."""
    if name == "digits":
        return digits(seed)
    if name == "spirals":
        return spirals(seed=seed)
    if name == "blobs":
        return blobs(seed=seed)
    raise ValueError(f"Unknown data set {name!r}. Valid names: {', '.join(NAMES)}.")
