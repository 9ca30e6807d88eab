"""The data sets the experiments use: bundled or generated, never downloaded.

- ``mnist1d``: MNIST-1D (Greydanus & Kobak, "Scaling down deep learning with MNIST-1D",
  ICML 2024), the primary data set: 4,000 training and 1,000 test signals of length 40,
  10 classes, generated offline by the ``mnist1d`` package with the authors' frozen
  arguments (seed 42), identical to their published file. Generated once per process.
- ``spirals``: two interleaved noisy spirals in 2-D, generated (a classic task that needs
  a non-linear model): the small second data set.
- ``digits``: scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes),
  read from the installed package (``sklearn.datasets.load_digits``), no network.
- ``blobs``: overlapping Gaussian clusters in 10-D, 4 classes, generated.

Each returns a ``Dataset`` of float32 inputs and int64 labels: a training split, a
validation split held out from the training data (deterministic, seeded by ``seed``;
empty when ``val`` is 0) and a test split that the validation split never touches.
``digits``, ``spirals`` and ``blobs`` are standardised with the (remaining) training
split's mean and standard deviation; MNIST-1D is used as the authors publish it (already
centred and scaled to unit standard deviation as a whole).
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field

import numpy as np

from leaky.lab import _checks

NAMES = ("digits", "spirals", "blobs", "mnist1d")
CLASSES = {"digits": 10, "spirals": 2, "blobs": 4, "mnist1d": 10}
"""The classes of each data set as the lab generates it (a test checks them against the data)."""


def chance(dataset: str) -> float:
    """The accuracy of a guess at random on ``dataset``, as a fraction (1 / classes).

    Examples:
        >>> chance("spirals"), chance("mnist1d")
        (0.5, 0.1)
    """
    if dataset not in CLASSES:
        raise ValueError(
            f"The 'dataset' parameter of chance must be one of {', '.join(CLASSES)}. "
            f"Got {dataset!r} instead."
        )
    return 1.0 / CLASSES[dataset]


MNIST1D_VAL = 0.125
"""The validation fraction ``load("mnist1d")`` holds out by default: 500 of the 4,000."""


def _empty_x() -> np.ndarray:
    return np.empty((0, 0), dtype=np.float32)


def _empty_y() -> np.ndarray:
    return np.empty(0, dtype=np.int64)


@dataclass(frozen=True)
class Dataset:
    """Training, validation and test splits of one data set, and its number of classes.

    ``x_*`` are float32 arrays of shape ``(n, features)``; ``y_*`` int64 labels in
    ``[0, classes)``. The validation split is empty (``x_val.shape[0] == 0``) when none was
    held out. Select on validation; report test once.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int
    x_val: np.ndarray = field(default_factory=_empty_x)
    y_val: np.ndarray = field(default_factory=_empty_y)

    @property
    def features(self) -> int:
        return self.x_train.shape[1]

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` of the split ``name``: ``"train"``, ``"val"`` or ``"test"``.

        Examples:
            >>> x, y = spirals(200, val=0.25).split("val")
            >>> x.shape, y.shape
            ((40, 2), (40,))
        """
        if name not in SPLITS:
            raise ValueError(
                f"The 'name' parameter of Dataset.split must be one of {', '.join(SPLITS)}. "
                f"Got {name!r} instead."
            )
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")


SPLITS = ("train", "val", "test")


def _holdout(train: np.ndarray, val: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split the index array ``train`` into (kept, held out): ``round(len * val)`` held out.

    The held-out indices are drawn with their own generator (``seed`` and a fixed stream
    tag), so the validation split never shifts the test split; both parts keep the order
    of ``train``.
    """
    n_val = round(len(train) * val)
    if n_val == 0:
        return train, train[:0]
    rng = np.random.default_rng([seed, 0x5EED_0A1])
    held = np.zeros(len(train), dtype=bool)
    held[rng.permutation(len(train))[:n_val]] = True
    return train[~held], train[held]


def _split(
    name: str, x: np.ndarray, y: np.ndarray, seed: int, test: float, val: float = 0.0
) -> Dataset:
    order = np.random.default_rng(seed).permutation(len(x))
    cut = round(len(x) * (1 - test))
    train, held = order[:cut], order[cut:]
    train, valid = _holdout(train, val, seed)
    mean = x[train].mean(axis=0)
    std = x[train].std(axis=0)
    std[std == 0] = 1.0
    x = ((x - mean) / std).astype(np.float32)
    y = y.astype(np.int64)
    return Dataset(
        name,
        x[train],
        y[train],
        x[held],
        y[held],
        int(y.max()) + 1,
        x[valid],
        y[valid],
    )


def digits(seed: int = 0, test: float = 0.2, val: float = 0.0) -> Dataset:
    """scikit-learn's bundled digits, standardised; 80 % train, 20 % test.

    ``val`` is the fraction of the training split held out for validation.

    Examples:
        >>> d = digits()
        >>> d.x_train.shape, d.x_test.shape, d.classes
        ((1438, 64), (359, 64), 10)
    """
    from sklearn.datasets import load_digits

    val = _checks.fraction(val, "val", "digits")
    bunch = load_digits()
    return _split("digits", bunch.data.astype(np.float64), bunch.target, seed, test, val)


def spirals(
    n: int = 1000, noise: float = 0.2, seed: int = 0, test: float = 0.2, val: float = 0.0
) -> Dataset:
    """Two interleaved spirals, ``n`` points in all, generated from ``seed``.

    ``val`` is the fraction of the training split held out for validation.

    Examples:
        >>> s = spirals(200)
        >>> s.x_train.shape, s.classes
        ((160, 2), 2)
        >>> s = spirals(200, val=0.25)
        >>> s.x_train.shape, s.x_val.shape, s.x_test.shape
        ((120, 2), (40, 2), (40, 2))
    """
    val = _checks.fraction(val, "val", "spirals")
    rng = np.random.default_rng(seed)
    half = n // 2
    t = np.sqrt(rng.uniform(0, 1, half)) * 3 * np.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1)
    x = np.concatenate([arm, -arm]) + rng.normal(0, noise, (2 * half, 2)) * 2
    y = np.concatenate([np.zeros(half), np.ones(half)])
    return _split("spirals", x, y, seed, test, val)


def blobs(
    n: int = 1200,
    features: int = 10,
    classes: int = 4,
    seed: int = 0,
    test: float = 0.2,
    val: float = 0.0,
) -> Dataset:
    """Overlapping Gaussian clusters: ``classes`` centres, unit spread, generated from ``seed``.

    Every point is drawn around its own class's centre. The first ``classes`` points take
    the labels ``0 .. classes - 1`` (so every class is present, whatever ``n``); the other
    labels are drawn uniformly.

    Examples:
        >>> b = blobs(100)
        >>> b.x_train.shape, b.classes
        ((80, 10), 4)
    """
    val = _checks.fraction(val, "val", "blobs")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < classes:
        raise ValueError(
            f"The 'n' parameter of blobs must be an integer >= classes ({classes}). "
            f"Got {n!r} instead."
        )
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1.5, (classes, features))
    y = rng.integers(0, classes, n)
    y[:classes] = np.arange(classes)  # every class present; labelled before any point is drawn
    x = centres[y] + rng.normal(0, 1.0, (n, features))
    return _split("blobs", x, y, seed, test, val)


@functools.cache
def _mnist1d_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The authors' MNIST-1D, generated once per process; read-only arrays.

    ``mnist1d.data.make_dataset`` reseeds NumPy's and ``random``'s global generators
    (``set_seed(42)``) and draws from them: their states are saved and restored around it,
    so generating the data leaves the caller's random streams where they were.
    """
    from leaky._imports import try_import

    with try_import("leaky.lab.data.mnist1d", "lab") as deps:
        import mnist1d.data
    deps.check()
    # the legacy global generator is exactly what make_dataset reseeds
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    try:
        raw = mnist1d.data.make_dataset(mnist1d.data.get_dataset_args())  # never get_dataset
    finally:
        np.random.set_state(np_state)  # noqa: NPY002
        random.setstate(py_state)
    arrays = (
        np.asarray(raw["x"], dtype=np.float32),  # the authors train on float32 tensors
        np.asarray(raw["y"], dtype=np.int64),
        np.asarray(raw["x_test"], dtype=np.float32),
        np.asarray(raw["y_test"], dtype=np.int64),
    )
    for a in arrays:
        a.flags.writeable = False
    return arrays


def mnist1d(seed: int = 0, val: float = MNIST1D_VAL) -> Dataset:
    """MNIST-1D as the authors publish it, with ``val`` of the training set held out.

    The 1,000 test signals are the authors' test set, untouched. ``seed`` chooses the
    validation split (``round(4000 * val)`` signals, 500 by default); the remaining
    training signals keep the authors' order (with ``val=0`` the training split is their
    4,000 signals in their order). No download: the signals are generated by
    ``mnist1d.data.make_dataset`` with the authors' frozen arguments (a few seconds, once
    per process).

    Examples:
        >>> d = mnist1d()
        >>> d.x_train.shape, d.x_val.shape, d.x_test.shape, d.classes
        ((3500, 40), (500, 40), (1000, 40), 10)
        >>> mnist1d(val=0).x_train.shape
        (4000, 40)
    """
    val = _checks.fraction(val, "val", "mnist1d")
    x, y, x_test, y_test = _mnist1d_arrays()
    train, valid = _holdout(np.arange(len(x)), val, seed)
    # copies: the cached arrays stay read-only and private
    return Dataset(
        "mnist1d", x[train], y[train], x_test.copy(), y_test.copy(), 10, x[valid], y[valid]
    )


def load(name: str, seed: int = 0, val: float | None = None) -> Dataset:
    """A data set by name with its default size; an unknown name lists the valid ones.

    ``val`` is the validation fraction of the training split: by default 0 for the
    original three (the split they always had) and ``MNIST1D_VAL`` for ``mnist1d``.

    Examples:
        >>> load("spirals", val=0.125).x_val.shape
        (100, 2)
    """
    if name == "digits":
        return digits(seed, val=val or 0.0)
    if name == "spirals":
        return spirals(seed=seed, val=val or 0.0)
    if name == "blobs":
        return blobs(seed=seed, val=val or 0.0)
    if name == "mnist1d":
        return mnist1d(seed, val=MNIST1D_VAL if val is None else val)
    raise ValueError(f"Unknown data set {name!r}. Valid names: {', '.join(NAMES)}.")
