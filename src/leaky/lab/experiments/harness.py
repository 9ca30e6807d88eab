"""Is the harness sound? The MNIST-1D paper's Table 1, reproduced with ReLU, as an experiment.

The check itself (models, recipe, tolerance) is ``leaky.lab.harness``; this module gives it
the shape of every experiment of the report: ``plan``, ``tasks``, ``summarize``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from leaky.lab import harness
from leaky.lab.batched import TrainResult
from leaky.lab.store import Outcome, Task

NAME = "harness"
TITLE = "Is the harness sound? (MNIST-1D, the paper's Table 1)"


@dataclass(frozen=True)
class Config:
    scale: harness.Scale
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"scale": self.scale.to_dict(), "seed": self.seed}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        return cls(harness.Scale.from_dict(d["scale"]), d["seed"])


def plan(scale: str, seed: int = 0) -> Config:
    return Config(harness.SCALES[scale], seed)


def _configs(config: Config) -> list[Any]:
    offset = 1000 * config.seed
    return [
        c.replace(seeds=tuple(offset + s for s in c.seeds)) for c in harness.configs(config.scale)
    ]


def tasks(config: Config) -> list[Task]:
    return [
        Task(NAME, "leaky.lab.batched:train", c, label=f"harness {c.model}")
        for c in _configs(config)
    ]


@dataclass(frozen=True)
class Result:
    check: harness.HarnessResult | None
    errors: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": None if self.check is None else self.check.to_dict(),
            "errors": list(self.errors),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Result:
        check = None if d["check"] is None else harness.HarnessResult.from_dict(d["check"])
        return cls(check, tuple(d["errors"]))


def summarize(config: Config, outcomes: Sequence[Outcome]) -> Result:
    done = [TrainResult.from_dict(o.value) for o in outcomes if o.ok]
    errors = tuple(f"{o.label}: {o.error}" for o in outcomes if not o.ok)
    return Result(harness.check(done) if done else None, errors)
