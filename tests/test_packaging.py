"""The core installs alone: a fresh virtual environment with NumPy, numba and array-api-compat.

There ``leaky.leaky_relu`` works, ``import leaky`` imports no optional library, and the lab
and the ``leaky`` command say which extra to install (one line, no traceback from the
command). Installing uses pip's ordinary index (a local mirror on CI), pinned to the
versions of the environment running the tests, and a wheel built from this checkout.
"""

from __future__ import annotations

import json
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


LOCK = ROOT / "requirements" / f"lock-py{sys.version_info[0]}{sys.version_info[1]}.txt"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel of this checkout, as ``python -m build`` makes them."""
    root = tmp_path_factory.mktemp("dist")
    source = root / "source"  # build from a copy: nothing is written into the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "CHANGELOG.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    out = root / "dist"
    built = _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, source)
    assert built.returncode == 0, built.stdout + built.stderr
    return out


def _wheel(dist: Path) -> Path:
    (wheel,) = dist.glob("leaky-*.whl")
    return wheel


def test_the_sdist_and_the_wheel_pass_twine_check(dist: Path) -> None:
    files = sorted(dist.iterdir())
    assert sorted(f.suffix for f in files) == [".gz", ".whl"]  # leaky-X.tar.gz, leaky-X-...whl
    checked = _run(sys.executable, "-m", "twine", "check", "--strict", *files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("PASSED") == 2


def test_the_version_has_one_source(dist: Path) -> None:
    # pyproject.toml reads it from leaky._version; the files are named by it
    from leaky import __version__

    assert _wheel(dist).name.startswith(f"leaky-{__version__}-")
    assert (dist / f"leaky-{__version__}.tar.gz").is_file()
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{__version__}]" in changelog


@pytest.fixture(scope="module")
def core_env(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment holding leaky (the wheel of this checkout) and its core only."""
    env_dir = tmp_path_factory.mktemp("core-env") / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    pins = [f"{name}=={version(name)}" for name in CORE]
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet"]
    installed = _run(*pip, *pins)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    installed = _run(*pip, "--no-deps", _wheel(dist))
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return env_dir


@pytest.fixture(scope="module")
def lab_env(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment where ``pip install 'leaky[lab]'`` took the wheel (the
    dependencies at the lock's versions), away from the source tree."""
    env_dir = tmp_path_factory.mktemp("lab-env") / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet"]
    installed = _run(*pip, "--constraint", LOCK, f"leaky[lab] @ {_wheel(dist).as_uri()}")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return env_dir


def test_the_installed_wheel_runs_the_command_and_the_function(lab_env: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "COV_CORE"))}
    env.update(COLUMNS="200", NUMBA_CACHE_DIR=str(lab_env / "numba-cache"))
    out = _run(lab_env / "bin" / "leaky", "--help", env=env)
    assert out.returncode == 0, out.stderr
    assert {"plot", "bench", "diagnose", "report", "compare", "tune"} <= set(
        out.stdout.replace("│", " ").split()
    )
    code = (
        "import leaky, leaky.nn, torch; "
        "print(leaky.__file__); "
        "print(leaky.leaky_relu(torch.tensor([-2.0, 3.0]), 0.5).tolist())"
    )
    out = _run(lab_env / "bin" / "python", "-c", code, env=env)
    assert out.returncode == 0, out.stderr
    where, values = out.stdout.splitlines()
    assert Path(where).is_relative_to(lab_env)  # the wheel's copy, not the source tree
    assert values == "[-1.0, 3.0]"


EXTRAS = ("", "torch", "lab", "cluster", "all")


@pytest.mark.parametrize("extra", EXTRAS)
def test_each_extra_resolves_in_a_fresh_environment(extra: str, dist: Path, tmp_path: Path) -> None:
    # What a user gets from the index today, without the lock: the extras must resolve on
    # their own (dask 2026.11.0 once had no distributed release beside it on the index)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    report = tmp_path / "report.json"
    target = f"leaky{f'[{extra}]' if extra else ''} @ {_wheel(dist).as_uri()}"
    pip = [sys.executable, "-m", "pip", "--python", env_dir / "bin" / "python", "install"]
    resolved = _run(*pip, "--dry-run", "--quiet", "--report", report, target)
    assert resolved.returncode == 0, resolved.stdout + resolved.stderr
    got = {
        item["metadata"]["name"].lower(): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    assert {"numpy", "numba", "array-api-compat"} <= set(got)
    assert not any(name.startswith("nvidia-") for name in got)  # never a CUDA build
    if extra:
        assert got["torch"].split("+")[0] == "2.13.0"
    if extra in ("cluster", "all"):
        assert got["dask"] == got["distributed"]  # they release in lockstep
    else:
        assert "distributed" not in got


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
