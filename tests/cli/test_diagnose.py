"""`leaky diagnose`: the user's factory, the report, and one-line errors."""

from __future__ import annotations

import json
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
        ("my_factories", "must look like 'package.module:name'"),
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
