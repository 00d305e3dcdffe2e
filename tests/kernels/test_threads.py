"""cagan.kernels.threads: work shared among threads, results as a plain
loop's."""

import os
import threading
import warnings

import chainer.functions as F
import numpy
import pytest
import threadpoolctl

from cagan.kernels import connection, threads
from tests.kernels.helpers import assert_matches


@pytest.fixture
def workers():
    """Set the worker count for one test, then restore the default."""
    yield threads.set_workers
    threads.set_workers(None)


def blas_limits():
    return [info['num_threads']
            for info in threadpoolctl.threadpool_info()
            if info['user_api'] == 'blas']


@pytest.mark.parametrize('count', [1, 2, 3, 5])
@pytest.mark.parametrize('items', [0, 1, 2, 3, 7, 20])
def test_map_is_a_loop(workers, count, items):
    workers(count)
    seen, states = [], []
    lock = threading.Lock()

    def make_state():
        state = {'thread': threading.get_ident()}
        with lock:
            states.append(state)
        return state

    def square(state, item):
        assert state['thread'] == threading.get_ident()
        with lock:
            seen.append(item)
        return item * item

    assert threads.map(square, list(range(items)), make_state) == [
        k * k for k in range(items)]
    assert sorted(seen) == list(range(items))
    assert len(states) <= max(1, min(count, items))


def test_map_shares_items_among_threads(workers):
    workers(2)
    names = set()
    barrier = threading.Barrier(2, timeout=10)

    def item(_, k):
        names.add(threading.current_thread().name)
        barrier.wait()  # both workers at once, or a timeout
        return k

    assert threads.map(item, [0, 1, 2, 3]) == [0, 1, 2, 3]
    assert len(names) == 2


def test_few_uneven_items_run_in_one_loop(workers):
    workers(2)
    names = set()
    threads.map(lambda _, k: names.add(threading.current_thread().name),
                [0, 1, 2])
    assert names == {threading.current_thread().name}


def test_small_work_runs_in_one_loop(workers):
    workers(2)
    names = set()

    def item(_, k):
        names.add(threading.current_thread().name)
    threads.map(item, [0, 1, 2, 3], size=threads.MIN_SIZE - 1)
    assert names == {threading.current_thread().name}
    threads.map(item, [0, 1, 2, 3], size=threads.MIN_SIZE)
    assert len(names) == 2


def test_errors_reach_the_caller(workers):
    workers(2)

    def fail_on(bad):
        def item(_, k):
            if k == bad:
                raise KeyError(k)
            return k
        return item

    for bad in (0, 1):  # the caller's share, a worker's share
        with pytest.raises(KeyError):
            threads.map(fail_on(bad), [0, 1, 2, 3])
    assert threads.map(fail_on(-1), [0, 1, 2, 3]) == [0, 1, 2, 3]


def test_workers_use_the_callers_numpy_errstate(workers):
    workers(2)
    zero = numpy.zeros(4)

    def divide(_, k):
        # 0 / 0 in items 1 and 3 only: the worker's share.
        return zero[k] / zero[k] if k % 2 else 0.0

    with numpy.errstate(invalid='raise'):
        with pytest.raises(FloatingPointError):
            threads.map(divide, [0, 1, 2, 3])
    with numpy.errstate(invalid='ignore'):
        assert numpy.isnan(threads.map(divide, [0, 1, 2, 3])[1::2]).all()


def test_a_call_inside_a_worker_runs_there(workers):
    workers(2)

    def outer(_, k):
        inner = threads.map(lambda _, j: threading.current_thread().name,
                            [0, 1, 2, 3])
        assert set(inner) == {threading.current_thread().name}
        return k

    assert threads.map(outer, [0, 1, 2, 3]) == [0, 1, 2, 3]


def test_blas_runs_one_thread_per_worker_meanwhile(workers):
    before = blas_limits()
    if not before:
        pytest.skip('no BLAS library that threadpoolctl controls')
    workers(2)
    during = threads.map(lambda _, k: blas_limits(), [0, 1, 2, 3])
    assert all(counts == [1] * len(before) for counts in during)
    assert blas_limits() == before


def test_set_workers_checks_its_count(workers):
    for bad in (0, -1, 1.5, '2'):
        with pytest.raises(ValueError):
            workers(bad)
    workers(3)
    assert threads.workers() == 3
    workers(None)
    assert threads.workers() == threads.usable_cores() >= 1


@pytest.mark.skipif(not hasattr(os, 'fork'), reason='no os.fork here')
def test_the_pool_stops_before_a_fork(workers):
    workers(2)
    threads.map(lambda _, k: k, [0, 1, 2, 3])
    assert threads._pool is not None
    with warnings.catch_warnings():
        # Python 3.12 warns of any other thread alive (pytest's own too).
        warnings.simplefilter('ignore', DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        os._exit(0 if threads._pool is None else 1)
    assert os.waitpid(pid, 0)[1] == 0
    assert threads._pool is None
    assert threads.map(lambda _, k: k, [0, 1, 2, 3]) == [0, 1, 2, 3]


@pytest.mark.numerics
@pytest.mark.parametrize('count', [1, 3])
def test_layers_match_chainer_with_other_worker_counts(workers, monkeypatch,
                                                       count):
    workers(count)
    # Small chunks: every layer is several items.
    monkeypatch.setattr(connection, '_CHUNK_BYTES', 1)
    monkeypatch.setattr(connection, '_MIN_ROWS', 1)
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((7, 3, 8, 6)).astype(numpy.float32)
    W = rng.standard_normal((4, 3, 4, 4)).astype(numpy.float32)
    gy = rng.standard_normal((7, 4, 4, 3)).astype(numpy.float32)
    assert_matches(connection.convolution_2d, F.convolution_2d, x, W, None,
                   gy)


@pytest.mark.parametrize('count', [1, 2, 3])
def test_split_covers_the_range_in_even_shares(workers, count):
    workers(count)
    for size in (0, 1, 2, 5, 17, 100):
        for asked in (1, 2, 3, 7, 200):
            parts = threads.split(size, asked)
            assert [i for k in parts for i in range(size)[k]] == list(
                range(size))
            lengths = [k.stop - k.start for k in parts]
            assert max(lengths) - min(lengths) <= 1
            if asked == 1 or size == 0:
                assert len(parts) == 1
            elif size >= asked * count:
                assert len(parts) % count == 0 and len(parts) >= asked


def test_single_core_is_one_worker_and_one_blas_thread(workers):
    before = blas_limits()
    workers(3)
    with threads.single_core():
        assert threads.workers() == 1
        assert blas_limits() == [1] * len(before)
        assert threads.blas_threads() == (1 if before else None)
    assert threads.workers() == 3
    assert blas_limits() == before
    assert threads.blas_threads() == (max(before) if before else None)


def test_using_workers_restores_the_count(workers):
    workers(3)
    with threads.using_workers(1):
        assert threads.workers() == 1
    assert threads.workers() == 3
    with pytest.raises(KeyError):
        with threads.using_workers(2):
            raise KeyError()
    assert threads.workers() == 3


@pytest.mark.parametrize('count', [1, 2])
def test_using_cores_sets_workers_and_blas_and_restores_them(workers, count):
    before = blas_limits()
    workers(3)
    with pytest.raises(KeyError):
        with threads.using_cores(count):
            assert threads.workers() == count
            assert blas_limits() == [count] * len(before)
            raise KeyError()
    assert threads.workers() == 3
    assert blas_limits() == before
