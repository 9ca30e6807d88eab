"""Verdicts: the claims of the evidence judged from the tests of ``leaky.lab.stats``.

``compare`` and ``compare_failures`` test one claim (a ``Comparison``); ``judge`` and
``judge_family`` turn comparisons into ``Verdict`` s, with Holm's correction across a
family; ``sanity`` labels a claim true by definition; ``rule`` states each rule in words.
The tests themselves are ``leaky.lab.stats``'s; this module only decides.

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
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from numpy.typing import ArrayLike

from leaky import _validate
from leaky.lab import _checks
from leaky.lab.stats import (
    ALPHA,
    POWER,
    _fisher,
    _num,
    _p,
    _paired,
    _paired_values,
    _pct,
    _Record,
    _tost,
    holm,
    seeds_needed,
)

__all__ = [
    "GREATER",
    "INCONCLUSIVE",
    "KINDS",
    "LESS",
    "NOT_SUPPORTED",
    "NO_DIFFERENCE",
    "SANITY",
    "SUPPORTED",
    "VERDICTS",
    "Comparison",
    "Verdict",
    "compare",
    "compare_failures",
    "compare_failures_stratified",
    "judge",
    "judge_family",
    "rule",
    "sanity",
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

_FISHER_KINDS = (GREATER, LESS)
_SOURCE = "from compare or compare_failures"


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
        _checks.one_of(self.verdict, "verdict", "Verdict", VERDICTS)
        _checks.one_of(self.kind, "kind", "Verdict", (*KINDS, SANITY))

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
        values: dict[str, Any] = {}
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

    Examples:
        >>> print(rule(GREATER, margin=1.0))  # doctest: +NORMALIZE_WHITESPACE
        supported if the Holm-corrected p is below 0.05 and the 95 % interval of A - B lies
        above 0; not supported if that interval lies below 0 (the opposite holds), or if the
        90 % interval lies inside ±1 (TOST: the difference is too small to matter);
        inconclusive otherwise: we cannot tell (the interval holds both no difference and a
        difference that matters, or the effect does not survive the correction)
    """
    func = "rule"
    kind = _checks.one_of(kind, "kind", func, (*KINDS, SANITY))
    if kind == SANITY:
        return "true by definition: a sanity check of the code, not evidence for the claim"
    alpha = _checks.open_interval(alpha, "alpha", func, high=0.5)
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

    Examples:
        >>> a = [82.0, 84.5, 83.1, 85.2, 83.9, 84.4]
        >>> b = [80.1, 82.0, 81.5, 82.4, 81.0, 82.3]
        >>> v = judge(compare(a, b, claim="A beats B", measure="accuracy (%)", margin=1.0))
        >>> v.verdict, round(v.effect, 2), round(v.ci_low, 2), round(v.ci_high, 2)
        ('supported', 2.3, 1.76, 2.84)
    """
    func = "compare"
    x, y = _paired_values(a, b, func)
    claim = _checks.text(claim, "claim", func)
    measure = _checks.text(measure, "measure", func)
    margin = _validate.positive_real(margin, "margin", func)
    kind = _checks.one_of(kind, "kind", func, KINDS)
    alpha = _checks.open_interval(alpha, "alpha", func, high=0.5)
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

    Examples:
        >>> v = judge(compare_failures(0, 10, 9, 10, claim="Leaky fails less often"))
        >>> v.verdict, v.effect, round(v.p_value, 5)
        ('supported', -0.9, 0.00012)
    """
    func = "compare_failures"
    na = _checks.count(n_a, "n_a", func, low=1)
    nb = _checks.count(n_b, "n_b", func, low=1)
    fa = _checks.count(failures_a, "failures_a", func, high=na)
    fb = _checks.count(failures_b, "failures_b", func, high=nb)
    claim = _checks.text(claim, "claim", func)
    measure = _checks.text(measure, "measure", func)
    kind = _checks.one_of(kind, "kind", func, _FISHER_KINDS)
    alpha = _checks.open_interval(alpha, "alpha", func, high=0.5)
    result = _fisher(fa, na, fb, nb, "two-sided", 1 - alpha)
    test = "Fisher's exact test, two-sided"
    effect = (result.difference, result.ci_low, result.ci_high)
    return _counts_comparison(claim, kind, measure, test, effect, result.p_value, alpha, na, nb)


def _counts_comparison(
    claim: str,
    kind: str,
    measure: str,
    test: str,
    effect: tuple[float, float, float],
    p_value: float,
    alpha: float,
    n_a: int,
    n_b: int,
) -> Comparison:
    """A comparison of failure counts: no margin, no effect size, no seeds needed."""
    return Comparison(
        claim=claim,
        kind=kind,
        measure=measure,
        test=test,
        effect=effect[0],
        ci_low=effect[1],
        ci_high=effect[2],
        confidence=1 - alpha,
        p_value=p_value,
        alpha=alpha,
        margin=None,
        equivalence_low=None,
        equivalence_high=None,
        n=n_a,
        n_b=n_b,
        effect_size=None,
        mde=None,
        seeds_needed=None,
    )


def compare_failures_stratified(
    tables: Sequence[tuple[int, int, int, int]],
    *,
    claim: str,
    measure: str = "failure rate",
    kind: str = LESS,
    alpha: float = ALPHA,
) -> Comparison:
    """Test one claim about two arms' failure counts in strata (Cochran-Mantel-Haenszel).

    ``tables`` holds ``(failures_a, runs_a, failures_b, runs_b)`` per stratum (for claim 4:
    each setting and learning rate, with the same seeds in both arms: matched
    denominators). The test is ``stats.cmh`` (two-sided), which compares the arms within
    each stratum and never pools strata into one table; the effect is the logarithm of the
    Mantel-Haenszel common odds ratio of failing, A against B (below 0: A fails less
    often), with its interval from the same stratified analysis. As for
    ``compare_failures``, there is no margin: ``NO_DIFFERENCE`` is refused.

    Examples:
        >>> c = compare_failures_stratified(
        ...     [(0, 10, 6, 10), (1, 10, 5, 10)], claim="Leaky fails less often"
        ... )
        >>> judge(c).verdict, c.test
        ('supported', 'Cochran-Mantel-Haenszel test over 2 strata, two-sided')
    """
    from leaky.lab.stats import cmh

    func = "compare_failures_stratified"
    claim = _checks.text(claim, "claim", func)
    measure = _checks.text(measure, "measure", func)
    kind = _checks.one_of(kind, "kind", func, _FISHER_KINDS)
    alpha = _checks.open_interval(alpha, "alpha", func, high=0.5)
    result = cmh(tables, confidence=1 - alpha)
    test = f"Cochran-Mantel-Haenszel test over {result.strata} strata, two-sided"
    effect = (result.log_odds_ratio, result.log_odds_low, result.log_odds_high)
    return _counts_comparison(
        claim, kind, measure, test, effect, result.p_value, alpha, result.runs_a, result.runs_b
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

    Examples:
        >>> c = [compare_failures(0, 10, k, 10, claim=f"cell {k}") for k in (9, 5, 5)]
        >>> [(v.verdict, round(v.p_value, 3), round(v.p_adjusted, 3)) for v in judge_family(c)]
        [('supported', 0.0, 0.0), ('inconclusive', 0.033, 0.065), ('inconclusive', 0.033, 0.065)]
    """
    func = "judge_family"
    items = _checks.instances(comparisons, "comparisons", func, Comparison, _SOURCE)
    alphas = sorted({c.alpha for c in items})
    if len(alphas) > 1:
        raise ValueError(
            f"The 'comparisons' parameter of {func} must share one alpha (one family, one "
            f"level). Got alphas {alphas} instead."
        )
    preliminary = _checks.flag(preliminary, "preliminary", func)
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

    Examples:
        >>> same = [80.0, 81.5, 79.2, 80.8]
        >>> judge(compare(same, same, claim="A beats itself", measure="acc", margin=0.5)).verdict
        'not supported'
    """
    _checks.instance(comparison, "comparison", "judge", Comparison, _SOURCE)
    return judge_family([comparison], preliminary=preliminary)[0]


def sanity(claim: str, *, measure: str, value: float, n: int, preliminary: bool = False) -> Verdict:
    """A claim true by definition, as a ``Verdict`` labelled ``SANITY``: a check, not evidence.

    Args:
        claim: the claim in words ("the gradient for x < 0 is the slope").
        measure: what was measured ("gradient at x = -1, slope 0.01").
        value: the measured value (the report shows it beside the claim).
        n: the number of trials it was measured on, >= 1.
        preliminary: True for a quick run.

    Examples:
        >>> v = sanity("gradient is non-zero", measure="gradient at x=-1", value=0.01, n=1)
        >>> print(v.text)  # doctest: +NORMALIZE_WHITESPACE
        gradient is non-zero: sanity check, true by definition, not evidence.
        gradient at x=-1 = 0.01 (n = 1).
    """
    func = "sanity"
    nan = math.nan
    return Verdict(
        claim=_checks.text(claim, "claim", func),
        kind=SANITY,
        measure=_checks.text(measure, "measure", func),
        test="none (true by definition)",
        effect=_checks.finite_real(value, "value", func),
        ci_low=nan,
        ci_high=nan,
        confidence=nan,
        p_value=nan,
        alpha=nan,
        margin=None,
        equivalence_low=None,
        equivalence_high=None,
        n=_checks.count(n, "n", func, low=1),
        n_b=None,
        effect_size=None,
        mde=None,
        seeds_needed=None,
        verdict=SANITY,
        p_adjusted=nan,
        family_size=1,
        rule=rule(SANITY),
        reason="true by definition",
        preliminary=_checks.flag(preliminary, "preliminary", func),
    )
