"""The core installs alone: a fresh virtual environment with NumPy, numba and array-api-compat.

There ``leaky.leaky_relu`` works, ``import leaky`` imports no optional library, and the lab
and the ``leaky`` command say which extra to install (one line, no traceback from the
command). Installing uses pip's ordinary index (a local mirror on CI), pinned to the
versions of the environment running the tests, and a wheel built from this checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = ("torch", "matplotlib", "rich", "typer", "sklearn", "scipy", "optuna", "jax", "dask")
CORE = ("numpy", "numba", "llvmlite", "array-api-compat")


def _run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=600, env=env
    )


@pytest.fixture(scope="module")
def core_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment holding leaky (a wheel of this checkout) and its core only."""
    root = tmp_path_factory.mktemp("core-env")
    source = root / "source"  # build from a copy: nothing is written into the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    wheel_dir = root / "wheels"
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    built = _run(*pip_wheel, "--wheel-dir", wheel_dir, source)
    assert built.returncode == 0, built.stdout + built.stderr
    env_dir = root / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    pins = [f"{name}=={version(name)}" for name in CORE]
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet"]
    installed = _run(*pip, *pins)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    (wheel,) = wheel_dir.glob("leaky-*.whl")
    installed = _run(*pip, "--no-deps", wheel)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return env_dir


def _python(env_dir: Path, code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "COV_CORE"))}
    env["NUMBA_CACHE_DIR"] = str(env_dir / "numba-cache")
    return _run(env_dir / "bin" / "python", "-c", code, env=env)


def test_the_core_environment_holds_no_optional_library(core_env: Path) -> None:
    out = _python(
        core_env,
        "import importlib.util as u; "
        f"print([m for m in {OPTIONAL!r} if u.find_spec(m) is not None])",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_function_works_with_the_core_alone(core_env: Path) -> None:
    code = (
        "import sys, numpy as np, leaky; "
        "x = np.array([-2.0, -0.0, 0.0, 3.0], dtype=np.float32); "
        "print(leaky.leaky_relu(x, 0.1).tolist(), leaky.leaky_relu_derivative(x, 0.1).tolist()); "
        "y = np.linspace(-1, 1, 1 << 16); leaky.leaky_relu(y, 0.1, out=y); "
        "print(leaky.leaky_relu_backward(np.ones(2), np.array([-1.0, 1.0]), 0.5).tolist()); "
        f"print(sorted(m for m in {OPTIONAL!r} if m in sys.modules))"
    )
    out = _python(core_env, code)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    # float32 values, printed as Python floats: -0.2f and 0.1f
    assert lines[0] == "[-0.20000000298023224, -0.0, 0.0, 3.0] [0.10000000149011612, 1.0, 1.0, 1.0]"
    assert lines[1] == "[0.5, 1.0]"
    assert lines[2] == "[]"  # nothing optional was imported


def test_py_typed_is_installed(core_env: Path) -> None:
    code = (
        "import leaky, pathlib; print((pathlib.Path(leaky.__file__).parent / 'py.typed').is_file())"
    )
    out = _python(core_env, code)
    assert out.stdout.strip() == "True", out.stderr


def test_the_command_says_which_extra_to_install(core_env: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    for args in (["--version"], ["report", "--quick"], []):
        out = _run(core_env / "bin" / "leaky", *args, env=env)
        assert out.returncode == 1
        assert out.stdout == ""
        assert out.stderr == (
            "error: the leaky command needs the 'lab' extra: pip install 'leaky[lab]' "
            "(typer is not installed)\n"
        )


def test_the_lab_says_which_extra_to_install(core_env: Path) -> None:
    out = _python(core_env, "import leaky.lab.report")
    assert out.returncode == 1
    assert out.stderr.splitlines()[-1] == (
        "leaky._imports.MissingExtraError: leaky.lab needs the 'lab' extra: "
        "pip install 'leaky[lab]' (torch is not installed)"
    )
    out = _python(core_env, "import leaky.cli; print(leaky.cli.main.__name__)")
    assert out.returncode == 0 and out.stdout.strip() == "main", out.stderr
