"""Each experiment on tiny settings, the Brownlowe check, and the verdict rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from leaky.lab import claims, data
from leaky.lab.experiments import born_dead, slopes, sparsity, stress
from leaky.lab.training import RunConfig, train_run


def test_data_sets_are_bundled_or_generated_and_standardised() -> None:
    d = data.digits()
    assert d.x_train.shape == (1438, 64) and d.classes == 10
    assert d.x_train.dtype == np.float32
    np.testing.assert_allclose(d.x_train.mean(axis=0), 0, atol=1e-5)
    s = data.spirals(200, seed=3)
    assert s.x_train.shape == (160, 2) and set(np.unique(s.y_train)) <= {0, 1}
    np.testing.assert_array_equal(data.spirals(200, seed=3).x_test, s.x_test)
    with pytest.raises(ValueError, match="Valid names: digits, spirals, blobs"):
        data.load("mnist")


def test_wilson_interval() -> None:
    lo, hi = born_dead.wilson(50, 100)
    assert lo == pytest.approx(0.4038, abs=1e-4) and hi == pytest.approx(0.5962, abs=1e-4)
    assert born_dead.wilson(0, 10)[0] == 0.0 and born_dead.wilson(10, 10)[1] == 1.0


@pytest.mark.parametrize("n1", [1, 2, 3])
def test_monte_carlo_matches_brownlowe_exact_result(n1: int) -> None:
    """Brownlowe et al. 2024: a second-layer neuron is dead with probability 1/2^(n1+1)."""
    p, (lo, hi) = born_dead.second_layer_dead(n0=3, n1=n1, trials=20000, seed=n1)
    exact = 1 / 2 ** (n1 + 1)
    assert lo <= exact <= hi, (p, lo, hi, exact)
    assert abs(p - exact) < 4 * math.sqrt(exact * (1 - exact) / 20000)


def test_born_dead_relu_dies_with_depth_and_leaky_zero_bias_never_does() -> None:
    config = born_dead.BornDeadConfig(
        depths=(2, 20),
        widths=(2,),
        trials=400,
        inputs=16,
        inits=(born_dead.Init(0.0), born_dead.Init(0.1)),
    )
    cells = {(c.slope, c.depth): c for c in born_dead.run(config).cells}
    assert cells[(0.0, 20)].p_exact > cells[(0.0, 2)].p_exact
    assert cells[(0.0, 20)].p_exact > 0.5
    assert cells[(0.1, 20)].exactly_constant == 0
    assert cells[(0.0, 20)].ci_exact[0] <= cells[(0.0, 20)].p_exact <= cells[(0.0, 20)].ci_exact[1]


def test_born_dead_is_deterministic() -> None:
    config = born_dead.BornDeadConfig(depths=(5,), widths=(3,), trials=100, inputs=8)
    assert born_dead.run(config).to_dict() == born_dead.run(config).to_dict()


def test_train_run_measures_every_epoch_and_is_deterministic() -> None:
    config = RunConfig(dataset="spirals", slope=0.1, lr=0.1, epochs=2, width=16, depth=2)
    a, b = train_run(config), train_run(config)
    assert [h["epoch"] for h in a.history] == [0, 1, 2]
    assert a.history == b.history
    keys = {
        "loss",
        "train_acc",
        "test_acc",
        "dead_fraction",
        "negative_regime_fraction",
        "zero_fraction",
        "nonpositive_fraction",
        "zero_grad_fraction",
        "grad_norm_first",
    }
    assert keys <= set(a.final)
    assert a.final["dead_fraction"] == 0.0  # Leaky units are never "dead"
    assert a.final["zero_fraction"] == 0.0


def test_relu_after_a_shock_has_dead_units_and_zero_gradients() -> None:
    run = train_run(RunConfig(dataset="spirals", slope=0.0, shock=3.0, epochs=1, width=16))
    assert run.history[0]["dead_fraction"] > 0.3
    assert run.history[0]["zero_grad_fraction"] > 0.5


def test_divergence_is_recorded_not_dropped() -> None:
    run = train_run(RunConfig(dataset="digits", slope=0.1, lr=50.0, epochs=3, width=16))
    assert run.diverged and run.diverged_epoch == 1
    rows = stress.summarize([run])
    assert rows[0]["diverged"] == 1 and rows[0]["runs"] == 1


def test_stress_summary_and_jobs_give_the_same_numbers() -> None:
    config = stress.StressConfig(
        datasets=("spirals",),
        lrs=(0.1,),
        shocks=(0.0, 2.0),
        slopes=(0.0, 0.1),
        seeds=2,
        epochs=1,
        width=8,
        depth=2,
    )
    one = stress.run(config, jobs=1)
    two = stress.run(config, jobs=2)
    assert one.groups == two.groups
    assert len(one.groups) == 4 and all(g["runs"] == 2 for g in one.groups)
    assert {"curves", "final_dead", "final_negative_regime"} <= set(one.groups[0])


def test_slopes_and_sparsity_summaries() -> None:
    config = slopes.SlopeConfig(
        dataset="spirals", slopes=(0.0, 0.1), seeds=2, epochs=1, width=8, depth=2
    )
    results = slopes.runs(config)
    rows = slopes.summarize(results)
    assert [r["slope"] for r in rows] == [0.0, 0.1]
    assert all(r["runs"] == 2 and len(r["test_acc"]) == 2 for r in rows)
    sparse = sparsity.summarize(results)
    relu, leaky = sparse
    assert relu["zero_fraction_final"] == pytest.approx(relu["nonpositive_fraction_final"])
    assert leaky["zero_fraction_final"] == 0.0 and leaky["zero_grad_fraction_final"] == 0.0
    assert relu["zero_grad_fraction_final"] > 0.1


# ---- verdict rules: each rule, fed made-up numbers, gives each verdict -------------------


def _sparse(
    relu_zero: float, leaky_zero: float, relu_grad: float, leaky_grad: float, leaky_nonpos: float
) -> list[dict]:
    return [
        {
            "slope": 0.0,
            "zero_fraction_final": relu_zero,
            "nonpositive_fraction_final": relu_zero,
            "zero_grad_fraction_init": relu_grad,
            "zero_grad_fraction_final": relu_grad,
        },
        {
            "slope": 0.1,
            "zero_fraction_final": leaky_zero,
            "nonpositive_fraction_final": leaky_nonpos,
            "zero_grad_fraction_init": leaky_grad,
            "zero_grad_fraction_final": leaky_grad,
        },
    ]


@pytest.mark.parametrize(
    ("relu_grad", "leaky_grad", "verdict"),
    [
        (0.45, 0.0, "supported"),
        (0.45, 0.45, "not supported"),
        (0.45, 0.05, "mixed"),
    ],
)
def test_rule_nonzero_gradient(relu_grad: float, leaky_grad: float, verdict: str) -> None:
    rows = _sparse(0.45, 0.0, relu_grad, leaky_grad, 0.45)
    assert claims.nonzero_gradient(rows).verdict == verdict


@pytest.mark.parametrize(
    ("leaky_zero", "verdict"),
    [
        (0.0, "not supported"),
        (0.3, "supported"),
        (0.05, "mixed"),
    ],
)
def test_rule_exact_sparsity(leaky_zero: float, verdict: str) -> None:
    assert claims.exact_sparsity(_sparse(0.45, leaky_zero, 0.45, 0, 0.45)).verdict == verdict


@pytest.mark.parametrize(
    ("nonpos", "verdict"),
    [
        (0.46, "supported"),
        (0.6, "mixed"),
        (0.1, "not supported"),
    ],
)
def test_rule_sign_sparsity(nonpos: float, verdict: str) -> None:
    assert claims.sign_sparsity(_sparse(0.45, 0, 0.45, 0, nonpos)).verdict == verdict


def _cell(slope: float, p: int, trials: int = 1000) -> dict:
    return {
        "slope": slope,
        "init": f"a={slope}",
        "depth": 10,
        "width": 2,
        "p_exact": p / trials,
        "ci_exact": born_dead.wilson(p, trials),
    }


def _group(
    slope: float,
    shock: float,
    init: float,
    final: float,
    acc: float,
    diverged: int = 0,
    std: float = 0.01,
) -> dict:
    return {
        "dataset": "d",
        "lr": 0.1,
        "shock": shock,
        "slope": slope,
        "runs": 5,
        "diverged": diverged,
        "test_acc_mean": acc,
        "test_acc_std": std,
        "init_dead_or_negative": init,
        "final_dead": final if slope == 0 else 0.0,
        "final_negative_regime": final if slope > 0 else 0.0,
    }


@pytest.mark.parametrize(
    ("leaky_p", "leaky_final", "verdict"),
    [
        (0, 0.05, "supported"),  # never born dead, and recovers
        (0, 0.30, "mixed"),  # never born dead, does not recover
        (300, 0.30, "not supported"),
    ],
)
def test_rule_no_dying(leaky_p: int, leaky_final: float, verdict: str) -> None:
    cells = [_cell(0.0, 600), _cell(0.1, leaky_p)]
    groups = [
        _group(0.0, 2.0, 0.3, 0.3, 0.1),
        _group(0.1, 2.0, 0.3, leaky_final, 0.9 if leaky_final < 0.1 else 0.1),
    ]
    assert claims.no_dying(cells, groups).verdict == verdict


@pytest.mark.parametrize(
    ("leaky_div", "leaky_acc", "verdict"),
    [
        (0, 0.95, "supported"),
        (3, 0.95, "not supported"),
        (0, 0.90, "not supported"),
        (0, 0.935, "mixed"),
    ],
)
def test_rule_stability(leaky_div: int, leaky_acc: float, verdict: str) -> None:
    groups = [
        _group(0.0, 0.0, 0, 0, 0.95, diverged=1),
        _group(0.1, 0.0, 0, 0, leaky_acc, diverged=leaky_div),
    ]
    assert claims.stability(groups).verdict == verdict


@pytest.mark.parametrize(("gap", "verdict"), [(0.05, "supported"), (0.001, "not supported")])
def test_rule_slope_matters(gap: float, verdict: str) -> None:
    rows = [
        {"slope": 0.0, "test_acc_mean": 0.9, "test_acc_sem": 0.005},
        {"slope": 0.1, "test_acc_mean": 0.9 + gap, "test_acc_sem": 0.005},
    ]
    v = claims.slope_matters(rows)
    assert v.verdict == verdict
    assert v.evidence["gap"] == pytest.approx(gap)
