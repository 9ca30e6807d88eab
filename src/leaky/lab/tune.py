"""Slope tuning on Optuna: resumable, and shareable by many workers through one storage.

``tune_slope`` runs an Optuna study over the negative slope: log-uniform in [low, high]
(TPE sampler), plus plain ReLU (slope 0) as the baseline every study compares against.
Each trial averages the user's ``objective(negative_slope, seed)`` over ``seeds``: every
trial uses the same seeds, so the best slope and ReLU are compared *paired*, seed by seed,
through ``leaky.lab.stats`` (a tie is called a tie; one seed is no comparison).

- **Storage**: in memory by default (the API), or any Optuna storage URL: SQLite
  (``sqlite:///OUT/study.db``, what ``leaky tune`` uses by default) for one machine,
  PostgreSQL (``postgresql://...``) for many workers on many machines. A URL is shown with
  its password hidden (``display_url``), everywhere: messages, results, ``tune.json``.
- **Resume**: ``n_trials`` is the number of *complete* trials the study must reach. Run the
  same call again after an interruption and it continues: complete trials are kept; a
  trial cut by Ctrl-C or ``kill -9`` is marked failed (at once on Ctrl-C; by Optuna's
  heartbeat for a killed worker) and retried with the same slope
  (``RetryHeartbeatStaleTrialCallback``). A study remembers its direction, seeds and
  objective (study user attributes): resuming it with other ones is refused, never mixed.
- **Many workers**: every worker runs the same loop against the shared storage. A trial
  is admitted only if it ranks within the first ``n_trials`` live trials (complete,
  running or waiting, by trial number), so the study ends with exactly ``n_trials``
  complete trials however many workers race for the last ones; a trial that loses that
  race is pruned at once (user attribute ``surplus``) and never counted. Workers that
  create a new storage at the same moment race to create its tables; the losers wait and
  open it again (SQLite and PostgreSQL).
- **Failures**: an objective that raises, calls ``sys.exit``, or returns NaN or ±inf
  (a diverging loss) fails that trial, with the reason in the user attribute
  ``fail_reason``; the study goes on (and stops with an error if more than ``n_trials``
  trials fail that way). A failed trial is never ranked.
- **Ctrl-C with threads** (``n_jobs > 1``): the first Ctrl-C sets a stop event that every
  worker thread checks before each trial and between seeds, marks the trials this process
  is running as failed (so that the next run retries them), waits a moment for the
  threads, and raises ``TuneInterrupted``. A thread still inside the objective then (an
  objective that does not return) is abandoned: the threads are daemons, and
  ``TuneInterrupted.abandoned`` tells the caller how many are left (``leaky tune`` then
  ends the process at once, with exit status 130).

The ReLU baseline is trial 0 of a study (or a retry of it): trial numbers are unique in a
storage, so exactly one baseline exists however many workers start at once.

The heartbeat (how often a running trial says it is alive) and the grace period (after
how long a silent trial belongs to a dead worker) are ``LEAKY_TUNE_HEARTBEAT`` and
``LEAKY_TUNE_GRACE``, in seconds (defaults 2 and 6), read when a study starts.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import statistics
import threading
import time
import urllib.parse
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from leaky import _validate
from leaky.lab import _checks
from leaky.lab._threads import one_thread

DEFAULT_HEARTBEAT_S = 2.0
DEFAULT_GRACE_S = 6.0
MAX_RETRY = 3
DEFAULT_MARGIN = 0.01  # one point of accuracy: the smallest difference that matters
_OPEN_ATTEMPTS = 8
_JOIN_ON_STOP_S = 1.0  # how long Ctrl-C waits for worker threads before abandoning them


class TuneError(ValueError):
    """A problem with the study or its storage, in one line."""


class StorageError(TuneError):
    """The storage cannot be opened: a server that does not answer, a refused login, a
    file that cannot be written (the input may be right; ``leaky tune`` exits 1, not 2)."""


class TuneInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the study; ``abandoned`` worker threads were still in the objective."""

    def __init__(self, abandoned: int = 0) -> None:
        super().__init__(f"interrupted ({abandoned} worker thread(s) abandoned)")
        self.abandoned = abandoned


class _Stopped(Exception):
    """Raised inside a trial when the stop event is set: the trial fails, to be retried."""


@dataclass
class TrialRecord:
    """One trial: its slope, the objective per seed, their mean and its 95 % t interval."""

    number: int
    state: str
    slope: float | None
    value: float | None
    values: list[float] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    ci_low: float | None = None
    ci_high: float | None = None
    baseline: bool = False
    fail_reason: str | None = None
    retry_of: int | None = None


@dataclass
class TuneResult:
    """What a study found: the best slope, the ReLU baseline, their paired comparison.

    ``comparison`` is the ``leaky.lab.stats`` verdict on "the best slope gives a better
    objective than ReLU" (paired over the shared seeds, with ``margin`` as the smallest
    difference that matters); ``outcome`` says it in a word: ``"better"``, ``"worse"``,
    ``"no difference"``, ``"inconclusive"``, ``"one seed"`` (no comparison is possible)
    or None (no best slope or no baseline). ``summary`` is the one-line finding.
    """

    study_name: str
    storage: str | None
    objective: str | None
    direction: str
    n_trials: int
    seeds: list[int] | None
    margin: float
    best_slope: float | None
    best_value: float | None
    best_std: float | None
    relu_value: float | None
    relu_std: float | None
    comparison: Any  # leaky.lab.verdicts.Verdict | None
    outcome: str | None
    trials: list[TrialRecord]

    @property
    def complete(self) -> list[TrialRecord]:
        return [t for t in self.trials if t.state == "COMPLETE"]

    @property
    def best(self) -> TrialRecord | None:
        return next(
            (t for t in self.complete if not t.baseline and t.slope == self.best_slope), None
        )

    @property
    def relu(self) -> TrialRecord | None:
        return next((t for t in self.complete if t.baseline), None)

    @property
    def bounds(self) -> tuple[float, float]:
        """The range the objective's values cannot leave, read from the values: [0, 1]
        when every one lies there (an accuracy, a rate), else (-inf, inf). Intervals are
        shown clipped to it (a mean's t interval knows nothing of an accuracy's ceiling)."""
        v = [float(x) for t in self.complete for x in t.values if math.isfinite(x)]
        if v and min(v) >= 0.0 and max(v) <= 1.0:
            return 0.0, 1.0
        return -math.inf, math.inf

    @property
    def summary(self) -> str:
        """The finding in one line, e.g. ``best slope 0.0123: 0.9601, ReLU 0.9542: no
        difference within ±0.01 (best - ReLU = +0.0059 [-0.0011, +0.0129], 95 % paired
        interval, 5 seeds)``."""
        if self.best_slope is None or self.best_value is None:
            return "no complete trial of a tuned slope yet"
        head = f"best slope {self.best_slope:.3g}: {self.best_value:.4g}"
        best = self.best
        if best is not None and best.ci_low is not None and best.ci_high is not None:
            floor, ceiling = self.bounds
            low, high = max(best.ci_low, floor), min(best.ci_high, ceiling)
            head += f" [{low:.4g}, {high:.4g}]"
        if self.relu_value is None:
            return head + " (no ReLU baseline in this study)"
        head += f", ReLU {self.relu_value:.4g}"
        if self.outcome == "one seed":
            return (
                f"{head}: one seed, so no comparison; comparing with ReLU needs at least "
                "2 seeds (the spread over seeds is what tells a difference from noise)"
            )
        v = self.comparison
        if v is None:
            return f"{head}: the two trials were measured on different seeds, so not compared"
        d = (
            f"best - ReLU = {v.effect:+.4g} [{v.ci_low:+.4g}, {v.ci_high:+.4g}], "
            f"{100 * v.confidence:g} % paired interval, {v.n} seeds"
        )
        if self.outcome == "better":
            return (
                f"{head}: better than ReLU ({d}, p = {v.p_value:.2g}); the slope was picked "
                "on these seeds, so confirm it on new ones"
            )
        if self.outcome == "worse":
            return f"{head}: ReLU is better ({d})"
        if self.outcome == "no difference":
            return f"{head}: no difference within ±{self.margin:g} ({d})"
        more = (
            f"needs about {v.seeds_needed} seeds"
            if v.seeds_needed is not None and v.seeds_needed > v.n
            else "the difference lies near the margin: more seeds would settle it"
        )
        return f"{head}: inconclusive, {more} ({d}; margin ±{self.margin:g})"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["comparison"] = None if self.comparison is None else self.comparison.to_dict()
        data["summary"] = self.summary
        return data


# --- options, checked before anything runs ----------------------------------------------


def _env_seconds(name: str, default: float) -> float:
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise TuneError(
            f"The environment variable {name} must be a number of seconds > 0, like 2 or 1.5. "
            f"Got {text!r} instead."
        )
    return value


def heartbeat_settings() -> tuple[float, float]:
    """(heartbeat, grace) in seconds, from ``LEAKY_TUNE_HEARTBEAT`` and ``LEAKY_TUNE_GRACE``.

    Optuna calls these integers but reads them as seconds (a wait and a time delta), so
    1.5 works. The grace must exceed the heartbeat, or live trials would look dead.
    """
    heartbeat = _env_seconds("LEAKY_TUNE_HEARTBEAT", DEFAULT_HEARTBEAT_S)
    grace = _env_seconds("LEAKY_TUNE_GRACE", DEFAULT_GRACE_S)
    if grace <= heartbeat:
        raise TuneError(
            f"LEAKY_TUNE_GRACE ({grace:g} s) must be longer than LEAKY_TUNE_HEARTBEAT "
            f"({heartbeat:g} s): a trial silent for the grace period is taken for dead."
        )
    return heartbeat, grace


def check_options(
    *,
    n_trials: Any,
    n_jobs: Any = 1,
    seeds: Any = (0,),
    low: Any = 1e-4,
    high: Any = 0.5,
    direction: Any = "maximize",
    margin: Any = DEFAULT_MARGIN,
    storage: Any = None,
    func: str = "tune_slope",
    names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Every option of ``tune_slope`` checked, as ``tune_slope`` itself checks them.

    ``leaky tune`` calls it before it imports the objective or creates any file, so that
    a bad option is one line before any work starts; ``names`` maps a parameter to the
    name the caller knows it by (``{"n_trials": "--trials"}``). Returns the canonical values.
    """
    names = names or {}

    def name(param: str) -> str:
        return names.get(param, param)

    seeds = _checks.seeds(seeds, func, name("seeds"))
    if storage is not None:
        if not isinstance(storage, str) or "://" not in storage:
            raise TuneError(
                "The storage must be an Optuna storage URL like 'sqlite:///leaky-tune/study.db' "
                f"or 'postgresql://user@host/db'. Got {display_url(storage)!r} instead."
            )
        parts = _url_parts(storage)
        if parts is not None and parts[1].count("@") > 1:
            raise TuneError(
                f"The storage URL {display_url(storage)!r} has more than one '@' before its "
                "host: write an '@' of the user name or password as %40."
            )
        heartbeat_settings()
    return {
        "n_trials": _checks.positive_int(n_trials, name("n_trials"), func),
        "n_jobs": _checks.positive_int(n_jobs, name("n_jobs"), func),
        "seeds": [_checks.seed(s, name("seeds"), func) for s in seeds],
        "low_high": _checks.slope_range(low, high, func, (name("low"), name("high"))),
        "direction": _checks.one_of(direction, name("direction"), func, ("maximize", "minimize")),
        "margin": _validate.positive_real(margin, name("margin"), func),
    }


# --- the storage ------------------------------------------------------------------------


_SECRET_PARAMETER = re.compile(r"pass|pwd|secret|token|credential|api_?key", re.IGNORECASE)
"""A query parameter of a storage URL whose value is hidden: password, sslpassword, passfile,
secret, token, ... (matched in the parameter's name)."""


def _url_parts(url: str) -> tuple[str, str, str, str] | None:
    """``(scheme://, user info, host and the rest before the query, query and fragment)``
    split by component as RFC 3986 does (the user info ends at the *last* '@' of the
    authority, as ``urllib.parse`` reads it); None for a string that is not a URL."""
    scheme, sep, rest = url.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        return None
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    userinfo, at, host = authority.rpartition("@")
    path, q, query = tail.partition("?")
    return scheme + sep, userinfo + at, host + path, q + query


def _url_secrets(url: str) -> list[str]:
    """The secret components of a storage URL: its password and the values of its
    password-like query parameters (as written and percent-decoded)."""
    parts = _url_parts(url)
    if parts is None:
        return []
    _, userinfo, _, query = parts
    secrets = []
    if ":" in userinfo:
        secrets.append(userinfo[:-1].partition(":")[2])
    for item in query[1:].split("#")[0].split("&"):
        name, eq, value = item.partition("=")
        if eq and _SECRET_PARAMETER.search(urllib.parse.unquote_plus(name)):
            secrets.append(value)
    found = [*secrets, *(urllib.parse.unquote_plus(v) for v in secrets)]
    return sorted({v for v in found if v}, key=len, reverse=True)


def display_url(url: Any) -> str:
    """A storage URL as it may be shown: its password and the values of its password-like
    query parameters (``password``, ``sslpassword``, ``secret``, ``token``...) hidden as
    ``***``, component by component; everything else as written.

    Examples:
        >>> display_url("postgresql://alice:S3cretPw@db.example/leaky?sslpassword=x&sslmode=require")
        'postgresql://alice:***@db.example/leaky?sslpassword=***&sslmode=require'
        >>> display_url("postgresql://bob:p@ss@db.example/leaky")  # the last '@' ends it
        'postgresql://bob:***@db.example/leaky'
    """
    if not isinstance(url, str):
        return repr(url)
    parts = _url_parts(url)
    if parts is None:  # not a URL: show nothing before an "@" (it may hold credentials)
        return "***@" + url.rsplit("@", 1)[1] if "@" in url else url
    scheme, userinfo, host_path, query = parts
    if ":" in userinfo:
        userinfo = userinfo.partition(":")[0] + ":***@"
    if query:
        query, hash_, fragment = query[1:].partition("#")
        items = []
        for item in query.split("&"):
            name, eq, _ = item.partition("=")
            secret = eq and _SECRET_PARAMETER.search(urllib.parse.unquote_plus(name))
            items.append(f"{name}=***" if secret else item)
        query = "?" + "&".join(items) + hash_ + fragment
    return scheme + userinfo + host_path + query


def _secret_free(text: str, url: str, *also: str) -> str:
    """``text`` (a driver's error) with the storage URL shown as ``display_url`` shows it,
    and any of its secret components that the error repeats on their own hidden too (a
    whole token only: a password ``p`` does not hide the p of "port")."""
    shown = display_url(url)
    for written in sorted({url, *also}, key=len, reverse=True):
        text = text.replace(written, shown)
    for secret in _url_secrets(url):
        token = rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])"
        text = re.sub(token, "***", text)
    return text


def _storage(url: str | None) -> Any:
    import optuna

    if url is None:
        return optuna.storages.InMemoryStorage()
    if not isinstance(url, str) or "://" not in url:
        raise TuneError(
            "The storage must be an Optuna storage URL like 'sqlite:///leaky-tune/study.db' or "
            f"'postgresql://user@host/db'. Got {display_url(url)!r} instead."
        )
    shown = display_url(url)
    engine_url = url
    if url.startswith(("postgresql://", "postgres://")):
        # SQLAlchemy's default PostgreSQL driver is psycopg2; leaky installs psycopg 3.
        engine_url = "postgresql+psycopg://" + url.split("://", 1)[1]
    heartbeat, grace = heartbeat_settings()
    for attempt in range(_OPEN_ATTEMPTS):
        try:
            with warnings.catch_warnings():  # heartbeats are marked experimental; tests pin them
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    engine_url,
                    heartbeat_interval=heartbeat,  # type: ignore[arg-type]  # seconds; 1.5 works
                    grace_period=grace,  # type: ignore[arg-type]
                    heartbeat_stale_trial_callback=_retry_callback(),
                )
        except Exception as err:  # sqlalchemy's errors for a bad or unreachable URL
            if _creation_race(err) and attempt < _OPEN_ATTEMPTS - 1:
                # Workers starting together on a new database race to create Optuna's
                # tables; the losers see "already exists" or a duplicate version row. The
                # winner is creating them: wait for it, then open the storage again.
                time.sleep(0.1 * (attempt + 1) + 0.05 * (os.getpid() % 5))
                continue
            text = str(err).strip()
            first = text.splitlines()[0] if text else type(err).__name__
            # A URL SQLAlchemy cannot read (or a driver it lacks) is the input's fault; a
            # server that does not answer, a refused login or an unwritable file is not.
            bad_url = isinstance(err, ValueError) or type(err).__name__ in (
                "ArgumentError",
                "NoSuchModuleError",
            )
            raise (TuneError if bad_url else StorageError)(
                f"Cannot open the storage {shown}: {_secret_free(first, url, engine_url)}"
            ) from None
    raise AssertionError("unreachable")


def _creation_race(err: Exception) -> bool:
    """True for the errors two workers hit when creating the same tables at once.

    Opening a storage only creates Optuna's tables and its version row, so a duplicate
    key (tables, types or the version row), an existing table, or (SQLite) a database
    locked by the worker creating them can only be that race. Measured on SQLite with
    six workers starting at once: ``table studies already exists`` (OperationalError),
    ``UNIQUE constraint failed: alembic_version.version_num`` (IntegrityError).
    """
    try:
        from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
    except ImportError:  # pragma: no cover - sqlalchemy comes with optuna
        return False
    text = str(err)
    duplicate = isinstance(err, IntegrityError) and (
        "duplicate key" in text or "UNIQUE constraint failed" in text
    )
    exists = isinstance(err, (ProgrammingError, OperationalError)) and "already exists" in text
    locked = isinstance(err, OperationalError) and "database is locked" in text
    return duplicate or exists or locked


def _retry_callback() -> Any:
    """Optuna's retry of failed trials (marked experimental; leaky's tests pin it)."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)


def objective_id(objective: Callable[..., Any]) -> str:
    """The name a study remembers its objective by: ``module:qualname``.

    Examples:
        >>> from leaky.lab.experiments.objectives import digits_mlp
        >>> objective_id(digits_mlp)
        'leaky.lab.experiments.objectives:digits_mlp'
    """
    module = getattr(objective, "__module__", None) or type(objective).__module__
    name = getattr(objective, "__qualname__", None) or type(objective).__qualname__
    return f"{module}:{name}"


def _open_study(
    storage: Any, name: str, direction: str, sampler_seed: int, seeds: list[int], objective: str
) -> Any:
    import optuna

    sampler = optuna.samplers.TPESampler(seed=sampler_seed)
    try:
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler)
    except KeyError:
        try:
            study = optuna.create_study(
                study_name=name,
                storage=storage,
                sampler=sampler,
                direction=optuna.study.StudyDirection[direction.upper()],
            )
            study.set_user_attr("seeds", seeds)
            study.set_user_attr("objective", objective)
            return study
        except optuna.exceptions.DuplicatedStudyError:  # another worker created it first
            study = optuna.load_study(study_name=name, storage=storage, sampler=sampler)
    existing = study.direction.name.lower()
    if existing != direction:
        raise TuneError(
            f"The study {name!r} already exists with direction {existing!r}; this run asks "
            f"for {direction!r}. Use another --study name or the same direction."
        )
    _check_same(study, name, "seeds", seeds, _stored_seeds(study))
    _check_same(study, name, "objective", objective, study.user_attrs.get("objective"))
    return study


def _stored_seeds(study: Any) -> list[int] | None:
    """The study's seeds; for a study made before they were stored, those of its trials."""
    if "seeds" in study.user_attrs:
        return list(study.user_attrs["seeds"])
    for t in study.get_trials(deepcopy=False):
        if "seeds" in t.user_attrs:
            return list(t.user_attrs["seeds"])
    return None


def _check_same(study: Any, name: str, what: str, given: Any, stored: Any) -> None:
    if stored is None:  # a study made before leaky stored it: it is this run's from now on
        study.set_user_attr(what, given)
        return
    if stored != given:
        shown = (lambda v: ",".join(map(str, v))) if what == "seeds" else str
        raise TuneError(
            f"The study {name!r} was run with {what} {shown(stored)}; this run gives "
            f"{shown(given)}. Resuming would mix trials measured differently: use another "
            f"--study name or the same {what}."
        )


def _retry_interrupted(study: Any) -> None:
    """Re-enqueue trials failed by an interruption (Ctrl-C), not by the objective itself."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    retried = {n for t in trials for n in t.system_attrs.get("retry_history", [])}
    for t in trials:
        interrupted = t.state == TrialState.FAIL and "fail_reason" not in t.user_attrs
        if interrupted and t.number not in retried:
            _retry_callback()(study, t)


def _done(t: Any) -> bool:
    """A complete trial that counts: its value is a finite number."""
    from optuna.trial import TrialState

    return t.state == TrialState.COMPLETE and t.value is not None and math.isfinite(t.value)


def _failed(t: Any) -> bool:
    """A trial the objective failed (or a non-finite value an older leaky stored)."""
    from optuna.trial import TrialState

    legacy = t.state == TrialState.COMPLETE and not _done(t)
    return "fail_reason" in t.user_attrs or legacy


def _nonfinite(value: float) -> str:
    return "NaN" if math.isnan(value) else ("inf" if value > 0 else "-inf")


class _Objective:
    """Wraps ``objective(slope, seed)``: baseline, seeds, admission, failure reasons."""

    def __init__(
        self,
        objective: Callable[[float, int], float],
        seeds: Sequence[int],
        low: float,
        high: float,
        include_relu: bool,
        n_trials: int,
        stop: threading.Event | None = None,
    ) -> None:
        self.objective = objective
        self.seeds = list(seeds)
        self.low, self.high = low, high
        self.include_relu = include_relu
        self.n_trials = n_trials
        self.stop = stop or threading.Event()
        self.running: set[int] = set()  # trial ids this process is running now
        self.lock = threading.Lock()

    def __call__(self, trial: Any) -> float:
        with self.lock:
            self.running.add(trial._trial_id)
        try:
            return self._run(trial)
        finally:
            with self.lock:
                self.running.discard(trial._trial_id)

    def _run(self, trial: Any) -> float:
        import optuna
        from optuna.trial import TrialState

        if self.stop.is_set():
            raise _Stopped("stopped before the trial began")
        trials = trial.study.get_trials(deepcopy=False)
        live = sorted(
            t.number
            for t in trials
            if _done(t) or t.state in (TrialState.RUNNING, TrialState.WAITING)
        )
        if trial.number in live and live.index(trial.number) >= self.n_trials:
            trial.set_user_attr("surplus", True)
            raise optuna.TrialPruned("the study already has enough trials")
        mine = next(t for t in trials if t.number == trial.number)
        origin = mine.system_attrs.get("failed_trial", trial.number)
        baseline = self.include_relu and origin == 0
        if baseline:
            slope = 0.0
            trial.set_user_attr("baseline", True)
        else:
            slope = trial.suggest_float("slope", self.low, self.high, log=True)
        trial.set_user_attr("slope", slope)
        values = []
        for seed in self.seeds:
            if self.stop.is_set():
                raise _Stopped("stopped between seeds")  # no fail_reason: retried next run
            try:
                with one_thread():  # one trial per core: torch and BLAS on one thread
                    value = float(self.objective(slope, seed))
            except Exception as err:  # the user's code: recorded on the trial, study goes on
                return self._fail(trial, f"seed {seed}: {type(err).__name__}: {err}")
            except SystemExit as err:  # sys.exit() in the objective ends the trial, not leaky
                return self._fail(
                    trial, f"seed {seed}: the objective called sys.exit({err.code!r})"
                )
            if not math.isfinite(value):
                return self._fail(trial, f"seed {seed}: the objective returned {_nonfinite(value)}")
            values.append(value)
        trial.set_user_attr("values", values)
        trial.set_user_attr("seeds", self.seeds)
        return statistics.fmean(values)

    @staticmethod
    def _fail(trial: Any, reason: str) -> float:
        trial.set_user_attr("fail_reason", reason)
        return math.nan  # Optuna marks a NaN trial failed (one log line, no trace)

    def abandon(self, storage: Any) -> None:
        """Mark the trials this process is running as failed: the next run retries them."""
        import optuna
        from optuna.trial import TrialState

        with self.lock:
            ids = sorted(self.running)
        for trial_id in ids:
            # a trial that finished meanwhile has nothing to retry
            with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):
                storage.set_trial_state_values(trial_id, TrialState.FAIL)


# --- the summary ------------------------------------------------------------------------


def _mean_interval(values: Sequence[float]) -> tuple[float | None, float | None]:
    """The 95 % t interval of the mean over seeds (None with one seed: no spread)."""
    from leaky.lab.stats import mean_interval

    r = mean_interval(values)
    return (None, None) if math.isnan(r.low) else (r.low, r.high)


def _record(t: Any) -> TrialRecord:
    values = list(t.user_attrs.get("values", []))
    low, high = _mean_interval(values) if _done(t) else (None, None)
    legacy = not _done(t) and _failed(t) and "fail_reason" not in t.user_attrs
    return TrialRecord(
        number=t.number,
        state="FAIL" if legacy else t.state.name,
        slope=t.user_attrs.get("slope"),
        value=t.value if _done(t) else None,
        values=values if _done(t) else [],
        seeds=list(t.user_attrs.get("seeds", [])),
        ci_low=low,
        ci_high=high,
        baseline=bool(t.user_attrs.get("baseline", False)),
        fail_reason=(
            f"the objective returned {_nonfinite(t.value)} (stored as complete by an older leaky)"
            if legacy and t.value is not None
            else t.user_attrs.get("fail_reason")
        ),
        retry_of=t.system_attrs.get("failed_trial"),
    )


def _compare(
    best: TrialRecord, relu: TrialRecord, direction: str, margin: float
) -> tuple[Any, str]:
    """The paired verdict on "best beats ReLU", and the outcome in a word."""
    from leaky.lab import verdicts

    if len(best.values) < 2 or len(relu.values) < 2:
        return None, "one seed"
    if best.seeds != relu.seeds or len(best.values) != len(relu.values):
        return None, "different seeds"
    kind = verdicts.GREATER if direction == "maximize" else verdicts.LESS
    higher = "higher" if kind == verdicts.GREATER else "lower"
    verdict = verdicts.judge(
        verdicts.compare(
            best.values,
            relu.values,
            claim=f"slope {best.slope:.3g} gives a {higher} objective than ReLU",
            measure="objective",
            margin=margin,
            kind=kind,
        )
    )
    if verdict.verdict == verdicts.SUPPORTED:
        return verdict, "better"
    if verdict.verdict == verdicts.NOT_SUPPORTED:
        opposite = verdict.ci_high < 0 if kind == verdicts.GREATER else verdict.ci_low > 0
        return verdict, "worse" if opposite else "no difference"
    return verdict, "inconclusive"


def summarize(
    study: Any,
    n_trials: int,
    *,
    margin: float = DEFAULT_MARGIN,
    storage: str | None = None,
) -> TuneResult:
    """The result of a study as any reader of its storage sees it.

    ``storage`` is only shown (its password hidden). The best slope is compared with the
    ReLU baseline seed by seed (``leaky.lab.verdicts.compare``), ``margin`` being the smallest
    difference that matters in the objective's unit.
    """
    records = [
        _record(t) for t in study.get_trials(deepcopy=False) if not t.user_attrs.get("surplus")
    ]
    direction = study.direction.name.lower()
    done = [r for r in records if r.state == "COMPLETE"]
    tuned = [r for r in done if not r.baseline]
    pick = max if direction == "maximize" else min
    best = pick(tuned, key=lambda r: float(r.value or 0.0)) if tuned else None  # all finite
    relu = next((r for r in done if r.baseline), None)
    comparison, outcome = _compare(best, relu, direction, margin) if best and relu else (None, None)

    def spread(r: TrialRecord | None) -> float | None:
        return statistics.stdev(r.values) if r is not None and len(r.values) > 1 else None

    seeds = _stored_seeds(study)
    return TuneResult(
        study_name=study.study_name,
        storage=None if storage is None else display_url(storage),
        objective=study.user_attrs.get("objective"),
        direction=direction,
        n_trials=n_trials,
        seeds=seeds,
        margin=margin,
        best_slope=best.slope if best else None,
        best_value=best.value if best else None,
        best_std=spread(best),
        relu_value=relu.value if relu else None,
        relu_std=spread(relu),
        comparison=comparison,
        outcome=outcome,
        trials=records,
    )


# --- the study --------------------------------------------------------------------------


def tune_slope(
    objective: Callable[[float, int], float],
    *,
    n_trials: int,
    storage: str | None = None,
    study_name: str | None = None,
    seeds: Sequence[int] = (0,),
    low: float = 1e-4,
    high: float = 0.5,
    include_relu: bool = True,
    direction: str = "maximize",
    margin: float = DEFAULT_MARGIN,
    n_jobs: int = 1,
    sampler_seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> TuneResult:
    """Tune the negative slope with Optuna; see the module docstring for the guarantees.

    Args:
        objective: ``objective(negative_slope, seed) -> float``, the user's training and
            validation, for example ``leaky.lab.experiments.objectives.digits_mlp``.
        n_trials: the number of complete trials the study must reach (the ReLU baseline
            included); a resumed study runs only the ones missing.
        storage: None (in memory) or an Optuna storage URL (SQLite, PostgreSQL).
        study_name: the study's name in the storage (default ``"leaky-slope"``).
        seeds: each trial averages the objective over these seeds (every trial the same
            seeds, so that trials compare seed by seed); at least 2 for a comparison.
        low: the lower end of the log-uniform search range, 0 < low < high.
        high: its upper end, high <= 1.
        include_relu: evaluate slope 0 (plain ReLU) as the baseline trial.
        direction: ``"maximize"`` or ``"minimize"``.
        margin: the smallest difference of the objective that matters (> 0): the best
            slope and ReLU closer than this are "no different".
        n_jobs: trials run at once in this process (daemon threads; see Ctrl-C above).
        sampler_seed: the TPE sampler's seed (mixed with the process id when ``storage``
            is given, so that workers sharing a study explore different slopes).
        progress: called with (complete trials, n_trials) as the study advances.

    Returns:
        A ``TuneResult``: the best slope, the ReLU baseline, their paired comparison and
        every trial.

    Raises:
        TuneError: a storage that cannot be opened, a study resumed with another
            direction, seeds or objective, or more than ``n_trials`` failed trials.
        TuneInterrupted: Ctrl-C (a ``KeyboardInterrupt``).

    Examples:
        >>> result = tune_slope(lambda a, seed: -abs(a - 0.1), n_trials=8, seeds=(0,))
        >>> len(result.complete), result.relu_value
        (8, -0.1)
    """
    import optuna

    options = check_options(
        n_trials=n_trials,
        n_jobs=n_jobs,
        seeds=seeds,
        low=low,
        high=high,
        direction=direction,
        margin=margin,
        storage=storage,
    )
    if not callable(objective):
        raise TypeError(
            "The 'objective' parameter of tune_slope must be callable as "
            f"objective(negative_slope, seed). Got {type(objective).__name__} instead."
        )
    if storage is not None:
        # Workers sharing a storage must not draw the same slopes: mix in the process id.
        # (An in-memory study has one worker, and stays reproducible for a given seed.)
        sampler_seed = hash((sampler_seed, os.getpid())) % 2**31
    store = _storage(storage)
    try:
        study = _open_study(
            store,
            study_name or "leaky-slope",
            options["direction"],
            sampler_seed,
            options["seeds"],
            objective_id(objective),
        )
        low, high = options["low_high"]
        wrapped = _Objective(
            objective, options["seeds"], low, high, include_relu, options["n_trials"]
        )
        _run(study, store, wrapped, options["n_trials"], options["n_jobs"], progress)
        return summarize(study, options["n_trials"], margin=options["margin"], storage=storage)
    finally:
        if isinstance(store, optuna.storages.RDBStorage):
            store.engine.dispose()  # close the pooled connections: nothing is left open


def _run(
    study: Any,
    store: Any,
    wrapped: _Objective,
    n_trials: int,
    n_jobs: int,
    progress: Callable[[int, int], None] | None,
) -> None:
    """The workers' loop (see the module docstring)."""
    import optuna
    from optuna.trial import TrialState

    _retry_interrupted(study)
    failures: list[str] = []
    lock = threading.Lock()
    stop = wrapped.stop

    def worker() -> None:
        while not stop.is_set():
            trials = study.get_trials(deepcopy=False)
            states = [t.state for t in trials]
            complete = sum(_done(t) for t in trials)
            if progress is not None:
                with lock:
                    progress(min(complete, n_trials), n_trials)
            if complete >= n_trials:
                return
            failed = [t for t in trials if _failed(t)]
            if len(failed) > n_trials:
                with lock:
                    failures.append(_record(failed[-1]).fail_reason or "unknown")
                return
            live = complete + states.count(TrialState.RUNNING)
            if live + states.count(TrialState.WAITING) >= n_trials and (
                TrialState.WAITING not in states
            ):
                # the last trials run elsewhere: wait for them, or for them to go stale
                with warnings.catch_warnings():  # marked experimental; tests pin it
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    optuna.storages.fail_stale_trials(study)
                stop.wait(0.25)
                continue
            try:
                study.optimize(wrapped, n_trials=1)
            except (ValueError, optuna.exceptions.UpdateFinishedTrialError) as err:
                # Optuna found the trial already finished when it came to tell it: on SQLite
                # two worker threads can pop the same re-enqueued (WAITING) trial, since its
                # row lock does not exist there, and the second tell loses. The trial is
                # stored once, complete; the loop counts the stored trials again. Anything
                # else is raised.
                finished = isinstance(err, optuna.exceptions.UpdateFinishedTrialError)
                if not (finished or str(err).startswith("Cannot tell a ")):
                    raise

    if n_jobs == 1:
        try:
            worker()  # Ctrl-C interrupts the objective itself; Optuna marks its trial failed
        except KeyboardInterrupt:
            wrapped.abandon(store)  # in case it came between the objective and Optuna's tell
            raise TuneInterrupted(0) from None
    else:
        errors: list[BaseException] = []

        def guarded() -> None:
            try:
                worker()
            except _Stopped:
                pass
            except BaseException as err:  # handed to the caller below, not lost in a thread
                if not stop.is_set():
                    errors.append(err)

        threads = [
            threading.Thread(target=guarded, name=f"leaky-tune-{k}", daemon=True)
            for k in range(n_jobs)
        ]
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        except KeyboardInterrupt:
            stop.set()
            wrapped.abandon(store)
            deadline = time.monotonic() + _JOIN_ON_STOP_S
            for t in threads:
                t.join(max(0.0, deadline - time.monotonic()))
            raise TuneInterrupted(sum(t.is_alive() for t in threads)) from None
        if errors:
            raise errors[0]
    if failures:
        raise TuneError(
            f"The objective failed in more than {n_trials} trials; the last reason: {failures[-1]}"
        )
