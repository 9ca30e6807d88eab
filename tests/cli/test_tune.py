"""`leaky tune`: files, one-line errors, resume after kill -9 and Ctrl-C, PostgreSQL workers."""

from __future__ import annotations

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
import os, time

def peak(a, seed):
    time.sleep(float(os.environ.get("OBJECTIVE_SLEEP", "0")))
    return 1.0 - abs(a - 0.1) + 0.01 * seed

def broken(a, seed):
    raise ValueError("bad data")

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
    result = CliRunner().invoke(
        app, ["tune", "--objective", "my_objectives:peak", "--trials", "6", "--seeds", "0,1"]
    )
    assert result.exit_code == 0, result.output
    assert (project / "leaky-tune.db").exists()  # the default storage, here
    summary = json.loads((project / "leaky-tune" / "tune.json").read_text())
    assert summary["study_name"] == "my_objectives-peak"
    assert sum(t["state"] == "COMPLETE" for t in summary["trials"]) == 6
    assert (project / "leaky-tune" / "tune.png").read_bytes().startswith(b"\x89PNG")
    assert "best slope" in result.output and "ReLU baseline" in result.output


def test_cli_builtin_objective(project: Path) -> None:
    result = CliRunner().invoke(app, ["tune", "--objective", "digits-mlp", "--trials", "2"])
    assert result.exit_code == 0, result.output
    summary = json.loads((project / "leaky-tune" / "tune.json").read_text())
    assert summary["relu_value"] > 0.8


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--objective", "nope"], "Unknown objective 'nope'. Built-in objectives: digits-mlp"),
        (["--objective", "no_module:f"], "cannot import module 'no_module'"),
        (["--objective", "my_objectives:peak", "--trials", "0"], "--trials must be at least 1"),
        (["--objective", "my_objectives:peak", "--seeds", "a,b"], "--seeds takes"),
        (["--objective", "my_objectives:peak", "--storage", "nonsense"], "storage URL"),
        (
            ["--objective", "my_objectives:peak", "--storage", "postgresql://u@127.0.0.1:1/x"],
            "Cannot open the storage",
        ),
        (["--objective", "my_objectives:broken", "--trials", "2"], "seed 0: ValueError: bad data"),
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
    cmd = _leaky_cmd(
        "--objective", "my_objectives:peak", "--trials", "6", "--storage", url, "--study", "r"
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
        assert worker.returncode == 130
        assert "run the same command to resume" in output
    counts = _count(url, "r")
    assert counts.get("COMPLETE", 0) < 6
    assert counts.get("RUNNING", 0) + counts.get("FAIL", 0) == 1  # the interrupted trial
    env["OBJECTIVE_SLEEP"] = "0"
    resumed = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    storage = optuna.storages.RDBStorage(url)
    try:
        trials = optuna.load_study(study_name="r", storage=storage).get_trials()
    finally:
        storage.engine.dispose()
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    failed = [t for t in trials if t.state.name == "FAIL"]
    assert len(complete) == 6  # none lost, none counted twice
    assert len(failed) == 1  # the interrupted one, marked failed ...
    retries = [t for t in complete if t.system_attrs.get("failed_trial") == failed[0].number]
    assert len(retries) == 1  # ... and retried, with the same slope
    assert retries[0].user_attrs["slope"] == failed[0].user_attrs.get(
        "slope", retries[0].user_attrs["slope"]
    )
    assert len({t.number for t in trials}) == len(trials)


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
