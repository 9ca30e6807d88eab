"""Benchmark of the NumPy kernels: ratios against copies, NumPy, PyTorch and JAX in one process.

    python benchmarks/bench_functional.py                 # the full table (make bench)
    python benchmarks/bench_functional.py --crossover     # serial vs threaded, per size
    python benchmarks/bench_functional.py --json bench.json

The measuring code lives in ``leaky.lab.bench`` (one home); this script is ``leaky bench``.
"""

import sys

from leaky.cli import app

if __name__ == "__main__":
    app(["bench", *sys.argv[1:]])
