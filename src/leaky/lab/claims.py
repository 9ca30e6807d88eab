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
    "2a": born_dead.PREREGISTERED,
    "2b": dying.PREREGISTERED,
    "3b": slopes.PREREGISTERED_3B,
    "4": stability.PREREGISTERED,
    "6": gradients.PREREGISTERED,
    "5": slopes.PREREGISTERED_5,
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
    """Claim 2a: fewer untrainable deep, narrow networks, per width x depth stratum (CMH)
    at the longest budget; "reduces" or "prevents" decided by the counts."""
    key, title = "2a", "2a. No born-dead networks (deep, narrow, at initialisation)"
    if result is None or not result.trained:
        return Claim(key, title, QUOTES[key], None)
    relu, leaky_default, rai = born_dead.RELU, born_dead.PRIMARY, born_dead.RAI
    arms = [a.label for a in result.config.arms if a.label != relu]
    order = [leaky_default] + [a for a in arms if a != leaky_default]
    # the primary's family: every arm against ReLU at the longest budget (CMH over strata)
    judged = _family([born_dead.comparison(result, a, relu) for a in order], preliminary)
    primary, secondary = judged[0], tuple(v for v in judged[1:] if v is not None)
    budgets = result.config.budgets
    shorter = [born_dead.comparison(result, leaky_default, relu, b) for b in budgets[:-1]]
    secondary += tuple(v for v in _family(shorter, preliminary) if v is not None)
    strata = sorted(result.strata(leaky_default).keys() & result.strata(relu).keys())
    per_stratum = [
        born_dead.stratum_comparison(result, leaky_default, relu, w, d) for w, d in strata
    ]
    secondary += tuple(v for v in _family(per_stratum, preliminary) if v is not None)
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
    counts = ", ".join(
        f"{b} steps: ReLU {'/'.join(map(str, result.pooled_untrainable(relu, b)))}, "
        f"Leaky 0.01 {'/'.join(map(str, result.pooled_untrainable(leaky_default, b)))}"
        for b in budgets
    )
    if primary is not None and primary.verdict == verdicts.SUPPORTED:
        word = "prevents" if result.prevented(leaky_default) else "reduces"
        held = (
            f"Leaky ReLU 0.01 {word} born-dead networks: it leaves fewer deep, narrow networks "
            f"untrainable than ReLU after {budgets[-1]} steps"
            + (
                ""
                if word == "prevents"
                else ", but does not prevent them (some remain untrainable in "
                + ", ".join(
                    f"width {w} depth {d}"
                    for (w, d), t in sorted(result.strata(leaky_default).items())
                    if t.untrainable[-1] > 0
                )
                + ")"
            )
            + ". "
        )
    else:
        held = ""
    finding = (
        held + f"Untrainable (R² < {born_dead.TRAINABLE_R2:g} on the target), summed over "
        f"{len(strata)} width x depth strata: {counts}. At depth >= 10, up to "
        f"{near[relu]:.0%} of ReLU networks were nearly constant over their inputs at "
        f"initialisation and up to {near[leaky_default]:.0%} of Leaky 0.01 ones. Exactly "
        f"constant Leaky networks ({exact[leaky_default][0]:.1%} in float32, "
        f"{exact[leaky_default][1]:.1%} in float64) are a rounding effect: a Leaky network "
        "is never constant mathematically."
    )
    if result.errors:
        notes.append(f"{len(result.errors)} cell(s) failed: " + "; ".join(result.errors))
    return Claim(key, title, QUOTES[key], primary, secondary, finding, tuple(notes))


# --- claim 2b ----------------------------------------------------------------------------


def dying_claim(result: dying.Result | None, preliminary: bool) -> Claim:
    """Claim 2b by recovery: do units near-dead at a checkpoint come back by the end?"""
    key, title = "2b", "2b. Units that fall below zero come back"
    if result is None:
        return Claim(key, title, QUOTES[key], None)
    settings = [s.name for s in result.config.settings]
    others = sorted((a for a in result.config.arms if a != 0.0), key=lambda v: (v != 0.01, str(v)))
    # the primary's family: every arm against ReLU, recovery averaged over the settings
    judged = _family([dying.recovery_comparison(result, a) for a in others], preliminary)
    primary, secondary = judged[0], tuple(v for v in judged[1:] if v is not None)
    default = 0.01 if 0.01 in result.config.arms else None
    per_setting: list[verdicts.Comparison | None] = []
    ablation: list[verdicts.Comparison | None] = []
    accuracy: list[verdicts.Comparison | None] = []
    if default is not None:
        for s in settings:
            leaky, relu = result.arm(s, default), result.arm(s, 0.0)
            per_setting.append(dying.setting_recovery_comparison(leaky, relu))
            ablation.append(dying.ablation_comparison(leaky, relu))
            accuracy.append(dying.accuracy_comparison(leaky, relu))
    per_setting_judged = _family(per_setting, preliminary)
    secondary += tuple(v for v in per_setting_judged if v is not None)
    for family in (ablation, accuracy, dying.revival_comparisons(result)):
        secondary += tuple(v for v in _family(family, preliminary) if v is not None)
    by_setting = dict(zip(settings, per_setting_judged, strict=False))  # empty: no 0.01
    more = [s for s, v in by_setting.items() if v and v.verdict == verdicts.SUPPORTED]
    same = [s for s, v in by_setting.items() if v and v.verdict == verdicts.NOT_SUPPORTED]
    parts = []
    for s in settings:
        relu = result.arm(s, 0.0)
        on = result.arm(s, default) if default is not None else None
        if on is None or relu.error or on.error:
            continue
        leaky = on
        parts.append(
            f"{s}: near-dead at the checkpoint {_pct(relu.mean('checkpoint'))} (ReLU) and "
            f"{_pct(leaky.mean('checkpoint'))} (Leaky 0.01), of which back by the end "
            f"{_pct(relu.mean('recovered'))} and {_pct(leaky.mean('recovered'))}; zeroing the "
            f"units near-dead at the end costs {relu.mean('ablation_loss'):+.1f} and "
            f"{leaky.mean('ablation_loss'):+.1f} points of test accuracy (test accuracy "
            f"{relu.mean('test_acc'):.1f} % and {leaky.mean('test_acc'):.1f} %)"
        )
    finding = "; ".join(parts) + "." if parts else ""
    if per_setting_judged:
        finding += (
            " Leaky 0.01 brings more units back than ReLU in: "
            + ("; ".join(more) if more else "no setting")
            + ". Not in: "
            + ("; ".join(same) if same else "no setting")
            + " (the others inconclusive)."
        )
    r_relu, redo, r_leaky = (result.revival_arm(a) for a in dying.REVIVAL_ARMS)
    if r_relu and redo and r_leaky and not (r_relu.error or redo.error or r_leaky.error):
        finding += (
            f" Acting on it (spirals bias shock, a Sequential MLP): near-dead units at the end "
            f"{_pct(r_relu.mean('end'))} under ReLU, {_pct(redo.mean('end'))} under ReLU with "
            f"ReDo revival every {result.config.revive_every} steps "
            f"({np.mean(redo.revived):.0f} units revived per run), {_pct(r_leaky.mean('end'))} "
            f"under Leaky 0.01; test accuracy {r_relu.mean('test_acc'):.1f} %, "
            f"{redo.mean('test_acc'):.1f} %, {r_leaky.mean('test_acc'):.1f} %."
        )
    return Claim(key, title, QUOTES[key], primary, secondary, finding.strip())


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
        f"{mean(leaky, 'paper_test_acc'):.1f} % to {mean(leaky, 'ablated_test_acc'):.1f} %."
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
    """Claim 5: the slope chosen on the selection seeds against the default 0.01, on the
    confirmation seeds, each slope at the learning rate chosen for it, early stopped."""
    key, title = "5", "5. The slope is worth tuning"
    if result is None or slopes.DEFAULT_SLOPE not in result.config.arms:
        return Claim(key, title, QUOTES[key], None)
    skip = result.config.select
    comps, picks = [], []
    notes_first: list[str] = []
    for model in result.config.models:
        best = result.selected(model)
        if best is None:
            continue
        picks.append((model, best))
        default = result.arm(model, slopes.DEFAULT_SLOPE)
        if best.arm == default.arm:  # tuning chose the default: compare with the runner-up
            runner = result.selected(model, exclude=(slopes.DEFAULT_SLOPE,))
            if runner is not None:
                notes_first.append(
                    f"{model}: tuning chose the default 0.01, so it is tested against the "
                    f"runner-up {runner.label}."
                )
            comps.append(slopes.accuracy_comparison(default, runner, skip=skip) if runner else None)
        else:
            comps.append(slopes.accuracy_comparison(best, default, skip=skip))
    judged = _family(comps, preliminary)
    present = [v for v in judged if v is not None]
    primary, secondary = (present[0], tuple(present[1:])) if present else (None, ())

    def conf(arm: slopes.Arm) -> str:
        v = np.asarray(result.confirmation(arm), dtype=float)
        return f"{np.nanmean(v):.1f} %" if np.isfinite(v).any() else "n/a"

    def lr(arm: slopes.Arm) -> str:
        return f" at lr {arm.lr:g}" if arm.lr is not None and arm.lr_val else ""

    parts = []
    notes = list(notes_first)
    for model, best in picks:
        default, relu = result.arm(model, slopes.DEFAULT_SLOPE), result.arm(model, 0.0)
        parts.append(
            f"{model}: chosen on the selection seeds {best.label}{lr(best)}; on the "
            f"confirmation seeds {conf(best)}, against the default 0.01{lr(default)} "
            f"{conf(default)} and ReLU{lr(relu)} {conf(relu)}"
        )
        gains = [
            (a.label, a.late_gain)
            for a in result.arms
            if a.model == model and a.arm in result.config.tuned and math.isfinite(a.late_gain)
        ]
        if gains:
            worst = max(gains, key=lambda g: g[1])
            trained = worst[1] < slopes.ACC_MARGIN
            notes.append(
                f"{model}: the validation accuracy gained in the last quarter of "
                f"{result.config.steps_of(model):,} steps is at most {worst[1]:+.1f} points "
                f"({worst[0]})"
                + (
                    ": trained to a plateau (below the 1-point margin)."
                    if trained
                    else ": NOT trained to a plateau; the ranking may still move."
                )
            )
    if primary is not None and primary.mde is not None and math.isfinite(primary.mde):
        need = (
            f"; a difference of one margin ({slopes.ACC_MARGIN:g} point) needs about "
            f"{primary.seeds_needed} seeds"
            if primary.seeds_needed
            else ""
        )
        notes.append(
            f"Power: on {primary.n} confirmation seeds the paired test detects a difference of "
            f"{primary.mde:.1f} points with 80 % power (alpha {primary.alpha:g}, from this "
            f"run's spread){need} (--scale full confirms on "
            f"{len(slopes.plan('full').confirmation)})."
        )
    n_sel, n_conf = len(result.config.selection), len(result.config.confirmation)
    finding = (
        "; ".join(parts)
        + f". Learning rate and slope chosen on {n_sel} seeds, judged on {n_conf} others "
        f"(test accuracy at the best validation step, margin {slopes.ACC_MARGIN:g} point). "
        "Xu et al. (2015) found a very leaky slope (1/5.5) helped on CIFAR while 0.01 did "
        "not; here the numbers decide."
    )
    return Claim(key, title, QUOTES[key], primary, secondary, finding, tuple(notes))


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
                [
                    slopes.accuracy_comparison(a, relu, skip=result.config.select)
                    for a in slopes_tested
                ],
                preliminary,
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
                f"{len(result.config.confirmation) or len(result.config.seeds)} seeds"
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
