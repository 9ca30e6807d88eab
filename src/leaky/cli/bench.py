"""``leaky bench``: speed as ratios against references timed in the same process.

Three benchmarks: the full one (the default), ``--crossover`` (serial against threaded
kernels) and ``--nn`` (the PyTorch layer and the monitor's cost). An option that a
benchmark does not use is refused, never ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from leaky.cli._common import console, fail, print_table, write_json

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
    sizes: Annotated[
        str | None,
        typer.Option(
            help="Array sizes as powers of two (exponents), comma-separated "
            f"(default {DEFAULT_SIZES}; with --crossover 10 to 21)."
        ),
    ] = None,
    dtype: Annotated[
        list[str] | None, typer.Option(help="float32 and/or float64; repeat for both.")
    ] = None,
    budget: Annotated[
        float | None,
        typer.Option(
            help="Seconds of timing per op and size (default 0.25; with --crossover 0.1)."
        ),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write every number to this JSON file.")
    ] = None,
    cold: Annotated[
        bool | None,
        typer.Option(
            "--cold/--no-cold",
            help="Measure import and first-call costs (default: yes; full benchmark only).",
        ),
    ] = None,
    crossover: Annotated[
        bool, typer.Option(help="Only time serial against threaded kernels per size.")
    ] = False,
    nn: Annotated[
        bool, typer.Option("--nn", help="Only time the PyTorch layer and the monitor's cost.")
    ] = False,
) -> None:
    """Time leaky against np.copyto, NumPy, PyTorch and JAX, in one process: ratios."""
    from leaky.lab import bench as bench_mod

    if nn and crossover:
        fail("--nn and --crossover are two different benchmarks; give one of them.")
    given = {"--sizes": sizes, "--budget": budget, "--cold/--no-cold": cold}
    unused = ("--sizes", "--budget", "--cold/--no-cold") if nn else ("--cold/--no-cold",)
    refused = [name for name in unused if given[name] is not None] if nn or crossover else []
    if refused:
        fail(f"{', '.join(refused)} does not apply to {'--nn' if nn else '--crossover'}.")
    dtypes = dtype or list(bench_mod.DTYPES)
    bad = [d for d in dtypes if d not in bench_mod.DTYPES]
    if bad:
        fail(f"--dtype must be one of {', '.join(bench_mod.DTYPES)}. Got {', '.join(bad)}.")
    size_list = _parse_sizes(sizes) if sizes is not None else None
    if nn:
        _layer_and_monitor(dtypes, json_out)
    elif crossover:
        _crossover(size_list, dtypes, 0.1 if budget is None else budget, json_out)
    else:
        _full(
            size_list or _parse_sizes(DEFAULT_SIZES),
            dtypes,
            0.25 if budget is None else budget,
            True if cold is None else cold,
            json_out,
        )


def _layer_and_monitor(dtypes: list[str], json_out: Path | None) -> None:
    from leaky.lab import bench as bench_mod

    layer = []
    for d in dtypes:
        speed = bench_mod.layer_speed(dtype=d)
        layer.append({"dtype": d, **speed})
        console.print(
            f"layer forward+backward on {int(speed['elements'])} {d} elements: leaky "
            f"{speed['leaky'] * 1e3:.3f} ms, torch.nn.LeakyReLU {speed['torch'] * 1e3:.3f} ms, "
            f"ratio {speed['ratio']:.2f} (>= 0.9 is within 10 %)"
        )
    overhead = bench_mod.monitor_overhead()
    for name, row in overhead.items():
        console.print(
            f"monitor on a {name} training step: {row['plain'] * 1e3:.2f} ms plain, "
            f"{row['monitored'] * 1e3:.2f} ms monitored, overhead {row['overhead']:+.1%}"
        )
    write_json(json_out, {"layer": layer, "monitor": overhead})


def _crossover(
    sizes: list[int] | None, dtypes: list[str], budget: float, json_out: Path | None
) -> None:
    from leaky.lab import bench as bench_mod

    rows = []
    for d in dtypes:
        kwargs = {} if sizes is None else {"sizes": sizes}
        rows += [{"dtype": d, **r} for r in bench_mod.crossover(dtype=d, budget=budget, **kwargs)]
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
        title="crossover",
    )
    write_json(json_out, {"crossover": rows})


def _full(
    sizes: list[int], dtypes: list[str], budget: float, cold: bool, json_out: Path | None
) -> None:
    from dataclasses import asdict

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from leaky.lab import bench as bench_mod

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
                f"[bold]{t.method}[/]" if t.method == "leaky" else t.method,
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
                "[green]yes[/]" if row["met"] else "[red]no[/]",
            )
            for row in result.targets()
        ),
        title="targets",
    )
    if result.cold_start:
        console.print(
            "cold start: import leaky {import_leaky_s:.3f} s beyond NumPy; first call "
            "{first_call_empty_cache_s:.2f} s with an empty kernel cache, "
            "{first_call_warm_cache_s:.3f} s with a warm one".format(**result.cold_start)
        )
    console.print(f"machine: {result.machine}", highlight=False)
    write_json(json_out, asdict(result))
