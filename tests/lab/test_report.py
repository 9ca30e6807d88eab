"""The evidence report: files, links, verdicts, atomic writing, and a real browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from leaky import __version__
from leaky.lab import report

MARKER_NAME = ".leaky-report"


def test_report_folder_has_every_file(quick_report: Path) -> None:
    names = {p.relative_to(quick_report).as_posix() for p in quick_report.rglob("*")}
    assert {"index.html", "results.json", "results.md", "figures"} <= names
    for figure in report.FIGURES:
        assert f"figures/{figure}.png" in names and f"figures/{figure}.svg" in names
    assert not list(quick_report.parent.glob(".leaky-report.*"))  # no temporary left


def test_every_file_index_html_refers_to_exists(quick_report: Path) -> None:
    page = (quick_report / "index.html").read_text()
    refs = re.findall(r"(?:src|href)=['\"]([^'\"]+)['\"]", page)
    assert len(refs) >= 2 * len(report.FIGURES)
    for ref in refs:
        assert not ref.startswith(("http:", "https:", "//")), f"external asset {ref}"
        assert (quick_report / ref).is_file(), ref


def test_results_json_holds_the_numbers_and_the_computed_verdicts(quick_report: Path) -> None:
    doc = json.loads((quick_report / "results.json").read_text())
    assert set(doc) == {"setup", "verdicts", "results"}
    assert doc["setup"]["seed"] == 1 and doc["setup"]["quick"] is True
    assert {"born_dead", "stress", "slopes", "sparsity", "brownlowe"} <= set(doc["results"])
    assert len(doc["verdicts"]) == 6
    for v in doc["verdicts"]:
        assert v["verdict"] in ("supported", "not supported", "mixed")
        assert v["rule"] and v["evidence"]
    # the verdicts are those the rules give on the stored numbers
    recomputed = [v.verdict for v in report.judge(doc["results"])]
    assert recomputed == [v["verdict"] for v in doc["verdicts"]]
    md = (quick_report / "results.md").read_text()
    assert all(v["claim"] in md for v in doc["verdicts"])


def test_same_seed_same_numbers(tmp_path: Path) -> None:
    p = report.plan(quick=True, seed=3)
    p.born_dead.depths, p.born_dead.widths, p.born_dead.trials = (2, 5), (2,), 50
    p.stress.lrs, p.stress.shocks, p.stress.epochs = (0.1,), (0.0,), 1
    p.slopes.slopes, p.slopes.epochs = (0.0, 0.1), 1
    assert report.run_experiments(p) == report.run_experiments(p)


def test_interrupted_write_keeps_the_old_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quick_report: Path
) -> None:
    out = tmp_path / "rep"
    shutil.copytree(quick_report, out)
    before = (out / "results.json").read_text()
    doc = json.loads(before)
    from leaky.lab import plotting

    calls = {"n": 0}
    real_save = plotting.save

    def failing_save(fig, path):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # as if Ctrl-C came in the middle of writing
        return real_save(fig, path)

    monkeypatch.setattr(plotting, "save", failing_save)
    verdicts = report.judge(doc["results"])
    with pytest.raises(KeyboardInterrupt):
        report.write(out, doc["results"], verdicts, {"seed": 99})
    assert (out / "results.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]  # no half-written folder
    monkeypatch.setattr(plotting, "save", real_save)
    report.write(out, doc["results"], verdicts, {"seed": 99})
    assert json.loads((out / "results.json").read_text())["setup"] == {"seed": 99}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def _stored(quick_report: Path) -> tuple[dict, list]:
    doc = json.loads((quick_report / "results.json").read_text())
    return doc["results"], report.judge(doc["results"])


def test_a_new_path_and_an_empty_folder_are_accepted(tmp_path: Path) -> None:
    assert report.check_out(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    (tmp_path / "empty").mkdir()
    assert report.check_out(tmp_path / "empty") == tmp_path / "empty"


def test_a_previous_report_is_replaced(tmp_path: Path, quick_report: Path) -> None:
    results, verdicts = _stored(quick_report)
    out = tmp_path / "rep"
    (out).mkdir()  # an empty folder first
    report.write(out, results, verdicts, {"seed": 1})
    assert json.loads((out / MARKER_NAME).read_text())["leaky"] == __version__
    (out / "stale.txt").write_text("from the old report")  # the folder is leaky's
    report.write(out, results, verdicts, {"seed": 2})
    assert json.loads((out / "results.json").read_text())["setup"] == {"seed": 2}
    assert not (out / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]  # nothing hidden left


def test_a_failed_move_restores_the_old_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quick_report: Path
) -> None:
    results, verdicts = _stored(quick_report)
    out = tmp_path / "rep"
    shutil.copytree(quick_report, out)  # a previous report
    before = (out / "results.json").read_text()
    real_rename = os.rename

    def rename(src, dst):
        if ".leaky-tmp-" in str(src):
            raise OSError("disk full")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError, match="disk full"):
        report.write(out, results, verdicts, {"seed": 2})
    monkeypatch.undo()
    assert (out / "results.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def _dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(proc.stdout)


def test_leftovers_of_a_killed_run_are_removed_by_the_next(
    tmp_path: Path, quick_report: Path
) -> None:
    results, verdicts = _stored(quick_report)
    out = tmp_path / "rep"
    shutil.copytree(quick_report, out)
    pid = _dead_pid()
    # What SIGTERM or kill -9 leaves: a half-written temporary folder (the marker is its
    # first file) and, killed in the middle of the swap, the previous report set aside.
    tmp = tmp_path / f".rep.leaky-tmp-{pid}"
    (tmp / "figures").mkdir(parents=True)
    (tmp / MARKER_NAME).write_text(json.dumps({"leaky": __version__}))
    old = tmp_path / f".rep.leaky-old-{pid}"
    shutil.copytree(quick_report, old)
    # Folders with such names but no marker, or of a live process, are not leaky's leftovers.
    foreign = tmp_path / f".rep.leaky-tmp-{pid + 1}"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("x")
    live = tmp_path / f".rep.leaky-tmp-{os.getppid()}"
    shutil.copytree(quick_report, live)
    report.write(out, results, verdicts, {"seed": 3})
    assert not tmp.exists() and not old.exists()
    assert (foreign / "keep.txt").is_file() and (live / "index.html").is_file()
    assert json.loads((out / "results.json").read_text())["setup"] == {"seed": 3}


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=5000",
]


@pytest.mark.skipif(_chromium() is None, reason="no chromium binary on this machine")
def test_headless_chromium_loads_every_figure(quick_report: Path, tmp_path: Path) -> None:
    url = (quick_report / "index.html").resolve().as_uri()
    profile = ["--user-data-dir=" + str(tmp_path / "profile")]
    dom = subprocess.run(
        [_chromium(), *CHROMIUM_FLAGS, *profile, "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    n = len(report.FIGURES)
    assert f'data-figures="{n}/{n}"' in dom, dom[-500:]
    shot = tmp_path / "page.png"
    subprocess.run(
        [
            _chromium(),
            *CHROMIUM_FLAGS,
            *profile,
            "--window-size=1200,2400",
            f"--screenshot={shot}",
            url,
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[0] >= 2000
    colors = {tuple(p) for p in (pixels[::7, ::7, :3] * 255).astype(int).reshape(-1, 3)}
    assert len(colors) > 200  # plots, not a blank or broken page
