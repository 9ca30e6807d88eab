"""Every figure leaky draws (matplotlib, Agg backend, no global pyplot state).

Functions here take plain data and return a ``matplotlib.figure.Figure``; they compute
nothing but what they draw. ``save`` writes PNG or SVG by the file's suffix.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from leaky.functional import leaky_relu, leaky_relu_derivative

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
