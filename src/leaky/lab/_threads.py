"""One thread per job: the one home of "this work runs on one core".

The lab runs one job per core (local processes, Dask workers, ``leaky tune``'s threads); a
job whose PyTorch or BLAS pool spreads over every core fights the others (a user's small
objective ran 30x slower with the default pools: 40 evaluations in 10 min 31 s instead of
20 s). ``one_thread()`` pins, for a block, torch's intra-op threads and the OpenMP and BLAS
pools threadpoolctl knows to one thread, and restores them after.

Under OpenMP (PyTorch's CPU backend) a thread count is a setting of each calling thread,
so every thread that enters pins and restores its own (``leaky tune --jobs N`` runs trials
in threads). A BLAS library (OpenBLAS) keeps its own count: every thread that enters pins
it and the last one to leave restores it. (With several threads inside at once, the
OpenBLAS that SciPy ships was seen to report its original count to one of them now and
then: BLAS is pinned for one job at a time, best effort for several; torch's pool, which
is what a training objective runs on, is pinned in every thread.)
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

_lock = threading.Lock()
_blas_users = 0
_blas_saved: Any = None  # the first entrant's limits: what the last one out restores


def _limits(user_api: str) -> Any:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with the lab extra
        return None
    return threadpool_limits(limits=1, user_api=user_api)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run the block with one intra-op thread (torch, OpenMP, BLAS); restore them after.

    Examples:
        >>> import torch
        >>> before = torch.get_num_threads()
        >>> with one_thread():
        ...     torch.get_num_threads()
        1
        >>> torch.get_num_threads() == before
        True
    """
    global _blas_users, _blas_saved
    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch is not None else None
    openmp = _limits("openmp")  # this thread's own
    if torch is not None:
        torch.set_num_threads(1)
    with _lock:
        blas = _limits("blas")  # pinned again by every entrant (a per-thread build too)
        if _blas_users == 0:
            _blas_saved = blas
        _blas_users += 1
    try:
        yield
    finally:
        with _lock:
            _blas_users -= 1
            if _blas_users == 0 and _blas_saved is not None:
                _blas_saved.restore_original_limits()
                _blas_saved = None
        if openmp is not None:
            openmp.restore_original_limits()
        if torch is not None and threads is not None:
            torch.set_num_threads(threads)
