"""`leaky report` and the experiment commands: --out refused before any work, JSON, --jobs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leaky.cli import app
from leaky.lab import outdir, report

MARKER_NAME = ".leaky-report"


def _no_experiments(monkeypatch: pytest.MonkeyPatch) -> None:
    from leaky.lab import runner

    def refuse(*args, **kwargs):
        raise AssertionError("an experiment ran before --out was checked")

    monkeypatch.setattr(runner, "run", refuse)


def _refused(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["report", "--quick", *args], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and "Traceback" not in result.output
    assert message in " ".join(result.output.split())
    with pytest.raises(ValueError, match=message) as err:  # the library's check, one line
        outdir.check_out(args[args.index("--out") + 1])
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
        report.build(docs, scale="quick")  # the library checks first too


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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scale", "huge"], "'--scale' parameter of leaky report must be one of"),
        (["--seed", "-1"], "'--seed' parameter of leaky report"),
        (["--jobs", "0"], "'--jobs' parameter of leaky"),
        (["--quick", "--scale", "full"], "--quick is --scale quick"),
        (["--scheduler", "nonsense://x"], "scheduler"),
    ],
)
def test_bad_arguments_are_one_line_errors_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    _no_experiments(monkeypatch)
    result = CliRunner().invoke(app, ["report", "--out", str(tmp_path / "r"), *args])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and "Traceback" not in result.output
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "r").exists()


def test_from_re_renders_and_refuses_run_options(tmp_path: Path, quick_report: Path) -> None:
    out = tmp_path / "copy"
    shutil.copytree(quick_report, out)
    result = CliRunner().invoke(app, ["report", "--from", str(out)])
    assert result.exit_code == 0, result.output
    assert "stored results" in result.output
    refused = CliRunner().invoke(app, ["report", "--from", str(out), "--seed", "3"])
    assert refused.exit_code == 2 and "--seed does not apply to --from" in refused.output
    other = tmp_path / "elsewhere"
    refused = CliRunner().invoke(app, ["report", "--from", str(out), "--out", str(other)])
    assert refused.exit_code == 2 and "--out does not apply to --from" in refused.output
    assert not other.exists()


def test_from_a_damaged_or_unfinished_study_is_one_line(tmp_path: Path, quick_report: Path) -> None:
    out = tmp_path / "copy"
    shutil.copytree(quick_report, out)
    (out / "runs.sqlite").write_bytes(b"not a database at all" * 100)
    result = CliRunner().invoke(app, ["report", "--from", str(out)])
    assert result.exit_code == 1 and result.output.startswith("error: "), result.output
    assert "Traceback" not in result.output
    (out / "runs.sqlite").unlink()
    result = CliRunner().invoke(app, ["report", "--from", str(out)])
    assert result.exit_code == 1 and result.output.startswith("error: "), result.output


def test_a_scheduler_without_the_cluster_extra_is_one_line_before_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name.split(".")[0] == "distributed" else real(name, *a),
    )
    out = tmp_path / "r"
    result = CliRunner().invoke(
        app, ["report", "--quick", "--scheduler", "local", "--out", str(out)]
    )
    assert result.exit_code == 2 and result.output.startswith("error: "), result.output
    assert "pip install 'leaky[cluster]'" in result.output
    assert not out.exists()


OBJECTIVE = """
def objective(negative_slope, seed):
    # a toy validation score: higher for slopes near 0.1, with seed noise
    return 0.9 - (negative_slope - 0.1) ** 2 + 0.001 * ((seed * 7919) % 13)
"""


def test_compare_runs_a_user_objective_and_writes_verdicts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "myobjective.py").write_text(OBJECTIVE)
    monkeypatch.chdir(tmp_path)
    args = [
        "compare",
        "--objective",
        "myobjective:objective",
        "--slopes",
        "0,0.1,1",
        "--seeds",
        "4",
        "--margin",
        "0.001",
        "--jobs",
        "1",
        "--out",
        "cmp",
    ]
    result = CliRunner().invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert [r["slope"] for r in data["rows"]] == [0.0, 0.1, 1.0]
    sentences = data["sentences"]
    assert sentences[0].startswith("slope 0.1 is better than ReLU by")
    assert sentences[1].startswith("slope 1: ReLU is better")
    assert (tmp_path / "cmp" / "compare.png").is_file()
    assert (tmp_path / "cmp" / "compare.json").stat().st_mode & 0o044  # readable by others
    # the table: each slope's own verdict, the baseline as such ("slope 0" is a prefix of
    # "slope 0.01": the rows are matched by value, not by text)
    table = CliRunner().invoke(app, [*args[:4], "0.01,0,0.1", *args[5:]])
    assert table.exit_code == 0, table.output
    rows = [line for line in table.output.splitlines() if line.startswith("│")]
    relu = next(line for line in rows if "(ReLU)" in line)
    assert "baseline" in relu and "slope 0.01" not in relu


FAILING = """
def objective(negative_slope, seed):
    if negative_slope > 0:
        return float("inf")
    return 0.5 + 0.01 * seed
"""


def test_compare_says_whose_evaluations_failed_and_fails_when_nothing_compares(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "failing.py").write_text(FAILING)
    monkeypatch.chdir(tmp_path)
    args = ["compare", "--objective", "failing:objective", "--slopes", "0,0.1", "--seeds", "3"]
    result = CliRunner().invoke(app, [*args, "--jobs", "1", "--out", "cmp"])
    assert result.exit_code == 1, result.output
    assert "no slope could be compared with ReLU" in result.output
    data = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert data["sentences"] == [
        "slope 0.1: not compared (fewer than 2 seeds evaluated both ways: 0 of 3 with this "
        "slope, 3 of 3 with ReLU)"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--objective", "nosuchthing"], "must be a built-in objective"),
        (["--objective", "digits-mlp", "--seeds", "1"], "must be an integer in [2, 10000]"),
        (["--objective", "digits-mlp", "--slopes", "0,1.5"], "--slopes takes comma-separated"),
        (["--objective", "digits-mlp", "--slopes", "0.1,0.1"], "0 (the ReLU baseline, added"),
        (["--objective", "nomodule_here:f"], "cannot import module"),
    ],
)
def test_compare_bad_input_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    _no_experiments(monkeypatch)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["compare", *args])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ")
    assert message in " ".join(result.output.split())
