"""The ``leaky`` command. It parses arguments, shows progress and composes; it computes nothing."""

from __future__ import annotations

import statistics
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


def _cwd_on_path() -> None:
    """Let 'module:function' name a module of the working directory, as `python -m` would."""
    import os
    import sys

    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())


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
    from leaky import _validate
    from leaky.lab import plotting

    slopes = slope or [0.01, 0.1, 0.3]
    try:
        for a in slopes:
            _validate.negative_slope(a, "leaky plot --slope")
        path = plotting.save(plotting.function_and_derivative(slopes), out)
    except (ValueError, TypeError) as err:
        _fail(str(err))
    console.print(f"wrote [bold]{path}[/] (slopes {', '.join(f'{a:g}' for a in slopes)})")


def _parse_sizes(text: str) -> list[int]:
    try:
        exponents = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        exponents = []
    if not exponents or any(not 0 <= k <= 30 for k in exponents):
        _fail(f"--sizes takes powers of two as exponents, like 16,20,24,26. Got {text!r}.")
    return [1 << k for k in exponents]


@app.command()
def bench(
    sizes: Annotated[
        str, typer.Option(help="Array sizes as powers of two (exponents), comma-separated.")
    ] = "16,20,24,26",
    dtype: Annotated[
        list[str] | None, typer.Option(help="float32 and/or float64; repeat for both.")
    ] = None,
    budget: Annotated[float, typer.Option(help="Seconds of timing per op and size.")] = 0.25,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write every number to this JSON file.")
    ] = None,
    cold: Annotated[bool, typer.Option(help="Measure import and first-call costs.")] = True,
    crossover: Annotated[
        bool, typer.Option(help="Only time serial against threaded kernels per size.")
    ] = False,
    nn: Annotated[
        bool, typer.Option("--nn", help="Only time the PyTorch layer and the monitor's cost.")
    ] = False,
) -> None:
    """Time leaky against np.copyto, NumPy, PyTorch and JAX, in one process: ratios."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from leaky.lab import bench as bench_mod

    if nn:
        speed = bench_mod.layer_speed()
        console.print(
            f"layer forward+backward on {int(speed['elements'])} float32 elements: leaky "
            f"{speed['leaky'] * 1e3:.3f} ms, torch.nn.LeakyReLU {speed['torch'] * 1e3:.3f} ms, "
            f"ratio {speed['ratio']:.2f} (>= 0.9 is within 10 %)"
        )
        for name, row in bench_mod.monitor_overhead().items():
            console.print(
                f"monitor on a {name} training step: {row['plain'] * 1e3:.2f} ms plain, "
                f"{row['monitored'] * 1e3:.2f} ms monitored, overhead {row['overhead']:+.1%}"
            )
        return
    if crossover:
        table = Table("size", "serial µs", "threaded µs", "threaded speed-up", title="crossover")
        for row in bench_mod.crossover():
            table.add_row(
                f"2^{int(row['size']).bit_length() - 1}",
                f"{row['serial_s'] * 1e6:.1f}",
                f"{row['threaded_s'] * 1e6:.1f}",
                f"{row['threaded_speedup']:.2f}",
            )
        console.print(table)
        return
    dtypes = dtype or list(bench_mod.DTYPES)
    bad = [d for d in dtypes if d not in bench_mod.DTYPES]
    if bad:
        _fail(f"--dtype must be one of {', '.join(bench_mod.DTYPES)}. Got {', '.join(bad)}.")
    size_list = _parse_sizes(sizes)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("benchmark", total=None)
        result = bench_mod.run(
            size_list,
            dtypes,
            budget=budget,
            with_cold_start=cold,
            progress=lambda text: progress.update(task, description=text),
        )
    table = Table(
        "op",
        "dtype",
        "size",
        "method",
        "GB/s",
        "spread",
        "ratio",
        title="leaky vs references (ratio = reference time / leaky time; > 1: leaky faster)",
    )
    for t in result.timings:
        style = "bold" if t.method == "leaky" else None
        table.add_row(
            t.op,
            t.dtype,
            f"2^{t.size.bit_length() - 1}",
            t.method,
            f"{t.gbps:.1f}",
            f"±{t.spread * 50:.0f}%",
            f"{t.ratio:.2f}",
            style=style,
        )
    console.print(table)
    targets = Table("op", "dtype", "size", "reference", "ratio", "target", "met", title="targets")
    for row in result.targets():
        targets.add_row(
            str(row["op"]),
            str(row["dtype"]),
            f"2^{int(row['size']).bit_length() - 1}",
            str(row["reference"]),
            f"{row['ratio']:.2f}",
            f">= {row['target']}",
            "[green]yes[/]" if row["met"] else "[red]no[/]",
        )
    console.print(targets)
    if result.cold_start:
        console.print(
            "cold start: import leaky {import_leaky_s:.3f} s beyond NumPy; first call "
            "{first_call_empty_cache_s:.2f} s with an empty kernel cache, "
            "{first_call_warm_cache_s:.3f} s with a warm one".format(**result.cold_start)
        )
    console.print(f"machine: {result.machine}", highlight=False)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(result.to_json())
        console.print(f"wrote [bold]{json_out}[/]")


@app.command()
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
        _fail(f"--batches must be at least 1. Got {batches}.")
    if tau < 0:
        _fail(f"--tau must be >= 0. Got {tau}.")
    _cwd_on_path()
    try:
        make = _validate.load_object(factory, "factory", "leaky diagnose")
    except ValueError as err:
        _fail(str(err))
    try:
        made = make()
    except Exception as err:  # the user's code: report it in one line
        _fail(f"{factory}() raised {type(err).__name__}: {err}")
    import torch

    from leaky import monitor

    if not (isinstance(made, tuple) and len(made) == 2 and isinstance(made[0], torch.nn.Module)):
        _fail(
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
        _fail(str(err))
    except Exception as err:  # the user's model or data: one line, not a trace
        _fail(f"running the model failed: {type(err).__name__}: {err}")
    console.print(report)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(report.to_json(indent=2))
        console.print(f"wrote [bold]{json_out}[/]")


class _Bars:
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
        self.tasks: dict[str, object] = {}

    def __enter__(self) -> _Bars:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def __call__(self, task: str, done: int, total: int) -> None:
        if task not in self.tasks:
            self.tasks[task] = self.progress.add_task(task, total=total)
        self.progress.update(self.tasks[task], completed=done, total=total)  # type: ignore[arg-type]

    def for_task(self, task: str):
        return lambda done, total: self(task, done, total)


def _check_jobs(jobs: int) -> None:
    if jobs < 1:
        _fail(f"--jobs must be at least 1. Got {jobs}.")


def _write_json(path: Path | None, data: object) -> None:
    if path is None:
        return
    import json

    from leaky.lab.report import json_safe

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(json_safe(data), indent=1))
    console.print(f"wrote [bold]{path}[/]")


_QUICK = typer.Option(help="Tiny settings: seconds instead of minutes.")
_SEED = typer.Option(help="Base seed; the same seed gives the same numbers.")
_JOBS = typer.Option(help="Processes for independent training runs.")
_JSON = typer.Option("--json", help="Also write the numbers to this JSON file.")


@app.command()
def report(
    out: Annotated[Path, typer.Option(help="The report folder.")] = Path("leaky-report"),
    quick: Annotated[bool, _QUICK] = False,
    seed: Annotated[int, _SEED] = 0,
    jobs: Annotated[int, _JOBS] = 1,
) -> None:
    """Run every experiment, judge every claim, write DIR/index.html, results.json, results.md."""
    from rich.table import Table

    from leaky.lab import report as report_mod

    _check_jobs(jobs)
    try:
        report_mod.check_out(out)  # before any experiment runs
    except ValueError as err:
        _fail(str(err))
    with _Bars() as bars:
        path, verdicts = report_mod.build(out, quick=quick, seed=seed, jobs=jobs, progress=bars)
    table = Table("claim", "verdict", "finding", title="Leaky ReLU: the claims, measured")
    colors = {"supported": "green", "not supported": "red", "mixed": "yellow"}
    for v in verdicts:
        table.add_row(v.claim, f"[{colors[v.verdict]}]{v.verdict}[/]", v.finding)
    console.print(table)
    console.print(f"wrote [bold]{path / 'index.html'}[/] (and results.json, results.md)")


@app.command("born-dead")
def born_dead_cmd(
    quick: Annotated[bool, _QUICK] = False,
    seed: Annotated[int, _SEED] = 0,
    json_out: Annotated[Path | None, _JSON] = None,
) -> None:
    """P(a random deep, narrow network is constant over its inputs), ReLU against Leaky."""
    from rich.table import Table

    from leaky.lab.experiments import born_dead
    from leaky.lab.report import plan

    with _Bars() as bars:
        result = born_dead.run(plan(quick, seed).born_dead, progress=bars.for_task("born dead"))
    table = Table("init", "depth", "width", "P(exactly constant) [95 % CI]", "P(nearly)")
    for c in result.cells:
        table.add_row(
            c.init,
            str(c.depth),
            str(c.width),
            f"{c.p_exact:.3f} [{c.ci_exact[0]:.3f}, {c.ci_exact[1]:.3f}]",
            f"{c.p_near:.3f}",
        )
    console.print(table)
    _write_json(json_out, result.to_dict())


@app.command("stress")
def stress_cmd(
    quick: Annotated[bool, _QUICK] = False,
    seed: Annotated[int, _SEED] = 0,
    jobs: Annotated[int, _JOBS] = 1,
    json_out: Annotated[Path | None, _JSON] = None,
) -> None:
    """Train ReLU and Leaky MLPs across learning rates, with and without a bias shock."""
    from rich.table import Table

    from leaky.lab.experiments import stress
    from leaky.lab.report import plan

    _check_jobs(jobs)
    with _Bars() as bars:
        result = stress.run(plan(quick, seed).stress, jobs=jobs, progress=bars.for_task("stress"))
    table = Table("data", "lr", "shock", "activation", "diverged", "test acc", "dead / neg. regime")
    for g in result.groups:
        off = g["final_dead"] if g["slope"] == 0 else g["final_negative_regime"]
        table.add_row(
            g["dataset"],
            f"{g['lr']:g}",
            f"{g['shock']:g}",
            g["activation"],
            f"{g['diverged']}/{g['runs']}",
            f"{g['test_acc_mean']:.3f}",
            f"{g['init_dead_or_negative']:.2f} -> {off:.2f}",
        )
    console.print(table)
    _write_json(json_out, {"config": result.config, "groups": result.groups})


@app.command("slopes")
def slopes_cmd(
    quick: Annotated[bool, _QUICK] = False,
    seed: Annotated[int, _SEED] = 0,
    jobs: Annotated[int, _JOBS] = 1,
    json_out: Annotated[Path | None, _JSON] = None,
) -> None:
    """Test accuracy on digits against the negative slope, over seeds."""
    from rich.table import Table

    from leaky.lab.experiments import slopes
    from leaky.lab.report import plan

    _check_jobs(jobs)
    with _Bars() as bars:
        result = slopes.run(plan(quick, seed).slopes, jobs=jobs, progress=bars.for_task("slopes"))
    table = Table("slope", "runs", "diverged", "test acc mean", "std")
    for r in result["slopes"]:
        table.add_row(
            f"{r['slope']:.4g}",
            str(r["runs"]),
            str(r["diverged"]),
            f"{r['test_acc_mean']:.4f}",
            f"{r['test_acc_std']:.4f}",
        )
    console.print(table)
    _write_json(json_out, result)


@app.command("sparsity")
def sparsity_cmd(
    quick: Annotated[bool, _QUICK] = False,
    seed: Annotated[int, _SEED] = 0,
    jobs: Annotated[int, _JOBS] = 1,
    json_out: Annotated[Path | None, _JSON] = None,
) -> None:
    """Exact zeros, negative regime and zero gradients per slope (gradient flow included)."""
    from rich.table import Table

    from leaky.lab.experiments import sparsity
    from leaky.lab.report import plan

    _check_jobs(jobs)
    with _Bars() as bars:
        result = sparsity.run(
            plan(quick, seed).slopes, jobs=jobs, progress=bars.for_task("sparsity")
        )
    table = Table("slope", "exact zeros", "pre-act <= 0", "zero gradients (init -> final)")
    for r in result["slopes"]:
        table.add_row(
            f"{r['slope']:.4g}",
            f"{r['zero_fraction_final']:.3f}",
            f"{r['nonpositive_fraction_final']:.3f}",
            f"{r['zero_grad_fraction_init']:.3f} -> {r['zero_grad_fraction_final']:.3f}",
        )
    console.print(table)
    _write_json(json_out, result)


def _parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        seeds = []
    if not seeds:
        _fail(f"--seeds takes comma-separated integers, like 0,1,2. Got {text!r}.")
    return seeds


@app.command()
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
    from rich.table import Table

    from leaky import _validate
    from leaky.lab import plotting
    from leaky.lab import tune as tune_mod
    from leaky.lab.experiments.objectives import OBJECTIVES

    if trials < 1:
        _fail(f"--trials must be at least 1. Got {trials}.")
    _check_jobs(jobs)
    seed_list = _parse_seeds(seeds)
    if objective in OBJECTIVES:
        fn = OBJECTIVES[objective]
    elif ":" in objective:
        _cwd_on_path()
        try:
            fn = _validate.load_object(objective, "objective", "leaky tune")
        except ValueError as err:
            _fail(str(err))
    else:
        _fail(
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
        _fail(str(err))
    except KeyboardInterrupt:
        err_console.print(
            f"interrupted: run the same command to resume study {name!r} in {url}",
            highlight=False,
        )
        raise typer.Exit(130) from None
    table = Table("trial", "slope", "mean", "std", "seeds", title=f"study {name!r} ({url})")
    done = sorted(result.complete, key=lambda t: t.value, reverse=direction == "maximize")
    for t in done[:10]:
        std = f"{statistics.stdev(t.values):.4f}" if len(t.values) > 1 else "-"
        label = "ReLU (0)" if t.baseline else f"{t.slope:.4g}"
        table.add_row(str(t.number), label, f"{t.value:.4f}", std, str(len(t.values)))
    console.print(table)
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
    _write_json(out / "tune.json", result.to_dict())
    console.print(f"wrote [bold]{figure}[/]")


def main() -> None:
    """Entry point of the ``leaky`` console script."""
    app()
