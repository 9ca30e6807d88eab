"""User objectives run on one thread per job (``leaky.lab._threads.one_thread``).

A small objective with PyTorch's default pools ran 30x slower under ``leaky compare``'s
jobs (every job's pool spread over every core). These tests time nothing: they read the
thread counts inside the objective and after it.
"""

from __future__ import annotations

import threading

import torch
from threadpoolctl import threadpool_info

from leaky.lab import compare
from leaky.lab._threads import one_thread
from leaky.lab.tune import tune_slope

SEEN: list[tuple[int, list[int], list[int]]] = []


def recording(slope: float, seed: int) -> float:
    """An objective that records torch's, the OpenMP and the BLAS pools' threads inside it."""
    info = threadpool_info()
    SEEN.append(
        (
            torch.get_num_threads(),
            [p["num_threads"] for p in info if p["user_api"] == "openmp"],
            [p["num_threads"] for p in info if p["user_api"] == "blas"],
        )
    )
    return slope + 0.01 * seed


def test_compare_runs_the_users_objective_on_one_thread_and_restores_after() -> None:
    SEEN.clear()
    torch.set_num_threads(2)
    value = compare.evaluate({"objective": f"{__name__}:recording", "slope": 0.1, "seed": 1})
    assert value == {"value": 0.11}
    ((threads, openmp, blas),) = SEEN
    assert threads == 1 and set(openmp) <= {1} and set(blas) <= {1}
    assert torch.get_num_threads() == 2


def test_tune_runs_every_trial_on_one_thread_even_from_several_threads() -> None:
    SEEN.clear()
    torch.set_num_threads(2)
    tune_slope(recording, n_trials=6, seeds=(0, 1), n_jobs=2)
    assert SEEN and all(t == 1 and set(openmp) <= {1} for t, openmp, _ in SEEN)
    assert torch.get_num_threads() == 2


def test_each_thread_pins_and_restores_its_own() -> None:
    torch.set_num_threads(2)
    inside, release = threading.Event(), threading.Event()
    seen: list[int] = []

    def hold() -> None:
        with one_thread():
            seen.append(torch.get_num_threads())
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=hold)
    worker.start()
    inside.wait(10)
    with one_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2  # this thread's own setting, restored
    release.set()
    worker.join(10)
    assert seen == [1] and torch.get_num_threads() == 2
