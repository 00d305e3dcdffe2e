"""How fast training and swapping run, and how close to the hardware's limit.

Every figure is measured in the calling process and reported with the same
process's matrix-multiply ceiling (float32, or the compute dtype of the
precision the step runs in), so the headline is the ratio
achieved / ceiling, which drifts far less than seconds on shared machines.
Under ``mpiexec`` with a ChainerMN communicator (``comm``), the training
step is the data-parallel one of ``scripts/train.py --communicator``, and
the ceiling is every rank's, sampled at once and summed: the machine's.
"""

import io
import json
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import chainer
import numpy
from chainer import iterators
from chainer.training import extensions

import cagan.precision
from cagan import config as config_module
from cagan import inference, run, schedules, training
from cagan.data import dataset
from cagan.experiments import flops
from cagan.errors import CaganError, ConfigError, DataError
from cagan.kernels import threads


def _sync(device):
    if device.xp is not numpy:
        device.xp.cuda.Stream.null.synchronize()


def _together(comm):
    if comm is not None:
        comm.mpi_comm.Barrier()


def gemm_ceiling(device, n=None, repeats=7, comm=None, dtype=numpy.float32):
    """Median GFLOP/s of an ``n x n`` matmul in ``dtype`` on ``device``.

    ``n`` defaults to 2048 on the CPU and 4096 on a GPU. With ``comm``,
    every rank measures at the same time and the sum is returned (on every
    rank): what the ranks' processes get from the machine together. Under
    ``--precision tf32`` a float32 product is a TF32 one (see
    :mod:`cagan.precision`).
    """
    if comm is not None:
        _together(comm)
        return comm.mpi_comm.allreduce(gemm_ceiling(device, n, repeats,
                                                    dtype=dtype))
    xp = device.xp
    n = n or (2048 if xp is numpy else 4096)
    rng = numpy.random.default_rng(0)
    a, b = (device.send(rng.standard_normal((n, n), dtype=numpy.float32)
                        .astype(dtype, copy=False)) for _ in range(2))
    out = xp.empty_like(a)
    xp.matmul(a, b, out=out)
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        xp.matmul(a, b, out=out)
        _sync(device)
        times.append(time.perf_counter() - start)
    return 2 * n ** 3 / statistics.median(times) / 1e9


def _peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def batch_per_rank(config, comm=None):
    """``train.batch`` of a resolved config split over ``comm``'s ranks.

    Raises:
        cagan.errors.ConfigError: the batch does not split evenly.
    """
    batch = config['train']['batch']
    ranks = 1 if comm is None else comm.size
    if batch % ranks:
        raise ConfigError(
            'train.batch {} does not split evenly over {} ranks: choose a '
            'multiple of {}'.format(batch, ranks, ranks))
    return batch // ranks


def random_step(config, device, precision='float32', comm=None,
                processes=1, seed=0):
    """The training step a resolved config describes (as training wires it,
    :func:`cagan.training.make_step`, with its schedules' values at a run's
    start), on one fixed batch of random triplets: networks seeded 0 and 1,
    the batch ``train.batch`` (this rank's share of it) drawn from
    ``seed``.

    Raises:
        cagan.errors.ConfigError: ``train.batch`` does not split evenly
            over ``comm``'s ranks.
    """
    per_rank = batch_per_rank(config, comm)
    with cagan.precision.building(precision):
        gen = run.make_generator(config, seed=0)
        dis = run.make_discriminator(config, seed=1)
    rng = numpy.random.default_rng(seed)
    shape = (3,) + tuple(config['data']['size'])
    triplets = [tuple(rng.random(shape, dtype=numpy.float32)
                      for _ in range(3)) for _ in range(per_rank)]
    iterator = iterators.SerialIterator(triplets, len(triplets),
                                        shuffle=False)
    updater = training.make_step(config, gen, dis, iterator, device,
                                 precision, comm, processes)
    schedules.apply(schedules.extensions(config, updater, _per_epoch(config)),
                    updater)
    return updater


def training_step(config, device, steps=3, warmup=1, ceiling_n=None,
                  comm=None, precision='float32', processes=1):
    """Time CAGAN training steps for a resolved config on random triplets.

    The step is the one training takes: the config's learning rates (D's
    own with ``optimizer.dis_lr``), Adam's betas and, with
    ``optimizer.ema``, the moving average of G after each update.

    Each timed step is followed by a short GEMM ceiling sample
    (:func:`gemm_ceiling` with ``n=ceiling_n``, 3 repeats), and the ratio
    is the median of the per-step ratios: a step and its ceiling see the
    same load, which on a shared machine swings the ceiling by 1.5x within
    a minute.

    With ``comm`` (every rank calls this), each rank steps on its share of
    ``train.batch`` with the gradients averaged over the ranks before every
    update, as ``scripts/train.py --communicator`` trains; a step starts
    and ends on all ranks together, and the ceiling is summed over the
    ranks. The figures are then the whole job's (the same on every rank).

    ``precision`` (:mod:`cagan.precision`, configured already) builds and
    steps the networks in it; the ceiling is then a product in its compute
    dtype (float16 for ``mixed16``).

    ``processes`` (> 1: float32 on the CPU, no ``comm``) shares each step
    among that many processes, as ``train.py --processes`` trains
    (:mod:`cagan.parallel`); the ceiling stays this process's.

    Returns:
        dict: ``seconds`` (median per step after ``warmup``), ``times``
        (every timed step's seconds), ``steps``,
        ``ranks``, ``threads`` (:func:`cagan.kernels.threads.workers`, each
        rank's), ``blas_threads`` (:func:`cagan.kernels.threads.blas_threads`,
        outside the workers' calls, each rank's), ``images_per_s``,
        ``gflop`` per step, ``gflops`` achieved, ``ceiling_gflops`` (median
        of the samples) and ``ratio`` (median of the per-step GFLOP/s over
        the ceiling sample next to it).

    Raises:
        cagan.errors.ConfigError: ``train.batch`` does not split evenly
            over the ranks.
    """
    batch = config['train']['batch']
    updater = random_step(config, device, precision, comm, processes,
                          seed=0 if comm is None else comm.rank)
    gen, dis = (updater.get_optimizer(n).target for n in ('gen', 'dis'))
    dtype = gen.c0.W.dtype
    reporter = chainer.Reporter()
    reporter.add_observer('gen', gen)
    reporter.add_observer('dis', dis)
    gflop = flops.step_gflop(config, gen, dis)
    times, ceilings = [], []
    try:
        for k in range(warmup + steps):
            _together(comm)
            _sync(device)
            start = time.perf_counter()
            with reporter.scope({}):
                updater.update()
            _sync(device)
            _together(comm)
            if k >= warmup:
                times.append(time.perf_counter() - start)
                ceilings.append(gemm_ceiling(device, ceiling_n, repeats=3,
                                             comm=comm, dtype=dtype))
    finally:
        # Stops the step's helper processes, if any.
        updater.finalize()
    if comm is not None:
        # Rank 0's clock for every rank: the same figures everywhere.
        times = comm.mpi_comm.bcast(times)
    seconds = statistics.median(times)
    return {'seconds': seconds, 'times': times, 'steps': steps,
            'ranks': 1 if comm is None else comm.size,
            'threads': threads.workers(),
            'blas_threads': threads.blas_threads(),
            'images_per_s': batch / seconds, 'gflop': gflop,
            'gflops': gflop / seconds,
            'ceiling_gflops': statistics.median(ceilings),
            'ratio': statistics.median(gflop / t / c
                                       for t, c in zip(times, ceilings))}


def _per_epoch(config):
    """Iterations per epoch of the config's data (1 when it is missing)."""
    try:
        pairs = len(dataset.read_pairs_of(config['data']['root']))
    except DataError:
        return 1.0
    return pairs / config['train']['batch']


def swap_latency(config, device, photo_size=(1024, 768), repeats=5):
    """Seconds to swap one photo: with the model's loading and without.

    The model (untrained weights of the config's generator) is saved to a
    temporary run folder and loaded as ``scripts/swap.py`` does.
    """
    rng = numpy.random.default_rng(0)
    human = rng.integers(0, 256, tuple(photo_size) + (3,), numpy.uint8)
    article = rng.integers(0, 256, (600, 600, 3), numpy.uint8)
    with tempfile.TemporaryDirectory() as folder:
        config_module.save(config, Path(folder) / run.CONFIG_NAME)
        chainer.serializers.save_npz(str(Path(folder) / 'gen_epoch_1.npz'),
                                     run.make_generator(config, seed=0))
        start = time.perf_counter()
        gen, _, _ = run.load_generator(folder, device)
        inference.swap_photos(gen, human, [article], None, device)
        first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        inference.swap_photos(gen, human, [article], None, device)
        times.append(time.perf_counter() - start)
    return {'with_load_s': first, 'swap_s': statistics.median(times),
            'photo': '{}x{}'.format(*photo_size)}


def loader_rate(config, batches=20):
    """Triplets per second from the config's data, as training reads them
    (the dataset decoded once beforehand; decoding time reported apart).
    None when the config's data folder is missing."""
    data = config['data']
    try:
        records = dataset.read_pairs_of(data['root'])
    except DataError:
        return None
    start = time.perf_counter()
    triplets = dataset.TripletDataset(records, data['size'], seed=0,
                                      flip=data['flip'],
                                      worn_dropout=data['worn_dropout'])
    decode = time.perf_counter() - start
    iterator = dataset.make_iterator(triplets, config['train']['batch'],
                                     n_processes=data['loaders'])
    iterator.next()
    start = time.perf_counter()
    for _ in range(batches):
        chainer.dataset.concat_examples(iterator.next())
    seconds = time.perf_counter() - start
    iterator.finalize()
    return {'triplets_per_s': batches * config['train']['batch'] / seconds,
            'decode_s': decode, 'pairs': len(triplets)}


def peak_memory_mib(device):
    """Peak resident memory of this process (MiB), and on a GPU the bytes
    CuPy's memory pool holds."""
    result = {'peak_rss_mib': _peak_rss_mib()}
    if device.xp is not numpy:
        result['gpu_pool_mib'] = (device.xp.get_default_memory_pool()
                                  .total_bytes() / 2 ** 20)
    return result


#: The PyTorch peer, run by another interpreter (never imported).
PEER = Path(__file__).resolve().with_name('peer_torch.py')


def check_peer(config):
    """Refuse, in one line, a config whose step the PyTorch peer does not
    build (it says the same, but only once its interpreter has started).

    Raises:
        cagan.errors.ConfigError: spectral normalisation, inputs
            injected into D, D's projection term, or the warp.
    """
    dis = config['model']['dis']
    lacking = [name for name, used in (
        ('model.dis.spectral_norm', dis['spectral_norm']),
        ('model.dis.inject', dis['inject']),
        ('model.dis.projection', dis['projection']),
        ('model.gen.warp', config['model']['gen']['warp'] != 'none'))
        if used]
    if lacking:
        raise ConfigError('the PyTorch peer does not build {}: compare a '
                          'config without it'.format(', '.join(lacking)))


def peer_step(python, config, steps, script=PEER):
    """Time the config's step in PyTorch: ``script`` (``peer_torch.py``
    beside this module) run by the interpreter ``python`` (an environment
    with torch), in its own process, given the resolved config as JSON.

    Returns:
        dict: ``seconds`` (median), ``times`` (every step's), ``peer``
        (``'torch <version>'``) and ``threads`` (PyTorch's).

    Raises:
        cagan.errors.ConfigError: see :func:`check_peer`.
        cagan.errors.CaganError: the interpreter or torch is missing, or
            the peer failed (its last line of error).
    """
    check_peer(config)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / 'config.json'
        path.write_text(json.dumps(config), encoding='utf-8')
        command = [str(python), str(script), '--config', str(path),
                   '--steps', str(steps)]
        try:
            done = subprocess.run(command, capture_output=True, text=True)
        except OSError as error:
            raise CaganError('cannot run the peer {}: {}: give --peer an '
                             'interpreter with torch installed'.format(
                                 python, error.strerror)) from None
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ['no message'])[-1]
        raise CaganError('the peer {} failed: {}'.format(python, last))
    return json.loads(done.stdout.strip().splitlines()[-1])


class _Timed(object):
    """An extension, or the iterator, with the seconds its calls take added
    to ``seconds[name]``; everything else passes through."""

    def __init__(self, inner, name, seconds, method='__call__'):
        self._inner, self._name, self._seconds = inner, name, seconds
        self._method = method
        seconds.setdefault(name, 0.0)

    def _timed(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return getattr(self._inner, self._method)(*args, **kwargs)
        finally:
            self._seconds[self._name] += time.perf_counter() - start

    def __call__(self, *args, **kwargs):
        return self._timed(*args, **kwargs)

    def next(self):
        return self._timed()

    __next__ = next

    def __getattr__(self, name):
        return getattr(self._inner, name)


def training_phases(config, epochs=1, device='@numpy', processes=1):
    """Where a training run's time goes: ``scripts/train.py``'s trainer for
    a resolved config, run for ``epochs`` in a temporary folder, with each
    phase timed (``processes``: as ``train.py --processes``).

    Returns:
        dict or None (the config's data folder is missing): ``setup_s``
        (reading and decoding the data, building the networks and the
        extensions), ``data_s`` (the iterator's batches and the converter),
        ``steps_s`` (the updates, without their data), ``extensions``
        (``{name: seconds}``, every trainer extension: reports, plots,
        evaluation, previews, snapshots, weights), ``iterations`` and
        ``wall_s`` (the whole run, setup included).
    """
    overrides = {'train': {'epochs': epochs}}
    decay = config['schedule']['decay_from']
    if decay is not None and decay >= epochs:
        overrides['schedule'] = {'decay_from': max(0, epochs - 1)}
    config = config_module.resolve(overrides, 'the phases run', base=config)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        try:
            trainer = training.make_trainer(config, out, device,
                                            processes=processes)
        except DataError:
            return None
        setup = time.perf_counter() - start
        seconds = {}
        updater = trainer.updater
        updater._iterators['main'] = _Timed(updater.get_iterator('main'),
                                            'data', seconds, 'next')
        updater.converter = _Timed(updater.converter, 'data', seconds)
        updater.update = _Timed(updater.update, 'update', seconds)
        extension_seconds = {}
        for name, entry in trainer._extensions.items():
            if isinstance(entry.extension, extensions.PrintReport):
                # Its table is not a figure of this benchmark.
                entry.extension._out = io.StringIO()
            entry.extension = _Timed(entry.extension, name,
                                     extension_seconds)
        trainer.run(show_loop_exception_msg=False)
        wall = time.perf_counter() - start
        iterations = updater.iteration
    return {'setup_s': setup, 'data_s': seconds['data'],
            'steps_s': seconds['update'] - seconds['data'],
            'extensions': extension_seconds, 'iterations': iterations,
            'wall_s': wall}

