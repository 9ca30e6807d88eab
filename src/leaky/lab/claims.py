"""The claims of the seed document, and the rules that turn measurements into verdicts.

Each claim is judged on a measure that can fail, against controls run through the same code
(``leaky.lab.experiments``), by the rules of ``leaky.lab.stats``: a primary comparison whose
verdict is the claim's (supported / not supported / inconclusive), and secondary comparisons
that show how the answer depends on the slope, the setting or the control. The comparisons
of one claim form one family, corrected together with Holm's method. Claims true by
definition (1 and 3a) are sanity checks, labelled so: they check the code, not the claim.

Nothing here is typed in by hand: change the measurements and the verdicts change with them.
A quick (smoke) run's verdicts are marked preliminary everywhere they appear.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from leaky.functional import leaky_relu_derivative
from leaky.lab import verdicts
from leaky.lab.experiments import born_dead, dying, gradients, slopes, stability
from leaky.lab.models import activation_label


@dataclass(frozen=True)
class Claim:
    """One claim: its verdict (the primary comparison's), the family, and the finding."""

    key: str
    title: str
    quote: str
    primary: verdicts.Verdict | None
    secondary: tuple[verdicts.Verdict, ...] = ()
    finding: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def verdict(self) -> str:
        return self.primary.verdict if self.primary is not None else "not measured"

    @property
    def preliminary(self) -> bool:
        return self.primary is not None and self.primary.preliminary

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "quote": self.quote,
            "verdict": self.verdict,
            "preliminary": self.preliminary,
            "primary": None if self.primary is None else self.primary.to_dict(),
            "secondary": [v.to_dict() for v in self.secondary],
            "finding": self.finding,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Claim:
        primary = None if d["primary"] is None else verdicts.Verdict.from_dict(d["primary"])
        return cls(
            d["key"],
            d["title"],
            d["quote"],
            primary,
            tuple(verdicts.Verdict.from_dict(v) for v in d["secondary"]),
            d["finding"],
            tuple(d["notes"]),
        )


QUOTES = {
    "1": "Leaky ReLU produces a small non-zero gradient for negative inputs.",
    "2a": "By introducing a small slope for negative inputs, Leaky ReLU prevents neurons "
    "from dying.",
    "2b": "Leaky ReLU prevents neurons from becoming permanently inactive during training.",
    "3a": "Similar to ReLU, Leaky ReLU encourages sparsity in the network.",
    "3b": "... by setting negative input values to a small multiple of the input, "
    "effectively reducing the number of active neurons.",
    "4": "Leaky ReLU introduces a more stable and robust training process.",
    "5": "The parameter alpha is often chosen empirically or through hyperparameter tuning.",
    "6": gradients.QUOTE,
}


PREREGISTERED: dict[str, dict[str, Any]] = {
    "2a": {
        "measure": (
            f"untrainable at initialisation: a short training explains less than "
            f"{born_dead.TRAINABLE_R2:g} of a target's variance (R²)"
        ),
        "comparison": "Leaky ReLU 0.01 (He init) against ReLU (He init), deep and narrow networks",
        "test": "Fisher's exact test, two-sided; Holm over the family",
    },
    "2b": {
        "measure": dying.NEAR_DEAD_MEASURE,
        "comparison": "Leaky ReLU 0.01 against ReLU, paired over seeds, per setting",
        "margin": f"{dying.MARGIN:g} points of units",
        "test": "paired t-test, two-sided (TOST for no difference); Holm",
    },
    "3b": slopes.PREREGISTERED_3B,
    "4": stability.PREREGISTERED,
    "6": gradients.PREREGISTERED,
    "5": {
        "measure": "test accuracy (points), the test set read once",
        "comparison": (
            "the slope chosen on validation against the default 0.01, paired over seeds"
        ),
        "margin": f"{slopes.ACC_MARGIN:g} point",
        "test": "paired t-test, two-sided (TOST for no difference); Holm",
    },
}
"""Each judged claim's measure, comparison, margin and test, fixed in code before any run
(claims 1 and 3a are sanity checks: true by definition). The report prints them first."""


def _family(
    comparisons: list[verdicts.Comparison | None], preliminary: bool
) -> list[verdicts.Verdict | None]:
    """Judge the comparisons that exist as one Holm family; None stays None (not measured)."""
    present = [c for c in comparisons if c is not None]
    judged = iter(verdicts.judge_family(present, preliminary=preliminary) if present else [])
    return [None if c is None else next(judged) for c in comparisons]


def _pct(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.1f} %"


# --- claim 1 and 3a: true by definition ---------------------------------------------------


def gradient_sanity(preliminary: bool) -> Claim:
    x = np.linspace(-4.0, -1e-3, 1001)
    d = leaky_relu_derivative(x, 0.01)
    zero = float(np.mean(d == 0))
    verdict = verdicts.sanity(
        "1. Non-zero gradient",
        measure="fraction of negative inputs where leaky_relu_derivative(x, 0.01) is 0",
        value=zero,
        n=len(x),
        preliminary=preliminary,
    )
    return Claim(
        "1",
        "1. Non-zero gradient",
        QUOTES["1"],
        verdict,
        finding=(
            f"The derivative is the slope (0.01) at every negative input tested ({zero:.0%} "
            "zeros): true by definition. Whether that gradient is useful is the question of "
            "claim 2b (do units pushed below zero come back?)."
        ),
    )


def exact_zero_sanity(result: slopes.Result | None, preliminary: bool) -> Claim:
    if result is None:
        return Claim("3a", "3a. Sparse activation (exact zeros)", QUOTES["3a"], None)
    model = result.config.models[0]
    relu = result.arm(model, 0.0)
    leaky = (
        result.arm(model, slopes.DEFAULT_SLOPE)
        if slopes.DEFAULT_SLOPE in result.config.arms
        else None
    )
    value = leaky.mean("exact_zero") if leaky is not None else math.nan
    verdict = verdicts.sanity(
        "3a. Sparse activation (exact zeros)",
        measure=f"outputs exactly 0 under Leaky ReLU 0.01 after training ({model}, %)",
        value=0.0 if not math.isfinite(value) else value,
        n=len(result.config.seeds),
        preliminary=preliminary,
    )
    return Claim(
        "3a",
        "3a. Sparse activation (exact zeros)",
        QUOTES["3a"],
        verdict,
        finding=(
            f"Exactly-zero outputs after training ({model}): ReLU {_pct(relu.mean('exact_zero'))}, "
            f"Leaky 0.01 {_pct(value)}. Leaky ReLU outputs exactly 0 only at x == 0, by "
            "definition: it is not sparse in ReLU's exact sense. Claim 3b asks the graded "
            "question."
        ),
    )


# --- claim 2a ----------------------------------------------------------------------------


def born_dead_claim(result: born_dead.Result | None, preliminary: bool) -> Claim:
    key, title = "2a", "2a. No born-dead networks (deep, narrow, at initialisation)"
    if result is None:
        return Claim(key, title, QUOTES[key], None)
    relu = born_dead.Arm(0.0).label
    arms = [a.label for a in result.config.arms if a.label != relu]
    leaky_default = born_dead.Arm(0.01).label
    order = [leaky_default] + [a for a in arms if a != leaky_default]
    comparisons = [born_dead.comparison(result, a, relu) for a in order]
    judged = _family(comparisons, preliminary)
    primary, secondary = judged[0], tuple(v for v in judged[1:] if v is not None)
    rai = born_dead.Arm(0.0, "rai").label
    notes = []
    rai_verdict = next((v for a, v in zip(order, judged, strict=True) if a == rai), None)
    if rai_verdict is not None and rai_verdict.verdict != verdicts.SUPPORTED:
        notes.append(
            "The positive control (RAI, known to reduce born-dead ReLU networks) did not "
            "reach 'supported': this grid may lack the power to show an effect of that size."
        )
    deep = [p for p in result.points if p.depth >= 10]
    near = {
        label: max((p.near.estimate for p in deep if p.arm == label), default=math.nan)
        for label in (relu, leaky_default)
    }
    exact = {
        label: (
            max((p.exact32.estimate for p in deep if p.arm == label), default=math.nan),
            max((p.exact64.estimate for p in deep if p.arm == label), default=math.nan),
        )
        for label in (relu, leaky_default)
    }
    fu_l, n_l = result.pooled_untrainable(leaky_default)
    fu_r, n_r = result.pooled_untrainable(relu)
    finding = (
        f"At depth >= 10, up to {near[relu]:.0%} of ReLU networks were nearly constant over "
        f"their inputs at initialisation and up to {near[leaky_default]:.0%} of Leaky 0.01 "
        f"ones. Untrainable (a short training explains < 10 % of a target's variance): ReLU "
        f"{fu_r}/{n_r}, Leaky 0.01 {fu_l}/{n_l}. Exactly constant Leaky networks "
        f"({exact[leaky_default][0]:.1%} in float32, {exact[leaky_default][1]:.1%} in float64) "
        "are a rounding effect: a Leaky network is never constant mathematically."
    )
    if result.errors:
        notes.append(f"{len(result.errors)} cell(s) failed: " + "; ".join(result.errors))
    return Claim(key, title, QUOTES[key], primary, secondary, finding, tuple(notes))


# --- claim 2b ----------------------------------------------------------------------------


def dying_claim(result: dying.Result | None, preliminary: bool) -> Claim:
    key, title = "2b", "2b. Units stay alive during training"
    if result is None:
        return Claim(key, title, QUOTES[key], None)
    settings = [s.name for s in result.config.settings]
    others = [a for a in result.config.arms if a != 0.0]
    comps, labels = [], []
    for s in settings:
        relu = result.arm(s, 0.0)
        for a in sorted(others, key=lambda v: (v != 0.01, str(v))):
            comps.append(dying.comparison(result.arm(s, a), relu))
            labels.append((s, a))
    judged = _family(comps, preliminary)
    primary = judged[0]
    secondary = tuple(v for v in judged[1:] if v is not None)
    acc = _family(
        [dying.accuracy_comparison(result.arm(s, a), result.arm(s, 0.0)) for s, a in labels],
        preliminary,
    )
    secondary += tuple(v for v in acc if v is not None)
    parts = []
    for s in settings:
        relu = result.arm(s, 0.0)
        leaky = result.arm(s, 0.01) if 0.01 in result.config.arms else None
        if leaky is None:
            continue
        parts.append(
            f"{s}: near-dead units {_pct(relu.mean('start'))} -> {_pct(relu.mean('end'))} under "
            f"ReLU, {_pct(leaky.mean('start'))} -> {_pct(leaky.mean('end'))} under Leaky 0.01 "
            f"(test accuracy {relu.mean('test_acc'):.1f} % vs {leaky.mean('test_acc'):.1f} %)"
        )
    finding = "; ".join(parts) + (
        ". A near-dead Leaky unit is in the negative regime: it still learns, at the slope."
    )
    revived = _family(dying.revival_comparisons(result), preliminary)
    secondary += tuple(v for v in revived if v is not None)
    r_relu, redo, r_leaky = (result.revival_arm(a) for a in dying.REVIVAL_ARMS)
    if r_relu and redo and r_leaky and not (r_relu.error or redo.error or r_leaky.error):
        finding += (
            f" Acting on it (bias shock, a Sequential MLP): near-dead units at the end "
            f"{_pct(r_relu.mean('end'))} under ReLU, {_pct(redo.mean('end'))} under ReLU with "
            f"ReDo revival every {result.config.revive_every} steps "
            f"({np.mean(redo.revived):.0f} units revived per run), {_pct(r_leaky.mean('end'))} "
            f"under Leaky 0.01; test accuracy {r_relu.mean('test_acc'):.1f} %, "
            f"{redo.mean('test_acc'):.1f} %, {r_leaky.mean('test_acc'):.1f} %."
        )
    return Claim(key, title, QUOTES[key], primary, secondary, finding)


# --- claim 3b ----------------------------------------------------------------------------


def sparsity_claim(result: slopes.Result | None, preliminary: bool) -> Claim:
    """Claim 3b against ReLU: near-zero outputs, Hoyer sparsity, and zeroing the negatives."""
    key, title = "3b", "3b. Sparse activation (graded: like ReLU?)"
    default = slopes.DEFAULT_SLOPE
    if result is None or not {0.0, default} <= set(result.config.arms):
        return Claim(key, title, QUOTES[key], None)
    model = result.config.models[0]
    leaky, relu = result.arm(model, default), result.arm(model, 0.0)
    comps: list[verdicts.Comparison | None] = [
        slopes.sparsity_comparison(leaky, relu, verdicts.NO_DIFFERENCE),
        slopes.hoyer_comparison(leaky, relu),
        slopes.ablation_comparison(leaky),
    ]
    if 1.0 in result.config.arms_of(model):
        comps.append(slopes.sparsity_comparison(leaky, result.arm(model, 1.0)))
    judged = _family(comps, preliminary)
    primary, secondary = judged[0], tuple(v for v in judged[1:] if v is not None)

    def mean(arm: slopes.Arm, key: str) -> float:
        return arm.mean(key)

    rows = ", ".join(
        f"{result.arm(model, a).label} {_pct(mean(result.arm(model, a), 'near_zero_strict'))}"
        f" (Hoyer {mean(result.arm(model, a), 'hoyer'):.2f})"
        for a in result.config.arms_of(model)
        if not result.arm(model, a).error
    )
    lost = (
        f" Zeroing Leaky 0.01's negative outputs after training moves its test accuracy from "
        f"{mean(leaky, 'test_acc'):.1f} % to {mean(leaky, 'ablated_test_acc'):.1f} %."
        if leaky.ablated_test_acc
        else ""
    )
    finding = (
        f"Outputs near zero (|h| < {slopes.SPARSITY_CUT:g} x the layer's mean |h|) after "
        f"training ({model}, validation split): {rows}.{lost} The cut-off sits below the "
        "smallest slope, so a Leaky output a*z counts as near zero only when z itself is; the "
        "figure shows the whole curve over cut-offs (at a cut-off above the slope, Leaky "
        "ReLU's negative outputs all count as zero)."
    )
    return Claim(key, title, QUOTES[key], primary, secondary, finding)


# --- claim 4 -----------------------------------------------------------------------------


def stability_claim(result: stability.Result | None, preliminary: bool) -> Claim:
    """Claim 4 from the learning rate x slope grid (``leaky.lab.experiments.stability``)."""
    key, title = "4", "4. Stability and robustness of training"
    if result is None or not result.comparisons:
        return Claim(key, title, QUOTES[key], None)
    judged = _family([stability.comparison(r) for r in result.comparisons], preliminary)
    primary, secondary = judged[0], tuple(v for v in judged[1:] if v is not None)
    lines = []
    for s in result.config.settings:
        parts = []
        for arm in result.config.arms:
            a = result.summary(s.name, arm)
            if a is None or not a.runs:
                continue
            parts.append(
                f"{a.label} {a.failures}/{a.runs} failed"
                + (f" ({a.diverged} diverged)" if a.diverged else "")
                + f", {a.spikes} spikes, best {a.best_test_acc:.1f} % at lr {a.best_lr:g}"
            )
        lines.append(f"{s.name}: " + "; ".join(parts))
    fl, nl = result.pooled(stability.PRIMARY_ARM)
    fr, nr = result.pooled(stability.RELU)
    finding = (
        f"Failed runs over the grid (diverged, or validation accuracy below the linear "
        f"floor of {result.floor:.1f} %): ReLU {fr}/{nr}, Leaky 0.01 {fl}/{nl}. "
        + ". ".join(lines)
        + ". A loss spike (the final training loss above the initial one) is counted apart, "
        "never as a failure."
    )
    return Claim(key, title, QUOTES[key], primary, secondary, finding)


# --- claim 5 -----------------------------------------------------------------------------


def slope_claim(result: slopes.Result | None, preliminary: bool) -> Claim:
    key, title = "5", "5. The slope is worth tuning"
    if result is None or slopes.DEFAULT_SLOPE not in result.config.arms:
        return Claim(key, title, QUOTES[key], None)
    comps, picks = [], []
    for model in result.config.models:
        best = result.selected(model)
        if best is None:
            continue
        picks.append((model, best))
        default = result.arm(model, slopes.DEFAULT_SLOPE)
        if best.arm == default.arm:  # tuning chose the default: compare with the runner-up
            others = [
                a
                for a in result.arms
                if a.model == model and a.arm in slopes.SLOPES and a.arm != default.arm
            ]
            runner = max(others, key=lambda a: a.mean("val_acc"), default=None)
            comps.append(slopes.accuracy_comparison(default, runner) if runner else None)
        else:
            comps.append(slopes.accuracy_comparison(best, default))
    judged = _family(comps, preliminary)
    present = [v for v in judged if v is not None]
    primary, secondary = (present[0], tuple(present[1:])) if present else (None, ())
    text = "; ".join(
        f"{model}: chosen on validation {best.label} (test {best.mean('test_acc'):.1f} %), "
        f"default 0.01 {result.arm(model, slopes.DEFAULT_SLOPE).mean('test_acc'):.1f} %, "
        f"ReLU {result.arm(model, 0.0).mean('test_acc'):.1f} %"
        for model, best in picks
    )
    finding = (
        f"{text}. The slope chosen on validation is tested against the default 0.01 on "
        "test accuracy, paired over seeds, margin 1 point. Xu et al. (2015) found a very "
        "leaky slope (1/5.5) helped on CIFAR while 0.01 did not; here the numbers decide."
    )
    return Claim(key, title, QUOTES[key], primary, secondary, finding)


# --- what should I use? -----------------------------------------------------------------


@dataclass(frozen=True)
class Advice:
    model: str
    ranking: tuple[dict[str, Any], ...]  # arms by validation accuracy, with test intervals
    verdicts: tuple[verdicts.Verdict, ...]  # each slope against ReLU, one Holm family
    recommendation: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "ranking": list(self.ranking),
            "verdicts": [v.to_dict() for v in self.verdicts],
            "recommendation": self.recommendation,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Advice:
        return cls(
            d["model"],
            tuple(d["ranking"]),
            tuple(verdicts.Verdict.from_dict(v) for v in d["verdicts"]),
            d["recommendation"],
        )


def advice(result: slopes.Result | None, preliminary: bool) -> list[Advice]:
    """Per model: the arms ranked on validation, every slope against ReLU, and the advice."""
    if result is None:
        return []
    out = []
    for model in result.config.models:
        arms = [a for a in result.arms if a.model == model and a.error is None and a.val_acc]
        ranking = []
        for a in sorted(arms, key=lambda a: -a.mean("val_acc")):
            lo, hi = a.interval("test_acc")
            ranking.append(
                {
                    "arm": a.label,
                    "val_acc": a.mean("val_acc"),
                    "test_acc": a.mean("test_acc"),
                    "test_ci": [lo, hi],
                    "diverged": a.diverged,
                }
            )
        relu = result.arm(model, 0.0)
        slopes_tested = [a for a in arms if a.arm in slopes.SLOPES and a.arm != 0.0]
        judged = [
            v
            for v in _family(
                [slopes.accuracy_comparison(a, relu) for a in slopes_tested], preliminary
            )
            if v is not None
        ]
        better = [v for v in judged if v.verdict == verdicts.SUPPORTED]
        worse_or_same = [v for v in judged if v.verdict == verdicts.NOT_SUPPORTED]
        if better:
            top = max(better, key=lambda v: v.effect)
            name = top.claim.split(" reaches")[0]
            rec = (
                f"{name} beats ReLU by {top.effect:+.1f} points [{top.ci_low:+.1f}, "
                f"{top.ci_high:+.1f}] on MNIST-1D ({model}): use it here, and measure on your "
                "own model with 'leaky compare' or tune it with 'leaky tune'."
            )
        elif judged and len(worse_or_same) == len(judged):
            rec = (
                f"On MNIST-1D ({model}) no slope beats ReLU by the 1-point margin: the slope "
                "does not matter here; ReLU or the default 0.01 both do. Your model may "
                "differ: 'leaky compare' measures it."
            )
        else:
            need = max((v.seeds_needed or 0 for v in judged), default=0)
            rec = (
                f"On MNIST-1D ({model}) we cannot tell whether a slope beats ReLU with "
                f"{len(result.config.seeds)} seeds"
                + (f" (about {need} would settle it)" if need else "")
                + ". Measure on your own model with 'leaky compare'."
            )
        if preliminary:
            rec = "PRELIMINARY (quick run, not evidence): " + rec
        out.append(Advice(model, tuple(ranking), tuple(judged), rec))
    return out


# --- claim 6 -----------------------------------------------------------------------------


def vanishing_claim(result: gradients.Result | None, preliminary: bool) -> Claim:
    """The document's third benefit: no vanishing gradient in deep networks."""
    key, title = "6", "6. Prevents vanishing gradients (deep plain networks)"
    if result is None or not gradients.primary_measured(result):
        return Claim(key, title, QUOTES[key], None)
    judged = _family(list(gradients.comparisons(result)), preliminary)
    primary, secondary = judged[0], tuple(v for v in judged[1:] if v is not None)
    return Claim(key, title, QUOTES[key], primary, secondary, gradients.finding(result))


def judge(results: Mapping[str, Any], preliminary: bool) -> list[Claim]:
    """Every claim, in the document's order, from the experiments' results."""
    sl = results.get(slopes.NAME)
    return [
        gradient_sanity(preliminary),
        born_dead_claim(results.get(born_dead.NAME), preliminary),
        dying_claim(results.get(dying.NAME), preliminary),
        exact_zero_sanity(sl, preliminary),
        sparsity_claim(sl, preliminary),
        stability_claim(results.get(stability.NAME), preliminary),
        slope_claim(sl, preliminary),
        vanishing_claim(results.get(gradients.NAME), preliminary),
    ]


__all__ = ["QUOTES", "Advice", "Claim", "activation_label", "advice", "judge"]
