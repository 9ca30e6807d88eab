"""`leaky tune`: files, one-line errors, resume after kill -9 and Ctrl-C (also with threads
and an objective that never returns), user strings printed as typed, outputs checked before
any work, module shadowing, PostgreSQL workers and passwords."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from leaky.cli import app

OBJECTIVES = """
import math, os, sys, threading, time

def peak(a, seed):
    time.sleep(float(os.environ.get("OBJECTIVE_SLEEP", "0")))
    if os.environ.get("OBJECTIVE_MARKER"):
        open(os.environ["OBJECTIVE_MARKER"], "a").close()
    return 1.0 - abs(a - 0.1) + 0.01 * seed

def broken(a, seed):
    raise ValueError("bad data")

def markup(a, seed):
    raise ValueError("bad [/] data [bold]x :smile:")

def diverging(a, seed):
    return math.inf if a == 0 else a  # the ReLU baseline diverges

def exits(a, seed):
    sys.exit(0)

def hang(a, seed):
    if os.environ.get("OBJECTIVE_MARKER"):
        open(os.environ["OBJECTIVE_MARKER"], "a").close()
    threading.Event().wait()  # never returns

def interrupt(a, seed):
    raise KeyboardInterrupt

CALLS = {"n": 0}

def flaky(a, seed):
    CALLS["n"] += 1
    if CALLS["n"] == 2:
        raise RuntimeError("disk full")
    return a
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "my_objectives.py").write_text(textwrap.dedent(OBJECTIVES))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_cli_tune_writes_figure_and_json(project: Path) -> None:
    args = ["tune", "--objective", "my_objectives:peak", "--trials", "6", "--seeds", "0,1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    db = project / "leaky-tune" / "study.db"  # the default storage: next to --out
    assert db.exists() and not (project / "leaky-tune.db").exists()
    summary = json.loads((project / "leaky-tune" / "tune.json").read_text())
    assert summary["study_name"] == "my_objectives-peak"
    assert summary["storage"] == f"sqlite:///{db}"
    assert sum(t["state"] == "COMPLETE" for t in summary["trials"]) == 6
    assert (project / "leaky-tune" / "tune.png").read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in (project / "leaky-tune" / "tune.svg").read_bytes()
    output = " ".join(result.output.split())
    assert summary["summary"] in output and "best slope" in output and ", ReLU " in output
    assert f"optuna-dashboard sqlite:///{db}" in output
    assert "pip install optuna-dashboard" in output  # not installed with leaky: say how
    again = CliRunner().invoke(app, args)  # the same command resumes the same study
    assert again.exit_code == 0, again.output
    assert len(json.loads((project / "leaky-tune" / "tune.json").read_text())["trials"]) == 6


def test_cli_builtin_objective(project: Path) -> None:
    result = CliRunner().invoke(app, ["tune", "--objective", "digits-mlp", "--trials", "2"])
    assert result.exit_code == 0, result.output
    summary = json.loads((project / "leaky-tune" / "tune.json").read_text())
    assert summary["relu_value"] > 0.8


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--objective", "nope"],
            "The '--objective' parameter of leaky tune must be a built-in objective "
            "(digits-mlp, blobs-mlp) or 'pkg.module:function'. Got 'nope' instead.",
        ),
        (["--objective", "no_module:f"], "cannot import module 'no_module'"),
        (
            ["--objective", "my_objectives:peak", "--trials", "0"],
            "The '--trials' parameter of leaky tune must be an integer >= 1. Got 0 (int)",
        ),
        (
            ["--objective", "my_objectives:peak", "--jobs", "0"],
            "The '--jobs' parameter of leaky tune must be an integer >= 1",
        ),
        (
            ["--objective", "my_objectives:peak", "--seeds", "a,b"],
            "The '--seeds' parameter of leaky tune must be distinct seeds separated by commas",
        ),
        (
            ["--objective", "my_objectives:peak", "--seeds", "0,-1"],
            "The '--seeds' parameter of leaky tune must be an integer in [0, 4294967295] "
            "(a seed). Got -1 (int)",
        ),
        (
            ["--objective", "my_objectives:peak", "--seeds", "18446744073709551616"],
            "must be an integer in [0, 4294967295] (a seed). Got 18446744073709551616 (int)",
        ),
        (["--objective", "my_objectives:peak", "--margin", "0"], "'--margin' parameter"),
        (["--objective", "my_objectives:peak", "--direction", "up"], "'maximize', 'minimize'"),
        (["--objective", "my_objectives:peak", "--format", "xml"], "'table', 'json'"),
        (
            ["--objective", "my_objectives:peak", "--low", "0"],
            "The '--low' and '--high' parameters of leaky tune must satisfy 0 < low < high <= 1 "
            "(a log-uniform range of slopes). Got --low=0.0, --high=0.5 instead.",
        ),
        (["--objective", "my_objectives:peak", "--storage", "nonsense"], "storage URL"),
        (["--objective", "my_objectives:broken", "--trials", "2"], "seed 0: ValueError: bad data"),
        (
            ["--objective", "my_objectives:exits", "--trials", "2"],
            "failed in more than 2 trials; the last reason: seed 0: the objective called "
            "sys.exit(0)",
        ),
        (["--objective", ".my_objectives:peak"], "must look like 'package.module:function'"),
    ],
)
def test_cli_bad_input_is_one_line_and_non_zero(project: Path, args: list[str], message: str):
    result = CliRunner().invoke(app, ["tune", *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_cli_a_failing_trial_is_one_line_not_a_traceback(project: Path) -> None:
    run = subprocess.run(
        _leaky_cmd("--objective", "my_objectives:flaky", "--trials", "3"),
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(project)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    both = run.stdout + run.stderr
    assert "Traceback" not in both
    assert "1 failed trial(s); the last: seed 0: RuntimeError: disk full" in " ".join(both.split())


def test_cli_direction_clash(project: Path) -> None:
    base = ["tune", "--objective", "my_objectives:peak", "--trials", "2", "--study", "x"]
    assert CliRunner().invoke(app, base).exit_code == 0
    result = CliRunner().invoke(app, [*base, "--direction", "minimize"])
    assert result.exit_code == 2 and "already exists with direction" in result.output


def test_cli_resuming_with_other_seeds_or_objective_is_one_line(project: Path) -> None:
    base = ["tune", "--trials", "2", "--study", "x"]
    assert CliRunner().invoke(app, [*base, "--objective", "my_objectives:peak"]).exit_code == 0
    result = CliRunner().invoke(app, [*base, "--objective", "my_objectives:peak", "--seeds", "0,1"])
    assert result.exit_code == 2
    assert "error: The study 'x' was run with seeds 0; this run gives 0,1." in result.output
    result = CliRunner().invoke(app, [*base, "--objective", "my_objectives:flaky"])
    assert result.exit_code == 2
    assert (
        "was run with objective my_objectives:peak; this run gives my_objectives:flaky"
        in " ".join(result.output.split())
    )


def _leaky_cmd(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("leaky")), "tune", *args]


def _count(url: str, study: str) -> dict[str, int]:
    storage = optuna.storages.RDBStorage(url)
    try:
        trials = optuna.load_study(study_name=study, storage=storage).get_trials()
    finally:
        storage.engine.dispose()
    states = [t.state.name for t in trials]
    return {k: states.count(k) for k in set(states)}


def _wait_for_complete(url: str, study: str, n: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if _count(url, study).get("COMPLETE", 0) >= n:
                return
        except KeyError:
            pass
        time.sleep(0.1)
    raise AssertionError("the worker made no progress")


@pytest.mark.parametrize("how", ["kill -9", "ctrl-c"])
def test_resume_after_the_process_is_killed(project: Path, how: str) -> None:
    url = f"sqlite:///{project / 'r.db'}"
    trials = 12  # enough that a loaded machine cannot finish them before the signal
    cmd = _leaky_cmd(
        "--objective",
        "my_objectives:peak",
        "--trials",
        str(trials),
        "--storage",
        url,
        "--study",
        "r",
    )
    env = {
        **os.environ,
        "OBJECTIVE_SLEEP": "0.4",
        "LEAKY_TUNE_HEARTBEAT": "1",
        "LEAKY_TUNE_GRACE": "2",
        "PYTHONPATH": str(project),
    }
    worker = subprocess.Popen(
        cmd, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    _wait_for_complete(url, "r", 2)
    time.sleep(0.15)  # well inside the next trial
    worker.send_signal(signal.SIGKILL if how == "kill -9" else signal.SIGINT)
    output = worker.communicate(timeout=30)[0]
    if how == "ctrl-c":
        assert worker.returncode == 130, output
        assert "run the same command to resume" in output
    counts = _count(url, "r")
    assert counts.get("COMPLETE", 0) < trials, output
    assert counts.get("RUNNING", 0) + counts.get("FAIL", 0) == 1  # the interrupted trial
    env["OBJECTIVE_SLEEP"] = "0"
    resumed = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    storage = optuna.storages.RDBStorage(url)
    try:
        stored = optuna.load_study(study_name="r", storage=storage).get_trials()
    finally:
        storage.engine.dispose()
    complete = [t for t in stored if t.state.name == "COMPLETE"]
    failed = [t for t in stored if t.state.name == "FAIL"]
    assert len(complete) == trials  # none lost, none counted twice
    assert len(failed) == 1  # the interrupted one, marked failed ...
    retries = [t for t in complete if t.system_attrs.get("failed_trial") == failed[0].number]
    assert len(retries) == 1  # ... and retried, with the same slope
    assert retries[0].user_attrs["slope"] == failed[0].user_attrs.get(
        "slope", retries[0].user_attrs["slope"]
    )
    assert len({t.number for t in stored}) == len(stored)


def _states(url: str, study: str) -> list[optuna.trial.FrozenTrial]:
    storage = optuna.storages.RDBStorage(url)
    try:
        return optuna.load_study(study_name=study, storage=storage).get_trials()
    finally:
        storage.engine.dispose()


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.kill()
        worker.communicate()


def test_ctrl_c_stops_every_worker_thread_at_once(project: Path) -> None:
    """Before: "interrupted" was printed while the threads finished the whole study."""
    url = f"sqlite:///{project / 'j.db'}"
    cmd = _leaky_cmd(
        "--objective", "my_objectives:peak", "--trials", "20", "--jobs", "2", "--seeds", "0,1",
        "--storage", url, "--study", "j",
    )  # fmt: skip
    env = {**os.environ, "OBJECTIVE_SLEEP": "0.5", "PYTHONPATH": str(project)}
    worker = subprocess.Popen(
        cmd, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        _wait_for_complete(url, "j", 2)
        time.sleep(0.3)  # both threads inside a trial
        worker.send_signal(signal.SIGINT)
        start = time.monotonic()
        output = worker.communicate(timeout=60)[0]
        elapsed = time.monotonic() - start
    finally:
        _stop(worker)
    assert worker.returncode == 130, output
    assert elapsed < 5, f"took {elapsed:.1f} s to stop"
    assert "run the same command to resume" in output and "Traceback" not in output
    states = [t.state.name for t in _states(url, "j")]
    assert states.count("COMPLETE") < 20 and states.count("RUNNING") == 0
    interrupted = states.count("FAIL")
    assert 1 <= interrupted <= 2  # the trials in flight, marked failed at once
    env["OBJECTIVE_SLEEP"] = "0"
    resumed = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    trials = _states(url, "j")
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    failed = [t for t in trials if t.state.name == "FAIL"]
    assert len(complete) == 20 and len(failed) == interrupted
    retried = {t.system_attrs.get("failed_trial") for t in complete} - {None}
    assert retried == {t.number for t in failed}  # each interrupted trial retried once


def test_ctrl_c_ends_the_process_when_an_objective_never_returns(project: Path) -> None:
    """The stuck thread is abandoned (a daemon) and the process exits 130 at once."""
    url = f"sqlite:///{project / 'h.db'}"
    marker = project / "entered"
    cmd = _leaky_cmd(
        "--objective", "my_objectives:hang", "--trials", "4", "--jobs", "2",
        "--storage", url, "--study", "h",
    )  # fmt: skip
    env = {**os.environ, "OBJECTIVE_MARKER": str(marker), "PYTHONPATH": str(project)}
    worker = subprocess.Popen(
        cmd, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.time() + 60
        while not marker.exists() and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        worker.send_signal(signal.SIGINT)
        output = worker.communicate(timeout=20)[0]
    finally:
        _stop(worker)
    assert worker.returncode == 130, output
    assert "interrupted: run the same command to resume study 'h'" in " ".join(output.split())
    states = [t.state.name for t in _states(url, "h")]
    assert states.count("RUNNING") == 0 and states.count("FAIL") >= 1  # left to be retried


# ---- non-finite values, outputs, failures after the work (issue 9, items 5 and 14) ------


def test_cli_an_objective_returning_inf_is_a_failed_trial_and_a_rerun_works(
    project: Path,
) -> None:
    """Before: `statistics.stdev` raised after every trial ran, and again on every rerun."""
    args = ["tune", "--objective", "my_objectives:diverging", "--trials", "3", "--seeds", "0,1"]
    for _ in range(2):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        output = " ".join(result.output.split())
        assert "1 failed trial(s); the last: seed 0: the objective returned inf" in output
    summary = json.loads((project / "leaky-tune" / "tune.json").read_text())
    assert summary["relu_value"] is None  # the baseline diverged: failed, never ranked
    assert sum(t["state"] == "COMPLETE" for t in summary["trials"]) == 3


def test_cli_a_folder_of_someone_elses_files_is_refused_and_kept(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "tune.json").write_text("my notes")
    result = CliRunner().invoke(
        app, ["tune", "--objective", "blobs-mlp", "--trials", "1", "--out", str(out)]
    )
    assert result.exit_code == 2 and result.output.startswith("error: "), result.output
    assert "holds no leaky report" in " ".join(result.output.split())
    assert (out / "tune.json").read_text() == "my notes"
    assert sorted(p.name for p in out.iterdir()) == ["tune.json"]


def test_cli_unwritable_out_is_refused_before_any_trial(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "afile").write_text("mine")
    marker = project / "called"
    monkeypatch.setenv("OBJECTIVE_MARKER", str(marker))
    for out, message in [
        ("afile", "error: --out 'afile' exists and is not a folder; name a new folder."),
        ("afile/sub", "cannot be created: "),
    ]:
        result = CliRunner().invoke(
            app, ["tune", "--objective", "my_objectives:peak", "--trials", "2", "--out", out]
        )
        assert result.exit_code == 2 and message in result.output
        assert not marker.exists()  # no trial ran
    assert (project / "afile").read_text() == "mine"


def test_cli_a_figure_that_cannot_be_written_keeps_tune_json(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leaky.lab import plotting

    def full_disk(fig: object, path: Path) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(plotting, "save", full_disk)
    result = CliRunner().invoke(app, ["tune", "--objective", "my_objectives:peak", "--trials", "2"])
    assert result.exit_code == 1
    assert (
        "error: cannot draw the figure in leaky-tune: [Errno 28] No space left on device; "
        "leaky-tune/tune.json is written." in " ".join(result.output.split())
    )
    assert len(json.loads((project / "leaky-tune" / "tune.json").read_text())["trials"]) == 2


def test_cli_a_summary_that_cannot_be_written_keeps_the_study(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import leaky.cli.tune as cli_tune

    def full_disk(path: Path, data: object) -> None:
        raise OSError(28, "No space left on device")

    args = ["tune", "--objective", "my_objectives:peak", "--trials", "2"]
    with monkeypatch.context() as m:
        m.setattr(cli_tune, "write_json", full_disk)
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    db = project / "leaky-tune" / "study.db"
    assert (
        "error: cannot write leaky-tune/tune.json: No space left on device. The study is kept "
        f"in sqlite:///{db}: run the same command again" in output
    )
    assert "best slope" in output  # the result is shown all the same
    marker = project / "called"
    monkeypatch.setenv("OBJECTIVE_MARKER", str(marker))
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert not marker.exists()  # nothing ran again: the files are written from the study
    assert (project / "leaky-tune" / "tune.json").exists()


def test_cli_a_study_name_with_mathtext_is_drawn_as_it_is(project: Path) -> None:
    """Before: matplotlib read `$...$` as math and raised, before tune.json was written."""
    result = CliRunner().invoke(
        app, ["tune", "--objective", "my_objectives:peak", "--trials", "2", "--study", "a $x^$ b"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads((project / "leaky-tune" / "tune.json").read_text())["study_name"] == (
        "a $x^$ b"
    )
    assert (project / "leaky-tune" / "tune.png").exists()


def test_cli_heartbeat_settings_are_checked_in_one_line(project: Path) -> None:
    """Before: `int("1.5")` at import time: a traceback from any `leaky` command."""
    env = {**os.environ, "PYTHONPATH": str(project), "LEAKY_TUNE_GRACE": "x"}
    cmd = _leaky_cmd("--objective", "my_objectives:peak", "--trials", "2")
    bad = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2, bad.stderr
    assert bad.stderr == (
        "error: The environment variable LEAKY_TUNE_GRACE must be a number of seconds > 0, "
        "like 2 or 1.5. Got 'x' instead.\n"
    )
    env.update(LEAKY_TUNE_HEARTBEAT="1.5", LEAKY_TUNE_GRACE="4.5")
    ok = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr


def test_cli_format_json_prints_only_the_result_on_stdout(project: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["tune", "--objective", "my_objectives:peak", "--trials", "2", "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed == json.loads((project / "leaky-tune" / "tune.json").read_text())
    assert "wrote" in result.stderr


# ---- user strings are never markup (issue 9, item 12) -----------------------------------


def test_cli_a_module_path_with_markup_is_printed_as_typed(project: Path) -> None:
    result = CliRunner().invoke(app, ["tune", "--objective", "no[/]mod:f"])
    assert result.exit_code == 2, result.output
    assert "Got 'no[/]mod:f' (str) instead." in result.output


def test_cli_a_study_name_with_markup_and_emoji_codes_is_printed_as_typed(project: Path) -> None:
    name = "[/]x[bold]:smile:"
    result = CliRunner().invoke(
        app, ["tune", "--objective", "my_objectives:peak", "--trials", "2", "--study", name]
    )
    assert result.exit_code == 0, result.output
    assert f"study '{name}'" in result.output and "😄" not in result.output


def test_cli_a_seed_list_with_markup_is_printed_as_typed(project: Path) -> None:
    result = CliRunner().invoke(
        app, ["tune", "--objective", "my_objectives:peak", "--seeds", "[/]"]
    )
    assert result.exit_code == 2
    assert "Got '[/]' (str) instead." in result.output


def test_cli_an_output_path_with_brackets_is_printed_as_typed(project: Path) -> None:
    result = CliRunner().invoke(
        app, ["tune", "--objective", "my_objectives:peak", "--trials", "2", "--out", "runs[final]"]
    )
    assert result.exit_code == 0, result.output
    assert "wrote runs[final]/tune.json" in result.output
    assert "wrote runs[final]/tune.png" in result.output


def test_cli_an_objective_error_with_markup_is_printed_as_typed(project: Path) -> None:
    result = CliRunner().invoke(
        app, ["tune", "--objective", "my_objectives:markup", "--trials", "1"]
    )
    assert result.exit_code == 2, result.output
    assert "ValueError: bad [/] data [bold]x :smile:" in result.output


# ---- module shadowing (issue 9, item 16) -------------------------------------------------


def test_an_optuna_py_in_the_working_directory_is_not_imported(project: Path) -> None:
    for name in ("optuna", "torch"):
        (project / f"{name}.py").write_text(
            f"open({str(project / 'shadowed')!r}, 'w').close()\n"
            f"raise ImportError('the {name} of the working directory')\n"
        )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run(
        _leaky_cmd("--objective", "my_objectives:peak", "--trials", "2"),
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert not (project / "shadowed").exists()
    help_text = CliRunner().invoke(app, ["tune", "--help"]).output.replace("│", " ")
    assert "the working directory is searched last" in " ".join(help_text.split())


# ---- many workers on one PostgreSQL study -----------------------------------------------


def _pg_bin() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL server on a loopback port, in a temporary directory."""
    import tempfile

    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    # directly under /tmp: pytest's own temporary folders are private to this user, and
    # the server may have to run as the postgres account
    root = Path(tempfile.mkdtemp(prefix="leaky-pg-"))
    data, port = root / "data", _free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: use the postgres account
        shutil.chown(root, "postgres")
        os.chmod(root, 0o700)
        as_user = ["runuser", "-u", "postgres", "--"]

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=120)

    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    run(
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-l",
        str(root / "log"),
        "-w",
        "-o",
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1",
        "start",
    )
    try:
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "leaky")
        yield f"postgresql://postgres@127.0.0.1:{port}/leaky"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_three_workers_share_one_postgresql_study(project: Path, postgres: str) -> None:
    env = {**os.environ, "OBJECTIVE_SLEEP": "0.2", "PYTHONPATH": str(project)}
    workers = [
        subprocess.Popen(
            _leaky_cmd(
                "--objective",
                "my_objectives:peak",
                "--trials",
                "12",
                "--storage",
                postgres,
                "--study",
                "shared",
                "--out",
                f"worker{k}",
            ),
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for k in range(3)
    ]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert all(w.returncode == 0 for w in workers), "\n".join(outputs)
    storage = optuna.storages.RDBStorage(postgres.replace("postgresql://", "postgresql+psycopg://"))
    try:
        _check_shared_study(project, optuna.load_study(study_name="shared", storage=storage))
    finally:
        storage.engine.dispose()  # close the connections before the server stops


def _check_shared_study(project: Path, study: optuna.Study) -> None:
    trials = [t for t in study.get_trials() if not t.user_attrs.get("surplus")]
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(complete) == 12  # exactly
    assert len({t.number for t in complete}) == 12
    assert len({t.user_attrs["slope"] for t in complete}) == 12  # all distinct
    assert sum(bool(t.user_attrs.get("baseline")) for t in complete) == 1
    from leaky.lab.tune import summarize

    single = summarize(study, 12).to_dict()  # what a single reader of the storage reports
    for k in range(3):
        reported = json.loads((project / f"worker{k}" / "tune.json").read_text())
        for key in ("best_slope", "best_value", "relu_value", "study_name"):
            assert reported[key] == single[key]
        assert [t["number"] for t in reported["trials"] if t["state"] == "COMPLETE"] == [
            t["number"] for t in single["trials"] if t["state"] == "COMPLETE"
        ]


def test_postgresql_password_is_never_shown(project: Path, postgres: str) -> None:
    """Before: the results title, the "interrupted" line and storage errors showed it."""
    url = postgres.replace("postgres@", "postgres:S3cretPw@")  # trust auth: any password
    base = ["tune", "--trials", "2", "--storage", url]
    result = CliRunner().invoke(app, [*base, "--objective", "my_objectives:peak", "--study", "pw"])
    assert result.exit_code == 0, result.output
    stored = (project / "leaky-tune" / "tune.json").read_text()
    for text in (result.output, stored):
        assert "S3cretPw" not in text and "postgres:***@127.0.0.1" in text
    interrupted = CliRunner().invoke(
        app, [*base, "--objective", "my_objectives:interrupt", "--study", "pw2"]
    )
    assert interrupted.exit_code == 130, interrupted.output
    assert "S3cretPw" not in interrupted.output
    assert "resume study 'pw2' in postgresql://postgres:***@127.0.0.1" in interrupted.output
    unreachable = url.replace(postgres.rsplit(":", 1)[1].split("/")[0], "1")
    failed = CliRunner().invoke(
        app, ["tune", "--storage", unreachable, "--objective", "my_objectives:peak"]
    )
    assert failed.exit_code == 1 and "S3cretPw" not in failed.output  # the work failed
    assert "Cannot open the storage postgresql://postgres:***@127.0.0.1:1/leaky" in failed.output


def _tune_result(slopes: list[float], n_seeds: int = 3, spread: float = 0.03):
    """A study's result: ReLU and one trial per slope, accuracies near 1 in [0, 1]."""
    import numpy as np

    from leaky.lab import stats
    from leaky.lab.tune import TrialRecord, TuneResult

    rng = np.random.default_rng(1)
    trials = []
    for i, a in enumerate([0.0, *slopes]):
        values = [float(v) for v in np.clip(0.97 + spread * rng.standard_normal(n_seeds), 0, 1)]
        m = stats.mean_interval(values)
        trials.append(
            TrialRecord(
                i, "COMPLETE", a, m.mean, values, list(range(n_seeds)), m.low, m.high, a == 0.0
            )
        )
    best = max(trials[1:], key=lambda t: t.value or 0.0)
    return TuneResult(
        "s",
        None,
        "o",
        "maximize",
        len(trials),
        list(range(n_seeds)),
        0.01,
        best.slope,
        best.value,
        None,
        trials[0].value,
        None,
        None,
        None,
        trials,
    )


@pytest.mark.parametrize(
    ("low", "high"), [(1e-4, 0.5), (0.01, 0.3), (0.05, 0.3), (0.011, 0.018), (1e-6, 1.0)]
)
def test_the_tune_figure_labels_a_few_round_slopes_that_do_not_overlap(
    low: float, high: float
) -> None:
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from leaky.lab import plotting

    fig = plotting.tune(_tune_result(list(np.geomspace(low, high, 25))))
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    ax = fig.axes[0]
    labels = [t for t in ax.get_xticklabels(minor=False) if t.get_text() and t.get_visible()]
    minor = [t for t in ax.get_xticklabels(minor=True) if t.get_text() and t.get_visible()]
    assert 2 <= len(labels) <= 8 and not minor
    assert all("$" not in t.get_text() for t in labels)  # plain numbers: 0.01, not 10^{-2}
    renderer = canvas.get_renderer()
    boxes = sorted((t.get_window_extent(renderer) for t in labels), key=lambda b: b.x0)
    assert all(a.x1 < b.x0 for a, b in itertools.pairwise(boxes))
    x_low, x_high = ax.get_xlim()
    assert all(x_low <= float(t.get_text()) <= x_high for t in labels)


def test_the_tune_figure_draws_an_accuracys_intervals_within_0_and_1() -> None:
    from leaky.lab import plotting

    result = _tune_result([0.01, 0.03, 0.1, 0.3], spread=0.05)
    assert max(t.ci_high or 0.0 for t in result.complete) > 1.0  # the data's intervals do
    fig = plotting.tune(result)
    ax = fig.axes[0]
    ends = [
        y for c in ax.collections for seg in getattr(c, "get_segments", list)() for y in seg[:, 1]
    ]
    bands = [
        y
        for p in ax.patches
        for y in p.get_path().transformed(p.get_patch_transform()).vertices[:, 1]
    ]
    assert ends and bands
    assert max(ends + bands) <= 1.0 and min(ends + bands) >= 0.0
    relu = result.relu
    assert relu is not None and relu.ci_high is not None and relu.ci_high > 1.0
    assert f"[{relu.ci_low:.4g}, 1]" in ax.get_legend_handles_labels()[1][0]


def test_the_tune_figure_leaves_an_unbounded_objectives_intervals_as_they_are() -> None:
    import numpy as np

    from leaky.lab import plotting

    result = _tune_result([0.01, 0.1])
    for t in result.complete:  # a loss: values above 1
        t.values = [v + 1.0 for v in t.values]
        t.value = float(np.mean(t.values))
        t.ci_low, t.ci_high = (t.ci_low or 0.0) + 1.0, (t.ci_high or 0.0) + 1.0
    ax = plotting.tune(result).axes[0]
    ends = [y for c in ax.collections for seg in c.get_segments() for y in seg[:, 1]]
    tops = sorted(t.ci_high or 0.0 for t in result.complete if not t.baseline)
    np.testing.assert_allclose(sorted(ends)[-2:], tops, rtol=0, atol=1e-12)
