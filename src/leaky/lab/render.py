"""The report's pages, rendered from a ``Report``: Markdown and HTML (reads, computes nothing).

``markdown`` (``results.md``) and ``markdown_table`` / ``harness_markdown`` (the README's
generated blocks) are text; ``page`` is the HTML page, rendered from the Jinja2 template
``templates/report.html.j2`` with autoescaping, from the plain data of ``page_data``: every
stored value is shown as text.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from leaky.lab import claims as claims_mod
from leaky.lab import verdicts
from leaky.lab.experiments import born_dead, harness

if TYPE_CHECKING:
    from leaky.lab.report import Report


def _verdict_cell(v: verdicts.Verdict | None) -> str:
    if v is None:
        return "not measured"
    return v.verdict + (" (preliminary)" if v.preliminary else "")


def _effect(v: verdicts.Verdict | None) -> str:
    if v is None:
        return "—"
    if v.verdict == verdicts.SANITY:
        return f"{v.effect:.3g}"
    return f"{v.effect:+.3g} [{v.ci_low:+.3g}, {v.ci_high:+.3g}]"


def _p(v: verdicts.Verdict | None) -> str:
    if v is None or v.verdict == verdicts.SANITY or not math.isfinite(v.p_value):
        return "—"
    text = f"{v.p_value:.2g}"
    if v.family_size > 1:
        text += f" (Holm {v.p_adjusted:.2g}, {v.family_size} tests)"
    return text


def _runs(v: verdicts.Verdict | None) -> str:
    if v is None:
        return "—"
    return str(v.n) if v.n_b is None else f"{v.n} / {v.n_b}"


def _row(*cells: str) -> str:
    """One Markdown table row; a ``|`` inside a cell (``|h|``) is escaped, or it would split
    the cell (GitHub and Python-Markdown alike)."""
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def markdown_table(report: Report) -> str:
    """The verdict table (Markdown), as the README shows it."""
    lines = [
        "| claim | verdict | primary comparison; measure: A - B [95 % CI] | test, p | n "
        "| finding |",
        "|---|---|---|---|---|---|",
    ]
    for c in report.claims:
        v = c.primary
        measure = "—" if v is None else v.measure
        test = "—" if v is None or v.verdict == verdicts.SANITY else f"{v.test}, p = {_p(v)}"
        what = "—" if v is None else f"{v.claim}; {measure}: {_effect(v)}"
        lines.append(_row(c.title, f"**{_verdict_cell(v)}**", what, test, _runs(v), c.finding))
    return "\n".join(lines)


def harness_markdown(report: Report) -> str:
    """The harness check (our ReLU accuracies against the MNIST-1D paper), as Markdown."""
    hres = report.results.get(harness.NAME)
    if hres is None or hres.check is None:
        return ""
    lines = [
        f"Our ReLU models with the MNIST-1D paper's recipe against its Table 1 "
        f"(Greydanus & Kobak 2024). Rule: {hres.check.rule}."
        + (" **Preliminary: not the paper's number of steps.**" if hres.check.preliminary else ""),
        "",
        "| model | ours [95 % CI] | paper | difference | tolerance | check | seeds |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        _row(
            r.model,
            f"{r.mean:.1f} % [{r.ci_low:.1f}, {r.ci_high:.1f}]",
            f"{r.paper_mean:.0f} ± {r.paper_pm:.0f} %",
            f"{r.difference:+.1f}",
            f"± {r.tolerance:.1f}",
            r.status if r.status != "FAIL" else "**FAIL**",
            str(len(r.seeds)),
        )
        for r in hres.check.rows
    ]
    return "\n".join(lines)


def markdown(report: Report) -> str:
    head = "# leaky evidence report"
    if report.plan.preliminary:
        head += "\n\n**PRELIMINARY: a quick (smoke) run. Its verdicts are not evidence.**"
    lines = [
        head,
        "",
        f"Scale **{report.plan.scale}**, seeds per cell: "
        f"{report.setup.get('seeds per cell', '?')}.",
        "",
        "## In short",
        "",
        *[f"- **{c.title}**: {summary_sentence(c)}" for c in report.claims],
        "",
        "## Pre-registered measures (fixed in code before the run)",
        "",
        *[
            f"- **{p['key']}**: " + "; ".join(f"{k}: {v}" for k, v in p["items"])
            for p in preregistered()
        ],
        "",
        markdown_table(report),
        "",
        "## What should I use?",
        "",
    ]
    lines += [f"- **{a.model}**: {a.recommendation}" for a in report.advice]
    check = harness_markdown(report)
    if check:
        lines += ["", "## Is the harness sound?", "", check]
    lines += ["", "## Rules", ""]
    lines += [f"- **{c.title}**: {c.primary.rule}." for c in report.claims if c.primary]
    if report.failures:
        lines += ["", "## Failed tasks", ""] + [f"- {f}" for f in report.failures]
    lines += ["", "## Setup", ""] + [f"- {k}: {v}" for k, v in report.setup.items()]
    return "\n".join(lines) + "\n"


def _badge(v: verdicts.Verdict | None) -> dict[str, str]:
    return {
        "css": "not-measured" if v is None else v.verdict.replace(" ", "-"),
        "text": _verdict_cell(v),
    }


def _verdict_row(v: verdicts.Verdict) -> dict[str, Any]:
    return {
        "claim": v.claim,
        "badge": _badge(v),
        "measure": v.measure,
        "effect": _effect(v),
        "test": v.test,
        "p": _p(v),
        "runs": _runs(v),
        "reason": v.reason,
    }


def _claim_row(c: claims_mod.Claim) -> dict[str, Any]:
    v = c.primary
    return {
        "title": c.title,
        "quote": c.quote,
        "badge": _badge(v),
        "claim": v.claim if v else "—",
        "measure": v.measure if v else "—",
        "effect": _effect(v),
        "test": v.test if v else "—",
        "p": _p(v),
        "runs": _runs(v),
        "finding": c.finding,
        "notes": list(c.notes),
        "rule": v.rule if v else None,
    }


def summary_sentence(c: claims_mod.Claim) -> str:
    """One sentence per claim for the first screen: the verdict, the claim, its effect."""
    v = c.primary
    if v is None:
        return "not measured at this scale."
    if v.verdict == verdicts.SANITY:
        return f"a sanity check (true by definition): {v.measure} = {_effect(v)}."
    return f"{v.verdict}: {v.claim} ({v.measure}: {_effect(v)})."


def preregistered() -> list[dict[str, Any]]:
    """Each judged claim's pre-registered measure, comparison and test (``claims``)."""
    return [
        {"key": key, "items": [(k, str(v)) for k, v in items.items()]}
        for key, items in claims_mod.PREREGISTERED.items()
    ]


def page_data(report: Report, alt: Mapping[str, str]) -> dict[str, Any]:
    """What the page shows, as plain text in a dict (``page`` renders it, escaped)."""
    from leaky.lab import figures

    sections = []
    for name, title, caption in figures.SECTIONS:
        if name not in alt:
            continue
        rows = [
            _verdict_row(v)
            for c in report.claims
            if c.key in figures.CLAIMS_OF.get(name, ())
            for v in ([c.primary] if c.primary else []) + list(c.secondary)
            if v.verdict != verdicts.SANITY
        ]
        sections.append(
            {
                "name": name,
                "title": title,
                "caption": caption,
                "alt": alt[name],
                "verdicts": rows,
            }
        )
    harness_data = None
    hres = report.results.get(harness.NAME)
    if hres is not None and hres.check is not None:
        harness_data = {
            "rule": hres.check.rule,
            "preliminary": hres.check.preliminary,
            "rows": [
                {
                    "model": r.model,
                    "ours": f"{r.mean:.1f} % [{r.ci_low:.1f}, {r.ci_high:.1f}]",
                    "paper": f"{r.paper_mean:.0f} ± {r.paper_pm:.0f} %",
                    "difference": f"{r.difference:+.1f}",
                    "tolerance": f"± {r.tolerance:.1f}",
                    "check": r.status,
                    "seeds": len(r.seeds),
                }
                for r in hres.check.rows
            ],
        }
    bd = report.results.get(born_dead.NAME)
    brownlowe = [
        {
            "n1": r["n1"],
            "estimate": f"{r['p']['estimate']:.4f} [{r['p']['ci_low']:.4f}, "
            f"{r['p']['ci_high']:.4f}]",
            "exact": f"{r['exact']:.4f}",
            "agrees": "yes" if r["agrees"] else "NO",
        }
        for r in (bd.brownlowe if bd is not None and bd.brownlowe else ())
    ]
    return {
        "preliminary": report.plan.preliminary,
        "scale": report.plan.scale,
        "seeds": str(report.setup.get("seeds per cell", "?")),
        "seed": report.plan.seed,
        "claims": [_claim_row(c) for c in report.claims],
        "advice": [
            {
                "model": a.model,
                "recommendation": a.recommendation,
                "ranking": [
                    {
                        "arm": r["arm"],
                        "val_acc": f"{r['val_acc']:.1f} %",
                        "test_acc": f"{r['test_acc']:.1f} % "
                        f"[{r['test_ci'][0]:.1f}, {r['test_ci'][1]:.1f}]",
                        "diverged": r["diverged"],
                    }
                    for r in a.ranking
                ],
            }
            for a in report.advice
        ],
        "harness": harness_data,
        "summary": [
            {"title": c.title, "badge": _badge(c.primary), "sentence": summary_sentence(c)}
            for c in report.claims
        ],
        "prereg": preregistered(),
        "sections": sections,
        "brownlowe": brownlowe,
        "failures": list(report.failures),
        "setup": [(str(k), str(v)) for k, v in report.setup.items()],
    }


@functools.cache
def _template() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("leaky.lab", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template("report.html.j2")


def page(report: Report, alt: Mapping[str, str]) -> str:
    """The HTML page: self-contained, every figure a local file, every value escaped.

    Rendered from ``templates/report.html.j2`` (Jinja2, autoescape) with ``page_data``.
    """
    return _template().render(page_data(report, alt))
