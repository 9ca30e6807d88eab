"""What a study computes and what it keeps: ``Task`` (one unit of work, with its key),
``Outcome`` (what one task gave) and ``Store`` (every finished task, on disk, once).

**A task** is one call of a module-level, pure function on one configuration, e.g.
``Task("stress", "leaky.lab.batched:train", TrainConfig(...))``: all the seeds of one
configuration trained as one batched model. The configuration is a frozen dataclass with
``to_dict()`` and ``from_dict()``, or a dict of JSON types. The function receives
``from_dict(to_dict(config))`` (a dict config: its JSON decoded) on every backend, so what
the key describes is exactly what the function sees; it returns an object with
``to_dict()`` or JSON types, stored as canonical JSON (sorted keys; NaN allowed).

**The function must be deterministic**: the same configuration gives the same result, bit
for bit, in this process, in a worker process or on a Dask worker. It draws from no global
random generator (seed your own generators from the configuration) and sets its own
thread count (``torch.set_num_threads(1)`` inside, restored after, as
``leaky.lab.batched.train`` does): the backends leave thread settings as they find them.

**The key** of a task is the SHA-256 of the canonical JSON (sorted keys, no whitespace) of:

- the function reference (``"package.module:function"``) and the configuration's type,
- the configuration (``to_dict()``),
- the *code version*: the SHA-256 of the source file of the function's module, of every
  module of leaky it imports, directly or through others (``leaky_imports``: derived from
  the sources, imports inside functions included; a package's ``__init__.py`` counts, as
  importing a submodule runs it), and of every module listed in ``depends``,
- the installed versions of the libraries a result depends on (``LIBRARIES``: torch,
  numpy, numba, mnist1d; one that is not installed is recorded as None).

So editing the experiment's module, any module of leaky it reaches (the core's kernels,
``leaky._validate``, the monitor) or a listed dependency, or upgrading torch, invalidates
its stored results; editing a module it does not reach does not. ``depends`` is for code
outside leaky: for the user's project (``leaky compare``'s objective),
``user_imports(module)`` lists the modules it imports from that project, directly or not,
derived from the sources. A module loaded by name at run time
(``importlib.import_module(name)``) is not seen. The experiment name and the label are not
part of the key: two experiments that run the same function on the same configuration
share one stored result. Source files are read once per process (the key is computed
before the workers import the code: do not edit an experiment while it runs).

**The store** is one SQLite file, ``DIR/runs.sqlite`` (the standard library's ``sqlite3``),
one row per task key. Each write is one transaction: after a crash, ``kill -9`` or a full
disk, a result is either there whole or not at all (SQLite's journal rolls back the rest on
the next open). Only the process that runs a study writes (results travel back from the
workers); a finished result is written once and never overwritten; a failure (its error
text in one line) is replaced by the next attempt's result. Reading needs nothing but this
module: ``Store(DIR, create=False).load(tasks)`` renders a study without running anything.
SQLite's rollback journal with a full sync per write (its defaults), not WAL: it also works
on the network filesystem of a cluster's login node, and a write costs a few milliseconds,
nothing beside a task of seconds.

Examples:
    >>> import tempfile
    >>> task = Task("demo", "leaky.lab.runner:check_task", {"seed": 3})
    >>> len(task.key), task.key == Task("other", task.function, {"seed": 3}).key
    (64, True)
    >>> task.key == Task("demo", task.function, {"seed": 4}).key
    False
    >>> with tempfile.TemporaryDirectory() as folder, Store(folder) as store:
    ...     [t.config for t in store.missing([task])]
    [{'seed': 3}]
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import importlib.util
import json
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from leaky import _validate
from leaky.lab import _checks

__all__ = [
    "LIBRARIES",
    "STORE_FILE",
    "MissingResultsError",
    "Outcome",
    "Store",
    "StoreError",
    "Task",
    "canonical_json",
    "leaky_imports",
    "library_versions",
    "module_digest",
    "user_imports",
]

STORE_FILE = "runs.sqlite"
"""The name of the store's file in a study's folder."""

KEY_FORMAT = 2
"""Part of every key: raised when the key's recipe changes, which invalidates every result.
(2: the code is leaky's import closure, and the libraries' versions are part of the key.)"""

LIBRARIES = ("torch", "numpy", "numba", "mnist1d")
"""The distributions whose installed version is part of every key (``library_versions``)."""

_APPLICATION_ID = 0x4C4B5952  # "LKYR" in the SQLite header: this file is a leaky store
_SCHEMA_VERSION = 1
_CHUNK = 500  # keys per SELECT ... IN (...)
_SQLITE_FULL = 13  # SQLite's result code for a full disk (sqlite3.SQLITE_FULL from Python 3.11)

Status = Literal["done", "failed"]


class StoreError(RuntimeError):
    """The store cannot be opened or read; the message is one line naming the file."""


class MissingResultsError(StoreError):
    """Some tasks of a study have no stored result; the message counts them per experiment."""


def canonical_json(value: Any, *, allow_nan: bool = False) -> str:
    """JSON with sorted keys and no whitespace: the same value gives the same text.

    Examples:
        >>> canonical_json({"b": [1, 2.5], "a": "x"})
        '{"a":"x","b":[1,2.5]}'
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=allow_nan
    )


@functools.cache
def module_digest(module: str) -> str:
    """The SHA-256 of a module's source file (found without importing the module).

    Read once per process (cached). A package is its ``__init__.py``; a compiled extension
    is its binary file.

    Examples:
        >>> len(module_digest("leaky.lab.store"))
        64
    """
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError) as err:
        raise ValueError(f"Cannot find module {module!r} to hash its source: {err}") from None
    if spec is None or not spec.has_location or not spec.origin:
        raise ValueError(
            f"Cannot hash the source of module {module!r}: "
            + ("it is not installed" if spec is None else "it has no source file")
            + " (a task's function and its 'depends' must be modules with a file)."
        )
    return hashlib.sha256(Path(spec.origin).read_bytes()).hexdigest()


def _version(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None where it is not installed."""
    import importlib.metadata

    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


@functools.cache
def _versions() -> tuple[tuple[str, str | None], ...]:
    return tuple((name, _version(name)) for name in LIBRARIES)


def library_versions() -> dict[str, str | None]:
    """The installed version of each of ``LIBRARIES`` (None: not installed), looked up once
    per process.

    Examples:
        >>> sorted(library_versions()) == sorted(LIBRARIES)
        True
    """
    return dict(_versions())


_LEAKY = Path(__file__).resolve().parents[1]  # the leaky package this module belongs to


def _leaky_file(name: str) -> Path | None:
    """The source file of leaky's module ``name`` (``"leaky.lab.store"``), found in this
    copy of leaky without importing anything; None where ``name`` is no module of leaky's
    (``"leaky._validate.text"``, an attribute imported from one)."""
    parts = name.split(".")
    if parts[0] != "leaky" or not all(p.isidentifier() for p in parts):
        return None
    base = _LEAKY.joinpath(*parts[1:])
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


@functools.cache
def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@functools.cache
def leaky_imports(module: str) -> tuple[str, ...]:
    """The modules of leaky that ``module`` imports, directly or through others: its import
    closure inside the ``leaky`` package (``module`` itself left out).

    Found by reading the sources (``import`` statements anywhere in them, inside functions
    too, with the parent packages an import runs), without importing anything; ``module``
    may lie outside leaky (a test's or the user's module). Read once per process (cached).

    Examples:
        >>> closure = leaky_imports("leaky.lab.store")
        >>> "leaky._validate" in closure, "leaky._numpy" in closure, "leaky.cli" in closure
        (True, True, False)
    """
    start = _leaky_file(module)
    if start is None:
        spec = _find_spec(module)
        origin = Path(spec.origin) if spec is not None and spec.origin else None
        start = origin if origin is not None and origin.suffix == ".py" else None
    found: dict[str, Path] = {}
    todo: list[tuple[str, Path | None]] = [(module, start)]
    while todo:
        name, path = todo.pop()
        if name in found or path is None:
            continue
        found[name] = path
        for imported in sorted(_imported_names(name, path) - set(found)):
            if imported.split(".")[0] == "leaky":
                todo.append((imported, _leaky_file(imported)))
    found.pop(module, None)
    return tuple(sorted(found))


@functools.cache
def _library_folders() -> tuple[Path, ...]:
    """The folders of the standard library and of installed packages (not the user's)."""
    import site
    import sysconfig

    paths = sysconfig.get_paths()
    found = [paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")]
    found += [*site.getsitepackages(), site.getusersitepackages()]
    found.append(str(Path(__file__).resolve().parents[1]))  # leaky itself: not the user's
    return tuple(Path(p).resolve() for p in found if p)


def _users_file(spec: Any) -> Path | None:
    """The source file of a module of the user's project, or None (stdlib, installed
    packages, leaky, built-in or frozen modules, compiled extensions)."""
    if spec is None or not spec.has_location or not spec.origin:
        return None
    path = Path(spec.origin).resolve()
    if path.suffix != ".py" or {"site-packages", "dist-packages"} & set(path.parts):
        return None
    if any(path.is_relative_to(folder) for folder in _library_folders()):
        return None
    return path


def _users_package(name: str) -> bool:
    """True for a top-level package of the user's project (a namespace package included)."""
    spec = _find_spec(name)
    if spec is not None and spec.origin is None and spec.submodule_search_locations:
        folders = [Path(p).resolve() for p in spec.submodule_search_locations]
        return not any(f.is_relative_to(lib) for f in folders for lib in _library_folders())
    return _users_file(spec) is not None


def _find_spec(name: str) -> Any:
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError, AttributeError):
        return None


def _imported_names(module: str, path: Path) -> set[str]:
    """Every module name ``module`` (its source at ``path``) imports, at any place in it
    (absolute, with their parent packages, and relative ones resolved)."""
    import ast

    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            try:
                base = importlib.util.resolve_name(base, package) if node.level else base
            except (ImportError, ValueError):
                continue
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    parents = {".".join(n.split(".")[:i]) for n in names for i in range(1, n.count(".") + 1)}
    return names | parents


@functools.cache
def user_imports(module: str) -> tuple[str, ...]:
    """The modules of the user's project that ``module`` imports, directly or through
    others: its import closure, less the standard library, installed packages and leaky.

    Found by reading the sources (``import`` statements anywhere in them; a module loaded
    by name at run time, ``importlib.import_module(name)``, is not seen), without importing
    anything outside the user's project. A module counts as the user's when its source
    file lies outside the standard library, ``site-packages`` and leaky's own package.
    Give them as a task's ``depends`` so that editing a helper module invalidates the
    results of the objective that imports it. Read once per process (cached).

    Examples:
        >>> user_imports("leaky.lab.compare")  # leaky's own modules are not the user's
        ()
    """
    found: dict[str, Path] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        top = name.split(".")[0]
        if top != name and not _users_package(top):
            continue  # a submodule of an installed package: never imported here
        path = _users_file(_find_spec(name))
        if path is None:
            continue
        found[name] = path
        todo.extend(sorted(_imported_names(name, path) - set(found)))
    found.pop(module, None)
    return tuple(sorted(found))


def _code_digest(module: str) -> str:
    """The digest of one of leaky's modules found by ``leaky_imports`` (a file of this copy
    of leaky)."""
    path = _leaky_file(module)
    assert path is not None  # leaky_imports lists only modules with a file
    return _file_digest(path)


def _type_ref(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


@dataclass(frozen=True)
class Task:
    """One unit of work: ``function(config)`` for the experiment ``experiment``.

    Attributes:
        experiment: the experiment the task belongs to (progress is counted per experiment).
        function: ``"package.module:function"``, a module-level pure function of one
            argument, the configuration (see the module's docstring for what "pure" means).
        config: a dataclass with ``to_dict()`` and a class method ``from_dict()``, or a dict
            of JSON types (str keys; no NaN).
        depends: more modules whose source is part of the key, beside the function's
            module and the modules of leaky it imports (``leaky_imports``): the user's
            project's (``user_imports``).
        label: a short human name for progress lines ("mlp relu lr=0.1"); not in the key.
        key: the SHA-256 (hex) that identifies the task's result (computed).

    Examples:
        >>> t = Task("demo", "leaky.lab.runner:check_task", {"seed": 1}, label="seed 1")
        >>> t.config_json, t.config_type
        ('{"seed":1}', None)
        >>> "leaky.lab.runner" in t.code, "leaky._validate" in t.code  # its leaky imports
        (True, True)
        >>> sorted(t.libraries) == sorted(LIBRARIES)
        True
    """

    experiment: str
    function: str
    config: Any
    depends: tuple[str, ...] = ()
    label: str = ""
    key: str = field(init=False, repr=False, compare=False)
    config_json: str = field(init=False, repr=False, compare=False)
    config_type: str | None = field(init=False, repr=False, compare=False)
    code: dict[str, str] = field(init=False, repr=False, compare=False)
    libraries: dict[str, str | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        put = object.__setattr__
        func = "Task"
        _checks.text(self.experiment, "experiment", func)
        _checks.object_ref(self.function, "function", func)
        put(self, "depends", _checks.module_names(self.depends, "depends", func))
        if not isinstance(self.label, str):
            raise ValueError(
                f"The 'label' parameter of {func} must be a string. "
                f"Got {self.label!r} ({type(self.label).__name__}) instead."
            )
        config = self.config
        if isinstance(config, dict):
            config_type, data = None, config
        elif callable(getattr(config, "to_dict", None)) and callable(
            getattr(type(config), "from_dict", None)
        ):
            config_type, data = _type_ref(type(config)), config.to_dict()
        else:
            raise TypeError(
                f"The 'config' parameter of {func} must be a dict of JSON types or an object "
                "with to_dict() whose class has from_dict() (a frozen dataclass). "
                f"Got a {type(config).__name__} instead."
            )
        try:
            config_json = canonical_json(data)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"The 'config' parameter of {func} must hold JSON types only (no NaN or "
                f"infinity): {err}."
            ) from None
        home = self.function.split(":")[0]
        leaky = leaky_imports(home)
        modules = sorted({home, *leaky, *self.depends})
        code = {m: _code_digest(m) if m in leaky else module_digest(m) for m in modules}
        libraries = library_versions()
        recipe = {
            "format": KEY_FORMAT,
            "function": self.function,
            "config_type": config_type,
            "config": json.loads(config_json),
            "code": code,
            "libraries": libraries,
        }
        put(self, "config_type", config_type)
        put(self, "config_json", config_json)
        put(self, "code", code)
        put(self, "libraries", libraries)
        put(self, "key", hashlib.sha256(canonical_json(recipe).encode()).hexdigest())

    @property
    def name(self) -> str:
        """The label, or the key's first 12 characters."""
        return self.label or self.key[:12]

    def __hash__(self) -> int:  # equal tasks have equal keys; a dict config is unhashable
        return hash(self.key)


@dataclass(frozen=True)
class Outcome:
    """What one task gave: a result (``status == "done"``) or a failure (``"failed"``).

    Attributes:
        key, experiment, label, function: the task's (``Task``).
        config: the configuration as stored (JSON types).
        status: ``"done"`` or ``"failed"``.
        value: the result in JSON types (None for a failure).
        error: a failure's error in one line, ``"ValueError: ..."`` (None when done).
        traceback: a failure's traceback, for debugging (None when done).
        seconds: the time the function took where it ran.
        worker: where it ran: ``"in-process"``, ``"process 1234"`` or a Dask worker address.
        attempts: how many times the task was run until this outcome (stored ones).
        cached: read from the store, not run by this call.
    """

    key: str
    experiment: str
    label: str
    function: str
    config: Any
    status: Status
    value: Any
    error: str | None
    seconds: float
    worker: str
    attempts: int = 1
    traceback: str | None = field(default=None, repr=False)
    cached: bool = False

    @property
    def ok(self) -> bool:
        """True for a result, False for a failure."""
        return self.status == "done"

    @property
    def name(self) -> str:
        """The label, or the key's first 12 characters."""
        return self.label or self.key[:12]

    def to_dict(self) -> dict[str, Any]:
        """JSON types (the traceback left out)."""
        d = dataclasses.asdict(self)
        del d["traceback"]
        return d


_COLUMNS = (
    "key, experiment, label, function, config, status, value, error, traceback, seconds, "
    "worker, attempts"
)


def _outcome(row: tuple[Any, ...], cached: bool = True) -> Outcome:
    key, exp, label, fn, config, status, value, error, tb, seconds, worker, attempts = row
    return Outcome(
        key=key,
        experiment=exp,
        label=label,
        function=fn,
        config=json.loads(config),
        status=status,
        value=None if value is None else json.loads(value),
        error=error,
        seconds=seconds,
        worker=worker,
        attempts=attempts,
        traceback=tb,
        cached=cached,
    )


def _keys(items: Iterable[Task | str]) -> list[str]:
    return [item.key if isinstance(item, Task) else item for item in items]


class Store:
    """Every finished task of a study, in ``DIR/runs.sqlite``, keyed by the task's key.

    Args:
        folder: the study's folder (created with its parents unless ``create=False``).
        create: create the folder and the file if missing (False: they must exist; for
            reading a study back).
        timeout: seconds to wait for another process that holds the file's write lock.

    Raises:
        StoreError: the file is missing (``create=False``), is not a leaky store, or was
            written by a newer leaky.

    Examples:
        >>> import tempfile
        >>> from leaky.lab.runner import run
        >>> task = Task("demo", "leaky.lab.runner:check_task", {"seed": 0})
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     first = run([task], folder, jobs=1)
        ...     with Store(folder, create=False) as store:
        ...         (stored,) = store.load([task])
        ...         count = len(store)
        ...     count, stored.value == first.outcomes[0].value, stored.cached
        (1, True, True)
    """

    def __init__(
        self, folder: str | os.PathLike[str], *, create: bool = True, timeout: float = 30.0
    ) -> None:
        func = "Store"
        if not isinstance(folder, (str, os.PathLike)):
            raise ValueError(
                f"The 'folder' parameter of {func} must be a path. "
                f"Got {folder!r} ({type(folder).__name__}) instead."
            )
        _checks.flag(create, "create", func)
        timeout = _validate.positive_real(timeout, "timeout", func)
        self.folder = Path(folder)
        self.path = self.folder / STORE_FILE
        for path in (self.folder, *(Path(f"{self.path}{s}") for s in ("", "-journal", "-wal"))):
            if path.is_symlink():  # SQLite would write through it
                raise StoreError(
                    f"{path} is a symbolic link; leaky does not write through one: remove it "
                    "or name another folder."
                )
        if create:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise StoreError(f"Cannot create the study folder {self.folder}: {err}") from None
            uri = f"{self.path.absolute().as_uri()}?mode=rwc"
        elif not self.path.is_file():
            raise StoreError(
                f"No stored results at {self.path} (run the study there first, without --from)."
            )
        else:
            mode = "rw" if os.access(self.path, os.W_OK) else "ro"
            uri = f"{self.path.absolute().as_uri()}?mode={mode}"
        try:
            # isolation_level=None: no implicit transactions; every write says BEGIN/COMMIT.
            self._conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
        except sqlite3.Error as err:
            raise StoreError(f"Cannot open the result store {self.path}: {err}") from None
        try:
            self._setup()
        except sqlite3.DatabaseError as err:
            self._conn.close()
            raise StoreError(f"{self.path} is not a leaky result store ({err}).") from None
        except BaseException:
            self._conn.close()
            raise

    def _setup(self) -> None:
        conn = self._conn
        app, version = self._header()
        if app == _APPLICATION_ID and version == _SCHEMA_VERSION:
            return
        if app == 0 and version == 0:  # a new file, or one another process is creating now
            conn.execute("BEGIN IMMEDIATE")  # one creator at a time; the others wait here
            try:
                app, version = self._header()
                tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                if app == 0 and version == 0 and tables == 0:
                    conn.execute(
                        "CREATE TABLE runs ("
                        " key TEXT PRIMARY KEY, experiment TEXT NOT NULL, label TEXT NOT NULL,"
                        " function TEXT NOT NULL, config TEXT NOT NULL,"
                        " status TEXT NOT NULL CHECK (status IN ('done', 'failed')),"
                        " value TEXT, error TEXT, traceback TEXT, seconds REAL NOT NULL,"
                        " worker TEXT NOT NULL, attempts INTEGER NOT NULL,"
                        " code TEXT NOT NULL, finished REAL NOT NULL)"
                    )
                    conn.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
                    conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
                    app, version = _APPLICATION_ID, _SCHEMA_VERSION
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        if app != _APPLICATION_ID:
            raise StoreError(
                f"{self.path} is not a leaky result store (an SQLite file of another program); "
                "choose another folder."
            )
        if version > _SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer leaky (store format {version}; this one "
                f"reads format {_SCHEMA_VERSION}): upgrade leaky."
            )
        if version != _SCHEMA_VERSION:
            raise StoreError(f"{self.path} has an unknown store format {version}.")

    def _header(self) -> tuple[int, int]:
        app = self._conn.execute("PRAGMA application_id").fetchone()[0]
        return app, self._conn.execute("PRAGMA user_version").fetchone()[0]

    # --- reading ------------------------------------------------------------------------

    def get(self, task: Task | str) -> Outcome | None:
        """The stored outcome of a task (or key), or None."""
        return self.get_many([task]).get(_keys([task])[0])

    def get_many(self, tasks: Iterable[Task | str]) -> dict[str, Outcome]:
        """The stored outcomes of the tasks (or keys) that have one, by key."""
        keys = list(dict.fromkeys(_keys(tasks)))
        found: dict[str, Outcome] = {}
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM runs WHERE key IN ({marks})", chunk
            ).fetchall()
            found.update((row[0], _outcome(row)) for row in rows)
        return found

    def missing(self, tasks: Iterable[Task]) -> list[Task]:
        """The tasks to run: those with no stored result, or a stored failure (in order,
        each key once)."""
        tasks = list(tasks)
        done = {k for k, o in self.get_many(tasks).items() if o.ok}
        unique = {t.key: t for t in reversed(tasks)}  # the first task of each key wins
        return [t for k, t in reversed(unique.items()) if k not in done]

    def load(self, tasks: Iterable[Task]) -> list[Outcome]:
        """The stored outcome of every task, in order (failures included), running nothing.

        Raises:
            MissingResultsError: some tasks were never run (or their run was interrupted).
        """
        tasks = list(tasks)
        found = self.get_many(tasks)
        absent = Counter(
            t.experiment for t in {t.key: t for t in tasks}.values() if t.key not in found
        )
        if absent:
            unique = len({t.key for t in tasks})
            detail = ", ".join(f"{exp} {n}" for exp, n in sorted(absent.items()))
            raise MissingResultsError(
                f"{self.path} holds {unique - sum(absent.values())} of the {unique} tasks of "
                f"this study (missing: {detail}); run the study to compute them."
            )
        return [
            dataclasses.replace(found[t.key], experiment=t.experiment, label=t.label) for t in tasks
        ]

    def outcomes(self, experiment: str | None = None) -> list[Outcome]:
        """Every stored outcome (of one experiment), oldest first."""
        where, args = (
            ("WHERE experiment = ?", (experiment,)) if experiment is not None else ("", ())
        )
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM runs {where} ORDER BY finished, key", args
        ).fetchall()
        return [_outcome(row) for row in rows]

    def summary(self) -> dict[str, dict[str, int]]:
        """``{experiment: {"done": n, "failed": m}}`` over the whole store."""
        counts: dict[str, dict[str, int]] = {}
        rows = self._conn.execute("SELECT experiment, status, count(*) FROM runs GROUP BY 1, 2")
        for exp, status, n in rows:
            counts.setdefault(exp, {"done": 0, "failed": 0})[status] = n
        return counts

    def __len__(self) -> int:
        return self._conn.execute("SELECT count(*) FROM runs").fetchone()[0]

    def __contains__(self, task: object) -> bool:
        if not isinstance(task, (Task, str)):
            return False
        return self.get(task) is not None

    def __iter__(self) -> Iterator[Outcome]:
        return iter(self.outcomes())

    # --- writing ------------------------------------------------------------------------

    def put(self, outcome: Outcome, code: Mapping[str, str] | None = None) -> bool:
        """Store an outcome in one transaction; False if a result was already stored.

        A result (``done``) is never overwritten. A failure replaces a stored failure and
        is replaced by a later result (``outcome.attempts`` says which attempt it is; the
        runner counts). ``code`` records the module digests the key was computed from
        (``Task.code``), for inspection.
        """
        if type(outcome) is not Outcome:
            raise ValueError(
                f"The 'outcome' parameter of Store.put must be an Outcome. "
                f"Got {outcome!r} ({type(outcome).__name__}) instead."
            )
        value = None if outcome.value is None else canonical_json(outcome.value, allow_nan=True)
        row = (
            outcome.key,
            outcome.experiment,
            outcome.label,
            outcome.function,
            canonical_json(outcome.config),
            outcome.status,
            value,
            outcome.error,
            outcome.traceback,
            float(outcome.seconds),
            outcome.worker,
            outcome.attempts,
            canonical_json(dict(code or {})),
            time.time(),
        )
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            cursor = self._conn.execute(
                "INSERT INTO runs (key, experiment, label, function, config, status, value,"
                " error, traceback, seconds, worker, attempts, code, finished)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET experiment = excluded.experiment,"
                " label = excluded.label, status = excluded.status, value = excluded.value,"
                " error = excluded.error, traceback = excluded.traceback,"
                " seconds = excluded.seconds, worker = excluded.worker,"
                " attempts = excluded.attempts, code = excluded.code,"
                " finished = excluded.finished"
                " WHERE runs.status = 'failed'",
                row,
            )
            written = cursor.rowcount > 0
            self._conn.execute("COMMIT")
        except BaseException as err:
            if self._conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
            if isinstance(err, sqlite3.Error):  # a full disk, a read-only or damaged file
                full = getattr(err, "sqlite_errorcode", None) == _SQLITE_FULL
                full = full or "full" in str(err).lower()
                hint = "disk full: free some space; " if full else ""
                raise StoreError(
                    f"Cannot store a result in {self.path}: {err} ({hint}the results stored "
                    "until now are kept: run the same command again to compute the rest)."
                ) from err
            raise
        return written

    def discard(self, tasks: Iterable[Task | str]) -> int:
        """Forget the stored outcomes of these tasks (or keys), in one transaction, so that
        the next run computes them again (``leaky compare --rerun``); returns how many."""
        keys = list(dict.fromkeys(_keys(tasks)))
        removed = 0
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            for i in range(0, len(keys), _CHUNK):
                chunk = keys[i : i + _CHUNK]
                marks = ",".join("?" * len(chunk))
                cursor = self._conn.execute(f"DELETE FROM runs WHERE key IN ({marks})", chunk)
                removed += cursor.rowcount
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        return removed

    # --- closing ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the file (idempotent)."""
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.folder)!r})"
