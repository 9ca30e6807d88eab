"""Claim 2b, dying during training: do units that fall below zero come back under Leaky ReLU?

The dying ReLU problem is a training phenomenon: a large update pushes a unit's
pre-activation below zero for every input, its gradient is then zero, and it never comes
back. Under Leaky ReLU such a unit still gets a gradient (the slope times ReLU's), so the
claim is about **recovery**: does a unit that was near-dead become active again? Where a
unit sits (which side of zero) is not the question: a Leaky unit below zero is in the
negative regime, not dead, and counting it as "near-dead" measures occupancy, not dying.

Four settings (``SETTINGS``), the MNIST-1D paper's MLP in each, every arm paired over seeds
(seed ``s`` is the same initialisation and batch order in every arm):

- spirals, plain SGD: a **high learning rate** (lr 1.0), and a **bias shock** (every hidden
  bias lowered by 2 at initialisation, lr 0.3);
- MNIST-1D, Adam (whose per-parameter step sizes rescale a small gradient): a high
  learning rate (lr 0.2, where ReLU's second layer dies) and a bias shock (2, lr 0.01).

A unit is **near-dead** when its pre-activation is positive on fewer than 1 % of the
training inputs (``leaky.lab.batched.NEAR_DEAD``). The measures, fixed before the run
(``PREREGISTERED``), per member, over the whole training set:

- **recovery** (primary): of the units near-dead at a checkpoint (right after the shock,
  step 0; at a quarter of the steps at a high learning rate, after the early updates that
  kill units), the percentage that are not near-dead at the end. No unit near-dead at the
  checkpoint: no recovery to measure (missing, never 0 or 100);
- **contribution**: the test accuracy lost when every unit near-dead at the end is
  zeroed (the network evaluated with those units' outputs set to 0): near 0 when they are
  functionally dead, larger when the negative regime still carries the signal;
- the near-dead percentage at the start and the end, and the test accuracy (shown; a
  diverged run counts as chance and its units as missing).

**Revival** (the spirals bias shock): does acting on what the monitor finds help? A plain
``nn.Sequential`` MLP (2 -> 100 -> 100 -> 2, ReLU) trained with the same shock, lr and
steps, three arms paired over seeds: ReLU; ReLU with ``leaky.monitor.revive`` (ReDo, Sokar
et al. 2023) every ``revive_every`` steps on the units a ``DeadUnitMonitor`` pass over the
training set finds dormant; Leaky ReLU 0.01.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from leaky.lab import data, verdicts
from leaky.lab._json import floats
from leaky.lab.batched import NEAR_DEAD, TrainConfig, TrainResult
from leaky.lab.experiments import record
from leaky.lab.models import activation_label
from leaky.lab.store import Outcome, Task

NAME = "dying"
TITLE = "Dying during training: do units come back? (claim 2b)"
ARMS = (0.0, 0.01, 0.1, 0.3, "gelu")
MARGIN = 5.0  # percentage points of recovered units: the smallest difference that matters
ABLATION_MARGIN = 1.0  # accuracy points lost when the near-dead units are zeroed
REVIVAL_ARMS = ("relu", "relu+redo", "leaky")  # ReLU, ReLU revived by ReDo, Leaky ReLU 0.01
REVIVAL_LABELS = {
    "relu": "ReLU (slope 0)",
    "relu+redo": "ReLU + ReDo revival",
    "leaky": "LeakyReLU(0.01)",
}
RECOVERY_MEASURE = (
    "recovered units: of the units near-dead (positive on < 1 % of the training inputs) at "
    "the checkpoint, % not near-dead at the end"
)
ABLATION_MEASURE = "test accuracy lost (points) when the units near-dead at the end are zeroed"
PREREGISTERED = {
    "measure": RECOVERY_MEASURE,
    "checkpoint": "step 0 after a bias shock; a quarter of the steps at a high learning rate",
    "comparison": (
        "Leaky ReLU 0.01 against ReLU, paired over seeds: each seed's recovery averaged over "
        "the four settings (spirals SGD and MNIST-1D Adam, high learning rate and bias shock)"
    ),
    "margin": f"{MARGIN:g} points of recovered units",
    "test": "paired t-test, two-sided (TOST for no difference); Holm over the slopes",
    "contribution": (
        f"{ABLATION_MEASURE}: Leaky 0.01 against ReLU per setting, margin {ABLATION_MARGIN:g} point"
    ),
}
"""Claim 2b's measure, checkpoint, comparison and margin, fixed before the run."""


@dataclass(frozen=True)
class Setting:
    name: str
    lr: float
    shock: float
    dataset: str = "spirals"
    optimizer: str = "sgd"
    budget: float = 1.0  # this setting's steps: ``budget`` x the scale's steps

    def steps(self, steps: int) -> int:
        return max(4, round(steps * self.budget))

    def checkpoint(self, steps: int) -> int:
        """The step whose near-dead units recovery follows: 0 after a shock, else a quarter."""
        return 0 if self.shock else self.steps(steps) // 4

    @property
    def chance(self) -> float:
        return data.chance(self.dataset)


SETTINGS = (
    Setting("spirals, high learning rate (SGD lr 1.0)", 1.0, 0.0),
    Setting("spirals, bias shock 2 (SGD lr 0.3)", 0.3, 2.0),
    Setting("MNIST-1D, high learning rate (Adam lr 0.2)", 0.2, 0.0, "mnist1d", "adam", 0.4),
    Setting("MNIST-1D, bias shock 2 (Adam lr 0.01)", 0.01, 2.0, "mnist1d", "adam", 0.4),
)


@dataclass(frozen=True)
class Config:
    settings: tuple[Setting, ...]
    arms: tuple[float | str, ...]
    seeds: tuple[int, ...]
    steps: int
    revive_every: int = 200  # steps between two ReDo revivals (the revival arms)

    def train_config(self, setting: Setting, arm: float | str) -> TrainConfig:
        steps = setting.steps(self.steps)
        mnist = setting.dataset == "mnist1d"
        return TrainConfig(
            model="mlp",
            dataset=setting.dataset,
            activation=arm,
            seeds=self.seeds,
            optimizer=setting.optimizer,
            lr=setting.lr,
            batch_size=100 if mnist else 32,
            steps=steps,
            eval_every=0,
            val=0.125,
            bias_shift=setting.shock,
            stats_steps=tuple(sorted({0, setting.checkpoint(self.steps), steps})),
            stats_split="train",
            ablate="near-dead",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": [asdict(s) for s in self.settings],
            "arms": list(self.arms),
            "seeds": list(self.seeds),
            "steps": self.steps,
            "revive_every": self.revive_every,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        return cls(
            tuple(Setting(**s) for s in d["settings"]),
            tuple(d["arms"]),
            tuple(d["seeds"]),
            d["steps"],
            d.get("revive_every", 200),
        )

    @property
    def shock(self) -> Setting | None:
        """The setting of the revival arms: the first bias shock on spirals."""
        return next((s for s in self.settings if s.shock and s.dataset == "spirals"), None)


def plan(scale: str, seed: int = 0) -> Config:
    base = 1000 * seed
    if scale == "quick":
        return Config(SETTINGS, (0.0, 0.01), tuple(base + s for s in range(3)), 200)
    if scale == "standard":
        return Config(SETTINGS, ARMS, tuple(base + s for s in range(10)), 2000)
    return Config(SETTINGS, ARMS, tuple(base + s for s in range(20)), 4000)


def tasks(config: Config) -> list[Task]:
    train = [
        Task(
            NAME,
            "leaky.lab.batched:train",
            config.train_config(setting, arm),
            label=f"{setting.name} {activation_label(arm)}",
        )
        for setting in config.settings
        for arm in config.arms
    ]
    shock = config.shock
    if shock is None:
        return train
    return train + [
        Task(
            NAME,
            "leaky.lab.experiments.dying:revival",
            RevivalConfig(
                arm, shock.lr, shock.shock, config.seeds, config.steps, config.revive_every
            ),
            label=f"{shock.name} {REVIVAL_LABELS[arm]} (Sequential MLP)",
        )
        for arm in REVIVAL_ARMS
    ]


@dataclass(frozen=True)
class RevivalConfig:
    """One arm of the revival comparison: every seed trained alone, as a plain model."""

    arm: str  # one of REVIVAL_ARMS
    lr: float
    shock: float
    seeds: tuple[int, ...]
    steps: int
    revive_every: int
    hidden: int = 100
    batch_size: int = 32

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["seeds"] = list(self.seeds)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RevivalConfig:
        return cls(**{**d, "seeds": tuple(d["seeds"])})


def _near_dead_percent(model: Any, x: Any) -> float:
    """% of hidden units positive on < 1 % of ``x`` (a DeadUnitMonitor pass)."""
    import torch

    from leaky.monitor import DeadUnitMonitor

    with torch.no_grad(), DeadUnitMonitor(model, near_dead=NEAR_DEAD) as mon:
        model(x)
    layers = mon.report().layers
    off = sum(len(x.dead) + len(x.negative_regime) + len(x.near_dead) for x in layers)
    return 100.0 * off / sum(x.units for x in layers)


def revival(config: RevivalConfig) -> dict[str, Any]:
    """Train each seed of one revival arm; per seed: near-dead % at start and end, test
    accuracy % (a diverged run counts at chance), units revived. A pure function of
    ``config``: every draw comes from a generator seeded by the seed.

    Examples:
        >>> r = revival(RevivalConfig("relu+redo", 0.3, 2.0, (0,), 20, 10))
        >>> sorted(r), len(r["end"])
        (['diverged', 'end', 'revived', 'start', 'test_acc'], 1)
    """
    import torch
    from torch import nn

    from leaky.lab import data
    from leaky.monitor import DeadUnitMonitor, revive
    from leaky.nn import LeakyReLU

    if config.arm not in REVIVAL_ARMS:
        raise ValueError(f"Unknown revival arm {config.arm!r}; one of {REVIVAL_ARMS}.")
    ds = data.load("spirals", seed=0, val=0.125)
    x, y = torch.from_numpy(ds.x_train), torch.from_numpy(ds.y_train)
    xt, yt = torch.from_numpy(ds.x_test), torch.from_numpy(ds.y_test)
    slope = 0.01 if config.arm == "leaky" else 0.0
    out: dict[str, list[Any]] = {k: [] for k in ("start", "end", "test_acc", "revived")}
    out["diverged"] = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for seed in config.seeds:
            g = torch.Generator().manual_seed(int(seed))
            h = config.hidden
            first, second = nn.Linear(ds.features, h), nn.Linear(h, h)
            model = nn.Sequential(
                first, LeakyReLU(slope), second, LeakyReLU(slope), nn.Linear(h, ds.classes)
            )
            with torch.no_grad():
                for layer in model:
                    if isinstance(layer, nn.Linear):
                        bound = 1 / math.sqrt(layer.in_features)
                        nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=g)
                        layer.bias.uniform_(-bound, bound, generator=g)
                first.bias.sub_(config.shock)
                second.bias.sub_(config.shock)
            opt = torch.optim.SGD(model.parameters(), lr=config.lr)
            start = _near_dead_percent(model, x)
            revived = 0
            for step in range(1, config.steps + 1):
                idx = torch.randint(len(x), (config.batch_size,), generator=g)
                loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if (
                    config.arm == "relu+redo"
                    and step % config.revive_every == 0
                    and step < config.steps
                ):
                    with torch.no_grad(), DeadUnitMonitor(model) as mon:
                        model(x)
                    found = revive(model, mon.report(), optimizer=opt, generator=g)
                    revived += sum(len(u) for u in found.values())
            with torch.no_grad():
                logits = model(xt)
            bad = not bool(torch.isfinite(logits).all())
            out["diverged"].append(bad)
            out["start"].append(start)
            out["end"].append(math.nan if bad else _near_dead_percent(model, x))
            acc = float((logits.argmax(1) == yt).float().mean()) * 100
            out["test_acc"].append(data.chance("spirals") * 100 if bad else acc)
            out["revived"].append(revived)
    finally:
        torch.set_num_threads(threads)
    return {
        k: [None if isinstance(v, float) and math.isnan(v) else v for v in vs]
        for k, vs in out.items()
    }


def _near_dead_units(result: TrainResult, m: int, index: int) -> np.ndarray | None:
    """Member ``m``'s per-unit near-dead flags (every hidden layer) at the ``index``-th
    measured step; None for a diverged member or a step not measured."""
    member = result.members[m]
    if member.diverged or len(member.activations) <= abs(index) - (index < 0):
        return None
    sites = member.activations[index].sites
    return np.concatenate([np.asarray(s.positive_fraction) for s in sites]) < NEAR_DEAD


def near_dead(result: TrainResult, index: int) -> np.ndarray:
    """Per member: the fraction of hidden units positive on < 1 % of the inputs at the
    ``index``-th measured step (NaN for a diverged member)."""
    out = np.full(len(result.members), math.nan)
    for m in range(len(result.members)):
        flags = _near_dead_units(result, m, index)
        if flags is not None:
            out[m] = float(np.mean(flags))
    return out


def recovery(result: TrainResult, checkpoint: int) -> np.ndarray:
    """Per member: of the units near-dead at the ``checkpoint``-th measured step, the
    fraction not near-dead at the last one (NaN when none was near-dead, or diverged).

    Examples:
        >>> from leaky.lab.batched import train
        >>> c = TrainConfig(dataset="spirals", seeds=(0,), steps=4, eval_every=0,
        ...                 bias_shift=50.0, stats_steps=(0, 4), optimizer="sgd", lr=0.1)
        >>> recovery(train(c), 0).tolist()  # a shock of 50: no unit comes back in 4 steps
        [0.0]
    """
    out = np.full(len(result.members), math.nan)
    for m in range(len(result.members)):
        before = _near_dead_units(result, m, checkpoint)
        after = _near_dead_units(result, m, -1)
        if before is None or after is None or not before.any():
            continue
        out[m] = float(np.mean(~after[before]))
    return out


@dataclass(frozen=True)
class Arm:
    setting: str
    arm: float | str
    start: tuple[float, ...]  # percent of units near-dead at initialisation, per seed
    end: tuple[float, ...]  # after training (NaN: diverged)
    test_acc: tuple[float, ...]  # percent; a diverged run counts as chance
    diverged: int
    error: str | None = None
    checkpoint: tuple[float, ...] = ()  # percent near-dead at the checkpoint
    recovered: tuple[float, ...] = ()  # percent of those not near-dead at the end (NaN: none)
    ablation_loss: tuple[float, ...] = ()  # accuracy points lost, near-dead units zeroed

    @property
    def label(self) -> str:
        return activation_label(self.arm)

    def mean(self, key: str) -> float:
        v = np.asarray(getattr(self, key), dtype=float)
        return float(np.nanmean(v)) if np.isfinite(v).any() else math.nan


@dataclass(frozen=True)
class RevivalArm:
    arm: str  # one of REVIVAL_ARMS
    start: tuple[float, ...]
    end: tuple[float, ...]
    test_acc: tuple[float, ...]
    revived: tuple[int, ...]
    diverged: int
    error: str | None = None

    @property
    def label(self) -> str:
        return REVIVAL_LABELS[self.arm]

    def mean(self, key: str) -> float:
        v = np.asarray(getattr(self, key), dtype=float)
        return float(np.nanmean(v)) if np.isfinite(v).any() else math.nan


@dataclass(frozen=True)
class Result:
    config: Config
    arms: tuple[Arm, ...]
    revival: tuple[RevivalArm, ...] = ()

    def revival_arm(self, arm: str) -> RevivalArm | None:
        return next((a for a in self.revival if a.arm == arm), None)

    def arm(self, setting: str, arm: float | str) -> Arm:
        return next(a for a in self.arms if a.setting == setting and a.arm == arm)

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "arms": [record(a) for a in self.arms],
            "revival": [record(a) for a in self.revival],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Result:
        arms = tuple(
            Arm(
                a["setting"],
                a["arm"],
                floats(a["start"]),
                floats(a["end"]),
                floats(a["test_acc"]),
                a["diverged"],
                a["error"],
                floats(a.get("checkpoint", ())),
                floats(a.get("recovered", ())),
                floats(a.get("ablation_loss", ())),
            )
            for a in d["arms"]
        )
        revival = tuple(
            RevivalArm(
                a["arm"],
                floats(a["start"]),
                floats(a["end"]),
                floats(a["test_acc"]),
                tuple(a["revived"]),
                a["diverged"],
                a["error"],
            )
            for a in d.get("revival", [])
        )
        return cls(Config.from_dict(d["config"]), arms, revival)


def summarize(config: Config, outcomes: Sequence[Outcome]) -> Result:
    arms = []
    it = iter(outcomes)
    for setting in config.settings:
        for arm in config.arms:
            outcome = next(it)
            if not outcome.ok:
                arms.append(Arm(setting.name, arm, (), (), (), 0, outcome.error))
                continue
            r = TrainResult.from_dict(outcome.value)
            bad = r.diverged | ~np.isfinite(r.final("test_acc"))
            test = np.where(bad, setting.chance, r.final("test_acc")) * 100
            ablated = np.array(
                [math.nan if m.ablated_test_acc is None else m.ablated_test_acc for m in r.members]
            )
            steps = list(r.config.stats_steps)
            ckpt = setting.checkpoint(config.steps)
            index = steps.index(ckpt) if ckpt in steps else 0
            arms.append(
                Arm(
                    setting.name,
                    arm,
                    tuple(map(float, near_dead(r, 0) * 100)),
                    tuple(map(float, near_dead(r, -1) * 100)),
                    tuple(map(float, test)),
                    int(bad.sum()),
                    None,
                    tuple(map(float, near_dead(r, index) * 100)),
                    tuple(map(float, recovery(r, index) * 100)),
                    tuple(map(float, np.where(bad, math.nan, test - ablated * 100))),
                )
            )
    revival = []
    if config.shock is not None:
        for arm in REVIVAL_ARMS:
            outcome = next(it)
            if not outcome.ok:
                revival.append(RevivalArm(arm, (), (), (), (), 0, outcome.error))
                continue
            v = outcome.value
            f = [math.nan if e is None else float(e) for e in v["end"]]
            revival.append(
                RevivalArm(
                    arm,
                    tuple(map(float, v["start"])),
                    tuple(f),
                    tuple(map(float, v["test_acc"])),
                    tuple(int(r) for r in v["revived"]),
                    int(sum(v["diverged"])),
                )
            )
    return Result(config, tuple(arms), tuple(revival))


NEAR_DEAD_MEASURE = "near-dead units at the end (% of hidden units; positive on < 1 % of inputs)"


def _paired(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    claim: str,
    measure: str,
    margin: float,
    kind: str,
) -> verdicts.Comparison | None:
    """A against B over the seeds where both are measured (at least 2)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(x) != len(y):
        return None
    both = np.isfinite(x) & np.isfinite(y)
    if both.sum() < 2:
        return None
    return verdicts.compare(
        x[both], y[both], claim=claim, measure=measure, margin=margin, kind=kind
    )


def _fewer_near_dead(
    a: Sequence[float], b: Sequence[float], claim: str
) -> verdicts.Comparison | None:
    """A ends with fewer near-dead units than B, paired over the seeds both have."""
    return _paired(a, b, claim, NEAR_DEAD_MEASURE, MARGIN, verdicts.LESS)


def _higher_accuracy(
    a: Sequence[float], b: Sequence[float], claim: str
) -> verdicts.Comparison | None:
    """A reaches a higher test accuracy than B (a diverged run counts at chance)."""
    return _paired(a, b, claim, "test accuracy (points)", 1.0, verdicts.GREATER)


def recovery_comparison(result: Result, arm: float | str) -> verdicts.Comparison | None:
    """Claim 2b's primary form: do ``arm``'s near-dead units come back more often than
    ReLU's? Each seed's recovery averaged over the settings, paired over seeds."""
    names = [s.name for s in result.config.settings]
    a = [result.arm(s, arm) for s in names]
    relu = [result.arm(s, 0.0) for s in names]
    # a seed counts where both arms were measured in the same settings
    x = np.array([r.recovered for r in a], dtype=float) if all(r.recovered for r in a) else None
    y = (
        np.array([r.recovered for r in relu], dtype=float)
        if all(r.recovered for r in relu)
        else None
    )
    if x is None or y is None or any(r.error for r in (*a, *relu)):
        return None
    both = np.isfinite(x) & np.isfinite(y)
    with np.errstate(all="ignore"):
        xs = np.where(both.any(0), np.nanmean(np.where(both, x, np.nan), axis=0), np.nan)
        ys = np.where(both.any(0), np.nanmean(np.where(both, y, np.nan), axis=0), np.nan)
    return _paired(
        xs,
        ys,
        f"{activation_label(arm)} brings more near-dead units back than ReLU "
        f"(averaged over {len(names)} settings)",
        RECOVERY_MEASURE,
        MARGIN,
        verdicts.GREATER,
    )


def setting_recovery_comparison(a: Arm, relu: Arm) -> verdicts.Comparison | None:
    """One setting: do ``a``'s near-dead units come back more often than ReLU's?"""
    if a.error or relu.error:
        return None
    return _paired(
        a.recovered,
        relu.recovered,
        f"{a.label} brings more near-dead units back than ReLU ({a.setting})",
        RECOVERY_MEASURE,
        MARGIN,
        verdicts.GREATER,
    )


def ablation_comparison(a: Arm, relu: Arm) -> verdicts.Comparison | None:
    """One setting: do ``a``'s near-dead units contribute more than ReLU's (more accuracy
    lost when they are zeroed)?"""
    if a.error or relu.error:
        return None
    return _paired(
        a.ablation_loss,
        relu.ablation_loss,
        f"{a.label}'s near-dead units carry more of the accuracy than ReLU's ({a.setting})",
        ABLATION_MEASURE,
        ABLATION_MARGIN,
        verdicts.GREATER,
    )


def accuracy_comparison(a: Arm, relu: Arm) -> verdicts.Comparison | None:
    if a.error or relu.error:
        return None
    return _higher_accuracy(
        a.test_acc,
        relu.test_acc,
        f"{a.label} reaches a higher test accuracy than ReLU ({a.setting})",
    )


def revival_comparisons(result: Result) -> list[verdicts.Comparison | None]:
    """ReLU + ReDo against ReLU (near-dead units at the end, test accuracy), and Leaky ReLU
    0.01 against ReLU + ReDo (test accuracy): one family, paired over seeds."""
    relu, redo, leaky = (result.revival_arm(a) for a in REVIVAL_ARMS)
    if relu is None or redo is None or leaky is None or relu.error or redo.error or leaky.error:
        return []
    where = f"({result.config.shock.name if result.config.shock else ''}, Sequential MLP)"
    return [
        _fewer_near_dead(
            redo.end, relu.end, f"ReDo revival leaves ReLU with fewer near-dead units {where}"
        ),
        _higher_accuracy(
            redo.test_acc, relu.test_acc, f"ReDo revival gives ReLU a higher test accuracy {where}"
        ),
        _higher_accuracy(
            leaky.test_acc,
            redo.test_acc,
            f"LeakyReLU(0.01) reaches a higher test accuracy than ReLU + ReDo {where}",
        ),
    ]
