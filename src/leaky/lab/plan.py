"""The study plan: which experiments a report runs, at which scale, from which base seed.

``plan(scale, seed)`` gives every experiment's configuration (``EXPERIMENTS``, in the order
the report runs and shows them); a ``StudyPlan`` lists their tasks and is stored as
``plan.json`` in the study folder, from which ``StudyPlan.from_dict`` reads it back through
its schema (a stored plan is data, never trusted). ``leaky.lab.report`` runs a plan and
renders what it stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from leaky.lab.experiments import born_dead, dying, gradients, harness, slopes, stability

PLAN_FILE = "plan.json"
SCALES = ("quick", "standard", "full")
EXPERIMENTS = {m.NAME: m for m in (harness, born_dead, dying, slopes, stability, gradients)}
"""Every experiment of the report, by name, in the order the report runs and shows them."""


@dataclass(frozen=True)
class StudyPlan:
    """What one report runs: the scale, the base seed, every experiment's configuration."""

    scale: str
    seed: int
    configs: dict[str, Any]

    @property
    def preliminary(self) -> bool:
        return self.scale == "quick"

    def tasks(self) -> dict[str, list[Any]]:
        return {name: EXPERIMENTS[name].tasks(cfg) for name, cfg in self.configs.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "seed": self.seed,
            "configs": {name: cfg.to_dict() for name, cfg in self.configs.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> StudyPlan:
        """The plan ``to_dict`` wrote, checked: read back from a study folder, it is data.

        Raises ValueError (one line) for a missing or unknown key, a scale not in
        ``SCALES``, a seed that is not an integer in range, an experiment not in
        ``EXPERIMENTS`` or a configuration its experiment does not take.

        Example:
            >>> StudyPlan.from_dict({"scale": "quick", "seed": 0, "configs": {"nope": {}}})
            Traceback (most recent call last):
              ...
            ValueError: The plan names an unknown experiment 'nope'; the experiments are 'harness', 'born_dead', 'dying', 'slopes', 'stability', 'gradients'.
        """  # noqa: E501
        from leaky.lab import _checks

        func = "a study's plan"
        if not isinstance(d, Mapping) or set(d) != {"scale", "seed", "configs"}:
            keys = sorted(d) if isinstance(d, Mapping) else type(d).__name__
            raise ValueError(f"A plan holds 'scale', 'seed' and 'configs'. Got {keys} instead.")
        scale = _checks.one_of(d["scale"], "scale", func, SCALES)
        seed = _checks.seed(d["seed"], "seed", func)
        if not isinstance(d["configs"], Mapping):
            raise ValueError(f"The plan's 'configs' must be an object. Got {d['configs']!r}.")
        configs = {}
        for name, cfg in d["configs"].items():
            if name not in EXPERIMENTS:
                known = ", ".join(repr(n) for n in EXPERIMENTS)
                raise ValueError(
                    f"The plan names an unknown experiment {name!r}; the experiments are {known}."
                )
            try:
                configs[name] = EXPERIMENTS[name].Config.from_dict(cfg)
            except (TypeError, ValueError, KeyError) as err:  # one line, naming the experiment
                raise ValueError(
                    f"The plan's configuration of {name!r} is not valid: {err}"
                ) from None
        return cls(scale, seed, configs)


def plan(scale: str = "standard", seed: int = 0) -> StudyPlan:
    """Every experiment's configuration at ``scale`` (``quick``, ``standard``, ``full``).

    Example:
        >>> p = plan("quick")
        >>> list(p.configs) == list(EXPERIMENTS), p.preliminary
        (True, True)
    """
    from leaky.lab import _checks

    scale = _checks.one_of(scale, "scale", "plan", SCALES)
    seed = _checks.seed(seed, "seed", "plan")
    return StudyPlan(scale, seed, {name: m.plan(scale, seed) for name, m in EXPERIMENTS.items()})
