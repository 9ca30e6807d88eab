"""`leaky diagnose`: the user's factory, the report, and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leaky.cli import app

PLANTED = [2, 5, 11]


FACTORY = """
import torch
from torch import nn

def make():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    with torch.no_grad():
        model[0].bias[[2, 5, 11]] = -1e3
    return model, [torch.randn(8, 6) for _ in range(6)]

def wrong():
    return 42

def broken():
    raise OSError("no data here")

def markup():
    raise OSError("[/] :smile: [bold]")

def counted():
    open("made", "w").close()
    return make()
"""


@pytest.fixture
def factory_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "my_factories.py").write_text(textwrap.dedent(FACTORY))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_cli_diagnose(factory_dir: Path) -> None:
    out = factory_dir / "report.json"
    result = CliRunner().invoke(app, ["diagnose", "my_factories:make", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "3 of 16 units dead" in " ".join(result.output.split())
    assert json.loads(out.read_text())["layers"][0]["dead"] == PLANTED


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("my_factories", "must look like 'package.module:function'"),
        ("no_such_module:make", "cannot import module 'no_such_module'"),
        ("my_factories:missing", "has no 'missing'"),
        ("my_factories:wrong", "must return (model, iterable_of_batches)"),
        ("my_factories:broken", "raised OSError: no data here"),
    ],
)
def test_cli_diagnose_bad_factory_is_one_clear_error(
    factory_dir: Path, spec: str, message: str
) -> None:
    result = CliRunner().invoke(app, ["diagnose", spec])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_cli_diagnose_relative_module_is_one_line(factory_dir: Path) -> None:
    """Before: `importlib` raised TypeError ("the 'package' argument is required")."""
    result = CliRunner().invoke(app, ["diagnose", ".my_factories:make"])
    assert result.exit_code == 2
    assert result.output == (
        "error: The 'factory' parameter of leaky diagnose must look like "
        "'package.module:function'. Got '.my_factories:make' (str) instead.\n"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--batches", "0"], "The '--batches' parameter of leaky diagnose must be an integer >= 1"),
        (["--tau", "-1"], "The '--tau' parameter of leaky diagnose must be a finite real number"),
        (["--tau", "nan"], "The '--tau' parameter of leaky diagnose must be a finite real number"),
        (["--format", "xml"], "The '--format' parameter of leaky diagnose must be one of"),
        (["--json", "afile"], "error: --json afile is a folder; give a file name."),
        (["--json", "nofolder/sub/r.json"], "cannot write --json nofolder/sub/r.json: nofolder"),
    ],
)
def test_cli_diagnose_bad_options_before_the_model_is_made(
    factory_dir: Path, options: list[str], message: str
) -> None:
    (factory_dir / "afile").mkdir()
    (factory_dir / "nofolder").write_text("a file")
    result = CliRunner().invoke(app, ["diagnose", "my_factories:counted", *options])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not (factory_dir / "made").exists()  # the factory never ran


def test_cli_diagnose_format_json(factory_dir: Path) -> None:
    result = CliRunner().invoke(app, ["diagnose", "my_factories:make", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["layers"][0]["dead"] == PLANTED


def test_cli_diagnose_strings_are_printed_as_typed(factory_dir: Path) -> None:
    result = CliRunner().invoke(app, ["diagnose", "no[/]mod:make"])
    assert result.exit_code == 2 and "Got 'no[/]mod:make' (str) instead." in result.output
    result = CliRunner().invoke(app, ["diagnose", "my_factories:markup"])
    assert result.exit_code == 2 and "raised OSError: [/] :smile: [bold]" in result.output
    out = factory_dir / "runs[final]" / "r.json"
    result = CliRunner().invoke(app, ["diagnose", "my_factories:make", "--json", str(out)])
    assert result.exit_code == 0 and f"wrote {out}" in " ".join(result.output.split())


def test_cli_diagnose_a_torch_py_in_the_working_directory_is_not_imported(
    factory_dir: Path,
) -> None:
    (factory_dir / "torch.py").write_text(
        f"open({str(factory_dir / 'shadowed')!r}, 'w').close()\nraise ImportError('not torch')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run(
        [str(Path(sys.executable).with_name("leaky")), "diagnose", "my_factories:make"],
        cwd=factory_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert not (factory_dir / "shadowed").exists()
    assert "3 of 16 units dead" in " ".join(run.stdout.split())
