"""Compiled loops (numba) for flat float32/float64 arrays, and how they run on several cores.

Imported on the first call that needs it, never by ``import leaky`` (``leaky._numpy`` falls
back to its blocked NumPy engine when numba is missing). Each loop reads and writes every
element once. Compiled code is cached on disk; where no cache directory is writable
(read-only installs: AWS Lambda, ``readOnlyRootFilesystem``, ``docker --user``) the loops
are compiled in memory instead, with one warning.

How a loop runs, by size (``PARALLEL_MIN_BYTES`` is the crossover, ``leaky bench
--crossover``): small arrays run the serial loop on the calling thread; large ones run in
parallel on exactly one thread pool, the one their library already runs:

- **NumPy arrays**: numba's threaded loops (``prange``) on numba's threading layer
  (OpenMP on Linux, TBB where installed, its ``workqueue`` as a last resort);
- **torch tensors** (``leaky._torch``): the serial loop on a slice per thread of
  **PyTorch's own OpenMP team** (``launch`` below, ``leaky._openmp``), so training never
  wakes a second pool that would spin against PyTorch's; serially where that team cannot
  be used.

Outputs larger than the last-level cache (``STREAM_MIN_BYTES``) are written with
non-temporal ("streaming") stores: a plain store first reads the cache line it writes (a
read for ownership), so a loop that reads two arrays and writes one moves four arrays'
worth of memory; streamed, three. Smaller outputs keep plain stores, which leave the result
in cache for whatever reads it next.

The process stays safe: one threaded numba loop runs at a time (a concurrent caller takes
the serial loop: the ``workqueue`` layer aborts on concurrent use, and two callers'
threads would only oversubscribe the cores), and a child created by ``fork()`` after the
parent ran threads uses the serial loops only (GNU OpenMP cannot survive a fork:
``DataLoader(num_workers=...)`` and ``multiprocessing`` fork pools are that case).
"""

from __future__ import annotations

import glob
import os
import threading
import warnings

import numpy as np
from numba import carray, cfunc, get_num_threads, njit, prange, types
from numba.extending import intrinsic, overload

from leaky import _openmp, _validate

# Below this many bytes per array the serial loop wins: waking threads costs more than
# the work. Measured with `leaky bench --crossover` on 2 cores (see the README).
PARALLEL_MIN_BYTES = _validate.env_bytes("LEAKY_PARALLEL_MIN_BYTES", 1 << 17)


def last_level_cache_bytes() -> int:
    """The size of this CPU's largest data cache (Linux sysfs), or 0 where it is unknown."""
    sizes = [0]
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    for index in glob.glob("/sys/devices/system/cpu/cpu0/cache/index*"):
        try:
            with open(os.path.join(index, "type")) as f:
                kind = f.read().strip()
            with open(os.path.join(index, "size")) as f:
                text = f.read().strip()
        except OSError:
            continue
        if kind != "Instruction" and text[:-1].isdigit() and text[-1] in units:
            sizes.append(int(text[:-1]) * units[text[-1]])
    return max(sizes)


# Outputs of at least this many bytes are written with streaming stores: the size of the
# last-level cache of the machine leaky runs on (an output that large would not stay in
# cache anyway); never where that size is unknown. `leaky bench --crossover` measures it.
STREAM_MIN_BYTES = _validate.env_bytes(
    "LEAKY_STREAM_MIN_BYTES", last_level_cache_bytes() or 1 << 62
)

_OPTIONS = {"nogil": True, "boundscheck": False}
_no_cache_warned = False


def _no_cache(name: str, err: RuntimeError) -> None:
    global _no_cache_warned
    if not _no_cache_warned:
        _no_cache_warned = True
        warnings.warn(
            f"leaky compiles its kernels in memory: numba found no writable cache directory "
            f"({err}). Every new process pays the compile time (about a second); set "
            "NUMBA_CACHE_DIR to a writable folder to keep them.",
            RuntimeWarning,
            stacklevel=4,
        )


def _jit(**options: object):
    """``njit(cache=True)`` where a cache can be written, ``njit`` in memory where not."""

    def decorate(func):
        try:
            return njit(cache=True, **_OPTIONS, **options)(func)
        except RuntimeError as err:  # numba: "cannot cache function ...: no locator"
            if "cannot cache" not in str(err):
                raise
            _no_cache(func.__name__, err)
            return njit(cache=False, **_OPTIONS, **options)(func)

    return decorate


_serial = _jit()
_threaded = _jit(parallel=True)


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


@_serial
def _backward_scalar_serial(gv, x, a, out):
    """The backward for a gradient that is one value broadcast (``loss.sum().backward()``)."""
    for i in range(x.size):
        v = x[i]
        out[i] = gv if v >= 0 else (gv * a if v < 0 else v)


@_serial
def _overlap(x, out):
    """True when ``out`` partly overlaps ``x`` (a shifted view), not element for element."""
    xa, oa = x.ctypes.data, out.ctypes.data
    return xa != oa and xa < oa + out.nbytes and oa < xa + x.nbytes


def _like(a, x):
    """``a`` as a scalar of ``x``'s dtype (compiled code only; see the overload)."""
    raise NotImplementedError


@overload(_like)
def _like_overload(a, x):
    if x.dtype == types.float32:
        return lambda a, x: np.float32(a)
    return lambda a, x: np.float64(a)


@_serial
def _small(op, g, x, a, out, stream):
    """A whole call in one compiled call: the overlap check, then the serial loop.

    ``a`` arrives as a Python float and is rounded to the dtype here, once; ``stream``:
    write with streaming stores.
    """
    if _overlap(x, out) or _overlap(g, out):
        return False
    slope = _like(a, x)
    if stream:
        _stream(RELU if op == FORWARD and slope == 0 else op, g, x, slope, out)
        return True
    if op == 0:
        if slope == 0:
            _relu_serial(x, slope, out)  # ReLU: slope is the dtype's zero here
        else:
            _forward_serial(x, slope, out)
    elif op == 2:
        _derivative_serial(x, slope, _like(1.0, x), out)
    else:
        _backward_serial(g, x, slope, out)
    return True


@_serial
def _large(op, g, x, a, out, stream, parts):
    """``_small`` with the threaded loops (each a parallel function of its own)."""
    if _overlap(x, out) or _overlap(g, out):
        return False
    slope = _like(a, x)
    if stream:
        _stream_threaded(RELU if op == FORWARD and slope == 0 else op, g, x, slope, out, parts)
        return True
    if op == 0:
        if slope == 0:
            _relu_threaded(x, slope, out)
        else:
            _forward_threaded(x, slope, out)
    elif op == 2:
        _derivative_threaded(x, slope, _like(1.0, x), out)
    else:
        _backward_threaded(g, x, slope, out)
    return True


# ---------------------------------------------------------------------------------------
# One entry point for a slice of any loop, callable from C (an OpenMP team) or Python.
#
# The arguments travel in a block of int64 slots (``ctypes`` passes one pointer):
FORWARD, RELU, DERIVATIVE, BACKWARD, BACKWARD_SCALAR = range(5)
_OP, _DTYPE, _N, _X, _OUT, _G, _SLOPE, _THREAD_NUM, _NUM_THREADS, _STREAM = range(10)
SLOTS = 10
_F32, _F64 = 0, 1
_ALIGN = 16  # slices start on 64-byte boundaries (16 float32): no false sharing


@intrinsic
def _f32_pointer(typingctx, address):
    sig = types.CPointer(types.float32)(types.int64)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(signature.return_type))

    return sig, codegen


@intrinsic
def _f64_pointer(typingctx, address):
    sig = types.CPointer(types.float64)(types.int64)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(signature.return_type))

    return sig, codegen


@intrinsic
def _call_int(typingctx, address):
    """Call the C function ``int f(void)`` at ``address`` (omp_get_thread_num and kin).

    The address travels in the argument block, so no address is baked into cached code.
    """
    sig = types.int32(types.int64)

    def codegen(context, builder, signature, args):
        from llvmlite import ir

        fnty = ir.FunctionType(ir.IntType(32), [])
        return builder.call(builder.inttoptr(args[0], fnty.as_pointer()), [])

    return sig, codegen


@_serial
def _span(op, x, g, out, a, start, stop):
    """Loop ``op`` over ``[start, stop)`` with plain stores."""
    xs, o = x[start:stop], out[start:stop]
    if op == FORWARD:
        _forward_serial(xs, a, o)
    elif op == RELU:
        _relu_serial(xs, a, o)  # a is the zero of the dtype here
    elif op == DERIVATIVE:
        _derivative_serial(xs, a, x.dtype.type(1.0), o)
    elif op == BACKWARD:
        _backward_serial(g[start:stop], xs, a, o)
    else:
        _backward_scalar_serial(g[0], xs, a, o)


# ---------------------------------------------------------------------------------------
# Streaming stores: each loop's body on one 64-byte line at a time, written past the cache.


def _lane_op(kind: str):
    """An intrinsic ``f(g, x, out, i, a)``: ``out[i:i + lanes]`` from ``x`` (and ``g``) by
    the loop ``kind``, as one vector, stored non-temporally; ``&out[i]`` is 64-byte aligned.

    Each lane computes exactly what the scalar loops compute (the same comparisons and the
    same single product), so the streamed and plain loops agree bit for bit.
    """

    @intrinsic
    def lane_op(typingctx, g, x, out, i, a):
        sig = types.void(g, x, out, types.intp, a)

        def codegen(context, builder, signature, args):
            from llvmlite import ir

            ga, xa, oa, index, slope = args
            gty, xty, oty = signature.args[:3]
            scalar = context.get_value_type(xty.dtype)
            lanes = 64 // context.get_abi_sizeof(scalar)
            vector = ir.VectorType(scalar, lanes)

            def lines(array_type, value):
                data = context.make_array(array_type)(context, builder, value).data
                return data, builder.bitcast(builder.gep(data, [index]), vector.as_pointer())

            def splat(value):
                one = builder.insert_element(
                    ir.Constant(vector, ir.Undefined), value, ir.Constant(ir.IntType(32), 0)
                )
                mask = ir.Constant(ir.VectorType(ir.IntType(32), lanes), [0] * lanes)
                return builder.shuffle_vector(one, ir.Constant(vector, ir.Undefined), mask)

            v = builder.load(lines(xty, xa)[1], align=context.get_abi_sizeof(scalar))
            zero = ir.Constant(vector, [0.0] * lanes)
            below = builder.fcmp_ordered("<", v, zero)
            if kind == "forward":  # v * a if v < 0 else v
                r = builder.select(below, builder.fmul(v, splat(slope)), v)
            elif kind == "relu":  # a (the dtype's zero) if v < 0 else v
                r = builder.select(below, splat(slope), v)
            elif kind == "derivative":  # 1 if v >= 0 else (a if v < 0 else v)
                r = builder.select(
                    builder.fcmp_ordered(">=", v, zero),
                    ir.Constant(vector, [1.0] * lanes),
                    builder.select(below, splat(slope), v),
                )
            else:  # backward: gv if v >= 0 else (gv * a if v < 0 else v)
                gdata, gline = lines(gty, ga)
                if kind == "backward_scalar":
                    gv = splat(builder.load(gdata))
                else:
                    gv = builder.load(gline, align=context.get_abi_sizeof(scalar))
                r = builder.select(
                    builder.fcmp_ordered(">=", v, zero),
                    gv,
                    builder.select(below, builder.fmul(gv, splat(slope)), v),
                )
            store = builder.store(r, lines(oty, oa)[1], align=64)
            flag = builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)])
            store.set_metadata("nontemporal", flag)
            return context.get_dummy_value()

        return sig, codegen

    return lane_op


_forward_lines = _lane_op("forward")
_relu_lines = _lane_op("relu")
_derivative_lines = _lane_op("derivative")
_backward_lines = _lane_op("backward")
_backward_scalar_lines = _lane_op("backward_scalar")


@intrinsic
def _fence(typingctx):
    """A full memory fence: streamed stores are weakly ordered until one (x86: mfence)."""
    sig = types.void()

    def codegen(context, builder, signature, args):
        builder.fence("seq_cst")
        return context.get_dummy_value()

    return sig, codegen


@_serial
def _stream(op, g, x, a, out):
    """Loop ``op`` (``_span``'s codes) over all of ``x`` with streaming stores; the plain
    loops do the elements before the first 64-byte line of ``out`` and after the last."""
    n = x.size
    lanes = 64 // x.itemsize
    address = out.ctypes.data
    head = n if address % x.itemsize else min(n, (-(address // x.itemsize)) % lanes)
    body = head + (n - head) // lanes * lanes
    _span(op, x, g, out, a, 0, head)
    if op == FORWARD:
        for i in range(head, body, lanes):
            _forward_lines(x, x, out, i, a)
    elif op == RELU:
        for i in range(head, body, lanes):
            _relu_lines(x, x, out, i, a)
    elif op == DERIVATIVE:
        for i in range(head, body, lanes):
            _derivative_lines(x, x, out, i, a)
    elif op == BACKWARD:
        for i in range(head, body, lanes):
            _backward_lines(g, x, out, i, a)
    else:
        for i in range(head, body, lanes):
            _backward_scalar_lines(g, x, out, i, a)
    _span(op, x, g, out, a, body, n)
    _fence()


@_threaded
def _stream_threaded(op, g, x, a, out, parts):
    """``_stream`` on ``parts`` contiguous parts, one per thread (``numba.get_num_threads()``,
    passed in: compiled, it is a dynamic global that numba cannot cache); each part starts on
    a 64-byte line."""
    n = x.size
    lanes = 64 // x.itemsize
    step = ((n + parts - 1) // parts + lanes - 1) // lanes * lanes
    for p in prange(parts):
        start = min(n, p * step)
        stop = min(n, start + step)
        gs = g if op == BACKWARD_SCALAR else g[start:stop]
        _stream(op, gs, x[start:stop], a, out[start:stop])


@_serial
def _part(op, x, g, out, a, start, stop, stream):
    """One thread's part of a ``launch``: ``_span``, or ``_stream`` on that part."""
    if stream:
        gs = g if op == BACKWARD_SCALAR else g[start:stop]
        _stream(op, gs, x[start:stop], a, out[start:stop])
    else:
        _span(op, x, g, out, a, start, stop)


def _block_body(data):
    slots = carray(data, (SLOTS,), dtype=np.int64)
    reals = carray(data, (SLOTS,), dtype=np.float64)
    n = slots[_N]
    if slots[_NUM_THREADS] != 0:
        tid = _call_int(slots[_THREAD_NUM])
        nt = _call_int(slots[_NUM_THREADS])
    else:
        tid, nt = 0, 1
    chunk = ((n + nt - 1) // nt + _ALIGN - 1) // _ALIGN * _ALIGN
    start = min(n, tid * chunk)
    stop = min(n, start + chunk)
    if start >= stop:
        return
    if slots[_DTYPE] == _F32:
        x = carray(_f32_pointer(slots[_X]), (n,))
        g = carray(_f32_pointer(slots[_G]), (n,))
        out = carray(_f32_pointer(slots[_OUT]), (n,))
        _part(slots[_OP], x, g, out, np.float32(reals[_SLOPE]), start, stop, slots[_STREAM])
    else:
        x = carray(_f64_pointer(slots[_X]), (n,))
        g = carray(_f64_pointer(slots[_G]), (n,))
        out = carray(_f64_pointer(slots[_OUT]), (n,))
        _part(slots[_OP], x, g, out, np.float64(reals[_SLOPE]), start, stop, slots[_STREAM])


try:
    # numba's stub lists no 'nopython' among cfunc's options; numba itself accepts it.
    _block = cfunc(types.void(types.voidptr), nopython=True, cache=True)(  # type: ignore[call-arg]
        _block_body
    )
except RuntimeError as _err:  # no writable cache directory, as for the loops above
    if "cannot cache" not in str(_err):
        raise
    _no_cache("_block", _err)
    _block = cfunc(types.void(types.voidptr), nopython=True)(  # type: ignore[call-arg]
        _block_body
    )

if _block.address is None:  # numba types it int | None: None only before compiling
    raise RuntimeError("numba compiled _block but gave it no address")
_block_address: int = _block.address
_call_block = _openmp.c_callable(_block_address)
_local = threading.local()


def _slots() -> tuple[np.ndarray, np.ndarray, int]:
    """This thread's argument block (one per thread: callers may run concurrently)."""
    try:
        return _local.slots
    except AttributeError:
        block = np.zeros(SLOTS, np.int64)
        _local.slots = (block, block.view(np.float64), block.ctypes.data)
        return _local.slots


def launch(
    op: int, dtype: np.dtype, n: int, x: int, out: int, g: int, a: float, parallel: bool
) -> None:
    """Run loop ``op`` over ``n`` elements at the given addresses (flat, same dtype).

    ``parallel``: split it over PyTorch's OpenMP team when there is one to use, else run
    it serially on this thread. The GIL is released while the loop runs. Outputs of
    ``STREAM_MIN_BYTES`` and more are written with streaming stores.
    """
    block, reals, address = _slots()
    block[_OP] = op
    block[_DTYPE] = _F32 if dtype.itemsize == 4 else _F64
    block[_N] = n
    block[_X] = x
    block[_OUT] = out
    block[_G] = g
    reals[_SLOPE] = a
    block[_STREAM] = n * dtype.itemsize >= STREAM_MIN_BYTES
    team = _openmp.team() if parallel else None
    if team is None:
        block[_NUM_THREADS] = 0
        _call_block(address)
    else:
        block[_THREAD_NUM] = team.thread_num
        block[_NUM_THREADS] = team.num_threads
        team.run(_block_address, address)


# ---------------------------------------------------------------------------------------
# numba's own threads: one threaded loop at a time, and never in a forked child.
_threads_lock = threading.Lock()
_threads_used = False
_threads_forbidden = False


def _after_fork_in_child() -> None:
    global _threads_forbidden, _threads_lock
    _threads_lock = threading.Lock()  # a lock held by another thread at fork stays held
    if _threads_used:
        _threads_forbidden = True


os.register_at_fork(after_in_child=_after_fork_in_child)


def fast(op: int, x: np.ndarray, a: float, out: np.ndarray, g: np.ndarray | None) -> bool:
    """``leaky._numpy.fast``'s call: flat arrays of one dtype, one compiled call; False if
    ``out`` partly overlaps an input (the caller then takes the full path)."""
    gx = x if g is None else g
    stream = out.nbytes >= STREAM_MIN_BYTES
    if out.nbytes < PARALLEL_MIN_BYTES or not _take_threads():
        return _small(op, gx, x, a, out, stream)
    try:
        # numba.get_num_threads() costs ~1 us a call: only streaming splits by it
        return _large(op, gx, x, a, out, stream, get_num_threads() if stream else 1)
    finally:
        _threads_lock.release()


def _take_threads() -> bool:
    """May this call run numba's threads? (then the caller releases ``_threads_lock``)."""
    global _threads_used
    if _threads_forbidden or not _threads_lock.acquire(blocking=False):
        return False
    _threads_used = True
    return True


def _on_numba_threads(loop, *args: object) -> bool:
    """Run a threaded numba loop unless another thread is in one or this is a forked child."""
    if not _take_threads():
        return False
    try:
        loop(*args)
    finally:
        _threads_lock.release()
    return True


def _streamed(op: int, g: np.ndarray, x: np.ndarray, slope: object, out: np.ndarray) -> bool:
    """Run loop ``op`` with streaming stores when ``out`` is that large (threaded if free)."""
    if out.nbytes < STREAM_MIN_BYTES:
        return False
    if out.nbytes < PARALLEL_MIN_BYTES or not _on_numba_threads(
        _stream_threaded, op, g, x, slope, out, get_num_threads()
    ):
        _stream(op, g, x, slope, out)
    return True


def forward(x: np.ndarray, a: float, out: np.ndarray) -> None:
    """out[i] = x[i] if x[i] >= 0 (or NaN) else a * x[i]; slope 0 gives +0.0 there."""
    slope = x.dtype.type(a)
    if _streamed(RELU if slope == 0 else FORWARD, x, x, slope, out):
        return
    if slope == 0:  # ReLU, also for a slope that rounds to 0 in x's dtype
        zero = x.dtype.type(0.0)
        if out.nbytes >= PARALLEL_MIN_BYTES and _on_numba_threads(_relu_threaded, x, zero, out):
            return
        _relu_serial(x, zero, out)
        return
    if out.nbytes >= PARALLEL_MIN_BYTES and _on_numba_threads(_forward_threaded, x, slope, out):
        return
    _forward_serial(x, slope, out)


def derivative(x: np.ndarray, a: float, out: np.ndarray) -> None:
    """out[i] = 1 if x[i] >= 0, a if x[i] < 0, NaN if x[i] is NaN."""
    slope, one = x.dtype.type(a), x.dtype.type(1.0)
    if _streamed(DERIVATIVE, x, x, slope, out):
        return
    if out.nbytes >= PARALLEL_MIN_BYTES and _on_numba_threads(
        _derivative_threaded, x, slope, one, out
    ):
        return
    _derivative_serial(x, slope, one, out)


def backward(g: np.ndarray, x: np.ndarray, a: float, out: np.ndarray) -> None:
    """out[i] = g[i] * derivative(x[i]), one IEEE product; NaN where x[i] is NaN."""
    slope = x.dtype.type(a)
    if _streamed(BACKWARD, g, x, slope, out):
        return
    if out.nbytes >= PARALLEL_MIN_BYTES and _on_numba_threads(_backward_threaded, g, x, slope, out):
        return
    _backward_serial(g, x, slope, out)
