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
from cagan import distributed, inference, run
from cagan.data import dataset
from cagan.errors import CaganError, ConfigError, DataError
from cagan.kernels import threads
from cagan.optimizers import make_adam
from cagan.updater import CAGANUpdater


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


def _conv_macs(batch, cin, cout, out_hw):
    """Multiply-adds of a 4x4 convolution with an ``out_hw`` output."""
    return batch * out_hw[0] * out_hw[1] * cin * cout * 16


def _gen_layers(batch, ch, size):
    """``[(macs, first_layer)]`` of one generator forward pass."""
    h, w = size
    chans = [9, ch // 8, ch // 4, ch // 2, ch]
    layers = [(_conv_macs(batch, chans[k], chans[k + 1],
                          (h >> (k + 1), w >> (k + 1))), k == 0)
              for k in range(4)]
    # A 4x4 stride-2 deconvolution costs what the convolution it transposes
    # does: input size x Cin x Cout x 16.
    dchans = [ch, ch // 2, ch // 4, ch // 8, 4]
    layers += [(_conv_macs(batch, dchans[k], dchans[k + 1],
                           (h >> (4 - k), w >> (4 - k))), False)
               for k in range(4)]
    return layers


def _dis_layers(batch, ch, size, head):
    h, w = size
    chans = [6, ch // 8, ch // 4, ch // 2, ch, ch]
    layers = [(_conv_macs(batch, chans[k], chans[k + 1],
                          (h >> (k + 1), w >> (k + 1))), k == 0)
              for k in range(5)]
    bottom = (h >> 5) * (w >> 5)
    layers.append((batch * bottom * ch * (9 if head == 'patch' else 1),
                   False))
    return layers


def step_gflop(batch, ch, size, head='linear'):
    """GFLOP of one CAGAN training step, counted from the layer shapes.

    2 flops per multiply-add; a backward pass costs its forward once for the
    input gradients (not for a first layer whose input needs none) and once
    for the weight gradients. A step is G(x_i, y_i, y_j) and G(x_ij, y_j,
    y_i) forward and backward, D(x_ij, y_j) forward and back to its input
    only (G's update needs no D weight gradient), then D on 3 pairs forward
    and backward.
    """
    def passes(layers, input_grad, weight_grad=True):
        return sum(m * (1 + (input_grad or not first) + weight_grad)
                   for m, first in layers)
    total = (passes(_gen_layers(batch, ch, size), False)
             + passes(_gen_layers(batch, ch, size), True)
             + passes(_dis_layers(batch, ch, size, head), True, False)
             + passes(_dis_layers(3 * batch, ch, size, head), False))
    return 2 * total / 1e9


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
    data, model = config['data'], config['model']
    size, batch = data['size'], config['train']['batch']
    per_rank = batch_per_rank(config, comm)
    with cagan.precision.building(precision):
        gen = run.make_generator(config, seed=0)
        dis = run.make_discriminator(config, seed=1)
    gen.to_device(device)
    dis.to_device(device)
    rng = numpy.random.default_rng(0 if comm is None else comm.rank)
    triplets = [tuple(rng.random((3,) + tuple(size), dtype=numpy.float32)
                      for _ in range(3)) for _ in range(per_rank)]
    iterator = iterators.SerialIterator(triplets, len(triplets),
                                        shuffle=False)
    # The config's step: its rates (D's own with dis_lr), Adam's betas and
    # the moving average of G (float32, as training keeps it).
    opt = config['optimizer']
    rates = {'gen': opt['lr'],
             'dis': opt['lr'] if opt['dis_lr'] is None else opt['dis_lr']}
    optimizers = {name: make_adam(link, rates[name], opt['beta1'],
                                  opt['beta2'], precision=precision)
                  for name, link in (('gen', gen), ('dis', dis))}
    dtype = gen.c0.W.dtype
    if comm is not None:
        optimizers = {k: distributed.multi_node_optimizer(o, comm)
                      for k, o in optimizers.items()}
    gen_ema = (None if opt['ema'] is None
               else run.make_generator(config, seed=0))
    updater = CAGANUpdater(iterator, optimizers, device=device,
                           gen_ema=gen_ema, ema=opt['ema'],
                           processes=processes)
    reporter = chainer.Reporter()
    reporter.add_observer('gen', gen)
    reporter.add_observer('dis', dis)
    gflop = step_gflop(batch, model['ch'], size, model['head'])
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


def peer_args(config):
    """``scripts/peer_torch.py``'s arguments for the training step of a
    resolved config (what :func:`training_step` times).

    Raises:
        cagan.errors.ConfigError: the config uses an option the peer does
            not build (spectral normalisation, inputs injected into D).
    """
    model, opt = config['model'], config['optimizer']
    lacking = [name for name, used in (
        ('model.spectral_norm', model['spectral_norm']),
        ("model.inject 'both'", model['inject'] == 'both')) if used]
    if lacking:
        raise ConfigError('the PyTorch peer does not build {}: compare a '
                          'config without it'.format(', '.join(lacking)))
    args = ['--size', '{}x{}'.format(*config['data']['size']),
            '--ch', model['ch'], '--batch', config['train']['batch'],
            '--head', model['head'], '--upsample', model['upsample'],
            '--noise', model['noise_sigma'], '--lr', opt['lr'],
            '--beta1', opt['beta1'], '--beta2', opt['beta2']]
    if opt['dis_lr'] is not None:
        args += ['--dis-lr', opt['dis_lr']]
    if opt['ema'] is not None:
        args += ['--ema', opt['ema']]
    if model['inject'] == 'gen':
        args.append('--inject')
    return [str(a) for a in args]


def peer_step(python, script, config, steps):
    """Time the config's step in PyTorch: ``script`` (scripts/peer_torch.py)
    run by the interpreter ``python`` (an environment with torch), in its
    own process.

    Returns:
        dict: ``seconds`` (median), ``times`` (every step's), ``peer``
        (``'torch <version>'``) and ``threads`` (PyTorch's).

    Raises:
        cagan.errors.CaganError: the interpreter or torch is missing, or
            the peer failed (its last line of error).
    """
    command = [str(python), str(script)] + peer_args(config) + [
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
    from cagan import training  # the trainer's module needs matplotlib
    overrides = {'train': {'epochs': epochs}}
    decay = config['optimizer'].get('decay_from')
    if decay is not None and decay >= epochs:
        overrides['optimizer'] = {'decay_from': max(0, epochs - 1)}
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

