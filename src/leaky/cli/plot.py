"""``leaky plot``: the function and its derivative, side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leaky.cli._common import check_writable, errors, fail, say, styled

COMMAND = "leaky plot"


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
    from leaky import _validate
    from leaky.lab import plotting

    slopes = slope or [0.01, 0.1, 0.3]
    with errors():
        for a in slopes:
            _validate.negative_slope(a, f"{COMMAND} --slope")
    check_writable(out, "--out", folder=False)
    try:
        with errors():  # the figure's suffix is checked before anything is written
            path = plotting.save(plotting.function_and_derivative(slopes), out)
    except OSError as err:
        fail(f"cannot write {out}: {err.strerror or err}", code=1)
    say("wrote ", styled(path, "bold"), f" (slopes {', '.join(f'{a:g}' for a in slopes)})")
