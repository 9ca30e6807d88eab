"""Speed, measured as ratios against references timed in the same process on the same arrays.

These machines are shared and noisy (absolute times drift by +-30 %), so every number that
matters here is a ratio: leaky's time against ``np.copyto`` (one and two threads), the naive
NumPy forms, PyTorch's kernels and ``jax.jit`` when installed, all run in one process, on one
array, interleaved. ``run`` returns plain data; ``leaky bench`` and
``benchmarks/bench_functional.py`` print it.

GB/s counts the bytes read plus the bytes written: 2 arrays for the forward, 3 for the
backward (grad_output and x read, grad_input written).
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from leaky.functional import leaky_relu, leaky_relu_backward

if TYPE_CHECKING:
    from torch import nn

    from leaky.lab import batched

SIZES = (1 << 16, 1 << 20, 1 << 24, 1 << 26)
DTYPES = ("float32", "float64")
OPS = ("forward_out", "forward_alloc", "inplace", "backward_out")
SLOPE = 0.01
CROSSOVER_SIZES = tuple(1 << k for k in range(10, 22))  # crossover's default: 1 Ki to 2 Mi

# The targets of the issue, as (op, reference, minimum ratio, sizes or None for all).
TARGETS = (
    ("forward_out", "torch leaky_relu(out=)", 1.0, None),
    ("forward_out", "best copy", 0.95, (1 << 24, 1 << 26)),
    ("forward_alloc", "torch F.leaky_relu", 3.0, (1 << 24, 1 << 26)),
    ("forward_alloc", "np.copy", 0.9, None),
    ("backward_out", "torch leaky_relu_backward(grad_input=)", 1.0, None),
    ("inplace", "torch F.leaky_relu_", 0.9, None),
)


@dataclass
class Timing:
    """One method on one array: the median seconds over ``runs`` and the relative spread."""

    op: str
    dtype: str
    size: int
    method: str
    seconds: float
    spread: float  # (p75 - p25) / median
    gbps: float
    ratio: float  # reference time / leaky time: > 1 means leaky is faster


@dataclass
class BenchResult:
    timings: list[Timing] = field(default_factory=list)
    cold_start: dict[str, float] = field(default_factory=dict)
    machine: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def markdown(self) -> str:
        """leaky's GB/s per op, dtype and size, with its ratio to the main references."""
        refs = {
            "forward_out": ("torch leaky_relu(out=)", "best copy"),
            "forward_alloc": ("torch F.leaky_relu", "np.copy"),
            "inplace": ("torch F.leaky_relu_", None),
            "backward_out": ("torch leaky_relu_backward(grad_input=)", None),
        }
        sizes = sorted({t.size for t in self.timings})
        head = "| op | dtype | " + " | ".join(f"2^{n.bit_length() - 1}" for n in sizes) + " |"
        lines = [head, "|---|---|" + "---|" * len(sizes)]
        index = {(t.op, t.dtype, t.size, t.method): t for t in self.timings}
        for op, (torch_ref, copy_ref) in refs.items():
            for dtype in sorted({t.dtype for t in self.timings}):
                cells = []
                for n in sizes:
                    ours = index.get((op, dtype, n, "leaky"))
                    if ours is None:
                        cells.append("")
                        continue
                    parts = [f"{ours.gbps:.0f} GB/s"]
                    for ref, name in ((torch_ref, "torch"), (copy_ref, "copy")):
                        t = index.get((op, dtype, n, ref)) if ref else None
                        if t is not None:
                            parts.append(f"{t.ratio:.2f}x {name}")
                    cells.append(", ".join(parts))
                lines.append(f"| {op} | {dtype} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    @classmethod
    def from_json(cls, text: str) -> BenchResult:
        data = json.loads(text)
        return cls(
            timings=[Timing(**t) for t in data["timings"]],
            cold_start=data.get("cold_start", {}),
            machine=data.get("machine", {}),
        )

    def targets(self) -> list[dict[str, object]]:
        """Each target of the issue checked against the measured ratios."""
        rows = []
        for op, reference, minimum, sizes in TARGETS:
            for t in self.timings:
                if t.op == op and t.method == reference and (sizes is None or t.size in sizes):
                    rows.append(
                        {
                            "op": op,
                            "dtype": t.dtype,
                            "size": t.size,
                            "reference": reference,
                            "ratio": t.ratio,
                            "target": minimum,
                            "met": t.ratio >= minimum,
                        }
                    )
        return rows


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _median_time(fn: Callable[[], object], setup: Callable[[], object] | None, runs: int) -> list:
    times = []
    for _ in range(runs):
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def _split_copy(threads: ThreadPoolExecutor, dst: np.ndarray, src: np.ndarray) -> None:
    half = src.size // 2
    a = threads.submit(np.copyto, dst[:half], src[:half])
    np.copyto(dst[half:], src[half:])
    a.result()


def _methods(op: str, x: np.ndarray, g: np.ndarray, out: np.ndarray, pool: ThreadPoolExecutor):
    """(name, function, setup) for leaky and every reference of ``op``; leaky comes first."""
    a = SLOPE
    x0 = x.copy() if op == "inplace" else x  # x0 is read only in place

    def restore() -> None:  # in place: start every run from the same values
        np.copyto(x, x0)

    if op == "forward_out":
        yield "leaky", lambda: leaky_relu(x, a, out=out), None
        yield "np.copyto (1 thread)", lambda: np.copyto(out, x), None
        yield "np.copyto (2 threads)", lambda: _split_copy(pool, out, x), None
        yield "np.where(x >= 0, x, a*x)", lambda: np.where(x >= 0, x, a * x), None
        yield "np.maximum(x, a*x, out=)", lambda: np.maximum(x, a * x, out=out), None
    elif op == "forward_alloc":
        yield "leaky", lambda: leaky_relu(x, a), None
        yield "np.copy", lambda: np.copy(x), None
        yield "np.maximum(x, a*x)", lambda: np.maximum(x, a * x), None
    elif op == "inplace":
        yield "leaky", lambda: leaky_relu(x, a, out=x), restore
    elif op == "backward_out":
        yield "leaky", lambda: leaky_relu_backward(g, x, a, out=out), None
        yield "np.where(x >= 0, g, a*g)", lambda: np.where(x >= 0, g, a * g), None
    if _has("torch") and "torch" in sys.modules:
        import torch
        import torch.nn.functional as F

        t, tg, tout = torch.from_numpy(x), torch.from_numpy(g), torch.from_numpy(out)
        if op == "forward_out":
            yield "torch leaky_relu(out=)", lambda: torch._C._nn.leaky_relu(t, a, out=tout), None
        elif op == "forward_alloc":
            yield "torch F.leaky_relu", lambda: F.leaky_relu(t, a), None
        elif op == "inplace":
            yield "torch F.leaky_relu_", lambda: F.leaky_relu_(t, a), restore
        elif op == "backward_out":
            grad_input = torch.ops.aten.leaky_relu_backward.grad_input
            yield (
                "torch leaky_relu_backward(grad_input=)",
                lambda: grad_input(tg, t, a, False, grad_input=tout),
                None,
            )
    if "jax" in sys.modules and op in ("forward_alloc", "backward_out"):
        import jax
        import jax.numpy as jnp

        jx, jg = jnp.asarray(x), jnp.asarray(g)
        if jx.dtype != x.dtype:  # float64 without jax_enable_x64: not the same work
            return
        if op == "forward_alloc":
            f = jax.jit(lambda v: jax.nn.leaky_relu(v, a))
            yield "jax.jit leaky_relu", lambda: f(jx).block_until_ready(), None
        else:
            b = jax.jit(lambda gv, v: jax.vjp(lambda u: jax.nn.leaky_relu(u, a), v)[1](gv)[0])
            yield "jax.jit vjp", lambda: b(jg, jx).block_until_ready(), None


def _runs_for(seconds: float, budget: float) -> int:
    return int(min(200, max(5, budget / max(seconds, 1e-7))))


def measure(
    sizes: Sequence[int] = SIZES,
    dtypes: Sequence[str] = DTYPES,
    ops: Sequence[str] = OPS,
    *,
    budget: float = 0.25,
    progress: Callable[[str], None] | None = None,
) -> Iterator[Timing]:
    """Time every method of every op, dtype and size; yields one Timing per method.

    Each method is warmed up, then run ``runs`` times (chosen so one method takes about
    ``budget`` seconds, 5 to 200 runs); the median is reported with the interquartile spread.
    Methods are interleaved round by round so a change of machine load hits them all alike.
    """
    rng = np.random.default_rng(0)
    with ThreadPoolExecutor(max_workers=1) as pool:
        for dtype in dtypes:
            for size in sizes:
                x = rng.standard_normal(size, dtype=np.dtype(dtype).type)
                g = rng.standard_normal(size, dtype=np.dtype(dtype).type)
                out = np.empty_like(x)
                for op in ops:
                    if progress is not None:
                        progress(f"{op} {dtype} 2^{size.bit_length() - 1}")
                    methods = list(_methods(op, x, g, out, pool))
                    for _, fn, setup in methods:  # warm up: compile, fault pages in
                        for _ in range(2):
                            if setup is not None:
                                setup()
                            fn()
                    first = {n: min(_median_time(fn, s, 3)) for n, fn, s in methods}
                    runs = _runs_for(max(first.values()), budget / len(methods))
                    samples: dict[str, list[float]] = {n: [] for n, _, _ in methods}
                    for _ in range(runs):  # interleaved rounds
                        for name, fn, setup in methods:
                            samples[name] += _median_time(fn, setup, 1)
                    n_arrays = 3 if op == "backward_out" else 2
                    leaky_time = statistics.median(samples["leaky"])
                    for name, times in samples.items():
                        med = statistics.median(times)
                        q = statistics.quantiles(times, n=4) if len(times) > 1 else [med] * 3
                        yield Timing(
                            op=op,
                            dtype=dtype,
                            size=size,
                            method=name,
                            seconds=med,
                            spread=(q[2] - q[0]) / med,
                            gbps=n_arrays * x.nbytes / med / 1e9,
                            ratio=med / leaky_time,
                        )
                    if op == "forward_out":  # the best of the two copies, as its own row
                        copies = [samples[k] for k in samples if k.startswith("np.copyto")]
                        best = min(statistics.median(c) for c in copies)
                        yield Timing(
                            op,
                            dtype,
                            size,
                            "best copy",
                            best,
                            0.0,
                            2 * x.nbytes / best / 1e9,
                            best / leaky_time,
                        )
                del x, g, out


def cold_start() -> dict[str, float]:
    """Seconds for ``import leaky`` beyond NumPy, and for the first call, cache empty and warm.

    Each is measured in a fresh interpreter; the kernel cache goes to a new temporary
    folder (``NUMBA_CACHE_DIR``), so "empty" includes compiling and "warm" loading.
    """
    probe = (
        "import time; t0 = time.perf_counter(); import numpy; t1 = time.perf_counter(); "
        "import leaky; t2 = time.perf_counter(); "
        "x = numpy.ones(1 << 20, numpy.float32); leaky.leaky_relu(x, 0.1, out=x); "
        "t3 = time.perf_counter(); print(t2 - t1, t3 - t2)"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        results = []
        for _ in range(2):
            out = subprocess.run(
                [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
            )
            results.append([float(v) for v in out.stdout.split()])
    return {
        "import_leaky_s": results[1][0],
        "first_call_empty_cache_s": results[0][1],
        "first_call_warm_cache_s": results[1][1],
    }


def crossover(
    sizes: Sequence[int] = CROSSOVER_SIZES,
    dtype: str = "float32",
    budget: float = 0.1,
) -> list[dict[str, float]]:
    """Serial against threaded kernel time per size: where threads start to pay.

    ``budget`` is about the seconds of timing per kernel and size (5 to 200 runs).
    """
    from leaky import _kernels

    rng = np.random.default_rng(0)
    rows = []
    for size in sizes:
        x = rng.standard_normal(size, dtype=np.dtype(dtype).type)
        out = np.empty_like(x)
        a = x.dtype.type(SLOPE)
        serial = partial(_kernels._forward_serial, x, a, out)
        threaded = partial(_kernels._forward_threaded, x, a, out)
        serial(), threaded()
        runs = _runs_for(min(_median_time(serial, None, 3)), budget)
        ts, tt = [], []
        for _ in range(runs):
            ts += _median_time(serial, None, 1)
            tt += _median_time(threaded, None, 1)
        rows.append(
            {
                "size": size,
                "serial_s": statistics.median(ts),
                "threaded_s": statistics.median(tt),
                "threaded_speedup": statistics.median(ts) / statistics.median(tt),
            }
        )
    return rows


def _stream_sizes(dtype: str) -> tuple[int, ...]:
    """Element counts from a quarter of this machine's last-level cache to twice it."""
    from leaky import _kernels

    cache = _kernels.last_level_cache_bytes() or 32 << 20  # unknown: a common size
    return tuple(cache * k // 4 // np.dtype(dtype).itemsize for k in (1, 2, 4, 8))


def stream_crossover(
    sizes: Sequence[int] | None = None, dtype: str = "float32", budget: float = 0.1
) -> list[dict[str, float]]:
    """Plain against streaming stores per size, in the threaded backward (three arrays).

    ``sizes`` default to a quarter of the last-level cache to twice it, per array.
    """
    from leaky import _kernels

    rng = np.random.default_rng(0)
    rows = []
    parts = _kernels.get_num_threads()
    for size in sizes or _stream_sizes(dtype):
        x = rng.standard_normal(size, dtype=np.dtype(dtype).type)
        g = rng.standard_normal(size, dtype=np.dtype(dtype).type)
        out = np.empty_like(x)
        a = x.dtype.type(SLOPE)
        plain = partial(_kernels._backward_threaded, g, x, a, out)
        streamed = partial(_kernels._stream_threaded, _kernels.BACKWARD, g, x, a, out, parts)
        plain(), streamed()
        runs = _runs_for(min(_median_time(plain, None, 3)), budget)
        tp, ts = [], []
        for _ in range(runs):
            tp += _median_time(plain, None, 1)
            ts += _median_time(streamed, None, 1)
        rows.append(
            {
                "size": size,
                "bytes": out.nbytes,
                "plain_s": statistics.median(tp),
                "streamed_s": statistics.median(ts),
                "streamed_speedup": statistics.median(tp) / statistics.median(ts),
            }
        )
    return rows


def pays_from(rows: Sequence[dict[str, float]], key: str) -> int | None:
    """The smallest size from which ``key`` (a speed-up) is above 1 at every larger size."""
    best = None
    for row in sorted(rows, key=lambda r: r["size"], reverse=True):
        if row[key] <= 1.0:
            break
        best = int(row["size"])
    return best


def thresholds() -> dict[str, int]:
    """The kernels' size thresholds in bytes, as this process has them."""
    from leaky import _kernels

    return {
        "parallel_min_bytes": _kernels.PARALLEL_MIN_BYTES,
        "stream_min_bytes": _kernels.STREAM_MIN_BYTES,
        "last_level_cache_bytes": _kernels.last_level_cache_bytes(),
    }


def machine() -> dict[str, object]:
    import platform

    info: dict[str, object] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["processor"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    for module in ("numba", "torch", "jax"):
        if module in sys.modules:
            info[module] = sys.modules[module].__version__
    if "numba" in sys.modules:
        info |= thresholds()
    return info


def run(
    sizes: Sequence[int] = SIZES,
    dtypes: Sequence[str] = DTYPES,
    ops: Sequence[str] = OPS,
    *,
    budget: float = 0.25,
    with_cold_start: bool = True,
    progress: Callable[[str], None] | None = None,
) -> BenchResult:
    """The whole benchmark: timings, cold-start costs and the machine they were taken on.

    Examples:
        >>> r = run(sizes=[1024], dtypes=["float32"], ops=["forward_out"], budget=0.001,
        ...         with_cold_start=False)
        >>> sorted({t.method for t in r.timings})[:2]
        ['best copy', 'leaky']
    """
    if _has("torch"):
        import torch  # noqa: F401  (a reference, when installed)
    if _has("jax"):
        import jax  # noqa: F401
    result = BenchResult(machine=machine())
    result.timings = list(measure(sizes, dtypes, ops, budget=budget, progress=progress))
    if with_cold_start:
        result.cold_start = cold_start()
    return result


# ---------------------------------------------------------------------------------------
# The suite: what users feel, as the ratios of issue 10, measured where users run leaky.


@dataclass(frozen=True)
class Row:
    """One comparison of the suite: leaky's case against a reference, as a speed ratio.

    ``value`` is reference time / leaky time (> 1: leaky faster), or for the monitor plain
    step time / monitored step time (its overhead is 1 / value - 1).
    """

    key: str
    what: str
    reference: str
    target: float
    values: tuple[float, ...]  # one per run (each run: the median over alternating blocks)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)

    @property
    def met(self) -> bool:
        return self.median >= self.target

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "values": list(self.values), "median": self.median}


@dataclass
class Suite:
    """The suite's rows over several runs, and the machine they were taken on."""

    rows: list[Row]
    runs: int
    machine: dict[str, object] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "runs": self.runs,
            "seconds": self.seconds,
            "machine": self.machine,
            "rows": [r.to_dict() for r in self.rows],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Suite:
        rows = [
            Row(r["key"], r["what"], r["reference"], r["target"], tuple(r["values"]))
            for r in data["rows"]
        ]
        return cls(rows, data["runs"], data.get("machine", {}), data.get("seconds", 0.0))

    def markdown(self) -> str:
        """The README's table: each row's median ratio and its range over the runs."""
        lines = [
            f"| what | against | speed ratio, median [range] over {self.runs} runs | target |",
            "|---|---|---|---|",
        ]
        for r in self.rows:
            cell = f"{r.median:.2f} [{r.low:.2f}-{r.high:.2f}]"
            if r.key.startswith("monitor"):
                cell += f" (overhead {1 / r.median - 1:+.1%})"
            lines.append(
                f"| {r.what} | {r.reference} | {'**' + cell + '**' if r.met else cell} | "
                f">= {r.target:g} |"
            )
        return "\n".join(lines)


def _alternate(
    ours: Callable[[], object], reference: Callable[[], object], calls: int, blocks: int
) -> float:
    """Median over ``blocks`` of reference time / our time, each timed on ``calls`` calls.

    The two run in alternating blocks (the order swapped every block); the first call of
    every block is not timed, so neither pays for what the other left behind (a cold
    cache, another pool's threads still spinning).
    """
    ratios = []
    for block in range(blocks):
        pair = [("ours", ours), ("reference", reference)]
        times = {}
        for name, fn in pair if block % 2 == 0 else pair[::-1]:
            fn()
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            times[name] = time.perf_counter() - start
        ratios.append(times["reference"] / times["ours"])
    return statistics.median(ratios)


def _calls_for(fn: Callable[[], object], seconds: float) -> int:
    fn()
    start = time.perf_counter()
    fn()
    return max(1, min(1000, round(seconds / max(time.perf_counter() - start, 1e-7))))


def _training_models(kind: str, activation: Callable[[], nn.Module], seed: int = 0):
    import torch
    from torch import nn

    generator = torch.Generator().manual_seed(seed)
    if kind == "mlp":
        model = nn.Sequential(
            nn.Linear(64, 512), activation(), nn.Linear(512, 512), activation(), nn.Linear(512, 10)
        )
        x = torch.randn(256, 64, generator=generator)
    else:
        model = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1),
            activation(),
            nn.Conv2d(16, 32, 3, padding=1),
            activation(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(32, 10),
        )
        x = torch.randn(32, 3, 32, 32, generator=generator)
    with torch.no_grad():  # the same weights in both models, whatever the activation
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.05)
    y = torch.randint(0, 10, (x.shape[0],), generator=generator)
    return model, x, y


def _train_step(model, x, y) -> Callable[[], None]:
    import torch

    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step() -> None:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    return step


SUITE = (
    # key, what, reference, target
    ("step_mlp", "training step, MLP 64-512-512-10, batch 256, SGD", "torch.nn.LeakyReLU", 1.0),
    (
        "step_cnn",
        "training step, CNN 3-16-32 conv 3x3 on 32x32, batch 32",
        "torch.nn.LeakyReLU",
        1.0,
    ),
    ("layer_16_float32", "layer(x).sum().backward(), 2^16 float32", "torch.nn.LeakyReLU", 0.9),
    ("layer_20_float32", "layer(x).sum().backward(), 2^20 float32", "torch.nn.LeakyReLU", 1.0),
    ("layer_24_float32", "layer(x).sum().backward(), 2^24 float32", "torch.nn.LeakyReLU", 1.0),
    ("layer_16_float64", "layer(x).sum().backward(), 2^16 float64", "torch.nn.LeakyReLU", 0.9),
    ("layer_20_float64", "layer(x).sum().backward(), 2^20 float64", "torch.nn.LeakyReLU", 1.0),
    ("layer_24_float64", "layer(x).sum().backward(), 2^24 float64", "torch.nn.LeakyReLU", 1.0),
    ("monitor_mlp", "DeadUnitMonitor on the MLP training step", "the same step unmonitored", 0.952),
    ("monitor_cnn", "DeadUnitMonitor on the CNN training step", "the same step unmonitored", 0.952),
    ("out_16", "leaky_relu(x, out=), 2^16 float32", "torch leaky_relu(x, out=)", 0.9),
    ("out_20", "leaky_relu(x, out=), 2^20 float32", "torch leaky_relu(x, out=)", 1.0),
    ("out_24", "leaky_relu(x, out=), 2^24 float32", "torch leaky_relu(x, out=)", 1.0),
    ("alloc_24", "leaky_relu(x), 2^24 float32", "F.leaky_relu(x)", 3.0),
    (
        "backward_24",
        "leaky_relu_backward(g, x, out=), 2^24 float32",
        "aten leaky_relu_backward(grad_input=)",
        1.0,
    ),
)


def _suite_case(key: str, budget: float) -> tuple[Callable[[], object], Callable[[], object]]:
    """(ours, reference) for one row of the suite."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from leaky.nn import LeakyReLU

    if key.startswith("step_"):
        kind = key.split("_")[1]
        ours = _train_step(*_training_models(kind, lambda: LeakyReLU(SLOPE)))
        ref = _train_step(*_training_models(kind, lambda: nn.LeakyReLU(SLOPE)))
        return ours, ref
    if key.startswith("monitor_"):
        from leaky.monitor import DeadUnitMonitor

        kind = key.split("_")[1]
        plain = _train_step(*_training_models(kind, nn.ReLU))
        model, x, y = _training_models(kind, nn.ReLU)
        step = _train_step(model, x, y)
        # Kept on the step, which keeps it alive: watched for the whole run.
        setattr(step, "monitor", DeadUnitMonitor(model).__enter__())  # noqa: B010
        return step, plain
    if key.startswith("layer_"):
        _, power, dtype = key.split("_")
        x = torch.randn(1 << int(power), dtype=getattr(torch, dtype), requires_grad=True)

        def fwd_bwd(layer: nn.Module) -> Callable[[], None]:
            def call() -> None:
                x.grad = None
                layer(x).sum().backward()

            return call

        return fwd_bwd(LeakyReLU(SLOPE)), fwd_bwd(nn.LeakyReLU(SLOPE))
    if key.startswith("out_"):
        n = 1 << int(key.split("_")[1])
        a = np.random.default_rng(0).standard_normal(n, dtype=np.float32)
        out = np.empty_like(a)
        t, tout = torch.from_numpy(a), torch.from_numpy(out)
        return (
            lambda: leaky_relu(a, SLOPE, out=out),
            lambda: torch._C._nn.leaky_relu(t, SLOPE, out=tout),
        )
    if key == "backward_24":
        rng = np.random.default_rng(0)
        g, a = (rng.standard_normal(1 << 24, dtype=np.float32) for _ in range(2))
        out = np.empty_like(a)
        tg, t, tout = torch.from_numpy(g), torch.from_numpy(a), torch.from_numpy(out)
        grad_input = torch.ops.aten.leaky_relu_backward.grad_input
        return (
            lambda: leaky_relu_backward(g, a, SLOPE, out=out),
            lambda: grad_input(tg, t, SLOPE, False, grad_input=tout),
        )
    if key == "alloc_24":
        a = np.random.default_rng(0).standard_normal(1 << 24, dtype=np.float32)
        t = torch.from_numpy(a)
        return lambda: leaky_relu(a, SLOPE), lambda: F.leaky_relu(t, SLOPE)
    raise ValueError(f"Unknown suite row {key!r}. Valid rows: {', '.join(r[0] for r in SUITE)}.")


def suite_once(budget: float = 0.05, blocks: int = 12, keys: Sequence[str] | None = None) -> dict:
    """One run of the suite in this process: ``{key: median ratio over blocks}``.

    ``budget`` is the seconds each block of calls takes (about); ``blocks`` the number of
    alternating block pairs per row.
    """
    import torch  # noqa: F401  (the reference)

    values = {}
    for key, *_ in SUITE:
        if keys is not None and key not in keys:
            continue
        ours, reference = _suite_case(key, budget)
        calls = _calls_for(reference, budget)
        values[key] = _alternate(ours, reference, calls, blocks)
        del ours, reference
    return values


def suite(
    runs: int = 5,
    *,
    budget: float = 0.05,
    blocks: int = 12,
    keys: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Suite:
    """The suite over ``runs`` runs, each in a fresh interpreter (so that every run starts
    from its own memory state: the allocating row depends on it, see the README).

    Examples:
        >>> s = suite(runs=1, budget=0.001, blocks=1, keys=["out_16"])
        >>> [r.key for r in s.rows], len(s.rows[0].values)
        (['out_16'], 1)
    """
    start = time.perf_counter()
    code = (
        "import json, sys; from leaky.lab.bench import suite_once; "
        "print(json.dumps(suite_once(*json.loads(sys.argv[1]))))"
    )
    per_run = []
    for i in range(runs):
        args = json.dumps([budget, blocks, list(keys) if keys is not None else None])
        done = subprocess.run(
            [sys.executable, "-c", code, args], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"benchmark run {i + 1} failed: {done.stderr.strip()[-500:]}")
        per_run.append(json.loads(done.stdout.strip().splitlines()[-1]))
        if progress is not None:
            progress(i + 1, runs)
    rows = [
        Row(key, what, ref, target, tuple(run[key] for run in per_run))
        for key, what, ref, target in SUITE
        if key in per_run[0]
    ]
    import numba  # noqa: F401  (their versions go into machine())
    import torch  # noqa: F401

    return Suite(rows, runs, machine(), round(time.perf_counter() - start, 1))


# --- seeds batched into one model, against one loop per seed (leaky.lab.batched) ------


@dataclass(frozen=True)
class SpeedupResult:
    """Times of N seeds trained as one batched model and one after another.

    Both sides train the same configuration through the same loop, in one process, one
    thread, in alternating order within each repetition. ``ratios`` per repetition are
    ``sequential / batched`` wall times; ``cpu_ratios`` the same for the process's CPU
    time, which a busy machine (other processes sharing the core) disturbs less.
    """

    config: batched.TrainConfig
    batched_seconds: tuple[float, ...]
    sequential_seconds: tuple[float, ...]
    batched_cpu_seconds: tuple[float, ...] = ()
    sequential_cpu_seconds: tuple[float, ...] = ()

    @property
    def ratios(self) -> tuple[float, ...]:
        pairs = zip(self.sequential_seconds, self.batched_seconds, strict=True)
        return tuple(s / b for s, b in pairs)

    @property
    def cpu_ratios(self) -> tuple[float, ...]:
        pairs = zip(self.sequential_cpu_seconds, self.batched_cpu_seconds, strict=True)
        return tuple(s / b for s, b in pairs)

    @property
    def median_ratio(self) -> float:
        return statistics.median(self.ratios)

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "batched_seconds": list(self.batched_seconds),
            "sequential_seconds": list(self.sequential_seconds),
            "batched_cpu_seconds": list(self.batched_cpu_seconds),
            "sequential_cpu_seconds": list(self.sequential_cpu_seconds),
            "ratios": list(self.ratios),
            "cpu_ratios": list(self.cpu_ratios),
            "median_ratio": self.median_ratio,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SpeedupResult:
        return cls(
            _train_config().from_dict(d["config"]),
            tuple(d["batched_seconds"]),
            tuple(d["sequential_seconds"]),
            tuple(d.get("batched_cpu_seconds", ())),
            tuple(d.get("sequential_cpu_seconds", ())),
        )


def _train_config() -> type[batched.TrainConfig]:
    from leaky.lab.batched import TrainConfig

    return TrainConfig


def speedup(
    seeds: int = 10, steps: int = 300, repeats: int = 5, model: str = "mlp"
) -> SpeedupResult:
    """Time ``seeds`` seeds of the MNIST-1D ``model`` batched against one after another.

    The recipe is the paper's (Adam, lr 1e-2, batch 100) for ``steps`` steps, measured at
    the start and the end. Each repetition times both sides (in alternating order).

    Examples:
        >>> r = speedup(seeds=2, steps=3, repeats=1)
        >>> len(r.ratios), r.median_ratio > 0
        (1, True)
    """
    from leaky.lab import _checks
    from leaky.lab import models as _models
    from leaky.lab.batched import TrainConfig, train, train_member

    seeds = _checks.count(seeds, "seeds", "speedup", low=1)
    steps = _checks.count(steps, "steps", "speedup", low=1)
    repeats = _checks.count(repeats, "repeats", "speedup", low=1)
    activation = 0.0 if _models.HAS_ACTIVATION.get(model, False) else None
    config = TrainConfig(
        model=model,
        activation=activation,
        seeds=tuple(range(seeds)),
        steps=steps,
        eval_every=0,
    )
    train(config.replace(steps=1))  # outside the clock: data generated, kernels compiled
    batched: list[float] = []
    sequential: list[float] = []
    batched_cpu: list[float] = []
    sequential_cpu: list[float] = []

    def time_batched() -> None:
        start, cpu = time.perf_counter(), time.process_time()
        train(config)
        batched.append(time.perf_counter() - start)
        batched_cpu.append(time.process_time() - cpu)

    def time_sequential() -> None:
        start, cpu = time.perf_counter(), time.process_time()
        for s in config.seeds:
            train_member(config, s)
        sequential.append(time.perf_counter() - start)
        sequential_cpu.append(time.process_time() - cpu)

    for r in range(repeats):
        first, second = (
            (time_batched, time_sequential)
            if r % 2 == 0
            else (
                time_sequential,
                time_batched,
            )
        )
        first()
        second()
    return SpeedupResult(
        config, tuple(batched), tuple(sequential), tuple(batched_cpu), tuple(sequential_cpu)
    )
