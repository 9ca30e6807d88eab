"""``leaky tune``: the negative slope tuned with Optuna, resumable, on one or many workers.

Every option is checked (``leaky.lab.tune.check_options``) and ``--out`` probed before the
objective is imported or any trial runs. ``tune.json`` is written before the figures are
drawn, so that a failure there keeps the numbers; the study itself stays in its storage.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from leaky.cli._common import (
    FORMAT,
    FORMATS,
    check_writable,
    err_console,
    errors,
    fail,
    load_user_object,
    print_table,
    say,
    show,
    styled,
    write_json,
)

COMMAND = "leaky tune"
OPTION_NAMES = {
    "n_trials": "--trials",
    "n_jobs": "--jobs",
    "seeds": "--seeds",
    "direction": "--direction",
    "margin": "--margin",
    "low": "--low",
    "high": "--high",
}
LEGACY_DB = Path("leaky-tune.db")  # where leaky kept studies before they moved next to --out


def tune(
    objective: Annotated[
        str,
        typer.Option(
            help="A built-in objective (digits-mlp, blobs-mlp) or pkg.module:function, "
            "called as function(negative_slope, seed) -> float. Optuna and torch are "
            "imported first and the working directory is searched last, so a file there "
            "named like an installed module (optuna.py) is never imported in its place."
        ),
    ],
    trials: Annotated[int, typer.Option(help="Complete trials the study must reach.")] = 30,
    storage: Annotated[
        str | None,
        typer.Option(
            help="Optuna storage URL (PostgreSQL for many workers); default: "
            "sqlite:///OUT/study.db, next to the figure."
        ),
    ] = None,
    study: Annotated[
        str | None, typer.Option(help="Study name; default: the objective's name.")
    ] = None,
    seeds: Annotated[
        str,
        typer.Option(help="Seeds every trial averages over, like 0,1,2 (2+ to compare with ReLU)."),
    ] = "0",
    jobs: Annotated[int, typer.Option(help="Trials run at once by this worker.")] = 1,
    out: Annotated[
        Path, typer.Option(help="Folder for tune.json, the figures and (by default) the study.")
    ] = Path("leaky-tune"),
    low: Annotated[float, typer.Option(help="Smallest slope searched.")] = 1e-4,
    high: Annotated[float, typer.Option(help="Largest slope searched.")] = 0.5,
    direction: Annotated[str, typer.Option(help="maximize or minimize.")] = "maximize",
    margin: Annotated[
        float,
        typer.Option(
            help="Smallest difference of the objective that matters (0.01: one point of "
            "accuracy): the best slope and ReLU closer than this are no different."
        ),
    ] = 0.01,
    fmt: Annotated[str, FORMAT] = "table",
) -> None:
    """Tune the negative slope with Optuna: resumable (SQLite), or many workers (PostgreSQL).

    Ctrl-C stops every worker thread at once (exit status 130); run the same command again
    to resume: complete trials are kept and the interrupted ones retried.
    """
    from leaky.lab import _checks
    from leaky.lab import tune as tune_mod

    with errors():
        seed_list = _checks.seed_list(seeds, "--seeds", COMMAND)
        _checks.one_of(fmt, "--format", COMMAND, FORMATS)
        options = tune_mod.check_options(
            n_trials=trials,
            n_jobs=jobs,
            seeds=seed_list,
            low=low,
            high=high,
            direction=direction,
            margin=margin,
            storage=storage,
            func=COMMAND,
            names=OPTION_NAMES,
        )
        if storage is None:
            tune_mod.heartbeat_settings()  # the default storage is SQLite: heartbeats apply
    from leaky.lab import outdir

    with errors():  # a folder of someone else's files is refused, never written into
        outdir.check_out(out)
        for name in ("study.db", "tune.json", "tune.png", "tune.svg"):
            outdir.refuse_symlink(out / name)  # SQLite would write through a link
    check_writable(out, "--out", folder=True)
    fn = _objective(objective)
    url = storage or f"sqlite:///{(out / 'study.db').resolve()}"
    name = study or objective.replace(":", "-")
    if storage is None:
        _note_legacy_db(out)
    outdir.prepare(out)  # created and marked as leaky's
    result = _run(fn, url, name, options)
    _finish(result, url, out, fmt)


def _objective(spec: str) -> Any:
    from leaky.lab.experiments.objectives import resolve

    def load(name: str) -> Any:
        return load_user_object(name, "--objective", COMMAND, dependencies=("optuna", "torch"))

    with errors():
        return resolve(spec, "--objective", COMMAND, load=load)


def _note_legacy_db(out: Path) -> None:
    if LEGACY_DB.is_file() and not (out / "study.db").exists():
        say(
            f"note: {LEGACY_DB} here holds studies of an older leaky; this run keeps its study "
            f"in {out / 'study.db'}. To resume an old one: --storage sqlite:///{LEGACY_DB}",
            err=True,
        )


def _run(fn: Any, url: str, name: str, options: dict[str, Any]) -> Any:
    import optuna
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from leaky.lab import tune as tune_mod

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # failures are summarised below
    shown = tune_mod.display_url(url)
    try:
        with Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            console=err_console,
        ) as bar:
            task = bar.add_task(f"study {name}", total=options["n_trials"])
            low, high = options["low_high"]
            with errors(), _storage_errors():  # the storage first: exit status 1
                return tune_mod.tune_slope(
                    fn,
                    n_trials=options["n_trials"],
                    storage=url,
                    study_name=name,
                    seeds=options["seeds"],
                    low=low,
                    high=high,
                    direction=options["direction"],
                    margin=options["margin"],
                    n_jobs=options["n_jobs"],
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
    except KeyboardInterrupt as err:
        say(
            f"interrupted: run the same command to resume study {name!r} in {shown}; "
            "the interrupted trials will be retried",
            err=True,
        )
        if getattr(err, "abandoned", 0):
            # A worker thread is still inside the objective (one that does not return):
            # it cannot be stopped from outside, so end the process now, files flushed.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        raise typer.Exit(130) from None


@contextlib.contextmanager
def _storage_errors() -> Iterator[None]:
    """A storage that cannot be opened (unreachable, a refused login): the work failed,
    exit status 1 (a URL that is not one stays a usage error, 2)."""
    from leaky.lab import tune as tune_mod

    try:
        yield
    except tune_mod.StorageError as err:
        fail(err, code=1)


def _finish(result: Any, url: str, out: Path, fmt: str) -> None:
    """tune.json first, then the result on the terminal, then the figures."""
    from leaky.lab import plotting
    from leaky.lab import tune as tune_mod

    shown = tune_mod.display_url(url)
    json_path = out / "tune.json"
    try:
        write_json(json_path, result.to_dict())
    except OSError as err:
        show(fmt, result.to_dict(), lambda: _table(result))
        fail(
            f"cannot write {json_path}: {err.strerror or err}. The study is kept in {shown}: "
            "run the same command again (with a writable --out) to write the files.",
            code=1,
        )
    show(fmt, result.to_dict(), lambda: _table(result))
    try:
        for suffix in (".png", ".svg"):
            figure = plotting.save(plotting.tune(result), out / f"tune{suffix}")
            say("wrote ", styled(figure, "bold"), err=True)
    except (OSError, ValueError) as err:
        fail(f"cannot draw the figure in {out}: {err}; {json_path} is written.", code=1)
    if url.startswith("sqlite:///"):
        say(
            f"browse the study: optuna-dashboard {shown} "
            "(a separate program: pip install optuna-dashboard)",
            err=True,
        )


def _table(result: Any) -> None:
    done = sorted(result.complete, key=lambda t: t.value, reverse=result.direction == "maximize")
    print_table(
        ("trial", "slope", "mean", "95 % interval", "seeds"),
        (
            (
                str(t.number),
                "ReLU (0)" if t.baseline else f"{t.slope:.4g}",
                f"{t.value:.4f}",
                "-" if t.ci_low is None else f"[{t.ci_low:.4f}, {t.ci_high:.4f}]",
                str(len(t.values)),
            )
            for t in done[:10]
        ),
        title=f"study {result.study_name!r} ({result.storage})",
    )
    failed = [t for t in result.trials if t.state == "FAIL" and t.fail_reason]
    if failed:
        say(f"{len(failed)} failed trial(s); the last: {failed[-1].fail_reason}")
    say(result.summary)
