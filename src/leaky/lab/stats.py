"""Every statistical test the evidence uses (the verdicts built from them: ``leaky.lab.verdicts``).

One home for the statistics of leaky's evidence, on ``scipy.stats``: a test that SciPy has
is called, never re-implemented. Experiments return data; this module turns the data into
numbers with intervals; ``leaky.lab.verdicts`` turns those into verdicts; the report and
``leaky compare`` only render them.

=============================  ================================================================
``paired_difference``          a - b over shared seeds: mean, paired-t interval and p, d_z, MDE
``equivalence``                TOST for paired data: does a - b lie within ±margin?
``holm``                       Holm's step-down adjusted p-values, in the order given
``proportion``                 a proportion with its Wilson interval
``fisher``                     Fisher's exact test on two failure counts, the difference of the
                               rates and its Newcombe (hybrid Wilson) interval
``minimum_detectable_effect``  the difference a paired t-test detects with the given power
``seeds_needed``               the seeds that make a difference of one margin detectable
``mean_interval``              the mean of values and its t-interval (one answer for n < 2)
``cmh``                        failure counts in strata (Cochran-Mantel-Haenszel, statsmodels)
=============================  ================================================================

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
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import optimize, stats

from leaky import _validate
from leaky.lab import _checks
from leaky.lab._json import json_safe

__all__ = [
    "ALPHA",
    "CONSTANT_RTOL",
    "POWER",
    "Equivalence",
    "FisherResult",
    "PairedDifference",
    "Proportion",
    "cmh",
    "equivalence",
    "fisher",
    "holm",
    "mean_interval",
    "minimum_detectable_effect",
    "paired_difference",
    "proportion",
    "seeds_needed",
]


ALPHA = 0.05  # the level of every test, before Holm's correction
POWER = 0.8  # the power of the minimum detectable effect and of "needs about N seeds"
CONSTANT_RTOL = 1e-12  # differences closer than this (relative) are one constant


# --- records ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Record:
    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-safe Python values: NaN and ±inf become None."""
        return {f.name: json_safe(getattr(self, f.name)) for f in fields(self)}


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
    x = _checks.per_seed_values(a, "a", func)
    y = _checks.per_seed_values(b, "b", func)
    _checks.same_seeds(x.size, y.size, func)
    return x, y


def _is_constant(d: np.ndarray) -> bool:
    return bool(np.ptp(d) <= CONSTANT_RTOL * np.max(np.abs(d)))


def _power_level(power: Any, alpha: float, func: str) -> float:
    return _checks.open_interval(power, "power", func, low=alpha, high=1.0)


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
        a: one finite value per seed, at least 2. A failed run is entered as the value the
            caller chose for it; NaN and inf raise.
        b: the same for the other arm, same seeds in the same order.
        confidence: the level of the interval, in (0, 1); alpha = 1 - confidence is the
            level of the MDE.
        power: the power of the MDE, in (alpha, 1).

    Returns:
        A ``PairedDifference``.

    Raises:
        ValueError: NaN or inf in ``a`` or ``b`` (with the index), different lengths,
            fewer than 2 seeds, or a level out of range.

    Examples:
        >>> r = paired_difference([1.0, 2.0, 3.0, 4.5], [0.5, 2.2, 2.0, 3.0])
        >>> print(f"{r.difference:.2f} [{r.ci_low:.3f}, {r.ci_high:.3f}] p={r.p_value:.3f}")
        0.70 [-0.455, 1.855] p=0.149

    See also: ``equivalence`` (is the difference within a margin?), ``compare``.
    """
    func = "paired_difference"
    x, y = _paired_values(a, b, func)
    confidence = _checks.open_interval(confidence, "confidence", func)
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
        a: one finite value per seed, as for ``paired_difference``.
        b: the same for the other arm, same seeds in the same order.
        margin: the smallest difference that matters, > 0, in the unit of a and b.
        alpha: the level of each one-sided test, in (0, 0.5).

    Returns:
        An ``Equivalence``.

    Examples:
        >>> e = equivalence([80.1, 79.6, 80.4, 80.0], [80.0, 79.8, 80.1, 80.2], margin=1.0)
        >>> e.equivalent, round(e.p_value, 4), round(e.ci_low, 3), round(e.ci_high, 3)
        (True, 0.0019, -0.288, 0.288)

    See also: ``paired_difference``; ``compare`` with ``kind=NO_DIFFERENCE``.
    """
    func = "equivalence"
    x, y = _paired_values(a, b, func)
    margin = _validate.positive_real(margin, "margin", func)
    alpha = _checks.open_interval(alpha, "alpha", func, high=0.5)
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

    Examples:
        >>> round(minimum_detectable_effect(1.0, 10), 3)  # in units of sd: d_z
        0.996
    """
    func = "minimum_detectable_effect"
    sd = _validate.positive_real(sd, "sd", func, zero=True)
    n = _checks.count(n, "n", func, low=2)
    alpha = _checks.open_interval(alpha, "alpha", func)
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

    Examples:
        >>> seeds_needed(1.0, 1.0), seeds_needed(2.0, 1.0)  # sd 1 and 2, margin 1
        (10, 34)
        >>> seeds_needed(1.0, 1.0, for_equivalence=True)
        11
    """
    func = "seeds_needed"
    sd = _validate.positive_real(sd, "sd", func, zero=True)
    margin = _validate.positive_real(margin, "margin", func)
    alpha = _checks.open_interval(alpha, "alpha", func, high=0.5)
    power = _power_level(power, alpha, func)
    for_equivalence = _checks.flag(for_equivalence, "for_equivalence", func)
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

    Examples:
        >>> [round(p, 6) for p in holm([0.01, 0.04, 0.03, 0.005])]
        [0.03, 0.06, 0.06, 0.02]
    """
    p = _checks.pvalues(pvalues, "holm")
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

    Examples:
        >>> p = proportion(0, 10)
        >>> p.estimate, round(p.ci_low, 4), round(p.ci_high, 4)
        (0.0, 0.0, 0.2775)
    """
    func = "proportion"
    n = _checks.count(n, "n", func, low=1)
    k = _checks.count(successes, "successes", func, high=n)
    confidence = _checks.open_interval(confidence, "confidence", func)
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
        failures_a: arm A's failed runs.
        n_a: all of arm A's runs (failed ones included).
        failures_b: arm B's failed runs.
        n_b: all of arm B's runs.
        alternative: "two-sided" (default), "greater" (A's odds of failing are higher than
            B's) or "less".
        confidence: the level of the intervals, in (0, 1).

    Examples:
        >>> r = fisher(3, 4, 1, 4)  # Fisher's tea-tasting table
        >>> r.odds_ratio, round(r.p_value, 4)
        (9.0, 0.4857)
        >>> round(fisher(3, 4, 1, 4, alternative="greater").p_value, 4)
        0.2429
    """
    func = "fisher"
    na = _checks.count(n_a, "n_a", func, low=1)
    nb = _checks.count(n_b, "n_b", func, low=1)
    fa = _checks.count(failures_a, "failures_a", func, high=na)
    fb = _checks.count(failures_b, "failures_b", func, high=nb)
    alternative = _checks.one_of(alternative, "alternative", func, ("two-sided", "greater", "less"))
    confidence = _checks.open_interval(confidence, "confidence", func)
    return _fisher(fa, na, fb, nb, alternative, confidence)


@dataclass(frozen=True)
class MeanInterval(_Record):
    """A mean with its two-sided t-interval (``mean_interval``).

    Attributes:
        mean: the mean of the values (NaN for none).
        low, high: the interval's ends; NaN for fewer than two values (no spread to read
            it from: no interval, never a zero-width or an infinite one).
        n: the number of values.
        confidence: the interval's level.
    """

    mean: float
    low: float
    high: float
    n: int
    confidence: float

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def mean_interval(values: ArrayLike, *, confidence: float = 1 - ALPHA) -> MeanInterval:
    """The mean of ``values`` and its t-interval: the one home of this computation.

    ``mean +- t_{(1 + confidence)/2, n-1} * sd / sqrt(n)`` (``scipy.stats.t``). For fewer
    than two values the answer is fixed: the mean (NaN for no value) and a NaN interval
    (no spread to read it from: no interval, never a zero-width or an infinite one; NaN is
    stored as JSON null and drawn as no error bar). NaN and inf among the values are
    refused (a silent NaN changes n). Equal values give the zero-width interval at them.

    Examples:
        >>> r = mean_interval([1.0, 2.0, 3.0])
        >>> r.mean, round(r.low, 4), round(r.high, 4), r.n
        (2.0, -0.4841, 4.4841, 3)
        >>> one = mean_interval([5.0])
        >>> one.mean, one.low, one.high, mean_interval([]).n
        (5.0, nan, nan, 0)
    """
    func = "mean_interval"
    confidence = _checks.open_interval(confidence, "confidence", func)
    v = np.asarray(values, dtype=float).ravel()
    if not np.all(np.isfinite(v)):
        raise ValueError(
            f"The 'values' parameter of {func} must hold finite numbers (a failed run is "
            "entered as the value chosen for it, never as NaN). Got a non-finite value."
        )
    n = int(v.size)
    if n == 0:
        return MeanInterval(math.nan, math.nan, math.nan, 0, confidence)
    mean = float(v.mean())
    if n == 1:
        return MeanInterval(mean, math.nan, math.nan, 1, confidence)
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1) * v.std(ddof=1) / math.sqrt(n))
    return MeanInterval(mean, mean - half, mean + half, n, confidence)


@dataclass(frozen=True)
class CMHResult(_Record):
    """Two arms' failure counts over strata, tested together (``cmh``).

    Attributes:
        failures_a, runs_a, failures_b, runs_b: the counts summed over the strata.
        strata: the strata given; informative: those with a failure in either arm (the
            others add nothing to the test).
        statistic, p_value: the Cochran-Mantel-Haenszel test of a common odds ratio of 1
            (two-sided, without continuity correction); p = 1 when no stratum informs it.
        odds_ratio, log_odds_low, log_odds_high: the Mantel-Haenszel pooled odds ratio of
            failing, A against B, and the interval of its logarithm (statsmodels'
            Robins-Breslow-Greenland variance); strata with a zero cell enter these with 0.5
            added to every cell (Haldane), so that one arm without failures gives a finite
            ratio; the test reads the counts as they are. 1 and (0, 0) when no stratum
            informs them.
        difference: the difference of the pooled failure rates, A - B (descriptive).
    """

    failures_a: int
    runs_a: int
    failures_b: int
    runs_b: int
    strata: int
    informative: int
    statistic: float
    p_value: float
    odds_ratio: float
    log_odds_low: float
    log_odds_high: float
    difference: float
    confidence: float

    @property
    def log_odds_ratio(self) -> float:
        return math.log(self.odds_ratio)


def cmh(tables: Sequence[tuple[int, int, int, int]], *, confidence: float = 1 - ALPHA) -> CMHResult:
    """Failure counts of two arms in strata: ``(failures_a, runs_a, failures_b, runs_b)`` each.

    The Cochran-Mantel-Haenszel test (``statsmodels.stats.contingency_tables.
    StratifiedTable.test_null_odds``) asks whether the arms fail equally often within the
    strata (for claim 4: each setting and learning rate), never pooling them into one
    table; the effect is the Mantel-Haenszel common odds ratio with its interval, from the
    same stratified analysis.

    Examples:
        >>> r = cmh([(0, 10, 6, 10), (1, 10, 5, 10), (0, 10, 0, 10)])
        >>> r.informative, round(r.difference, 3), r.p_value < 0.01, r.log_odds_high < 0
        (2, -0.333, True, True)
    """
    from statsmodels.stats.contingency_tables import StratifiedTable

    func = "cmh"
    confidence = _checks.open_interval(confidence, "confidence", func)
    rows = []
    for t in tables:
        if len(t) != 4:
            raise ValueError(
                f"The 'tables' parameter of {func} must hold (failures_a, runs_a, "
                f"failures_b, runs_b) per stratum. Got {t!r} instead."
            )
        na = _checks.count(t[1], "runs_a", func, low=1)
        nb = _checks.count(t[3], "runs_b", func, low=1)
        fa = _checks.count(t[0], "failures_a", func, high=na)
        fb = _checks.count(t[2], "failures_b", func, high=nb)
        rows.append((fa, na, fb, nb))
    if not rows:
        raise ValueError(f"The 'tables' parameter of {func} must hold at least one stratum.")
    fa, na = sum(r[0] for r in rows), sum(r[1] for r in rows)
    fb, nb = sum(r[2] for r in rows), sum(r[3] for r in rows)
    informative = [r for r in rows if r[0] + r[2] > 0 and r[0] + r[2] < r[1] + r[3]]
    statistic, p, odds, low, high = math.nan, 1.0, 1.0, 0.0, 0.0
    if informative:
        raw = [np.array([[a, n - a], [b, m - b]], dtype=float) for a, n, b, m in informative]
        test = StratifiedTable(raw).test_null_odds(correction=False)
        statistic, p = float(test.statistic), float(test.pvalue)
        haldane = StratifiedTable([t + 0.5 if (t == 0).any() else t for t in raw])
        odds = float(haldane.oddsratio_pooled)
        low, high = (float(math.log(v)) for v in haldane.oddsratio_pooled_confint(1 - confidence))
    return CMHResult(
        fa,
        na,
        fb,
        nb,
        len(rows),
        len(informative),
        statistic,
        p,
        odds,
        low,
        high,
        fa / na - fb / nb,
        confidence,
    )
