"""`leaky compare`: what is reused from the store and what reruns, its one-line errors, the
ReLU baseline added when missing, each verdict with why, and its figure."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
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
        (["--slopes", "0.1,0.1"], "The '--slopes' parameter of leaky compare"),
        (["--slopes", "0"], "The '--slopes' parameter of leaky compare"),
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


def test_relu_is_added_as_the_baseline_when_the_slopes_leave_it_out(tmp_path: Path) -> None:
    _project(tmp_path, 0.5)
    args = [a if a != "0,0.1" else "0.1,0.3" for a in ARGS]
    run = subprocess.run(
        [LEAKY, "compare", *args, "--out", "cmp", "--format", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert run.stderr.splitlines().count("added slope 0 (ReLU) as the baseline") == 1
    data = json.loads(run.stdout)  # stdout stays JSON: the line goes to stderr
    assert data["config"]["slopes"] == [0.0, 0.1, 0.3]
    assert [r["slope"] for r in data["rows"]] == [0.0, 0.1, 0.3]
    assert data["rows"][0]["values"] == [0.5, 0.51, 0.52]  # ReLU was evaluated
    listed = _compare(tmp_path)  # 0 listed: nothing is added, nothing said
    assert listed.returncode == 0, listed.stderr
    assert "added slope 0" not in listed.stderr


# Per seed: ReLU's value, and each slope's difference from it, one of each reason.
RELU = [0.80 + 0.01 * s for s in range(6)]
DIFFERENCES = {
    0.01: [0.002, -0.003, 0.001, 0.0, -0.001, 0.002],  # within the margin
    0.05: [0.05, -0.06, 0.03, -0.04, 0.02, -0.01],  # the interval holds 0
    0.1: [0.01, 0.09, 0.0, 0.08, 0.02, 0.07],  # excludes 0, but not after Holm (p 0.038)
    0.3: [0.10, 0.11, 0.09, 0.10, 0.12, 0.10],  # better
    1.0: [-0.10, -0.11, -0.09, -0.10, -0.12, -0.10],  # ReLU is better
}
REASONS = {
    0.01: "lies within the margin ±0.02: no difference that matters",
    0.05: "the interval holds 0 and reaches beyond the margin ±0.02",
    0.1: "the effect does not survive Holm's correction over 5 comparisons: p = 0.11",
    0.3: "the interval excludes 0 and the effect survives Holm's correction over 5 comparisons",
    1.0: "the interval excludes 0, on ReLU's side",
}
TABLE = f"""
RELU = {RELU!r}
DIFFERENCES = {DIFFERENCES!r}

def objective(negative_slope, seed):
    return RELU[seed] + (DIFFERENCES[negative_slope][seed] if negative_slope else 0.0)
"""


def test_each_verdict_says_why_in_the_table_and_in_compare_json(tmp_path: Path) -> None:
    (tmp_path / "table.py").write_text(TABLE)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["COLUMNS"] = "400"  # one line per row: the sentences are read whole
    args = ["--objective", "table:objective", "--slopes", "0,0.01,0.05,0.1,0.3,1", "--seeds", "6"]
    run = subprocess.run(
        [LEAKY, "compare", *args, "--margin", "0.02", "--jobs", "1", "--out", "cmp"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    sentences = json.loads((tmp_path / "cmp" / "compare.json").read_text())["sentences"]
    rows = [line for line in run.stdout.splitlines() if line.startswith("│")]
    for (slope, reason), sentence in zip(REASONS.items(), sentences, strict=True):
        assert reason in sentence, (slope, sentence)
        row = next(r for r in rows if r.split("│")[1].strip() == f"{slope:g}")
        assert reason in row, (slope, row)
    assert sentences[0].startswith("slope 0.01: the 90 % interval [")
    assert sentences[2].startswith("slope 0.1: inconclusive, difference +0.045 [+0.003684,")


def _result(table: dict[float, list[float]], margin: float = 0.02):
    """The CompareResult of per-seed values (NaN: a failed evaluation)."""
    import math

    from leaky.lab import compare as compare_mod
    from leaky.lab.store import Outcome

    slopes = tuple(table)
    config = compare_mod.Config("mine:objective", slopes, tuple(range(len(table[0.0]))), margin)
    outcomes = [
        Outcome(
            key="k",
            experiment="compare",
            label="l",
            function="f",
            config={},
            status="done" if math.isfinite(v) else "failed",
            value={"value": v} if math.isfinite(v) else None,
            error=None if math.isfinite(v) else "ValueError: the objective returned nan",
            seconds=0.0,
            worker="in-process",
        )
        for a in slopes
        for v in table[a]
    ]
    return compare_mod.summarize(config, outcomes)


def test_the_figure_draws_the_differences_from_relu_every_point_inside() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import PolyCollection

    from leaky.lab import plotting, stats

    relu = [0.80, 0.81, 0.82, 0.83, 0.84, 0.85]
    small = [v + d for v, d in zip(relu, [0.002, -0.003, 0.001, 0.0, -0.001, 0.002], strict=True)]
    big = [v + d for v, d in zip(relu, [4.0, 5.0, 4.5, 3.8, 5.2, 4.7], strict=True)]
    failed = [0.9, math.nan, 0.85, 0.9, 0.95, 0.84]
    result = _result({0.0: relu, 0.01: small, 0.3: big, 1.0: failed})
    fig = plotting.compare(result)
    FigureCanvasAgg(fig).draw()  # the limits and labels as drawn
    ax = fig.axes[0]
    assert ax.get_yscale() == "linear" and ax.get_xscale() == "linear"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.01", "0.3", "1"]
    low, high = ax.get_ylim()
    points = [y for line in ax.get_lines() for y in np.asarray(line.get_ydata(), dtype=float)]
    caps = [
        y
        for c in ax.collections
        if not isinstance(c, PolyCollection)
        for seg in c.get_segments()
        for y in np.asarray(seg)[:, 1]
    ]
    assert len(points) > 18 and caps  # every seed, every mean, the intervals
    assert all(low < y < high for y in points + caps)
    # the seeds' differences and the means are the ones drawn (the big one near 4.53)
    drawn = sorted(
        y for line in ax.get_lines() if line.get_color() == "0.55" for y in line.get_ydata()
    )
    expected = sorted(float(d) for a in (0.01, 0.3, 1.0) for d in result.differences(a))
    np.testing.assert_allclose(drawn, expected, rtol=0, atol=1e-12)
    mean_big = stats.mean_interval(result.differences(0.3))
    means = [
        float(line.get_ydata()[0])
        for line in ax.get_lines()
        if line.get_marker() == "o" and len(line.get_ydata()) == 1
    ]
    assert mean_big.mean in means
    assert low < mean_big.low and mean_big.high < high
    # the margin band and the zero line
    band = next(c for c in ax.patches if "no difference that matters" in c.get_label())
    assert band.get_y() == -0.02 and band.get_height() == 0.04
    zero = [line for line in ax.get_lines() if list(line.get_ydata()) == [0, 0]]
    assert len(zero) == 1
    words = [t.get_text() for t in ax.texts]
    assert words[:2] == ["no difference", "better"] and "1 failed" in words
