import os
import signal
import subprocess
import sys
import time

import chainer
import numpy
import pytest
from chainer import iterators

from cagan import Discriminator, Generator, config, parallel, testing, training
from cagan.errors import CaganError
from cagan.kernels import threads
from cagan.optimizers import make_adam
from cagan.updater import CAGANUpdater
from tests.helpers import (KEYS, make_updater, params, refusal, step,
                           tiny_config, triplets)

SIZE = 32


def batch(n=4, seed=0):
    return tuple(numpy.stack(a) for a in zip(*triplets(seed, n, SIZE)))


def shared_updater(processes, noise_sigma=0.0, seed=0, gen_options=None,
                   **kwargs):
    gen = Generator(ch=16, size=SIZE, seed=seed, **(gen_options or {}))
    dis = Discriminator(ch=16, size=SIZE, head='patch16',
                        noise_sigma=noise_sigma, seed=seed + 1)
    iterator = iterators.SerialIterator(triplets(seed, 8, SIZE), 4,
                                        shuffle=False)
    optimizers = {name: make_adam(link) for name, link in (('gen', gen),
                                                          ('dis', dis))}
    return CAGANUpdater(iterator, optimizers, processes=processes, **kwargs)


def grads(updater):
    return {n + k: p.grad.copy() for n in ('gen', 'dis')
            for k, p in updater.get_optimizer(n).target.namedparams()
            if p.grad is not None}


@pytest.mark.parametrize('processes, gen_options', [
    (2, {}), (4, {}),
    # The resize-convolution's gradient comes out of a transpose.
    (2, {'inject': True, 'upsample': 'resize'})])
def test_shared_gradients_are_the_whole_batchs(processes, gen_options):
    alone = shared_updater(1, gen_options=gen_options)
    shared = shared_updater(processes, gen_options=gen_options)
    arrays = batch()
    schedule = {'gamma_id': 0.1, 'noise_sigma': 0.0, 'noise_step': 0}
    try:
        expected = alone.share_grads(arrays, schedule, 0)
        got = shared.shared(arrays, schedule)
        assert sorted(got) == [k for k in KEYS]
        for key in KEYS:
            assert got[key] == pytest.approx(expected[key], rel=1e-5,
                                             abs=1e-7)
        ours, theirs = grads(shared), grads(alone)
        assert sorted(ours) == sorted(theirs)
        cancelled = set().union(*(
            testing.cancelled_biases(alone.get_optimizer(n).target, prefix=n)
            for n in ('gen', 'dis')))
        testing.assert_gradients_close(ours, theirs, cancelled)
        # A second step with other weights, changed in place (as the
        # optimizers do) and replaced: the helpers see both.
        for link in (shared.get_optimizer('gen').target,
                     alone.get_optimizer('gen').target):
            link.c1.W.array *= 1.5
            link.c0.W.array = link.c0.W.array * 1.5
        expected = alone.share_grads(arrays, schedule, 0)
        got = shared.shared(arrays, schedule)
        assert got['gen/loss'] == pytest.approx(expected['gen/loss'],
                                                rel=1e-5)
        testing.assert_gradients_close(grads(shared), grads(alone),
                                       cancelled)
    finally:
        shared.finalize()


def test_shared_steps_train_as_one_process():
    runs = []
    for processes in (1, 2):
        updater = shared_updater(processes)
        try:
            values = [step(updater) for _ in range(2)]
        finally:
            updater.finalize()
        runs.append((values, params(updater.get_optimizer('gen').target)))
    (values1, gen1), (values2, gen2) = runs
    for a, b in zip(values1, values2):
        assert sorted(a) == sorted(b)
        for key in a:
            assert b[key] == pytest.approx(a[key], rel=1e-3, abs=1e-5)
    # Adam's first steps are +-lr where a gradient is nonzero: equal to
    # rounding except where a gradient is (near) zero.
    close = [numpy.mean(numpy.isclose(gen1[n], gen2[n], rtol=1e-4,
                                      atol=1e-6)) for n in gen1]
    assert numpy.median(close) > 0.99


def test_the_helpers_stop_with_the_updater():
    updater = shared_updater(2)
    step(updater)
    helpers = list(updater.shared._helpers)
    assert len(helpers) == 1 and helpers[0].is_alive()
    updater.finalize()
    assert not helpers[0].is_alive()
    # A later step starts them again.
    step(updater)
    assert updater.shared._helpers
    updater.finalize()


def test_helpers_draw_noise_of_their_own():
    updater = shared_updater(2, noise_sigma=0.5)
    try:

        def work(arrays, schedule, share):
            values = updater.share_grads(arrays, schedule, share)
            values['branch'] = float(share)
            return values

        updater.shared.work = work
        x = batch()
        # The same rows in both shares: only the noise tells them apart.
        arrays = tuple(numpy.concatenate([a[:2], a[:2]]) for a in x)
        schedule = {'gamma_id': 0.1, 'noise_sigma': 0.5, 'noise_step': 0}
        one = updater.share_grads(tuple(a[:2] for a in x), schedule, 0)
        both = updater.shared(arrays, schedule)
        assert both['branch'] == 0.5          # shares 0 and 1
        assert both['dis/loss'] != pytest.approx(one['dis/loss'], rel=1e-6)
    finally:
        updater.finalize()


def test_a_failing_helper_stops_the_step_with_one_line():
    updater = shared_updater(2)

    def work(arrays, schedule, share):
        if share:
            raise MemoryError('cannot allocate 3 GiB')
        return updater.share_grads(arrays, schedule, share)

    updater.shared.work = work
    try:
        with pytest.raises(CaganError) as failure:
            step(updater)
    finally:
        updater.finalize()
    message = str(failure.value)
    assert message == ('training process 2 of 2 failed: MemoryError: '
                       'cannot allocate 3 GiB')
    assert not updater.shared._helpers


def test_a_helper_killed_midway_stops_the_step_with_one_line():
    updater = shared_updater(2)
    step(updater)

    def work(arrays, schedule, share):
        if share:
            os.kill(os.getpid(), signal.SIGKILL)
        return updater.share_grads(arrays, schedule, share)

    # The helpers were forked with the old work: start them again.
    updater.shared.close()
    updater.shared.work = work
    try:
        with pytest.raises(CaganError, match=r'training process 2 of 2 died'):
            step(updater)
    finally:
        updater.finalize()


def test_processes_resolve():
    assert parallel.resolve(1, 16) == 1
    assert parallel.resolve(4, 16) == 4
    cores = threads.usable_cores()
    assert parallel.resolve('auto', 16) == max(
        k for k in range(1, min(cores, 16) + 1) if 16 % k == 0)
    assert parallel.resolve('auto', 1) == 1
    with pytest.raises(CaganError, match=r'^--processes 3 does not split '
                       r'train.batch 16 into equal shares'):
        parallel.resolve(3, 16)
    with pytest.raises(CaganError, match='positive integer'):
        parallel.resolve(0, 16)


def test_without_fork_there_is_one_process(monkeypatch):
    monkeypatch.setattr(parallel.multiprocessing, 'get_all_start_methods',
                        lambda: ['spawn'])
    assert parallel.resolve('auto', 16) == 1
    assert parallel.resolve(1, 16) == 1
    with pytest.raises(CaganError, match=r'^--processes 2 needs processes '
                       r'started by fork'):
        parallel.resolve(2, 16)


def test_shared_steps_need_float32_on_the_cpu():
    gen = Generator(ch=8, size=SIZE, seed=0)
    gen.c0.W.array = gen.c0.W.array.astype(numpy.float64)
    with pytest.raises(CaganError, match='float32 weights on the CPU'):
        parallel.SharedStep(2, [gen], lambda *a: {})
    with pytest.raises(ValueError):
        parallel.SharedStep(1, [Generator(ch=8, size=SIZE)], lambda *a: {})


def test_one_process_is_the_step_of_before():
    # processes=1 builds no helpers and takes the same path.
    updater = make_updater(noise_sigma=0)
    assert updater.shared is None
    assert sorted(step(updater)) == KEYS
    assert chainer.config.train


@pytest.mark.parametrize('script', ['train.py', 'benchmark.py'])
def test_scripts_refuse_a_count_that_does_not_split_the_batch(tmp_path,
                                                              script):
    assert refusal(script, tmp_path / 'run', '--processes', '3') == [
        'error: --processes 3 does not split train.batch 16 into equal '
        'shares: choose a divisor of the batch, or auto']


def test_runs_that_cannot_share_their_step_say_so(tmp_path):
    cfg = config.resolve({'train': {'mode': 'supervised', 'batch': 4}},
                         'test')
    with pytest.raises(CaganError, match=r'^--processes 2: the supervised '
                       r'reference trains in one process; leave it out'):
        training.check_processes(2, cfg, chainer.get_device('@numpy'))
    cfg = config.resolve({'train': {'batch': 4}}, 'test')
    with pytest.raises(CaganError, match='shared steps compute in float32, not mixed16'):
        training.check_processes(2, cfg, chainer.get_device('@numpy'),
                                 precision='mixed16')
    assert training.check_processes(1, cfg, chainer.get_device('@numpy'),
                                    precision='mixed16') == 1
    assert training.check_processes(4, cfg, chainer.get_device('@numpy')) == 4


def stat(pid):
    """A process's state and parent (None once it is gone)."""
    try:
        with open('/proc/{}/stat'.format(pid)) as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def children(pid):
    return [int(p) for p in os.listdir('/proc')
            if p.isdigit() and (stat(p) or (None, None))[1] == pid]


def running(pid):
    state = stat(pid)
    return state is not None and state[0] != 'Z'


@pytest.mark.skipif(not os.path.isdir('/proc'), reason='needs /proc')
def test_helpers_leave_when_the_trainer_is_killed(tmp_path, data_root):
    cfg_path = tmp_path / 'exp.yaml'
    config.save(tiny_config(data_root, epochs=50, snapshot_every=2),
                cfg_path)
    out = tmp_path / 'run'
    process = subprocess.Popen(
        [sys.executable, 'scripts/train.py', '--config', str(cfg_path),
         '--out', str(out), '--processes', '2'],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (out / 'snapshot_iter_2').exists():
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    helpers = children(process.pid)
    assert helpers
    process.kill()
    process.wait()
    process.stderr.close()
    deadline = time.monotonic() + 10
    while any(running(p) for p in helpers):
        assert time.monotonic() < deadline, 'a helper outlived the trainer'
        time.sleep(0.1)
