"""The `leaky` command: plot, --version, --help, and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leaky import __version__
from leaky.cli import app

runner = CliRunner()


def test_version_and_help() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "plot" in result.output


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_plot_writes_the_figure(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / "sub" / f"f{suffix}"
    result = runner.invoke(app, ["plot", "--slope", "0.05", "-s", "0.2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG") if suffix == ".png" else b"<svg" in data
    assert "0.05, 0.2" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--slope", "1.5"], "negative_slope"),
        (["--slope", "nan"], "real number in [0, 1]"),
        (["--out", "figure.pdf"], "must end in one of .png, .svg"),
    ],
)
def test_plot_bad_input_is_one_clear_error(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["plot", *args], catch_exceptions=False)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_console_script_runs() -> None:
    exe = Path(sys.executable).with_name("leaky")
    out = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"leaky {__version__}"


@pytest.mark.parametrize("command", ["born-dead", "stress", "slopes", "sparsity"])
def test_each_experiment_runs_alone_from_the_cli(tmp_path: Path, command: str) -> None:
    out = tmp_path / f"{command}.json"
    args = [command, "--quick", "--seed", "2", "--json", str(out)]
    if command != "born-dead":
        args += ["--jobs", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(out.read_text())
    assert data
    assert "NaN" not in out.read_text()  # strict JSON


def test_bad_jobs_is_one_clear_error() -> None:
    result = runner.invoke(app, ["stress", "--quick", "--jobs", "0"])
    assert result.exit_code == 2
    assert "--jobs must be at least 1" in result.output
