"""The harness check against the MNIST-1D paper's Table 1: its jobs, its rule, its record."""

from __future__ import annotations

import json
import math

import pytest
from scipy import stats

from leaky.lab import harness
from leaky.lab.batched import MemberResult, TrainConfig, TrainResult


def _result(model: str, accuracies: list[float], steps: int = 6000, first_seed: int = 0):
    """A trained job as ``train`` would return it, with these final test accuracies (%)."""
    (config,) = [c for c in harness.configs("standard") if c.model == model]
    config = config.replace(seeds=tuple(range(first_seed, first_seed + len(accuracies))))
    config = config.replace(steps=steps, eval_every=0)
    members = []
    for seed, acc in zip(config.seeds, accuracies, strict=True):
        a = math.nan if math.isnan(acc) else acc / 100
        members.append(
            MemberResult(
                seed=seed,
                diverged=math.isnan(acc),
                diverged_step=7 if math.isnan(acc) else None,
                train_loss=(2.3, 0.1),
                train_acc=(0.1, 0.9),
                val_loss=(),
                val_acc=(),
                test_loss=(2.3, 1.0),
                test_acc=(0.1, a),
            )
        )
    return TrainResult(config, config.eval_steps, tuple(members))


def test_jobs_follow_the_authors_recipe() -> None:
    for scale in ("quick", "standard", "full"):
        for c in harness.configs(scale):
            assert (c.dataset, c.optimizer, c.lr, c.batch_size) == ("mnist1d", "adam", 0.01, 100)
            assert (c.val, c.batch_order, c.init, c.dtype) == (0.0, "cycle", "default", "float32")
            assert c.activation == (0.0 if c.model in ("mlp", "cnn") else None)  # ReLU, slope 0
    standard = harness.configs("standard")
    assert [c.model for c in standard] == ["logistic", "mlp", "cnn"]
    assert all(c.steps == 6000 and len(c.seeds) == 5 for c in standard)
    full = harness.configs("full")
    gru = [c for c in full if c.model == "gru"]
    assert sorted(s for c in gru for s in c.seeds) == list(range(20))
    assert harness.SCALES["standard"].paper_recipe and not harness.SCALES["quick"].paper_recipe
    with pytest.raises(ValueError, match=r"'scale' parameter of configs must be one of 'quick'"):
        harness.configs("huge")


def test_the_tolerance_is_fixed_and_not_widened_by_our_noise() -> None:
    accs = [66.0, 67.5, 65.0, 66.5, 67.0]
    result = harness.check([_result("mlp", accs)])
    row = result.row("mlp")
    ci = stats.ttest_1samp(accs, 0).confidence_interval(0.95)
    assert row.mean == pytest.approx(66.4)
    assert (row.ci_low, row.ci_high) == pytest.approx((ci.low, ci.high))  # shown, not used
    assert row.tolerance == 2 + 0.5  # the paper's ± and its rounding, nothing of ours
    assert row.passed and row.status == "pass" and result.passed and not result.preliminary
    assert row.difference == pytest.approx(-1.6)
    # a noisy run 2.8 points off: our own wide interval no longer lets it pass
    noisy = harness.check([_result("mlp", [60.0, 72.0, 58.0, 70.0, 66.0])]).row("mlp")
    assert noisy.difference == pytest.approx(-2.8) and not noisy.passed
    assert noisy.status == "FAIL"


def test_a_scale_off_the_papers_steps_is_not_checked() -> None:
    short = harness.check([_result("mlp", [40.0, 41.0], steps=60)])
    row = short.row("mlp")
    assert not row.checked and row.status == "not checked at this scale"
    assert short.preliminary and not short.passed  # nothing was checked: nothing passed


def test_a_diverged_seed_counts_at_chance_never_dropped() -> None:
    row = harness.check([_result("cnn", [93.0, 94.0, math.nan])]).row("cnn")
    assert row.diverged == 1 and row.accuracies[2] == 10.0 and len(row.seeds) == 3
    assert row.mean == pytest.approx((93 + 94 + 10) / 3)


def test_jobs_of_one_model_are_pooled_and_checked() -> None:
    a = _result("logistic", [31.0, 32.0])
    b = _result("logistic", [33.0, 32.0], first_seed=2)
    result = harness.check([a, b, _result("mlp", [68.0, 69.0])])
    assert [r.model for r in result.rows] == ["logistic", "mlp"]
    assert result.row("logistic").seeds == (0, 1, 2, 3)
    with pytest.raises(ValueError, match=r"seed\(s\) of 'logistic' twice"):
        harness.check([a, a])
    with pytest.raises(ValueError, match=r"must be one of 'logistic', 'mlp'. Got 'gru'"):
        result.row("gru")


def test_runs_off_the_recipe_are_refused() -> None:
    off = _result("mlp", [68.0, 69.0])
    leaky = TrainResult(off.config.replace(activation=0.01), off.steps, off.members)
    with pytest.raises(ValueError, match=r"paper's recipe with ReLU"):
        harness.check([leaky])
    shuffled = TrainResult(off.config.replace(batch_order="shuffle"), off.steps, off.members)
    with pytest.raises(ValueError, match=r"paper's recipe"):
        harness.check([shuffled])
    with pytest.raises(ValueError, match=r"runs of one length"):
        harness.check([off, _result("cnn", [90.0, 91.0], steps=300)])
    with pytest.raises(TypeError, match=r"must hold TrainResult objects"):
        harness.check([{"rows": []}])  # type: ignore[list-item]


def test_short_runs_are_marked_preliminary() -> None:
    result = harness.check([_result("logistic", [20.0, 21.0], steps=300)])
    assert result.preliminary and not result.passed and result.steps == 300


def test_result_round_trips_through_json() -> None:
    result = harness.check([_result("logistic", [31.0, 32.5, 31.5]), _result("cnn", [93.0, 92.0])])
    back = harness.HarnessResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert back == result
    assert result.to_dict()["rows"][0]["difference"] == pytest.approx(31.666666 - 32, abs=1e-5)
    scale = harness.SCALES["full"]
    assert harness.Scale.from_dict(json.loads(json.dumps(scale.to_dict()))) == scale


def test_the_harness_trains_and_checks_end_to_end() -> None:
    tiny = harness.Scale("tiny", seeds=2, steps=30, models=("logistic", "mlp"), eval_every=0)
    result = harness.run(tiny)
    assert [r.model for r in result.rows] == ["logistic", "mlp"] and result.preliminary
    for row in result.rows:
        assert all(10.0 <= a <= 100.0 for a in row.accuracies) and row.diverged == 0
    assert isinstance(result.rows[0].steps, int) and result.rows[0].steps == 30
    assert TrainConfig.from_dict(harness.configs(tiny)[0].to_dict()).val == 0.0
