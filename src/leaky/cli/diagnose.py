"""``leaky diagnose``: dead, dormant and negative-regime units of the user's own model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leaky.cli._common import console, cwd_on_path, fail, write_json


def diagnose(
    factory: Annotated[
        str, typer.Argument(help="pkg.module:function returning (model, iterable of batches).")
    ],
    batches: Annotated[
        int | None, typer.Option(help="Run at most this many batches (default: all).")
    ] = None,
    tau: Annotated[float, typer.Option(help="Dormant threshold (Sokar et al. 2023).")] = 0.0,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the report to this JSON file.")
    ] = None,
) -> None:
    """Find dead, dormant and negative-regime units of your own model."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from leaky import _validate

    if batches is not None and batches < 1:
        fail(f"--batches must be at least 1. Got {batches}.")
    if tau < 0:
        fail(f"--tau must be >= 0. Got {tau}.")
    cwd_on_path()
    try:
        make = _validate.load_object(factory, "factory", "leaky diagnose")
    except ValueError as err:
        fail(err)
    try:
        made = make()
    except Exception as err:  # the user's code: report it in one line
        fail(f"{factory}() raised {type(err).__name__}: {err}")
    import torch

    from leaky import monitor

    if not (isinstance(made, tuple) and len(made) == 2 and isinstance(made[0], torch.nn.Module)):
        fail(
            f"{factory}() must return (model, iterable_of_batches) with a torch.nn.Module "
            f"first. Got {type(made).__name__} instead."
        )
    model, data = made
    total = batches
    if total is None and hasattr(data, "__len__"):
        total = len(data)
    try:
        with Progress(
            TextColumn("diagnose"), BarColumn(), MofNCompleteColumn(), console=console
        ) as progress:
            task = progress.add_task("batches", total=total)
            report = monitor.diagnose(
                model,
                data,
                max_batches=batches,
                tau=tau,
                progress=lambda done: progress.update(task, completed=done),
            )
    except ValueError as err:
        fail(err)
    except Exception as err:  # the user's model or data: one line, not a trace
        fail(f"running the model failed: {type(err).__name__}: {err}")
    console.print(report)
    write_json(json_out, report.to_dict())
