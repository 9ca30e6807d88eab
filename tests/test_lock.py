"""The install lock (``requirements/lock-pyXY.txt``) agrees with ``pyproject.toml``.

``make demo``, ``make test`` and CI install with ``pip install -c`` the lock; ``make lock``
(``tools/lock.py``) writes it. These tests fail as soon as a dependency changes in
``pyproject.toml`` without a new lock, or the lock stops satisfying a requirement.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def lock() -> ModuleType:
    spec = importlib.util.spec_from_file_location("leaky_lock_tool", ROOT / "tools" / "lock.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_lock_of_this_python_is_current(lock: ModuleType) -> None:
    assert (
        lock.lock_path()
        == ROOT / "requirements" / f"lock-py{sys.version_info[0]}{sys.version_info[1]}.txt"
    )
    assert lock.problems() == []


def test_a_changed_dependency_without_a_new_lock_is_caught(
    lock: ModuleType, tmp_path: Path
) -> None:
    pyproject = tmp_path / "pyproject.toml"
    text = (ROOT / "pyproject.toml").read_text()
    pyproject.write_text(text.replace('"scipy>=1.11"', '"scipy>=99"'))
    found = lock.problems(pyproject=pyproject)
    assert any("changed since" in p for p in found)
    assert any("scipy==" in p and "does not satisfy" in p for p in found)
    pyproject.write_text(text.replace('"rich>=13",', '"rich>=13",\n    "no-such-package>=1",'))
    assert any("no-such-package is required" in p for p in lock.problems(pyproject=pyproject))


def test_the_lock_pins_every_package_exactly_without_local_labels(lock: ModuleType) -> None:
    text = lock.lock_path().read_text()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            assert re.fullmatch(r"[A-Za-z0-9._-]+==[0-9][0-9A-Za-z.!]*", line), line
    pins = lock.pins(text)
    assert pins["torch"] == "2.13.0"  # the CPU wheel on disk; "+cpu" would not match elsewhere
    assert pins["dask"] == pins["distributed"]
    assert not any(name.startswith("nvidia-") for name in pins)  # never a CUDA build
    assert {"pip", "setuptools"} <= set(pins)  # the build is locked too (no build isolation)
