"""leaky.lab._checks: the lab's and the CLI's argument checks, one message pattern (the
parameter, what is allowed, what was received); the core's _validate keeps only its own."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from leaky import _validate
from leaky.lab import _checks

MOVED = (
    "one_of",
    "scheduler_address",
    "dashboard_address",
    "jobs_for",
    "pvalues",
    "seed_list",
    "seed",
    "seeds",
    "slope_range",
    "load_object",
    "object_ref",
    "module_names",
    "count",
    "int_tuple",
    "fraction",
    "positive_int",
)


@pytest.mark.parametrize("name", MOVED)
def test_each_lab_check_has_one_home(name: str) -> None:
    assert callable(getattr(_checks, name))
    assert not hasattr(_validate, name)


def test_the_lab_calls_one_of_through_its_checks() -> None:
    # one_of is the lab's and the CLI's only, but stays defined in _validate until
    # leaky.lab.experiments.gradients calls _checks.one_of too; then it joins MOVED.
    assert _checks.one_of("a", "x", "f", ("a", "b")) == "a"


@pytest.mark.parametrize(
    ("check", "args", "expected"),
    [
        (_checks.positive_int, (3,), 3),
        (_checks.count, (0,), 0),
        (_checks.int_tuple, ([2, 1],), (2, 1)),
        (_checks.fraction, (0.25,), 0.25),
    ],
)
def test_a_moved_check_returns_its_value(
    check: Callable[..., object], args: tuple[object, ...], expected: object
) -> None:
    assert check(*args, "p", "f") == expected


@pytest.mark.parametrize(
    ("check", "value", "allowed"),
    [
        (_checks.positive_int, 0, "an integer >= 1"),
        (_checks.positive_int, True, "an integer >= 1"),
        (_checks.count, -1, "an integer >= 0"),
        (_checks.int_tuple, [1, 1], "a non-empty sequence of distinct integers >= 0"),
        (_checks.int_tuple, "12", "a non-empty sequence of distinct integers >= 0"),
        (_checks.fraction, 1.0, r"a number in \[0, 1\)"),
    ],
)
def test_a_moved_check_names_the_parameter(
    check: Callable[..., object], value: object, allowed: str
) -> None:
    with pytest.raises(ValueError, match=rf"^The 'p' parameter of f must be {allowed}\. Got "):
        check(value, "p", "f")


def test_count_names_its_range() -> None:
    assert _checks.count(5, "n", "f", low=1, high=5) == 5
    with pytest.raises(ValueError, match=r"must be an integer in \[1, 5\]\. Got 6 \(int\)"):
        _checks.count(6, "n", "f", low=1, high=5)


def test_the_core_keeps_what_the_core_uses() -> None:
    for name in ("negative_slope", "numpy_input", "xp_out", "env_bytes", "positive_real"):
        assert callable(getattr(_validate, name))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("local", "local"),
        ("127.0.0.1:8786", "tcp://127.0.0.1:8786"),
        (" tls://[::1]:8786 ", "tls://[::1]:8786"),
    ],
)
def test_a_scheduler_address(value: object, expected: str | None) -> None:
    assert _checks.scheduler_address(value, "scheduler", "run") == expected


@pytest.mark.parametrize("value", ["http://host:8786", "host", 8786, "tcp://host:123456"])
def test_a_bad_scheduler_address_is_named(value: object) -> None:
    with pytest.raises(ValueError, match=r"The 'scheduler' parameter of run must be 'local'"):
        _checks.scheduler_address(value, "scheduler", "run")


def test_jobs_apply_only_without_a_remote_scheduler() -> None:
    assert _checks.jobs_for(None, "tcp://h:1", "--jobs", "leaky report") is None
    assert _checks.jobs_for(2, "local", "--jobs", "leaky report") == 2
    with pytest.raises(ValueError, match=r"'--jobs' parameter of leaky report does not apply"):
        _checks.jobs_for(2, "tcp://h:1", "--jobs", "leaky report")
    with pytest.raises(ValueError, match=r"'--jobs' parameter of leaky report must be an integer"):
        _checks.jobs_for(0, None, "--jobs", "leaky report")


def test_pvalues() -> None:
    np.testing.assert_array_equal(_checks.pvalues([0, 0.5, 1], "holm"), [0.0, 0.5, 1.0])
    assert _checks.pvalues([], "holm").size == 0
    for bad in ([0.5, np.nan], [1.5], [[0.1]], ["a"]):
        with pytest.raises(ValueError, match=r"'pvalues' parameter of holm .*\[0, 1\]"):
            _checks.pvalues(bad, "holm")


def test_seed_list() -> None:
    assert _checks.seed_list("3, 1,2", "--seeds", "leaky tune") == [3, 1, 2]
    for bad in ("", "1,1", "a", "1.5", None):
        with pytest.raises(ValueError, match=r"'--seeds' parameter of leaky tune"):
            _checks.seed_list(bad, "--seeds", "leaky tune")
    with pytest.raises(ValueError, match=r"\[0, 4294967295\] \(a seed\)\. Got -1 \(int\)"):
        _checks.seed_list("0,-1", "--seeds", "leaky tune")


def test_dashboard_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEAKY_TEST_DASHBOARD", raising=False)
    assert _checks.dashboard_address("LEAKY_TEST_DASHBOARD", "127.0.0.1:0") == "127.0.0.1:0"
    monkeypatch.setenv("LEAKY_TEST_DASHBOARD", " [::1]:8787 ")
    assert _checks.dashboard_address("LEAKY_TEST_DASHBOARD", "127.0.0.1:0") == "[::1]:8787"
    for bad in (":8787", "host:70000", "host"):
        monkeypatch.setenv("LEAKY_TEST_DASHBOARD", bad)
        with pytest.raises(ValueError, match=r"LEAKY_TEST_DASHBOARD must be host:port"):
            _checks.dashboard_address("LEAKY_TEST_DASHBOARD", "127.0.0.1:0")


def test_a_slope_range_names_the_callers_options() -> None:
    assert _checks.slope_range(1e-4, 0.5, "tune_slope") == (1e-4, 0.5)
    with pytest.raises(ValueError, match=r"^The 'low' and 'high' parameters of tune_slope"):
        _checks.slope_range(0.5, 0.1, "tune_slope")
    with pytest.raises(ValueError, match=r"^The '--low' and '--high' .* Got --low=0, --high=1"):
        _checks.slope_range(0, 1, "leaky tune", ("--low", "--high"))
