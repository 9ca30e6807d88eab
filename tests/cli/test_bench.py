"""`leaky bench`: the three benchmarks, their options, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leaky.cli import app


def test_cli_bench_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    args = [
        "bench",
        "--kernels",
        "--sizes",
        "8",
        "--dtype",
        "float32",
        "--budget",
        "0.001",
        "--no-cold",
        "--json",
        str(out),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "targets" in result.output
    assert json.loads(out.read_text())["timings"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sizes", "x"], "--sizes takes powers of two"),
        (["--dtype", "float16"], "--dtype must be one of"),
    ],
)
def test_cli_bench_bad_input(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["bench", "--kernels", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_cli_crossover_table() -> None:
    result = CliRunner().invoke(app, ["bench", "--crossover"])
    assert result.exit_code == 0 and "threaded speed-up" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kernels", "--crossover"], "--kernels and --crossover are different benchmarks"),
        (["--training", "--sizes", "8"], "--sizes does not apply to --training"),
        (["--sizes", "8"], "--sizes does not apply to the suite"),
        (["--dtype", "float32"], "--dtype does not apply to the suite"),
        (["--no-cold"], "--cold/--no-cold does not apply to the suite"),
        (["--kernels", "--runs", "2"], "--runs does not apply to --kernels"),
        (["--crossover", "--check"], "--check does not apply to --crossover"),
        (["--crossover", "--cold"], "--cold/--no-cold does not apply to --crossover"),
        (
            ["--budget", "-1"],
            "'--budget' parameter of leaky bench must be a finite real number > 0",
        ),
        (
            ["--budget", "nan"],
            "'--budget' parameter of leaky bench must be a finite real number > 0",
        ),
        (["--runs", "0"], "'--runs' parameter of leaky bench must be an integer >= 1"),
    ],
)
def test_an_option_a_benchmark_does_not_use_is_refused(
    monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    from leaky.lab import bench

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("measured although an option was refused")

    for name in ("run", "crossover", "suite"):
        monkeypatch.setattr(bench, name, never)
    result = CliRunner().invoke(app, ["bench", *args], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ")
    assert message in " ".join(result.output.split())


def test_crossover_uses_sizes_dtype_budget_and_json(tmp_path: Path) -> None:
    out = tmp_path / "c.json"
    args = ["bench", "--crossover", "--sizes", "8,10", "--dtype", "float64", "--budget", "0.001"]
    result = CliRunner().invoke(app, [*args, "--json", str(out)])
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())["crossover"]
    assert [(r["dtype"], r["size"]) for r in rows] == [("float64", 256), ("float64", 1024)]
    assert "2^8" in result.output and "2^10" in result.output


def test_suite_prints_ratios_writes_json_and_checks_targets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leaky.lab import bench

    def suite(runs: int, **kwargs: object) -> bench.Suite:
        rows = [
            bench.Row("out_16", "leaky_relu(x, out=)", "torch", 0.9, (1.1,) * runs),
            bench.Row("alloc_24", "leaky_relu(x)", "F.leaky_relu", 3.0, (2.0,) * runs),
        ]
        return bench.Suite(rows, runs, {"cpus": 2})

    monkeypatch.setattr(bench, "suite", suite)
    out = tmp_path / "suite.json"
    result = CliRunner().invoke(app, ["bench", "--runs", "3", "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["runs"] == 3 and [r["key"] for r in data["rows"]] == ["out_16", "alloc_24"]
    assert bench.Suite.from_dict(data).rows[1].values == (2.0, 2.0, 2.0)
    checked = CliRunner().invoke(app, ["bench", "--runs", "1", "--check"])
    assert checked.exit_code == 1
    assert "1 row(s) missed their target: alloc_24" in " ".join(checked.output.split())


def test_training_prints_the_batched_speed_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leaky.lab import bench as lab_bench

    real = lab_bench.speedup
    monkeypatch.setattr(
        lab_bench, "speedup", lambda seeds, steps, repeats: real(seeds=2, steps=2, repeats=repeats)
    )
    out = tmp_path / "t.json"
    result = CliRunner().invoke(app, ["bench", "--training", "--runs", "2", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert len(json.loads(out.read_text())["batched_seconds"]) == 2
