"""`leaky report` and the experiment commands: --out refused before any work, JSON, --jobs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leaky.cli import app
from leaky.lab import report

MARKER_NAME = ".leaky-report"


def _no_experiments(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("an experiment ran before --out was checked")

    monkeypatch.setattr(report, "run_experiments", refuse)


def _refused(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["report", "--quick", *args], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and "Traceback" not in result.output
    assert message in " ".join(result.output.split())
    with pytest.raises(ValueError, match=message) as err:  # the library's check, one line
        report.check_out(args[args.index("--out") + 1])
    assert "\n" not in str(err.value)


def test_a_foreign_folder_is_refused_before_any_work_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_experiments(monkeypatch)
    docs = tmp_path / "mydocs"
    docs.mkdir()
    (docs / "thesis.tex").write_text("x")
    _refused(["--out", str(docs)], "holds no leaky report")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mydocs"]
    assert [p.name for p in docs.iterdir()] == ["thesis.tex"]
    assert (docs / "thesis.tex").read_text() == "x"
    with pytest.raises(ValueError, match="holds no leaky report"):
        report.build(docs, quick=True)  # the library checks first too


@pytest.mark.parametrize("spelling", [".", "", "CWD", "..", "/", "HOME"])
def test_the_working_home_and_root_directories_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    _no_experiments(monkeypatch)
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("mine")
    (work / MARKER_NAME).write_text('{"leaky": "0"}')  # even if it looks like a report
    home = tmp_path / "home"
    home.mkdir()  # empty, and not above the working directory: refused as the home itself
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(home))
    out = {"CWD": str(work), "HOME": str(home)}.get(spelling, spelling)
    _refused(["--out", out], "directory")
    assert (work / "notes.txt").read_text() == "mine"


def test_an_existing_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_experiments(monkeypatch)
    f = tmp_path / "report.html"
    f.write_text("keep me")
    _refused(["--out", str(f)], "not a folder")
    assert f.read_text() == "keep me"


def test_a_symlink_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quick_report: Path
) -> None:
    _no_experiments(monkeypatch)
    target = tmp_path / "real"
    shutil.copytree(quick_report, target)  # a real previous report behind the link
    link = tmp_path / "link"
    link.symlink_to(target, target_is_directory=True)
    _refused(["--out", str(link)], "symbolic link")
    assert link.is_symlink() and (target / "index.html").is_file()


@pytest.mark.parametrize("command", ["born-dead", "stress", "slopes", "sparsity"])
def test_each_experiment_runs_alone_from_the_cli(tmp_path: Path, command: str) -> None:
    out = tmp_path / f"{command}.json"
    args = [command, "--quick", "--seed", "2", "--json", str(out)]
    if command != "born-dead":
        args += ["--jobs", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output

    data = json.loads(out.read_text())
    assert data
    assert "NaN" not in out.read_text()  # strict JSON


def test_bad_jobs_is_one_clear_error() -> None:
    result = CliRunner().invoke(app, ["stress", "--quick", "--jobs", "0"])
    assert result.exit_code == 2
    assert "--jobs must be at least 1" in result.output
