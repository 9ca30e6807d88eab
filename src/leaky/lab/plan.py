"""The study plan: which experiments a report runs, at which scale, from which base seed.

``plan(scale, seed)`` gives every experiment's configuration (``EXPERIMENTS``, in the order
the report runs and shows them); a ``StudyPlan`` lists their tasks and is stored as
``plan.json`` in the study folder, from which ``StudyPlan.from_dict`` reads it back through
its schema (a stored plan is data, never trusted). ``leaky.lab.report`` runs a plan and
renders what it stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

        Examples:
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

    Examples:
        >>> p = plan("quick")
        >>> list(p.configs) == list(EXPERIMENTS), p.preliminary
        (True, True)
    """
    from leaky.lab import _checks

    scale = _checks.one_of(scale, "scale", "plan", SCALES)
    seed = _checks.seed(seed, "seed", "plan")
    return StudyPlan(scale, seed, {name: m.plan(scale, seed) for name, m in EXPERIMENTS.items()})


def _trained(task: Any) -> tuple[str, int] | None:
    """A training task's model and work (members x steps; for claim 2a's networks, members
    x steps x depth x width); None for other work."""
    from leaky.lab.batched import TrainConfig

    c = task.config
    if isinstance(c, born_dead.TrainCellConfig):
        work = len(c.arms) * c.trials * c.budgets[-1] * c.depth * c.width
        return "born_dead", work
    if isinstance(c, slopes.TunedConfig):
        return c.train.model, c.members * c.train.steps
    if not isinstance(c, TrainConfig):
        return None
    return c.model, len(c.members) * c.steps


def estimate_seconds(
    measured: Mapping[str, Sequence[Any]], seconds: Mapping[str, float], target: StudyPlan
) -> float:
    """Task seconds ``target`` would take, from a run of another plan: ``measured`` holds
    that run's tasks per experiment and ``seconds`` each task's time (by key).

    A training task costs its member-steps times the seconds per member-step measured for
    its model (over every experiment; a model not measured at the slowest rate measured);
    any other task the mean time of its experiment's other tasks in the run. A model of
    cost, not a measurement: the README calls it an estimate.

    Examples:
        >>> from leaky.lab.store import Task
        >>> from leaky.lab.batched import TrainConfig
        >>> t = Task("x", "leaky.lab.batched:train", TrainConfig(steps=10, seeds=(0, 1)))
        >>> small = StudyPlan("quick", 0, {})
        >>> estimate_seconds({"x": [t]}, {t.key: 2.0}, small)  # nothing planned
        0.0
    """
    rate_sum: dict[str, list[float]] = {}
    other: dict[str, list[float]] = {}
    for name, tasks in measured.items():
        for t in tasks:
            if t.key not in seconds:
                continue
            trained = _trained(t)
            if trained is None:
                other.setdefault(name, []).append(seconds[t.key])
            else:
                model, work = trained
                acc = rate_sum.setdefault(model, [0.0, 0.0])
                acc[0] += seconds[t.key]
                acc[1] += work
    rates = {m: sec / work for m, (sec, work) in rate_sum.items() if work}
    slowest = max(rates.values(), default=0.0)
    every_other = [x for xs in other.values() for x in xs]
    fallback = sum(every_other) / len(every_other) if every_other else 0.0
    total = 0.0
    for name, tasks in target.tasks().items():
        for t in tasks:
            trained = _trained(t)
            if trained is None:
                xs = other.get(name)
                total += sum(xs) / len(xs) if xs else fallback
            else:
                model, work = trained
                total += work * rates.get(model, slowest)
    return total
