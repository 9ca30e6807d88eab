"""Toy tasks for the runner's tests: pure NumPy functions of a seed (imported by workers).

``draw`` is deterministic; its configuration may ask it to sleep, fail, raise
KeyboardInterrupt or kill its own process (always, or the first time only).
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np


def draw(config: dict[str, Any]) -> dict[str, Any]:
    """Seeded normal draws, summarised; ``config`` may hold ``sleep``, ``fail``,
    ``interrupt``, ``die`` or ``die_once`` (a marker file path)."""
    seed = config["seed"]
    if config.get("fail"):
        raise ValueError(f"seed {seed} fails\n  on purpose")
    if config.get("interrupt"):
        raise KeyboardInterrupt
    marker = config.get("die_once")
    if config.get("die") or (marker and not Path(marker).exists()):
        if marker:
            Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(config.get("sleep", 0))
    x = np.random.default_rng(seed).standard_normal(256)
    return {
        "seed": seed,
        "mean": float(x.mean()),
        "norm": float(np.sqrt(x @ x)),
        "head": x[:3].tolist(),
    }


@dataclass(frozen=True)
class Config:
    """A frozen dataclass configuration (``to_dict``/``from_dict``)."""

    seed: int
    scale: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        return cls(**data)


@dataclass(frozen=True)
class Result:
    """A typed result (``to_dict``)."""

    seed: int
    value: float
    config_type: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def scaled(config: Config) -> Result:
    """A dataclass in, a dataclass out; records the type it received."""
    x = np.random.default_rng(config.seed).standard_normal(16)
    return Result(config.seed, float(x.sum() * config.scale), type(config).__name__)


def not_json(config: dict[str, Any]) -> Any:
    """A result that is not JSON: a set."""
    return {"values": {1, 2}}


def exits(config: dict[str, Any]) -> None:
    """Calls sys.exit, as a careless objective might."""
    raise SystemExit(config.get("code", 0))


def has_child(config: dict[str, Any]) -> dict[str, Any]:
    """Starts a process of its own (as a DataLoader with workers does); its exit code."""
    import multiprocessing

    child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(0,))
    child.start()
    child.join()
    return {"exitcode": child.exitcode}
