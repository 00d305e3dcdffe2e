"""How fast CAGAN trains and swaps here, against this machine's limit.

    python scripts/benchmark.py --quick                 # what `make bench` runs (CPU)
    python scripts/benchmark.py --device @cupy:0        # the same on a GPU
    python scripts/benchmark.py --device @cupy:0 --precision mixed16
    python scripts/benchmark.py --config configs/paper.yaml --steps 5 --compare
    mpiexec -n 2 -x OPENBLAS_NUM_THREADS=1 python scripts/benchmark.py \
        --communicator naive --config configs/paper.yaml   # data-parallel
    python scripts/benchmark.py --config configs/demo.yaml \
        --peer /tmp/torch/bin/python --phases 1   # against PyTorch; phases
    python scripts/benchmark.py --config configs/demo.yaml --processes auto

For each config (default: the reference article's at 256x256 and at the paper's 128x96,
and configs/demo.yaml) it times training steps on random triplets (median
after a warm-up step) and prints seconds per step, images per second, GFLOP
per step (from the layer shapes), GFLOP/s, this process's float32 GEMM
ceiling and the ratio of the two: the headline, since absolute times drift on
shared machines (a ceiling sample follows each step; the ratio is the median
of the per-step ratios). Then the swap latency of one 1024x768 photo (with and
without loading the model), the data loader's triplets per second and the
peak memory. One JSON line per figure, then a table. ``threads`` is the
number of threads of the NumPy work (cagan/kernels/threads.py: the usable
cores, or under mpiexec the cores over the ranks on a machine), ``blas``
BLAS's threads outside them; ``--compare`` also times the step with its
NumPy work on one thread, on one core (NumPy work and BLAS on one thread,
against a one-thread ceiling: what a core reaches, apart from how the cores
scale) and with Chainer's own layers (``cagan_cpu_kernels`` at ``'never'``,
see cagan/kernels/__init__.py). Not a test: nothing here passes or fails.

``--peer PYTHON`` times the same step in PyTorch (scripts/peer_torch.py,
run by PYTHON, an environment of its own with torch installed), taking
turns with cagan's step ``--rounds`` times in this run; it prints both
medians and their ratio. ``--phases EPOCHS`` trains each config for that
many epochs as scripts/train.py does (on the config's data, in a temporary
folder) and prints where the time went: setup, the data path, the steps
and each of the trainer's extensions, in seconds and per step.

``--processes N`` (or ``auto``: one per core) times, compares and trains
with each step shared by N processes of this machine, as ``train.py
--processes`` trains (cagan/parallel.py).

Under mpiexec with ``--communicator``, the step is the data-parallel one of
``train.py --communicator`` (each rank on its share of ``train.batch``, the
gradients averaged over the ranks) and the ceiling is the sum of every
rank's, sampled at once; only the GEMM ceiling and training steps are
measured, and rank 0 prints them.
"""

import contextlib
import json
import statistics
from pathlib import Path

import cagan  # noqa: F401  (first: it readies chainer for this Python)
import cagan.precision
import chainer
from cagan import benchmark, cli, config, distributed
from cagan.errors import CaganError
from cagan.kernels import threads

REFERENCE_AT_PAPER_SIZE = {'data': {'size': [128, 96]}}
PEER = Path(__file__).resolve().with_name('peer_torch.py')
DEFAULTS = (('reference 256x256', 'configs/swimwear.yaml', None),
            ('reference 128x96', 'configs/swimwear.yaml', REFERENCE_AT_PAPER_SIZE),
            ('demo', 'configs/demo.yaml', None))


def main(argv=None):
    parser = cli.ArgumentParser(prog='benchmark.py',
                                description=__doc__.splitlines()[0])
    parser.add_argument('--config', action='append', default=None,
                        help='a YAML experiment (repeatable; default: the '
                        "reference article's at two sizes and the demo's)")
    parser.add_argument('--device', default='@numpy',
                        help="'@numpy' or -1 (CPU, default), '@cupy:N' or N")
    parser.add_argument('--steps', type=cli.at_least(1), default=None,
                        help='timed steps per config (default 5, 2 with '
                        '--quick, after 1 warm-up)')
    parser.add_argument('--quick', action='store_true',
                        help='fewer steps: the CPU part in a few minutes')
    parser.add_argument('--compare', action='store_true',
                        help='also time the step with its NumPy work on one '
                        'thread, all of it on one core, and with Chainer\'s '
                        'own layers (the speed-ups of cagan.kernels, CPU)')
    parser.add_argument('--precision', default='float32',
                        choices=cagan.precision.PRECISIONS,
                        help='float32 (default), tf32 or mixed16 (GPU; see '
                        'cagan/precision.py): the steps in it, against a '
                        'ceiling in its compute dtype')
    parser.add_argument('--peer', default=None, metavar='PYTHON',
                        help='an interpreter with torch: time the same step '
                        'in PyTorch (scripts/peer_torch.py), taking turns '
                        "with cagan's")
    parser.add_argument('--rounds', type=cli.at_least(1), default=2,
                        help='turns each side takes with --peer (default 2; '
                        'each times --steps steps)')
    parser.add_argument('--phases', type=cli.at_least(1), default=None,
                        metavar='EPOCHS',
                        help='train each config this many epochs as '
                        'train.py does and print where the time goes')
    parser.add_argument('--communicator', default=None,
                        choices=distributed.COMMUNICATORS,
                        help='ChainerMN communicator, to run under mpiexec '
                        '(naive on CPUs): the data-parallel step')
    parser.add_argument('--processes', type=cli.count_or_auto, default=1,
                        help="share each step among N processes of this "
                        "machine, or 'auto': one per core (as train.py "
                        '--processes)')
    args = parser.parse_args(argv)
    steps = args.steps or (2 if args.quick else 5)
    comm = None
    try:
        # Every config is checked before anything is measured.
        sources = ([(path, path, None) for path in args.config]
                   if args.config else DEFAULTS)
        runs = [(name, config.load(path, overrides))
                for name, path, overrides in sources]
        device = cli.get_device(args.device)
        cagan.precision.configure(args.precision, device)
        comm, device = distributed.connect(args.communicator, device)
        processes = {}
        for name, resolved in runs:
            benchmark.batch_per_rank(resolved, comm)
            processes[name] = training_processes(args, resolved, device,
                                                 comm)
            if args.peer:
                benchmark.peer_args(resolved)
    except CaganError:
        # Every rank meets these alike: rank 0 alone says so.
        if distributed.rank_of(comm) != 0:
            return 1
        raise
    device.use()

    rows = []

    root = distributed.rank_of(comm) == 0
    ranks = 1 if comm is None else comm.size

    def emit(figure):
        if root:
            print(json.dumps(figure, sort_keys=True), flush=True)
        rows.append(figure)

    dtype = 'float16' if args.precision == 'mixed16' else 'float32'
    ceiling = benchmark.gemm_ceiling(device, comm=comm, dtype=dtype)
    emit({'figure': 'gemm_ceiling', 'device': str(device), 'ranks': ranks,
          'precision': args.precision, 'dtype': dtype,
          'gflops': round(ceiling, 1)})
    for name, resolved in runs:
        variants = [('cagan', contextlib.nullcontext)]
        if args.compare and device.xp.__name__ == 'numpy':
            if threads.workers() > 1:
                # The same layers with the NumPy work on one thread.
                variants.append(('cagan', lambda: threads.using_workers(1)))
            if threads.workers() > 1 or (threads.blas_threads() or 1) > 1:
                # All of it on one core, against a one-thread ceiling.
                variants.append(('cagan', threads.single_core))
            # Chainer's own functions for the layers (cagan.kernels).
            variants.append(('chainer', lambda: chainer.using_config(
                'cagan_cpu_kernels', 'never')))
        for layers, setting in variants:
            with setting():
                step = benchmark.training_step(
                    resolved, device, steps, comm=comm,
                    precision=args.precision, processes=processes[name])
            model, data = resolved['model'], resolved['data']
            emit({'figure': 'training_step', 'config': name,
                  'layers': layers, 'device': str(device),
                  'precision': args.precision,
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
        return
    for name, resolved in runs if args.peer else ():
        ours, theirs = [], []
        for _ in range(args.rounds):
            ours += benchmark.training_step(
                resolved, device, steps, processes=processes[name])['times']
            peer = benchmark.peer_step(args.peer, PEER, resolved, steps)
            theirs += peer['times']
        emit({'figure': 'peer_step', 'config': name, 'peer': peer['peer'],
              'steps': len(ours), 'threads': threads.workers(),
              'processes': processes[name],
              'peer_threads': peer['threads'],
              'seconds': round(statistics.median(ours), 4),
              'peer_seconds': round(statistics.median(theirs), 4),
              'ratio': round(statistics.median(ours)
                             / statistics.median(theirs), 3)})
    for name, resolved in runs if args.phases else ():
        phases = benchmark.training_phases(resolved, args.phases, device,
                                           processes[name])
        if phases is not None:
            emit(dict({'figure': 'training_phases', 'config': name,
                       'epochs': args.phases,
                       'processes': processes[name]}, **phases))
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


def training_processes(args, resolved, device, comm):
    """``--processes`` for one config, checked as train.py checks it."""
    from cagan import training  # the trainer's module needs matplotlib
    return training.check_processes(args.processes, resolved, device, comm,
                                    args.precision)


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


if __name__ == '__main__':
    cli.run(main)
