"""Compiled loops (numba) for flat float32/float64 arrays: one read and one write per element.

This module is imported on the first call that needs it, never by ``import leaky``, so the
import stays light (``leaky._numpy`` falls back to its blocked NumPy engine when numba is
missing). Each loop exists twice: serial, because small arrays must not pay for waking
threads, and threaded over all cores with ``prange``. ``PARALLEL_MIN_BYTES`` is the crossover,
measured with ``leaky bench --crossover``. Compiled code is cached on disk
(``cache=True``), so only the first call after installation pays for compiling.
"""

from __future__ import annotations

import os

import numpy as np
from numba import njit, prange

# Below this many bytes per array the serial loop wins: waking the threads costs more than
# the work. Measured with `leaky bench --crossover` on 2 cores: threads pay from 2^15
# float32 elements (1.07x) and win clearly from 2^16 (1.28x); see the README.
PARALLEL_MIN_BYTES = int(os.environ.get("LEAKY_PARALLEL_MIN_BYTES", 1 << 17))

_serial = njit(cache=True, nogil=True, boundscheck=False)
_threaded = njit(cache=True, nogil=True, boundscheck=False, parallel=True)


@_serial
def _forward_serial(x, a, out):
    for i in range(x.size):
        v = x[i]
        out[i] = v * a if v < 0 else v


@_threaded
def _forward_threaded(x, a, out):
    for i in prange(x.size):
        v = x[i]
        out[i] = v * a if v < 0 else v


@_serial
def _relu_serial(x, zero, out):
    for i in range(x.size):
        v = x[i]
        out[i] = zero if v < 0 else v


@_threaded
def _relu_threaded(x, zero, out):
    for i in prange(x.size):
        v = x[i]
        out[i] = zero if v < 0 else v


@_serial
def _derivative_serial(x, a, one, out):
    for i in range(x.size):
        v = x[i]
        out[i] = one if v >= 0 else (a if v < 0 else v)


@_threaded
def _derivative_threaded(x, a, one, out):
    for i in prange(x.size):
        v = x[i]
        out[i] = one if v >= 0 else (a if v < 0 else v)


@_serial
def _backward_serial(g, x, a, out):
    for i in range(x.size):
        v = x[i]
        gv = g[i]
        out[i] = gv if v >= 0 else (gv * a if v < 0 else v)


@_threaded
def _backward_threaded(g, x, a, out):
    for i in prange(x.size):
        v = x[i]
        gv = g[i]
        out[i] = gv if v >= 0 else (gv * a if v < 0 else v)


def forward(x: np.ndarray, a: float, out: np.ndarray) -> None:
    """out[i] = x[i] if x[i] >= 0 (or NaN) else a * x[i]; slope 0 gives +0.0 there."""
    threaded = x.nbytes >= PARALLEL_MIN_BYTES
    slope = x.dtype.type(a)
    if slope == 0:  # ReLU, also for a slope that rounds to 0 in x's dtype
        (_relu_threaded if threaded else _relu_serial)(x, x.dtype.type(0.0), out)
    else:
        (_forward_threaded if threaded else _forward_serial)(x, slope, out)


def derivative(x: np.ndarray, a: float, out: np.ndarray) -> None:
    """out[i] = 1 if x[i] >= 0, a if x[i] < 0, NaN if x[i] is NaN."""
    loop = _derivative_threaded if x.nbytes >= PARALLEL_MIN_BYTES else _derivative_serial
    loop(x, x.dtype.type(a), x.dtype.type(1.0), out)


def backward(g: np.ndarray, x: np.ndarray, a: float, out: np.ndarray) -> None:
    """out[i] = g[i] * derivative(x[i]), one IEEE product; NaN where x[i] is NaN."""
    loop = _backward_threaded if x.nbytes >= PARALLEL_MIN_BYTES else _backward_serial
    loop(g, x, x.dtype.type(a), out)
