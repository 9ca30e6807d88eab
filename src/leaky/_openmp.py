"""PyTorch's OpenMP team, lent to leaky's loops: one thread pool in the process, not two.

PyTorch runs its CPU kernels on an OpenMP team (``at::parallel_for``; GNU libgomp in the
Linux wheels). A second pool beside it — numba's threads — spins against PyTorch's after
every call, and both slow down (a training step measured 1.6-1.9x slower that way). So
when torch is imported, leaky's large loops run on PyTorch's own team instead: the OpenMP
runtime PyTorch loaded is found among the process's libraries, and its ``GOMP_parallel``
entry point (also exported by LLVM's and Intel's runtimes) runs one compiled leaky function
(``leaky._kernels``) on every thread of the team, each on its slice of the array, exactly
as ``#pragma omp parallel`` in PyTorch's C++ does.

Where that runtime cannot be found (no OpenMP runtime beside torch, a torch built with
another thread pool, no ``/proc/self/maps``), or after ``fork()`` once the team ran (GNU
OpenMP does not survive a fork), or with ``torch.set_num_threads(1)``, ``team()`` is None
and the callers run their serial loop. ``LEAKY_TORCH_TEAM=0`` turns the team off.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
from typing import Any

ENABLED = os.environ.get("LEAKY_TORCH_TEAM", "1") != "0"
_RUNTIME = re.compile(r"^lib(gomp|iomp5|omp)([-.].*)?\.(so|dylib)(\..*)?$")

_NOT_LOOKED = object()
_team: Any = _NOT_LOOKED
_used = False
_forked = False


def c_callable(address: int) -> Any:
    """The C function ``void f(void *)`` at ``address``, callable from Python (GIL released)."""
    return ctypes.CFUNCTYPE(None, ctypes.c_void_p)(address)


class Team:
    """PyTorch's OpenMP runtime: run a C function on every thread of the team."""

    def __init__(self, path: str) -> None:
        lib = ctypes.CDLL(path)  # already loaded by torch: the same instance
        self.path = path
        self._parallel = lib.GOMP_parallel
        self._parallel.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
        self._parallel.restype = None
        self.thread_num = ctypes.cast(lib.omp_get_thread_num, ctypes.c_void_p).value
        self.num_threads = ctypes.cast(lib.omp_get_num_threads, ctypes.c_void_p).value

    def run(self, function: int, data: int) -> None:
        """``function(data)`` on each of ``torch.get_num_threads()`` team threads."""
        global _used
        _used = True
        self._parallel(function, data, sys.modules["torch"].get_num_threads(), 0)


def _mapped_libraries() -> list[str]:
    try:
        with open("/proc/self/maps") as maps:
            fields = (line.split(None, 5) for line in maps)
            paths = {f[5].strip() for f in fields if len(f) == 6}
    except OSError:
        return []
    return sorted(p for p in paths if p.startswith("/"))


def find(torch: Any) -> Team | None:
    """The OpenMP runtime ``torch`` uses, if it can be told apart; else None."""
    if "OpenMP" not in torch.__config__.parallel_info():
        return None
    base = os.path.dirname(torch.__file__)
    runtimes = [p for p in _mapped_libraries() if _RUNTIME.match(os.path.basename(p))]
    own = [p for p in runtimes if p.startswith((base + os.sep, base + ".libs" + os.sep))]
    candidates = own or (runtimes if len(runtimes) == 1 else [])
    for path in candidates:
        try:
            return Team(path)
        except (OSError, AttributeError):  # not loadable, or no GOMP_parallel
            continue
    return None


def team() -> Team | None:
    """PyTorch's team when torch is imported, has one, and may use it here; else None."""
    global _team
    torch = sys.modules.get("torch")
    if torch is None or _forked or not ENABLED:
        return None
    if _team is _NOT_LOOKED:
        _team = find(torch)
    if _team is None or torch.get_num_threads() < 2:
        return None
    return _team


def _after_fork_in_child() -> None:
    global _forked
    if _used:
        _forked = True


os.register_at_fork(after_in_child=_after_fork_in_child)
