"""Every CPU core for the NumPy work of a training step.

OpenBLAS runs a GEMM on all cores, but NumPy runs copies and element-wise
work on one, and on a CPU that work is about half of a CAGAN step (the
column copies of :mod:`cagan.kernels.connection`, instance norm, the
discriminator's noise, Adam). NumPy releases the GIL inside such loops, so
independent pieces of it (batch chunks of a convolution, row blocks of a
normalisation) run at once on a few threads.

:func:`map` shares items by a fixed rule, item ``k`` to worker ``k % n``,
and returns the results in item order, so the caller combines them in the
order a plain loop would: a run is repeatable bit for bit. With another
number of workers, the batch chunks of :mod:`cagan.kernels.connection` (a
multiple of the workers) and BLAS's thread count differ, and so do values,
at float rounding, as with any change of BLAS threads. While workers run,
BLAS runs one thread in each, instead of one GEMM on every core. A call
made from inside a worker runs in that worker, and workers use the
caller's ``numpy.errstate``.

The *workers* (the word means these compute threads only; images are
decoded by a dataset's decode threads, batches made by loader processes)
are threads of one process-wide pool, started on first use and
stopped before the process forks (the data iterator's loader processes), so
that no fork copies a pool in use.
"""

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy
import threadpoolctl

_lock = threading.Lock()
_local = threading.local()
#: Elements below which :func:`map` runs its items in the calling thread:
#: waking workers costs about what they save on a few MB (measured on
#: ReLU and instance norm with 2 threads: even at 2^19, 1.8x at 2^21).
MIN_SIZE = 1 << 20
#: Worker count set by :func:`set_workers`; None: the usable cores.
_workers = None
_pool = None


def usable_cores():
    """CPU cores this process may run on."""
    if hasattr(os, 'sched_getaffinity'):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def workers():
    """How many threads :func:`map` uses: :func:`set_workers`'s count, by
    default the usable cores."""
    return usable_cores() if _workers is None else _workers


def set_workers(count):
    """Use ``count`` threads (None: the usable cores; 1: the calling thread
    alone, as several processes on one machine want)."""
    global _workers
    if count is not None and (not isinstance(count, int) or count < 1):
        raise ValueError('workers must be a positive integer or None, got '
                         '{!r}'.format(count))
    _stop()
    _workers = count


@contextlib.contextmanager
def using_workers(count):
    """:func:`set_workers` ``count`` inside a ``with`` block, then the count
    before."""
    before = _workers
    set_workers(count)
    try:
        yield
    finally:
        set_workers(before)


_blas_libraries = None
#: Blocks of :func:`_one_blas_thread` open now, and BLAS's limits before
#: them.
_running = 0
_blas_before = None


def _blas():
    """threadpoolctl's controllers of the BLAS libraries NumPy loaded."""
    global _blas_libraries
    if _blas_libraries is None:
        _blas_libraries = threadpoolctl.ThreadpoolController().select(
            user_api='blas').lib_controllers
    return _blas_libraries


def blas_threads():
    """Threads BLAS runs a GEMM on now (the most over its libraries; None
    where threadpoolctl finds no BLAS)."""
    return max((library.num_threads for library in _blas()), default=None)


@contextlib.contextmanager
def _one_blas_thread():
    """BLAS on one thread inside a ``with`` block (counted, so that
    overlapping blocks, such as :func:`map` calls on several threads,
    restore the limits once)."""
    global _running, _blas_before
    with _lock:
        if _running == 0:
            _blas_before = [library.num_threads for library in _blas()]
            for library in _blas():
                library.set_num_threads(1)
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            if _running == 0:
                for library, count in zip(_blas(), _blas_before):
                    library.set_num_threads(count)


@contextlib.contextmanager
def single_core():
    """One worker, and BLAS on one thread, inside a ``with`` block: the
    work of a step as one core does it (the benchmark's per-core figure,
    against a one-thread GEMM ceiling). The counts before are restored
    after."""
    with using_workers(1), _one_blas_thread():
        yield


@contextlib.contextmanager
def using_cores(count):
    """``count`` workers (:func:`using_workers`) and BLAS on ``count``
    threads inside a ``with`` block, as each of several processes sharing
    the cores wants; the counts before are restored after. Cheap enough
    for every step (threadpoolctl's own limits look the libraries up again
    at each call: 0.3 ms)."""
    before = [library.num_threads for library in _blas()]
    with using_workers(count):
        for library in _blas():
            library.set_num_threads(count)
        try:
            yield
        finally:
            for library, limit in zip(_blas(), before):
                library.set_num_threads(limit)


def _stop():
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True)


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(before=_stop)


def split(size, count):
    """``range(size)`` as slices for :func:`map`: ``count`` of them, or, if
    more than one, the next multiple of the workers (at most ``size``), of
    lengths that differ by one at most, so that the workers share them
    evenly."""
    if count > 1:
        count = -(-count // workers()) * workers()
    count = max(1, min(size, count))
    bounds = [size * k // count for k in range(count + 1)]
    return [slice(b0, b1) for b0, b1 in zip(bounds[:-1], bounds[1:])]


def _run_share(fn, make_state, items, start, step, results, errors):
    _local.inside = True
    try:
        # NumPy's floating-point error handling is per thread: the caller's.
        with numpy.errstate(**errors):
            state = make_state() if make_state is not None else None
            for k in range(start, len(items), step):
                results[k] = fn(state, items[k])
    finally:
        _local.inside = False


def map(fn, items, make_state=None, size=None):
    """``[fn(state, item) for item in items]``, the items shared among the
    workers.

    Args:
        fn: called as ``fn(state, item)``; calls of different items may run
            at once, so each writes only its own part of any shared output.
        items (sequence): the pieces of work.
        make_state: called once per worker that gets items, for what that
            worker reuses from item to item (buffers); None: ``state`` is
            None.
        size (int or None): the array elements the items go through in
            all, if few are worth no workers (below :data:`MIN_SIZE`).

    Returns:
        list: the results, in the order of ``items``.
    """
    global _pool
    n = min(workers(), len(items))
    # Fewer items than a few per worker, unevenly shared: one loop whose
    # GEMMs use every core is faster than a worker left on its own.
    if n > 1 and (len(items) % n and len(items) < 4 * n
                  or size is not None and size < MIN_SIZE):
        n = 1
    if n <= 1 or getattr(_local, 'inside', False):
        state = make_state() if make_state is not None else None
        return [fn(state, item) for item in items]
    with _lock:
        if _pool is None:
            # set_workers stops the pool: this one has workers() - 1 >= n - 1.
            _pool = ThreadPoolExecutor(workers() - 1,
                                       thread_name_prefix='cagan')
        pool = _pool
    results = [None] * len(items)
    # Each worker's GEMMs on one core: BLAS threads of their own would
    # contend with the other workers for the cores (measured: slower than
    # one loop).
    with _one_blas_thread():
        errors = numpy.geterr()
        futures = [pool.submit(_run_share, fn, make_state, items, k, n,
                               results, errors) for k in range(1, n)]
        try:
            _run_share(fn, make_state, items, 0, n, results, errors)
        finally:
            for future in futures:
                future.result()
    return results
