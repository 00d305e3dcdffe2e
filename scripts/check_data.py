"""Check a dataset folder before training: every pair, every image.

    python scripts/check_data.py data/swimwear [--size 256x256] [--split train]

Prints one line per problem and exits 1, or a summary and exits 0.
"""


import cagan  # noqa: F401  (first: it readies chainer)
from cagan import cli
from cagan.data import dataset


def main(argv=None):
    parser = cli.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root', help='dataset folder (our layout or VITON)')
    parser.add_argument('--size', type=cli.size_arg, default=(256, 256),
                        help='network input size HxW (default 256x256)')
    parser.add_argument('--split', choices=dataset.SPLITS, default='train',
                        help='train (default), val or test')
    parser.add_argument('--keep-flagged', action='store_true',
                        help='keep pairs flagged back_view, extra_garment or '
                             'bottoms_only')
    args = parser.parse_args(argv)
    records = dataset.read_pairs_of(args.root, args.split,
                                    skip_flagged=not args.keep_flagged)
    triplets = dataset.TripletDataset(records, args.size)
    print('{}: {} layout, {} split: {} pairs, {} humans, {} articles in {} '
          'groups, all readable, fitted to {}x{}'.format(
              args.root, dataset.detect_layout(args.root), args.split,
              len(triplets), len({r.human for r in records}),
              len({r.article for r in records}),
              len({r.group for r in records}), *triplets.size))


if __name__ == '__main__':
    cli.run(main)
