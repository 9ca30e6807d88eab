"""`leaky compare`: what is reused from the store and what reruns, and its one-line errors."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leaky.cli import app

LEAKY = str(Path(sys.executable).with_name("leaky"))
ARGS = ["--objective", "myobj:objective", "--slopes", "0,0.1", "--seeds", "3", "--jobs", "1"]


def _project(folder: Path, offset: float) -> None:
    """A user's project: an objective module that imports a helper module of its own."""
    (folder / "myobj.py").write_text(
        "from helper import score\n\n"
        "def objective(negative_slope, seed):\n"
        "    return score(negative_slope, seed)\n"
    )
    (folder / "helper.py").write_text(
        f"def score(a, seed):\n    return {offset} + a + 0.01 * seed\n"
    )


def _compare(folder: Path, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "COLUMNS")}
    return subprocess.run(
        [LEAKY, "compare", *ARGS, "--out", "cmp", "--format", "json", *extra],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_an_edited_helper_module_reruns_the_comparison_and_reuse_is_said(
    tmp_path: Path,
) -> None:
    _project(tmp_path, 0.5)
    first = _compare(tmp_path)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["rows"][0]["values"] == [0.5, 0.51, 0.52]
    assert "reused" not in first.stderr
    again = _compare(tmp_path)  # nothing changed: every result comes from the store
    assert again.returncode == 0, again.stderr
    assert "6 results reused from the store in cmp; --rerun to recompute" in again.stderr
    _project(tmp_path, 0.7)  # only the helper changes
    edited = _compare(tmp_path)
    assert edited.returncode == 0, edited.stderr
    assert "6 ran, 0 stored" in edited.stderr and "reused" not in edited.stderr
    assert json.loads(edited.stdout)["rows"][0]["values"] == [0.7, 0.71, 0.72]
    rerun = _compare(tmp_path, "--rerun")
    assert rerun.returncode == 0, rerun.stderr
    assert "6 ran, 0 stored" in rerun.stderr and "reused" not in rerun.stderr


def test_the_key_holds_the_users_import_closure_only(tmp_path: Path, monkeypatch) -> None:
    from leaky.lab.store import user_imports

    pkg = tmp_path / "proj"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "obj.py").write_text("import numpy\nfrom . import util\nfrom .deep import f\n")
    (pkg / "util.py").write_text("import os\n")
    (pkg / "deep.py").write_text("from proj.util import *\ndef f():\n    import leaky.nn\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert user_imports("proj.obj") == ("proj", "proj.deep", "proj.util")


def test_an_objective_without_a_source_file_leaves_no_folder(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = CliRunner().invoke(app, ["compare", "--objective", "os:system", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and "no source file" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--margin", "-1"], "The '--margin' parameter of leaky compare"),
        (["--direction", "up"], "The '--direction' parameter of leaky compare"),
        (["--slopes", "0.1,0.2"], "The '--slopes' parameter of leaky compare"),
    ],
)
def test_messages_name_the_options(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "cmp"
    result = CliRunner().invoke(
        app, ["compare", "--objective", "digits-mlp", "--out", str(out), *args]
    )
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not out.exists()


def test_too_many_seeds_is_refused_at_once(tmp_path: Path) -> None:
    run = subprocess.run(
        [LEAKY, "compare", "--objective", "digits-mlp", "--seeds", "100000000", "--out", "c"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,  # before the fix: a silent hang
    )
    assert run.returncode == 2, run.stderr
    assert "The '--seeds' parameter of leaky compare must be an integer in [2, 10000]" in run.stderr
    assert not (tmp_path / "c").exists()


def test_more_jobs_than_cores_are_capped_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leaky.lab import compare as compare_mod
    from leaky.lab import runner
    from leaky.lab.runner import RunnerError

    _project(tmp_path, 0.5)
    monkeypatch.chdir(tmp_path)
    got = {}

    def record(config, out, **kwargs):
        got.update(kwargs)
        raise RunnerError("stopped by the test")

    monkeypatch.setattr(compare_mod, "run", record)
    args = [a for a in ARGS if a not in ("--jobs", "1")]
    result = CliRunner().invoke(app, ["compare", *args, "--jobs", "100000", "--out", "cmp"])
    assert result.exit_code == 1, result.output
    cores = runner.default_jobs()
    assert f"note: --jobs 100000 is more than the {cores} cores here: using {cores}" in (
        " ".join(result.output.split())
    )
    assert got["jobs"] == cores


class _FullDisk:
    """A connection whose writes fail as SQLite's do on a full disk."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, *args):
        if sql.lstrip().startswith("INSERT"):
            raise sqlite3.OperationalError("database or disk is full")
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self._conn, name)


def test_a_full_disk_while_storing_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leaky.lab import store

    real = sqlite3.connect
    monkeypatch.setattr(store.sqlite3, "connect", lambda *a, **k: _FullDisk(real(*a, **k)))
    _project(tmp_path, 0.5)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["compare", *ARGS, "--out", "cmp"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    (line,) = [x for x in result.output.splitlines() if x.startswith("error: ")]
    assert str(Path("cmp") / "runs.sqlite") in line and "disk full" in line
