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
from leaky.lab import figures, outdir, report
from leaky.lab import plan as plan_mod

MARKER_NAME = ".leaky-report"


FIGURES = [name for name, *_ in figures.SECTIONS]


def test_report_folder_has_every_file(quick_report: Path) -> None:
    names = {p.relative_to(quick_report).as_posix() for p in quick_report.rglob("*")}
    assert {"index.html", "results.json", "results.md", "plan.json", "runs.sqlite"} <= names
    for figure in FIGURES:
        assert f"figures/{figure}.png" in names and f"figures/{figure}.svg" in names
    assert not [n for n in names if ".leaky-render-" in n or ".leaky-figures-old-" in n]


def test_every_file_index_html_refers_to_exists(quick_report: Path) -> None:
    page = (quick_report / "index.html").read_text()
    refs = re.findall(r"(?:src|href)=['\"]([^'\"]+)['\"]", page)
    assert len(refs) >= 2 * len(FIGURES)
    for ref in refs:
        assert not ref.startswith(("http:", "https:", "//")), f"external asset {ref}"
        assert (quick_report / ref).is_file(), ref


def test_results_json_holds_the_numbers_and_verdicts_the_rules_give(quick_report: Path) -> None:
    doc = json.loads((quick_report / "results.json").read_text())
    assert {"setup", "plan", "claims", "advice", "results", "failures"} == set(doc)
    assert doc["setup"]["seed"] == 1 and doc["setup"]["scale"] == "quick"
    assert set(doc["results"]) == set(plan_mod.EXPERIMENTS)
    keys = [c["key"] for c in doc["claims"]]
    assert keys == ["1", "2a", "2b", "3a", "3b", "4", "5", "6"]
    for c in doc["claims"]:
        assert c["verdict"] in ("supported", "not supported", "inconclusive", "sanity check")
        assert c["preliminary"] is True  # a quick run: every verdict says so
        assert c["primary"]["rule"] and c["finding"]
    # the verdicts are those the rules give on the stored numbers
    again = report.Report.from_dict(doc)
    recomputed = report.summarize(again.plan, _outcomes(quick_report, again.plan), {})
    assert [c.verdict for c in recomputed.claims] == [c["verdict"] for c in doc["claims"]]
    md = (quick_report / "results.md").read_text()
    assert "PRELIMINARY" in md and all(c["title"] in md for c in doc["claims"])


def _outcomes(folder: Path, p: plan_mod.StudyPlan) -> dict:
    from leaky.lab.store import Store

    with Store(folder, create=False) as store:
        return {name: store.load(tasks) for name, tasks in p.tasks().items()}


def test_from_re_renders_the_stored_study_without_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quick_report: Path
) -> None:
    out = tmp_path / "rep"
    shutil.copytree(quick_report, out)
    (out / "index.html").unlink()
    from leaky.lab import batched

    def never(*args, **kwargs):
        raise AssertionError("--from trained something")

    monkeypatch.setattr(batched, "train", never)
    before = json.loads((quick_report / "results.json").read_text())
    _, rep = report.rerender(out)
    assert (out / "index.html").is_file()
    assert [c.verdict for c in rep.claims] == [c["verdict"] for c in before["claims"]]
    assert "stored results" in rep.setup["rendered"]
    with pytest.raises(ValueError, match="holds no leaky study"):
        report.rerender(tmp_path)


def test_an_interrupted_study_runs_only_the_missing_tasks(tmp_path: Path) -> None:
    out = tmp_path / "rep"
    p = plan_mod.plan("quick", seed=5)
    tasks = [t for ts in p.tasks().values() for t in ts]
    from leaky.lab.runner import run

    outdir.prepare(out)
    run(tasks[:3], out, jobs=1)  # as if the first run stopped after three tasks
    _, rep = report.build(out, scale="quick", seed=5, jobs=1)
    assert rep.setup["tasks read from the store"] == 3
    assert rep.setup["tasks run"] == len({t.key for t in tasks}) - 3
    _, again = report.build(out, scale="quick", seed=5, jobs=1)  # nothing left to run
    assert again.setup["tasks run"] == 0
    assert [c.to_dict() for c in again.claims] == [c.to_dict() for c in rep.claims]


def test_an_interrupted_write_leaves_complete_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quick_report: Path
) -> None:
    out = tmp_path / "rep"
    shutil.copytree(quick_report, out)
    before = (out / "results.json").read_text()
    rep = report.Report.from_dict(json.loads(before))
    calls = {"n": 0}
    real_save = figures.save

    def failing_save(fig, path):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # as if Ctrl-C came in the middle of writing
        return real_save(fig, path)

    monkeypatch.setattr(figures, "save", failing_save)
    with pytest.raises(KeyboardInterrupt):
        report.write(out, rep)
    assert (out / "results.json").read_text() == before
    assert not [p for p in out.iterdir() if p.name.startswith(".leaky-render-")]
    monkeypatch.setattr(figures, "save", real_save)
    rep.setup = {"seed": 99}
    report.write(out, rep)
    assert json.loads((out / "results.json").read_text())["setup"] == {"seed": 99}


def test_a_failed_swap_puts_the_old_figures_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quick_report: Path
) -> None:
    out = tmp_path / "rep"
    shutil.copytree(quick_report, out)
    rep = report.Report.from_dict(json.loads((out / "results.json").read_text()))
    before = sorted(p.name for p in (out / "figures").iterdir())
    real_rename = os.rename

    def rename(src, dst):
        if Path(src).name == "figures" and Path(src).parent.name.startswith(".leaky-render-"):
            raise OSError("disk full")  # the new figures cannot be moved in
        return real_rename(src, dst)

    monkeypatch.setattr(report.os, "rename", rename)
    with pytest.raises(OSError, match="disk full"):
        report.write(out, rep)
    assert sorted(p.name for p in (out / "figures").iterdir()) == before
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".leaky-")) == [
        ".leaky-report"
    ]


def test_a_new_path_and_an_empty_folder_are_accepted(tmp_path: Path) -> None:
    assert outdir.check_out(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    (tmp_path / "empty").mkdir()
    assert outdir.check_out(tmp_path / "empty") == tmp_path / "empty"
    outdir.prepare(tmp_path / "empty")
    assert json.loads((tmp_path / "empty" / MARKER_NAME).read_text())["leaky"] == __version__


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
    out = tmp_path / "rep"
    shutil.copytree(quick_report, out)
    rep = report.Report.from_dict(json.loads((out / "results.json").read_text()))
    pid = _dead_pid()
    # What SIGTERM or kill -9 leaves inside the report: a half-written render folder and
    # the previous figures set aside.
    tmp = out / f".leaky-render-{pid}"
    (tmp / "figures").mkdir(parents=True)
    old = out / f".leaky-figures-old-{pid}"
    old.mkdir()
    live = out / f".leaky-render-{os.getppid()}"  # a live process's: not a leftover
    live.mkdir()
    report.write(out, rep)
    assert not tmp.exists() and not old.exists() and live.is_dir()
    # next to the report, nothing of leaky's appears
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


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
    n = len(FIGURES)
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


def test_the_page_opens_with_the_answers_and_folds_the_rules(quick_report: Path) -> None:
    # a reader has the verdicts and the advice on the first screen; the pre-registered
    # measures come before any result; the rules and details fold away
    html = (quick_report / "index.html").read_text()
    short, advice = html.index("<h2>In short</h2>"), html.index("<h2>What should I use?</h2>")
    prereg = html.index("Pre-registered measures")
    detail = html.index("<th>primary comparison")
    assert short < advice < prereg < detail
    assert html.count("<details>") >= 2 and "`" not in html  # no raw Markdown in the page
    summary = html[short:advice]
    assert summary.count("<li>") == len(
        json.loads((quick_report / "results.json").read_text())["claims"]
    )
    md = (quick_report / "results.md").read_text()
    assert md.index("## In short") < md.index("## Pre-registered measures") < md.index("| claim |")
