"""Batched training: every member equals its run alone; determinism; failures kept; stats."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from leaky.lab import batched, data, models
from leaky.lab import bench as lab_bench
from leaky.lab._threads import one_thread
from leaky.lab.batched import TrainConfig, TrainResult

# Float64 and 30 steps: the batched member and the plain model differ only in the order
# in which the GEMMs (bmm against mm, grouped against plain conv1d) sum their products,
# ~1e-16 relative per operation. Adam divides by sqrt(v) + 1e-8, which can amplify
# rounding in a gradient that nearly cancels, and a kink at 0 can flip; measured: the
# largest parameter difference after 30-40 steps is 5e-14 (MLP) and 3e-16 (CNN). 1e-10
# leaves four orders of margin above that, yet is millions of times below what any real
# difference (another batch, another initialisation, a shared statistic: parameters move
# by ~0.1 in these 30 steps) would give. In float32 the same comparison differs by
# ~2e-6 after 40 steps, so float32 could not tell a bug of that size from rounding.
TOL = 1e-10


def _textbook(config: TrainConfig, seed: int) -> torch.nn.Module:
    """One seed trained the plain way: nn.Module, F.cross_entropy, Adam, its own batches."""
    d = data.load(config.dataset, seed=config.split_seed, val=config.val)
    dtype = batched.DTYPES[config.dtype]
    x, y = torch.tensor(d.x_train, dtype=dtype), torch.tensor(d.y_train)
    model = models.build(config.model, config.activation, seed=seed, dtype=dtype)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    for idx in itertools.islice(batched.batch_indices(config, seed), config.steps):
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


@pytest.mark.parametrize(("model", "activation"), [("mlp", 0.0), ("cnn", 0.1)])
def test_a_batched_member_equals_the_same_run_trained_alone(model: str, activation: float) -> None:
    config = TrainConfig(
        model=model,
        activation=activation,
        seeds=(3, 7, 11),
        steps=30,
        batch_size=50,
        eval_every=15,
        dtype="float64",
    )
    result, members = batched.train_models(config)
    alone = _textbook(config, 7)
    initial = models.build(model, activation, seed=7, dtype=torch.float64)
    for p, q, p0 in zip(
        members[1].parameters(), alone.parameters(), initial.parameters(), strict=True
    ):
        assert (p - q).abs().max().item() <= TOL
        assert (q - p0).abs().max().item() > 1e-3  # it trained: the test can fail
    # the measured curves equal those of the member trained alone through the same loop
    single, _ = batched.train_member(config, 7)
    for name in batched._CURVES:
        np.testing.assert_allclose(
            getattr(result.members[1], name), getattr(single, name), atol=TOL
        )
    assert result.members[1].test_acc == single.test_acc  # same predictions, exactly


def test_members_are_independent_of_each_other() -> None:
    """A member's run does not depend on which other seeds share the model, nor on a NaN one."""
    config = TrainConfig(dataset="spirals", seeds=(0, 1, 2), steps=25, eval_every=0)
    three = batched.train(config)
    alone = batched.train(config.replace(seeds=(1,)))
    np.testing.assert_allclose(three.members[1].test_loss, alone.members[0].test_loss, rtol=1e-6)
    # poison member 0: its parameters NaN from the start; members 1 and 2 are untouched
    plain = [batched._plain(config, s) for s in config.seeds]
    with torch.no_grad():
        for p in plain[0].parameters():
            p.fill_(math.nan)
    with one_thread():
        poisoned = batched._fit(batched.batched_model(plain), config, config.seeds)
    assert poisoned[0].diverged and poisoned[0].diverged_step == 0
    for m in (1, 2):
        assert poisoned[m].test_loss == three.members[m].test_loss
        assert not poisoned[m].diverged


def test_same_config_same_result_bit_for_bit_whatever_the_threads_and_global_seed() -> None:
    config = TrainConfig(model="cnn", seeds=(0, 5), steps=12, eval_every=4, stats_steps=(12,))
    threads = torch.get_num_threads()
    first = batched.train(config)
    torch.manual_seed(1234)
    torch.set_num_threads(2)
    try:
        second = batched.train(config)
        assert torch.get_num_threads() == 2  # train restores the caller's thread count
    finally:
        torch.set_num_threads(threads)
    assert first == second
    assert first.to_dict() == second.to_dict()


def test_a_failed_member_is_kept_with_nan_and_its_step() -> None:
    config = TrainConfig(
        dataset="spirals", optimizer="sgd", lr=1e4, seeds=(0, 1), steps=30, eval_every=10
    )
    result = batched.train(config)
    assert len(result.members) == 2 and result.diverged.all()
    for m in result.members:
        assert 0 < m.diverged_step <= 30
        assert math.isfinite(m.initial_loss)
        assert math.isnan(m.test_acc[-1]) and math.isnan(m.train_loss[-1])
    text = json.dumps(result.to_dict(), allow_nan=False)  # NaN is stored as null
    back = TrainResult.from_dict(json.loads(text))
    assert back.to_dict() == result.to_dict() and math.isnan(back.members[0].test_acc[-1])


def test_result_reports_every_split_at_every_evaluation_step() -> None:
    config = TrainConfig(dataset="spirals", seeds=(4, 2), steps=20, eval_every=8, val=0.25)
    result = batched.train(config)
    assert result.steps == (0, 8, 16, 20) == config.eval_steps
    for m in result.members:
        for name in batched._CURVES:
            assert len(getattr(m, name)) == 4
        assert m.initial_loss == m.train_loss[0] and not m.diverged
        assert m.initial_loss == pytest.approx(math.log(2), abs=0.3)  # 2 classes at init
        assert all(0 <= a <= 1 for a in m.val_acc)
    assert [m.seed for m in result.members] == [4, 2]
    assert result.curve("test_acc").shape == (2, 4)
    no_val = batched.train(config.replace(val=0.0, steps=2))
    assert no_val.members[0].val_acc == ()


def test_batch_order_each_member_its_own_permutation_or_the_authors_cycle() -> None:
    config = TrainConfig(dataset="spirals", batch_size=100, val=0.125)  # 700 training points
    n = 700
    first = list(itertools.islice(batched.batch_indices(config, 0), n // 100))
    assert sorted(torch.cat(first).tolist()) == list(range(n))  # one epoch: each point once
    other = torch.cat(list(itertools.islice(batched.batch_indices(config, 1), 7)))
    assert not torch.equal(torch.cat(first), other)
    cycle = config.replace(batch_order="cycle", batch_size=300)
    got = [b.tolist() for b in itertools.islice(batched.batch_indices(cycle, 0), 4)]
    assert got[0] == list(range(300)) and got[2] == list(range(600, 700))
    assert got[3] == list(range(200, 500))  # (t * B) % n, as the authors' train.py


def test_activation_statistics_cover_the_whole_split_per_unit() -> None:
    # a bias shift of 100 kills every ReLU unit of the MLP's first layer: dead on every input
    config = TrainConfig(
        dataset="spirals", seeds=(0, 1), steps=3, eval_every=0, stats_steps=(0, 3), bias_shift=100.0
    )
    snap = batched.train(config).members[1].activations[0]
    first = snap.sites[0]
    assert snap.step == 0 and snap.split == "train" and first.site == "linear1"
    assert len(first.positive_fraction) == 100
    assert set(first.positive_fraction) == {0.0} and set(first.zero_fraction) == {1.0}
    assert first.abs_histogram[0] == 700 * 100 and sum(first.abs_histogram) == 700 * 100
    leaky = batched.train(config.replace(activation=0.1)).members[1].activations[0].sites[0]
    assert set(leaky.positive_fraction) == {0.0} and set(leaky.zero_fraction) == {0.0}
    # against a direct count on the member's own initial model, over all 700 inputs
    config = TrainConfig(model="cnn", seeds=(2,), steps=0, stats_steps=(0,), stats_split="test")
    sites = batched.train(config).members[0].activations[0].sites
    model = models.build("cnn", 0.0, seed=2)
    record: list[torch.Tensor] = []
    with torch.no_grad():
        model(torch.tensor(data.mnist1d().x_test), record=record)
    for site, z in zip(sites, record, strict=True):
        expected = (z > 0).double().mean(dim=(0, 2)).tolist()
        np.testing.assert_allclose(site.positive_fraction, expected, rtol=0, atol=1e-12)
        assert sum(site.abs_histogram) == z.numel() and site.nan_count == 0


def test_config_is_frozen_hashable_and_json_round_trips() -> None:
    config = TrainConfig(model="cnn", activation="relu", seeds=[3, 1], stats_steps=[5, 0])
    assert config.seeds == (3, 1) and config.stats_steps == (0, 5) and config.activation == 0.0
    assert hash(config) == hash(
        TrainConfig(model="cnn", activation=0.0, seeds=(3, 1), stats_steps=(0, 5))
    )
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(AttributeError):
        config.lr = 1.0  # type: ignore[misc]
    assert TrainConfig(model="gru", activation=None).activation is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"model": "resnet"}, r"'model' parameter of TrainConfig must be one of 'logistic'"),
        ({"model": "logistic"}, r"'logistic' has no hidden activation"),
        ({"activation": "swish"}, r"'activation' parameter of TrainConfig .* 'gelu'"),
        ({"dataset": "mnist"}, r"'dataset' parameter of TrainConfig must be one of 'mnist1d'"),
        ({"seeds": (1, 1)}, r"'seeds' parameter of TrainConfig must be a non-empty sequence"),
        ({"seeds": ()}, r"'seeds' parameter"),
        ({"lr": 0}, r"'lr' parameter of TrainConfig must be a finite real number > 0"),
        ({"optimizer": "lbfgs"}, r"'optimizer' parameter of TrainConfig must be one of 'adam'"),
        ({"batch_size": 0}, r"'batch_size' parameter of TrainConfig must be an integer >= 1"),
        ({"val": 1.0}, r"'val' parameter of TrainConfig must be a number in \[0, 1\)"),
        ({"dtype": "float16"}, r"'dtype' parameter of TrainConfig must be one of 'float32'"),
        ({"stats_steps": (7,), "steps": 5}, r"'stats_steps' .* in \[0, steps=5\]"),
        ({"stats_split": "val", "val": 0.0, "stats_steps": (0,)}, r"no validation split"),
        ({"model": "cnn", "dataset": "spirals"}, r"'spirals' has 2 features"),
    ],
)
def test_bad_configuration_names_the_parameter(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**changes)


def test_from_dict_refuses_unknown_keys_and_train_refuses_other_types() -> None:
    with pytest.raises(ValueError, match=r"unknown keys \['epochs'\]"):
        TrainConfig.from_dict({"epochs": 3})
    with pytest.raises(TypeError, match=r"'config' parameter of train must be a TrainConfig"):
        batched.train({"model": "mlp"})  # type: ignore[arg-type]


def test_gru_members_train_as_stacked_plain_models() -> None:
    config = TrainConfig(model="gru", activation=None, seeds=(0, 1), steps=3, batch_size=20)
    result, members = batched.train_models(config)
    single, model = batched.train_member(config, 1)
    assert result.members[1].test_loss == single.test_loss
    for p, q in zip(members[1].parameters(), model.parameters(), strict=True):
        assert torch.equal(p, q)


def test_speedup_times_both_sides_and_round_trips() -> None:
    r = lab_bench.speedup(seeds=2, steps=2, repeats=2)
    assert len(r.batched_seconds) == len(r.sequential_seconds) == 2
    assert r.config.seeds == (0, 1) and all(t > 0 for t in r.ratios)
    assert lab_bench.SpeedupResult.from_dict(json.loads(json.dumps(r.to_dict()))) == r


@pytest.mark.parametrize(
    ("model", "optimizer"), [("mlp", "adam"), ("mlp-plain", "sgd-momentum"), ("mlp", "sgd")]
)
def test_a_grid_member_equals_its_configuration_trained_alone(model: str, optimizer: str) -> None:
    # claim 4's grid (slope x learning rate x seed) costs what one batched run costs; each
    # member must be the run it stands for
    grid = TrainConfig(
        model=model,
        dataset="spirals",
        optimizer=optimizer,
        slopes=(0.0, 0.1),
        lrs=(0.003, 0.03),  # not chaotic: at lr 0.3 the rounding of bmm against matmul
        seeds=(0, 1),  # grows to 0.2 % in 20 steps, in the one-lr batched path as well
        steps=20,
        eval_every=10,
        val=0.25,
    )
    r = batched.train(grid)
    assert len(r.members) == 8 == len(grid.members)
    for got, (a, lr, seed) in zip(r.members, grid.members, strict=True):
        assert (got.slope, got.lr, got.seed) == (a, lr, seed)
        alone, _ = batched.train_member(grid.replace(slopes=(), lrs=(), activation=a, lr=lr), seed)
        for curve in ("train_loss", "val_loss", "test_loss"):
            np.testing.assert_allclose(getattr(got, curve), getattr(alone, curve), rtol=1e-5)
    assert TrainResult.from_dict(json.loads(json.dumps(r.to_dict()))) == r


def test_member_slopes_follow_the_contract() -> None:
    from leaky.functional import leaky_relu

    act = batched.MemberSlopes([0.0, 0.01, 1.0], torch.float32)
    z = torch.tensor([-math.inf, -2.0, -0.0, 0.0, 3.0, math.nan]).expand(3, 6).clone()
    out = act(z.requires_grad_())
    for m, a in enumerate((0.0, 0.01, 1.0)):
        want = leaky_relu(z[m].detach(), a)
        assert torch.equal(
            torch.nan_to_num(out[m].detach(), nan=7.0), torch.nan_to_num(want, nan=7.0)
        )
    out[:, 1:5].sum().backward()
    a01 = float(torch.tensor(0.01, dtype=torch.float32))
    assert z.grad[:, 1:5].tolist() == [[0.0, 1.0, 1.0, 1.0], [a01, 1.0, 1.0, 1.0], [1.0] * 4]
