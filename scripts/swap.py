"""Dress the person of a photo in one or more articles with a trained model.

    python scripts/swap.py human.jpg article.jpg
    python scripts/swap.py human.jpg a.jpg b.jpg c.jpg --out looks/me.png
    python scripts/swap.py human.jpg article.jpg --worn worn.jpg --model results/demo
    python scripts/swap.py human.jpg article.jpg --model gen.onnx   # no Chainer

Takes any common photo (JPEG, PNG, WebP; RGB, RGBA, grey, palette, CMYK,
16-bit; EXIF rotation; any size and aspect ratio). For OUT (default
``swap.png``) it writes the human photo at its own size wearing the article
(``OUT``; with several articles ``OUT-<article>.png`` each), the alpha map
(``-alpha``) and a side-by-side sheet ``-side``, one row per article: human
| article | result | alpha. Without ``--worn`` the model gets the neutral
stand-in for the worn article (see worn-article dropout in README.md).
A ``.onnx`` model (``scripts/export.py``) runs through onnxruntime, with the
same files and without importing Chainer.
"""

from pathlib import Path

import cagan  # noqa: F401  (first: it readies chainer, if it is imported)
from cagan import cli, visualize
from cagan.serving import tryon
from cagan.data import images

#: What ``make demo`` trains (cagan.run.DEFAULT_MODEL, named here so that
#: an ONNX swap does not import Chainer to learn it).
DEFAULT_MODEL = 'results/demo'


def main(argv=None):
    parser = cli.ArgumentParser(prog='swap.py',
                                description=__doc__.splitlines()[0])
    parser.add_argument('human', help='photo of the person')
    parser.add_argument('articles', nargs='+', help='product photo(s)')
    parser.add_argument('--worn', default=None,
                        help='product photo of the article the person wears')
    parser.add_argument('--model', default=DEFAULT_MODEL,
                        help='a run folder, a gen_*.npz in one, or a .onnx '
                        'file from scripts/export.py (default: %(default)s, '
                        'what `make demo` trains)')
    parser.add_argument('--out', default='swap.png',
                        help='result file; the alpha map and the sheet go '
                        'beside it (default: %(default)s)')
    parser.add_argument('--device', default='@numpy',
                        help="'@numpy' or -1 (CPU, default), '@cupy:N' or N "
                        '(Chainer models)')
    args = parser.parse_args(argv)

    # Read every input before the model, so a bad photo fails fast.
    human = images.load_rgb(args.human)
    articles = [images.load_rgb(a) for a in args.articles]
    worn = images.load_rgb(args.worn) if args.worn else None
    if args.model.endswith('.onnx'):
        from cagan.serving.onnx_model import OnnxGenerator
        model = OnnxGenerator(args.model)
        swaps = tryon.dress(model.swap, model.size, human, articles, worn)
        weights = args.model
    else:
        from cagan import inference, run
        device = cli.get_device(args.device)
        gen, _, weights = run.load_generator(args.model, device)
        swaps = inference.swap_photos(gen, human, articles, worn, device)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows, written = [], []
    for path, article, swap in zip(args.articles, articles, swaps):
        target = out if len(swaps) == 1 else out.with_name(
            '{}-{}{}'.format(out.stem, Path(path).stem, out.suffix))
        alpha = target.with_name('{}-alpha.png'.format(target.stem))
        visualize.save_image(swap.result, target)
        visualize.save_image(images.to_hwc(swap.alpha[None].repeat(3, 0)),
                             alpha)
        written += [target, alpha]
        rows.append([human, article, swap.result, swap.alpha])
    side = out.with_name('{}-side.png'.format(out.stem))
    visualize.save_image(visualize.side_by_side(rows), side)
    written.append(side)
    print('{} ({}x{}) dressed in {} article(s) by {}:'.format(
        args.human, human.shape[0], human.shape[1], len(articles), weights))
    for path in written:
        print('  ' + str(path))


if __name__ == '__main__':
    cli.run(main)
