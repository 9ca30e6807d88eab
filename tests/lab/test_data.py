"""The data sets: MNIST-1D generated offline, validation splits, the blobs labels."""

from __future__ import annotations

import hashlib
import random

import numpy as np
import pytest

from leaky.lab import data


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def test_mnist1d_is_the_authors_data_set_generated_offline() -> None:
    d = data.mnist1d(val=0)
    assert d.x_train.shape == (4000, 40) and d.x_test.shape == (1000, 40)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int64
    assert d.classes == 10 and d.x_val.shape[0] == 0
    assert set(np.unique(d.y_train)) == set(range(10)) == set(np.unique(d.y_test))
    # make_dataset centres and scales the 5,000 signals as a whole
    both = np.concatenate([d.x_train, d.x_test]).astype(np.float64)
    assert abs(both.mean()) < 1e-3 and abs(both.std() - 1) < 1e-2
    # pinned: a change of the mnist1d package that changed the data would show here
    assert d.y_train[:10].tolist() == [2, 6, 4, 5, 6, 6, 6, 0, 3, 1]
    assert _digest(d.y_train, d.y_test) == _digest(*data._mnist1d_arrays()[1::2])
    assert np.bincount(d.y_train).tolist() == [398, 396, 411, 394, 394, 402, 401, 404, 402, 398]


def test_mnist1d_validation_split_is_seeded_disjoint_and_leaves_test_alone() -> None:
    full = data.mnist1d(val=0)
    d = data.mnist1d(seed=0)
    assert d.x_train.shape == (3500, 40) and d.x_val.shape == (500, 40)
    np.testing.assert_array_equal(d.x_test, full.x_test)
    np.testing.assert_array_equal(d.y_test, full.y_test)
    # train and val partition the authors' 4,000 signals; train keeps their order
    rows = {r.tobytes(): i for i, r in enumerate(full.x_train)}
    train_idx = [rows[r.tobytes()] for r in d.x_train]
    val_idx = [rows[r.tobytes()] for r in d.x_val]
    assert sorted(train_idx + val_idx) == list(range(4000))
    assert train_idx == sorted(train_idx)
    np.testing.assert_array_equal(data.mnist1d(seed=0).x_val, d.x_val)  # deterministic
    assert not np.array_equal(data.mnist1d(seed=1).x_val, d.x_val)  # the seed chooses it
    assert data.load("mnist1d").x_val.shape == (500, 40)  # load's default holds out 500


def test_generating_mnist1d_leaves_the_callers_random_state_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """make_dataset reseeds NumPy's and random's global generators; leaky puts them back.

    The generator is replaced by one that does what make_dataset does to the global state
    (mnist1d.utils.set_seed, then draws) on a small data set: the real one takes seconds.
    """
    import mnist1d.data

    real = data._mnist1d_arrays()

    def reseeding_make_dataset(args: object) -> dict[str, np.ndarray]:
        mnist1d.utils.set_seed(42)
        np.random.permutation(10)  # noqa: NPY002 (draws, as make_dataset does)
        return {"x": real[0][:8], "y": real[1][:8], "x_test": real[2][:4], "y_test": real[3][:4]}

    monkeypatch.setattr(mnist1d.data, "make_dataset", reseeding_make_dataset)
    np.random.seed(123)  # noqa: NPY002 (the global generator is what is tested)
    random.seed(123)
    expected_np = np.random.random(3)  # noqa: NPY002
    expected_py = [random.random() for _ in range(3)]
    np.random.seed(123)  # noqa: NPY002
    random.seed(123)
    fresh = data._mnist1d_arrays.__wrapped__()  # the generating function, past the cache
    assert fresh[0].shape == (8, 40)  # the replacement ran
    assert np.random.random(3).tolist() == expected_np.tolist()  # noqa: NPY002
    assert [random.random() for _ in range(3)] == expected_py


def test_mnist1d_is_cached_and_read_only() -> None:
    first = data._mnist1d_arrays()
    assert data._mnist1d_arrays() is first
    with pytest.raises(ValueError, match="read-only"):
        first[0][0, 0] = 1.0


@pytest.mark.parametrize("make", [data.spirals, data.digits, data.blobs])
def test_validation_split_comes_from_training_and_never_moves_test(make) -> None:
    plain, held = make(seed=2), make(seed=2, val=0.25)
    np.testing.assert_array_equal(held.y_test, plain.y_test)
    assert held.x_train.shape[0] + held.x_val.shape[0] == plain.x_train.shape[0]
    assert held.x_val.shape[0] == round(plain.x_train.shape[0] * 0.25)
    assert plain.x_val.shape == (0, plain.features)  # the default: the split they always had
    train = {r.tobytes() for r in held.x_train}
    assert not any(r.tobytes() in train for r in held.x_val)


def test_blobs_points_are_drawn_from_their_own_class_centre() -> None:
    """The first ``classes`` points were once relabelled after being drawn elsewhere.

    In 300 dimensions the clusters are far apart (centre distance ~37, noise ~17), so
    every point is nearest its own class mean; a relabelled point is not.
    """
    for seed in range(3):
        b = data.blobs(n=400, features=300, classes=4, seed=seed, test=0.5)
        x = np.concatenate([b.x_train, b.x_test])
        y = np.concatenate([b.y_train, b.y_test])
        means = np.stack([x[y == c].mean(axis=0) for c in range(4)])
        nearest = ((x[:, None, :] - means[None]) ** 2).sum(-1).argmin(1)
        assert (nearest == y).all(), seed
    assert set(np.unique(data.blobs(n=4, seed=1, test=0.5).y_train)) | set(
        np.unique(data.blobs(n=4, seed=1, test=0.5).y_test)
    ) == {0, 1, 2, 3}


def test_bad_arguments_name_the_parameter() -> None:
    with pytest.raises(ValueError, match="'val' parameter of mnist1d must be a number in"):
        data.mnist1d(val=1.0)
    with pytest.raises(
        ValueError, match=r"'val' parameter of spirals .* Got -0\.1 \(float\) instead"
    ):
        data.spirals(val=-0.1)
    with pytest.raises(ValueError, match=r"'n' parameter of blobs must be an integer >= classes"):
        data.blobs(n=2, classes=4)
    with pytest.raises(ValueError, match=r"one of train, val, test\. Got 'dev' instead"):
        data.spirals(100).split("dev")
    with pytest.raises(ValueError, match="Valid names: digits, spirals, blobs, mnist1d"):
        data.load("mnist")


def test_a_missing_mnist1d_package_is_one_line_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    from leaky._imports import MissingExtraError

    monkeypatch.setitem(sys.modules, "mnist1d", None)  # import mnist1d now fails
    monkeypatch.setitem(sys.modules, "mnist1d.data", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'leaky\[lab\]' \(mnist1d is not"):
        data._mnist1d_arrays.__wrapped__()


def test_the_class_table_and_chance_agree_with_the_data() -> None:
    # one home for "chance" (it was 10.0 in percent in one module and 0.1 in another)
    for name in data.NAMES:
        assert getattr(data, name)(seed=0).classes == data.CLASSES[name], name
    assert data.chance("spirals") == 0.5 and data.chance("mnist1d") == 0.1
    with pytest.raises(ValueError, match="'dataset' parameter of chance must be one of"):
        data.chance("cifar")
