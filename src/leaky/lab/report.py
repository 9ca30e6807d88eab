"""The evidence report: plan the study, run it (resumably), judge every claim, render one folder.

Running stores, rendering reads (after asv): ``build`` plans the experiments of
``leaky.lab.experiments`` at a scale, runs their tasks through ``leaky.lab.runner`` (in
this process, in local processes or on a Dask cluster), each finished task stored at once
in ``DIR/runs.sqlite``; it then reads the stored results back, summarises them, judges the
claims (``leaky.lab.claims``), draws the figures (``leaky.lab.figures``) and writes
``DIR/index.html`` (readable offline, no external assets), ``DIR/results.json`` (every
number behind every figure and verdict), ``DIR/results.md`` and ``DIR/figures/``.
``rerender(DIR)`` (``leaky report --from DIR``) does the second half only, from the stored
results, in seconds, training nothing. An interrupted study re-run with the same arguments
computes only the tasks that are missing.

**Scales**: ``quick`` is a smoke run (seconds; every verdict marked preliminary);
``standard`` is what ``make demo`` runs (about 6 minutes on two cores); ``full`` is for a
bigger machine or a cluster (more seeds, longer training).

The output folder is the user's: leaky only ever writes into a folder that it created or
that holds its marker file (``.leaky-report``); ``DIR`` must be a new path, an empty folder
or a previous report, and anything else (a folder holding other files, a file, a symlink,
the working directory, the home directory, ``/``) is refused by ``check_out`` before any
experiment runs. Rendered files are written into a temporary folder inside ``DIR`` and
moved into place one by one (``results.json`` last), so no file is ever half-written; a
temporary folder left behind by a killed run is removed by the next one.
"""

from __future__ import annotations

import html
import json
import math
import os
import platform
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leaky._version import __version__
from leaky.lab import claims as claims_mod
from leaky.lab import stats
from leaky.lab.experiments import born_dead, dying, harness, slopes, stability
from leaky.lab.progress import Progress

MARKER = ".leaky-report"
"""The file every report folder carries: only a folder holding it is ever written into."""
PLAN_FILE = "plan.json"
SETUP_FILE = "setup.json"  # the last run's setup: kept for --from
SCALES = ("quick", "standard", "full")
EXPERIMENTS = {m.NAME: m for m in (harness, born_dead, dying, slopes, stability)}
"""Every experiment of the report, by name, in the order the report runs and shows them."""
_TMP = ".leaky-render-"  # DIR/.leaky-render-PID, DIR/.leaky-figures-old-PID
_OLD_FIGURES = ".leaky-figures-old-"


# --- the plan ------------------------------------------------------------------------------


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
        configs = {
            name: EXPERIMENTS[name].Config.from_dict(cfg) for name, cfg in d["configs"].items()
        }
        return cls(d["scale"], d["seed"], configs)


def plan(scale: str = "standard", seed: int = 0) -> StudyPlan:
    """Every experiment's configuration at ``scale`` (``quick``, ``standard``, ``full``).

    Example:
        >>> p = plan("quick")
        >>> list(p.configs) == list(EXPERIMENTS), p.preliminary
        (True, True)
    """
    from leaky import _validate

    scale = _validate.one_of(scale, "scale", "plan", SCALES)
    seed = _validate.seed(seed, "seed", "plan")
    return StudyPlan(scale, seed, {name: m.plan(scale, seed) for name, m in EXPERIMENTS.items()})


# --- the report, as data -----------------------------------------------------------------


@dataclass
class Report:
    """Everything the files show: the plan, each experiment's result, the claims, advice."""

    plan: StudyPlan
    results: dict[str, Any]
    claims: list[claims_mod.Claim]
    advice: list[claims_mod.Advice]
    setup: dict[str, Any]
    failures: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "setup": self.setup,
            "plan": self.plan.to_dict(),
            "claims": [c.to_dict() for c in self.claims],
            "advice": [a.to_dict() for a in self.advice],
            "results": {name: r.to_dict() for name, r in self.results.items()},
            "failures": list(self.failures),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Report:
        p = StudyPlan.from_dict(d["plan"])
        results = {name: EXPERIMENTS[name].Result.from_dict(r) for name, r in d["results"].items()}
        return cls(
            p,
            results,
            [claims_mod.Claim.from_dict(c) for c in d["claims"]],
            [claims_mod.Advice.from_dict(a) for a in d["advice"]],
            d["setup"],
            list(d["failures"]),
        )


def summarize(p: StudyPlan, outcomes: Mapping[str, list[Any]], setup: dict[str, Any]) -> Report:
    """The report of stored outcomes: summaries, claims and advice (no training)."""
    results = {
        name: EXPERIMENTS[name].summarize(p.configs[name], outcomes[name]) for name in p.configs
    }
    failures = [
        f"{o.experiment} / {o.label}: {o.error}"
        for name in p.configs
        for o in outcomes[name]
        if not o.ok
    ]
    judged = claims_mod.judge(results, p.preliminary)
    advice = claims_mod.advice(results.get(slopes.NAME), p.preliminary)
    return Report(p, results, judged, advice, setup, failures)


def json_safe(value: Any) -> Any:
    """JSON-safe: NaN and inf become None, tuples lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def machine_setup(p: StudyPlan, backend: str, seconds: float, ran: int, cached: int) -> dict:
    import numpy
    import torch

    seeds = sorted(
        {len(getattr(cfg, "seeds", ())) for cfg in p.configs.values() if hasattr(cfg, "seeds")}
    )
    return {
        "leaky": __version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "torch": torch.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "scale": p.scale,
        "seeds per cell": ", ".join(str(s) for s in seeds),
        "seed": p.seed,
        "ran on": backend,
        "tasks run": ran,
        "tasks read from the store": cached,
        "seconds": round(seconds, 1),
        "command": " ".join(["leaky", *sys.argv[1:]]) if sys.argv else "leaky report",
    }


# --- run, or read back -----------------------------------------------------------------


def build(
    out: str | Path = "leaky-report",
    *,
    scale: str = "standard",
    seed: int = 0,
    jobs: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> tuple[Path, Report]:
    """Plan, run (resuming what is stored), judge and write the report; returns both.

    ``out`` is checked (``check_out``) before anything runs.
    """
    from leaky.lab.runner import run

    out = prepare(out)
    p = plan(scale, seed)
    (out / PLAN_FILE).write_text(json.dumps(p.to_dict(), indent=1))
    per_experiment = p.tasks()
    every = [t for tasks in per_experiment.values() for t in tasks]
    start = time.perf_counter()
    results = run(every, out, jobs=jobs, scheduler=scheduler, progress=progress)
    by_key = {o.key: o for o in results.outcomes}
    outcomes = {
        name: [_relabel(by_key[t.key], t) for t in tasks] for name, tasks in per_experiment.items()
    }
    setup = machine_setup(
        p, results.backend, time.perf_counter() - start, results.ran, results.cached
    )
    (out / SETUP_FILE).write_text(json.dumps(setup, indent=1))
    report = summarize(p, outcomes, setup)
    write(out, report)
    return out, report


def _relabel(outcome: Any, task: Any) -> Any:
    import dataclasses

    return dataclasses.replace(outcome, experiment=task.experiment, label=task.label)


def rerender(folder: str | Path) -> tuple[Path, Report]:
    """The report of a study already run in ``folder``, from its stored results alone."""
    from leaky.lab.store import Store

    folder = Path(folder)
    if not _is_report(folder) or not (folder / PLAN_FILE).is_file():
        raise ValueError(
            f"--from {str(folder)!r} holds no leaky study (no {MARKER} and {PLAN_FILE}); "
            "give the folder a `leaky report --out` wrote."
        )
    p = StudyPlan.from_dict(json.loads((folder / PLAN_FILE).read_text()))
    with Store(folder, create=False) as store:
        outcomes = {name: store.load(tasks) for name, tasks in p.tasks().items()}
    setup: dict[str, Any] = {}
    try:
        setup = dict(json.loads((folder / SETUP_FILE).read_text()))
    except (OSError, ValueError):
        setup = {}
    setup["rendered"] = "from the stored results (leaky report --from)"
    report = summarize(p, outcomes, setup)
    write(folder, report)
    return folder, report


# --- the folder --------------------------------------------------------------------------


def _is_report(folder: Path) -> bool:
    """True if ``folder`` is a real folder (not a symlink) holding leaky's marker file."""
    marker = folder / MARKER
    if folder.is_symlink() or not folder.is_dir() or marker.is_symlink():
        return False
    try:
        return "leaky" in json.loads(marker.read_text())
    except (OSError, ValueError, TypeError):
        return False


def check_out(out: str | Path) -> Path:
    """Return ``out`` as a Path if a report may be written there, else raise ValueError.

    Allowed: a path that does not exist yet, an empty folder, or a folder holding a previous
    leaky report (its marker file). Refused: anything else, so that nothing leaky did not
    write is ever deleted or overwritten.
    """
    out = Path(out)
    shown = f"--out {str(out)!r}"
    if out.is_symlink():
        raise ValueError(f"{shown} is a symbolic link; give the report folder itself.")
    full = out.resolve()
    cwd = Path.cwd().resolve()
    if full == cwd or full in cwd.parents:
        raise ValueError(f"{shown} is the working directory or holds it; name a new folder.")
    if full == Path.home().resolve() or full == Path(full.anchor):
        raise ValueError(f"{shown} is the home or the root directory; name a new folder.")
    if not out.exists():
        parent = next((p for p in full.parents if p.exists()), None)
        if parent is not None and not parent.is_dir():
            raise ValueError(f"{shown} cannot be created: {parent} is not a folder.")
        if parent is not None and not os.access(parent, os.W_OK | os.X_OK):
            raise ValueError(f"{shown} cannot be created: {parent} is not writable.")
        return out
    if not out.is_dir():
        raise ValueError(f"{shown} exists and is not a folder; name a new folder.")
    if not os.access(out, os.W_OK | os.X_OK):
        raise ValueError(f"{shown} is not writable.")
    if _is_report(out) or not any(out.iterdir()):
        return out
    raise ValueError(
        f"{shown} is a folder that is not empty and holds no leaky report (no {MARKER} "
        "file); leaky writes only into its own reports: name a new or empty folder."
    )


def prepare(out: str | Path) -> Path:
    """Check ``out``, create it if needed and mark it as leaky's (before anything runs)."""
    out = check_out(out)
    out.mkdir(parents=True, exist_ok=True)
    marker = out / MARKER
    if not marker.exists():
        marker.write_text(json.dumps({"leaky": __version__, "kind": "report"}) + "\n")
    _remove_leftovers(out)
    return out


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process renders one report at a time: a leftover of ours
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_leftovers(out: Path) -> None:
    """Remove the temporary folders of killed runs inside ``out`` (a marked report folder).

    Only folders named ``.leaky-render-PID`` or ``.leaky-figures-old-PID`` whose process is
    gone are removed; anything else is left alone.
    """
    if not _is_report(out):
        return
    for prefix in (_TMP, _OLD_FIGURES):
        for path in out.glob(f"{prefix}*"):
            pid = path.name[len(prefix) :]
            if (
                pid.isdigit()
                and not _pid_alive(int(pid))
                and path.is_dir()
                and not path.is_symlink()
            ):
                shutil.rmtree(path)


def write(out: str | Path, report: Report) -> Path:
    """Render ``report`` into ``out`` (a marked folder): files complete, or the old ones."""
    from leaky.lab import figures

    out = prepare(out)
    tmp = out / f"{_TMP}{os.getpid()}"
    old_figures = out / f"{_OLD_FIGURES}{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        (tmp / "figures").mkdir()
        drawn = figures.report_figures(report)
        for name, (fig, _) in drawn.items():
            for suffix in figures.FORMATS:
                figures.save(fig, tmp / "figures" / f"{name}{suffix}")
        alt = {name: text for name, (_, text) in drawn.items()}
        (tmp / "results.md").write_text(markdown(report))
        (tmp / "index.html").write_text(page(report, alt))
        (tmp / "results.json").write_text(json.dumps(json_safe(report.to_dict()), indent=1))
        set_aside = (out / "figures").is_dir() and not (out / "figures").is_symlink()
        if set_aside:
            os.rename(out / "figures", old_figures)
        try:
            os.rename(tmp / "figures", out / "figures")
        except BaseException:
            if set_aside:  # the new figures did not go in: the old ones go back
                os.rename(old_figures, out / "figures")
            raise
        for name in ("results.md", "index.html", "results.json"):  # results.json: the commit
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old_figures, ignore_errors=True)
    return out


# --- rendering (reads the report, computes nothing) --------------------------------------


def _verdict_cell(v: stats.Verdict | None) -> str:
    if v is None:
        return "not measured"
    return v.verdict + (" (preliminary)" if v.preliminary else "")


def _effect(v: stats.Verdict | None) -> str:
    if v is None:
        return "—"
    if v.verdict == stats.SANITY:
        return f"{v.effect:.3g}"
    return f"{v.effect:+.3g} [{v.ci_low:+.3g}, {v.ci_high:+.3g}]"


def _p(v: stats.Verdict | None) -> str:
    if v is None or v.verdict == stats.SANITY or not math.isfinite(v.p_value):
        return "—"
    text = f"{v.p_value:.2g}"
    if v.family_size > 1:
        text += f" (Holm {v.p_adjusted:.2g}, {v.family_size} tests)"
    return text


def _runs(v: stats.Verdict | None) -> str:
    if v is None:
        return "—"
    return str(v.n) if v.n_b is None else f"{v.n} / {v.n_b}"


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
        test = "—" if v is None or v.verdict == stats.SANITY else f"{v.test}, p = {_p(v)}"
        what = "—" if v is None else f"{v.claim}; {measure}: {_effect(v)}"
        lines.append(
            f"| {c.title} | **{_verdict_cell(v)}** | {what} | {test} | {_runs(v)} | {c.finding} |"
        )
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
        f"| {r.model} | {r.mean:.1f} % [{r.ci_low:.1f}, {r.ci_high:.1f}] | "
        f"{r.paper_mean:.0f} ± {r.paper_pm:.0f} % | {r.difference:+.1f} | ± {r.tolerance:.1f} | "
        f"{'pass' if r.passed else '**FAIL**'} | {len(r.seeds)} |"
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


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1150px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
table{border-collapse:collapse;width:100%;margin:1em 0;font-size:.94em}
td,th{border:1px solid #ccc;padding:.4em .55em;vertical-align:top;text-align:left}
th{background:#f3f3f3}.v{font-weight:bold;white-space:nowrap;padding:.15em .5em;border-radius:4px}
.supported{background:#d8f5d0}.not-supported{background:#f8d4d0}.inconclusive{background:#fbeec4}
.sanity-check{background:#e3e8f4}.not-measured{background:#eee}
.banner{background:#fbeec4;border:1px solid #e0c060;padding:.6em 1em;font-weight:bold}
figure{margin:1.2em 0}img{max-width:100%;border:1px solid #eee}
figcaption{color:#444;font-size:.95em}.rule{color:#555;font-size:.88em}
code{background:#f5f5f5;padding:0 .2em}
"""


def _badge(v: stats.Verdict | None) -> str:
    cls = "not-measured" if v is None else v.verdict.replace(" ", "-")
    return f"<span class='v {cls}'>{html.escape(_verdict_cell(v))}</span>"


def _verdict_rows(verdicts: list[stats.Verdict]) -> str:
    esc = html.escape
    return "".join(
        f"<tr><td>{esc(v.claim)}</td><td>{_badge(v)}</td><td>{esc(v.measure)}: {esc(_effect(v))}"
        f"</td><td>{esc(v.test)}, p = {esc(_p(v))}</td><td>{esc(_runs(v))}</td>"
        f"<td>{esc(v.reason)}</td></tr>"
        for v in verdicts
    )


def page(report: Report, alt: Mapping[str, str]) -> str:
    """The HTML page: self-contained, every figure a local file."""
    from leaky.lab import figures

    esc = html.escape
    banner = (
        "<p class=banner>PRELIMINARY: a quick (smoke) run. Its verdicts are not evidence; "
        "run <code>leaky report</code> (the standard scale) for them.</p>"
        if report.plan.preliminary
        else ""
    )
    claim_rows = "".join(
        f"<tr><td>{esc(c.title)}<div class=rule><i>“{esc(c.quote)}”</i></div></td>"
        f"<td>{_badge(c.primary)}</td><td>{esc(c.primary.claim if c.primary else '—')}"
        f"<div class=rule>{esc(c.primary.measure if c.primary else '—')}: "
        f"{esc(_effect(c.primary))}</div></td><td>{esc(c.primary.test if c.primary else '—')}, "
        f"p = {esc(_p(c.primary))}</td><td>{esc(_runs(c.primary))}</td>"
        f"<td>{esc(c.finding)}"
        + "".join(f"<div class=rule>{esc(n)}</div>" for n in c.notes)
        + (f"<div class=rule>Rule: {esc(c.primary.rule)}.</div>" if c.primary else "")
        + "</td></tr>"
        for c in report.claims
    )
    advice = "".join(
        f"<h3>{esc(a.model)}</h3><p>{esc(a.recommendation)}</p><table><tr><th>arm</th>"
        "<th>validation accuracy</th><th>test accuracy [95 % CI]</th><th>diverged</th></tr>"
        + "".join(
            f"<tr><td>{esc(r['arm'])}</td><td>{r['val_acc']:.1f} %</td><td>{r['test_acc']:.1f} % "
            f"[{r['test_ci'][0]:.1f}, {r['test_ci'][1]:.1f}]</td><td>{r['diverged']}</td></tr>"
            for r in a.ranking
        )
        + "</table>"
        for a in report.advice
    )
    sections = []
    for name, title, caption in figures.SECTIONS:
        if name not in alt:
            continue
        claim_verdicts = [
            v
            for c in report.claims
            if c.key in figures.CLAIMS_OF.get(name, ())
            for v in ([c.primary] if c.primary else []) + list(c.secondary)
            if v.verdict != stats.SANITY
        ]
        table = (
            "<table><tr><th>comparison</th><th>verdict</th><th>effect A - B [95 % CI]</th>"
            f"<th>test</th><th>n</th><th>why</th></tr>{_verdict_rows(claim_verdicts)}</table>"
            if claim_verdicts
            else ""
        )
        sections.append(
            f"<section><h2>{esc(title)}</h2><figure><img src='figures/{name}.png' "
            f"alt='{esc(alt[name])}'><figcaption>{esc(caption)} {esc(alt[name])} "
            f"(<a href='figures/{name}.svg'>SVG</a>)</figcaption></figure>{table}</section>"
        )
    harness_rows = ""
    hres = report.results.get(harness.NAME)
    if hres is not None and hres.check is not None:
        harness_rows = "".join(
            f"<tr><td>{esc(r.model)}</td><td>{r.mean:.1f} % [{r.ci_low:.1f}, {r.ci_high:.1f}]"
            f"</td><td>{r.paper_mean:.0f} ± {r.paper_pm:.0f} %</td><td>{r.difference:+.1f}</td>"
            f"<td>± {r.tolerance:.1f}</td><td>{'pass' if r.passed else 'FAIL'}</td>"
            f"<td>{len(r.seeds)}</td></tr>"
            for r in hres.check.rows
        )
        harness_rows = (
            "<section><h2>Is the harness sound?</h2><p>Our ReLU models (leaky's layer with "
            "slope 0) with the MNIST-1D paper's recipe, against its Table 1 (Greydanus &amp; "
            f"Kobak 2024). Rule: {esc(hres.check.rule)}."
            + (
                " <b>Preliminary: not the paper's number of steps.</b>"
                if hres.check.preliminary
                else ""
            )
            + "</p><table><tr><th>model</th><th>ours [95 % CI]</th><th>paper</th>"
            "<th>difference</th><th>tolerance</th><th>check</th><th>seeds</th></tr>"
            f"{harness_rows}</table></section>"
        )
    bd = report.results.get(born_dead.NAME)
    brown = ""
    if bd is not None and bd.brownlowe:
        brown = (
            "<section><h2>Check of the method</h2><p>The born-dead Monte Carlo against an "
            "exact result (Brownlowe et al. 2024): with symmetric initialisation and n1 &le; "
            "n0 = 3 first-layer neurons, a second-layer ReLU neuron is dead with probability "
            "1/2<sup>n1+1</sup>.</p><table><tr><th>n1</th><th>Monte Carlo [95 % Wilson]</th>"
            "<th>exact</th><th>agrees</th></tr>"
            + "".join(
                f"<tr><td>{r['n1']}</td><td>{r['p']['estimate']:.4f} [{r['p']['ci_low']:.4f}, "
                f"{r['p']['ci_high']:.4f}]</td><td>{r['exact']:.4f}</td>"
                f"<td>{'yes' if r['agrees'] else 'NO'}</td></tr>"
                for r in bd.brownlowe
            )
            + "</table></section>"
        )
    failures = (
        "<section><h2>Failed tasks</h2><ul>"
        + "".join(f"<li>{esc(f)}</li>" for f in report.failures)
        + "</ul></section>"
        if report.failures
        else ""
    )
    setup_rows = "".join(
        f"<tr><th>{esc(str(k))}</th><td>{esc(str(v))}</td></tr>" for k, v in report.setup.items()
    )
    seeds = esc(str(report.setup.get("seeds per cell", "?")))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>leaky evidence report</title><style>{_CSS}</style></head><body>
<h1>Leaky ReLU: the claims, measured</h1>
{banner}
<p>Scale <b>{esc(report.plan.scale)}</b>; seeds per cell: <b>{seeds}</b>;
base seed {report.plan.seed}. Each claim of the document leaky was created from is judged on
a measure that can fail, against controls run through the same code, by the rule stated
beside it (<code>leaky.lab.claims</code>, <code>leaky.lab.stats</code>): supported, not
supported, or inconclusive (we cannot tell). Every number is in
<a href="results.json">results.json</a>.</p>
<table><tr><th>claim</th><th>verdict</th><th>primary comparison; A - B [95 % CI]</th><th>test</th>
<th>n</th><th>finding</th></tr>
{claim_rows}
</table>
<section><h2>What should I use?</h2>{advice}
<p>For your own model: <code>leaky compare --objective pkg.module:function</code> runs the
same statistics on it; <code>leaky tune</code> searches the slope.</p></section>
{harness_rows}
{"".join(sections)}
{brown}
{failures}
<section><h2>Setup</h2><table>{setup_rows}</table></section>
<script>
// Marks the page once every figure has loaded (read by the test suite's headless browser).
window.addEventListener("load", function () {{
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) {{ return i.complete && i.naturalWidth > 0; }}).length;
  document.body.setAttribute("data-figures", ok + "/" + imgs.length);
}});
</script>
</body></html>
"""
