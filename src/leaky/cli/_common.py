"""What every command shares: the consoles, one-line errors, tables and JSON, the options.

- ``fail`` is the one place that turns a problem into ``error: ...`` on one line and an exit
  code (2: bad input), never a traceback.
- ``print_table`` and ``write_json`` are the one place that renders results: a rich table
  on the terminal, strict JSON (NaN and inf as null) in a file.
- ``QUICK``, ``SEED``, ``JOBS``, ``JSON`` are the options several commands take.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def fail(error: str | BaseException, code: int = 2) -> NoReturn:
    """Print ``error: <message>`` on stderr and exit with ``code``; never returns."""
    err_console.print(f"[bold red]error:[/] {error}", highlight=False)
    raise typer.Exit(code)


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[str]], title: str | None = None
) -> None:
    """Print rows of already formatted cells as a rich table."""
    from rich.table import Table

    table = Table(*columns, title=title)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def write_json(path: Path | None, data: Any) -> None:
    """Write ``data`` to ``path`` as strict JSON (NaN and inf become null); None: nothing."""
    if path is None:
        return
    import json

    from leaky.lab.report import json_safe

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(json_safe(data), indent=1))
    console.print(f"wrote [bold]{path}[/]")


def check_jobs(jobs: int) -> None:
    if jobs < 1:
        fail(f"--jobs must be at least 1. Got {jobs}.")


def cwd_on_path() -> None:
    """Let 'module:function' name a module of the working directory, as `python -m` would."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())


class Bars:
    """Rich progress bars, one per task, fed by the experiments' (task, done, total) calls."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> Bars:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def __call__(self, task: str, done: int, total: int) -> None:
        if task not in self.tasks:
            self.tasks[task] = self.progress.add_task(task, total=total)
        self.progress.update(self.tasks[task], completed=done, total=total)

    def for_task(self, task: str) -> Callable[[int, int], None]:
        return lambda done, total: self(task, done, total)


QUICK = typer.Option(help="Tiny settings: seconds instead of minutes.")
SEED = typer.Option(help="Base seed; the same seed gives the same numbers.")
JOBS = typer.Option(help="Processes for independent training runs.")
JSON = typer.Option("--json", help="Also write the numbers to this JSON file.")
