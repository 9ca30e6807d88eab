"""The ``leaky`` command. It parses arguments, shows progress and composes; it computes nothing.

One module per command group: ``plot``, ``bench``, ``diagnose``, ``report`` (the report and
``compare``, the same statistics on the user's objective) and ``tune``; what they share
(one-line errors, printing that never reads user strings as markup, tables and JSON,
output checks, options) is in ``_common``. The commands are registered here, in the order
``leaky --help`` lists them.

The command needs the ``lab`` extra (typer, rich and the lab's libraries). Importing
``leaky.cli`` never fails without it; ``main()`` then prints one line that says what to
install and exits with status 1.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

from leaky._imports import CLI_MODULES, MissingExtraError, require, try_import
from leaky._version import __version__

FEATURE = "the leaky command"

with try_import(FEATURE, "lab") as _deps:
    import typer

    from leaky.cli import bench, diagnose, plot, report, tune
    from leaky.cli._common import HelpCommand, say

if _deps.is_successful():
    app = typer.Typer(
        name="leaky",
        help="The Leaky ReLU activation: exact, fast, and measured.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    def _version(value: bool) -> None:
        if value:
            say(f"leaky {__version__}")
            raise typer.Exit()

    @app.callback()
    def _main(
        version: Annotated[
            bool,
            typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
        ] = False,
    ) -> None:
        """The Leaky ReLU activation: exact, fast, and measured."""

    app.command(cls=HelpCommand)(plot.plot)
    app.command(cls=HelpCommand)(bench.bench)
    app.command(cls=HelpCommand)(diagnose.diagnose)
    app.command(cls=HelpCommand)(report.report)
    app.command(cls=HelpCommand)(report.compare)
    app.command(cls=HelpCommand)(tune.tune)


def __getattr__(name: str) -> Any:
    if name == "app":  # only reached when the extra is missing
        _deps.check()
    raise AttributeError(f"module 'leaky.cli' has no attribute {name!r}")


def main() -> None:
    """Entry point of the ``leaky`` console script."""
    try:
        _deps.check()
        require(FEATURE, "lab", CLI_MODULES)
    except MissingExtraError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(1) from None
    app()
