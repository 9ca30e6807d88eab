"""What every command shares: the consoles, one-line errors, tables and JSON, the options.

- **Nothing a user typed is read as markup.** ``say``, ``fail`` and ``print_table`` print
  strings as plain rich ``Text``, never parsed: a module path with ``[/]``, an output path
  ``runs[final]/fig.png`` or a study called ``:smile:`` is printed as it is (the consoles
  also have emoji codes and highlighting off). Styling is explicit: ``styled(text, style)``
  makes a styled ``Text``. (A markup string like ``"[green]yes[/]"`` in a table cell is
  shown literally: use ``styled("yes", "green")``.) Print through these, never with
  ``console.print(f"...{user_value}...")``, which would read the value as markup.
- ``fail`` is the one place that turns a problem into ``error: ...`` on one line (stderr)
  and an exit code (2: bad input; 1: the work failed), never a traceback; ``errors()``
  turns the library's checks (``ValueError``, ``TypeError``) into it.
- ``print_table``, ``print_json`` and ``write_json`` are the one place that renders results:
  a rich table on the terminal, strict JSON (NaN and inf as null) on stdout or in a file.
  ``show`` picks one by ``--format``. Results go to stdout; progress and "wrote ..." lines
  to stderr, so that ``--format json`` output can be piped.
- ``check_writable`` refuses, before any work starts, an output that cannot be written.
- ``load_user_object`` imports the user's ``pkg.module:function`` *after* leaky's own
  dependencies, with the working directory searched last (appended to ``sys.path``): a
  file there named like an installed module (``optuna.py``, ``torch.py``) is never imported
  in its place.
- ``SEED``, ``JSON``, ``FORMAT`` are the options several commands take. (Progress bars of
  long jobs are ``leaky.lab.progress``'s.)
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import json
import os
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import rich.markup
import typer
import typer.core
from rich.console import Console
from rich.text import Text

# Markup stays on for rich renderables that escape their own data (MonitorReport's table);
# everything this module prints is a Text, which is never parsed.
console = Console(emoji=False, highlight=False)
err_console = Console(stderr=True, emoji=False, highlight=False)

FORMATS = ("table", "json")

Cell = str | Text


class HelpCommand(typer.core.TyperCommand):
    """A command whose ``--help`` shows its texts as written: ``leaky[cluster]`` stays
    ``leaky[cluster]`` (typer reads help as rich markup, where ``[cluster]`` is a tag and
    vanishes), and a flag shows no ``<bool>`` type (it takes no value)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.help:
            self.help = rich.markup.escape(self.help)
        for param in self.params:
            _plain_help(param)

    def get_help_option(self, ctx: Any) -> Any:  # typer's own (vendored) click types
        option = super().get_help_option(ctx)
        if option is not None:
            _plain_help(option)
        return option


def _plain_help(param: Any) -> None:
    help_text = getattr(param, "help", None)
    if help_text and not getattr(param, "_leaky_plain", False):
        param.help = rich.markup.escape(help_text)
    if getattr(param, "is_flag", False):
        param.metavar = ""
    param._leaky_plain = True


def printable(text: Any) -> str:
    """``str(text)`` with control characters escaped (ESC as ``\\x1b``), line breaks and tabs
    kept: what a user's module, path or name holds is shown, never sent to the terminal.

    Examples:
        >>> printable("layer" + chr(27) + "[2Jname")
        'layer\\\\x1b[2Jname'
    """
    text = str(text)
    if text.isprintable():
        return text
    return "".join(
        c
        if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co")
        else (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
        for c in text
    )


def os_error_line(err: OSError, where: Any = None) -> str:
    """An ``OSError`` on one line: what could not be written (its file, else ``where``) and
    the system's reason, with "disk full" said plainly (``ENOSPC``, ``EDQUOT``).

    Examples:
        >>> import errno
        >>> os_error_line(OSError(errno.ENOSPC, "No space left on device"), "out/fig.png")
        'cannot write out/fig.png: No space left on device (disk full)'
    """
    target = err.filename if err.filename is not None else where
    reason = err.strerror or " ".join(str(err).split()) or type(err).__name__
    if err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        reason += " (disk full)"
    return f"cannot write {target}: {reason}" if target is not None else reason


def styled(text: Any, style: str) -> Text:
    """``text`` (any value, shown with ``str``) in a rich style, never parsed as markup."""
    return Text(printable(text), style=style)


def _text(part: Any) -> Text:
    return part if isinstance(part, Text) else Text(printable(part))


def say(*parts: Any, err: bool = False) -> None:
    """Print ``parts`` side by side as plain text (``Text`` parts keep their style).

    Example: ``say("wrote ", styled(path, "bold"))``. Status lines go to stderr
    (``err=True``); results to stdout. Long lines are not wrapped (``soft_wrap``).
    """
    (err_console if err else console).print(
        Text.assemble(*(_text(p) for p in parts)), soft_wrap=True
    )


def fail(error: str | BaseException, code: int = 2) -> NoReturn:
    """Print ``error: <message>`` on one line on stderr and exit with ``code``; never returns.

    The message is printed as plain text (a user's ``[/]`` or ``:smile:`` stays as typed);
    line breaks in it (a low-level error's) become spaces.
    """
    message = " ".join(printable(error).split()) or type(error).__name__
    err_console.print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def errors(code: int = 2) -> Iterator[None]:
    """Turn the library's refusals (``ValueError``, ``TypeError``) into ``fail``.

    Wrap calls that check the user's arguments, not the user's own code (whose exceptions
    each command reports with what it was doing).
    """
    try:
        yield
    except (ValueError, TypeError) as err:
        fail(err, code)


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[Cell]], title: Cell | None = None
) -> None:
    """Print rows of already formatted cells as a rich table (cells are plain text).

    On a terminal too narrow for the table (its columns would be drawn empty), each row is
    printed as ``column: value`` lines instead, unwrapped, one blank line between rows.
    """
    from rich.measure import Measurement
    from rich.table import Table

    rows = [[_text(c) for c in row] for row in rows]
    table = Table(title=None if title is None else _text(title))
    for column in columns:
        table.add_column(_text(column))
    for row in rows:
        table.add_row(*row)
    unbounded = console.options.update_width(10_000)  # the table's own least width
    if Measurement.get(console, unbounded, table).minimum <= console.width:
        console.print(table)
        return
    if title is not None:
        say(title)
    for i, row in enumerate(rows):
        if i:
            say("")
        for column, cell in zip(columns, row, strict=True):
            say(column, ": ", cell)


def dumps(data: Any) -> str:
    """Strict JSON (NaN and inf become null), indented."""
    from leaky.lab._json import json_safe

    return json.dumps(json_safe(data), indent=1, allow_nan=False)


def print_json(data: Any) -> None:
    """Print ``data`` as strict JSON on stdout, nothing else: for ``--format json``."""
    sys.stdout.write(dumps(data) + "\n")
    sys.stdout.flush()


def show(fmt: str, data: Any, table: Callable[[], None]) -> None:
    """Render a result by ``--format``: ``table()`` for people, ``data`` as JSON for programs."""
    if fmt == "json":
        print_json(data)
    else:
        table()


def write_json(path: Path | None, data: Any) -> None:
    """Write ``data`` to ``path`` as strict JSON, atomically; None: nothing.

    The file is written next to ``path`` and renamed into place
    (``leaky.lab.outdir.atomic_write``), so that a failure leaves the previous file (or
    none), never half of one; a symbolic link at ``path`` (or as its folder) is refused in
    one line (``fail``). Raises ``OSError`` if it cannot be written (``check_writable``
    refuses such a path before any work starts).
    """
    from leaky.lab.outdir import OutDirError, atomic_write

    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        atomic_write(path, dumps(data))
    except OutDirError as err:
        fail(err)
    say("wrote ", styled(path, "bold"), err=True)


def check_writable(path: Path, option: str, *, folder: bool) -> None:
    """Refuse, with one line and before any work, an output ``path`` that cannot be written.

    ``folder``: ``path`` is a folder to create or fill (else a file to create or replace).
    The nearest existing folder is probed by creating (and removing) a temporary file in
    it, which also catches read-only file systems and permissions.
    """
    if path.is_symlink() and not path.exists():
        fail(f"{option} {path} is a broken symbolic link.")
    if path.exists():
        if folder and not path.is_dir():
            fail(f"{option} {path} exists and is not a folder.")
        if not folder and path.is_dir():
            fail(f"{option} {path} is a folder; give a file name.")
    probe = path if folder and path.is_dir() else path.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        fail(f"cannot write {option} {path}: {probe} is not a folder.")
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as err:
        fail(f"cannot write {option} {path}: {err.strerror or err} ({probe}).")


def import_dependencies(*modules: str) -> None:
    """Import leaky's own dependencies (``optuna``, ``torch``) before the user's module is
    looked up, so that a file of the working directory cannot stand in for them."""
    for name in modules:
        importlib.import_module(name)


def cwd_on_path() -> None:
    """Let 'module:function' name a module of the working directory, searched *last*.

    Appended, never prepended: installed packages win over a file of the working directory
    with the same name (``optuna.py`` is not imported in place of Optuna). Set PYTHONPATH
    to put a folder first on purpose.
    """
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())


def load_user_object(spec: str, option: str, command: str, *, dependencies: Sequence[str]) -> Any:
    """Import the user's ``pkg.module:function`` and return it, or ``fail`` in one line.

    ``dependencies`` (leaky's own, e.g. ``("optuna", "torch")``) are imported first; the
    working directory is then appended to ``sys.path`` (see ``cwd_on_path``).
    """
    from leaky.lab import _checks

    with errors():  # its form first: absolute names only (a relative one has no package)
        _checks.object_ref(spec, option, command)
    import_dependencies(*dependencies)
    cwd_on_path()
    try:
        return _checks.load_object(spec, option, command)
    except ValueError as err:
        fail(err)
    except (Exception, SystemExit) as err:  # the user's module raised while it was imported
        module = spec.split(":", 1)[0]
        fail(f"importing {module!r} for {option} raised {type(err).__name__}: {err}")


SEED = typer.Option(help="Base seed; the same seed gives the same numbers.")
JSON = typer.Option("--json", help="Also write the numbers to this JSON file.")
FORMAT = typer.Option(
    "--format", "-f", help="How to show the result: table (for people) or json (on stdout)."
)
