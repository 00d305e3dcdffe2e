"""The benchmark's figures for a list of configs, as ``scripts/benchmark.py``
prints them: one JSON line per figure as it is measured, then tables.

See :mod:`cagan.experiments.benchmark` for what each figure measures.
"""

import contextlib
import json
import statistics

import chainer

from cagan.experiments import benchmark
from cagan.kernels import threads


def measure(runs, device, steps, processes, comm=None, precision='float32',
            compare=False, peer=None, rounds=2, phases=None):
    """Measure every figure of ``runs`` and print them.

    Args:
        runs (list): ``(name, resolved config)`` pairs.
        device (chainer.backend.Device): where the steps run (in use).
        steps (int): timed steps per config.
        processes (dict): name -> ``--processes`` count (checked already).
        comm: a ChainerMN communicator (steps and ceiling only; rank 0
            prints) or None.
        precision (str): one of :data:`cagan.precision.PRECISIONS`,
            configured already.
        compare (bool): also time the step's variants (one thread, one
            core, Chainer's own layers; CPU).
        peer (str or None): an interpreter with torch: the PyTorch peer.
        rounds (int): turns each side takes with ``peer``.
        phases (int or None): epochs of a real training to split in phases.

    Returns:
        list of dict: the figures, as printed.
    """
    rows = []
    root = comm is None or comm.rank == 0
    ranks = 1 if comm is None else comm.size

    def emit(figure):
        if root:
            print(json.dumps(figure, sort_keys=True), flush=True)
        rows.append(figure)

    dtype = 'float16' if precision == 'mixed16' else 'float32'
    ceiling = benchmark.gemm_ceiling(device, comm=comm, dtype=dtype)
    emit({'figure': 'gemm_ceiling', 'device': str(device), 'ranks': ranks,
          'precision': precision, 'dtype': dtype,
          'gflops': round(ceiling, 1)})
    for name, resolved in runs:
        for layers, setting in _variants(device, compare):
            with setting():
                step = benchmark.training_step(
                    resolved, device, steps, comm=comm,
                    precision=precision, processes=processes[name])
            model, data = resolved['model'], resolved['data']
            emit({'figure': 'training_step', 'config': name,
                  'layers': layers, 'device': str(device),
                  'precision': precision,
                  'size': '{}x{}'.format(*data['size']), 'ch': model['ch'],
                  'batch': resolved['train']['batch'], 'ranks': step['ranks'],
                  'processes': processes[name],
                  'threads': step['threads'],
                  'blas_threads': step['blas_threads'],
                  'steps': step['steps'],
                  'seconds': round(step['seconds'], 4),
                  'images_per_s': round(step['images_per_s'], 2),
                  'gflop': round(step['gflop'], 2),
                  'gflops': round(step['gflops'], 1),
                  'ceiling_gflops': round(step['ceiling_gflops'], 1),
                  'ratio': round(step['ratio'], 3)})
    if comm is not None:
        if root:
            _print_steps(rows)
        return rows
    for name, resolved in runs if peer else ():
        ours, theirs = [], []
        for _ in range(rounds):
            ours += benchmark.training_step(
                resolved, device, steps, processes=processes[name])['times']
            timed = benchmark.peer_step(peer, resolved, steps)
            theirs += timed['times']
        emit({'figure': 'peer_step', 'config': name, 'peer': timed['peer'],
              'steps': len(ours), 'threads': threads.workers(),
              'processes': processes[name],
              'peer_threads': timed['threads'],
              'seconds': round(statistics.median(ours), 4),
              'peer_seconds': round(statistics.median(theirs), 4),
              'ratio': round(statistics.median(ours)
                             / statistics.median(theirs), 3)})
    for name, resolved in runs if phases else ():
        found = benchmark.training_phases(resolved, phases, device,
                                          processes[name])
        if found is not None:
            emit(dict({'figure': 'training_phases', 'config': name,
                       'epochs': phases,
                       'processes': processes[name]}, **found))
    name, resolved = runs[-1]
    swap = benchmark.swap_latency(resolved, device)
    emit(dict({'figure': 'swap_latency', 'config': name},
              **{k: round(v, 4) if isinstance(v, float) else v
                 for k, v in swap.items()}))
    loader = benchmark.loader_rate(resolved)
    if loader:
        emit(dict({'figure': 'data_loader', 'config': name},
                  **{k: round(v, 1) for k, v in loader.items()}))
    emit(dict({'figure': 'memory'},
              **{k: round(v, 1) for k, v in
                 benchmark.peak_memory_mib(device).items()}))

    _print_steps(rows)
    _print_peers(rows)
    _print_phases(rows)
    print('swap of a {photo} photo: {swap_s:.3f} s ({with_load_s:.3f} s with '
          'the model load)'.format(**swap))
    if loader:
        print('data loader: {:.0f} triplets/s (decoding {} pairs once: '
              '{:.1f} s)'.format(loader['triplets_per_s'], loader['pairs'],
                                 loader['decode_s']))
    print('peak memory: {:.0f} MiB'.format(_peak(rows)))
    return rows


def _variants(device, compare):
    """``(layers, context)`` of each way the step is timed."""
    variants = [('cagan', contextlib.nullcontext)]
    if compare and device.xp.__name__ == 'numpy':
        if threads.workers() > 1:
            # The same layers with the NumPy work on one thread.
            variants.append(('cagan', lambda: threads.using_workers(1)))
        if threads.workers() > 1 or (threads.blas_threads() or 1) > 1:
            # All of it on one core, against a one-thread ceiling.
            variants.append(('cagan', threads.single_core))
        # Chainer's own functions for the layers (cagan.kernels).
        variants.append(('chainer', lambda: chainer.using_config(
            'cagan_cpu_kernels', 'never')))
    return variants


def _print_steps(rows):
    print()
    print('{:14s} {:8s} {:>5s} {:>5s} {:>7s} {:>4s} {:>8s} {:>6s} {:>9s} '
          '{:>8s} {:>9s} {:>7s}'.format('config', 'layers', 'ranks', 'procs',
                                        'threads', 'blas', 's/step', 'img/s',
                                        'GFLOP', 'GFLOP/s', 'ceiling',
                                        'ratio'))
    for row in rows:
        if row['figure'] == 'training_step':
            print('{config:14s} {layers:8s} {ranks:5d} {processes:5d}'
                  ' {threads:7d} {blas:>4s} {seconds:8.3f}'
                  ' {images_per_s:6.1f} {gflop:9.1f} {gflops:8.1f}'
                  ' {ceiling_gflops:9.1f} {ratio:7.3f}'.format(
                      blas=str(row['blas_threads'] or '-'), **row))


def _print_peers(rows):
    for row in rows:
        if row['figure'] == 'peer_step':
            print('{config}: cagan {seconds:.3f} s/step ({processes} '
                  'process(es)), {peer} {peer_seconds:.3f} s/step ({threads} '
                  'and {peer_threads} threads, medians of {steps} steps '
                  'each): ratio {ratio:.2f}'.format(**row))


def _print_phases(rows):
    for row in rows:
        if row['figure'] != 'training_phases':
            continue
        steps = row['iterations']
        print('\n{config}, {epochs} epoch(s), {iterations} steps, {wall_s:.1f} '
              's in all ({processes} process(es)):'.format(**row))
        parts = [('setup (data, networks)', row['setup_s']),
                 ('data path', row['data_s']), ('steps', row['steps_s'])]
        parts += sorted(row['extensions'].items(), key=lambda kv: -kv[1])
        for label, seconds in parts:
            print('  {:24s} {:8.2f} s {:8.1f} ms/step {:6.1%}'.format(
                label, seconds, 1000 * seconds / max(1, steps),
                seconds / row['wall_s']))


def _peak(rows):
    return [r for r in rows if r['figure'] == 'memory'][0]['peak_rss_mib']
