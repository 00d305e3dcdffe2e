"""Write the procedural synthetic swimwear dataset (see cagan/data/synthetic/).

    python scripts/make_synthetic.py --out data/synthetic --pairs 2000
    python scripts/make_synthetic.py --out /tmp/s --pairs 500 \
        --size 256x256 --seed 1 --val 16 --test 32
    python scripts/make_synthetic.py --out data/synthetic --pairs 2400 \
        --framing thigh --style catalogue    # make demo's set

Writes DIR/humans/, DIR/articles/, DIR/pairs.txt (with planted, flagged
cases), the training pairs' ground truth (DIR/truth.txt, DIR/truth/), and
the held-out DIR/val/ and DIR/test/ splits with ground truth, as
data/README.md describes, then prints the rate and where things are. Bad
arguments give one line on stderr and exit status 2 (a folder that cannot
be written: one line, status 1).
"""

import os
import sys

import cagan  # noqa: F401  (first: it readies chainer for this NumPy)
from cagan import cli
from cagan.data import synthetic
from cagan.errors import CaganError


def main(argv=None):
    parser = cli.ArgumentParser(prog='make_synthetic.py', description=__doc__.split(
        '\n')[0])
    parser.add_argument('--out', required=True,
                        help='dataset folder (created; existing files of '
                        'the same names are replaced)')
    parser.add_argument('--pairs', required=True, type=cli.at_least(1),
                        help='training pairs')
    parser.add_argument('--size', type=cli.size_arg, default=(128, 96),
                        help='HxW, e.g. 128x96 (default) or 256x256')
    parser.add_argument('--seed', type=cli.at_least(0), default=0,
                        help='the same seed writes the same bytes '
                        '(default 0)')
    parser.add_argument('--val', type=cli.at_least(0), default=64,
                        help='validation pairs with ground truth (scored '
                        'every epoch, to choose the best one), 0 or >= 2 '
                        '(default 64)')
    parser.add_argument('--test', type=cli.at_least(0), default=256,
                        help='test pairs with ground truth (for '
                        'scripts/evaluate.py), 0 or >= 2 (default 256)')
    parser.add_argument('--no-train-truth', dest='train_truth',
                        action='store_false',
                        help='do not write the training pairs\' ground '
                        'truth (truth.txt, truth/; the supervised '
                        'reference mode needs it)')
    parser.add_argument('--style', choices=sorted(synthetic.STYLES),
                        default='street',
                        help="'street': varied backgrounds, poses and "
                        "framing (default); 'catalogue': a shop's studio "
                        "photos (light plain backdrop, centred standing "
                        "model, arms down or at the hips)")
    parser.add_argument('--framing', choices=sorted(synthetic.FRAMINGS),
                        default='full',
                        help="'full': head to feet (default); 'thigh': head "
                        "to mid-thigh, as the CAGAN paper's shop photos "
                        "(the swimwear about twice the area)")
    args = parser.parse_args(argv)

    def progress(done, total):
        if total >= 2000:
            print('  {}/{} pairs'.format(done, total), file=sys.stderr,
                  flush=True)

    try:
        result = synthetic.write_dataset(
            args.out, args.pairs, args.size, seed=args.seed,
            test_pairs=args.test, progress=progress, framing=args.framing,
            val_pairs=args.val, train_truth=args.train_truth,
            style=args.style)
    except CaganError as e:
        parser.exit(2, '{}: error: {}\n'.format(parser.prog, e))
    except OSError as e:   # cannot write there: no traceback either
        parser.exit(1, '{}: error: {}\n'.format(parser.prog, e))
    counts = result.flag_counts()
    out = os.path.normpath(args.out)
    print('wrote {} training, {} validation and {} test pairs of {}x{} '
          '({} style, seed {}) in {:.1f} s: {:.0f} pairs/s'.format(
              len(result.train), len(result.val), len(result.test),
              *result.size, args.style, result.seed, result.seconds,
              result.rate))
    print('  training:   {} ({}; humans/, articles/)'.format(
        os.path.join(out, 'pairs.txt'),
        ', '.join('{} {}'.format(n, k) for k, n in counts.items())))
    if result.train_truth:
        print('              {} ({} swaps; ground truth in {})'.format(
            os.path.join(out, 'truth.txt'), len(result.train_truth),
            os.path.join(out, 'truth') + os.sep))
    for split, name, items in (('val', 'validation', result.val),
                               ('test', 'test', result.test)):
        if items:
            print('  {:11s} {} and {} (ground truth in {})'.format(
                name + ':', os.path.join(out, split, 'pairs.txt'),
                os.path.join(out, split, 'truth.txt'),
                os.path.join(out, split, 'truth') + os.sep))


if __name__ == '__main__':
    cli.run(main)
