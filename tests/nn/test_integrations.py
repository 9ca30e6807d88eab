"""Where users log: TensorBoard event files and a real Lightning Trainer (issue 13, item 4)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from leaky.monitor import DeadUnitMonitor, MonitorReport, to_tensorboard

PLANTED = [2, 5, 11]


def _events(logdir: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "histograms": 0})
    accumulator.Reload()
    return accumulator


def _planted() -> nn.Sequential:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3))
    with torch.no_grad():
        model[0].bias[PLANTED] = -1e3
    return model


def test_to_tensorboard_writes_scalars_and_histograms_read_back(tmp_path: Path) -> None:
    from torch.utils.tensorboard import SummaryWriter

    model = _planted()
    writer = SummaryWriter(str(tmp_path))
    with DeadUnitMonitor(model) as monitor:
        for epoch in range(2):
            for _ in range(3):
                model(torch.randn(32, 6))
            if epoch == 1:
                with torch.no_grad():
                    model[0].bias[PLANTED] = 1.0  # revived before the epoch's report
                model(torch.randn(32, 6))
            to_tensorboard(writer, monitor.snapshot(), step=10 + epoch)
    writer.close()
    events = _events(tmp_path)
    scalars = set(events.Tags()["scalars"])
    for name in ("dead", "negative_regime", "near_dead", "dormant", "nonfinite", "zero_fraction"):
        assert f"dead_units/1/{name}" in scalars and f"dead_units_summary/{name}" in scalars
    dead = events.Scalars("dead_units/1/dead")
    assert [(e.step, e.value) for e in dead] == [(10, pytest.approx(3 / 16)), (11, 0.0)]
    histograms = set(events.Tags()["histograms"])
    assert {"dead_units/1/positive_fraction", "dead_units/1/dormancy"} <= histograms
    (first, _) = events.Histograms("dead_units/1/positive_fraction")
    assert first.step == 10 and first.histogram_value.num == 16
    assert first.histogram_value.min == 0.0  # the planted units
    with pytest.raises(TypeError, match="'writer' parameter of to_tensorboard"):
        to_tensorboard(object(), MonitorReport([], 0, 0.1), step=0)


def test_a_missing_lightning_is_one_line_saying_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "lightning" else real(name, *a),
    )
    monkeypatch.delitem(sys.modules, "leaky.integrations.lightning", raising=False)
    with pytest.raises(ImportError) as info:
        importlib.import_module("leaky.integrations.lightning")
    assert str(info.value) == (
        "leaky.integrations.lightning needs lightning: pip install lightning "
        "(lightning is not installed)"
    )
    assert "\n" not in str(info.value)


def test_importing_the_monitor_imports_no_integration_package() -> None:
    import subprocess

    code = (
        "import sys, leaky.monitor, leaky.integrations; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('lightning', 'pytorch_lightning', 'tensorboard')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# Lightning 2.6 on torch 2.13: deprecation warnings raised inside Lightning and torch; and
# ModelCheckpoint's note that a resumed run writes to a new folder.
lightning_warnings = pytest.mark.filterwarnings(
    "ignore::FutureWarning",
    "ignore::DeprecationWarning",
    "ignore:The dirpath has changed:UserWarning",
)


def _lightning_run(root: Path, epochs: int, resume: str | None = None):
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import TensorBoardLogger

    from leaky.integrations.lightning import DeadUnitCallback

    class Classifier(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = _planted()

        def training_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
            x, y = batch
            return nn.functional.cross_entropy(self.net(x), y)

        def validation_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
            self.net(batch[0] + 1e4)  # would make every unit positive: must not count

        def configure_optimizers(self):  # type: ignore[no-untyped-def]
            return torch.optim.SGD(self.parameters(), lr=0.05)

    g = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(96, 6, generator=g), torch.randint(0, 3, (96,), generator=g))
    callback = DeadUnitCallback()
    trainer = L.Trainer(
        max_epochs=epochs,
        callbacks=[callback, ModelCheckpoint(dirpath=root / "ckpt", save_last=True)],
        logger=TensorBoardLogger(str(root), name="tb", version=0),
        accelerator="cpu",
        log_every_n_steps=1,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=1,
        limit_val_batches=1,
        deterministic=True,
    )
    L.seed_everything(0, verbose=False)
    loader = DataLoader(data, batch_size=32)
    trainer.fit(Classifier(), loader, DataLoader(data, batch_size=32), ckpt_path=resume)
    return trainer, callback


@lightning_warnings
def test_lightning_callback_logs_each_epoch_and_resumes_from_a_checkpoint(tmp_path: Path) -> None:
    trainer, whole = _lightning_run(tmp_path / "whole", epochs=2)
    assert [h["batches"] for h in whole.monitor.history] == [3, 3]  # validation not counted
    assert [r.dead for r in whole.reports] == [3, 3]
    assert trainer.callback_metrics["dead_units/net.1/dead"] == pytest.approx(3 / 16)
    events = _events(tmp_path / "whole" / "tb" / "version_0")
    assert len(events.Scalars("dead_units/net.1/dead")) == 2  # one point per epoch
    assert "dead_units/net.1/positive_fraction" in events.Tags()["histograms"]

    _lightning_run(tmp_path / "split", epochs=1)
    ckpt = tmp_path / "split" / "ckpt" / "last.ckpt"
    state = torch.load(ckpt, weights_only=False)
    (saved,) = [v for k, v in state["callbacks"].items() if k.startswith("DeadUnitCallback")]
    assert saved["monitor"]["snapshots"] == 1
    _, resumed = _lightning_run(tmp_path / "resumed", epochs=2, resume=str(ckpt))
    assert resumed.monitor.history == whole.monitor.history  # the same two epochs


def test_summary_tags_cannot_collide_with_a_site_named_model() -> None:
    from collections import OrderedDict

    from leaky.integrations.tensorboard import scalars

    net = nn.Sequential(OrderedDict(fc=nn.Linear(6, 16), model=nn.ReLU()))
    with torch.no_grad():
        net.fc.bias[PLANTED] = -1e3
    with DeadUnitMonitor(net) as monitor:
        net(torch.randn(32, 6))
    values = scalars(monitor.report())
    assert len(values) == 12  # six for the site "model", six for the whole model
    assert values["dead_units/model/dead"] == pytest.approx(3 / 16)
    assert values["dead_units_summary/dead"] == pytest.approx(3 / 16)


@lightning_warnings
def test_lightning_callback_logs_through_csv_and_tensorboard_loggers(tmp_path: Path) -> None:
    import csv

    import lightning as L
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    from leaky.integrations.lightning import DeadUnitCallback

    class Classifier(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = _planted()

        def training_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
            return nn.functional.cross_entropy(self.net(batch[0]), batch[1])

        def configure_optimizers(self):  # type: ignore[no-untyped-def]
            return torch.optim.SGD(self.parameters(), lr=0.05)

    g = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(64, 6, generator=g), torch.randint(0, 3, (64,), generator=g))
    trainer = L.Trainer(
        max_epochs=2,
        callbacks=[DeadUnitCallback()],
        logger=[
            CSVLogger(str(tmp_path), name="csv", version=0),
            TensorBoardLogger(str(tmp_path), name="tb", version=0),
        ],
        accelerator="cpu",
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        log_every_n_steps=1,
    )
    trainer.fit(Classifier(), DataLoader(data, batch_size=32))
    with open(tmp_path / "csv" / "version_0" / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get("dead_units/net.1/dead")]
    assert len(rows) == 2  # one row per epoch
    assert float(rows[0]["dead_units/net.1/dead"]) == pytest.approx(3 / 16)
    assert float(rows[0]["dead_units_summary/dead"]) == pytest.approx(3 / 16)
    events = _events(tmp_path / "tb" / "version_0")
    assert len(events.Scalars("dead_units_summary/dead")) == 2
    assert len(events.Scalars("dead_units/net.1/dead")) == 2
