"""The ``leaky`` command. It parses arguments, shows progress and composes; it computes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from leaky._version import __version__

app = typer.Typer(
    name="leaky",
    help="The Leaky ReLU activation: exact, fast, and measured.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


def _fail(message: str, code: int = 2) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        console.print(f"leaky {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """The Leaky ReLU activation: exact, fast, and measured."""


@app.command()
def plot(
    slope: Annotated[
        list[float] | None,
        typer.Option("--slope", "-s", help="A negative slope in [0, 1]; repeat for more lines."),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Where to write the figure (.png or .svg).")
    ] = Path("leaky_relu.png"),
) -> None:
    """Draw Leaky ReLU and its derivative side by side for the given slopes."""
    from leaky import _validate, plotting

    slopes = slope or [0.01, 0.1, 0.3]
    try:
        for a in slopes:
            _validate.negative_slope(a, "leaky plot --slope")
        path = plotting.save(plotting.function_and_derivative(slopes), out)
    except (ValueError, TypeError) as err:
        _fail(str(err))
    console.print(f"wrote [bold]{path}[/] (slopes {', '.join(f'{a:g}' for a in slopes)})")


def main() -> None:
    """Entry point of the ``leaky`` console script."""
    app()
