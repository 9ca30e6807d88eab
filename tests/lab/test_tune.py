"""Slope tuning on Optuna, from Python: baseline, seeds, resume, threads, failures."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from leaky.lab.tune import TuneError, tune_slope


def peak(a: float, seed: int) -> float:
    """A smooth objective with its maximum at slope 0.1; seeds shift it."""
    return 1.0 - abs(a - 0.1) + 0.01 * seed


def test_api_baseline_seeds_and_best() -> None:
    result = tune_slope(peak, n_trials=12, seeds=(0, 1, 2))
    assert len(result.complete) == 12
    baseline = [t for t in result.trials if t.baseline]
    assert len(baseline) == 1 and baseline[0].number == 0 and baseline[0].slope == 0.0
    assert result.relu_value == pytest.approx(peak(0.0, 1))  # mean over seeds 0, 1, 2
    assert baseline[0].values == pytest.approx([peak(0.0, s) for s in (0, 1, 2)])
    assert result.best_value >= max(t.value for t in result.complete if not t.baseline)
    assert 1e-4 <= result.best_slope <= 0.5
    assert result.best_std == pytest.approx(0.01)
    slopes = [t.slope for t in result.complete]
    assert len(set(slopes)) == 12


def test_minimize_and_no_relu() -> None:
    result = tune_slope(
        lambda a, s: (a - 0.2) ** 2, n_trials=6, direction="minimize", include_relu=False
    )
    assert result.relu_value is None and all(not t.baseline for t in result.trials)
    assert result.best_value == min(t.value for t in result.complete)


def test_sqlite_resume_keeps_trials_and_runs_only_the_missing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    first = tune_slope(peak, n_trials=3, storage=url, study_name="s")
    second = tune_slope(peak, n_trials=7, storage=url, study_name="s")
    assert len(second.complete) == 7
    assert [(t.number, t.slope) for t in second.trials[:3]] == [
        (t.number, t.slope) for t in first.trials
    ]
    again = tune_slope(peak, n_trials=7, storage=url, study_name="s")  # nothing to do
    assert len(again.trials) == 7


def test_parallel_threads_reach_exactly_n_trials(tmp_path: Path) -> None:
    def slow(a: float, seed: int) -> float:
        time.sleep(0.05)
        return peak(a, seed)

    result = tune_slope(slow, n_trials=10, n_jobs=3, storage=f"sqlite:///{tmp_path / 't.db'}")
    assert len(result.complete) == 10
    assert len({t.number for t in result.trials}) == len(result.trials)


def test_failing_objective_is_recorded_and_the_study_goes_on() -> None:
    calls = {"n": 0}

    def flaky(a: float, seed: int) -> float:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("out of memory, say")
        if calls["n"] == 5:
            return float("nan")
        return peak(a, seed)

    result = tune_slope(flaky, n_trials=8)
    assert len(result.complete) == 8
    failed = [t for t in result.trials if t.state == "FAIL"]
    assert [t.fail_reason for t in failed] == [
        "seed 0: RuntimeError: out of memory, say",
        "seed 0: the objective returned NaN",
    ]
    assert len(result.trials) == 10


def test_an_objective_that_always_fails_stops_with_a_clear_error() -> None:
    with pytest.raises(TuneError, match="failed in more than 3 trials; the last reason: seed 0"):
        tune_slope(lambda a, s: 1 / 0, n_trials=3)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_trials": 0}, ValueError, "'n_trials' parameter of tune_slope must be an integer >= 1"),
        ({"low": 0.0}, ValueError, "0 < low < high <= 1"),
        ({"low": 0.5, "high": 0.1}, ValueError, "0 < low < high <= 1"),
        ({"seeds": ()}, ValueError, "'seeds' parameter"),
        ({"seeds": (1, 1)}, ValueError, "distinct integers"),
        ({"direction": "up"}, ValueError, "'maximize' or 'minimize'"),
        ({"storage": "leaky.db"}, TuneError, "must be an Optuna storage URL"),
        ({"storage": "nosuchdb://x/y"}, TuneError, "Cannot open the storage"),
        ({"storage": "postgresql://u@127.0.0.1:1/db"}, TuneError, "Cannot open the storage"),
    ],
)
def test_bad_input(kwargs: dict, error: type, message: str) -> None:
    args = {"n_trials": 2, **kwargs}
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        tune_slope(peak, **args)


def test_existing_study_with_another_direction(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    tune_slope(peak, n_trials=2, storage=url, study_name="d")
    with pytest.raises(TuneError, match="already exists with direction 'maximize'"):
        tune_slope(peak, n_trials=2, storage=url, study_name="d", direction="minimize")
