"""What the commands print: control characters escaped, tables at tiny widths, passwords
hidden by URL component, exit codes, Dask's own logs kept out of a lost scheduler's line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leaky.cli import app

ESC = chr(27)

FACTORY = f"""
import torch

def make():
    model = torch.nn.Sequential()
    model.add_module("inner", torch.nn.Linear(4, 3))
    model.add_module("act{ESC}[2J", torch.nn.ReLU())
    data = [torch.randn(5, 4) for _ in range(2)]
    return model, data
"""


def test_a_control_character_in_a_module_name_is_escaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "esc_factory.py").write_text(FACTORY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    result = CliRunner().invoke(app, ["diagnose", "esc_factory:make"])
    assert result.exit_code == 0, result.output
    assert ESC not in result.output
    assert "layer act\\x1b[2J: " in result.output  # shown, escaped


def test_say_and_fail_escape_control_characters() -> None:
    from leaky.cli._common import printable

    assert printable(f"a{ESC}b\u202ec\nd") == "a\\x1bb\\u202ec\nd"  # a right-to-left override


def test_a_table_on_a_tiny_terminal_falls_back_to_lines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from leaky.cli import _common

    monkeypatch.setattr(_common.console, "_width", 12)
    _common.print_table(
        ("slope", "verdict against ReLU"),
        [("0.1", "slope 0.1 is better than ReLU")],
        title="myobj:objective",
    )
    out = capsys.readouterr().out
    assert "slope: 0.1" in out and "verdict against ReLU: slope 0.1 is better than ReLU" in out


UNREACHABLE = "postgresql://alice:p@127.0.0.1:1/leaky?sslmode=disable&sslpassword=hunter2"


def test_a_storage_url_hides_its_secrets_by_component() -> None:
    from leaky.lab.tune import _secret_free, display_url

    assert display_url(UNREACHABLE) == (
        "postgresql://alice:***@127.0.0.1:1/leaky?sslmode=disable&sslpassword=***"
    )
    assert display_url("postgresql://u:p@ss@db/x?token=t0k&Password=pw") == (
        "postgresql://u:***@db/x?token=***&Password=***"
    )
    text = 'connection to server at "127.0.0.1", port 1 failed: password p, hunter2 refused'
    assert _secret_free(text, UNREACHABLE) == (
        'connection to server at "127.0.0.1", port 1 failed: password ***, *** refused'
    )


def test_an_unreachable_storage_exits_1_with_its_secrets_hidden(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "tune",
            "--objective",
            "digits-mlp",
            "--trials",
            "1",
            "--storage",
            UNREACHABLE,
            "--out",
            str(tmp_path / "t"),
        ],
    )
    assert result.exit_code == 1, result.output
    line = " ".join(result.output.split())
    assert "hunter2" not in line and "sslpassword=***" in line
    assert "port 1" in line and "***ort" not in line  # a password "p" hides no p elsewhere


def test_a_storage_url_with_two_ats_is_refused_without_its_password(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "tune",
            "--objective",
            "digits-mlp",
            "--storage",
            "postgresql://u:p@ss@db/x",
            "--out",
            str(tmp_path / "t"),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "postgresql://u:***@db/x" in result.output and "%40" in result.output
    assert "ss@" not in result.output


OBJECTIVE = """
import time

def objective(negative_slope, seed):
    time.sleep(0.2)
    return 0.5 + negative_slope + 0.01 * seed
"""


def test_a_lost_scheduler_is_one_line_without_dasks_logs(tmp_path: Path) -> None:
    import sqlite3

    from tests.lab.dask_cluster import LoopbackCluster

    (tmp_path / "slowobj.py").write_text(OBJECTIVE)
    os.environ["PYTHONPATH"], saved = str(tmp_path), os.environ.get("PYTHONPATH")
    try:
        cluster = LoopbackCluster(tmp_path / "cluster", workers=1)
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    db = tmp_path / "out" / "runs.sqlite"
    try:
        args = ["--objective", "slowobj:objective", "--slopes", "0,0.1", "--seeds", "40"]
        run = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("leaky")),
                "compare",
                *args,
                "--scheduler",
                cluster.address,
                "--out",
                "out",
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.2)
            try:
                with sqlite3.connect(db) as conn:
                    if conn.execute("SELECT count(*) FROM runs").fetchone()[0] >= 2:
                        break
            except sqlite3.Error:
                pass
        cluster.scheduler.kill()
        _, err = run.communicate(timeout=120)
    finally:
        cluster.stop()
    assert run.returncode == 1, err
    assert "Lost the Dask scheduler" in err
    others = [
        line
        for line in err.splitlines()
        if line.strip() and not line.startswith(("[", "leaky:", "error:"))
    ]
    assert others == [], err
