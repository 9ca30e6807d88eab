"""leaky.lab.stats: known values, the verdict rules, negative controls, records, errors.

Reference values come from closed forms (Student's t with 3 degrees of freedom, the Wilson
score formula, the hypergeometric table of Fisher's tea tasting) or from the literature
(Holm's step-down on a worked example, Newcombe 1998), not from the code under test.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from leaky.lab import stats
from leaky.lab.stats import (
    equivalence,
    fisher,
    holm,
    mean_interval,
    minimum_detectable_effect,
    paired_difference,
    proportion,
    seeds_needed,
)
from leaky.lab.verdicts import (
    GREATER,
    INCONCLUSIVE,
    LESS,
    NO_DIFFERENCE,
    NOT_SUPPORTED,
    SANITY,
    SUPPORTED,
    Comparison,
    Verdict,
    compare,
    compare_failures,
    judge,
    judge_family,
    rule,
    sanity,
)

# A fixed paired sample: differences [0.5, -0.2, 1.0, 1.5], mean 0.7, sd sqrt(1.58 / 3).
A = [1.0, 2.0, 3.0, 4.5]
B = [0.5, 2.2, 2.0, 3.0]
T_975_3 = 3.182446305284263  # Student's t table: 97.5 % quantile, 3 degrees of freedom
SD = math.sqrt(1.58 / 3)
SE = SD / 2


def t3_cdf(t: float) -> float:
    """Student's t CDF with 3 degrees of freedom, in closed form."""
    u = t / math.sqrt(3)
    return 0.5 + (u / (1 + u * u) + math.atan(u)) / math.pi


def properties(max_examples: int = 100) -> settings:
    return settings(max_examples=max_examples, deadline=None)


# --- paired differences ----------------------------------------------------------------


def test_paired_difference_matches_the_hand_computed_t_interval() -> None:
    r = paired_difference(A, B)
    t = 0.7 / SE
    assert r.n == 4 and r.difference == pytest.approx(0.7, abs=1e-12)
    assert r.sd == pytest.approx(SD, rel=1e-12)
    assert r.statistic == pytest.approx(t, rel=1e-12)
    assert (r.ci_low, r.ci_high) == pytest.approx(
        (0.7 - T_975_3 * SE, 0.7 + T_975_3 * SE), rel=1e-9
    )
    assert r.p_value == pytest.approx(2 * (1 - t3_cdf(t)), rel=1e-9)
    assert r.effect_size == pytest.approx(0.7 / SD, rel=1e-12)
    assert r.mean_a == pytest.approx(2.625) and r.mean_b == pytest.approx(1.925)
    assert r.differences == pytest.approx((0.5, -0.2, 1.0, 1.5))
    assert r.mde == pytest.approx(minimum_detectable_effect(SD, 4), rel=1e-12)


def test_paired_difference_interval_at_another_level() -> None:
    r = paired_difference(A, B, confidence=0.9)
    t_95_3 = 2.353363434801823  # Student's t table: 95 % quantile, 3 degrees of freedom
    assert (r.ci_low, r.ci_high) == pytest.approx((0.7 - t_95_3 * SE, 0.7 + t_95_3 * SE))
    assert r.confidence == 0.9
    # Order matters: swapping the arms flips the sign, reordering the seeds in one arm only
    # breaks the pairing and changes the answer.
    assert paired_difference(B, A).difference == pytest.approx(-0.7)
    assert paired_difference(A, B[::-1]).sd != pytest.approx(r.sd)


def test_constant_differences_are_exact_and_warning_free() -> None:
    b = np.array([80.1, 79.3, 81.7, 80.4])
    same = paired_difference(b, b)
    assert (same.difference, same.sd, same.ci_low, same.ci_high) == (0.0, 0.0, 0.0, 0.0)
    assert same.p_value == 1.0 and same.effect_size == 0.0 and same.mde == 0.0
    shifted = paired_difference(b + 0.1, b)  # a - b is 0.1 up to rounding: not noise
    assert shifted.sd == 0.0 and shifted.p_value == 0.0
    assert shifted.ci_low == shifted.ci_high == pytest.approx(0.1)
    assert shifted.effect_size == math.inf and shifted.statistic == math.inf
    assert json.dumps(shifted.to_dict(), allow_nan=False)  # inf -> None


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("arm", ["a", "b"])
def test_nan_or_inf_raises_naming_the_arm_and_the_seed(bad: float, arm: str) -> None:
    values = [80.0, 81.0, 79.5, 80.5]
    broken = [80.0, 81.0, bad, 80.5]
    a, b = (broken, values) if arm == "a" else (values, broken)
    for call in (
        lambda: paired_difference(a, b),
        lambda: equivalence(a, b, 1.0),
        lambda: compare(a, b, claim="c", measure="m", margin=1.0),
    ):
        with pytest.raises(ValueError, match=rf"'{arm}' parameter .*never NaN.*at index 2"):
            call()


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        ([1.0, 2.0, 3.0], [1.0, 2.0], r"'a' and 'b' .* Got 3 and 2 values"),
        ([1.0], [2.0], r"'a' parameter .* at least 2"),
        ([[1.0, 2.0]], [[1.0, 2.0]], r"'a' parameter .*1-D"),
        (["x", "y"], [1.0, 2.0], r"'a' parameter .*finite real"),
    ],
)
def test_bad_samples_raise_one_clear_error(a: object, b: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        paired_difference(a, b)  # type: ignore[arg-type]


# --- power -----------------------------------------------------------------------------


def _t_test_power(effect: float, n: int, sims: int = 20_000) -> float:
    """Monte Carlo power of the two-sided one-sample t-test at 0.05 (sd 1)."""
    d = np.random.default_rng(12).normal(effect, 1.0, size=(sims, n))
    t = d.mean(axis=1) / (d.std(axis=1, ddof=1) / math.sqrt(n))
    return float(np.mean(np.abs(t) > sps.t.ppf(0.975, n - 1)))


def test_mde_has_80_percent_power_by_simulation_and_matches_the_approximation() -> None:
    mde = minimum_detectable_effect(1.0, 10)
    assert _t_test_power(mde, 10) == pytest.approx(0.80, abs=0.015)
    assert _t_test_power(0.7 * mde, 10) < 0.6  # the simulation can tell a wrong MDE
    approx = (sps.t.ppf(0.975, 9) + sps.t.ppf(0.8, 9)) / math.sqrt(10)
    assert mde == pytest.approx(approx, rel=0.01) and mde > approx
    assert minimum_detectable_effect(3.0, 10) == pytest.approx(3 * mde)
    assert minimum_detectable_effect(1.0, 40) < mde < minimum_detectable_effect(1.0, 5)
    assert minimum_detectable_effect(1.0, 2) > 10  # two seeds detect almost nothing
    assert minimum_detectable_effect(1.0, 10, alpha=0.01) > mde


@pytest.mark.parametrize("sd", [0.3, 1.0, 2.5])
def test_seeds_needed_is_the_smallest_n_whose_mde_reaches_the_margin(sd: float) -> None:
    n = seeds_needed(sd, 1.0)
    assert minimum_detectable_effect(sd, n) <= 1.0
    assert n == 2 or minimum_detectable_effect(sd, n - 1) > 1.0


def test_seeds_needed_grows_with_the_noise_and_for_equivalence() -> None:
    n = [seeds_needed(sd, 1.0) for sd in (0.5, 1.0, 2.0, 4.0)]
    assert n == sorted(n) and len(set(n)) == 4
    assert 3.5 < n[3] / n[2] < 4.5  # ~ (sd / margin)^2
    assert seeds_needed(0.0, 1.0) == 2
    assert seeds_needed(1.0, 1.0, for_equivalence=True) > seeds_needed(1.0, 1.0)


def test_seeds_needed_for_equivalence_gives_the_tost_its_power_by_simulation() -> None:
    n = seeds_needed(1.0, 0.8, for_equivalence=True)
    d = np.random.default_rng(3).normal(0.0, 1.0, size=(20_000, n))
    half = sps.t.ppf(0.95, n - 1) * d.std(axis=1, ddof=1) / math.sqrt(n)
    mean = d.mean(axis=1)
    power = np.mean((mean - half > -0.8) & (mean + half < 0.8))
    assert 0.8 <= power < 0.9


# --- equivalence -----------------------------------------------------------------------


def test_tost_p_values_match_the_hand_computed_one_sided_tests() -> None:
    e = equivalence(A, B, margin=1.0)
    p_lower = 1 - t3_cdf((0.7 + 1.0) / SE)  # H0: difference <= -1
    p_upper = t3_cdf((0.7 - 1.0) / SE)  # H0: difference >= 1
    assert (e.p_lower, e.p_upper) == pytest.approx((p_lower, p_upper), rel=1e-9)
    assert e.p_value == max(e.p_lower, e.p_upper)
    t_95_3 = 2.353363434801823
    assert (e.ci_low, e.ci_high) == pytest.approx((0.7 - t_95_3 * SE, 0.7 + t_95_3 * SE))
    assert e.confidence == pytest.approx(0.9) and not e.equivalent


def test_tost_on_clearly_equivalent_and_clearly_different_data() -> None:
    rng = np.random.default_rng(0)
    b = rng.normal(80.0, 2.0, 12)
    close = equivalence(b + rng.normal(0.0, 0.1, 12), b, margin=1.0)
    assert close.equivalent and close.p_value < 1e-6
    assert -1.0 < close.ci_low < close.ci_high < 1.0
    far = equivalence(b + 3.0 + rng.normal(0.0, 0.2, 12), b, margin=1.0)
    assert not far.equivalent and far.p_value > 0.99
    assert far.ci_low > 1.0


@properties()
@given(
    st.lists(st.floats(-5, 5), min_size=3, max_size=12),
    st.floats(0.05, 3.0),
    st.sampled_from([0.01, 0.05, 0.1]),
)
def test_tost_equivalent_iff_p_below_alpha(d: list[float], margin: float, alpha: float) -> None:
    diffs = np.asarray(d)
    assume(np.ptp(diffs) > 1e-6)
    e = equivalence(diffs, np.zeros_like(diffs), margin, alpha=alpha)
    assume(abs(e.p_value - alpha) > 1e-9)  # off the boundary, where rounding may split them
    assert e.equivalent == (e.p_value < alpha)
    assert e.ci_low <= e.difference <= e.ci_high


# --- Holm ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "adjusted"),
    [
        ([0.01, 0.04, 0.03, 0.005], [0.03, 0.06, 0.06, 0.02]),
        ([0.01, 0.02, 0.03, 0.04, 0.05], [0.05, 0.08, 0.09, 0.09, 0.09]),
        ([0.5, 0.6], [1.0, 1.0]),  # capped at 1
        ([0.02, 0.02, 0.02], [0.06, 0.06, 0.06]),  # ties
        ([0.04], [0.04]),  # a family of one: no correction
        ([], []),
    ],
)
def test_holm_worked_examples(raw: list[float], adjusted: list[float]) -> None:
    assert holm(raw) == pytest.approx(adjusted, abs=1e-12)


def _holm_rejects(p: list[float], alpha: float) -> list[bool]:
    """Holm's step-down procedure, as Holm (1979) states it: reject while p_(i) <= a/(m-i+1)."""
    m, rejected = len(p), [False] * len(p)
    for i, k in enumerate(sorted(range(m), key=lambda j: p[j])):
        if p[k] > alpha / (m - i):
            break
        rejected[k] = True
    return rejected


@properties()
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=10))
def test_holm_is_the_step_down_procedure_and_no_less_strict_than_bh(p: list[float]) -> None:
    adj = holm(p)
    for alpha in (0.01, 0.05, 0.1):
        assume(all(abs(x - alpha) > 1e-12 for x in adj))
        assert [x <= alpha for x in adj] == _holm_rejects(p, alpha)
    assert all(raw <= a <= 1.0 for raw, a in zip(p, adj, strict=True))
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(np.asarray(adj)[order]) >= 0)  # monotone in p
    assert np.all(np.asarray(adj) >= sps.false_discovery_control(p) - 1e-12)


@pytest.mark.parametrize("bad", [[0.1, math.nan], [0.1, 1.2], [-0.1], [[0.1]], ["0.1"]])
def test_holm_refuses_what_is_not_p_values(bad: object) -> None:
    with pytest.raises(ValueError, match=r"'pvalues' parameter of holm .*\[0, 1\]"):
        holm(bad)  # type: ignore[arg-type]


# --- proportions and Fisher ------------------------------------------------------------


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (7, 20), (20, 20), (1, 1)])
@pytest.mark.parametrize("confidence", [0.95, 0.9])
def test_wilson_interval_matches_the_score_formula(k: int, n: int, confidence: float) -> None:
    z = sps.norm.ppf(0.5 + confidence / 2)
    centre = (k + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * math.sqrt(k * (n - k) / n + z * z / 4)
    p = proportion(k, n, confidence=confidence)
    assert p.estimate == k / n
    assert (p.ci_low, p.ci_high) == pytest.approx((centre - half, centre + half), abs=1e-9)
    ci = sps.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    assert (p.ci_low, p.ci_high) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_wilson_textbook_value_for_no_successes() -> None:
    assert proportion(0, 10).ci_high == pytest.approx(0.2775, abs=5e-5)


def test_fisher_on_the_tea_tasting_table() -> None:
    # Hypergeometric probabilities of 0..4 correct cups: [1, 16, 36, 16, 1] / 70.
    r = fisher(3, 4, 1, 4)
    assert r.odds_ratio == 9.0
    assert r.p_value == pytest.approx(34 / 70, rel=1e-12)
    assert fisher(3, 4, 1, 4, alternative="greater").p_value == pytest.approx(17 / 70)
    assert fisher(3, 4, 1, 4, alternative="less").p_value == pytest.approx(69 / 70)
    assert r.rate_a.estimate == 0.75 and r.rate_b.estimate == 0.25


def test_newcombe_interval_of_the_rate_difference() -> None:
    # Newcombe (1998), Stat Med 17:873, Table II example (a): 56/70 - 48/80, method 10.
    r = fisher(56, 70, 48, 80)
    assert r.difference == pytest.approx(0.2)
    assert (r.ci_low, r.ci_high) == pytest.approx((0.0524, 0.3339), abs=5e-5)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((11, 10, 0, 10), r"'failures_a' parameter of fisher .*\[0, 10\]. Got 11"),
        ((0, 0, 0, 10), r"'n_a' parameter of fisher .*>= 1"),
        ((0, 10, True, 10), r"'failures_b' parameter"),
    ],
)
def test_fisher_refuses_bad_counts(args: tuple[int, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fisher(*args)


# --- verdicts: negative and positive controls ------------------------------------------

SEEDS = 10


def _judged(a: object, b: object, kind: str = GREATER, margin: float = 1.0) -> Verdict:
    return judge(compare(a, b, claim="A vs B", measure="accuracy (%)", margin=margin, kind=kind))


@pytest.mark.parametrize("kind", [GREATER, LESS])
@pytest.mark.parametrize("margin", [0.1, 1.0])
def test_an_arm_against_itself_is_never_supported(kind: str, margin: float) -> None:
    rng = np.random.default_rng(5)
    for _ in range(50):
        arm = rng.normal(80.0, 3.0, SEEDS)
        assert _judged(arm, arm, kind, margin).verdict == NOT_SUPPORTED  # equal within ±m
        noisy = arm + rng.normal(0.0, 1e-6, SEEDS)
        assert _judged(noisy, arm, kind, margin).verdict == NOT_SUPPORTED


def test_false_supported_rate_under_no_effect_is_at_most_alpha_over_two() -> None:
    # Two arms with no true difference and real noise (sd 1, margin 0.5): a directional
    # claim may come out "supported" only by chance, in about 2.5 % of the runs.
    rng = np.random.default_rng(7)
    verdicts = [
        _judged(rng.normal(0, 1, SEEDS), np.zeros(SEEDS), margin=0.5).verdict for _ in range(400)
    ]
    assert verdicts.count(SUPPORTED) / 400 <= 0.045
    assert verdicts.count(INCONCLUSIVE) > 300  # 10 seeds cannot settle a margin of sd / 2


def test_a_large_real_effect_with_many_seeds_is_supported() -> None:
    rng = np.random.default_rng(1)
    b = rng.normal(80.0, 2.0, 20)
    a = b + 2.0 + rng.normal(0.0, 0.5, 20)
    v = _judged(a, b)
    assert v.verdict == SUPPORTED and v.ci_low > 0 and v.p_adjusted < 0.05
    assert v.n == 20 and v.effect == pytest.approx(2.0, abs=0.3)
    assert _judged(b, a, kind=LESS).verdict == SUPPORTED  # the same claim, mirrored
    opposite = _judged(b, a)
    assert opposite.verdict == NOT_SUPPORTED and "opposite" in opposite.reason


def test_a_real_effect_with_three_noisy_seeds_is_inconclusive_and_says_how_many() -> None:
    b = np.array([80.0, 78.0, 82.0])
    deviations = np.array([1.0, -2.0, 1.0])
    needed = []
    for noise in (2.0, 4.0, 8.0):
        v = _judged(b + 1.5 + noise * deviations, b)
        assert v.verdict == INCONCLUSIVE
        assert v.ci_low < 0 < v.ci_high and v.ci_high > 1.0  # holds no effect and the effect
        assert v.seeds_needed is not None and v.seeds_needed > 3
        assert f"Needs about {v.seeds_needed} seeds" in v.text
        needed.append(v.seeds_needed)
    assert needed[0] < needed[1] < needed[2]
    assert needed[2] / needed[1] == pytest.approx(4.0, rel=0.1)  # (sd / margin)^2


def test_a_significant_but_negligible_effect_is_not_supported_as_better() -> None:
    rng = np.random.default_rng(2)
    b = rng.normal(80.0, 2.0, 30)
    a = b + 0.2 + rng.normal(0.0, 0.1, 30)  # real (p tiny) but well inside ±1
    better = _judged(a, b)
    assert better.p_value < 1e-6 and better.ci_low > 0
    assert better.verdict == NOT_SUPPORTED and "too small to matter" in better.reason
    same = _judged(a, b, kind=NO_DIFFERENCE)
    assert same.verdict == SUPPORTED and same.test.startswith("TOST")


def test_no_difference_is_supported_only_by_a_passing_equivalence_test() -> None:
    rng = np.random.default_rng(4)
    b = rng.normal(80.0, 2.0, 12)
    equal = _judged(b + rng.normal(0, 0.2, 12), b, NO_DIFFERENCE)
    assert equal.verdict == SUPPORTED
    assert -1 < equal.equivalence_low < equal.equivalence_high < 1  # type: ignore[operator]
    different = _judged(b + 3 + rng.normal(0, 0.2, 12), b, NO_DIFFERENCE)
    assert different.verdict == NOT_SUPPORTED and different.ci_low > 1
    # Not significant is not "no difference": a noisy null result stays inconclusive.
    noisy_a = b + rng.normal(0, 3.0, 12)
    noisy = _judged(noisy_a, b, NO_DIFFERENCE)
    assert noisy.p_value > 0.05 and noisy.verdict == INCONCLUSIVE
    sd = float(np.std(noisy_a - b, ddof=1))
    assert noisy.seeds_needed == seeds_needed(sd, 1.0, for_equivalence=True) > 12


def test_holm_correction_across_a_family_changes_the_verdict() -> None:
    b = np.array([80.0, 81.0, 79.0, 80.5, 80.2, 79.6])
    a = b + np.array([1.9, 0.4, 2.6, 1.2, 0.1, 2.8])
    alone = judge(compare(a, b, claim="one", measure="acc", margin=0.5))
    assert alone.verdict == SUPPORTED and alone.p_value < 0.05
    family = judge_family(
        [compare(a, b, claim=f"slope {s}", measure="acc", margin=0.5) for s in range(4)]
    )
    assert [v.p_adjusted for v in family] == pytest.approx([min(1, 4 * alone.p_value)] * 4)
    assert all(v.verdict == INCONCLUSIVE and v.family_size == 4 for v in family)
    assert "Holm-corrected p" in family[0].reason and "over 4 comparisons" in family[0].text


def test_judge_family_refuses_mixed_levels_and_non_comparisons() -> None:
    c1 = compare(A, B, claim="x", measure="m", margin=1.0)
    c2 = compare(A, B, claim="y", measure="m", margin=1.0, alpha=0.01)
    with pytest.raises(ValueError, match="share one alpha"):
        judge_family([c1, c2])
    with pytest.raises(ValueError, match=r"'comparisons' parameter .*list of Comparison"):
        judge_family([])
    with pytest.raises(ValueError, match=r"'comparison' parameter of judge must be a Comparison"):
        judge(judge(c1))  # type: ignore[arg-type]


def test_failure_counts_verdicts() -> None:
    assert judge(compare_failures(0, 10, 9, 10, claim="c")).verdict == SUPPORTED
    assert judge(compare_failures(9, 10, 0, 10, claim="c")).verdict == NOT_SUPPORTED
    unclear = judge(compare_failures(1, 10, 3, 10, claim="c"))
    assert unclear.verdict == INCONCLUSIVE and unclear.seeds_needed is None
    assert unclear.n == 10 and unclear.n_b == 10 and "10 and 10 runs" in unclear.text
    with pytest.raises(ValueError, match=r"'kind' .* 'greater', 'less'. Got 'no difference'"):
        compare_failures(1, 10, 3, 10, claim="c", kind=NO_DIFFERENCE)


# --- the rule in words, the quick flag, sanity checks ----------------------------------


def test_the_rule_is_written_from_the_numbers_the_decision_reads() -> None:
    text = rule(GREATER, alpha=0.01, margin=0.5)
    assert "below 0.01" in text and "99 % interval" in text and "98 % interval" in text
    assert "±0.5" in text and "lies above 0" in text
    assert "lies below 0" in rule(LESS, margin=1.0).split(";")[0]
    c = compare(A, [x - 1.3 for x in A], claim="c", measure="m", margin=0.5, alpha=0.01)
    assert judge(c).rule == rule(GREATER, alpha=0.01, margin=0.5)
    # One comparison with p ~ 0.03: supported at alpha 0.05, not at 0.01.
    b = [80.0, 81.0, 79.0, 80.5, 80.2, 79.6]
    a = [x + d for x, d in zip(b, [1.9, 0.4, 2.6, 1.2, 0.1, 2.8], strict=True)]
    at_05 = judge(compare(a, b, claim="c", measure="m", margin=0.5))
    at_01 = judge(compare(a, b, claim="c", measure="m", margin=0.5, alpha=0.01))
    assert 0.01 < at_05.p_value < 0.05
    assert (at_05.verdict, at_01.verdict) == (SUPPORTED, INCONCLUSIVE)


def test_a_quick_run_verdict_is_marked_preliminary() -> None:
    c = compare(A, B, claim="c", measure="m", margin=1.0)
    quick, full = judge(c, preliminary=True), judge(c)
    assert quick.preliminary and quick.text.startswith("PRELIMINARY (quick run")
    assert not full.preliminary and "PRELIMINARY" not in full.text
    assert quick.to_dict()["preliminary"] is True and "PRELIMINARY" in quick.to_dict()["text"]
    with pytest.raises(ValueError, match=r"'preliminary' .* True or False. Got 1"):
        judge(c, preliminary=1)  # type: ignore[arg-type]


def test_sanity_checks_are_labelled_as_true_by_definition() -> None:
    v = sanity("gradient is the slope", measure="gradient at x=-1", value=0.01, n=5)
    assert v.verdict == SANITY and v.kind == SANITY
    assert "true by definition" in v.text and "not evidence" in v.rule
    assert math.isnan(v.p_value)


# --- records ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "verdict",
    [
        judge(compare(A, B, claim="paired", measure="acc", margin=1.0), preliminary=True),
        judge(compare(A, B, claim="eq", measure="acc", margin=1.0, kind=NO_DIFFERENCE)),
        judge(compare_failures(2, 10, 5, 12, claim="counts")),
        judge(compare([1.0, 2.0], [1.0, 2.0], claim="same", measure="acc", margin=1.0)),
        sanity("by definition", measure="gradient", value=0.01, n=1),
    ],
    ids=["paired", "equivalence", "failures", "identical", "sanity"],
)
def test_verdict_round_trips_through_json(verdict: Verdict) -> None:
    data = json.loads(json.dumps(verdict.to_dict(), allow_nan=False))
    again = Verdict.from_dict(data)
    assert again.to_dict() == verdict.to_dict()
    assert again.text == verdict.text == data["text"]
    assert type(again.n) is int and type(again.effect) is float


def test_verdict_is_frozen_and_from_dict_checks_its_keys() -> None:
    v = judge(compare(A, B, claim="c", measure="m", margin=1.0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.verdict = SUPPORTED  # type: ignore[misc]
    data = v.to_dict()
    with pytest.raises(ValueError, match=r"missing keys \['verdict'\] and unknown keys \['x'\]"):
        Verdict.from_dict({**{k: x for k, x in data.items() if k != "verdict"}, "x": 1})
    with pytest.raises(ValueError, match=r"'verdict' parameter of Verdict must be one of"):
        Verdict.from_dict({**data, "verdict": "mixed"})


def test_nan_and_inf_become_none_in_every_record() -> None:
    c = compare([1.1, 2.1], [1.0, 2.0], claim="c", measure="m", margin=1.0)
    assert c.effect_size == math.inf and c.to_dict()["effect_size"] is None
    assert fisher(0, 5, 0, 5).to_dict()["odds_ratio"] is None  # 0/0
    assert json.dumps(paired_difference(A, B).to_dict(), allow_nan=False)
    assert json.dumps(fisher(1, 5, 3, 5).to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: compare(A, B, claim="c", measure="m", margin=0.0), r"'margin' .* > 0. Got 0.0"),
        (
            lambda: compare(A, B, claim="c", measure="m", margin=1.0, kind="better"),
            r"'kind' .* one of 'greater', 'less', 'no difference'. Got 'better'",
        ),
        (
            lambda: compare(A, B, claim="c", measure="m", margin=1.0, alpha=0.5),
            r"'alpha' parameter of compare must be a real number in \(0, 0.5\)",
        ),
        (lambda: compare(A, B, claim="", measure="m", margin=1.0), r"'claim' .*non-empty"),
        (lambda: paired_difference(A, B, confidence=1.0), r"'confidence' .*\(0, 1\)"),
        (lambda: paired_difference(A, B, power=0.01), r"'power' .*\(0.05, 1\)"),
        (lambda: minimum_detectable_effect(1.0, 1), r"'n' .* >= 2. Got 1"),
        (lambda: seeds_needed(-1.0, 1.0), r"'sd' .* >= 0"),
        (lambda: proportion(3, 2), r"'successes' .*\[0, 2\]. Got 3"),
        (lambda: rule(NO_DIFFERENCE), r"'margin' parameter of rule"),
    ],
)
def test_errors_name_the_parameter_the_allowed_values_and_what_came(
    call: object, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        call()  # type: ignore[operator]


def test_comparison_fields_are_the_verdict_fields_it_carries() -> None:
    shared = {f.name for f in dataclasses.fields(Comparison)}
    assert shared < {f.name for f in dataclasses.fields(Verdict)}
    from leaky.lab import verdicts

    assert set(verdicts.__all__) >= {"SUPPORTED", "NOT_SUPPORTED", "INCONCLUSIVE", "SANITY"}
    assert not set(verdicts.__all__) & set(stats.__all__)  # one home each: tests, verdicts


# --- mean_interval: the one t-interval of a mean (tune, slopes, figures, compare) ---------


def test_mean_interval_matches_scipy() -> None:
    values = [61.0, 63.5, 62.25, 60.0, 64.0]
    r = mean_interval(values)
    ci = sps.ttest_1samp(values, 0.0).confidence_interval(0.95)
    assert r.n == 5 and r.mean == pytest.approx(np.mean(values), rel=1e-12)
    assert (r.low, r.high) == pytest.approx((ci.low, ci.high), rel=1e-12)
    r90 = mean_interval(values, confidence=0.9)
    assert r90.high - r90.low < r.high - r.low


def test_mean_interval_has_one_answer_below_two_values() -> None:
    one = mean_interval([3.0])
    assert (one.mean, one.n) == (3.0, 1)
    assert math.isnan(one.low) and math.isnan(one.high)  # no spread: no interval
    none = mean_interval([])
    assert none.n == 0 and all(math.isnan(v) for v in (none.mean, none.low, none.high))
    same = mean_interval([2.0, 2.0, 2.0])
    assert (same.low, same.high) == (2.0, 2.0)


@pytest.mark.parametrize("bad", [[1.0, math.nan], [math.inf, 1.0]])
def test_mean_interval_refuses_non_finite_values(bad: list[float]) -> None:
    with pytest.raises(ValueError, match="finite"):
        mean_interval(bad)


def test_every_caller_uses_the_one_interval() -> None:
    # the t-quantile appears in stats alone (it was computed in five places, four answers)
    from pathlib import Path

    import leaky

    src = Path(leaky.__file__).parent
    found = [
        str(p.relative_to(src))
        for p in src.rglob("*.py")
        if p.name != "stats.py" and (".t.ppf(" in p.read_text() or ".t.interval(" in p.read_text())
    ]
    assert found == []


def test_cmh_reads_the_strata_as_strata() -> None:
    from leaky.lab.stats import cmh

    tables = [(2, 10, 7, 10), (1, 12, 4, 12), (5, 20, 9, 20)]
    r = cmh(tables)
    # the Mantel-Haenszel odds ratio by its formula: sum(a d / n) / sum(b c / n)
    num = sum(a * (m - b) / (n + m) for a, n, b, m in tables)
    den = sum((n - a) * b / (n + m) for a, n, b, m in tables)
    assert r.odds_ratio == pytest.approx(num / den, rel=1e-12)
    assert r.log_odds_low < r.log_odds_ratio < r.log_odds_high < 0 and r.p_value < 0.05
    assert (r.failures_a, r.runs_a, r.failures_b, r.runs_b) == (8, 42, 20, 42)
    # one arm without failures: a finite ratio (Haldane's 0.5 in that stratum), the test exact
    zero = cmh([(0, 10, 6, 10)])
    assert math.isfinite(zero.log_odds_ratio) and zero.log_odds_high < 0
    with pytest.raises(ValueError, match="'failures_a' parameter of cmh"):
        cmh([(11, 10, 0, 10)])
