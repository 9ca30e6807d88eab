"""The evidence report's figures: they draw the summaries, they compute nothing else.

Each function takes an experiment's ``Result`` and returns ``(Figure, alt)``: the figure and
one sentence that states what it shows, built from the same numbers (the page's alt text
and caption). Every run is drawn: failed runs appear as their own markers or counts, never
silently dropped; every mean carries its 95 % interval; slopes sit on a numeric (symlog)
axis with 0 (ReLU) on it; labels are at least 9 points at the width the page shows them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from leaky.lab import plotting
from leaky.lab.experiments import born_dead, dying, gradients, slopes, stability
from leaky.lab.models import activation_label

FORMATS = plotting.FORMATS
save = plotting.save

SECTIONS: tuple[tuple[str, str, str], ...] = (
    (
        "leaky_relu",
        "The function",
        "Leaky ReLU and its derivative for slopes 0.01, 0.1 and 0.3; "
        "the filled dot is the derivative's value at 0 that leaky uses (1), the open dots the left "
        "limits (the slope).",
    ),
    (
        born_dead.NAME,
        born_dead.TITLE,
        "Top: probability that a randomly initialised network is nearly constant over its "
        "inputs, against depth (95 % Wilson bands). Bottom: the share of networks left "
        "untrainable (R² < 0.1 on the target) after each budget of Adam steps, one panel "
        "per width and depth trained (95 % Wilson intervals).",
    ),
    (
        dying.NAME,
        dying.TITLE,
        "Top: of the hidden units near-dead (positive on < 1 % of the training "
        "inputs) at the checkpoint, the share active again at the end (recovery, claim 2b's "
        "measure). Bottom: the test accuracy lost when the units near-dead at the end are "
        "zeroed (their contribution). Per seed (dots), mean with its 95 % interval.",
    ),
    (
        "sparsity",
        "Sparse activation (claim 3b)",
        "Outputs near zero after training on MNIST-1D against the cut-off (a fraction of the "
        "layer's mean |h|; the dashed line is the cut-off judged, below the smallest slope), "
        "Hoyer sparsity against the slope (per seed, mean and 95 % interval), and the test "
        "accuracy lost when the trained network's negative outputs are zeroed.",
    ),
    (
        stability.NAME,
        stability.TITLE,
        "Test accuracy against the learning rate per arm (mean and 95 % interval; a diverged "
        "run at chance, every other run at its own accuracy) with the linear floor, and below "
        "the share of runs that failed (diverged, or validation accuracy below the floor) and "
        "that spiked (final training loss above the initial: not a failure).",
    ),
    (
        slopes.NAME,
        slopes.TITLE,
        "Left: test accuracy on MNIST-1D against the slope, on the confirmation "
        "seeds (each slope at its chosen learning rate, read at its best validation step): "
        "each seed (grey), the mean with its 95 % interval, ReLU's mean (dashed), the slope "
        "chosen on the selection seeds (star). Right: the learning-rate grid, mean validation "
        "accuracy on the selection seeds per slope (the chosen rate circled).",
    ),
)
SECTIONS += (
    (
        gradients.NAME,
        gradients.TITLE,
        "The gradient norm of each layer's weights relative to the last hidden layer's, at "
        "initialisation, against the layer, per activation (He initialisation; tanh and "
        "sigmoid with PyTorch's default as the controls that vanish); at the right, the "
        "first-to-last ratio per activation at the deepest depth, per seed and mean.",
    ),
)
CLAIMS_OF = {
    born_dead.NAME: ("2a",),
    dying.NAME: ("2b",),
    "sparsity": ("3b",),
    stability.NAME: ("4",),
    slopes.NAME: ("5",),
    gradients.NAME: ("6",),
}
FONT = 10


def _style(fig: Figure) -> None:
    for ax in fig.axes:
        ax.tick_params(labelsize=FONT)
        ax.xaxis.label.set_fontsize(FONT + 1)
        ax.yaxis.label.set_fontsize(FONT + 1)
        ax.title.set_fontsize(FONT + 1)
        ax.grid(alpha=0.3)


def _ci(values: Sequence[float] | np.ndarray) -> tuple[float, float, float]:
    """The mean of the finite values and its 95 % t-interval (``stats.mean_interval``)."""
    from leaky.lab.stats import mean_interval

    v = np.asarray(values, dtype=float)
    r = mean_interval(v[np.isfinite(v)])
    return r.mean, r.low, r.high


def _log_ticks(ax: Any, values: Sequence[float], axis: str = "x") -> None:
    """A log axis labelled with the grid's own values as plain numbers."""
    from matplotlib.ticker import FixedLocator, NullLocator

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(FixedLocator(sorted(set(values))))
    target.set_minor_locator(NullLocator())
    target.set_major_formatter(lambda v, _: f"{v:g}")


def _colors(keys: Sequence[Any]) -> dict[Any, str]:
    return {k: f"C{i}" for i, k in enumerate(keys)}


# --- born dead ------------------------------------------------------------------------------


def born_dead_figure(result: born_dead.Result) -> tuple[Figure, str]:
    """Top: nearly constant at initialisation against depth, per width. Bottom: untrainable
    after each training budget, per width x trained depth (one panel per stratum)."""
    widths = result.config.widths
    strata = sorted({(t.width, t.depth) for t in result.trained})
    cols = max(len(widths), len(strata), 1)
    arms = [a.label for a in result.config.arms]
    colors = _colors(arms)
    rows = 2 if strata else 1
    fig = Figure(figsize=(3.6 * cols, 3.6 * rows), layout="constrained")
    axes = np.atleast_2d(fig.subplots(rows, cols, squeeze=False))
    for ax, width in zip(axes[0], widths, strict=False):
        for label in arms:
            pts = sorted(
                (p for p in result.points if p.arm == label and p.width == width),
                key=lambda p: p.depth,
            )
            if not pts:
                continue
            d = [p.depth for p in pts]
            ax.plot(d, [p.near.estimate for p in pts], "-o", ms=3, color=colors[label], label=label)
            ax.fill_between(
                d,
                [p.near.ci_low for p in pts],
                [p.near.ci_high for p in pts],
                color=colors[label],
                alpha=0.15,
            )
        ax.set_xscale("log")
        _log_ticks(ax, result.config.depths)
        ax.set_title(f"at initialisation, width {width}")
        ax.set_xlabel("depth (hidden layers)")
        ax.set_ylim(-0.03, 1.03)
    axes[0][0].set_ylabel("P(nearly constant)")
    axes[0][0].legend(fontsize=FONT - 2, loc="upper left")
    for ax in axes[0][len(widths) :]:
        ax.set_visible(False)
    budgets = result.config.budgets
    if strata:
        for ax, (width, depth) in zip(axes[1], strata, strict=False):
            for label in arms:
                t = result.strata(label).get((width, depth))
                if t is None:
                    continue
                rates = [t.rate(i) for i in range(len(budgets))]
                ax.errorbar(
                    budgets,
                    [r.estimate for r in rates],
                    yerr=[
                        [r.estimate - r.ci_low for r in rates],
                        [r.ci_high - r.estimate for r in rates],
                    ],
                    fmt="-s",
                    ms=3,
                    capsize=2,
                    color=colors[label],
                )
            ax.set_xscale("log")
            _log_ticks(ax, budgets)
            ax.set_title(f"trained, width {width}, depth {depth}")
            ax.set_xlabel("Adam steps")
            ax.set_ylim(-0.03, 1.03)
        axes[1][0].set_ylabel(f"P(untrainable: R² < {born_dead.TRAINABLE_R2:g})")
        for ax in axes[1][len(strata) :]:
            ax.set_visible(False)
    _style(fig)
    relu, leaky = born_dead.RELU, born_dead.PRIMARY
    fr, nr = result.pooled_untrainable(relu) if strata else (0, 0)
    fl, nl = result.pooled_untrainable(leaky) if strata else (0, 0)
    deepest = max(result.config.depths)
    near = {
        lab: max(
            (p.near.estimate for p in result.points if p.arm == lab and p.depth == deepest),
            default=math.nan,
        )
        for lab in (relu, leaky)
    }
    alt = (
        f"At depth {deepest}, up to {near[relu]:.0%} of {relu} networks and {near[leaky]:.0%} of "
        f"{leaky} networks are nearly constant at initialisation; untrainable after "
        f"{budgets[-1]} Adam steps, summed over the trained strata: {relu} {fr}/{nr}, "
        f"{leaky} {fl}/{nl}."
    )
    return fig, alt


# --- dying -------------------------------------------------------------------------------------


def dying_figure(result: dying.Result) -> tuple[Figure, str]:
    settings = [s.name for s in result.config.settings]
    arms = list(result.config.arms)
    labels = [activation_label(a) for a in arms]
    fig = Figure(figsize=(4.6 * len(settings), 6.6), layout="constrained")
    axes = np.atleast_2d(fig.subplots(2, len(settings), squeeze=False))
    rng = np.random.default_rng(0)
    rows = (("recovered", "C2", "near-dead units back (%)"), ("ablation_loss", "C3", None))
    for col, s in enumerate(settings):
        for row, (key, color, _) in enumerate(rows):
            ax = axes[row][col]
            for i, a in enumerate(arms):
                arm = result.arm(s, a)
                values = np.asarray(getattr(arm, key), dtype=float)
                if arm.error or not np.isfinite(values).any():
                    ax.text(
                        i,
                        0.5,
                        "not measured",
                        ha="center",
                        rotation=90,
                        fontsize=FONT - 1,
                        transform=ax.get_xaxis_transform(),
                    )
                    continue
                values = values[np.isfinite(values)]
                ax.plot(
                    i + rng.uniform(-0.08, 0.08, len(values)), values, ".", color="0.55", alpha=0.6
                )
                m, lo, hi = _ci(values)
                ax.errorbar(
                    [i],
                    [m],
                    yerr=[[m - lo], [hi - m]] if math.isfinite(lo) else None,
                    fmt="o",
                    color=color,
                    capsize=3,
                )
            ax.set_xticks(range(len(arms)), labels, rotation=20, ha="right")
        axes[0][col].set_title(s, fontsize=FONT)
        axes[0][col].set_ylim(-3, 103)
        axes[1][col].axhline(0, color="0.7", lw=0.8)
    axes[0][0].set_ylabel("near-dead units back by the end (%)")
    axes[1][0].set_ylabel("test accuracy lost when the\nnear-dead units are zeroed (points)")
    _style(fig)
    parts = []
    for s in settings:
        relu = result.arm(s, 0.0)
        leaky = result.arm(s, 0.01) if 0.01 in arms else None
        if leaky is not None and not (relu.error or leaky.error):
            parts.append(
                f"{s}: {relu.mean('recovered'):.0f} % of near-dead units back under ReLU, "
                f"{leaky.mean('recovered'):.0f} % under Leaky 0.01"
            )
    return fig, "; ".join(parts) + "."


# --- slopes and sparsity -----------------------------------------------------------------------


def _slope_axis(ax: Any) -> None:
    ax.set_xscale("symlog", linthresh=0.01, linscale=0.5)
    ticks = [0, 0.01, 0.05, 0.1, 0.2, 0.3, 1.0]
    ax.set_xticks(ticks, ["0\n(ReLU)", "0.01", "0.05", "0.1", "0.2", "0.3", "1\n(identity)"])
    ax.set_xlabel("negative slope")


def _per_slope(ax: Any, result: slopes.Result, model: str, key: str, color: str) -> None:
    xs, means, lows, highs = [], [], [], []
    rng = np.random.default_rng(1)
    for a in result.config.arms_of(model):
        if a == "gelu":
            continue
        arm = result.arm(model, a)
        values = np.asarray(getattr(arm, key), dtype=float)
        if arm.error or not len(values):
            continue
        x = float(a)
        ax.plot(
            x * np.exp(rng.uniform(-0.05, 0.05, len(values)))
            if x
            else rng.uniform(-0.001, 0.001, len(values)),
            values,
            ".",
            color="0.6",
            alpha=0.7,
        )
        m, lo, hi = _ci(values)
        xs.append(x)
        means.append(m)
        lows.append(lo)
        highs.append(hi)
    mean, low, high = np.array(means), np.array(lows), np.array(highs)
    ax.errorbar(
        xs,
        mean,
        yerr=[np.nan_to_num(mean - low), np.nan_to_num(high - mean)],
        fmt="o-",
        color=color,
        capsize=3,
        label=model,
    )
    if "gelu" in result.config.arms_of(model):
        arm = result.arm(model, "gelu")
        gm, _, _ = _ci(getattr(arm, key))
        ax.axhline(gm, color=color, ls=":", lw=1, label=f"GELU ({model})")


def sparsity_figure(result: slopes.Result) -> tuple[Figure, str]:
    """Near-zero outputs against the cut-off (per arm), Hoyer sparsity against the slope, and
    the accuracy lost when the negative outputs are zeroed."""
    from leaky.lab.batched import NEAR_ZERO_CURVE

    fig = Figure(figsize=(15, 4.2), layout="constrained")
    curve_ax, hoyer_ax, ablation_ax = fig.subplots(1, 3)
    model = result.config.models[0]
    arms = [a for a in result.config.arms_of(model) if not result.arm(model, a).error]
    colors = _colors(arms)
    for a in arms:
        arm = result.arm(model, a)
        if arm.near_zero_curve:
            curve_ax.plot(
                NEAR_ZERO_CURVE, arm.near_zero_curve, "-o", ms=3, color=colors[a], label=arm.label
            )
    curve_ax.axvline(slopes.SPARSITY_CUT, color="0.4", ls="--", lw=1, label="the cut-off judged")
    curve_ax.set_xscale("log")
    curve_ax.set_xlabel("cut-off (fraction of the layer's mean |h|)")
    curve_ax.set_ylabel("outputs near zero (%)")
    curve_ax.set_ylim(-2, 102)
    curve_ax.set_title(f"MNIST-1D {model}: near zero, by cut-off")
    curve_ax.legend(fontsize=FONT - 2)
    for i, m in enumerate(result.config.models):
        _per_slope(hoyer_ax, result, m, "hoyer", f"C{i}")
    hoyer_ax.set_ylabel("Hoyer sparsity (0 dense, 1 one-hot)")
    _slope_axis(hoyer_ax)
    hoyer_ax.legend(fontsize=FONT - 1)
    lost = []
    for a in arms:
        arm = result.arm(model, a)
        if not arm.ablated_test_acc or not isinstance(a, float):
            continue
        diffs = np.asarray(arm.test_acc, dtype=float) - np.asarray(arm.ablated_test_acc)
        mean, low, high = _ci(diffs)
        lost.append((a, mean, low, high))
    if lost:
        xs = [float(a) for a, *_ in lost]
        ablation_ax.errorbar(
            xs,
            [m for _, m, _, _ in lost],
            yerr=[
                [np.nan_to_num(m - lo) for _, m, lo, _ in lost],
                [np.nan_to_num(hi - m) for _, m, _, hi in lost],
            ],
            fmt="o",
            capsize=3,
            color="C0",
        )
        band = slopes.ABLATION_MARGIN
        ablation_ax.axhspan(-band, band, color="0.85", zorder=0, label=f"± {band:g} point")
        ablation_ax.set_xscale("symlog", linthresh=0.01)
        ablation_ax.set_xlabel("negative slope")
        ablation_ax.set_ylabel("test accuracy lost (points)")
        ablation_ax.set_title("zeroing the negative outputs after training")
        ablation_ax.legend(fontsize=FONT - 1)
    _style(fig)
    leaky, relu = result.arm(model, slopes.DEFAULT_SLOPE), result.arm(model, 0.0)
    return fig, (
        f"Outputs near zero at |h| < {slopes.SPARSITY_CUT:g} x the mean ({model}): ReLU "
        f"{relu.mean('near_zero_strict'):.0f} %, Leaky 0.01 {leaky.mean('near_zero_strict'):.0f} %."
    )


def slopes_figure(result: slopes.Result) -> tuple[Figure, str]:
    models = result.config.models
    lrs = result.config.lrs
    cols = 2 if lrs else 1
    fig = Figure(figsize=(5.6 * cols, 4.2 * len(models)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(models), cols, squeeze=False))
    alt = []
    skip = result.config.select
    confirmation = slopes.Result(
        result.config,
        tuple(
            dataclasses.replace(a, test_acc=a.test_acc[skip:]) if a.test_acc else a
            for a in result.arms
        ),
    )
    for row, model in enumerate(models):
        ax = axes[row][0]
        _per_slope(ax, confirmation, model, "test_acc", "C0")
        relu = confirmation.arm(model, 0.0)
        ax.axhline(relu.mean("test_acc"), color="C3", ls="--", lw=1, label="ReLU mean")
        best = result.selected(model)
        if best is not None:
            shown = confirmation.arm(model, best.arm)
            ax.plot(
                [float(best.arm)],
                [shown.mean("test_acc")],
                "*",
                ms=16,
                color="C2",
                label=f"chosen on the selection seeds: {best.label}",
            )
            alt.append(
                f"{model}: ReLU {relu.mean('test_acc'):.1f} %, chosen {best.label} "
                f"{shown.mean('test_acc'):.1f} % on the confirmation seeds"
            )
        diverged = sum(a.diverged for a in result.arms if a.model == model)
        ax.set_title(
            f"MNIST-1D {model}, confirmation seeds"
            + (f" ({diverged} runs diverged, counted at chance)" if diverged else "")
        )
        ax.set_ylabel("test accuracy (%)")
        _slope_axis(ax)
        ax.legend(fontsize=FONT - 1, loc="lower left")
        if not lrs:
            continue
        grid = axes[row][1]
        tuned = [result.arm(model, a) for a in result.config.tuned if a in result.config.arms]
        for i, arm in enumerate(t for t in tuned if t.lr_val and not t.error):
            grid.plot(lrs, arm.lr_val, "o-", color=f"C{i}", label=arm.label, ms=4)
            if arm.lr is not None:
                grid.plot(
                    [arm.lr],
                    [arm.lr_val[lrs.index(arm.lr)]],
                    "o",
                    ms=11,
                    mfc="none",
                    color=f"C{i}",
                )
        grid.set_xscale("log")
        grid.set_xticks(list(lrs), [f"{lr:g}" for lr in lrs])
        grid.minorticks_off()
        grid.set_xlabel("learning rate (Adam)")
        grid.set_ylabel("validation accuracy, selection seeds (%)")
        grid.set_title(f"MNIST-1D {model}: the learning rate tuned per slope")
        grid.legend(fontsize=FONT - 1)
    _style(fig)
    return fig, "; ".join(alt) + "."


# --- stability ---------------------------------------------------------------------------------


def stability_figure(result: stability.Result) -> tuple[Figure, str]:
    """Per setting: accuracy against the learning rate (top) and failures and spikes (below)."""
    settings = [s.name for s in result.config.settings]
    arms = list(result.config.arms)
    colors = _colors(arms)
    fig = Figure(figsize=(4.3 * len(settings), 7.0), layout="constrained")
    axes = np.atleast_2d(fig.subplots(2, len(settings), squeeze=False))
    for col, s in enumerate(settings):
        top, bottom = axes[0][col], axes[1][col]
        for a in arms:
            cells = sorted(
                (c for c in result.cells if c.setting == s and c.arm == a and c.error is None),
                key=lambda c: c.lr,
            )
            if not cells:
                continue
            lrs = [c.lr for c in cells]
            label = activation_label(a) + (" (control)" if a == stability.CAPACITY_CONTROL else "")
            style = ":" if a == stability.CAPACITY_CONTROL else "-"
            accs = [
                _ci(np.where(np.isfinite(c.test_acc), c.test_acc, stability.CHANCE)) for c in cells
            ]
            top.errorbar(
                lrs,
                [m for m, _, _ in accs],
                yerr=[
                    [np.nan_to_num(m - lo) for m, lo, _ in accs],
                    [np.nan_to_num(hi - m) for m, _, hi in accs],
                ],
                fmt=style + "o",
                ms=3,
                capsize=2,
                color=colors[a],
                label=label,
            )
            bottom.plot(lrs, [c.failure_rate for c in cells], style + "o", ms=4, color=colors[a])
            bottom.plot(
                lrs, [c.spikes / c.runs for c in cells], "x", ms=5, color=colors[a], alpha=0.6
            )
        if math.isfinite(result.floor):
            top.axhline(result.floor, color="0.4", ls="--", lw=1, label="linear floor")
        grid = next(st.lrs for st in result.config.settings if st.name == s)
        for ax in (top, bottom):
            ax.set_xscale("log")
            _log_ticks(ax, grid)
            ax.set_xlabel("learning rate")
        top.set_title(s)
        top.set_ylabel("test accuracy (%); diverged runs at chance")
        top.set_ylim(0, 100)
        bottom.set_ylabel("share of runs failed (o) / spiked (x)")
        bottom.set_ylim(-0.03, 1.03)
        if col == 0:
            top.legend(fontsize=FONT - 2)
    _style(fig)
    fr, nr = result.pooled(stability.RELU)
    fl, nl = result.pooled(stability.PRIMARY_ARM)
    return fig, (
        f"Failed runs over the grid (diverged, or below the linear floor of "
        f"{result.floor:.1f} %): ReLU {fr}/{nr}, Leaky 0.01 {fl}/{nl}."
    )


def report_figures(report: Any) -> dict[str, tuple[Figure, str]]:
    """Every figure of a ``leaky.lab.report.Report``, by section name, with its alt text."""
    out: dict[str, tuple[Figure, str]] = {
        "leaky_relu": (
            plotting.function_and_derivative(),
            "Leaky ReLU is x for x >= 0 and a*x below; its derivative jumps from a to 1 at 0, "
            "where leaky uses 1.",
        )
    }
    r = report.results
    if born_dead.NAME in r and r[born_dead.NAME].points:
        out[born_dead.NAME] = born_dead_figure(r[born_dead.NAME])
    if dying.NAME in r:
        out[dying.NAME] = dying_figure(r[dying.NAME])
    if slopes.NAME in r:
        out["sparsity"] = sparsity_figure(r[slopes.NAME])
    if stability.NAME in r:
        out[stability.NAME] = stability_figure(r[stability.NAME])
    if gradients.NAME in r and gradients.primary_measured(r[gradients.NAME]):
        out[gradients.NAME] = gradients.figure(r[gradients.NAME])
    if slopes.NAME in r:
        out[slopes.NAME] = slopes_figure(r[slopes.NAME])
    return out
