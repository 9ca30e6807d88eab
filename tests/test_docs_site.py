"""The documentation site (``mkdocs.yml``, ``docs/``): it builds with warnings as errors, it
shows every section of the README once, and every Python block it shows runs.

The guides are the README's sections, brought in by ``tools/mkdocs_hooks.py``; these tests
expand the pages with the same code the build uses.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYTHON_BLOCK = re.compile(r"```python(?: [\w-]+)?\n(.*?)```", flags=re.S)


def _hooks() -> ModuleType:
    path = ROOT / "tools" / "mkdocs_hooks.py"
    spec = importlib.util.spec_from_file_location("leaky_mkdocs_hooks", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hooks = _hooks()
PAGES = {
    p.relative_to(ROOT / "docs").as_posix(): p.read_text()
    for p in sorted((ROOT / "docs").rglob("*.md"))
}
WHERE = hooks.anchors(PAGES)
SITE = {page: hooks.expand(page, source, WHERE) for page, source in PAGES.items()}
# every Python block of the README, run by tests/test_readme.py (untagged) and
# tests/nn/test_training_docs.py (tagged: ```python lightning-example)
README_BLOCKS = set(PYTHON_BLOCK.findall((ROOT / "README.md").read_text()))
# the blocks the site shows that the README does not
OWN_BLOCKS = [
    (page, block)
    for page, text in SITE.items()
    for block in PYTHON_BLOCK.findall(text)
    if block not in README_BLOCKS
]


def test_the_site_builds_with_warnings_as_errors(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    evidence = (tmp_path / "evidence" / "index.html").read_text()
    assert 'src="../figures/stability.png"' in evidence  # README links, rewritten for the page
    assert (tmp_path / "figures" / "stability.png").is_file()
    api = (tmp_path / "reference" / "monitor" / "index.html").read_text()
    assert "DeadUnitMonitor" in api and "revive" in api  # generated from the docstrings


def test_every_section_of_the_readme_is_on_one_page() -> None:
    assert hooks.unshown(PAGES) == []  # none left off (hooks.anchors refuses one shown twice)


def test_a_readme_section_on_no_page_stops_the_build() -> None:
    pages = {
        page: source.replace("<!-- readme: Performance -->", "") for page, source in PAGES.items()
    }
    assert hooks.unshown(pages) == ["Performance"]
    with pytest.raises(ValueError, match="'Performance' are on no page"):
        hooks.on_files(_Files(pages), None)


class _Files:
    """What ``on_files`` reads of mkdocs' ``Files``: the pages, from a folder of their own."""

    def __init__(self, pages: dict[str, str]) -> None:
        self.pages = pages

    def documentation_pages(self) -> list[object]:
        import tempfile
        from types import SimpleNamespace

        folder = Path(tempfile.mkdtemp())
        out = []
        for page, source in self.pages.items():
            (folder / page).parent.mkdir(parents=True, exist_ok=True)
            (folder / page).write_text(source)
            out.append(SimpleNamespace(src_uri=page, abs_src_path=str(folder / page)))
        return out


def test_every_python_block_the_site_shows_is_run() -> None:
    shown = [b for text in SITE.values() for b in PYTHON_BLOCK.findall(text)]
    assert len(shown) >= len(README_BLOCKS) > 0
    assert {b for b in shown if b in README_BLOCKS} == README_BLOCKS
    fences = [f for text in SITE.values() for f in re.findall(r"^\s*```\S*.*$", text, re.M)]
    assert not [f for f in fences if re.match(r"\s*```python ", f)]  # no test tag on the site


@pytest.mark.parametrize("index", range(len(OWN_BLOCKS)))
def test_a_python_block_of_a_site_page_runs(index: int) -> None:
    page, block = OWN_BLOCKS[index]
    exec(compile(block, f"docs/{page}[python block]", "exec"), {})


def test_links_of_included_text_are_rewritten_for_the_page() -> None:
    where = {"what-the-evidence-says": "evidence.md"}
    assert hooks._link("docs/figures/a.png", "evidence.md", where) == "figures/a.png"
    assert hooks._link("docs/design.md", "reference/nn.md", where) == "../design.md"
    assert hooks._link("CHANGELOG.md#010", "index.md", where) == "changelog.md#010"
    assert hooks._link("#what-the-evidence-says", "networks.md", where) == (
        "evidence.md#what-the-evidence-says"
    )
    assert hooks._link("#what-the-evidence-says", "evidence.md", where) == "#what-the-evidence-says"
    assert hooks._link("https://example.org/x", "index.md", where) == "https://example.org/x"


def test_an_unknown_section_or_one_shown_twice_stops_the_build() -> None:
    with pytest.raises(ValueError, match=r"docs/index\.md shows the README's section"):
        hooks.expand("index.md", "<!-- readme: No such section -->\n")
    with pytest.raises(ValueError, match=r"is on a\.md and b\.md"):
        hooks.anchors({"a.md": "<!-- readme: Install -->", "b.md": "<!-- readme: Install -->"})
    with pytest.raises(ValueError, match="not a file"):
        hooks.expand("index.md", "<!-- include: nope.md -->\n")


def test_a_section_titled_as_its_page_is_not_headed_twice() -> None:
    text = SITE["performance.md"]
    assert text.startswith("# Performance\n") and "\n## Performance\n" not in text
    intro = hooks.sections((ROOT / "README.md").read_text())["leaky"]  # above the first ##
    assert intro.splitlines()[0] in SITE["index.md"]  # the home page keeps all of it
