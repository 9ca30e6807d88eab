"""``leaky report`` and the experiments it runs, one command each.

``report`` runs every experiment and writes the report folder; ``born-dead``, ``stress``,
``slopes`` and ``sparsity`` run one experiment with the report's settings
(``leaky.lab.report.plan``), print a table and optionally write the numbers as JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leaky.cli._common import (
    JOBS,
    JSON,
    QUICK,
    SEED,
    Bars,
    check_jobs,
    console,
    fail,
    print_table,
    write_json,
)


def report(
    out: Annotated[Path, typer.Option(help="The report folder.")] = Path("leaky-report"),
    quick: Annotated[bool, QUICK] = False,
    seed: Annotated[int, SEED] = 0,
    jobs: Annotated[int, JOBS] = 1,
) -> None:
    """Run every experiment, judge every claim, write DIR/index.html, results.json, results.md."""
    from leaky.lab import report as report_mod

    check_jobs(jobs)
    try:
        report_mod.check_out(out)  # before any experiment runs
    except ValueError as err:
        fail(err)
    with Bars() as bars:
        path, verdicts = report_mod.build(out, quick=quick, seed=seed, jobs=jobs, progress=bars)
    colors = {"supported": "green", "not supported": "red", "mixed": "yellow"}
    print_table(
        ("claim", "verdict", "finding"),
        ((v.claim, f"[{colors[v.verdict]}]{v.verdict}[/]", v.finding) for v in verdicts),
        title="Leaky ReLU: the claims, measured",
    )
    console.print(f"wrote [bold]{path / 'index.html'}[/] (and results.json, results.md)")


def born_dead(
    quick: Annotated[bool, QUICK] = False,
    seed: Annotated[int, SEED] = 0,
    json_out: Annotated[Path | None, JSON] = None,
) -> None:
    """P(a random deep, narrow network is constant over its inputs), ReLU against Leaky."""
    from leaky.lab.experiments import born_dead as experiment
    from leaky.lab.report import plan

    with Bars() as bars:
        result = experiment.run(plan(quick, seed).born_dead, progress=bars.for_task("born dead"))
    print_table(
        ("init", "depth", "width", "P(exactly constant) [95 % CI]", "P(nearly)"),
        (
            (
                c.init,
                str(c.depth),
                str(c.width),
                f"{c.p_exact:.3f} [{c.ci_exact[0]:.3f}, {c.ci_exact[1]:.3f}]",
                f"{c.p_near:.3f}",
            )
            for c in result.cells
        ),
    )
    write_json(json_out, result.to_dict())


def stress(
    quick: Annotated[bool, QUICK] = False,
    seed: Annotated[int, SEED] = 0,
    jobs: Annotated[int, JOBS] = 1,
    json_out: Annotated[Path | None, JSON] = None,
) -> None:
    """Train ReLU and Leaky MLPs across learning rates, with and without a bias shock."""
    from leaky.lab.experiments import stress as experiment
    from leaky.lab.report import plan

    check_jobs(jobs)
    with Bars() as bars:
        result = experiment.run(
            plan(quick, seed).stress, jobs=jobs, progress=bars.for_task("stress")
        )
    rows = []
    for g in result.groups:
        off = g["final_dead"] if g["slope"] == 0 else g["final_negative_regime"]
        rows.append(
            (
                g["dataset"],
                f"{g['lr']:g}",
                f"{g['shock']:g}",
                g["activation"],
                f"{g['diverged']}/{g['runs']}",
                f"{g['test_acc_mean']:.3f}",
                f"{g['init_dead_or_negative']:.2f} -> {off:.2f}",
            )
        )
    print_table(
        ("data", "lr", "shock", "activation", "diverged", "test acc", "dead / neg. regime"), rows
    )
    write_json(json_out, {"config": result.config, "groups": result.groups})


def slopes(
    quick: Annotated[bool, QUICK] = False,
    seed: Annotated[int, SEED] = 0,
    jobs: Annotated[int, JOBS] = 1,
    json_out: Annotated[Path | None, JSON] = None,
) -> None:
    """Test accuracy on digits against the negative slope, over seeds."""
    from leaky.lab.experiments import slopes as experiment
    from leaky.lab.report import plan

    check_jobs(jobs)
    with Bars() as bars:
        result = experiment.run(
            plan(quick, seed).slopes, jobs=jobs, progress=bars.for_task("slopes")
        )
    print_table(
        ("slope", "runs", "diverged", "test acc mean", "std"),
        (
            (
                f"{r['slope']:.4g}",
                str(r["runs"]),
                str(r["diverged"]),
                f"{r['test_acc_mean']:.4f}",
                f"{r['test_acc_std']:.4f}",
            )
            for r in result["slopes"]
        ),
    )
    write_json(json_out, result)


def sparsity(
    quick: Annotated[bool, QUICK] = False,
    seed: Annotated[int, SEED] = 0,
    jobs: Annotated[int, JOBS] = 1,
    json_out: Annotated[Path | None, JSON] = None,
) -> None:
    """Exact zeros, negative regime and zero gradients per slope (gradient flow included)."""
    from leaky.lab.experiments import sparsity as experiment
    from leaky.lab.report import plan

    check_jobs(jobs)
    with Bars() as bars:
        result = experiment.run(
            plan(quick, seed).slopes, jobs=jobs, progress=bars.for_task("sparsity")
        )
    print_table(
        ("slope", "exact zeros", "pre-act <= 0", "zero gradients (init -> final)"),
        (
            (
                f"{r['slope']:.4g}",
                f"{r['zero_fraction_final']:.3f}",
                f"{r['nonpositive_fraction_final']:.3f}",
                f"{r['zero_grad_fraction_init']:.3f} -> {r['zero_grad_fraction_final']:.3f}",
            )
            for r in result["slopes"]
        ),
    )
    write_json(json_out, result)
