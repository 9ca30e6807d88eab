"""TensorBoard: a ``MonitorReport`` as per-site scalars and per-unit histograms.

Works with any writer that has ``add_scalar`` and ``add_histogram``
(``torch.utils.tensorboard.SummaryWriter``, which needs the ``tensorboard`` package;
Lightning's ``TensorBoardLogger.experiment`` is one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from leaky.monitor import MonitorReport

__all__ = ["scalars", "to_tensorboard"]


def _tag(name: str) -> str:
    return name.replace(":", "/").replace("#", "_").replace("<root>", "root")


def scalars(report: MonitorReport, prefix: str = "dead_units") -> dict[str, float]:
    """The report's numbers as ``{tag: value}``: fractions of units per site and for the
    model (``{prefix}/{site}/dead``, ``.../negative_regime``, ``.../near_dead``,
    ``.../dormant``, ``.../nonfinite``, ``.../zero_fraction``; the whole model's in a
    namespace of their own, ``{prefix}_summary/dead``, ..., so that no site, a submodule
    named ``model`` included, can take their tags). Site names become tags with ``:`` as
    ``/`` (``layer1.0:F.relu`` -> ``layer1.0/F.relu``)."""
    out: dict[str, float] = {}
    for layer in report.layers:
        if not layer.units:
            continue
        base = f"{prefix}/{_tag(layer.name)}"
        out[f"{base}/dead"] = layer.dead_fraction
        out[f"{base}/negative_regime"] = layer.negative_regime_fraction
        out[f"{base}/near_dead"] = layer.near_dead_fraction
        out[f"{base}/dormant"] = layer.dormant_fraction
        out[f"{base}/nonfinite"] = len(layer.nonfinite) / layer.units
        out[f"{base}/zero_fraction"] = layer.zero_fraction
    units = report.units
    if units:
        summary = f"{prefix}_summary"
        out[f"{summary}/dead"] = report.dead / units
        out[f"{summary}/negative_regime"] = report.negative_regime / units
        out[f"{summary}/near_dead"] = report.near_dead / units
        out[f"{summary}/dormant"] = report.dormant / units
        out[f"{summary}/nonfinite"] = report.nonfinite / units
        out[f"{summary}/zero_fraction"] = report.zero_fraction
    return out


def to_tensorboard(
    writer: Any,
    report: MonitorReport,
    step: int,
    *,
    prefix: str = "dead_units",
    histograms: bool = True,
    scalars_too: bool = True,
) -> None:
    """Write ``report`` at ``step``: the ``scalars()`` and, per site, the histograms
    ``{prefix}/{site}/positive_fraction`` and ``{prefix}/{site}/dormancy`` (one value per
    unit; units that produced NaN/inf left out of the dormancy histogram).

    Typically ``to_tensorboard(SummaryWriter("runs/exp"), monitor.snapshot(), epoch)``
    once an epoch (the README's "In your training loop" runs it).
    """
    import numpy as np

    if not (hasattr(writer, "add_scalar") and hasattr(writer, "add_histogram")):
        raise TypeError(
            "The 'writer' parameter of to_tensorboard must be a SummaryWriter (an object with "
            f"add_scalar and add_histogram). Got {type(writer).__name__} instead."
        )
    if scalars_too:
        for tag, value in scalars(report, prefix).items():
            writer.add_scalar(tag, value, step)
    if histograms:
        for layer in report.layers:
            if not layer.units:
                continue
            base = f"{prefix}/{_tag(layer.name)}"
            writer.add_histogram(
                f"{base}/positive_fraction", np.asarray(layer.positive_fraction), step
            )
            finite = [s for s in layer.dormancy if s is not None]
            if finite:
                writer.add_histogram(f"{base}/dormancy", np.asarray(finite), step)
