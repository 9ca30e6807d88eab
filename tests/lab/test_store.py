"""leaky.lab.store: task keys (configuration and code version), and the SQLite result store
(written once, atomic under kill -9, refused when it is not leaky's)."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from leaky.lab import store
from leaky.lab.store import (
    STORE_FILE,
    MissingResultsError,
    Outcome,
    Store,
    StoreError,
    Task,
    leaky_imports,
    module_digest,
)
from tests.lab.toy_tasks import Config

ROOT = Path(__file__).resolve().parents[2]
DRAW = "tests.lab.toy_tasks:draw"


def outcome(task: Task, status: str = "done", value: object = None, **kw: object) -> Outcome:
    fields = dict(
        key=task.key,
        experiment=task.experiment,
        label=task.label,
        function=task.function,
        config={"seed": 0},
        status=status,
        value=value if status == "done" else None,
        error=None if status == "done" else "ValueError: no",
        seconds=0.5,
        worker="in-process",
    )
    fields.update(kw)
    return Outcome(**fields)  # type: ignore[arg-type]


# --- keys -----------------------------------------------------------------------------


def test_the_key_is_the_configuration_and_the_function_not_the_names() -> None:
    task = Task("a", DRAW, {"seed": 1, "sleep": 0})
    assert task.key == Task("b", DRAW, {"sleep": 0, "seed": 1}, label="x").key  # order, names
    assert task.key != Task("a", DRAW, {"seed": 2, "sleep": 0}).key
    assert task.key != Task("a", DRAW, {"seed": 1, "sleep": 0.0}).key  # 0 is not 0.0 in JSON
    assert task.key != Task("a", "tests.lab.toy_tasks:scaled", {"seed": 1, "sleep": 0}).key
    assert task.key != Task("a", DRAW, {"seed": 1, "sleep": 0}, depends=("leaky.lab.store",)).key


def test_a_dataclass_configuration_keys_by_its_dict_and_its_type() -> None:
    task = Task("a", "tests.lab.toy_tasks:scaled", Config(seed=3))
    assert task.config_json == '{"scale":1.0,"seed":3}'
    assert task.config_type == "tests.lab.toy_tasks:Config"
    as_dict = Task("a", "tests.lab.toy_tasks:scaled", {"scale": 1.0, "seed": 3})
    assert task.key != as_dict.key
    assert task.key == Task("b", "tests.lab.toy_tasks:scaled", Config(seed=3)).key


def _module(folder: Path, name: str, body: str) -> None:
    (folder / f"{name}.py").write_text(textwrap.dedent(body))


def test_the_key_changes_with_the_task_module_and_its_dependencies_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    _module(tmp_path, "keyexp_task", "def f(config):\n    return config\n")
    _module(tmp_path, "keyexp_dep", "X = 1\n")
    _module(tmp_path, "keyexp_other", "Y = 1\n")

    def keys() -> tuple[str, str]:
        module_digest.cache_clear()
        plain = Task("e", "keyexp_task:f", {"seed": 0})
        with_dep = Task("e", "keyexp_task:f", {"seed": 0}, depends=("keyexp_dep",))
        return plain.key, with_dep.key

    first = keys()
    _module(tmp_path, "keyexp_other", "Y = 2\n")  # an unrelated module
    assert keys() == first
    _module(tmp_path, "keyexp_dep", "X = 2\n")  # a listed dependency
    second = keys()
    assert second[0] == first[0] and second[1] != first[1]
    _module(tmp_path, "keyexp_task", "def f(config):\n    return dict(config)\n")
    third = keys()
    assert third[0] != second[0] and third[1] != second[1]
    module_digest.cache_clear()


def test_the_closure_holds_the_modules_training_runs_through() -> None:
    closure = leaky_imports("leaky.lab.batched")
    assert {"leaky._numpy", "leaky.functional", "leaky._validate", "leaky._openmp"} <= set(closure)
    assert {"leaky.lab.models", "leaky.lab.data", "leaky.nn", "leaky._torch"} <= set(closure)
    assert "leaky.lab.batched" not in closure and not any(
        m.startswith("leaky.cli") for m in closure
    )
    # imports inside functions count: the revival task reaches the whole monitor
    assert "leaky.monitor._revive" in leaky_imports("leaky.lab.experiments.dying")
    assert "leaky.monitor._loops" in leaky_imports("leaky.lab.experiments.dying")
    task = Task("e", "leaky.lab.batched:train", {"seed": 0})
    assert set(closure) | {"leaky.lab.batched"} == set(task.code)


_KEY_OF_A_TRAINING_TASK = (
    "from leaky.lab.store import Task; print(Task('e', 'leaky.lab.batched:train', {'seed': 0}).key)"
)


def _key_with(package: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(package.parent)}
    out = subprocess.run(
        [sys.executable, "-c", _KEY_OF_A_TRAINING_TASK],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=package.parent,
    )
    return out.stdout.strip()


def test_the_key_changes_with_a_core_module_the_task_reaches(tmp_path: Path) -> None:
    import leaky

    package = tmp_path / "leaky"
    shutil.copytree(
        Path(leaky.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__")
    )
    first = _key_with(package)
    assert first == _key_with(package)  # the same sources: the same key
    numpy_path = package / "_numpy.py"
    numpy_path.write_text(numpy_path.read_text() + "\n# an edit\n")
    assert _key_with(package) != first


def test_the_key_changes_with_an_installed_library_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = Task("e", DRAW, {"seed": 1, "sleep": 0})
    assert before.libraries["numpy"] is not None
    real = store._version
    monkeypatch.setattr(store, "_version", lambda d: "0.0-test" if d == "torch" else real(d))
    store._versions.cache_clear()
    try:
        after = Task("e", DRAW, {"seed": 1, "sleep": 0})
        assert after.libraries["torch"] == "0.0-test"
        assert after.key != before.key
        monkeypatch.setattr(store, "_version", lambda d: None if d == "mnist1d" else real(d))
        store._versions.cache_clear()
        missing = Task("e", DRAW, {"seed": 1, "sleep": 0})
        assert missing.libraries["mnist1d"] is None and missing.key != before.key
    finally:
        monkeypatch.undo()
        store._versions.cache_clear()
    assert Task("e", DRAW, {"seed": 1, "sleep": 0}).key == before.key


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"function": "no_colon"}, ValueError, "'function' parameter of Task"),
        ({"function": "a.b:c d"}, ValueError, "package.module:function"),
        ({"config": {"s": {1, 2}}}, TypeError, "JSON types"),
        ({"config": {"lr": float("nan")}}, TypeError, "no NaN"),
        ({"config": [1, 2]}, TypeError, "Got a list instead"),
        ({"experiment": ""}, ValueError, "'experiment' parameter of Task"),
        ({"depends": "leaky.lab"}, ValueError, "'depends' parameter of Task"),
        ({"depends": ("no_such_module_xyz",)}, ValueError, "no_such_module_xyz"),
        ({"function": "no_such_module_xyz:f"}, ValueError, "not installed"),
        ({"label": 3}, ValueError, "'label' parameter of Task"),
    ],
)
def test_a_bad_task_is_refused_naming_the_parameter(
    kwargs: dict, error: type[Exception], words: str
) -> None:
    args = {"experiment": "e", "function": DRAW, "config": {"seed": 0}} | kwargs
    with pytest.raises(error) as info:
        Task(**args)
    message = str(info.value)
    assert words in message and "\n" not in message


def test_an_object_without_from_dict_is_not_a_configuration() -> None:
    class Half:
        def to_dict(self) -> dict:
            return {}

    with pytest.raises(TypeError, match="from_dict"):
        Task("e", DRAW, Half())


# --- the store ------------------------------------------------------------------------


def test_a_result_round_trips_and_is_written_once(tmp_path: Path) -> None:
    task = Task("e", DRAW, {"seed": 0}, label="zero")
    with Store(tmp_path) as store:
        assert (tmp_path / STORE_FILE).is_file() and len(store) == 0
        assert store.put(outcome(task, value={"x": 1.5, "n": [1, None], "bad": float("nan")}))
        assert not store.put(outcome(task, value={"x": 2.0}))  # never overwritten
        assert not store.put(outcome(task, "failed"))  # nor by a failure
        got = store.get(task)
    assert got is not None and got.cached and got.ok and got.label == "zero"
    assert got.value["x"] == 1.5 and got.value["n"] == [1, None] and got.value["bad"] != 0


def test_a_failure_is_replaced_by_the_next_attempt(tmp_path: Path) -> None:
    tasks = [Task("e", DRAW, {"seed": s}) for s in range(3)]
    with Store(tmp_path) as store:
        store.put(outcome(tasks[0]))
        store.put(outcome(tasks[1], "failed"))
        assert store.missing(tasks) == [tasks[1], tasks[2]]  # a failure is run again
        assert store.put(outcome(tasks[1], "failed", error="ValueError: again", attempts=2))
        assert store.get(tasks[1]).error == "ValueError: again"
        assert store.put(outcome(tasks[1], value=[1], attempts=3))
        got = store.get(tasks[1])
        assert got.ok and got.value == [1] and got.error is None and got.attempts == 3
        assert store.summary() == {"e": {"done": 2, "failed": 0}}
        assert [o.key for o in store.outcomes("e")] == [tasks[0].key, tasks[1].key]
        assert tasks[0] in store and tasks[2].key not in store and 3 not in store


def test_load_reads_every_task_or_says_what_is_missing(tmp_path: Path) -> None:
    tasks = [Task("stress", DRAW, {"seed": s}) for s in range(3)]
    tasks.append(Task("slopes", DRAW, {"seed": 9}))
    with Store(tmp_path) as store:
        for task in tasks[:2]:
            store.put(outcome(task, value={"seed": task.config["seed"]}))
        with pytest.raises(MissingResultsError) as info:
            store.load(tasks)
        assert "holds 2 of the 4 tasks" in str(info.value)
        assert "missing: slopes 1, stress 1" in str(info.value)
        store.put(outcome(tasks[2], "failed"))
        store.put(outcome(tasks[3], value={}))
        # a task listed twice, under another experiment name: its own name comes back
        again = Task("again", DRAW, {"seed": 0})
        loaded = store.load([*tasks, again])
    assert [o.status for o in loaded] == ["done", "done", "failed", "done", "done"]
    assert loaded[-1].experiment == "again" and loaded[-1].value == loaded[0].value


def test_reading_needs_an_existing_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"No stored results at .*runs\.sqlite"):
        Store(tmp_path / "nothing", create=False)
    assert not (tmp_path / "nothing").exists()


def test_another_programs_sqlite_file_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / STORE_FILE)
    conn.execute("CREATE TABLE studies (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a leaky result store"):
        Store(tmp_path)
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / STORE_FILE).write_text("a thesis, not a database\n" * 100)
    with pytest.raises(StoreError, match="not a leaky result store"):
        Store(tmp_path / "text", create=False)


def test_a_store_of_a_newer_leaky_is_refused(tmp_path: Path) -> None:
    Store(tmp_path).close()
    conn = sqlite3.connect(tmp_path / STORE_FILE)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match=r"newer leaky .*format 99"):
        Store(tmp_path)


_KILL_IN_COMMIT = """
import os, signal, sys
from leaky.lab.store import Outcome, Store, Task

store = Store(sys.argv[1])
tasks = [Task("e", "tests.lab.toy_tasks:draw", {"seed": s}) for s in range(3)]
def outcome(task, value):
    return Outcome(task.key, "e", "", task.function, {}, "done", value, None, 1.0, "here")
store.put(outcome(tasks[0], {"v": 0}))
store.put(outcome(tasks[1], {"v": 1}))

class KillAtCommit:  # the row is written, the transaction not committed: kill -9 then
    def __init__(self, conn):
        self.conn = conn
    def execute(self, sql, *args):
        if sql == "COMMIT":
            os.kill(os.getpid(), signal.SIGKILL)
        return self.conn.execute(sql, *args)
    def __getattr__(self, name):
        return getattr(self.conn, name)

store._conn = KillAtCommit(store._conn)
store.put(outcome(tasks[2], {"v": "x" * 5_000_000}))
"""


def test_a_write_killed_midway_leaves_nothing_half_written(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", _KILL_IN_COMMIT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    journal = tmp_path / f"{STORE_FILE}-journal"
    assert journal.exists() and journal.stat().st_size > 0  # killed inside the transaction
    with Store(tmp_path) as store:  # the journal is rolled back on open
        assert len(store) == 2
        assert sorted(o.value["v"] for o in store) == [0, 1]
        check = store._conn.execute("PRAGMA integrity_check").fetchone()[0]
    assert check == "ok"


def test_many_processes_can_create_one_store_at_once(tmp_path: Path) -> None:
    code = "import sys; from leaky.lab.store import Store; Store(sys.argv[1]).close()"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path / "new")], stderr=subprocess.PIPE
        )
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errors
    with Store(tmp_path / "new", create=False) as store:
        assert len(store) == 0
