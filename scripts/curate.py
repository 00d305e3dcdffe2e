"""Curate a dataset the way the reference article did by hand, into a new folder.

    python scripts/curate.py SRC --out DIR [--force] [--min-size 32x32]

Checks every image of SRC/pairs.txt, drops pairs with an unusable file, an
excluding flag (back_view, extra_garment, bottoms_only) or a near-duplicate
article or human, and writes the kept pairs to DIR in our layout with
report.txt, report.json and two contact sheets; the held-out val/ and test/
splits are carried over as they are, and the training ground truth
(truth.txt) keeps the swaps whose human and both articles are kept. SRC is
only read. Exit codes: 0 done, 1 a problem with the data or the output
folder (one line each on stderr), 2 bad arguments. A name in pairs.txt that
leaves humans/ or articles/ (or in truth.txt that leaves SRC), or an image
of more pixels than CAGAN_MAX_PIXELS (default 120000000), stops it with
exit 1 before anything is written.
"""


import cagan  # noqa: F401  (first: it readies the stack; see cagan/_compat.py)
from cagan import cli
from cagan.data import curation
from cagan.errors import CaganError


def build_parser():
    p = cli.ArgumentParser(prog='curate.py', description=__doc__.split('\n\n')[0])
    p.add_argument('src', metavar='SRC', help='dataset folder in our layout (only read)')
    p.add_argument('--out', required=True, metavar='DIR', help='folder to write')
    p.add_argument('--force', action='store_true',
                   help='rebuild DIR even if it is not empty')
    p.add_argument('--min-size', type=cli.size_arg, default=curation.DEFAULT_MIN_SIZE,
                   metavar='HxW', help='smallest usable image, height x width (default '
                   '{}x{})'.format(*curation.DEFAULT_MIN_SIZE))
    p.add_argument('--shape-distance', type=cli.at_least(0.0, float),
                   default=curation.DEFAULT_SHAPE_DISTANCE, metavar='D',
                   help='duplicates are at most this far apart in shape: 1 - the '
                        'correlation of luminance thumbnails, 0..2 (default %(default)s)')
    p.add_argument('--colour-distance', type=cli.at_least(0.0, float),
                   default=curation.DEFAULT_COLOUR_DISTANCE, metavar='D',
                   help='duplicates are at most this far apart in colour: the mean RGB '
                        'distance over the object after the best brightness factor, '
                        '0..1.73 (default %(default)s)')
    p.add_argument('--human-shape-distance', type=cli.at_least(0.0, float), metavar='D',
                   help='--shape-distance for humans (default: the same)')
    p.add_argument('--human-colour-distance', type=cli.at_least(0.0, float), metavar='D',
                   help='--colour-distance for humans (default: the same)')
    p.add_argument('--max-gain', type=cli.at_least(1.0, float),
                   default=curation.DEFAULT_MAX_GAIN, metavar='G',
                   help='duplicates may differ in brightness by up to this factor '
                        '(default %(default)s)')
    p.add_argument('--sheet-pairs', type=cli.at_least(1, int),
                   default=curation.DEFAULT_SHEET_PAIRS, metavar='N',
                   help='kept pairs drawn on the contact sheet; twice as many dropped '
                        'ones on the other (default %(default)s)')
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    options = curation.Options(
        min_size=args.min_size, shape_distance=args.shape_distance,
        colour_distance=args.colour_distance,
        human_shape_distance=args.human_shape_distance,
        human_colour_distance=args.human_colour_distance, max_gain=args.max_gain)
    try:
        # Refuse a bad output folder before the slow part.
        curation.check_output(args.src, args.out, args.force)
        cur = curation.curate(args.src, options)
        result = curation.write_curated(cur, args.out, args.force, args.sheet_pairs)
    except OSError as e:  # no permission, no room on the disk, ...
        raise CaganError(str(e)) from None
    print('curated {} -> {}'.format(args.src, args.out))
    for line in curation.summary_lines(cur):
        print(line)
    print('  images: {} hard-linked, {} copied'.format(result['linked'], result['copied']))
    print('wrote:')
    for path in result['written']:
        print('  ' + path)
    return 0


if __name__ == '__main__':
    cli.run(main)
