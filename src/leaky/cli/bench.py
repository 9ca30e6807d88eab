"""``leaky bench``: speed as ratios against references timed in the same process.

Three benchmarks: the suite (the default: what users feel — training steps, the layer,
the monitor, NumPy calls against PyTorch's, each over several runs), ``--kernels`` (every
NumPy op, dtype and size against copies, NumPy, PyTorch and JAX) and ``--crossover``
(serial against threaded loops). An option that a benchmark does not use is refused,
never ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from leaky.cli._common import console, fail, print_table, say, styled, write_json

DEFAULT_SIZES = "16,20,24,26"


def _parse_sizes(text: str) -> list[int]:
    try:
        exponents = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        exponents = []
    if not exponents or any(not 0 <= k <= 30 for k in exponents):
        fail(f"--sizes takes powers of two as exponents, like 16,20,24,26. Got {text!r}.")
    return [1 << k for k in exponents]


def _power(size: Any) -> str:
    return f"2^{int(size).bit_length() - 1}"


def bench(
    kernels: Annotated[
        bool, typer.Option("--kernels", help="Every NumPy op, dtype and size instead of the suite.")
    ] = False,
    crossover: Annotated[
        bool, typer.Option(help="Only time serial against threaded loops per size.")
    ] = False,
    training: Annotated[
        bool,
        typer.Option(
            "--training",
            help="Only time 10 seeds of the MNIST-1D MLP trained as one batched model "
            "against one after another.",
        ),
    ] = False,
    runs: Annotated[
        int | None,
        typer.Option(help="Runs of the suite, each in a fresh process (default 5)."),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Exit with status 1 if a row misses its target.")
    ] = False,
    sizes: Annotated[
        str | None,
        typer.Option(
            help="Array sizes as powers of two (exponents), comma-separated "
            f"(--kernels: default {DEFAULT_SIZES}; --crossover: 10 to 21)."
        ),
    ] = None,
    dtype: Annotated[
        list[str] | None,
        typer.Option(help="float32 and/or float64; repeat for both (--kernels, --crossover)."),
    ] = None,
    budget: Annotated[
        float | None,
        typer.Option(
            help="Seconds of timing per block (suite, default 0.05), per op and size "
            "(--kernels, default 0.25) or per size (--crossover, default 0.1)."
        ),
    ] = None,
    cold: Annotated[
        bool | None,
        typer.Option(
            "--cold/--no-cold",
            help="Measure import and first-call costs (--kernels only; default: yes).",
        ),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write every number to this JSON file.")
    ] = None,
) -> None:
    """Time leaky against PyTorch, NumPy, copies and JAX in one process: ratios."""
    from leaky import _validate
    from leaky.lab import _checks
    from leaky.lab import bench as bench_mod

    chosen = [
        name
        for name, on in (
            ("--kernels", kernels),
            ("--crossover", crossover),
            ("--training", training),
        )
        if on
    ]
    if len(chosen) > 1:
        fail(f"{' and '.join(chosen)} are different benchmarks; give one of them.")
    which = chosen[0] if chosen else "the suite"
    given = {"--runs": runs, "--check": check or None, "--sizes": sizes, "--dtype": dtype}
    given |= {"--cold/--no-cold": cold}
    applies = {
        "the suite": ("--runs", "--check"),
        "--kernels": ("--sizes", "--dtype", "--cold/--no-cold"),
        "--crossover": ("--sizes", "--dtype"),
        "--training": ("--runs",),
    }[which]
    refused = [name for name, value in given.items() if value is not None and name not in applies]
    if refused:
        fail(f"{', '.join(refused)} does not apply to {which}.")
    try:
        if budget is not None:
            _validate.positive_real(budget, "--budget", "leaky bench")
        if runs is not None:
            _checks.positive_int(runs, "--runs", "leaky bench")
    except (TypeError, ValueError) as err:
        fail(err)
    dtypes = dtype or list(bench_mod.DTYPES)
    bad = [d for d in dtypes if d not in bench_mod.DTYPES]
    if bad:
        fail(f"--dtype must be one of {', '.join(bench_mod.DTYPES)}. Got {', '.join(bad)}.")
    size_list = _parse_sizes(sizes) if sizes is not None else None
    if training:
        if budget is not None:
            fail("--budget does not apply to --training.")
        _training(5 if runs is None else runs, json_out)
    elif crossover:
        _crossover(size_list, dtypes, 0.1 if budget is None else budget, json_out)
    elif kernels:
        _full(
            size_list or _parse_sizes(DEFAULT_SIZES),
            dtypes,
            0.25 if budget is None else budget,
            True if cold is None else cold,
            json_out,
        )
    else:
        _suite(5 if runs is None else runs, 0.05 if budget is None else budget, check, json_out)


def _cpu() -> str:
    """The header line that says which machine the numbers come from."""
    from leaky.lab import bench as bench_mod

    info = bench_mod.machine()
    return f"{info['processor']}, {info['cpus']} CPUs"


def _kib(n: int) -> str:
    return "unknown" if not n or n >= 1 << 60 else f"{n // 1024:,} KiB"


def _suite(runs: int, budget: float, check: bool, json_out: Path | None) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from leaky.lab import bench as bench_mod

    say(f"machine: {_cpu()}")
    with Progress(
        TextColumn("runs"), BarColumn(), MofNCompleteColumn(), console=console
    ) as progress:
        task = progress.add_task("runs", total=runs)
        result = bench_mod.suite(
            runs, budget=budget, progress=lambda done, total: progress.update(task, completed=done)
        )
    print_table(
        ("what", "against", "median", "range", "target", "met"),
        (
            (
                r.what,
                r.reference,
                f"{r.median:.2f}",
                f"{r.low:.2f}-{r.high:.2f}",
                f">= {r.target:g}",
                styled("yes", "green") if r.met else styled("no", "red"),
            )
            for r in result.rows
        ),
        title=f"speed ratio (> 1: leaky faster; monitor: plain / monitored) over {runs} runs "
        f"on {_cpu()}",
    )
    say(f"machine: {result.machine}")
    write_json(json_out, result.to_dict())
    missed = [r.key for r in result.rows if not r.met]
    if check and missed:
        fail(f"{len(missed)} row(s) missed their target: {', '.join(missed)}", code=1)


def _training(runs: int, json_out: Path | None) -> None:
    from leaky.lab import bench as bench_mod

    result = bench_mod.speedup(seeds=10, steps=300, repeats=runs)
    ratios, cpu = result.ratios, result.cpu_ratios
    print_table(
        ("seeds", "steps", "batched s", "one after another s", "speed-up (wall)", "speed-up (CPU)"),
        (
            (
                "10",
                "300",
                f"{b:.2f}",
                f"{q:.2f}",
                f"{r:.2f}",
                f"{c:.2f}",
            )
            for b, q, r, c in zip(
                result.batched_seconds, result.sequential_seconds, ratios, cpu, strict=True
            )
        ),
        title="MNIST-1D MLP, 10 seeds: one batched model against one run per seed",
    )
    write_json(json_out, result.to_dict())


def _crossover(
    sizes: list[int] | None, dtypes: list[str], budget: float, json_out: Path | None
) -> None:
    from leaky.lab import bench as bench_mod

    say(f"machine: {_cpu()}")
    # One row per dtype and size: the dtype's name, then the lab's numbers.
    rows: list[dict[str, Any]] = []
    streaming: list[dict[str, Any]] = []
    for d in dtypes:
        kwargs = {} if sizes is None else {"sizes": sizes}
        rows += [{"dtype": d, **r} for r in bench_mod.crossover(dtype=d, budget=budget, **kwargs)]
        streaming += [{"dtype": d, **r} for r in bench_mod.stream_crossover(dtype=d, budget=budget)]
    print_table(
        ("dtype", "size", "serial µs", "threaded µs", "threaded speed-up"),
        (
            (
                str(r["dtype"]),
                _power(r["size"]),
                f"{r['serial_s'] * 1e6:.1f}",
                f"{r['threaded_s'] * 1e6:.1f}",
                f"{r['threaded_speedup']:.2f}",
            )
            for r in rows
        ),
        title="crossover: threads (forward, one array in, one out)",
    )
    print_table(
        ("dtype", "size", "MiB per array", "plain stores ms", "streamed ms", "streamed speed-up"),
        (
            (
                str(r["dtype"]),
                f"{r['size']:,}",
                f"{r['bytes'] / (1 << 20):g}",
                f"{r['plain_s'] * 1e3:.2f}",
                f"{r['streamed_s'] * 1e3:.2f}",
                f"{r['streamed_speedup']:.2f}",
            )
            for r in streaming
        ),
        title="crossover: streaming stores (threaded backward, two arrays in, one out)",
    )
    limits = bench_mod.thresholds()
    for d in dtypes:
        itemsize = 4 if d == "float32" else 8
        threads = bench_mod.pays_from([r for r in rows if r["dtype"] == d], "threaded_speedup")
        stream = bench_mod.pays_from([r for r in streaming if r["dtype"] == d], "streamed_speedup")
        say(
            f"{d}: threads paid from {_kib(threads * itemsize) if threads else 'no size here'} "
            f"(LEAKY_PARALLEL_MIN_BYTES: {_kib(limits['parallel_min_bytes'])}); streaming "
            f"stores paid from {_kib(stream * itemsize) if stream else 'no size here'} "
            f"(LEAKY_STREAM_MIN_BYTES: {_kib(limits['stream_min_bytes'])}, the last-level "
            f"cache: {_kib(limits['last_level_cache_bytes'])})"
        )
    write_json(json_out, {"crossover": rows, "streaming": streaming, "thresholds": limits})


def _full(
    sizes: list[int], dtypes: list[str], budget: float, cold: bool, json_out: Path | None
) -> None:
    from dataclasses import asdict

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from leaky.lab import bench as bench_mod

    say(f"machine: {_cpu()}")
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("benchmark", total=None)
        result = bench_mod.run(
            sizes,
            dtypes,
            budget=budget,
            with_cold_start=cold,
            progress=lambda text: progress.update(task, description=text),
        )
    print_table(
        ("op", "dtype", "size", "method", "GB/s", "spread", "ratio"),
        (
            (
                t.op,
                t.dtype,
                _power(t.size),
                styled(t.method, "bold") if t.method == "leaky" else t.method,
                f"{t.gbps:.1f}",
                f"±{t.spread * 50:.0f}%",
                f"{t.ratio:.2f}",
            )
            for t in result.timings
        ),
        title="leaky vs references (ratio = reference time / leaky time; > 1: leaky faster)",
    )
    print_table(
        ("op", "dtype", "size", "reference", "ratio", "target", "met"),
        (
            (
                str(row["op"]),
                str(row["dtype"]),
                _power(row["size"]),
                str(row["reference"]),
                f"{row['ratio']:.2f}",
                f">= {row['target']}",
                styled("yes", "green") if row["met"] else styled("no", "red"),
            )
            for row in result.targets()
        ),
        title="targets",
    )
    if result.cold_start:
        say(
            "cold start: import leaky {import_leaky_s:.3f} s beyond NumPy; first call "
            "{first_call_empty_cache_s:.2f} s with an empty kernel cache, "
            "{first_call_warm_cache_s:.3f} s with a warm one".format(**result.cold_start)
        )
    say(f"machine: {result.machine}")
    write_json(json_out, asdict(result))
