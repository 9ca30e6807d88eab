"""Slope tuning on Optuna: resumable, and shareable by many workers through one storage.

``tune_slope`` runs an Optuna study over the negative slope: log-uniform in [low, high]
(TPE sampler), plus plain ReLU (slope 0) as the baseline every study compares against.
Each trial averages the user's ``objective(negative_slope, seed)`` over ``seeds``.

- **Storage**: in memory by default (the API), or any Optuna storage URL: SQLite
  (``sqlite:///leaky-tune.db``, what ``leaky tune`` uses by default) for one machine,
  PostgreSQL (``postgresql://...``) for many workers on many machines.
- **Resume**: ``n_trials`` is the number of *complete* trials the study must reach. Run the
  same call again after an interruption and it continues: complete trials are kept; a
  trial cut by Ctrl-C or ``kill -9`` is marked failed (Optuna's heartbeat for a killed
  worker) and retried with the same slope (``RetryHeartbeatStaleTrialCallback``).
- **Many workers**: every worker runs the same loop against the shared storage. A trial
  is admitted only if it ranks within the first ``n_trials`` live trials (complete,
  running or waiting, by trial number), so the study ends with exactly ``n_trials``
  complete trials however many workers race for the last ones; a trial that loses that
  race is pruned at once (user attribute ``surplus``) and never counted.
- **Failures**: an objective that raises or returns NaN fails that trial, with the reason
  in the user attribute ``fail_reason``; the study goes on (and stops with an error if
  more than ``n_trials`` trials fail that way).

The ReLU baseline is trial 0 of a study (or a retry of it): trial numbers are unique in a
storage, so exactly one baseline exists however many workers start at once.
"""

from __future__ import annotations

import math
import os
import statistics
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from leaky import _validate

# A worker's running trial sends a heartbeat every HEARTBEAT_S seconds; one silent for
# GRACE_S seconds belongs to a dead worker: it is failed, then retried.
HEARTBEAT_S = int(os.environ.get("LEAKY_TUNE_HEARTBEAT", 2))
GRACE_S = int(os.environ.get("LEAKY_TUNE_GRACE", 6))
MAX_RETRY = 3


class TuneError(ValueError):
    """A problem with the study or its storage, in one line."""


@dataclass
class TrialRecord:
    number: int
    state: str
    slope: float | None
    value: float | None
    values: list[float] = field(default_factory=list)
    baseline: bool = False
    fail_reason: str | None = None
    retry_of: int | None = None


@dataclass
class TuneResult:
    """What a study found: the best slope, the ReLU baseline, and every trial."""

    study_name: str
    direction: str
    n_trials: int
    best_slope: float | None
    best_value: float | None
    best_std: float | None
    relu_value: float | None
    relu_std: float | None
    trials: list[TrialRecord]

    @property
    def complete(self) -> list[TrialRecord]:
        return [t for t in self.trials if t.state == "COMPLETE"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _storage(url: str | None) -> Any:
    import optuna

    if url is None:
        return optuna.storages.InMemoryStorage()
    if isinstance(url, str) and url.startswith(("postgresql://", "postgres://")):
        # SQLAlchemy's default PostgreSQL driver is psycopg2; leaky installs psycopg 3.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not isinstance(url, str) or "://" not in url:
        raise TuneError(
            f"The storage must be an Optuna storage URL like 'sqlite:///leaky-tune.db' or "
            f"'postgresql://user@host/db'. Got {url!r} instead."
        )
    for attempt in range(5):
        try:
            with warnings.catch_warnings():  # heartbeats are marked experimental; tests pin them
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(
                    url,
                    heartbeat_interval=HEARTBEAT_S,
                    grace_period=GRACE_S,
                    heartbeat_stale_trial_callback=_retry_callback(),
                )
        except Exception as err:  # sqlalchemy's errors for a bad or unreachable URL
            if _creation_race(err) and attempt < 4:
                # Workers starting together on a new PostgreSQL database race to create
                # Optuna's tables; the loser sees a unique violation. The tables exist now.
                time.sleep(0.2 * (attempt + 1))
                continue
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise TuneError(f"Cannot open the storage {url!r}: {first}") from None
    raise AssertionError("unreachable")


def _creation_race(err: Exception) -> bool:
    """True for the errors two workers hit when creating the same tables at once.

    Opening a storage only creates Optuna's tables and its version row, so a duplicate
    key (tables, types or the version row) or an existing table can only be that race.
    """
    try:
        from sqlalchemy.exc import IntegrityError, ProgrammingError
    except ImportError:
        return False
    duplicate = isinstance(err, IntegrityError) and "duplicate key" in str(err)
    exists = isinstance(err, ProgrammingError) and "already exists" in str(err)
    return duplicate or exists


def _retry_callback() -> Any:
    """Optuna's retry of failed trials (marked experimental; leaky's tests pin it)."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)


def _open_study(storage: Any, name: str, direction: str, sampler_seed: int) -> Any:
    import optuna

    sampler = optuna.samplers.TPESampler(seed=sampler_seed)
    try:
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler)
    except KeyError:
        try:
            return optuna.create_study(
                study_name=name, storage=storage, sampler=sampler, direction=direction
            )
        except optuna.exceptions.DuplicatedStudyError:  # another worker created it first
            study = optuna.load_study(study_name=name, storage=storage, sampler=sampler)
    existing = study.direction.name.lower()
    if existing != direction:
        raise TuneError(
            f"The study {name!r} already exists with direction {existing!r}; this run asks "
            f"for {direction!r}. Use another --study name or the same direction."
        )
    return study


def _retry_interrupted(study: Any) -> None:
    """Re-enqueue trials failed by an interruption (Ctrl-C), not by the objective itself."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    retried = {n for t in trials for n in t.system_attrs.get("retry_history", [])}
    for t in trials:
        interrupted = t.state == TrialState.FAIL and "fail_reason" not in t.user_attrs
        if interrupted and t.number not in retried:
            _retry_callback()(study, t)


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
    ) -> None:
        self.objective = objective
        self.seeds = list(seeds)
        self.low, self.high = low, high
        self.include_relu = include_relu
        self.n_trials = n_trials

    def __call__(self, trial: Any) -> float:
        import optuna
        from optuna.trial import TrialState

        trials = trial.study.get_trials(deepcopy=False)
        live_states = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING)
        live = sorted(t.number for t in trials if t.state in live_states)
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
            try:
                value = float(self.objective(slope, seed))
            except Exception as err:  # the user's code: recorded on the trial, study goes on
                trial.set_user_attr("fail_reason", f"seed {seed}: {type(err).__name__}: {err}")
                return math.nan  # Optuna marks a NaN trial failed (one log line, no trace)
            if math.isnan(value):
                trial.set_user_attr("fail_reason", f"seed {seed}: the objective returned NaN")
                return math.nan
            values.append(value)
        trial.set_user_attr("values", values)
        trial.set_user_attr("seeds", self.seeds)
        return statistics.fmean(values)


def summarize(study: Any, n_trials: int) -> TuneResult:
    """The result of a study as any reader of its storage sees it."""
    from optuna.trial import TrialState

    records = []
    for t in study.get_trials(deepcopy=False):
        if t.user_attrs.get("surplus"):
            continue
        records.append(
            TrialRecord(
                number=t.number,
                state=t.state.name,
                slope=t.user_attrs.get("slope"),
                value=t.value if t.state == TrialState.COMPLETE else None,
                values=list(t.user_attrs.get("values", [])),
                baseline=bool(t.user_attrs.get("baseline", False)),
                fail_reason=t.user_attrs.get("fail_reason"),
                retry_of=t.system_attrs.get("failed_trial"),
            )
        )
    direction = study.direction.name.lower()
    done = [r for r in records if r.state == "COMPLETE"]
    tuned = [r for r in done if not r.baseline]
    pick = max if direction == "maximize" else min
    best = pick(tuned, key=lambda r: r.value) if tuned else None
    relu = next((r for r in done if r.baseline), None)

    def spread(r: TrialRecord | None) -> float | None:
        if r is None:
            return None
        return statistics.stdev(r.values) if len(r.values) > 1 else 0.0

    return TuneResult(
        study_name=study.study_name,
        direction=direction,
        n_trials=n_trials,
        best_slope=best.slope if best else None,
        best_value=best.value if best else None,
        best_std=spread(best),
        relu_value=relu.value if relu else None,
        relu_std=spread(relu),
        trials=records,
    )


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
        seeds: each trial averages the objective over these seeds.
        low, high: the log-uniform search range, 0 < low < high <= 1.
        include_relu: evaluate slope 0 (plain ReLU) as the baseline trial.
        direction: ``"maximize"`` or ``"minimize"``.
        n_jobs: trials run at once in this process (threads).
        sampler_seed: the TPE sampler's seed (mixed with the process id when ``storage``
            is given, so that workers sharing a study explore different slopes).
        progress: called with (complete trials, n_trials) as the study advances.

    Returns:
        A ``TuneResult``: best slope, its mean and spread over seeds, the ReLU baseline,
        every trial.

    Example:
        >>> result = tune_slope(lambda a, seed: -abs(a - 0.1), n_trials=8, seeds=(0,))
        >>> len(result.complete), result.relu_value
        (8, -0.1)
    """
    import optuna

    n_trials = _validate.positive_int(n_trials, "n_trials", "tune_slope")
    n_jobs = _validate.positive_int(n_jobs, "n_jobs", "tune_slope")
    low, high = _validate.slope_range(low, high, "tune_slope")
    seeds = _validate.seeds(seeds, "tune_slope")
    if direction not in ("maximize", "minimize"):
        raise ValueError(
            "The 'direction' parameter of tune_slope must be 'maximize' or 'minimize'. "
            f"Got {direction!r} instead."
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
        study = _open_study(store, study_name or "leaky-slope", direction, sampler_seed)
        return _run(study, objective, n_trials, seeds, low, high, include_relu, n_jobs, progress)
    finally:
        if isinstance(store, optuna.storages.RDBStorage):
            store.engine.dispose()  # close the pooled connections: nothing is left open


def _run(
    study: Any,
    objective: Callable[[float, int], float],
    n_trials: int,
    seeds: list[int],
    low: float,
    high: float,
    include_relu: bool,
    n_jobs: int,
    progress: Callable[[int, int], None] | None,
) -> TuneResult:
    """The workers' loop (see the module docstring), then the summary."""
    import optuna
    from optuna.trial import TrialState

    _retry_interrupted(study)
    wrapped = _Objective(objective, seeds, low, high, include_relu, n_trials)
    failures: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        while True:
            trials = study.get_trials(deepcopy=False)
            states = [t.state for t in trials]
            complete = states.count(TrialState.COMPLETE)
            if progress is not None:
                with lock:
                    progress(min(complete, n_trials), n_trials)
            if complete >= n_trials:
                return
            failed = [t for t in trials if "fail_reason" in t.user_attrs]
            if len(failed) > n_trials:
                with lock:
                    failures.append(failed[-1].user_attrs["fail_reason"])
                return
            live = complete + states.count(TrialState.RUNNING)
            if live + states.count(TrialState.WAITING) >= n_trials and (
                TrialState.WAITING not in states
            ):
                # the last trials run elsewhere: wait for them, or for them to go stale
                with warnings.catch_warnings():  # marked experimental; tests pin it
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    optuna.storages.fail_stale_trials(study)
                time.sleep(0.25)
                continue
            study.optimize(wrapped, n_trials=1)

    if n_jobs == 1:
        worker()
    else:
        errors: list[BaseException] = []

        def guarded() -> None:
            try:
                worker()
            except BaseException as err:  # handed to the caller below, not lost in a thread
                errors.append(err)

        threads = [threading.Thread(target=guarded) for _ in range(n_jobs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
    if failures:
        raise TuneError(
            f"The objective failed in more than {n_trials} trials; the last reason: {failures[-1]}"
        )
    return summarize(study, n_trials)
