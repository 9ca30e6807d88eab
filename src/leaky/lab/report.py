"""The evidence report: run every experiment, judge every claim, write one folder.

``build`` runs the experiments of ``leaky.lab.experiments``, computes the verdicts of
``leaky.lab.claims`` from the measurements, draws the figures of ``leaky.lab.plotting``
and writes ``DIR/index.html`` (readable offline, no external assets), ``DIR/results.json``
(every number behind every figure) and ``DIR/results.md``.

The output folder is the user's: leaky only ever replaces a folder that it wrote itself.
Every report carries a marker file (``.leaky-report``); ``DIR`` must be a new path, an
empty folder or a previous report, and anything else (a folder holding other files, a
file, a symlink, the working directory, the home directory, ``/``) is refused by
``check_out`` before any experiment runs. The report is written into a temporary sibling
folder ``.DIR.leaky-tmp-PID`` and swapped into place (the previous report goes to
``.DIR.leaky-old-PID`` for the moment of the swap and is restored if the move fails), so an
interrupted run never leaves a half-written report. Such folders left behind by a killed
run are removed by the next run, and only if they hold the marker.
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
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from leaky._version import __version__
from leaky.lab import claims
from leaky.lab.experiments import born_dead, slopes, sparsity, stress

Progress = Callable[[str, int, int], None]  # (task, done, total)

MARKER = ".leaky-report"
"""The file every report folder carries: only a folder holding it is ever replaced."""
_TMP, _OLD = "leaky-tmp", "leaky-old"  # .NAME.leaky-tmp-PID, .NAME.leaky-old-PID


@dataclass
class Plan:
    """The configuration of every experiment for one report."""

    born_dead: born_dead.BornDeadConfig
    stress: stress.StressConfig
    slopes: slopes.SlopeConfig


def plan(quick: bool = False, seed: int = 0) -> Plan:
    """The full plan (under 3 minutes on 2 cores) or the quick one (under 30 seconds)."""
    if quick:
        return Plan(
            born_dead.BornDeadConfig(
                depths=(2, 5, 10, 20), widths=(2, 4), trials=300, inputs=32, seed=seed
            ),
            stress.StressConfig(
                datasets=("spirals",), lrs=(0.1, 1.0), seeds=2, epochs=4, width=32, seed=seed
            ),
            slopes.SlopeConfig(seeds=2, epochs=3, width=32, seed=seed),
        )
    return Plan(
        born_dead.BornDeadConfig(seed=seed),
        stress.StressConfig(seed=seed),
        slopes.SlopeConfig(seed=seed),
    )


def run_experiments(p: Plan, jobs: int = 1, progress: Progress | None = None) -> dict[str, Any]:
    """Every experiment of the plan; plain data, JSON-ready."""

    def tell(task: str) -> Callable[[int, int], None] | None:
        return (lambda done, total: progress(task, done, total)) if progress else None

    bd = born_dead.run(p.born_dead, progress=tell("born dead"))
    st = stress.run(p.stress, jobs=jobs, progress=tell("training under stress"))
    sweep = slopes.runs(p.slopes, jobs=jobs, progress=tell("slope sweep"))
    return {
        "born_dead": bd.to_dict(),
        "stress": {"config": st.config, "groups": st.groups},
        "slopes": {"config": asdict(p.slopes), "rows": slopes.summarize(sweep)},
        "sparsity": {"rows": sparsity.summarize(sweep)},
        "brownlowe": _brownlowe(quick=p.born_dead.trials < 1000, seed=p.born_dead.seed),
    }


def _brownlowe(quick: bool, seed: int) -> list[dict[str, float]]:
    """The Monte Carlo against Brownlowe et al.'s exact 1/2^(n1+1), as a check of the method."""
    rows = []
    for n1 in (1, 2, 3):
        p, ci = born_dead.second_layer_dead(3, n1, trials=4000 if quick else 20000, seed=seed)
        rows.append({"n0": 3, "n1": n1, "p": p, "ci": list(ci), "exact": 1 / 2 ** (n1 + 1)})
    return rows


def judge(results: dict[str, Any]) -> list[claims.Verdict]:
    """The verdict of every claim, from the measurements alone."""
    sparse = results["sparsity"]["rows"]
    return [
        claims.nonzero_gradient(sparse),
        claims.no_dying(results["born_dead"]["cells"], results["stress"]["groups"]),
        claims.exact_sparsity(sparse),
        claims.sign_sparsity(sparse),
        claims.stability(results["stress"]["groups"]),
        claims.slope_matters(results["slopes"]["rows"]),
    ]


TITLES = {
    "leaky_relu": "The function",
    "born_dead": "Born dead (Lu et al. 2019)",
    "stress": "Training under stress",
    "sparsity": "Sparsity and gradient flow",
    "slopes": "Slope sweep (after Xu et al. 2015)",
}
FIGURES = {
    "leaky_relu": "The function and its derivative (slopes 0.01, 0.1, 0.3); the filled dot is "
    "the derivative's value at 0 that leaky uses (1), the open dots the left limits (a).",
    "born_dead": "Probability that a randomly initialised network is constant over its "
    "inputs (born dead), against depth, per width. Solid: exactly constant; dashed: nearly "
    "constant (spread below 1e-6 of the output scale); bands: 95 % Wilson intervals.",
    "stress": "Final test accuracy against learning rate, without and with a negative-bias "
    "shock at initialisation (mean ± std over seeds; 'div.' counts diverged runs), and the "
    "fraction of hidden units dead (ReLU) or in the negative regime (Leaky) per epoch after "
    "the shock.",
    "sparsity": "Per slope: the fraction of hidden outputs exactly 0 and of pre-activations "
    "<= 0 after training (left), and the fraction of exactly-zero gradients reaching the "
    "activations, at initialisation and after training (right).",
    "slopes": "Final test accuracy on digits against the negative slope: each seed (grey) "
    "and the mean ± std.",
}


def _figures(results: dict[str, Any]) -> dict[str, Any]:
    from leaky.lab import plotting

    return {
        "leaky_relu": plotting.function_and_derivative(),
        "born_dead": plotting.born_dead(results["born_dead"]["cells"]),
        "stress": plotting.stress(results["stress"]["groups"]),
        "sparsity": plotting.sparsity_and_gradients(results["sparsity"]["rows"]),
        "slopes": plotting.slope_sweep(results["slopes"]["rows"]),
    }


def json_safe(value: Any) -> Any:
    """JSON-safe: NaN and inf become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def setup(seed: int, quick: bool, jobs: int, seconds: float) -> dict[str, Any]:
    import numpy
    import torch

    return {
        "leaky": __version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "torch": torch.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "seed": seed,
        "quick": quick,
        "jobs": jobs,
        "seconds": round(seconds, 1),
        "command": " ".join(["leaky", *sys.argv[1:]]) if sys.argv else "leaky report",
    }


def _markdown(verdicts: list[claims.Verdict], meta: dict[str, Any]) -> str:
    lines = [
        "# leaky evidence report",
        "",
        "| claim | verdict | finding |",
        "|---|---|---|",
    ]
    lines += [f"| {v.claim} | **{v.verdict}** | {v.finding} |" for v in verdicts]
    lines += ["", "## Rules", ""]
    lines += [f"- **{v.claim}**: {v.rule}." for v in verdicts]
    lines += ["", "## Setup", ""]
    lines += [f"- {k}: {v}" for k, v in meta.items()]
    return "\n".join(lines) + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
table{border-collapse:collapse;width:100%;margin:1em 0}
td,th{border:1px solid #ccc;padding:.45em .6em;vertical-align:top;text-align:left}
th{background:#f3f3f3}.v{font-weight:bold;white-space:nowrap;padding:.15em .5em;border-radius:4px}
.supported{background:#d8f5d0}.not-supported{background:#f8d4d0}.mixed{background:#fbeec4}
figure{margin:1.2em 0}img{max-width:100%;border:1px solid #eee}
figcaption{color:#555;font-size:.92em}.rule{color:#555;font-size:.9em}
code{background:#f5f5f5;padding:0 .2em}
"""


def _html(results: dict[str, Any], verdicts: list[claims.Verdict], meta: dict[str, Any]) -> str:
    esc = html.escape
    rows = "\n".join(
        f"<tr><td>{esc(v.claim)}<div class=rule><i>“{esc(v.quote)}”</i></div></td>"
        f"<td><span class='v {v.verdict.replace(' ', '-')}'>{esc(v.verdict)}</span></td>"
        f"<td>{esc(v.finding)}<div class=rule>Rule: {esc(v.rule)}.</div></td></tr>"
        for v in verdicts
    )
    figures = "\n".join(
        f"<section><h2>{esc(TITLES[name])}</h2><figure>"
        f"<img src='figures/{name}.png' alt='{esc(name)} figure'>"
        f"<figcaption>{esc(text)} (<a href='figures/{name}.svg'>SVG</a>)</figcaption>"
        "</figure></section>"
        for name, text in FIGURES.items()
    )
    brown = "".join(
        f"<tr><td>{r['n1']}</td><td>{r['p']:.4f}</td><td>[{r['ci'][0]:.4f}, {r['ci'][1]:.4f}]"
        f"</td><td>{r['exact']:.4f}</td></tr>"
        for r in results["brownlowe"]
    )
    setup_rows = "".join(
        f"<tr><th>{esc(str(k))}</th><td>{esc(str(v))}</td></tr>" for k, v in meta.items()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>leaky evidence report</title><style>{_CSS}</style></head><body>
<h1>Leaky ReLU: the claims, measured</h1>
<p>Each claim of the document leaky was created from is tested by an experiment below.
Every verdict is computed from the measured numbers by the rule stated next to it
(<code>leaky.lab.claims</code>); all the numbers are in
<a href="results.json">results.json</a>.</p>
<table><tr><th>claim</th><th>verdict</th><th>finding</th></tr>
{rows}
</table>
{figures}
<section><h2>Check of the method</h2>
<p>The Monte Carlo against an exact result (Brownlowe et al. 2024): with symmetric
initialisation and n1 &le; n0 = 3 first-layer neurons, a second-layer ReLU neuron is dead with
probability 1/2<sup>n1+1</sup>.</p>
<table><tr><th>n1</th><th>Monte Carlo</th><th>95 % Wilson interval</th><th>exact</th></tr>
{brown}</table></section>
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
    leaky report (its marker file), which is then replaced. Refused: anything else, so that
    nothing leaky did not write is ever deleted or overwritten.
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
        return out
    if not out.is_dir():
        raise ValueError(f"{shown} exists and is not a folder; name a new folder.")
    if _is_report(out) or not any(out.iterdir()):
        return out
    raise ValueError(
        f"{shown} is a folder that is not empty and holds no leaky report (no {MARKER} "
        "file); leaky replaces only its own reports: name a new or empty folder."
    )


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process writes one report at a time: a leftover of ours
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_leftovers(out: Path) -> None:
    """Remove the temporary and old folders of killed runs that wrote ``out``.

    Only folders named ``.NAME.leaky-tmp-PID`` or ``.NAME.leaky-old-PID`` whose process is
    gone and that hold the marker file are removed; anything else is left alone.
    """
    if not out.parent.is_dir():
        return
    for kind in (_TMP, _OLD):
        for path in out.parent.glob(f".{out.name}.{kind}-*"):
            pid = path.name.rsplit("-", 1)[1]
            if pid.isdigit() and not _pid_alive(int(pid)) and _is_report(path):
                shutil.rmtree(path)


def write(
    out: Path, results: dict[str, Any], verdicts: list[claims.Verdict], meta: dict[str, Any]
) -> Path:
    """Write the report folder atomically: a temporary sibling folder, then a swap.

    ``out`` is checked again (``check_out``); a previous report there is replaced, and
    restored if moving the new one into place fails.
    """
    from leaky.lab import plotting

    out = check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(out)
    tmp = out.parent / f".{out.name}.{_TMP}-{os.getpid()}"
    old = out.parent / f".{out.name}.{_OLD}-{os.getpid()}"
    tmp.mkdir()
    try:
        (tmp / MARKER).write_text(json.dumps({"leaky": __version__, "kind": "report"}) + "\n")
        (tmp / "figures").mkdir()
        for name, fig in _figures(results).items():
            for suffix in plotting.FORMATS:
                plotting.save(fig, tmp / "figures" / f"{name}{suffix}")
        document = {
            "setup": meta,
            "verdicts": [v.to_dict() for v in verdicts],
            "results": results,
        }
        (tmp / "results.json").write_text(json.dumps(json_safe(document), indent=1))
        (tmp / "results.md").write_text(_markdown(verdicts, meta))
        (tmp / "index.html").write_text(_html(results, verdicts, meta))
        replacing = _is_report(out)  # else `out` is absent or an empty folder
        if replacing:
            os.rename(out, old)
        try:
            os.rename(tmp, out)  # onto an absent path or an empty folder: atomic
        except BaseException:
            if replacing:
                os.rename(old, out)
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if replacing:
        shutil.rmtree(old)
    return out


def build(
    out: str | Path = "leaky-report",
    *,
    quick: bool = False,
    seed: int = 0,
    jobs: int = 1,
    progress: Progress | None = None,
) -> tuple[Path, list[claims.Verdict]]:
    """Run everything and write the report; returns its folder and the verdicts.

    ``out`` is checked (``check_out``) before any experiment runs.
    """
    check_out(out)
    start = time.perf_counter()
    results = run_experiments(plan(quick, seed), jobs=jobs, progress=progress)
    verdicts = judge(results)
    if progress is not None:
        progress("writing the report", 0, 1)
    meta = setup(seed, quick, jobs, time.perf_counter() - start)
    path = write(Path(out), results, verdicts, meta)
    if progress is not None:
        progress("writing the report", 1, 1)
    return path, verdicts
