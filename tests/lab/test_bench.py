"""The benchmark code runs (tiny sizes, no timing assertions); the full run is `make bench`."""

from __future__ import annotations

import json

import pytest

from leaky.lab import bench


def test_smoke_run_measures_every_method_against_leaky() -> None:
    result = bench.run(
        sizes=[1 << 10], dtypes=["float32", "float64"], budget=0.002, with_cold_start=False
    )
    ops = {t.op for t in result.timings}
    assert ops == set(bench.OPS)
    for t in result.timings:
        assert t.seconds > 0 and t.gbps > 0
        if t.method == "leaky":
            assert t.ratio == 1.0
    methods = {t.method for t in result.timings}
    assert {"np.copyto (1 thread)", "np.copyto (2 threads)", "best copy"} <= methods
    assert {"torch leaky_relu(out=)", "torch F.leaky_relu", "torch F.leaky_relu_"} <= methods
    assert "torch leaky_relu_backward(grad_input=)" in methods
    json.loads(result.to_json())


def test_targets_compare_ratios_with_the_issue_thresholds() -> None:
    timings = [
        bench.Timing("forward_out", "float32", 1 << 16, "torch leaky_relu(out=)", 1, 0, 1, 1.2),
        bench.Timing("inplace", "float32", 1 << 16, "torch F.leaky_relu_", 1, 0, 1, 0.5),
        bench.Timing("forward_out", "float32", 1 << 16, "best copy", 1, 0, 1, 0.1),  # not a size
    ]
    rows = bench.BenchResult(timings=timings).targets()
    assert [(r["reference"], r["met"]) for r in rows] == [
        ("torch leaky_relu(out=)", True),
        ("torch F.leaky_relu_", False),
    ]


def test_cold_start_reports_three_costs() -> None:
    costs = bench.cold_start()
    assert set(costs) == {"import_leaky_s", "first_call_empty_cache_s", "first_call_warm_cache_s"}
    assert all(v > 0 for v in costs.values())


def test_crossover_rows() -> None:
    rows = bench.crossover(sizes=[1 << 8, 1 << 10])
    assert [r["size"] for r in rows] == [256, 1024]
    assert all(r["threaded_speedup"] > 0 for r in rows)


@pytest.mark.bench
def test_full_benchmark() -> None:  # run by `pytest -m bench`, never by `make test`
    result = bench.run()
    assert result.timings


def test_every_suite_row_measures_a_positive_ratio() -> None:
    values = bench.suite_once(budget=0.001, blocks=1)
    assert set(values) == {key for key, *_ in bench.SUITE}
    assert all(v > 0 for v in values.values())


def test_alternate_measures_the_ratio_of_the_two_times() -> None:
    import time

    ratio = bench._alternate(lambda: None, lambda: time.sleep(0.002), calls=3, blocks=4)
    assert ratio > 10  # the reference sleeps, ours does nothing: ours is much faster


def test_suite_rows_summarise_runs_and_render_the_readme_table() -> None:
    row = bench.Row("monitor_mlp", "monitor", "plain", 0.952, (0.90, 0.97, 0.96))
    assert (row.median, row.low, row.high, row.met) == (0.96, 0.90, 0.97, True)
    table = bench.Suite([row], 3).markdown()
    assert "| monitor | plain | **0.96 [0.90-0.97] (overhead +4.2%)** | >= 0.952 |" in table
    missed = bench.Row("alloc_24", "alloc", "F", 3.0, (2.9, 3.5, 2.0))
    assert not missed.met and "| 2.90 [2.00-3.50] |" in bench.Suite([missed], 3).markdown()


def test_markdown_table_and_json_round_trip() -> None:
    result = bench.run(sizes=[1 << 8], dtypes=["float32"], budget=0.001, with_cold_start=False)
    again = bench.BenchResult.from_json(result.to_json())
    assert again.timings == result.timings
    table = again.markdown()
    assert table.splitlines()[0] == "| op | dtype | 2^8 |"
    assert "x torch" in table
