"""Threads, fork and read-only installs: the process survives, and the numbers stay exact.

Each scenario runs in a fresh interpreter (a crash, an abort or a hang must fail the test,
not take pytest down with it), with a timeout that turns a hang into a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

import leaky
from leaky import _kernels, _openmp


def _run(code: str, env: dict[str, str] | None = None, timeout: int = 180) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


LARGE = 1 << 20  # float32 elements: 4 MiB, well above PARALLEL_MIN_BYTES


def test_fork_pool_after_threaded_kernels_works() -> None:
    # Regression: the child died with "fork() called from a process already using GNU
    # OpenMP, this is unsafe" and the pool hung.
    out = _run(
        f"""
        import multiprocessing as mp
        import numpy as np
        import leaky
        x = np.random.default_rng(0).standard_normal({LARGE}, dtype=np.float32)
        expected = float(leaky.leaky_relu(x, 0.1).sum())  # numba's threads in the parent
        g = leaky.leaky_relu_backward(x, x, 0.1)

        def work(i):
            return float(leaky.leaky_relu(x, 0.1).sum()), float(
                leaky.leaky_relu_backward(x, x, 0.1).sum())

        with mp.get_context("fork").Pool(2) as pool:
            results = pool.map_async(work, range(4)).get(timeout=60)
        assert results == [(expected, float(g.sum()))] * 4, results
        print("ok")
        """
    )
    assert "ok" in out


def test_dataloader_workers_after_training_with_the_layer_work() -> None:
    # A PyTorch training script: leaky's layer trained (its backward on PyTorch's team)
    # and leaky on NumPy in the parent, then a DataLoader with fork workers that use both.
    out = _run(
        f"""
        import multiprocessing as mp
        import numpy as np
        import torch
        import leaky
        from leaky.nn import LeakyReLU

        x = torch.randn({LARGE}, requires_grad=True)
        LeakyReLU(0.1)(x).sum().backward()
        leaky.leaky_relu(np.ones({LARGE}, np.float32), 0.1)

        class Data(torch.utils.data.Dataset):
            def __len__(self):
                return 4

            def __getitem__(self, i):
                a = np.full({LARGE}, -2.0, np.float32)
                t = torch.full((1 << 18,), -2.0, requires_grad=True)
                LeakyReLU(0.1)(t).sum().backward()
                return float(leaky.leaky_relu(a, 0.1)[0]), float(t.grad[0])

        loader = torch.utils.data.DataLoader(
            Data(), batch_size=None, num_workers=2,
            multiprocessing_context=mp.get_context("fork"), timeout=60)
        rows = [(round(a, 6), round(b, 6)) for a, b in loader]
        assert rows == [(-0.2, 0.1)] * 4, rows
        print("ok")
        """
    )
    assert "ok" in out


def test_eight_threads_under_the_workqueue_layer_do_not_abort() -> None:
    # Regression: numba's workqueue layer aborts the process on concurrent use
    # ("Concurrent access has been detected", SIGABRT).
    out = _run(
        f"""
        import threading
        import numpy as np
        import numba
        import leaky
        x = np.random.default_rng(0).standard_normal({LARGE}, dtype=np.float32)
        expected = np.where(x >= 0, x, x * np.float32(0.1))
        errors = []

        def work():
            try:
                for _ in range(20):
                    assert np.array_equal(leaky.leaky_relu(x, 0.1), expected)
                    leaky.leaky_relu_backward(x, x, 0.1)
            except BaseException as err:
                errors.append(err)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert numba.threading_layer() == "workqueue"
        print("ok")
        """,
        env={"NUMBA_THREADING_LAYER": "workqueue"},
    )
    assert "ok" in out


def test_read_only_install_computes_and_warns_once() -> None:
    # Regression: with no writable cache directory every call raised
    # "RuntimeError: cannot cache function ...: no locator available".
    out = _run(
        """
        import warnings
        import numpy as np
        from numba.core import caching

        for locator in caching.FunctionCache._impl_class._locator_classes:
            locator.from_function = classmethod(lambda cls, func, file: None)  # none writable
        import leaky

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            x = np.linspace(-2, 2, 1 << 18, dtype=np.float32)
            for _ in range(3):
                y = leaky.leaky_relu(x, 0.5)
                leaky.leaky_relu_backward(x, x, 0.5)
        assert np.array_equal(y, np.where(x >= 0, x, x * np.float32(0.5)))
        messages = [str(w.message) for w in caught if "in memory" in str(w.message)]
        assert len(messages) == 1, [str(w.message) for w in caught]
        print("ok")
        """
    )
    assert "ok" in out


def test_training_with_the_layer_never_starts_a_second_thread_pool() -> None:
    # The emergency: numba's pool spinning against PyTorch's. The layer's large
    # backward runs on PyTorch's own OpenMP team; numba's threading layer never starts.
    out = _run(
        """
        import numba.np.ufunc.parallel as numba_parallel
        import torch
        from torch import nn
        from leaky import _openmp
        from leaky.nn import LeakyReLU

        model = nn.Sequential(nn.Linear(64, 512), LeakyReLU(0.01), nn.Linear(512, 10))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        x, y = torch.randn(256, 64), torch.randint(0, 10, (256,))
        for _ in range(3):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        assert not numba_parallel._is_initialized, "numba's thread pool was started"
        team = _openmp.team()
        print("team", team is not None and _openmp._used)
        """
    )
    # On a machine where PyTorch's OpenMP runtime is found (Linux wheels) the team ran.
    if torch.get_num_threads() > 1 and _openmp.find(torch) is not None:
        assert "team True" in out


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("threads", ["team", "serial"])
def test_layer_backward_is_exact_on_the_team_and_serially(
    dtype: torch.dtype, threads: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if threads == "serial":
        monkeypatch.setattr(_openmp, "ENABLED", False)
    n = 300_001  # large enough for the team, and not a multiple of any slice size
    x = torch.randn(n, dtype=torch.float64).mul(50).to(dtype)
    specials = [0.0, -0.0, float("nan"), float("inf"), -float("inf"), 1e-40, -1e-40]
    x[:7] = torch.tensor(specials, dtype=dtype)
    g = torch.randn(n, dtype=dtype)
    g[7] = float("inf")
    x.requires_grad_()
    from leaky.nn import LeakyReLU

    strided = torch.randn(2 * n, dtype=dtype)[::2]
    for grad in (g, torch.tensor(2.5, dtype=dtype).expand(n), strided):  # dense, one value, strided
        x.grad = None
        LeakyReLU(0.1)(x).backward(grad)
        expected = leaky.leaky_relu_backward(grad.contiguous().numpy(), x.detach().numpy(), 0.1)
        np.testing.assert_array_equal(x.grad.numpy(), expected)  # NaN where NaN, bit for bit
        assert np.array_equal(np.signbit(x.grad.numpy()), np.signbit(expected))


def test_parallel_min_bytes_takes_units_and_refuses_nonsense() -> None:
    out = _run(
        """
        from leaky import _kernels
        print(_kernels.PARALLEL_MIN_BYTES)
        """,
        env={"LEAKY_PARALLEL_MIN_BYTES": "128K"},
    )
    assert out.split() == [str(128 * 1024)]
    bad = subprocess.run(
        [sys.executable, "-c", "import leaky, numpy; leaky.leaky_relu(numpy.ones(3))"],
        capture_output=True,
        text=True,
        env={**os.environ, "LEAKY_PARALLEL_MIN_BYTES": "lots"},
    )
    assert bad.returncode != 0
    assert "LEAKY_PARALLEL_MIN_BYTES must be a size in bytes" in bad.stderr


def test_concurrent_threaded_calls_take_turns_not_numbas_pool_twice() -> None:
    x = np.ones(LARGE, np.float32)
    assert _kernels._threads_lock.acquire(blocking=False)  # as if another thread were in
    try:
        assert np.array_equal(leaky.leaky_relu(-x, 0.25), np.full_like(x, -0.25))  # serial
    finally:
        _kernels._threads_lock.release()


def _special_values(n: int, dtype: type, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal(n).astype(dtype)
    x[::5], x[1::7], x[2::9], x[3::11] = np.nan, -0.0, np.inf, -np.inf
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threaded", [False, True])
def test_streaming_stores_give_the_plain_loops_bits(
    dtype: type, threaded: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every size and offset that puts a head before the first 64-byte line of out, a tail
    # after the last, or no line at all; every op; slope 0 (ReLU) and not.
    def results(stream_min: int) -> list[np.ndarray]:
        monkeypatch.setattr(_kernels, "STREAM_MIN_BYTES", stream_min)
        monkeypatch.setattr(_kernels, "PARALLEL_MIN_BYTES", 0 if threaded else 1 << 62)
        got = []
        for n in (1, 7, 16, 17, 33, 1000, 4099):
            for offset in (0, 1, 3):
                x = _special_values(n + offset, dtype, n)[offset:]
                g = _special_values(n + offset, dtype, n + 1)[offset:]
                for a in (0.0, 0.01, 0.3):
                    out = np.empty(n + 2, dtype)[2:]  # out misaligned against x and g
                    got += [
                        leaky.leaky_relu(x, a),
                        leaky.leaky_relu(x, a, out=out).copy(),
                        leaky.leaky_relu_derivative(x, a),
                        leaky.leaky_relu_backward(g, x, a),
                    ]
                    _kernels.backward(g, x, a, out)  # the full path's entry point
                    got.append(out.copy())
        return got

    plain, streamed = results(1 << 62), results(0)
    for want, got in zip(plain, streamed, strict=True):
        assert np.array_equal(want.view(np.uint8), got.view(np.uint8))


def test_streaming_stores_in_the_torch_layer_give_the_plain_bits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from leaky.nn import LeakyReLU

    n = 4099
    x = torch.from_numpy(_special_values(n, np.float32, 0)).requires_grad_()
    grads = (torch.randn(n), torch.tensor(2.5).expand(n))  # dense, one value broadcast
    runs = []
    for stream_min in (1 << 62, 0):
        monkeypatch.setattr(_kernels, "STREAM_MIN_BYTES", stream_min)
        monkeypatch.setattr(_kernels, "PARALLEL_MIN_BYTES", 0)  # on PyTorch's team
        for grad in grads:
            x.grad = None
            LeakyReLU(0.1)(x).backward(grad)
            runs.append(x.grad.numpy().copy())
    for want, got in zip(runs[:2], runs[2:], strict=True):
        assert np.array_equal(want.view(np.uint8), got.view(np.uint8))


def test_stream_min_bytes_is_the_last_level_cache_unless_set() -> None:
    out = _run(
        """
        from leaky import _kernels
        print(_kernels.STREAM_MIN_BYTES, _kernels.last_level_cache_bytes())
        """
    )
    threshold, cache = (int(v) for v in out.split())
    assert threshold == (cache or 1 << 62)
    out = _run(
        "from leaky import _kernels; print(_kernels.STREAM_MIN_BYTES)",
        env={"LEAKY_STREAM_MIN_BYTES": "1MiB"},
    )
    assert out.split() == [str(1 << 20)]
