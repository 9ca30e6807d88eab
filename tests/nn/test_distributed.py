"""Under DDP, every rank's report describes the whole data set (issue 13, item 5).

Two processes on the gloo backend, each seeing half of a data set with planted dead units:
the report each rank computes (counts summed with ``all_reduce``, exact integers) equals
the report of one process that saw the whole set.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch import nn

from leaky.monitor import DeadUnitMonitor

PLANTED = [1, 4, 9]


class Net(nn.Module):
    """A layer site and a functional site."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(6, 12), nn.Linear(12, 5)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.fc2(self.act(self.fc1(x))))


def _model() -> Net:
    torch.manual_seed(0)
    model = Net()
    with torch.no_grad():
        model.fc1.bias[PLANTED] = -1e3
    return model


def _data() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    return [torch.randn(16, 6, generator=g) for _ in range(8)]


def _report_dict(batches: list[torch.Tensor], **report_kw: object) -> dict[str, object]:
    model = _model()
    with DeadUnitMonitor(model) as monitor:
        for x in batches:
            model(x)
        return monitor.report(**report_kw).to_dict()  # type: ignore[arg-type]


def _worker(rank: int, world_size: int, init_file: str, out: str) -> None:
    dist.init_process_group(
        "gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size
    )
    try:
        mine = _data()[rank::world_size]  # half of the data set each
        merged = _report_dict(mine)  # sync by default: a group with 2 processes
        local = _report_dict(mine, sync=False)
        dist.barrier()  # no rank tears gloo down while its peer still talks to it
    finally:
        dist.destroy_process_group()
    Path(out, f"{rank}.json").write_text(json.dumps({"merged": merged, "local": local}))


def _without_dormancy(report: dict) -> tuple[dict, list]:
    layers = [dict(layer) for layer in report["layers"]]
    scores = [layer.pop("dormancy") for layer in layers]
    return {**report, "layers": layers}, scores


def test_two_gloo_processes_report_the_whole_data_set(tmp_path: Path) -> None:
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    ranks = [json.loads((tmp_path / f"{r}.json").read_text()) for r in range(2)]
    whole = _report_dict(_data())
    expected, expected_scores = _without_dormancy(whole)
    for rank in ranks:
        merged, scores = _without_dormancy(rank["merged"])
        assert merged == expected  # exact: integer counts, lists of units, fractions
        for got, want in zip(scores, expected_scores, strict=True):
            assert got == pytest.approx(want, rel=1e-12)  # float sums, summed in another order
    assert whole["batches"] == 8 and whole["layers"][0]["dead"] == PLANTED
    for rank in ranks:  # and the sum is real: each rank alone saw half
        assert rank["local"]["batches"] == 4
        assert rank["local"]["layers"][0]["samples"] * 2 == whole["layers"][0]["samples"]
