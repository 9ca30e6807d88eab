"""`leaky report --from` on a damaged, read-only or full folder: one line, the data intact."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leaky.cli import app


@pytest.fixture
def study(tmp_path: Path, quick_report: Path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(quick_report, out)
    return out


def _one_line_error(result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    (line,) = [x for x in result.output.splitlines() if x.startswith("error: ")] or [result.output]
    return line


def test_a_read_only_from_folder_names_from(study: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.access

    def access(path, mode, **kwargs):  # as root, permissions stop no write: pretend
        if Path(path) == study and mode & os.W_OK:
            return False
        return real(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", access)
    line = _one_line_error(CliRunner().invoke(app, ["report", "--from", str(study)]), 2)
    assert f"--from {str(study)!r} is not writable" in line and "--out" not in line


def test_a_full_disk_while_rendering_is_one_line_and_keeps_the_results(
    study: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from matplotlib.figure import Figure

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Figure, "savefig", full)
    before = (study / "runs.sqlite").read_bytes()
    line = _one_line_error(CliRunner().invoke(app, ["report", "--from", str(study)]), 1)
    assert "disk full" in line and str(study) in line
    assert (study / "runs.sqlite").read_bytes() == before


@pytest.mark.parametrize("value", ["{}", "null"])
def test_a_damaged_stored_value_is_one_line_naming_the_store(study: Path, value: str) -> None:
    with sqlite3.connect(study / "runs.sqlite") as db:
        db.execute(
            "UPDATE runs SET value = ? WHERE rowid = "
            "(SELECT min(rowid) FROM runs WHERE status = 'done')",
            (value,),
        )
    line = _one_line_error(CliRunner().invoke(app, ["report", "--from", str(study)]), 1)
    assert str(study / "runs.sqlite") in line and "cannot be read" in line


def test_an_unknown_experiment_in_the_plan_is_one_line_naming_the_file(study: Path) -> None:
    plan = json.loads((study / "plan.json").read_text())
    plan["configs"]["nope"] = {}
    (study / "plan.json").write_text(json.dumps(plan))
    result = CliRunner().invoke(app, ["report", "--from", str(study)])
    assert result.exit_code in (1, 2), result.output
    line = _one_line_error(result, result.exit_code)
    assert "plan.json" in line and "'nope'" in line


def test_missing_results_are_counted_against_the_whole_study(study: Path) -> None:
    with sqlite3.connect(study / "runs.sqlite") as db:
        total = db.execute("SELECT count(*) FROM runs").fetchone()[0]
        db.execute("DELETE FROM runs")
    line = _one_line_error(CliRunner().invoke(app, ["report", "--from", str(study)]), 1)
    assert f"holds 0 of the {total} tasks of this study" in line
