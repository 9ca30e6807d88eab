"""``leaky diagnose``: dead, dormant and negative-regime units of the user's own model.

Options are checked (``leaky._validate``) and ``--json`` probed before the user's module
is imported; torch is imported before the working directory is searched (last) for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from leaky.cli._common import (
    FORMAT,
    FORMATS,
    check_writable,
    console,
    err_console,
    errors,
    fail,
    load_user_object,
    printable,
    show,
    write_json,
)

COMMAND = "leaky diagnose"


def diagnose(
    factory: Annotated[
        str,
        typer.Argument(
            help="pkg.module:function returning (model, iterable of batches). torch is "
            "imported first and the working directory is searched last, so a file there "
            "named like an installed module (torch.py) is never imported in its place."
        ),
    ],
    batches: Annotated[
        int | None, typer.Option(help="Run at most this many batches (default: all).")
    ] = None,
    tau: Annotated[
        float | None,
        typer.Option(help="Dormant threshold (Sokar et al. 2023); default: the monitor's."),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the report to this JSON file.")
    ] = None,
    fmt: Annotated[str, FORMAT] = "table",
) -> None:
    """Find dead, dormant and negative-regime units of your own model."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from leaky import _validate
    from leaky.lab import _checks

    with errors():
        if batches is not None:
            _checks.positive_int(batches, "--batches", COMMAND)
        if tau is not None:
            _validate.positive_real(tau, "--tau", COMMAND, zero=True)
        _checks.one_of(fmt, "--format", COMMAND, FORMATS)
    if json_out is not None:
        check_writable(json_out, "--json", folder=False)
    make = load_user_object(factory, "factory", COMMAND, dependencies=("torch",))
    try:
        made = make()
    except (Exception, SystemExit) as err:  # the user's code: report it in one line
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
    kwargs = {} if tau is None else {"tau": tau}
    try:
        with Progress(
            TextColumn("diagnose"), BarColumn(), MofNCompleteColumn(), console=err_console
        ) as progress:
            task = progress.add_task("batches", total=total)
            report = monitor.diagnose(
                model,
                data,
                max_batches=batches,
                progress=lambda done: progress.update(task, completed=done),
                **kwargs,
            )
    except (Exception, SystemExit) as err:  # the user's model or data: one line, not a trace
        fail(f"running the model failed: {type(err).__name__}: {err}")
    show(fmt, report.to_dict(), lambda: console.print(_printable(report)))
    try:
        write_json(json_out, report.to_dict())
    except OSError as err:
        fail(f"cannot write {json_out}: {err.strerror or err}; the report is shown above.", 1)


def _printable(report: Any) -> Any:
    """The report with the names the user's model gave (its modules', its activations')
    shown with their control characters escaped (``printable``), for the terminal."""
    import dataclasses

    layers = [
        dataclasses.replace(
            layer, name=printable(layer.name), activation=printable(layer.activation)
        )
        for layer in report.layers
    ]
    unreached = [printable(item) for item in report.unreached]
    return dataclasses.replace(report, layers=layers, unreached=unreached)
