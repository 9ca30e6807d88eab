"""mkdocs hooks: the README's sections are the site's guides (one text, shown in two places).

A page of ``docs/`` names what it shows in directives of their own line:

- ``<!-- readme: TITLE -->``: the README's section under ``## TITLE``, down to the next
  ``##`` (the title of the README's ``#`` heading gives the text above the first ``##``);
- ``<!-- include: PATH -->``: a whole file of the repository (the changelog).

The links of the included text are written for the repository's root, so they are rewritten
for the page: ``docs/X`` to the page's path to ``X``, ``CHANGELOG.md`` to the changelog page,
and ``#anchor`` to the page that shows that heading. A fence's test tag (the
``lightning-example`` of a ``python lightning-example`` fence, by which the tests find a
block) is dropped: the site's fences take a language only. A section titled as its page's
``#`` heading is shown without its own heading. An unknown section or file, or a section shown
on two pages or on none, stops the build. ``tests/test_docs_site.py`` expands every page the
same way and checks that each Python block the site shows is run by a test.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from markdown.extensions.toc import slugify

ROOT = Path(__file__).resolve().parents[1]
DOCS = "docs"
DIRECTIVE = re.compile(r"^<!-- (readme|include): (.+?) -->$", flags=re.M)
LINK = re.compile(r"\]\(([^)\s]+)\)")
TAGGED_FENCE = re.compile(r"^(\s*```python) [\w-]+$", flags=re.M)
PAGES = {"CHANGELOG.md": "changelog.md"}  # repository files shown as a page of their own


def sections(text: str) -> dict[str, str]:
    """The README's ``##`` sections by title, each with its heading; the text above the
    first ``##`` under the ``#`` title (without that heading). Code fences are skipped."""
    out: dict[str, list[str]] = {}
    title, fence = None, False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        if not fence and line.startswith("# ") and title is None:
            title = line[2:].strip()
            out[title] = []
            continue
        if not fence and line.startswith("## "):
            title = line[3:].strip()
            out[title] = []
        if title is not None:
            out[title].append(line)
    return {k: "\n".join(v).strip("\n") + "\n" for k, v in out.items()}


def headings(text: str) -> list[str]:
    """The anchors (slugs) of the Markdown headings of ``text``, outside code fences."""
    out, fence = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and (m := re.match(r"#{1,6} (.+)", line)):
            out.append(slugify(m.group(1).strip(), "-"))
    return out


def _included(kind: str, name: str, page: str) -> str:
    if kind == "include":
        path = ROOT / name
        if not path.is_file():
            raise ValueError(f"docs/{page} includes {name!r}, which is not a file")
        return path.read_text()
    readme = sections((ROOT / "README.md").read_text())
    if name not in readme:
        raise ValueError(
            f"docs/{page} shows the README's section {name!r}, which the README does not "
            f"have; its sections are {', '.join(map(repr, readme))}"
        )
    return readme[name]


def unshown(pages: dict[str, str]) -> list[str]:
    """The README's sections that no page of ``pages`` shows."""
    shown = {name for source in pages.values() for kind, name in DIRECTIVE.findall(source)}
    return [s for s in sections((ROOT / "README.md").read_text()) if s not in shown]


def anchors(pages: dict[str, str]) -> dict[str, str]:
    """``{anchor: page}`` for every heading the directives of ``pages`` (``{page: its
    source}``) bring in; a README section shown on two pages is an error."""
    shown: dict[str, str] = {}
    out: dict[str, str] = {}
    for page, source in pages.items():
        for kind, name in DIRECTIVE.findall(source):
            if kind == "readme" and name in shown:
                raise ValueError(f"the README's section {name!r} is on {shown[name]} and {page}")
            shown[name] = page
            for anchor in headings(_included(kind, name, page)):
                out.setdefault(anchor, page)
    return out


def _link(target: str, page: str, where: dict[str, str]) -> str:
    here = posixpath.dirname(page)
    if target.startswith("#"):
        home = where.get(target[1:])
        return target if home in (None, page) else posixpath.relpath(home, here) + target
    path, _, anchor = target.partition("#")
    if path in PAGES:
        path = PAGES[path]
    elif path.startswith(DOCS + "/"):
        path = path[len(DOCS) + 1 :]
    else:
        return target
    return posixpath.relpath(path, here or ".") + (f"#{anchor}" if anchor else "")


def expand(page: str, source: str, where: dict[str, str] | None = None) -> str:
    """``source`` (the Markdown of ``page``, a path under ``docs/``) with its directives
    replaced by what they name, links rewritten for ``page``; ``where`` from ``anchors``."""
    where = where or {}

    title = re.search(r"^# (.+)$", source, flags=re.M)

    def one(m: re.Match[str]) -> str:
        text = TAGGED_FENCE.sub(r"\1", _included(m.group(1), m.group(2), page))
        heading = f"## {m.group(2)}\n"
        if title and m.group(2) == title.group(1).strip() and text.startswith(heading):
            text = text[len(heading) :].lstrip("\n")  # the page's title already says it
        return LINK.sub(lambda link: f"]({_link(link.group(1), page, where)})", text)

    return DIRECTIVE.sub(one, source)


# --- mkdocs ------------------------------------------------------------------------------

_WHERE: dict[str, str] = {}


def on_files(files: Any, config: Any) -> Any:
    pages = {f.src_uri: Path(f.abs_src_path).read_text() for f in files.documentation_pages()}
    if missing := unshown(pages):
        raise ValueError(
            f"the README's sections {', '.join(map(repr, missing))} are on no page of the site: "
            "show each with a '<!-- readme: TITLE -->' line on a page of docs/"
        )
    _WHERE.clear()
    _WHERE.update(anchors(pages))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return expand(page.file.src_uri, markdown, _WHERE)
