"""Every figure leaky draws (matplotlib, Agg backend, no global pyplot state).

Functions here take plain data and return a ``matplotlib.figure.Figure``; they compute
nothing but what they draw. ``save`` writes PNG or SVG by the file's suffix.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from leaky.functional import leaky_relu, leaky_relu_derivative

if TYPE_CHECKING:
    from leaky.lab.tune import TrialRecord, TuneResult

FORMATS = (".png", ".svg")


def function_and_derivative(
    slopes: Sequence[float] = (0.01, 0.1, 0.3), x_range: tuple[float, float] = (-4.0, 4.0)
) -> Figure:
    """Leaky ReLU and its derivative side by side, one line per slope.

    The derivative panel marks the value at the kink: a filled dot at (0, 1), the value
    leaky uses, and an open dot at (0, a), the one-sided limit from the left.

    Example:
        >>> fig = function_and_derivative([0.1])
        >>> [ax.get_title() for ax in fig.axes]
        ['LeakyReLU(x)', "LeakyReLU'(x)"]
    """
    x = np.linspace(*x_range, 801)
    fig = Figure(figsize=(10, 4), layout="constrained")
    left, right = fig.subplots(1, 2)
    for a in slopes:
        (line,) = left.plot(x, leaky_relu(x, a), label=f"a = {a:g}")
        color = line.get_color()
        neg, pos = x[x < 0], x[x >= 0]
        right.plot(neg, leaky_relu_derivative(neg, a), color=color, label=f"a = {a:g}")
        right.plot(pos, leaky_relu_derivative(pos, a), color=color)
        right.plot([0], [a], "o", mfc="white", color=color)
    right.plot([0], [1], "o", color="black", label="value at 0: 1")
    left.set_title("LeakyReLU(x)")
    right.set_title("LeakyReLU'(x)")
    for ax in (left, right):
        ax.axhline(0, color="0.7", lw=0.8)
        ax.axvline(0, color="0.7", lw=0.8)
        ax.set_xlabel("x")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left")
    right.set_ylim(-0.1, 1.15)
    return fig


def save(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` (``.png`` or ``.svg``), creating parent folders."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(
            f"The figure path must end in one of {', '.join(FORMATS)}. Got {str(path)!r} instead."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150 if path.suffix.lower() == ".png" else None)
    return path


def _slope_label(slope: float) -> str:
    return "ReLU" if slope == 0 else f"{slope:.3g}"


def born_dead(cells: Sequence[dict]) -> Figure:
    """P(network constant at initialisation) against depth, one panel per init, a line per
    width; solid: exactly constant, dashed: nearly constant; bands: 95 % Wilson intervals."""
    inits = list(dict.fromkeys(c["init"] for c in cells))
    cols = min(3, len(inits))
    rows = -(-len(inits) // cols)
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True, sharey=True)).ravel()
    widths = sorted({c["width"] for c in cells})
    colors = {w: f"C{i}" for i, w in enumerate(widths)}
    for ax, init in zip(axes, inits, strict=False):
        for w in widths:
            sel = sorted(
                (c for c in cells if c["init"] == init and c["width"] == w),
                key=lambda c: c["depth"],
            )
            depth = [c["depth"] for c in sel]
            ax.plot(
                depth, [c["p_exact"] for c in sel], "-o", ms=3, color=colors[w], label=f"width {w}"
            )
            ax.fill_between(
                depth,
                [c["ci_exact"][0] for c in sel],
                [c["ci_exact"][1] for c in sel],
                color=colors[w],
                alpha=0.15,
            )
            ax.plot(depth, [c["p_near"] for c in sel], "--", color=colors[w], lw=1)
        ax.set_title(init, fontsize=10)
        ax.set_ylim(-0.03, 1.03)
        ax.grid(alpha=0.3)
    for ax in axes[len(inits) :]:
        ax.set_visible(False)
    for ax in axes[::cols]:
        ax.set_ylabel("P(constant network)")
    for ax in axes[-cols:]:
        ax.set_xlabel("depth (hidden layers)")
    axes[0].legend(fontsize=8)
    fig.suptitle("Born dead: networks constant over their inputs at initialisation")
    return fig


def stress(groups: Sequence[dict]) -> Figure:
    """Under stress: test accuracy against learning rate (with and without the shock), and
    the dead / negative-regime fraction per epoch after the shock."""
    datasets = list(dict.fromkeys(g["dataset"] for g in groups))
    shocks = sorted({g["shock"] for g in groups})
    fig = Figure(figsize=(5.0 * (len(shocks) + 1), 3.4 * len(datasets)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(datasets), len(shocks) + 1, squeeze=False))
    slopes = sorted({g["slope"] for g in groups})
    colors = {s: f"C{i}" for i, s in enumerate(slopes)}
    for row, dataset in zip(axes, datasets, strict=True):
        for ax, shock in zip(row, shocks, strict=False):
            for s in slopes:
                sel = sorted(
                    (
                        g
                        for g in groups
                        if g["dataset"] == dataset and g["shock"] == shock and g["slope"] == s
                    ),
                    key=lambda g: g["lr"],
                )
                lrs = [g["lr"] for g in sel]
                ax.errorbar(
                    lrs,
                    [g["test_acc_mean"] for g in sel],
                    yerr=[g["test_acc_std"] for g in sel],
                    marker="o",
                    ms=3,
                    capsize=2,
                    color=colors[s],
                    label=_slope_label(s),
                )
                for g in sel:
                    if g["diverged"]:
                        ax.annotate(
                            f"{g['diverged']}/{g['runs']} div.",
                            (g["lr"], 0.02),
                            color=colors[s],
                            fontsize=7,
                            rotation=90,
                        )
            ax.set_xscale("log")
            ax.set_ylim(0, 1.02)
            ax.set_xlabel("learning rate")
            ax.set_ylabel("final test accuracy")
            ax.set_title(f"{dataset}, bias shock {shock:g}", fontsize=10)
            ax.grid(alpha=0.3)
        ax = row[-1]
        shocked = [g for g in groups if g["dataset"] == dataset and g["shock"] == max(shocks)]
        lr = sorted({g["lr"] for g in shocked})[len({g["lr"] for g in shocked}) // 2]
        for g in (g for g in shocked if g["lr"] == lr):
            curve = [
                d + n
                for d, n in zip(
                    g["curves"]["dead_fraction"],
                    g["curves"]["negative_regime_fraction"],
                    strict=True,
                )
            ]
            style = "-" if g["slope"] == 0 else "--"
            what = "dead" if g["slope"] == 0 else "negative regime"
            ax.plot(
                range(len(curve)),
                curve,
                style,
                marker="o",
                ms=3,
                color=colors[g["slope"]],
                label=f"{_slope_label(g['slope'])}: {what}",
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel("fraction of hidden units")
        ax.set_title(f"{dataset}, after the shock (lr {lr:g})", fontsize=10)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0][0].legend(title="slope", fontsize=8)
    fig.suptitle("Training under stress: ReLU against Leaky ReLU")
    return fig


def sparsity_and_gradients(rows: Sequence[dict]) -> Figure:
    """Per slope: exactly-zero outputs, pre-activations <= 0, and exactly-zero gradients."""
    labels = [_slope_label(r["slope"]) for r in rows]
    x = np.arange(len(rows))
    fig = Figure(figsize=(11, 3.6), layout="constrained")
    left, right = fig.subplots(1, 2)
    for offset, key, name in (
        (-0.2, "zero_fraction_final", "outputs exactly 0"),
        (0.2, "nonpositive_fraction_final", "pre-activations <= 0"),
    ):
        left.bar(x + offset, [r[key] for r in rows], width=0.4, label=name)
    left.set_title("Sparsity after training")
    for offset, when in ((-0.2, "init"), (0.2, "final")):
        right.bar(
            x + offset,
            [r[f"zero_grad_fraction_{when}"] for r in rows],
            width=0.4,
            label="at initialisation" if when == "init" else "after training",
        )
    right.set_title("Gradients reaching the activations that are exactly 0")
    for ax in (left, right):
        ax.set_xticks(x, labels)
        ax.set_xlabel("negative slope")
        ax.set_ylabel("fraction")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize=8)
    return fig


def slope_sweep(rows: Sequence[dict]) -> Figure:
    """Final test accuracy against the slope: every seed, and the mean with its std."""
    fig = Figure(figsize=(6.5, 3.8), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(rows))
    for i, r in enumerate(rows):
        ax.plot([i] * len(r["test_acc"]), r["test_acc"], ".", color="0.6")
    ax.errorbar(
        x,
        [r["test_acc_mean"] for r in rows],
        yerr=[r["test_acc_std"] for r in rows],
        fmt="o-",
        capsize=3,
        label="mean ± std over seeds",
    )
    ax.set_xticks(x, [_slope_label(r["slope"]) for r in rows])
    ax.set_xlabel("negative slope")
    ax.set_ylabel("final test accuracy")
    ax.set_title("Slope sweep (digits)")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def plain(text: object) -> str:
    r"""``text`` as matplotlib should print it: a ``$`` is a dollar sign, never mathtext.

    Example:
        >>> print(plain("cost $a$"))
        cost \$a\$
    """
    return str(text).replace("$", r"\$")


def tune(result: TuneResult) -> Figure:
    """The study: every complete trial's mean over seeds (with its 95 % t interval) against
    the slope, the ReLU baseline as a line with its interval, the best slope starred, the
    failed trials marked along the bottom, and the paired comparison's finding below.

    Strings that come from the user (the study name) are printed as they are (``plain``).
    """
    import textwrap

    tuned = [t for t in result.complete if not t.baseline and t.slope is not None]
    failed = [t for t in result.trials if t.fail_reason and t.slope]

    def xs(trials: Sequence[TrialRecord]) -> list[float]:
        return [float(t.slope or 0.0) for t in trials]

    def ys(trials: Sequence[TrialRecord]) -> list[float]:
        return [float(t.value or 0.0) for t in trials]

    fig = Figure(figsize=(7.0, 4.6), layout="constrained")
    ax = fig.subplots()
    with_ci = [t for t in tuned if t.ci_low is not None and t.ci_high is not None]
    if with_ci:
        ax.errorbar(
            xs(with_ci),
            ys(with_ci),
            yerr=[
                [y - float(t.ci_low or 0.0) for t, y in zip(with_ci, ys(with_ci), strict=True)],
                [float(t.ci_high or 0.0) - y for t, y in zip(with_ci, ys(with_ci), strict=True)],
            ],
            fmt="o",
            ms=4,
            capsize=2,
            color="C0",
            label=f"trials: mean, 95 % interval over {len(with_ci[0].values)} seeds",
        )
    alone = [t for t in tuned if t not in with_ci]
    if alone:
        ax.plot(
            xs(alone),
            ys(alone),
            "o",
            ms=4,
            color="C0",
            label="trials (one seed: no interval)",
        )
    relu = result.relu
    if relu is not None and relu.value is not None:
        band = "" if relu.ci_low is None else f" [{relu.ci_low:.4g}, {relu.ci_high:.4g}]"
        ax.axhline(relu.value, color="C3", lw=1.2, label=f"ReLU (slope 0): {relu.value:.4g}{band}")
        if relu.ci_low is not None and relu.ci_high is not None:
            ax.axhspan(relu.ci_low, relu.ci_high, color="C3", alpha=0.15)
    best = result.best
    if best is not None and best.slope is not None:
        ax.plot(
            xs([best]),
            ys([best]),
            "*",
            ms=15,
            color="C2",
            zorder=3,
            label=f"best slope {best.slope:.3g}: {best.value:.4g}",
        )
    if failed:
        ax.plot(
            xs(failed),
            [0.02] * len(failed),
            "x",
            color="0.3",
            transform=ax.get_xaxis_transform(),
            label=f"failed trials ({len(failed)}), at their slope",
        )
    ax.set_xscale("log")
    better = "higher" if result.direction == "maximize" else "lower"
    ax.set_xlabel("negative slope (log scale)", fontsize=10)
    ax.set_ylabel(f"objective, mean over seeds ({better} is better)", fontsize=10)
    ax.tick_params(labelsize=9)
    ax.set_title(plain(f"Slope tuning: study {result.study_name!r}"), fontsize=11)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=9, loc="best")
    fig.supxlabel(plain(textwrap.fill(result.summary, 100)), fontsize=9, ha="center")
    return fig
