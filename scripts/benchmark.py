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
per step (counted from the built networks, cagan/experiments/flops.py),
GFLOP/s, this process's float32 GEMM ceiling and the ratio of the two: the
headline, since absolute times drift on shared machines (a ceiling sample
follows each step; the ratio is the median of the per-step ratios). Then the
swap latency of one 1024x768 photo (with and
without loading the model), the data loader's triplets per second and the
peak memory. One JSON line per figure, then a table. ``threads`` is the
number of threads of the NumPy work (cagan/kernels/threads.py: the usable
cores, or under mpiexec the cores over the ranks on a machine), ``blas``
BLAS's threads outside them; ``--compare`` also times the step with its
NumPy work on one thread, on one core (NumPy work and BLAS on one thread,
against a one-thread ceiling: what a core reaches, apart from how the cores
scale) and with Chainer's own layers (``cagan_cpu_kernels`` at ``'never'``,
see cagan/kernels/__init__.py). Not a test: nothing here passes or fails.

``--peer PYTHON`` times the same step in PyTorch (cagan/experiments/peer_torch.py,
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


import cagan  # noqa: F401  (first: it readies chainer for this Python)
import cagan.precision
from cagan import cli, config, distributed, training
from cagan.experiments import benchmark, figures
from cagan.errors import CaganError

REFERENCE_AT_PAPER_SIZE = {'data': {'size': [128, 96]}}
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
                        'in PyTorch (cagan/experiments/peer_torch.py), taking turns '
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
                benchmark.check_peer(resolved)
    except CaganError:
        # Every rank meets these alike: rank 0 alone says so.
        if distributed.rank_of(comm) != 0:
            return 1
        raise
    device.use()
    figures.measure(runs, device, steps, processes, comm, args.precision,
                    args.compare, args.peer, args.rounds, args.phases)


def training_processes(args, resolved, device, comm):
    """``--processes`` for one config, checked as train.py checks it."""
    return training.check_processes(args.processes, resolved, device, comm,
                                    args.precision)


if __name__ == '__main__':
    cli.run(main)
