"""The claims of the seed document, and the rules that turn measurements into verdicts.

Each function takes the plain data the experiments return and gives a ``Verdict``: one of
"supported", "not supported" or "mixed", the rule that decided it (stated in words, with
its thresholds), and the numbers the rule read. Nothing here is typed in by hand: change
the measurements and the verdicts change with them.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

SUPPORTED, NOT_SUPPORTED, MIXED = "supported", "not supported", "mixed"


@dataclass
class Verdict:
    claim: str
    quote: str  # the seed document's words
    verdict: str
    rule: str
    evidence: dict[str, Any] = field(default_factory=dict)
    finding: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _leaky(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["slope"] > 0]


def _relu(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return next(r for r in rows if r["slope"] == 0)


def nonzero_gradient(sparsity_rows: list[dict[str, Any]]) -> Verdict:
    """Claim 1, from the zero-gradient fractions of the slope sweep."""
    relu = _relu(sparsity_rows)
    leaky = _leaky(sparsity_rows)
    relu_zero = min(relu["zero_grad_fraction_init"], relu["zero_grad_fraction_final"])
    leaky_zero = max(
        max(r["zero_grad_fraction_init"], r["zero_grad_fraction_final"]) for r in leaky
    )
    if leaky_zero <= 0.01 and relu_zero >= 0.10:
        verdict = SUPPORTED
    elif leaky_zero >= relu_zero:
        verdict = NOT_SUPPORTED
    else:
        verdict = MIXED
    return Verdict(
        claim="1. Non-zero gradient",
        quote="Leaky ReLU produces a small non-zero gradient for negative inputs.",
        verdict=verdict,
        rule=(
            "supported if, for every slope > 0, at most 1 % of the gradients reaching the "
            "activations are exactly 0 (at initialisation and after training) while ReLU "
            "blocks at least 10 %; not supported if Leaky blocks as many as ReLU; else mixed"
        ),
        evidence={"relu_zero_grad_fraction": relu_zero, "leaky_max_zero_grad_fraction": leaky_zero},
        finding=(
            f"ReLU passed an exact zero for {relu_zero:.1%} of the gradients; Leaky ReLU for "
            f"at most {leaky_zero:.2%}."
        ),
    )


def no_dying(born_dead_cells: list[dict[str, Any]], stress_groups: list[dict[str, Any]]) -> Verdict:
    """Claim 2, from born-dead probabilities and recovery after a negative-bias shock."""
    # (a) born dead: Leaky never constant where ReLU is, with non-overlapping intervals.
    leaky_cells = [c for c in born_dead_cells if c["slope"] > 0]
    relu_cells = [c for c in born_dead_cells if c["slope"] == 0]
    leaky_max = max((c["p_exact"] for c in leaky_cells), default=math.nan)
    relu_max = max((c["p_exact"] for c in relu_cells), default=math.nan)
    separated = [
        c
        for c in relu_cells
        if all(
            c["ci_exact"][0] > other["ci_exact"][1]
            for other in leaky_cells
            if (other["depth"], other["width"]) == (c["depth"], c["width"])
        )
    ]
    born_ok = leaky_max == 0 and bool(separated)
    leaky_by_init: dict[str, float] = {}
    for c in leaky_cells:
        leaky_by_init[c["init"]] = max(leaky_by_init.get(c["init"], 0.0), c["p_exact"])

    # (b) recovery: shocked units leave the negative regime under Leaky, not under ReLU.
    def recovery(rows: list[dict[str, Any]], key: str) -> float:
        vals = [
            (r["init_dead_or_negative"] - r[key]) / r["init_dead_or_negative"]
            for r in rows
            if r["shock"] > 0 and r["init_dead_or_negative"] > 0 and not math.isnan(r[key])
        ]
        return statistics.fmean(vals) if vals else math.nan

    def shocked_acc(rows: list[dict[str, Any]]) -> float:
        vals = [
            r["test_acc_mean"]
            for r in rows
            if r["shock"] > 0 and not math.isnan(r["test_acc_mean"])
        ]
        return statistics.fmean(vals) if vals else math.nan

    relu_rows = [r for r in stress_groups if r["slope"] == 0]
    leaky_rows = [r for r in stress_groups if r["slope"] > 0]
    relu_rec = recovery(relu_rows, "final_dead")
    leaky_rec = recovery(leaky_rows, "final_negative_regime")
    relu_acc, leaky_acc = shocked_acc(relu_rows), shocked_acc(leaky_rows)
    recover_ok = leaky_rec > relu_rec + 0.10 and leaky_acc > relu_acc + 0.05
    verdict = (
        SUPPORTED if born_ok and recover_ok else MIXED if born_ok or recover_ok else NOT_SUPPORTED
    )
    return Verdict(
        claim="2. Avoids the dying ReLU problem",
        quote=(
            "Leaky ReLU prevents neurons from dying and ensures that they continue to "
            "contribute to the learning process."
        ),
        verdict=verdict,
        rule=(
            "two tests, supported if both hold, mixed if one, not supported if neither: "
            "(a) born dead: no Leaky network is ever exactly constant at initialisation, while "
            "ReLU is, with 95 % Wilson intervals apart in at least one depth x width cell; "
            "(b) after a negative-bias shock, Leaky units leave the negative regime (relative "
            "drop) at least 10 points more than dead ReLU units revive, and shocked Leaky "
            "networks reach a test accuracy at least 5 points higher"
        ),
        evidence={
            "born_dead_relu_max_p": relu_max,
            "born_dead_leaky_max_p": leaky_max,
            "born_dead_cells_apart": len(separated),
            "shock_relu_recovery": relu_rec,
            "shock_leaky_recovery": leaky_rec,
            "shock_relu_test_acc": relu_acc,
            "shock_leaky_test_acc": leaky_acc,
            "born_dead_test": born_ok,
            "recovery_test": recover_ok,
        },
        finding=(
            f"Born dead: ReLU networks were exactly constant at initialisation in up to "
            f"{relu_max:.0%} of trials, Leaky ones in up to "
            + ", ".join(f"{p:.0%} ({init})" for init, p in leaky_by_init.items())
            + f". After the shock, {relu_rec:.0%} of the "
            f"dead ReLU units revived and {leaky_rec:.0%} of the negative-regime Leaky units "
            f"left it; test accuracy {relu_acc:.1%} (ReLU) against {leaky_acc:.1%} (Leaky)."
        ),
    )


def exact_sparsity(sparsity_rows: list[dict[str, Any]]) -> Verdict:
    """Claim 3a: outputs exactly 0, the sparsity ReLU is known for."""
    relu = _relu(sparsity_rows)["zero_fraction_final"]
    leaky = max(r["zero_fraction_final"] for r in _leaky(sparsity_rows))
    if leaky >= 0.5 * relu:
        verdict = SUPPORTED
    elif leaky <= 0.01 and relu >= 0.10:
        verdict = NOT_SUPPORTED
    else:
        verdict = MIXED
    return Verdict(
        claim="3a. Sparse activation (exact zeros)",
        quote="Similar to ReLU, Leaky ReLU encourages sparsity in the network.",
        verdict=verdict,
        rule=(
            "supported if Leaky's fraction of outputs exactly 0 after training is at least "
            "half of ReLU's; not supported if it is at most 1 % while ReLU's is at least 10 %; "
            "else mixed"
        ),
        evidence={"relu_zero_fraction": relu, "leaky_max_zero_fraction": leaky},
        finding=f"Exactly-zero outputs after training: ReLU {relu:.1%}, Leaky at most {leaky:.2%}.",
    )


def sign_sparsity(sparsity_rows: list[dict[str, Any]]) -> Verdict:
    """Claim 3b: units 'off' in sign (pre-activation <= 0), ReLU's zeros made small."""
    relu = _relu(sparsity_rows)["zero_fraction_final"]
    leaky = [r["nonpositive_fraction_final"] for r in _leaky(sparsity_rows)]
    worst = max(abs(v - relu) / relu for v in leaky) if relu > 0 else math.inf
    verdict = SUPPORTED if worst <= 0.25 else MIXED if worst <= 0.5 else NOT_SUPPORTED
    return Verdict(
        claim="3b. Sparse activation (negative regime)",
        quote="...setting negative input values to a small multiple of the input, effectively "
        "reducing the number of active neurons.",
        verdict=verdict,
        rule=(
            "supported if, for every slope, the fraction of pre-activations <= 0 after "
            "training is within 25 % (relative) of ReLU's exactly-zero fraction; mixed within "
            "50 %; else not supported"
        ),
        evidence={"relu_zero_fraction": relu, "leaky_nonpositive_fractions": leaky},
        finding=(
            f"Pre-activations <= 0 under Leaky: {min(leaky):.1%} to {max(leaky):.1%}, against "
            f"ReLU's {relu:.1%} exact zeros: as many units are 'off', but they output a small "
            "negative value, not 0."
        ),
    )


def stability(stress_groups: list[dict[str, Any]]) -> Verdict:
    """Claim 4, from divergence counts and accuracies under stress."""
    by_config: dict[tuple, dict[float, dict[str, Any]]] = {}
    for r in stress_groups:
        by_config.setdefault((r["dataset"], r["lr"], r["shock"]), {})[r["slope"]] = r
    relu_div = sum(g[0.0]["diverged"] for g in by_config.values() if 0.0 in g)
    leaky_div: dict[float, int] = {}
    diffs, relu_std, leaky_std = [], [], []
    more_divergence = 0
    for group in by_config.values():
        relu = group.get(0.0)
        if relu is None:
            continue
        for slope, row in group.items():
            if slope == 0:
                continue
            leaky_div[slope] = leaky_div.get(slope, 0) + row["diverged"]
            more_divergence += row["diverged"] > relu["diverged"]
            if not (math.isnan(row["test_acc_mean"]) or math.isnan(relu["test_acc_mean"])):
                diffs.append(row["test_acc_mean"] - relu["test_acc_mean"])
                relu_std.append(relu["test_acc_std"])
                leaky_std.append(row["test_acc_std"])
    diff = statistics.fmean(diffs) if diffs else math.nan
    worst_div = max(leaky_div.values(), default=0)
    std_ok = statistics.fmean(leaky_std) <= statistics.fmean(relu_std) if diffs else False
    if more_divergence == 0 and diff >= -0.01 and std_ok:
        verdict = SUPPORTED
    elif worst_div > relu_div or diff < -0.02:
        verdict = NOT_SUPPORTED
    else:
        verdict = MIXED
    return Verdict(
        claim="4. Stability and robustness of training",
        quote="Leaky ReLU introduces a more stable and robust training process.",
        verdict=verdict,
        rule=(
            "supported if no Leaky slope diverges in more runs than ReLU in any stress "
            "configuration, its mean test accuracy is at most 1 point lower, and its spread "
            "over seeds is no larger; not supported if some slope diverges in more runs than "
            "ReLU in total, or its accuracy is more than 2 points lower; else mixed"
        ),
        evidence={
            "relu_diverged_runs": relu_div,
            "leaky_diverged_runs": leaky_div,
            "configs_where_leaky_diverged_more": more_divergence,
            "mean_test_acc_difference": diff,
            "mean_seed_std_relu": statistics.fmean(relu_std) if relu_std else math.nan,
            "mean_seed_std_leaky": statistics.fmean(leaky_std) if leaky_std else math.nan,
        },
        finding=(
            f"Diverged runs: ReLU {relu_div}, Leaky "
            + ", ".join(f"{s:g}: {n}" for s, n in sorted(leaky_div.items()))
            + f"; mean test-accuracy difference (Leaky - ReLU) {diff:+.1%}."
        ),
    )


def slope_matters(slope_rows: list[dict[str, Any]]) -> Verdict:
    """Claim 5, from the slope sweep: is the spread between slopes above seed noise?"""
    rows = [r for r in slope_rows if not math.isnan(r["test_acc_mean"])]
    best = max(rows, key=lambda r: r["test_acc_mean"])
    worst = min(rows, key=lambda r: r["test_acc_mean"])
    gap = best["test_acc_mean"] - worst["test_acc_mean"]
    noise = 2 * math.hypot(best["test_acc_sem"], worst["test_acc_sem"])
    relu = _relu(rows)
    verdict = SUPPORTED if gap > noise else NOT_SUPPORTED
    return Verdict(
        claim="5. The slope is worth tuning",
        quote="The parameter alpha is often chosen empirically or through hyperparameter tuning.",
        verdict=verdict,
        rule=(
            "supported if the best and worst slope's mean test accuracies differ by more than "
            "twice the standard error of that difference (over seeds); else not supported "
            "(the choice is lost in seed noise at this scale)"
        ),
        evidence={
            "best_slope": best["slope"],
            "best_test_acc": best["test_acc_mean"],
            "worst_slope": worst["slope"],
            "worst_test_acc": worst["test_acc_mean"],
            "gap": gap,
            "two_standard_errors": noise,
            "relu_test_acc": relu["test_acc_mean"],
        },
        finding=(
            f"Best slope {best['slope']:g} ({best['test_acc_mean']:.1%}), worst "
            f"{worst['slope']:g} ({worst['test_acc_mean']:.1%}): a gap of {gap:.2%} against "
            f"{noise:.2%} of seed noise; ReLU {relu['test_acc_mean']:.1%}."
        ),
    )
