"""Train CAGAN on the experiment a YAML config describes.

    python scripts/train.py --config configs/swimwear.yaml
    python scripts/train.py --config configs/demo.yaml --out results/demo --device @numpy

The config holds the experiment; the command line the machine. The run's
folder (default ``results/<config name>``) receives the resolved config,
the log, loss and alpha plots, snapshots, the generator's and
discriminator's weights each epoch, and preview grids. Started again with
the same config and folder, a run continues from its last snapshot (after a
crash, Ctrl-C or kill -9).

    mpiexec -n 2 python scripts/train.py --config configs/demo.yaml \
        --communicator naive

trains with several processes (ranks, data-parallel; see README.md).

    python scripts/train.py --config configs/demo.yaml --processes auto

shares each step among the cores of this machine (see docs/speed.md).
"""

import sys
from pathlib import Path

import cagan  # noqa: F401  (first: it readies chainer for this Python)
from cagan import cli, config, distributed, precision, training
from cagan.errors import CaganError


def main(argv=None):
    parser = cli.ArgumentParser(prog='train.py',
                                description=__doc__.splitlines()[0])
    parser.add_argument('--config', required=True,
                        help='YAML experiment (see configs/)')
    parser.add_argument('--out', default=None,
                        help='run folder (default: results/<config name>)')
    parser.add_argument('--device', default='@numpy',
                        help="'@numpy' or -1 (CPU, default), '@cupy:N' or N")
    parser.add_argument('--seed', type=cli.at_least(0), default=None,
                        help='overrides train.seed of the config')
    parser.add_argument('--precision', default='float32',
                        choices=precision.PRECISIONS,
                        help='float32 (default, the reference article), tf32 (GPU: TF32 '
                        'products) or mixed16 (GPU: float16 with float32 '
                        'master weights and loss scaling); see '
                        'cagan/precision.py')
    parser.add_argument('--communicator', default=None,
                        choices=distributed.COMMUNICATORS,
                        help='ChainerMN communicator, to run under mpiexec '
                        '(naive: CPUs; pure_nccl or flat: one GPU per rank)')
    parser.add_argument('--processes', type=cli.count_or_auto, default=1,
                        help="compute each step in N processes of this "
                        "machine, on shares of the batch, or 'auto': one per "
                        'core (CPU, float32; faster for small networks such '
                        'as the demo\'s; see docs/speed.md)')
    args = parser.parse_args(argv)
    comm = None
    try:
        overrides = ({'train': {'seed': args.seed}} if args.seed is not None
                     else None)
        resolved = config.load(args.config, overrides)
        out = args.out or str(Path('results') / Path(args.config).stem)
        device = cli.get_device(args.device)
        precision.configure(args.precision, device)
        comm, device = distributed.connect(
            args.communicator, device,
            forkserver=resolved['data']['loaders'] > 0)
        trainer = training.make_trainer(resolved, out, device,
                                        progress=sys.stdout.isatty(),
                                        comm=comm, precision=args.precision,
                                        processes=args.processes)
    except CaganError:
        # Every rank meets these alike: rank 0 alone says so.
        if distributed.rank_of(comm) != 0:
            return 1
        raise
    root = distributed.rank_of(comm) == 0
    if root:
        print('training {} on {} ({}) into {}'.format(
            args.config, device, args.precision, out), flush=True)
        if comm is not None:
            print(distributed.describe_line(
                distributed.describe(comm, resolved)), flush=True)
    if comm is None:
        trainer.run()
    else:
        distributed.run(trainer, comm)
    if root:
        print('done: weights, log, plots and previews are in {}'.format(out))


if __name__ == '__main__':
    cli.run(main)
