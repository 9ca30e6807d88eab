"""``leaky tune``: the negative slope tuned with Optuna, resumable, on one or many workers."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Annotated

import typer

from leaky.cli._common import (
    check_jobs,
    console,
    cwd_on_path,
    err_console,
    fail,
    print_table,
    write_json,
)


def _parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        seeds = []
    if not seeds:
        fail(f"--seeds takes comma-separated integers, like 0,1,2. Got {text!r}.")
    return seeds


def tune(
    objective: Annotated[
        str,
        typer.Option(help="A built-in objective (digits-mlp, blobs-mlp) or pkg.module:function."),
    ],
    trials: Annotated[int, typer.Option(help="Complete trials the study must reach.")] = 30,
    storage: Annotated[
        str | None,
        typer.Option(help="Optuna storage URL; default sqlite:///leaky-tune.db here."),
    ] = None,
    study: Annotated[
        str | None, typer.Option(help="Study name; default: the objective's name.")
    ] = None,
    seeds: Annotated[str, typer.Option(help="Seeds each trial averages over.")] = "0",
    jobs: Annotated[int, typer.Option(help="Trials run at once by this worker.")] = 1,
    out: Annotated[Path, typer.Option(help="Folder for the figure and JSON.")] = Path("leaky-tune"),
    low: Annotated[float, typer.Option(help="Smallest slope searched.")] = 1e-4,
    high: Annotated[float, typer.Option(help="Largest slope searched.")] = 0.5,
    direction: Annotated[str, typer.Option(help="maximize or minimize.")] = "maximize",
) -> None:
    """Tune the negative slope with Optuna: resumable (SQLite), or many workers (PostgreSQL)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from leaky import _validate
    from leaky.lab import plotting
    from leaky.lab import tune as tune_mod
    from leaky.lab.experiments.objectives import OBJECTIVES

    if trials < 1:
        fail(f"--trials must be at least 1. Got {trials}.")
    check_jobs(jobs)
    seed_list = _parse_seeds(seeds)
    if objective in OBJECTIVES:
        fn = OBJECTIVES[objective]
    elif ":" in objective:
        cwd_on_path()
        try:
            fn = _validate.load_object(objective, "objective", "leaky tune")
        except ValueError as err:
            fail(err)
    else:
        fail(
            f"Unknown objective {objective!r}. Built-in objectives: "
            f"{', '.join(OBJECTIVES)}; or give pkg.module:function."
        )
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # failures are summarised below
    url = storage or "sqlite:///leaky-tune.db"
    name = study or objective.replace(":", "-")
    try:
        with Progress(
            TextColumn(f"study {name}"), BarColumn(), MofNCompleteColumn(), console=console
        ) as bar:
            task = bar.add_task("trials", total=trials)
            result = tune_mod.tune_slope(
                fn,
                n_trials=trials,
                storage=url,
                study_name=name,
                seeds=seed_list,
                low=low,
                high=high,
                direction=direction,
                n_jobs=jobs,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    except (ValueError, TypeError) as err:
        fail(err)
    except KeyboardInterrupt:
        err_console.print(
            f"interrupted: run the same command to resume study {name!r} in {url}",
            highlight=False,
        )
        raise typer.Exit(130) from None
    done = sorted(result.complete, key=lambda t: t.value, reverse=direction == "maximize")
    print_table(
        ("trial", "slope", "mean", "std", "seeds"),
        (
            (
                str(t.number),
                "ReLU (0)" if t.baseline else f"{t.slope:.4g}",
                f"{t.value:.4f}",
                f"{statistics.stdev(t.values):.4f}" if len(t.values) > 1 else "-",
                str(len(t.values)),
            )
            for t in done[:10]
        ),
        title=f"study {name!r} ({url})",
    )
    failed = [t for t in result.trials if t.state == "FAIL"]
    if failed:
        console.print(f"{len(failed)} failed trial(s); the last: {failed[-1].fail_reason}")
    if result.best_slope is not None:
        relu = "n/a" if result.relu_value is None else f"{result.relu_value:.4f}"
        console.print(
            f"best slope {result.best_slope:.4g}: {result.best_value:.4f} "
            f"(± {result.best_std or 0:.4f}); ReLU baseline {relu}"
        )
    out.mkdir(parents=True, exist_ok=True)
    figure = plotting.save(plotting.tune(result), out / "tune.png")
    plotting.save(plotting.tune(result), out / "tune.svg")
    write_json(out / "tune.json", result.to_dict())
    console.print(f"wrote [bold]{figure}[/]")
