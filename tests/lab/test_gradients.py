"""The vanishing-gradient experiment: its measure can fail, its tasks repeat, its results keep.

Real (tiny) networks where the behaviour is the point: the positive control (tanh with
PyTorch's default initialisation) must vanish at depth 50, a He-initialised ReLU network
must not at depth 10, and the same configuration must give the same numbers.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from leaky.lab import data, verdicts
from leaky.lab.experiments import gradients
from leaky.lab.experiments.gradients import Arm
from leaky.lab.runner import run
from leaky.lab.store import Outcome, Task


@pytest.fixture(scope="module")
def batch() -> tuple[np.ndarray, np.ndarray]:
    ds = data.mnist1d(gradients.DATA_SEED)
    return ds.x_train[:64], ds.y_train[:64]


def _log_ratios(arm: Arm, depth: int, width: int, batch: tuple) -> list[float]:
    norms = gradients.gradient_norms(arm, depth, width, (0, 1, 2), *batch)
    return [
        gradients.log_ratio(f, la) for f, la in zip(norms[:, 0], norms[:, depth - 1], strict=True)
    ]


def test_the_design_is_pinned_before_any_run() -> None:
    assert gradients.VANISH_RATIO == 1e-3  # three decades: far below every slope compared
    assert min(float(a.activation) for a in gradients.ARMS if a.is_slope and a.activation) > 1e-3
    assert gradients.MARGIN == 0.5 and gradients.CLIP == 30.0
    assert (gradients.PRIMARY_DEPTH, gradients.PRIMARY_WIDTH) == (50, 32)
    assert gradients.DEPTHS == (10, 20, 50) and gradients.WIDTHS == (32, 128)
    assert gradients.BATCH == 128 and gradients.DATA_SEED == 0
    assert (gradients.STEPS, gradients.LR, gradients.BATCH_SIZE) == (300, 1e-3, 100)
    assert Arm(0.0, "he") == gradients.REFERENCE and gradients.PRIMARY_ARM == 0.01
    assert {Arm(0.0), Arm(0.01), Arm(1.0), Arm("tanh", "default"), Arm("sigmoid", "default")} <= (
        set(gradients.ARMS)
    )
    pre = gradients.PREREGISTERED
    assert set(pre) == {
        "measure",
        "vanished",
        "entered",
        "comparison",
        "test",
        "margin",
        "alpha",
        "positive controls",
        "training",
        "family",
    }
    assert "0.001" in str(pre["vanished"])
    assert "depth 50, width 32" in str(pre["comparison"])
    assert pre["alpha"] == verdicts.ALPHA
    standard = gradients.plan("standard")
    assert len(standard.seeds) >= 10 and standard.arms == gradients.ARMS
    assert {Arm(0.0), Arm(0.01)} <= set(standard.trained) and standard.train_depths == (50,)
    assert standard.steps == gradients.STEPS and standard.batch == gradients.BATCH
    assert gradients.plan("standard", seed=1).seeds[0] == 1000  # disjoint seeds per base


def test_the_positive_control_vanishes_at_depth_50(batch: tuple) -> None:
    tanh = _log_ratios(Arm("tanh", "default"), 50, 32, batch)
    assert all(r < math.log10(gradients.VANISH_RATIO) for r in tanh), tanh
    assert all(-20 < r < -5 for r in tanh)  # a real value, not the clip or 0 / 0


def test_a_he_initialised_relu_network_does_not_vanish_at_depth_10(batch: tuple) -> None:
    relu = _log_ratios(Arm(0.0), 10, 32, batch)
    assert all(abs(r) < 1.5 for r in relu), relu  # within 1.5 decades of the last layer's


def test_the_he_arms_of_a_seed_share_their_draws_and_differ_only_in_the_gain() -> None:
    w0, b0 = gradients.init_params(Arm(0.0), 3, 8, (5,), torch.float64)
    w3, _ = gradients.init_params(Arm(0.3), 3, 8, (5,), torch.float64)
    for layer in range(3):
        torch.testing.assert_close(
            w0[layer] / Arm(0.0).gain, w3[layer] / Arm(0.3).gain, rtol=1e-15, atol=0
        )
    assert all(torch.equal(b, torch.zeros_like(b)) for b in b0[:3])  # He: zero hidden biases
    assert torch.equal(w0[3], w3[3])  # the output layer: PyTorch's default, the same draws
    other, _ = gradients.init_params(Arm(0.0), 3, 8, (6,), torch.float64)
    assert not torch.equal(w0[0], other[0])


def test_arms_refuse_what_they_cannot_be() -> None:
    with pytest.raises(ValueError, match="'init' parameter of Arm must be 'default'"):
        Arm("tanh")
    with pytest.raises(ValueError, match="activation"):
        Arm(1.5)
    with pytest.raises(ValueError, match="activation"):
        Arm("gelu", "default")
    assert Arm.from_dict(json.loads(json.dumps(Arm(0.3).to_dict()))) == Arm(0.3)


def _tiny() -> gradients.Config:
    return gradients.Config(
        arms=(Arm(0.0), Arm(0.01), Arm("tanh", "default")),
        depths=(3, 12),
        widths=(16,),
        seeds=(0, 1, 2),
        batch=64,
        trained=(Arm(0.0), Arm(0.01)),
        train_depths=(12,),
        steps=20,
    )


def test_tasks_are_deterministic_and_their_configs_round_trip() -> None:
    config = _tiny()
    arm_config = config.arm_configs()[0]
    assert gradients.ArmConfig.from_dict(json.loads(json.dumps(arm_config.to_dict()))) == (
        arm_config
    )
    assert gradients.Config.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    first = gradients.measure(arm_config)
    assert gradients.measure(arm_config) == first  # the same config, the same numbers
    assert json.loads(json.dumps(first)) == first  # JSON types only
    tasks = gradients.tasks(config)
    assert [t.function for t in tasks] == ["leaky.lab.batched:train"] + [
        "leaky.lab.experiments.gradients:measure"
    ] * 3
    assert len({t.key for t in tasks}) == len(tasks)
    assert tasks[1].key == Task(gradients.NAME, tasks[1].function, arm_config).key


def test_a_study_summarises_judges_draws_and_round_trips() -> None:
    config = _tiny()
    outcomes = list(run(gradients.tasks(config), jobs=1).outcomes)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    result = gradients.summarize(config, outcomes)
    assert math.isfinite(result.floor) and not result.errors
    assert len(result.cells) == 3 * 2 and len(result.trained) == 2
    tanh = result.cell(Arm("tanh", "default"), 12, 16)
    assert tanh is not None and len(tanh.log_ratio) == 3 and len(tanh.profile) == 13
    for t in result.trained:
        assert t.runs == 3 and len(t.val_acc) == 3  # every seed, failed or not

    again = gradients.Result.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again.to_dict() == result.to_dict()

    comps = gradients.comparisons(result)
    assert gradients.primary_measured(result)
    assert comps[0].claim.startswith("LeakyReLU(0.01), He keeps more")
    judged = verdicts.judge_family(comps)
    assert judged[0].verdict != verdicts.SUPPORTED  # only the slope differs: tiny effect
    control = next(v for v in judged if "positive control" in v.claim)
    assert control.effect < -1  # tanh keeps decades less of the gradient
    assert any(c.test.startswith("Fisher") for c in comps)  # the training's failure counts
    text = gradients.finding(result)
    assert "tanh, PyTorch default init" in text and "linear floor" in text

    fig, alt = gradients.figure(result)
    assert len(fig.axes) == 3 and "depth 12, width 16" in alt


def test_a_failed_task_is_a_failed_cell_never_a_traceback() -> None:
    config = _tiny()
    tasks = gradients.tasks(config)
    outcomes = list(run(tasks[:1], jobs=1).outcomes)  # the floor runs; the arms "fail"
    outcomes += [
        Outcome(t.key, t.experiment, t.label, t.function, {}, "failed", None, "boom", 0.0, "x")
        for t in tasks[1:]
    ]
    result = gradients.summarize(config, outcomes)
    assert len(result.errors) == 3 and all(c.error == "boom" for c in result.cells)
    assert gradients.comparisons(result) == [] and not gradients.primary_measured(result)
    assert "3 task(s) failed" in gradients.finding(result)
    fig, _ = gradients.figure(result)
    assert fig.axes
    again = gradients.Result.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again.to_dict() == result.to_dict()
