"""Fixtures only (helpers that tests import are in ``tests/helpers.py``)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Property tests run 1,000 examples each (the floor), with no per-example deadline:
# the first call of a numba kernel compiles.
settings.register_profile(
    "leaky", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "leaky"))

# Tests send Ctrl-C (SIGINT) to the processes they start. A suite started in the background
# of a non-interactive shell (`nohup make test &`) inherits SIGINT ignored, and so would every
# child, which then runs to its end: give the children the default, as a terminal would.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(params=["numpy", "numba-serial", "numba-threaded"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test once per NumPy engine: the blocked NumPy code and both numba loops."""
    from leaky import _numpy

    if request.param == "numpy":
        monkeypatch.setattr(_numpy, "ENGINE", "numpy")
    else:
        from leaky import _kernels

        monkeypatch.setattr(_numpy, "ENGINE", "auto")
        threshold = 0 if request.param == "numba-threaded" else 1 << 62
        monkeypatch.setattr(_kernels, "PARALLEL_MIN_BYTES", threshold)
    return request.param


@pytest.fixture(scope="session")
def quick_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `leaky report --quick --seed 1` folder, made once through the command, read-only."""
    from typer.testing import CliRunner

    from leaky.cli import app

    out = tmp_path_factory.mktemp("r") / "leaky-report"
    result = CliRunner().invoke(app, ["report", "--quick", "--out", str(out), "--seed", "1"])
    assert result.exit_code == 0, result.output
    return out
