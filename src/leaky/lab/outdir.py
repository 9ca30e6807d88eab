"""The folders leaky owns, and the one way it writes a file into them.

**Ownership.** An output folder is the user's: leaky only ever writes into a folder that it
created or that holds its marker file (``MARKER``, ``.leaky-report``). ``check_out`` accepts
a new path, an empty folder or a previous report and refuses anything else (a folder
holding other files, a file, a symlink, the working directory, the home directory, ``/``)
before any work starts; ``prepare`` then creates and marks the folder, and removes the
temporary folders a killed run left in it (``.leaky-render-PID``, ``.leaky-figures-old-PID``
whose process is gone; nothing else).

**Writing.** ``atomic_write`` (text or bytes) and ``save_figure`` (a matplotlib figure) are
the only way leaky writes a file: into a temporary file in the same folder, flushed to disk
(``fsync``), made readable like any output (0644 less the umask), then moved over the target
with ``os.replace``: a reader sees the old file or the new one, never half of one. A target
that is a symbolic link, or whose folder is one, is refused (``OutDirError``, one line
naming the path): leaky never writes through a link someone put where it writes.
``refuse_symlink`` is that check alone, for writers that are not files of ours (SQLite).

Examples:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> atomic_write(folder / "a.txt", "hello").read_text()
    'hello'
    >>> (folder / "link.txt").symlink_to(folder / "a.txt")
    >>> atomic_write(folder / "link.txt", "bye")
    Traceback (most recent call last):
      ...
    leaky.lab.outdir.OutDirError: .../link.txt is a symbolic link; leaky does not write through one: remove it or name another folder.
"""  # noqa: E501

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from leaky._version import __version__

__all__ = [
    "MARKER",
    "OutDirError",
    "atomic_write",
    "check_out",
    "is_report",
    "prepare",
    "refuse_symlink",
    "remove_leftovers",
    "save_figure",
]

MARKER = ".leaky-report"
"""The file every report folder carries: only a folder holding it is ever written into."""
RENDER_PREFIX = ".leaky-render-"  # DIR/.leaky-render-PID: a report rendered before it moves in
OLD_FIGURES_PREFIX = ".leaky-figures-old-"  # DIR/.leaky-figures-old-PID: the figures it replaces
FIGURE_FORMATS = (".png", ".svg")


class OutDirError(ValueError):
    """leaky refuses to write there (a symbolic link in the way); the message is one line."""


# --- writing -----------------------------------------------------------------------------


def refuse_symlink(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path, or ``OutDirError`` if it or its folder is a symbolic link."""
    path = Path(path)
    for shown in (path.parent, path):
        if shown.is_symlink():
            raise OutDirError(
                f"{shown} is a symbolic link; leaky does not write through one: remove it or "
                "name another folder."
            )
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` atomically; returns the path.

    The folder must exist. Refused (``OutDirError``): ``path`` or its folder a symbolic link.
    """
    path = refuse_symlink(path)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644 & ~_umask())  # mkstemp makes it 0600: readable like any output
        os.replace(tmp, path)  # replaces a link put there meanwhile, never writes through it
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def save_figure(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Write a matplotlib figure to ``path`` (``.png`` at 150 dpi, or ``.svg``) atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FIGURE_FORMATS:
        raise ValueError(
            f"The figure path must end in one of {', '.join(FIGURE_FORMATS)}. "
            f"Got {str(path)!r} instead."
        )
    refuse_symlink(path)  # before the figure is drawn
    buffer = io.BytesIO()
    fig.savefig(buffer, format=suffix[1:], dpi=150 if suffix == ".png" else None)
    return atomic_write(path, buffer.getvalue())


# --- the folders leaky owns -------------------------------------------------------------


def is_report(folder: Path) -> bool:
    """True if ``folder`` is a real folder (not a symlink) holding leaky's marker file."""
    marker = folder / MARKER
    if folder.is_symlink() or not folder.is_dir() or marker.is_symlink():
        return False
    try:
        return "leaky" in json.loads(marker.read_text())
    except (OSError, ValueError, TypeError):
        return False


def check_out(out: str | Path) -> Path:
    """Return ``out`` as a Path if a report may be written there, else raise ValueError.

    Allowed: a path that does not exist yet, an empty folder, or a folder holding a previous
    leaky report (its marker file). Refused: anything else, so that nothing leaky did not
    write is ever deleted or overwritten.
    """
    out = Path(out)
    shown = f"--out {str(out)!r}"
    if out.is_symlink():
        raise ValueError(f"{shown} is a symbolic link; give the report folder itself.")
    full = out.resolve()
    cwd = Path.cwd().resolve()
    if full == cwd or full in cwd.parents:
        raise ValueError(f"{shown} is the working directory or holds it; name a new folder.")
    if full == Path.home().resolve() or full == Path(full.anchor):
        raise ValueError(f"{shown} is the home or the root directory; name a new folder.")
    if not out.exists():
        parent = next((p for p in full.parents if p.exists()), None)
        if parent is not None and not parent.is_dir():
            raise ValueError(f"{shown} cannot be created: {parent} is not a folder.")
        if parent is not None and not os.access(parent, os.W_OK | os.X_OK):
            raise ValueError(f"{shown} cannot be created: {parent} is not writable.")
        return out
    if not out.is_dir():
        raise ValueError(f"{shown} exists and is not a folder; name a new folder.")
    if not os.access(out, os.W_OK | os.X_OK):
        raise ValueError(f"{shown} is not writable.")
    if is_report(out) or not any(out.iterdir()):
        return out
    raise ValueError(
        f"{shown} is a folder that is not empty and holds no leaky report (no {MARKER} "
        "file); leaky writes only into its own reports: name a new or empty folder."
    )


def prepare(out: str | Path) -> Path:
    """Check ``out``, create it if needed and mark it as leaky's (before anything runs)."""
    out = check_out(out)
    out.mkdir(parents=True, exist_ok=True)
    marker = out / MARKER
    if not marker.exists():
        atomic_write(marker, json.dumps({"leaky": __version__, "kind": "report"}) + "\n")
    remove_leftovers(out)
    return out


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process renders one report at a time: a leftover of ours
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftovers(out: Path) -> None:
    """Remove the temporary folders of killed runs inside ``out`` (a marked report folder).

    Only folders named ``.leaky-render-PID`` or ``.leaky-figures-old-PID`` whose process is
    gone are removed; anything else is left alone.
    """
    if not is_report(out):
        return
    for prefix in (RENDER_PREFIX, OLD_FIGURES_PREFIX):
        for path in out.glob(f"{prefix}*"):
            pid = path.name[len(prefix) :]
            if (
                pid.isdigit()
                and not _pid_alive(int(pid))
                and path.is_dir()
                and not path.is_symlink()
            ):
                shutil.rmtree(path)
