"""What leaky writes and reads back: never through a symbolic link, every stored value escaped.

``leaky.lab.outdir`` (the one way a file is written: a temporary file in the same folder,
``os.replace``), the report's use of it, and a study folder holding hostile values.
"""

from __future__ import annotations

import json
import re
import shutil
import stat
from pathlib import Path

import pytest

from leaky.lab import figures, outdir, plotting, render, report
from leaky.lab import plan as plan_mod
from leaky.lab.store import StoreError

HOSTILE = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim"
    victim.write_text("mine")
    return victim


# --- the helper -----------------------------------------------------------------------------


def test_atomic_write_replaces_the_file_whole_and_readable(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text("old")
    assert outdir.atomic_write(path, "new") == path
    assert path.read_text() == "new"
    outdir.atomic_write(path, b"\x00bytes")
    assert path.read_bytes() == b"\x00bytes"
    assert stat.S_IMODE(path.stat().st_mode) & 0o044  # readable like any output, not 0600
    assert stat.S_IMODE(path.stat().st_mode) & 0o022 == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]  # no temporary file left


def test_a_symlink_as_the_target_or_its_folder_is_refused(tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    link = tmp_path / "link.json"
    link.symlink_to(victim)
    with pytest.raises(outdir.OutDirError, match=r"link\.json is a symbolic link") as err:
        outdir.atomic_write(link, "theirs")
    assert "\n" not in str(err.value)
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "folder-link").symlink_to(real)
    with pytest.raises(outdir.OutDirError, match="folder-link is a symbolic link"):
        outdir.atomic_write(tmp_path / "folder-link" / "a.json", "theirs")
    fig = plotting.function_and_derivative([0.1])
    png = tmp_path / "fig.png"
    png.symlink_to(victim)
    with pytest.raises(outdir.OutDirError, match=r"fig\.png is a symbolic link"):
        plotting.save(fig, png)  # every figure of leaky's goes through it
    assert victim.read_text() == "mine" and link.is_symlink() and png.is_symlink()
    assert list(real.iterdir()) == []


def test_write_json_refuses_a_symlink_in_one_line(tmp_path: Path) -> None:
    import typer

    from leaky.cli._common import write_json

    victim = _victim(tmp_path)
    link = tmp_path / "compare.json"
    link.symlink_to(victim)
    with pytest.raises(typer.Exit):
        write_json(link, {"a": 1})
    assert victim.read_text() == "mine" and link.is_symlink()


# --- the report folder ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["plan.json", "setup.json", "index.html", "results.json", "results.md", "runs.sqlite"]
)
def test_a_symlink_inside_a_report_folder_is_refused_not_written_through(
    tmp_path: Path, quick_report: Path, name: str
) -> None:
    out = tmp_path / "rep"
    shutil.copytree(quick_report, out)
    victim = _victim(tmp_path)
    (out / name).unlink()
    (out / name).symlink_to(victim)
    refused = StoreError if name == "runs.sqlite" else outdir.OutDirError
    with pytest.raises(refused, match=re.escape(f"{name} is a symbolic link")) as err:
        report.build(out, scale="quick", seed=1, jobs=1)  # the study of the fixture
    assert "\n" not in str(err.value)
    assert victim.read_text() == "mine" and (out / name).is_symlink()


def test_a_figures_symlink_is_a_one_line_refusal(tmp_path: Path, quick_report: Path) -> None:
    out = tmp_path / "rep"
    shutil.copytree(quick_report, out)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "keep.txt").write_text("mine")
    shutil.rmtree(out / "figures")
    (out / "figures").symlink_to(theirs)
    rep = report.Report.from_dict(json.loads((out / "results.json").read_text()))
    with pytest.raises(outdir.OutDirError, match="figures is a symbolic link"):
        report.write(out, rep)
    assert [p.name for p in theirs.iterdir()] == ["keep.txt"]
    assert not [p for p in out.iterdir() if p.name.startswith(".leaky-render-")]


# --- values read back from a study ----------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seed": HOSTILE[0]}, "The 'seed' parameter"),
        ({"seed": -1}, "The 'seed' parameter"),
        ({"scale": HOSTILE[1]}, "The 'scale' parameter"),
        ({"configs": {"nope": {}}}, "unknown experiment 'nope'"),
        ({"extra": 1}, "A plan holds 'scale', 'seed' and 'configs'"),
    ],
)
def test_a_plan_read_back_is_checked_against_its_schema(
    quick_report: Path, change: dict, message: str
) -> None:
    stored = json.loads((quick_report / "plan.json").read_text())
    assert plan_mod.StudyPlan.from_dict(stored).seed == stored["seed"] == 1  # the valid one
    with pytest.raises(ValueError, match=message) as err:
        plan_mod.StudyPlan.from_dict({**stored, **change})
    assert "\n" not in str(err.value)


def test_from_refuses_a_hostile_plan_in_one_line(tmp_path: Path, quick_report: Path) -> None:
    out = tmp_path / "rep"
    shutil.copytree(quick_report, out)
    plan = json.loads((out / "plan.json").read_text())
    (out / "plan.json").write_text(json.dumps({**plan, "seed": HOSTILE[0]}))
    before = (out / "index.html").read_text()
    with pytest.raises(ValueError, match=r"plan.json is refused: The 'seed' parameter") as err:
        report.rerender(out)
    assert "\n" not in str(err.value)
    assert (out / "index.html").read_text() == before


def test_setup_json_keeps_only_plain_values(tmp_path: Path) -> None:
    path = tmp_path / "setup.json"
    path.write_text(json.dumps({"a": "x", "b": 1, "c": 1.5, "d": True, "e": None, "f": [1]}))
    assert report.read_setup(path) == {"a": "x", "b": 1, "c": 1.5, "d": True, "e": None}
    path.write_text("[1, 2]")
    assert report.read_setup(path) == {}


def test_hostile_stored_text_is_escaped_on_the_page(quick_report: Path) -> None:
    doc = json.loads((quick_report / "results.json").read_text())
    script, img = HOSTILE
    doc["setup"] = {script: img, "seeds per cell": script, "machine": img}
    doc["claims"][0].update(title=script, finding=img, quote=img)
    doc["claims"][0]["notes"] = [script]
    doc["advice"][0].update(model=script, recommendation=img)
    doc["advice"][0]["ranking"][0].update(arm=script, diverged=img)
    doc["failures"] = [f"toy / seed 1: ValueError: {script}", img]
    rep = report.Report.from_dict(doc)
    alt = {name: img for name, *_ in figures.SECTIONS}
    page = render.page(rep, alt)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script>") == 1  # the page's own: it marks the loaded figures
    assert "data-figures" in page


def test_the_template_ships_with_the_package() -> None:
    import tomllib

    root = Path(__file__).resolve().parents[2]
    data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = data["package-data"]["leaky"]
    shipped = {p for pattern in patterns for p in (root / "src" / "leaky").glob(pattern)}
    templates = set((root / "src" / "leaky" / "lab" / "templates").iterdir())
    assert templates and templates <= shipped
