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
    result = CliRunner().invoke(app, ["bench", *args])
    assert result.exit_code == 2
    assert message in result.output


def test_cli_crossover_table() -> None:
    result = CliRunner().invoke(app, ["bench", "--crossover"])
    assert result.exit_code == 0 and "threaded speed-up" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--nn", "--crossover"], "--nn and --crossover are two different benchmarks"),
        (["--nn", "--sizes", "8"], "--sizes does not apply to --nn"),
        (["--nn", "--budget", "1"], "--budget does not apply to --nn"),
        (["--nn", "--no-cold"], "--cold/--no-cold does not apply to --nn"),
        (["--crossover", "--cold"], "--cold/--no-cold does not apply to --crossover"),
    ],
)
def test_an_option_a_benchmark_does_not_use_is_refused(
    monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    from leaky.lab import bench

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("measured although an option was refused")

    for name in ("run", "crossover", "layer_speed", "monitor_overhead"):
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


def test_nn_uses_dtype_and_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from leaky.lab import bench

    seen = []

    def layer_speed(dtype: str = "float32") -> dict[str, float]:
        seen.append(dtype)
        return {"leaky": 1e-3, "torch": 1e-3, "ratio": 1.0, "elements": 8.0}

    def monitor_overhead() -> dict[str, dict[str, float]]:
        return {"mlp": {"plain": 1e-3, "monitored": 1.1e-3, "overhead": 0.1}}

    monkeypatch.setattr(bench, "layer_speed", layer_speed)
    monkeypatch.setattr(bench, "monitor_overhead", monitor_overhead)
    out = tmp_path / "nn.json"
    args = ["bench", "--nn", "--dtype", "float64", "--json", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert seen == ["float64"]
    data = json.loads(out.read_text())
    assert data["layer"][0]["dtype"] == "float64" and data["monitor"]["mlp"]["overhead"] == 0.1
