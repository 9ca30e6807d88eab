"""The commands' figures: ``leaky plot``, ``leaky tune`` and ``leaky compare`` (matplotlib,
Agg backend, no global pyplot state). The report's figures are in ``leaky.lab.figures``.

Functions here take plain data and return a ``matplotlib.figure.Figure``; they compute
nothing but what they draw. ``save`` writes PNG or SVG by the file's suffix, atomically,
never through a symbolic link (``leaky.lab.outdir.save_figure``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from leaky.functional import leaky_relu, leaky_relu_derivative
from leaky.lab.outdir import FIGURE_FORMATS, save_figure

if TYPE_CHECKING:
    from leaky.lab.compare import CompareResult
    from leaky.lab.tune import TrialRecord, TuneResult

FORMATS = FIGURE_FORMATS


def function_and_derivative(
    slopes: Sequence[float] = (0.01, 0.1, 0.3), x_range: tuple[float, float] = (-4.0, 4.0)
) -> Figure:
    """Leaky ReLU and its derivative side by side, one line per slope.

    The derivative panel marks the value at the kink: a filled dot at (0, 1), the value
    leaky uses, and an open dot at (0, a), the one-sided limit from the left.

    Examples:
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
    """Write ``fig`` to ``path`` (``.png`` or ``.svg``), creating parent folders.

    Written atomically; a symbolic link at ``path`` or as its folder is refused
    (``leaky.lab.outdir.OutDirError``).
    """
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(
            f"The figure path must end in one of {', '.join(FORMATS)}. Got {str(path)!r} instead."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_figure(fig, path)


def _slope_label(slope: float) -> str:
    return "ReLU" if slope == 0 else f"{slope:.3g}"


def plain(text: object) -> str:
    r"""``text`` as matplotlib should print it: a ``$`` is a dollar sign, never mathtext.

    Examples:
        >>> print(plain("cost $a$"))
        cost \$a\$
    """
    return str(text).replace("$", r"\$")


MAX_TICKS = 8
"""The most labelled ticks on a slope axis (``log_ticks``): more would overlap."""


def log_ticks(low: float, high: float, most: int = MAX_TICKS) -> list[float]:
    """Round slopes to label a log axis from ``low`` to ``high`` (> 0): at most ``most``.

    1, 2 and 5 times each power of ten inside the range; where those are too many, 1 and 3,
    then the powers of ten alone (every second one, and so on, for a very wide range). A
    range too narrow to hold two of them gets evenly spaced round values instead.

    Examples:
        >>> log_ticks(0.01, 0.3)
        [0.01, 0.02, 0.05, 0.1, 0.2]
        >>> log_ticks(1e-4, 0.5)
        [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3]
    """
    import math

    from matplotlib.ticker import MaxNLocator

    def inside(t: float) -> bool:
        return low * (1 - 1e-9) <= t <= high * (1 + 1e-9)

    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    ticks: list[float] = []
    for subs in ((1, 2, 5), (1, 3), (1,)):
        ticks = [t for k in decades for m in subs if inside(t := float(f"{m}e{k}"))]
        if len(ticks) <= most:
            break
    ticks = ticks[:: math.ceil(len(ticks) / most)] if ticks else ticks
    if len(ticks) < 2:
        rounded = {float(f"{t:.6g}") for t in MaxNLocator(nbins=4).tick_values(low, high)}
        ticks = sorted(t for t in rounded if inside(t)) or [low]
    return ticks


def tune(result: TuneResult) -> Figure:
    """The study: every complete trial's mean over seeds (with its 95 % t interval) against
    the slope, the ReLU baseline as a line with its interval, the best slope starred, the
    failed trials marked along the bottom, and the paired comparison's finding below.

    The x axis is logarithmic with at most ``MAX_TICKS`` round slopes labelled
    (``log_ticks``). An interval is drawn within the objective's natural range
    (``TuneResult.bounds``): where every value lies in [0, 1], no interval is drawn beyond it.
    Strings that come from the user (the study name) are printed as they are (``plain``).
    """
    import textwrap

    from matplotlib.ticker import NullFormatter

    tuned = [t for t in result.complete if not t.baseline and t.slope is not None]
    failed = [t for t in result.trials if t.fail_reason and t.slope]
    floor, ceiling = result.bounds

    def clip(y: float) -> float:
        return float(min(max(y, floor), ceiling))

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
                [
                    max(y - clip(float(t.ci_low or 0.0)), 0.0)
                    for t, y in zip(with_ci, ys(with_ci), strict=True)
                ],
                [
                    max(clip(float(t.ci_high or 0.0)) - y, 0.0)
                    for t, y in zip(with_ci, ys(with_ci), strict=True)
                ],
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
        band = ""
        if relu.ci_low is not None and relu.ci_high is not None:
            low, high = clip(relu.ci_low), clip(relu.ci_high)
            band = f" [{low:.4g}, {high:.4g}]"
            ax.axhspan(low, high, color="C3", alpha=0.15)
        ax.axhline(relu.value, color="C3", lw=1.2, label=f"ReLU (slope 0): {relu.value:.4g}{band}")
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
    slopes = xs(tuned) + xs(failed)
    if slopes:
        ax.set_xticks(log_ticks(min(slopes), max(slopes)))
        ax.xaxis.set_major_formatter(lambda x, _: f"{x:g}")
        ax.xaxis.set_minor_formatter(NullFormatter())
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


def _padded(values: Sequence[float], pad: float = 0.08) -> tuple[float, float]:
    """Limits that hold every finite value in ``values``, ``pad`` of their range beyond each
    end (a single value: a band around it)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    low, high = (float(v.min()), float(v.max())) if v.size else (-1.0, 1.0)
    span = high - low or max(abs(high), 1.0)
    return low - pad * span, high + pad * span


_OUTCOME_COLORS = {
    "better": "C2",
    "ReLU is better": "C3",
    "no difference": "C0",
    "inconclusive": "C1",
    "not compared": "0.3",
}


def compare(result: CompareResult) -> Figure:
    """``leaky compare``: per slope, the paired differences against ReLU, value(slope) -
    value(ReLU) on each seed both evaluated, their mean with its 95 % interval
    (``leaky.lab.stats.mean_interval``), the margin band (±margin: no difference that
    matters) and the zero line (ReLU). Each slope's verdict is written above it.

    The slopes sit side by side on the x axis (labelled with their values); the y axis is
    linear, its limits set from every point, interval end and the margin band, so that
    nothing is clipped. The objective's name, which comes from the user, is printed as it is
    (``plain``).
    """
    from leaky.lab import stats
    from leaky.lab.compare import outcome

    others = result.others
    margin = result.config.margin
    fig = Figure(figsize=(max(5.0, 1.2 * len(others) + 3.0), 4.4), layout="constrained")
    ax = fig.subplots()
    rng = np.random.default_rng(0)
    ax.axhspan(
        -margin,
        margin,
        color="C2",
        alpha=0.15,
        lw=0,
        label=f"±{margin:g}: no difference that matters",
    )
    ax.axhline(0.0, color="C3", lw=1, label="ReLU (difference 0)")
    ys: list[float] = [-margin, margin]
    for x, r in enumerate(others):
        d = result.differences(r.slope)
        ys.extend(d.tolist())
        jitter = rng.uniform(-0.12, 0.12, len(d))
        ax.plot(x + jitter, d, ".", color="0.55", label="each seed" if x == 0 else None)
        interval = stats.mean_interval(d)
        if np.isfinite(interval.low):
            ys.extend((interval.low, interval.high))
            yerr = [[interval.mean - interval.low], [interval.high - interval.mean]]
        else:
            yerr = None
        if interval.n:
            ax.errorbar(
                [x],
                [interval.mean],
                yerr=yerr,
                fmt="o",
                ms=6,
                capsize=4,
                color="C0",
                label="mean, 95 % interval" if x == 0 else None,
            )
        word = outcome(result.verdict(r.slope))
        ax.annotate(
            word,
            (x, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, -4),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=9,
            color=_OUTCOME_COLORS[word],
        )
        if r.failures:
            ax.annotate(
                f"{len(r.failures)} failed",
                (x, 0.0),
                xycoords=("data", "axes fraction"),
                xytext=(0, 4),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=8,
            )
    low, high = _padded(ys)
    span = high - low
    ax.set_ylim(low - 0.06 * span, high + 0.1 * span)  # room for the words above and below
    ax.set_xticks(range(len(others)), [f"{r.slope:g}" for r in others])
    ax.set_xlim(-0.6, len(others) - 0.4)
    better = "higher" if result.config.direction == "maximize" else "lower"
    ax.set_xlabel("negative slope")
    ax.set_ylabel(f"slope - ReLU, per seed ({better} is better)")
    ax.set_title(plain(result.config.objective), fontsize=10)
    ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(1.01, 0.0), borderaxespad=0)
    ax.grid(axis="y", alpha=0.3)
    return fig
