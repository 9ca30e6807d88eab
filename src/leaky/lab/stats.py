"""Every statistical test the evidence uses, and the verdicts built from them.

One home for the statistics of leaky's evidence, on ``scipy.stats``: a test that SciPy has
is called, never re-implemented. Experiments return data; this module turns the data into
numbers with intervals and into verdicts; the report and ``leaky compare`` only render them.

=============================  ================================================================
``paired_difference``          a - b over shared seeds: mean, paired-t interval and p, d_z, MDE
``equivalence``                TOST for paired data: does a - b lie within ±margin?
``holm``                       Holm's step-down adjusted p-values, in the order given
``proportion``                 a proportion with its Wilson interval
``fisher``                     Fisher's exact test on two failure counts, the difference of the
                               rates and its Newcombe (hybrid Wilson) interval
``minimum_detectable_effect``  the difference a paired t-test detects with the given power
``seeds_needed``               the seeds that make a difference of one margin detectable
``compare``                    one claim on paired per-seed values, tested: a ``Comparison``
``compare_failures``           one claim on two failure counts, tested: a ``Comparison``
``judge``, ``judge_family``    Comparison(s) -> ``Verdict``(s), Holm across the family
``sanity``                     a claim true by definition, labelled as a sanity check
``rule``                       the rule of a kind of claim, in words
=============================  ================================================================

**Verdicts.** ``SUPPORTED``, ``NOT_SUPPORTED``, ``INCONCLUSIVE`` (we cannot tell: the interval
holds both no difference and a difference that matters) and ``SANITY`` (true by
definition: a check of the code, not evidence). A claim is one of three kinds: ``GREATER``
("A is higher than B"), ``LESS`` ("A is lower than B") or ``NO_DIFFERENCE`` ("A and B differ
by less than the margin"). ``rule(kind, alpha=..., margin=...)`` states each rule in words,
from the same numbers ``judge`` checks:

- ``GREATER`` (``LESS`` mirrors it): *not supported* if the (1 - alpha) interval of A - B
  lies below 0 (the opposite holds) or if the (1 - 2 alpha) interval lies inside ±margin
  (TOST: the difference is too small to matter, even where it is significant); else
  *supported* if the Holm-corrected p of the two-sided paired t-test is below alpha and the
  (1 - alpha) interval lies above 0; else *inconclusive*, with the seeds needed.
- ``NO_DIFFERENCE``: *supported* only by a passing equivalence test (the (1 - 2 alpha)
  interval inside ±margin and the Holm-corrected TOST p below alpha); *not supported* if the
  (1 - alpha) interval lies entirely outside ±margin; else *inconclusive*.
- Failure counts (``compare_failures``): the directional rule, with Fisher's exact test
  (two-sided) and the Newcombe interval of the difference of the rates, without the margin
  clause (no equivalence claim on counts).

Holm's correction protects the *supported* verdicts of a family (the claims of an effect, or
of equivalence); a *not supported* verdict is read at alpha without correction (it rejects a
claim, which makes no claim of its own). The margin is the smallest difference that matters,
in the measure's unit, stated before the data are seen.

**Failed runs.** Every value is a run that happened: a failed run is entered as the value
the caller chose for it (chance accuracy, the initial loss), never dropped. NaN and inf are
refused with an error that says so (a silent NaN would change the denominator).

**Power.** The minimum detectable effect (MDE) is exact for the two-sided paired t-test: the
difference delta at which the test at level alpha rejects with the given power (80 %),
``delta = nc * sd / sqrt(n)`` where ``nc`` solves ``P(|T| > t_{1-alpha/2, n-1}) = power`` for
``T`` noncentral t with n - 1 degrees of freedom and noncentrality ``nc`` (``scipy.stats.nct``).
The textbook approximation ``(t_{1-alpha/2, n-1} + t_{power, n-1}) * sd / sqrt(n)`` is within
2 % of it from 5 seeds on (16 % below it at 2 seeds). "Needs about N seeds" is the smallest n
whose MDE (for a ``NO_DIFFERENCE`` claim: whose TOST power at a true difference of 0) reaches
the margin, computed from the observed sd of the differences, at the uncorrected alpha.

**Constant differences.** Differences that agree to 12 significant digits
(``CONSTANT_RTOL``) are treated as exactly constant (sd 0; the rounding of a - b is not
noise): the interval is the point, the p-value 1 (no difference) or 0 (a difference).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, stats

from leaky import _validate

__all__ = [
    "ALPHA",
    "CONSTANT_RTOL",
    "GREATER",
    "INCONCLUSIVE",
    "KINDS",
    "LESS",
    "NOT_SUPPORTED",
    "NO_DIFFERENCE",
    "POWER",
    "SANITY",
    "SUPPORTED",
    "VERDICTS",
    "Comparison",
    "Equivalence",
    "FisherResult",
    "PairedDifference",
    "Proportion",
    "Verdict",
    "compare",
    "compare_failures",
    "equivalence",
    "fisher",
    "holm",
    "judge",
    "judge_family",
    "minimum_detectable_effect",
    "paired_difference",
    "proportion",
    "rule",
    "sanity",
    "seeds_needed",
]

SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"
INCONCLUSIVE = "inconclusive"
SANITY = "sanity check"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE, SANITY)

GREATER = "greater"
LESS = "less"
NO_DIFFERENCE = "no difference"
KINDS = (GREATER, LESS, NO_DIFFERENCE)

ALPHA = 0.05  # the level of every test, before Holm's correction
POWER = 0.8  # the power of the minimum detectable effect and of "needs about N seeds"
CONSTANT_RTOL = 1e-12  # differences closer than this (relative) are one constant

_FISHER_KINDS = (GREATER, LESS)
_SOURCE = "from compare or compare_failures"


# --- records ---------------------------------------------------------------------------


def _json_safe(value: Any) -> Any:
    if isinstance(value, _Record):
        return value.to_dict()
    if isinstance(value, (tuple, list)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


@dataclass(frozen=True)
class _Record:
    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-safe Python values: NaN and ±inf become None."""
        return {f.name: _json_safe(getattr(self, f.name)) for f in fields(self)}


def _pct(level: float) -> str:
    return f"{round(100 * level, 6):g} %"


def _num(x: float | None, signed: bool = False) -> str:
    if x is None or math.isnan(x):
        return "n/a"
    return f"{x:+.3g}" if signed else f"{x:.3g}"


def _p(p: float) -> str:
    return "n/a" if math.isnan(p) else f"{p:.2g}"


# --- paired differences and equivalence ------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PairedDifference(_Record):
    """The difference a - b over shared seeds (see ``paired_difference``).

    Attributes:
        n: the number of seeds (pairs).
        mean_a, mean_b: the means of each arm.
        difference: the mean of the differences a - b.
        sd: the standard deviation of the differences (n - 1 in the denominator).
        ci_low, ci_high: the paired-t interval of the mean difference at ``confidence``.
        confidence: the level of that interval.
        statistic: the paired t statistic.
        p_value: the two-sided p-value of the paired t-test (no difference).
        effect_size: Cohen's d_z, ``difference / sd`` (0 when both are 0, ±inf when only sd is).
        mde: the minimum detectable effect at alpha = 1 - confidence and ``power``.
        power: the power of ``mde``.
        differences: a - b, seed by seed.
    """

    n: int
    mean_a: float
    mean_b: float
    difference: float
    sd: float
    ci_low: float
    ci_high: float
    confidence: float
    statistic: float
    p_value: float
    effect_size: float
    mde: float
    power: float
    differences: tuple[float, ...]


@dataclass(frozen=True, kw_only=True)
class Equivalence(_Record):
    """A TOST for paired data (see ``equivalence``).

    Attributes:
        n: the number of seeds (pairs).
        difference: the mean of a - b.
        margin: the equivalence margin: a - b within (-margin, margin) is "no difference".
        alpha: the level of each one-sided test.
        ci_low, ci_high: the (1 - 2 alpha) paired-t interval of the mean difference.
        confidence: 1 - 2 alpha.
        p_lower: p of the test of H0 "difference <= -margin" (against "> -margin").
        p_upper: p of the test of H0 "difference >= margin" (against "< margin").
        p_value: max(p_lower, p_upper), the TOST p-value.
        equivalent: True iff ``-margin < ci_low`` and ``ci_high < margin``.
    """

    n: int
    difference: float
    margin: float
    alpha: float
    ci_low: float
    ci_high: float
    confidence: float
    p_lower: float
    p_upper: float
    p_value: float
    equivalent: bool


def _paired_values(a: ArrayLike, b: ArrayLike, func: str) -> tuple[np.ndarray, np.ndarray]:
    x = _validate.per_seed_values(a, "a", func)
    y = _validate.per_seed_values(b, "b", func)
    _validate.same_seeds(x.size, y.size, func)
    return x, y


def _is_constant(d: np.ndarray) -> bool:
    return bool(np.ptp(d) <= CONSTANT_RTOL * np.max(np.abs(d)))


def _power_level(power: Any, alpha: float, func: str) -> float:
    return _validate.open_interval(power, "power", func, low=alpha, high=1.0)


def _paired(x: np.ndarray, y: np.ndarray, confidence: float, power: float) -> PairedDifference:
    d = x - y
    n, mean = d.size, float(np.mean(d))
    if _is_constant(d):
        sd, lo, hi = 0.0, mean, mean
        t = 0.0 if mean == 0 else math.copysign(math.inf, mean)
        p = 1.0 if mean == 0 else 0.0
        dz = 0.0 if mean == 0 else math.copysign(math.inf, mean)
    else:
        result = stats.ttest_rel(x, y)
        ci = result.confidence_interval(confidence)
        sd = float(np.std(d, ddof=1))
        lo, hi = float(ci.low), float(ci.high)
        t, p, dz = float(result.statistic), float(result.pvalue), mean / sd
    return PairedDifference(
        n=n,
        mean_a=float(np.mean(x)),
        mean_b=float(np.mean(y)),
        difference=mean,
        sd=sd,
        ci_low=lo,
        ci_high=hi,
        confidence=confidence,
        statistic=t,
        p_value=p,
        effect_size=dz,
        mde=minimum_detectable_effect(sd, n, alpha=1 - confidence, power=power),
        power=power,
        differences=tuple(d.tolist()),
    )


def paired_difference(
    a: ArrayLike, b: ArrayLike, *, confidence: float = 1 - ALPHA, power: float = POWER
) -> PairedDifference:
    """The mean difference a - b over shared seeds, with its paired-t interval and p-value.

    ``a[i]`` and ``b[i]`` come from the same seed (same data order, same initialisation
    stream): the test is ``scipy.stats.ttest_rel`` (two-sided), the interval its
    ``confidence_interval``. Also returned: the sd of the differences, Cohen's d_z and the
    minimum detectable effect (exact, noncentral t; see ``minimum_detectable_effect``).

    Args:
        a, b: one finite value per seed, same seeds in the same order, at least 2. A failed
            run is entered as the value the caller chose for it; NaN and inf raise.
        confidence: the level of the interval, in (0, 1); alpha = 1 - confidence is the
            level of the MDE.
        power: the power of the MDE, in (alpha, 1).

    Returns:
        A ``PairedDifference``.

    Raises:
        ValueError: NaN or inf in ``a`` or ``b`` (with the index), different lengths,
            fewer than 2 seeds, or a level out of range.

    Example:
        >>> r = paired_difference([1.0, 2.0, 3.0, 4.5], [0.5, 2.2, 2.0, 3.0])
        >>> print(f"{r.difference:.2f} [{r.ci_low:.3f}, {r.ci_high:.3f}] p={r.p_value:.3f}")
        0.70 [-0.455, 1.855] p=0.149

    See also: ``equivalence`` (is the difference within a margin?), ``compare``.
    """
    func = "paired_difference"
    x, y = _paired_values(a, b, func)
    confidence = _validate.open_interval(confidence, "confidence", func)
    power = _power_level(power, 1 - confidence, func)
    return _paired(x, y, confidence, power)


def _tost(d: np.ndarray, margin: float, alpha: float) -> Equivalence:
    n, mean = d.size, float(np.mean(d))
    if _is_constant(d):
        lo = hi = mean
        p_lower = 0.0 if mean > -margin else 1.0
        p_upper = 0.0 if mean < margin else 1.0
    else:
        lower = stats.ttest_1samp(d, -margin, alternative="greater")
        upper = stats.ttest_1samp(d, margin, alternative="less")
        # The (1 - 2 alpha) interval is the two one-sided (1 - alpha) bounds of the tests.
        lo = float(lower.confidence_interval(1 - alpha).low)
        hi = float(upper.confidence_interval(1 - alpha).high)
        p_lower, p_upper = float(lower.pvalue), float(upper.pvalue)
    return Equivalence(
        n=n,
        difference=mean,
        margin=margin,
        alpha=alpha,
        ci_low=lo,
        ci_high=hi,
        confidence=1 - 2 * alpha,
        p_lower=p_lower,
        p_upper=p_upper,
        p_value=max(p_lower, p_upper),
        equivalent=-margin < lo and hi < margin,
    )


def equivalence(a: ArrayLike, b: ArrayLike, margin: float, *, alpha: float = ALPHA) -> Equivalence:
    """The TOST for paired data: is the mean of a - b within (-margin, margin)?

    Two one-sided paired t-tests (``scipy.stats.ttest_1samp`` on the differences), each at
    level alpha: H0 "difference <= -margin" and H0 "difference >= margin". The TOST p-value
    is the larger of the two. The arms are equivalent iff the (1 - 2 alpha) interval lies
    inside (-margin, margin), which is the same as p < alpha.

    Args:
        a, b: one finite value per seed, as for ``paired_difference``.
        margin: the smallest difference that matters, > 0, in the unit of a and b.
        alpha: the level of each one-sided test, in (0, 0.5).

    Returns:
        An ``Equivalence``.

    Example:
        >>> e = equivalence([80.1, 79.6, 80.4, 80.0], [80.0, 79.8, 80.1, 80.2], margin=1.0)
        >>> e.equivalent, round(e.p_value, 4), round(e.ci_low, 3), round(e.ci_high, 3)
        (True, 0.0019, -0.288, 0.288)

    See also: ``paired_difference``; ``compare`` with ``kind=NO_DIFFERENCE``.
    """
    func = "equivalence"
    x, y = _paired_values(a, b, func)
    margin = _validate.positive_real(margin, "margin", func)
    alpha = _validate.open_interval(alpha, "alpha", func, high=0.5)
    return _tost(x - y, margin, alpha)


# --- power -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _noncentrality(df: int, alpha: float, power: float, one_sided_pair: bool) -> float:
    """The noncentrality at which the t-test(s) reach ``power`` (depends on df only)."""
    if one_sided_pair:  # TOST at a true difference of 0: 2 P(T > t_{1-alpha}) - 1 >= power
        crit = stats.t.ppf(1 - alpha, df)

        def gap(nc: float) -> float:
            return 2 * stats.nct.sf(crit, df, nc) - 1 - power

        start = crit + stats.norm.ppf((1 + power) / 2)
    else:  # two-sided test: P(T > t_{1-alpha/2}) + P(T < -t_{1-alpha/2}) = power
        crit = stats.t.ppf(1 - alpha / 2, df)

        def gap(nc: float) -> float:
            lower = stats.nct.cdf(-crit, df, nc)  # the far tail: NaN from SciPy below 1e-14
            return stats.nct.sf(crit, df, nc) + (lower if math.isfinite(lower) else 0.0) - power

        start = crit + stats.t.ppf(power, df)
    high = 2 * start
    while gap(high) < 0:
        high *= 2
    return float(optimize.brentq(gap, 0.0, high, xtol=1e-12, rtol=1e-12))


def minimum_detectable_effect(
    sd: float, n: int, *, alpha: float = ALPHA, power: float = POWER
) -> float:
    """The difference a two-sided paired t-test at level alpha detects with ``power``.

    Exact for normal differences: ``nc * sd / sqrt(n)`` where ``nc`` is the noncentrality
    of the t distribution with n - 1 degrees of freedom at which ``P(|T| > t_{1-alpha/2})``
    equals ``power`` (``scipy.stats.nct``; solved with ``scipy.optimize.brentq``). About
    ``(t_{1-alpha/2, n-1} + t_{power, n-1}) * sd / sqrt(n)``.

    Args:
        sd: the standard deviation of the paired differences, >= 0.
        n: the number of seeds, >= 2.
        alpha: the level of the test, in (0, 1).
        power: in (alpha, 1).

    Example:
        >>> round(minimum_detectable_effect(1.0, 10), 3)  # in units of sd: d_z
        0.996
    """
    func = "minimum_detectable_effect"
    sd = _validate.positive_real(sd, "sd", func, zero=True)
    n = _validate.count(n, "n", func, low=2)
    alpha = _validate.open_interval(alpha, "alpha", func)
    power = _power_level(power, alpha, func)
    return _noncentrality(n - 1, alpha, power, False) * sd / math.sqrt(n)


def seeds_needed(
    sd: float,
    margin: float,
    *,
    alpha: float = ALPHA,
    power: float = POWER,
    for_equivalence: bool = False,
) -> int:
    """The smallest number of seeds that makes a difference of one margin detectable.

    For a difference (``for_equivalence=False``): the smallest n >= 2 whose
    ``minimum_detectable_effect(sd, n)`` is at most ``margin``. For equivalence: the
    smallest n at which the TOST, at a true difference of 0, shows equivalence within
    ±margin with at least ``power`` (the bound ``2 P(T > t_{1-alpha}) - 1`` with T
    noncentral t, slightly conservative: N errs high). ``sd`` is the observed sd of the
    differences; alpha is the level before any correction for multiplicity.

    Example:
        >>> seeds_needed(1.0, 1.0), seeds_needed(2.0, 1.0)  # sd 1 and 2, margin 1
        (10, 34)
        >>> seeds_needed(1.0, 1.0, for_equivalence=True)
        11
    """
    func = "seeds_needed"
    sd = _validate.positive_real(sd, "sd", func, zero=True)
    margin = _validate.positive_real(margin, "margin", func)
    alpha = _validate.open_interval(alpha, "alpha", func, high=0.5)
    power = _power_level(power, alpha, func)
    for_equivalence = _validate.flag(for_equivalence, "for_equivalence", func)
    if sd == 0:
        return 2
    if for_equivalence:
        z = stats.norm.ppf(1 - alpha) + stats.norm.ppf((1 + power) / 2)
    else:
        z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    guess = (z * sd / margin) ** 2  # the normal approximation: a lower bound
    if guess > 1e6:  # t is normal there
        return math.ceil(guess)

    def enough(n: int) -> bool:
        return _noncentrality(n - 1, alpha, power, for_equivalence) * sd / math.sqrt(n) <= margin

    n = max(2, math.ceil(guess))
    while n > 2 and enough(n - 1):
        n -= 1
    while not enough(n):
        n += 1
    return n


# --- multiplicity ----------------------------------------------------------------------


def holm(pvalues: ArrayLike) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given.

    With the m p-values sorted, p_(1) <= ... <= p_(m), the adjusted value of p_(i) is
    ``max over j <= i of min(1, (m - j + 1) p_(j))``: monotone in p, never below it. A
    hypothesis is rejected at level alpha, with the family-wise error rate held at alpha,
    iff its adjusted p-value is at most alpha (Holm 1979). (``scipy.stats``'s
    ``false_discovery_control`` is Benjamini-Hochberg, which controls another error rate.)

    Args:
        pvalues: a 1-D sequence of p-values in [0, 1] (no NaN); may be empty.

    Returns:
        The adjusted p-values as a list of floats, in the order of ``pvalues``.

    Example:
        >>> [round(p, 6) for p in holm([0.01, 0.04, 0.03, 0.005])]
        [0.03, 0.06, 0.06, 0.02]
    """
    p = _validate.pvalues(pvalues, "holm")
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(1.0, stepped)
    return adjusted.tolist()


# --- proportions and failure counts ----------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Proportion(_Record):
    """A proportion with its Wilson interval (see ``proportion``)."""

    successes: int
    n: int
    estimate: float
    ci_low: float
    ci_high: float
    confidence: float


def _proportion(k: int, n: int, confidence: float) -> Proportion:
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return Proportion(
        successes=k,
        n=n,
        estimate=k / n,
        ci_low=float(ci.low),
        ci_high=float(ci.high),
        confidence=confidence,
    )


def proportion(successes: int, n: int, *, confidence: float = 1 - ALPHA) -> Proportion:
    """A proportion with its Wilson score interval (``scipy.stats.binomtest``).

    Args:
        successes: the count, an integer in [0, n] (failures, dead units, ...).
        n: the number of trials, >= 1. Every trial counts: a failed run stays in n.
        confidence: the level of the interval, in (0, 1).

    Example:
        >>> p = proportion(0, 10)
        >>> p.estimate, round(p.ci_low, 4), round(p.ci_high, 4)
        (0.0, 0.0, 0.2775)
    """
    func = "proportion"
    n = _validate.count(n, "n", func, low=1)
    k = _validate.count(successes, "successes", func, high=n)
    confidence = _validate.open_interval(confidence, "confidence", func)
    return _proportion(k, n, confidence)


@dataclass(frozen=True, kw_only=True)
class FisherResult(_Record):
    """Fisher's exact test on two failure counts (see ``fisher``).

    Attributes:
        rate_a, rate_b: each arm's failure rate with its Wilson interval.
        odds_ratio: the sample odds ratio of failing, A over B (NaN or inf with zero cells).
        p_value: Fisher's exact p-value for ``alternative``.
        alternative: "two-sided", "greater" (A's odds of failing are higher) or "less".
        difference: rate_a - rate_b.
        ci_low, ci_high: the Newcombe hybrid-score interval of the difference at
            ``confidence`` (built from the two Wilson intervals; Newcombe 1998, method 10).
        confidence: the level of the intervals.
    """

    rate_a: Proportion
    rate_b: Proportion
    odds_ratio: float
    p_value: float
    alternative: str
    difference: float
    ci_low: float
    ci_high: float
    confidence: float


def _fisher(
    fa: int, na: int, fb: int, nb: int, alternative: str, confidence: float
) -> FisherResult:
    result = stats.fisher_exact([[fa, na - fa], [fb, nb - fb]], alternative=alternative)
    ra, rb = _proportion(fa, na, confidence), _proportion(fb, nb, confidence)
    d = ra.estimate - rb.estimate
    return FisherResult(
        rate_a=ra,
        rate_b=rb,
        odds_ratio=float(result.statistic),
        p_value=float(result.pvalue),
        alternative=alternative,
        difference=d,
        ci_low=d - math.hypot(ra.estimate - ra.ci_low, rb.ci_high - rb.estimate),
        ci_high=d + math.hypot(ra.ci_high - ra.estimate, rb.estimate - rb.ci_low),
        confidence=confidence,
    )


def fisher(
    failures_a: int,
    n_a: int,
    failures_b: int,
    n_b: int,
    *,
    alternative: str = "two-sided",
    confidence: float = 1 - ALPHA,
) -> FisherResult:
    """Fisher's exact test: do arms A and B fail at different rates?

    The table is ``[[failures_a, n_a - failures_a], [failures_b, n_b - failures_b]]``
    (``scipy.stats.fisher_exact``). Also returned: each rate with its Wilson interval and
    the difference of the rates with its Newcombe interval.

    Args:
        failures_a, n_a: arm A's failed runs and all its runs (failed ones included).
        failures_b, n_b: the same for arm B.
        alternative: "two-sided" (default), "greater" (A's odds of failing are higher than
            B's) or "less".
        confidence: the level of the intervals, in (0, 1).

    Example:
        >>> r = fisher(3, 4, 1, 4)  # Fisher's tea-tasting table
        >>> r.odds_ratio, round(r.p_value, 4)
        (9.0, 0.4857)
        >>> round(fisher(3, 4, 1, 4, alternative="greater").p_value, 4)
        0.2429
    """
    func = "fisher"
    na = _validate.count(n_a, "n_a", func, low=1)
    nb = _validate.count(n_b, "n_b", func, low=1)
    fa = _validate.count(failures_a, "failures_a", func, high=na)
    fb = _validate.count(failures_b, "failures_b", func, high=nb)
    alternative = _validate.one_of(
        alternative, "alternative", func, ("two-sided", "greater", "less")
    )
    confidence = _validate.open_interval(confidence, "confidence", func)
    return _fisher(fa, na, fb, nb, alternative, confidence)


# --- comparisons and verdicts ----------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Tested(_Record):
    claim: str
    kind: str
    measure: str
    test: str
    effect: float
    ci_low: float
    ci_high: float
    confidence: float
    p_value: float
    alpha: float
    margin: float | None
    equivalence_low: float | None
    equivalence_high: float | None
    n: int
    n_b: int | None
    effect_size: float | None
    mde: float | None
    seeds_needed: int | None


@dataclass(frozen=True, kw_only=True)
class Comparison(_Tested):
    """One claim, tested but not yet judged (``compare``, ``compare_failures``).

    Attributes:
        claim: the claim in words ("slope 0.1 gives higher test accuracy than ReLU").
        kind: ``GREATER``, ``LESS`` or ``NO_DIFFERENCE``, for the effect A - B.
        measure: the primary measure, with its unit ("test accuracy (%)").
        test: the test whose p-value decides: "paired t-test, two-sided", "TOST, ..." or
            "Fisher's exact test, two-sided".
        effect: A - B (mean paired difference, or difference of failure rates).
        ci_low, ci_high: its interval at ``confidence`` = 1 - alpha.
        p_value: the raw p-value of ``test`` (before Holm's correction).
        alpha: the level of the verdict.
        margin: the smallest difference that matters (None for failure counts).
        equivalence_low, equivalence_high: the (1 - 2 alpha) interval the TOST reads
            (None for failure counts).
        n: the seeds (pairs) of a paired comparison; the runs of arm A for failure counts.
        n_b: the runs of arm B for failure counts; None when paired (B has n too).
        effect_size: Cohen's d_z (paired only).
        mde: the minimum detectable effect at alpha with 80 % power (paired only).
        seeds_needed: the seeds that make a difference of one margin detectable (paired).
    """


@dataclass(frozen=True, kw_only=True)
class Verdict(_Tested):
    """A judged claim: what the report and ``leaky compare`` render.

    All the fields of ``Comparison``, and:

    Attributes:
        verdict: ``SUPPORTED``, ``NOT_SUPPORTED``, ``INCONCLUSIVE`` or ``SANITY``.
        p_adjusted: the p-value after Holm's correction over the family.
        family_size: the number of comparisons corrected together (1: none).
        rule: the rule that decided, in words (``rule(kind, ...)``).
        reason: which part of the rule applied, with the numbers it read.
        preliminary: True for a verdict from a quick (smoke) run: not evidence.

    ``text`` is one sentence for a reader; ``to_dict`` (JSON-safe: NaN and ±inf become None)
    and ``from_dict`` store and restore it.
    """

    verdict: str
    p_adjusted: float
    family_size: int
    rule: str
    reason: str
    preliminary: bool

    def __post_init__(self) -> None:
        _validate.one_of(self.verdict, "verdict", "Verdict", VERDICTS)
        _validate.one_of(self.kind, "kind", "Verdict", (*KINDS, SANITY))

    @property
    def text(self) -> str:
        """The verdict in one sentence, with its numbers; a quick run's says so first."""
        head = "PRELIMINARY (quick run, a smoke test, not evidence): " if self.preliminary else ""
        if self.verdict == SANITY:
            return (
                f"{head}{self.claim}: {SANITY}, true by definition, not evidence. "
                f"{self.measure} = {_num(self.effect)} (n = {self.n})."
            )
        runs = f"{self.n} seeds" if self.n_b is None else f"{self.n} and {self.n_b} runs"
        parts = [
            f"{head}{self.claim}: {self.verdict}. {self.measure}: A - B = "
            f"{_num(self.effect, True)} [{_num(self.ci_low, True)}, {_num(self.ci_high, True)}]"
            f" ({_pct(self.confidence)} interval), {self.test} p = {_p(self.p_value)}"
        ]
        if self.family_size > 1:
            parts.append(
                f", Holm-corrected p = {_p(self.p_adjusted)} over {self.family_size} comparisons"
            )
        if self.margin is not None:
            parts.append(f", margin ±{self.margin:g}")
        parts.append(f", {runs}: {self.reason}.")
        if self.verdict == INCONCLUSIVE and self.seeds_needed is not None:
            if self.seeds_needed > self.n:
                parts.append(f" Needs about {self.seeds_needed} seeds.")
            else:
                parts.append(" The effect lies near the margin: more seeds would settle it.")
        return "".join(parts)

    def __str__(self) -> str:
        return self.text

    def to_dict(self) -> dict[str, Any]:
        """The fields, JSON-safe (NaN and ±inf become None), and ``text``."""
        return {**super().to_dict(), "text": self.text}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        """The ``Verdict`` that ``to_dict`` stored (``text`` is recomputed; None -> NaN)."""
        names = {f.name: f for f in fields(cls)}
        missing = sorted(set(names) - set(data))
        unknown = sorted(set(data) - set(names) - {"text"})
        if missing or unknown:
            raise ValueError(
                "The 'data' parameter of Verdict.from_dict must hold the keys of "
                f"Verdict.to_dict(). Got missing keys {missing} and unknown keys {unknown}."
            )
        values = {}
        for name, f in names.items():
            value = data[name]
            values[name] = math.nan if value is None and f.type == "float" else value
        return cls(**values)


def rule(kind: str, *, alpha: float = ALPHA, margin: float | None = None) -> str:
    """The rule that judges a claim of ``kind``, in words, with the numbers ``judge`` checks.

    Args:
        kind: ``GREATER``, ``LESS``, ``NO_DIFFERENCE`` or ``SANITY``.
        alpha: the level (before Holm's correction), in (0, 0.5).
        margin: the smallest difference that matters; None for failure counts (no
            equivalence test; a ``NO_DIFFERENCE`` rule needs one).

    Example:
        >>> print(rule(GREATER, margin=1.0))  # doctest: +NORMALIZE_WHITESPACE
        supported if the Holm-corrected p is below 0.05 and the 95 % interval of A - B lies
        above 0; not supported if that interval lies below 0 (the opposite holds), or if the
        90 % interval lies inside ±1 (TOST: the difference is too small to matter);
        inconclusive otherwise: we cannot tell (the interval holds both no difference and a
        difference that matters, or the effect does not survive the correction)
    """
    func = "rule"
    kind = _validate.one_of(kind, "kind", func, (*KINDS, SANITY))
    if kind == SANITY:
        return "true by definition: a sanity check of the code, not evidence for the claim"
    alpha = _validate.open_interval(alpha, "alpha", func, high=0.5)
    if margin is not None or kind == NO_DIFFERENCE:
        margin = _validate.positive_real(margin, "margin", func)
    wide, narrow = _pct(1 - alpha), _pct(1 - 2 * alpha)
    if kind == NO_DIFFERENCE:
        return (
            f"{SUPPORTED} if the {narrow} interval of A - B lies inside ±{margin:g} and the "
            f"Holm-corrected TOST p is below {alpha:g}; {NOT_SUPPORTED} if the {wide} "
            f"interval lies entirely outside ±{margin:g} (the difference matters); "
            f"{INCONCLUSIVE} otherwise: we cannot tell"
        )
    toward, away = ("above", "below") if kind == GREATER else ("below", "above")
    text = (
        f"{SUPPORTED} if the Holm-corrected p is below {alpha:g} and the {wide} interval of "
        f"A - B lies {toward} 0; {NOT_SUPPORTED} if that interval lies {away} 0 (the opposite "
        "holds)"
    )
    if margin is not None:
        text += (
            f", or if the {narrow} interval lies inside ±{margin:g} (TOST: the difference is "
            "too small to matter)"
        )
    return text + (
        f"; {INCONCLUSIVE} otherwise: we cannot tell (the interval holds both no difference "
        "and a difference that matters, or the effect does not survive the correction)"
    )


def _interval(level: float, low: float | None, high: float | None) -> str:
    return f"the {_pct(level)} interval [{_num(low, True)}, {_num(high, True)}]"


def _decide(c: Comparison, p_adjusted: float, family_size: int) -> tuple[str, str]:
    """The verdict and the reason: ``rule(c.kind, alpha=c.alpha, margin=c.margin)`` in code."""
    a, m = c.alpha, c.margin
    wide = _interval(1 - a, c.ci_low, c.ci_high)
    narrow = _interval(1 - 2 * a, c.equivalence_low, c.equivalence_high)
    corrected = "p" if family_size == 1 else "the Holm-corrected p"
    inside = (
        m is not None
        and c.equivalence_low is not None
        and c.equivalence_high is not None
        and -m < c.equivalence_low
        and c.equivalence_high < m
    )
    if c.kind == NO_DIFFERENCE:
        assert m is not None  # compare() requires a margin
        if inside and p_adjusted < a:
            return SUPPORTED, f"{narrow} lies inside ±{m:g}, {corrected} = {_p(p_adjusted)}"
        if c.ci_low > m or c.ci_high < -m:
            return NOT_SUPPORTED, f"{wide} lies outside ±{m:g}: the difference matters"
        if inside:
            return INCONCLUSIVE, (
                f"{narrow} lies inside ±{m:g} but {corrected} = {_p(p_adjusted)} is not below {a:g}"
            )
        return INCONCLUSIVE, f"{narrow} reaches beyond ±{m:g}: cannot tell"
    toward = c.ci_low > 0 if c.kind == GREATER else c.ci_high < 0
    against = c.ci_high < 0 if c.kind == GREATER else c.ci_low > 0
    side, other = ("above", "below") if c.kind == GREATER else ("below", "above")
    if against:
        return NOT_SUPPORTED, f"{wide} lies {other} 0: the opposite holds"
    if inside:
        return NOT_SUPPORTED, f"{narrow} lies inside ±{m:g}: too small to matter"
    if toward and p_adjusted < a:
        return SUPPORTED, f"{wide} lies {side} 0, {corrected} = {_p(p_adjusted)}"
    if toward:
        return INCONCLUSIVE, (
            f"{wide} lies {side} 0 but {corrected} = {_p(p_adjusted)} is not below {a:g}"
        )
    return INCONCLUSIVE, f"{wide} holds 0: cannot tell"


def compare(
    a: ArrayLike,
    b: ArrayLike,
    *,
    claim: str,
    measure: str,
    margin: float,
    kind: str = GREATER,
    alpha: float = ALPHA,
) -> Comparison:
    """Test one claim about paired per-seed values of arms A and B.

    For ``GREATER`` and ``LESS`` the test is the two-sided paired t-test of A - B; for
    ``NO_DIFFERENCE`` it is the TOST with ``margin``. Either way the comparison carries the
    (1 - alpha) and (1 - 2 alpha) intervals, d_z, the MDE at 80 % power and the seeds that
    make a difference of one margin detectable. ``judge`` (or ``judge_family``, which
    corrects a family with Holm) turns it into a ``Verdict``.

    Args:
        a, b: one finite value per seed, same seeds in the same order, at least 2; a failed
            run is entered as the value the caller chose for it (NaN and inf raise).
        claim: the claim in words ("slope 0.1 gives higher test accuracy than ReLU").
        measure: the primary measure, with its unit ("test accuracy (%)").
        margin: the smallest difference that matters, > 0, in the measure's unit.
        kind: ``GREATER`` (A - B > 0), ``LESS`` (A - B < 0) or ``NO_DIFFERENCE``
            (|A - B| < margin).
        alpha: the level, in (0, 0.5).

    Example:
        >>> a = [82.0, 84.5, 83.1, 85.2, 83.9, 84.4]
        >>> b = [80.1, 82.0, 81.5, 82.4, 81.0, 82.3]
        >>> v = judge(compare(a, b, claim="A beats B", measure="accuracy (%)", margin=1.0))
        >>> v.verdict, round(v.effect, 2), round(v.ci_low, 2), round(v.ci_high, 2)
        ('supported', 2.3, 1.76, 2.84)
    """
    func = "compare"
    x, y = _paired_values(a, b, func)
    claim = _validate.text(claim, "claim", func)
    measure = _validate.text(measure, "measure", func)
    margin = _validate.positive_real(margin, "margin", func)
    kind = _validate.one_of(kind, "kind", func, KINDS)
    alpha = _validate.open_interval(alpha, "alpha", func, high=0.5)
    diff = _paired(x, y, 1 - alpha, POWER)
    tost = _tost(x - y, margin, alpha)
    if kind == NO_DIFFERENCE:
        test, p = f"TOST (two one-sided paired t-tests, ±{margin:g})", tost.p_value
    else:
        test, p = "paired t-test, two-sided", diff.p_value
    return Comparison(
        claim=claim,
        kind=kind,
        measure=measure,
        test=test,
        effect=diff.difference,
        ci_low=diff.ci_low,
        ci_high=diff.ci_high,
        confidence=1 - alpha,
        p_value=p,
        alpha=alpha,
        margin=margin,
        equivalence_low=tost.ci_low,
        equivalence_high=tost.ci_high,
        n=diff.n,
        n_b=None,
        effect_size=diff.effect_size,
        mde=diff.mde,
        seeds_needed=seeds_needed(
            diff.sd, margin, alpha=alpha, for_equivalence=kind == NO_DIFFERENCE
        ),
    )


def compare_failures(
    failures_a: int,
    n_a: int,
    failures_b: int,
    n_b: int,
    *,
    claim: str,
    measure: str = "failure rate",
    kind: str = LESS,
    alpha: float = ALPHA,
) -> Comparison:
    """Test one claim about the failure counts of arms A and B (Fisher's exact test).

    The effect is the difference of the failure rates, A - B, with its Newcombe interval;
    the test is Fisher's exact test, two-sided. Every run counts: ``n_a`` and ``n_b`` hold
    the failed runs too. There is no margin here, so no equivalence claim: a ``kind`` of
    ``NO_DIFFERENCE`` is refused, and an inconclusive verdict says "cannot tell" without a
    number of seeds.

    Args:
        failures_a, n_a: arm A's failed runs and all its runs.
        failures_b, n_b: the same for arm B.
        claim: the claim in words ("Leaky ReLU fails less often than ReLU at lr 1.0").
        measure: the measure's name.
        kind: ``LESS`` (A fails less often, the default) or ``GREATER``.
        alpha: the level, in (0, 0.5).

    Example:
        >>> v = judge(compare_failures(0, 10, 9, 10, claim="Leaky fails less often"))
        >>> v.verdict, v.effect, round(v.p_value, 5)
        ('supported', -0.9, 0.00012)
    """
    func = "compare_failures"
    na = _validate.count(n_a, "n_a", func, low=1)
    nb = _validate.count(n_b, "n_b", func, low=1)
    fa = _validate.count(failures_a, "failures_a", func, high=na)
    fb = _validate.count(failures_b, "failures_b", func, high=nb)
    claim = _validate.text(claim, "claim", func)
    measure = _validate.text(measure, "measure", func)
    kind = _validate.one_of(kind, "kind", func, _FISHER_KINDS)
    alpha = _validate.open_interval(alpha, "alpha", func, high=0.5)
    result = _fisher(fa, na, fb, nb, "two-sided", 1 - alpha)
    return Comparison(
        claim=claim,
        kind=kind,
        measure=measure,
        test="Fisher's exact test, two-sided",
        effect=result.difference,
        ci_low=result.ci_low,
        ci_high=result.ci_high,
        confidence=1 - alpha,
        p_value=result.p_value,
        alpha=alpha,
        margin=None,
        equivalence_low=None,
        equivalence_high=None,
        n=na,
        n_b=nb,
        effect_size=None,
        mde=None,
        seeds_needed=None,
    )


def judge_family(comparisons: Sequence[Comparison], *, preliminary: bool = False) -> list[Verdict]:
    """Judge a family of comparisons together, their p-values corrected with Holm's method.

    A family is every comparison that answers one question (all the slopes against ReLU on
    one model and data set, every learning-rate cell of one activation pair): the
    family-wise error of its *supported* verdicts is held at alpha.

    Args:
        comparisons: the ``Comparison`` objects, all with the same alpha (at least one).
        preliminary: True for a quick (smoke) run; every verdict then says so.

    Returns:
        One ``Verdict`` per comparison, in the order given.

    Example:
        >>> c = [compare_failures(0, 10, k, 10, claim=f"cell {k}") for k in (9, 5, 5)]
        >>> [(v.verdict, round(v.p_value, 3), round(v.p_adjusted, 3)) for v in judge_family(c)]
        [('supported', 0.0, 0.0), ('inconclusive', 0.033, 0.065), ('inconclusive', 0.033, 0.065)]
    """
    func = "judge_family"
    items = _validate.instances(comparisons, "comparisons", func, Comparison, _SOURCE)
    alphas = sorted({c.alpha for c in items})
    if len(alphas) > 1:
        raise ValueError(
            f"The 'comparisons' parameter of {func} must share one alpha (one family, one "
            f"level). Got alphas {alphas} instead."
        )
    preliminary = _validate.flag(preliminary, "preliminary", func)
    adjusted = holm([c.p_value for c in items])
    verdicts = []
    for c, p_adjusted in zip(items, adjusted, strict=True):
        verdict, reason = _decide(c, p_adjusted, len(items))
        verdicts.append(
            Verdict(
                **{f.name: getattr(c, f.name) for f in fields(c)},
                verdict=verdict,
                p_adjusted=p_adjusted,
                family_size=len(items),
                rule=rule(c.kind, alpha=c.alpha, margin=c.margin),
                reason=reason,
                preliminary=preliminary,
            )
        )
    return verdicts


def judge(comparison: Comparison, *, preliminary: bool = False) -> Verdict:
    """Judge one comparison on its own (a family of one: no correction).

    The rule is ``rule(comparison.kind, alpha=comparison.alpha, margin=comparison.margin)``;
    see the module docstring. Use ``judge_family`` for comparisons that answer one question.

    Example:
        >>> same = [80.0, 81.5, 79.2, 80.8]
        >>> judge(compare(same, same, claim="A beats itself", measure="acc", margin=0.5)).verdict
        'not supported'
    """
    _validate.instance(comparison, "comparison", "judge", Comparison, _SOURCE)
    return judge_family([comparison], preliminary=preliminary)[0]


def sanity(claim: str, *, measure: str, value: float, n: int, preliminary: bool = False) -> Verdict:
    """A claim true by definition, as a ``Verdict`` labelled ``SANITY``: a check, not evidence.

    Args:
        claim: the claim in words ("the gradient for x < 0 is the slope").
        measure: what was measured ("gradient at x = -1, slope 0.01").
        value: the measured value (the report shows it beside the claim).
        n: the number of trials it was measured on, >= 1.
        preliminary: True for a quick run.

    Example:
        >>> v = sanity("gradient is non-zero", measure="gradient at x=-1", value=0.01, n=1)
        >>> print(v.text)  # doctest: +NORMALIZE_WHITESPACE
        gradient is non-zero: sanity check, true by definition, not evidence.
        gradient at x=-1 = 0.01 (n = 1).
    """
    func = "sanity"
    nan = math.nan
    return Verdict(
        claim=_validate.text(claim, "claim", func),
        kind=SANITY,
        measure=_validate.text(measure, "measure", func),
        test="none (true by definition)",
        effect=_validate.finite_real(value, "value", func),
        ci_low=nan,
        ci_high=nan,
        confidence=nan,
        p_value=nan,
        alpha=nan,
        margin=None,
        equivalence_low=None,
        equivalence_high=None,
        n=_validate.count(n, "n", func, low=1),
        n_b=None,
        effect_size=None,
        mde=None,
        seeds_needed=None,
        verdict=SANITY,
        p_adjusted=nan,
        family_size=1,
        rule=rule(SANITY),
        reason="true by definition",
        preliminary=_validate.flag(preliminary, "preliminary", func),
    )
