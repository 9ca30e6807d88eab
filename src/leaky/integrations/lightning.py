"""Lightning: ``DeadUnitCallback`` watches the training batches of a ``lightning.Trainer``.

Needs the ``lightning`` package (``pip install lightning``; the ``lightning.pytorch``
API, Lightning 2.x); importing this module without it raises a one-line ``ImportError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from leaky._imports import require_package

require_package("leaky.integrations.lightning", "lightning")

import lightning.pytorch as pl  # noqa: E402
from torch import nn  # noqa: E402

from leaky.integrations.tensorboard import scalars, to_tensorboard  # noqa: E402
from leaky.monitor import DeadUnitMonitor, MonitorReport  # noqa: E402

__all__ = ["DeadUnitCallback"]


class DeadUnitCallback(pl.Callback):
    """Find dead, near-dead and dormant units in the training batches, once an epoch.

    Watches the ``LightningModule`` with a ``leaky.monitor.DeadUnitMonitor`` during
    ``fit``: training batches only (validation, test, prediction and the sanity check run
    in ``eval()`` mode and are skipped). At the end of every training epoch it reports the
    whole epoch's batches — summed over every process under DDP — logs the fractions
    through every logger the trainer has (``pl_module.log_dict``, so TensorBoard, CSV,
    MLflow and W&B loggers alike: ``dead_units/<site>/dead``, ``.../near_dead``,
    ``.../dormant``, and the whole model's as ``dead_units_summary/dead``, ...), writes
    per-unit histograms to TensorBoard loggers, keeps the report in ``reports`` and starts a new
    window. Its counts are stored in every checkpoint, so a resumed run reports what an
    uninterrupted one would.

    Args:
        modules: as for ``DeadUnitMonitor``.
        unit_dim: as for ``DeadUnitMonitor``.
        tau: as for ``DeadUnitMonitor``.
        near_dead: as for ``DeadUnitMonitor``.
        functional: as for ``DeadUnitMonitor``.
        prefix: the first part of every logged name.
        histograms: also write per-unit histograms to TensorBoard loggers.

    Use: ``lightning.Trainer(callbacks=[DeadUnitCallback()])`` (the README's "In your
    training loop" runs it).
    """

    def __init__(
        self,
        modules: Iterable[nn.Module | str] | None = None,
        *,
        unit_dim: int | Mapping[str, int] | None = None,
        tau: float = 0.025,
        near_dead: float = 0.01,
        functional: bool | None = None,
        prefix: str = "dead_units",
        histograms: bool = True,
    ) -> None:
        super().__init__()
        self._options: dict[str, Any] = {
            "modules": None if modules is None else list(modules),
            "unit_dim": unit_dim,
            "tau": tau,
            "near_dead": near_dead,
            "functional": functional,
        }
        self.prefix = prefix
        self.histograms = histograms
        self.monitor: DeadUnitMonitor | None = None
        self.reports: list[MonitorReport] = []
        self._pending: Mapping[str, Any] | None = None
        self._batch: Any = None  # the open monitor.batch() of the current training batch

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self._options.items())
        return f"DeadUnitCallback({options}, prefix={self.prefix!r})"

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "fit" or self.monitor is not None:
            return
        self.monitor = DeadUnitMonitor(pl_module, count_eval=False, **self._options)
        if self._pending is not None:
            self.monitor.load_state_dict(self._pending)
            self._pending = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.monitor is not None and not self.monitor.active:
            self.monitor.__enter__()

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        # training_step usually calls submodules (self.net(x)), not the module's forward:
        # the whole step is one batch
        if self.monitor is not None and self.monitor.active and self._batch is None:
            self._batch = self.monitor.batch()
            self._batch.__enter__()

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self._close_batch()

    def _close_batch(self) -> None:
        if self._batch is not None:
            batch, self._batch = self._batch, None
            batch.__exit__(None, None, None)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.monitor is None:
            return
        report = self.monitor.snapshot(step=trainer.current_epoch)  # summed over ranks
        self.reports.append(report)
        values = scalars(report, self.prefix)
        if values:
            pl_module.log_dict(values, on_step=False, on_epoch=True, sync_dist=False)
        if self.histograms and trainer.is_global_zero:
            for logger in trainer.loggers:
                writer = getattr(logger, "experiment", None)
                if hasattr(writer, "add_histogram"):
                    to_tensorboard(
                        writer, report, trainer.global_step, prefix=self.prefix, scalars_too=False
                    )

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._close_batch()
        if self.monitor is not None and self.monitor.active:
            self.monitor.__exit__(None, None, None)

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        self.teardown(trainer, pl_module, "fit")

    def state_dict(self) -> dict[str, Any]:
        if self.monitor is not None:
            return {"monitor": self.monitor.state_dict()}
        return {"monitor": self._pending}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        saved = state_dict.get("monitor")
        if saved is None:
            return
        if self.monitor is not None:
            self.monitor.load_state_dict(saved)
        else:
            self._pending = saved
