"""Write or check the install lock: ``requirements/lock-pyXY.txt``, a pip constraints file.

``make lock`` resolves the ``dev`` extra (a superset of every other extra) in a fresh virtual
environment with pip, as pip is configured on the machine (so ``torch==2.13.0`` comes from
the local CPU wheel, never a CUDA build from the index), and calls ``write`` here, which
stores ``pip freeze --all`` of that environment:

- without local version labels (``torch==2.13.0``, not ``2.13.0+cpu``): pip then takes the
  wheel its configuration finds, as it does for a user;
- with a header holding the hash of ``pyproject.toml``'s dependency lists, so that ``check``
  (run by the test suite) fails when the dependencies and the lock disagree.

Every command that installs (``make demo``, ``make test``, ``.ci/run``) passes the lock with
``pip install -c``: a constraint pins a package's version only if something asks for it, so
one lock serves the ``lab`` environment of ``make demo`` and the ``dev`` one of ``make test``.

Usage: ``python tools/lock.py write PYTHON`` (the Python of the resolved environment) or
``python tools/lock.py check``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
HEADER = "# dependencies-sha256: "


def lock_path(version: tuple[int, int] | None = None) -> Path:
    """The lock of a Python version (this interpreter's by default)."""
    major, minor = version or sys.version_info[:2]
    return ROOT / "requirements" / f"lock-py{major}{minor}.txt"


def _project(pyproject: Path = PYPROJECT) -> dict:
    import tomllib  # Python 3.11+: the lock tool runs on the Python the lock is made for

    return tomllib.loads(pyproject.read_text())["project"]


def dependencies_hash(pyproject: Path = PYPROJECT) -> str:
    """The hash of what the lock depends on: the core's and every extra's requirements."""
    project = _project(pyproject)
    data = {
        "requires-python": project.get("requires-python"),
        "dependencies": project.get("dependencies", []),
        "optional-dependencies": project.get("optional-dependencies", {}),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def pins(text: str) -> dict[str, str]:
    """``{normalised name: version}`` of a lock's text."""
    out = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            out[_normalise(name)] = version
    return out


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def write(python: str) -> Path:
    """Freeze the environment of ``python`` into this Python version's lock (atomically)."""
    frozen = subprocess.run(
        [python, "-m", "pip", "freeze", "--all", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = []
    for line in sorted(frozen.splitlines(), key=str.lower):
        if not line or line.startswith(("#", "-e ")) or "==" not in line:
            continue  # leaky itself (editable) and anything not pinned by version
        name, version = line.split("==")
        if _normalise(name) == "leaky":
            continue
        lines.append(f"{name}=={version.split('+', 1)[0]}")  # no local label: 2.13.0+cpu
    version = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    major, minor = (int(v) for v in version.split("."))
    path = lock_path((major, minor))
    text = (
        "# The install lock of leaky's environments (make demo, make test, CI) on CPython "
        f"{version}, Linux x86_64.\n"
        "# Written by `make lock` (tools/lock.py) from a fresh resolve of the dev extra; "
        "used as `pip install -c`.\n"
        f"{HEADER}{dependencies_hash()}\n" + "\n".join(lines) + "\n"
    )
    path.parent.mkdir(exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path


def problems(path: Path | None = None, pyproject: Path = PYPROJECT) -> list[str]:
    """What is wrong with the lock of this Python version: empty when it is current."""
    from packaging.requirements import Requirement

    path = path or lock_path()
    if not path.is_file():
        return [f"{path.name} is missing: run `make lock`."]
    text = path.read_text()
    found = [line[len(HEADER) :].strip() for line in text.splitlines() if line.startswith(HEADER)]
    out = []
    if found != [dependencies_hash(pyproject)]:
        out.append(
            f"pyproject.toml's dependencies changed since {path.name} was written: run `make lock`."
        )
    locked = pins(text)
    project = _project(pyproject)
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    for line in requirements:
        req = Requirement(line)
        name = _normalise(req.name)
        if name == "leaky" or (req.marker is not None and not req.marker.evaluate()):
            continue
        if name not in locked:
            out.append(f"{req.name} is required by pyproject.toml but not in the lock.")
        elif not req.specifier.contains(locked[name], prereleases=True):
            out.append(f"{req.name}=={locked[name]} in the lock does not satisfy {line!r}.")
    return out


def main(argv: list[str]) -> int:
    if argv[:1] == ["write"] and len(argv) == 2:
        print(f"wrote {write(argv[1]).relative_to(ROOT)}")
        return 0
    if argv == ["check"]:
        found = problems()
        for p in found:
            print(f"lock: {p}", file=sys.stderr)
        return 1 if found else 0
    print("usage: python tools/lock.py write PYTHON | check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
