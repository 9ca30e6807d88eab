"""``leaky report`` (the evidence) and ``leaky compare`` (the same statistics on your model).

Both run their tasks through ``leaky.lab.runner``: ``--jobs N`` local processes (default:
one per core), ``--jobs 1`` in this process, or ``--scheduler tcp://host:port`` (an existing
Dask cluster: SLURM/PBS through dask-jobqueue, Kubernetes through dask-kubernetes) or
``--scheduler local`` (a Dask LocalCluster). Each finished task is stored in the output
folder as it finishes: the same command after an interruption runs only what is missing.
Progress is a live bar in a terminal and one plain line per task in a log.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Annotated

import typer

from leaky.cli._common import (
    FORMAT,
    JSON,
    SEED,
    check_writable,
    errors,
    fail,
    import_dependencies,
    os_error_line,
    print_table,
    say,
    show,
    styled,
    write_json,
)

_SCHEDULER = typer.Option(
    help="Run on Dask: 'local' starts a LocalCluster; tcp://host:port uses a running cluster "
    "(SLURM/PBS via dask-jobqueue, Kubernetes via dask-kubernetes). Needs leaky[cluster]."
)
_JOBS = typer.Option(help="Worker processes (default: one per core; 1 runs in this process).")
_COLORS = {"supported": "green", "not supported": "red", "inconclusive": "yellow"}
_COMPARE_OPTIONS = {
    "objective": "--objective",
    "slopes": "--slopes",
    "seeds": "--seeds",
    "margin": "--margin",
    "direction": "--direction",
}


def _runner_errors(run, where: Path):
    """Call ``run()``, turning the runner's one-line errors into ``fail``; ``where``: the
    folder written (named when a file there cannot be written, a full disk say)."""
    from leaky.lab.outdir import OutDirError
    from leaky.lab.runner import RunnerError
    from leaky.lab.store import StoreError

    try:
        return run()
    except OutDirError as err:  # a symbolic link where a file goes: refused, one line
        fail(err)
    except (RunnerError, StoreError) as err:
        fail(err, code=1)
    except OSError as err:  # writing the files (the results are stored): one line
        fail(f"{os_error_line(err, where)}; the results are stored in {where}", code=1)
    except KeyboardInterrupt:
        say("interrupted: the finished tasks are stored; run the same command to resume", err=True)
        raise typer.Exit(130) from None


def _check_backend(
    jobs: int | None, scheduler: str | None, command: str
) -> tuple[int | None, str | None]:
    """``--jobs`` and ``--scheduler`` checked, and Dask installed if asked for: before any
    folder is created or any work starts."""
    from leaky._imports import MissingExtraError, require
    from leaky.lab import _checks
    from leaky.lab.runner import default_jobs, parse_scheduler

    with errors():
        scheduler = parse_scheduler(scheduler)
        jobs = _checks.jobs_for(jobs, scheduler, "--jobs", command)
    cores = default_jobs()
    if jobs is not None and jobs > cores:  # more processes than cores only slow each other
        say(f"note: --jobs {jobs} is more than the {cores} cores here: using {cores}", err=True)
        jobs = cores
    if scheduler is not None:
        try:
            require(f"{command} --scheduler", "cluster", ("distributed",))
        except MissingExtraError as err:
            fail(err)
    return jobs, scheduler


def report(
    out: Annotated[
        Path, typer.Option(help="The report folder (its results are kept there).")
    ] = Path("leaky-report"),
    scale: Annotated[
        str, typer.Option(help="quick (a smoke run), standard (make demo) or full (a cluster).")
    ] = "standard",
    quick: Annotated[bool, typer.Option(help="The same as --scale quick.")] = False,
    seed: Annotated[int, SEED] = 0,
    jobs: Annotated[int | None, _JOBS] = None,
    scheduler: Annotated[str | None, _SCHEDULER] = None,
    from_: Annotated[
        Path | None,
        typer.Option("--from", help="Re-render a report folder from its stored results."),
    ] = None,
) -> None:
    """Run every experiment (resumably), judge every claim, write DIR/index.html and more."""
    import_dependencies("torch", "matplotlib")
    from leaky.lab import _checks, outdir
    from leaky.lab import plan as plan_mod
    from leaky.lab import report as report_mod
    from leaky.lab.progress import auto_progress

    if from_ is not None:
        given = [
            name
            for name, v in (
                ("--scale", scale != "standard"),
                ("--quick", quick),
                ("--seed", seed != 0),
                ("--jobs", jobs is not None),
                ("--scheduler", scheduler is not None),
                ("--out", out != Path("leaky-report")),
            )
            if v
        ]
        if given:
            fail(
                f"{', '.join(given)} does not apply to --from (it re-renders what is stored, "
                "in the folder it names)."
            )
        if from_.is_dir() and not os.access(from_, os.W_OK | os.X_OK):
            fail(f"--from {str(from_)!r} is not writable: re-rendering writes into it.")
        with errors():
            path, rep = _runner_errors(lambda: report_mod.rerender(from_), from_)
        _print_claims(rep)
        say("wrote ", styled(path / "index.html", "bold"), " from the stored results", err=True)
        return
    if quick:
        if scale not in ("standard", "quick"):
            fail(f"--quick is --scale quick; it cannot be combined with --scale {scale}.")
        scale = "quick"
    with errors():
        _checks.one_of(scale, "--scale", "leaky report", plan_mod.SCALES)
        _checks.seed(seed, "--seed", "leaky report")
        outdir.check_out(out)  # before anything runs
    check_writable(out, "--out", folder=True)
    jobs, scheduler = _check_backend(jobs, scheduler, "leaky report")
    path, rep = _runner_errors(
        lambda: report_mod.build(
            out, scale=scale, seed=seed, jobs=jobs, scheduler=scheduler, progress=auto_progress()
        ),
        out,
    )
    _print_claims(rep)
    if rep.failures:
        say(
            f"{len(rep.failures)} task(s) failed (listed in the report); run again to retry them",
            err=True,
        )
    say("wrote ", styled(path / "index.html", "bold"), " (and results.json, results.md)", err=True)


def _print_claims(rep) -> None:
    title = "Leaky ReLU: the claims, measured" + (
        " (PRELIMINARY: quick run)" if rep.plan.preliminary else ""
    )
    print_table(
        ("claim", "verdict", "finding"),
        ((c.title, styled(c.verdict, _COLORS.get(c.verdict, "")), c.finding) for c in rep.claims),
        title=title,
    )


def compare(
    objective: Annotated[
        str,
        typer.Option(help="A built-in objective (digits-mlp, blobs-mlp) or pkg.module:function."),
    ],
    slopes: Annotated[
        str,
        typer.Option(
            help="Comma-separated slopes in [0, 1]; 0 (ReLU) is the baseline, added if missing."
        ),
    ] = "0,0.01,0.1,0.3",
    seeds: Annotated[int, typer.Option(help="Seeds per slope (0 .. N-1), from 2 to 10,000.")] = 10,
    margin: Annotated[
        float, typer.Option(help="The smallest difference that matters, in the objective's units.")
    ] = 0.01,
    direction: Annotated[str, typer.Option(help="maximize or minimize.")] = "maximize",
    out: Annotated[Path, typer.Option(help="Folder for the results (kept: resumable).")] = Path(
        "leaky-compare"
    ),
    jobs: Annotated[int | None, _JOBS] = None,
    scheduler: Annotated[str | None, _SCHEDULER] = None,
    fmt: Annotated[str, FORMAT] = "table",
    json_out: Annotated[Path | None, JSON] = None,
    rerun: Annotated[
        bool, typer.Option(help="Compute every evaluation again, even those stored in --out.")
    ] = False,
) -> None:
    """Compare slopes against ReLU on your own objective, paired over seeds, with verdicts.

    Results are stored in --out and reused by the same command (an edited objective, or a
    module of your project it imports, is run again); --rerun computes everything anew.
    """
    import_dependencies("torch", "matplotlib")
    from leaky.cli._common import cwd_on_path
    from leaky.lab import _checks, outdir, plotting
    from leaky.lab import compare as compare_mod
    from leaky.lab.experiments.objectives import resolve
    from leaky.lab.progress import auto_progress

    try:
        slope_list = [float(v) for v in slopes.split(",") if v.strip()]
    except ValueError:
        slope_list = [math.nan]
    if not all(0 <= v <= 1 for v in slope_list):
        fail(f"--slopes takes comma-separated numbers in [0, 1], like 0,0.01,0.1. Got {slopes!r}.")
    with errors():
        n = _checks.count(seeds, "--seeds", "leaky compare", low=2, high=compare_mod.MAX_SEEDS)
        options = compare_mod.check_options(
            objective=objective,
            slopes=tuple(slope_list),
            seeds=tuple(range(n)),
            margin=margin,
            direction=direction,
            names=_COMPARE_OPTIONS,
            add_baseline=True,
        )
        config = compare_mod.Config.from_options(options)
        _checks.one_of(fmt, "--format", "leaky compare", ("table", "json"))
        outdir.check_out(out)
    check_writable(out, "--out", folder=True)
    if json_out is not None:
        check_writable(json_out, "--json", folder=False)
    cwd_on_path()
    with errors():  # an unknown objective, or one without a source file: before any folder
        resolve(objective, "--objective", "leaky compare")
        config.tasks()
    jobs, scheduler = _check_backend(jobs, scheduler, "leaky compare")
    if 0.0 not in slope_list:
        say("added slope 0 (ReLU) as the baseline", err=True)
    result = _runner_errors(
        lambda: compare_mod.run(
            config, out, jobs=jobs, scheduler=scheduler, progress=auto_progress(), rerun=rerun
        ),
        out,
    )
    if result.reused:
        say(
            f"{result.reused} result{'s' if result.reused != 1 else ''} reused from the store "
            f"in {out}; --rerun to recompute",
            err=True,
        )
    data = result.to_dict()
    write_json(Path(out) / "compare.json", data)  # first: kept whatever happens next
    write_json(json_out, data)
    try:
        plotting.save(plotting.compare(result), Path(out) / "compare.png")
    except (OSError, ValueError) as err:
        fail(f"the figure could not be written ({err}); compare.json holds the results", code=1)

    def table() -> None:
        print_table(
            ("slope", "mean", "failed", "verdict against ReLU"),
            (
                (
                    f"{r.slope:g}" + (" (ReLU)" if r.slope == 0 else ""),
                    f"{r.mean:.4g}",
                    str(len(r.failures)),
                    "baseline" if r.slope == 0 else result.sentence(r.slope),
                )
                for r in result.rows
            ),
            title=f"{objective}: {len(config.seeds)} seeds per slope, margin ±{config.margin:g}",
        )

    show(fmt, data, table)
    say("wrote ", styled(Path(out) / "compare.json", "bold"), " and compare.png", err=True)
    if not result.verdicts:
        fail(
            "no slope could be compared with ReLU (too few successful evaluations: see the "
            "failures in compare.json); fix the objective and run the same command again",
            code=1,
        )
