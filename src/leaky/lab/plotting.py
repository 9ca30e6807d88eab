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


def compare(result: CompareResult) -> Figure:
    """``leaky compare``: each seed's value per slope, the means with their 95 % intervals,
    ReLU's mean.

    The objective's name, which comes from the user, is printed as it is (``plain``).
    """
    import math

    from leaky.lab import stats

    fig = Figure(figsize=(6.5, 4.0), layout="constrained")
    ax = fig.subplots()
    rng = np.random.default_rng(0)
    xs, means, errs = [], [], []
    for r in result.rows:
        v = np.asarray(r.values)
        ok = v[np.isfinite(v)]
        x = r.slope
        ax.plot(np.full(len(ok), x) + rng.uniform(-0.002, 0.002, len(ok)), ok, ".", color="0.6")
        half = stats.mean_interval(ok).half_width
        xs.append(x)
        means.append(ok.mean() if len(ok) else math.nan)
        errs.append(half)
        if r.failures:
            ax.annotate(
                f"{len(r.failures)} failed", (x, np.nanmin(ok) if len(ok) else 0), fontsize=9
            )
    ax.errorbar(
        xs, means, yerr=np.nan_to_num(errs), fmt="o-", capsize=3, label="mean, 95 % interval"
    )
    relu = next(r for r in result.rows if r.slope == 0.0)
    ax.axhline(relu.mean, color="C3", ls="--", lw=1, label="ReLU (slope 0)")
    ax.set_xscale("symlog", linthresh=0.01, linscale=0.5)
    ax.set_xlabel("negative slope")
    ax.set_ylabel(plain(result.config.objective))
    ax.legend(fontsize=9)
    ax.grid(alpha=0.3)
    return fig
