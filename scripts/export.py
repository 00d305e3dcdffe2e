"""Export a trained generator to ONNX, for serving without Chainer.

    python scripts/export.py --model results/demo --out gen.onnx
    python scripts/export.py --model results/demo/gen_epoch_10.npz --out gen10.onnx

The model is the swap (x_i, y_i, y_j) -> (x_ij, alpha), the composition
included, with a free batch axis; its metadata holds the run's config and
the input contract (size, value range, channel order; see
cagan/serving/onnx_model.py). The file is checked with ONNX's checker and, on the
same inputs, against the Chainer generator it came from. Needs onnx
(``pip install -e .[serve]``). A warping generator's file (model.gen.warp)
uses onnxruntime's own GridSample (domain com.microsoft, at opset 11; see
cagan/export.py): it runs on onnxruntime, as cagan's serving does.
"""

import cagan  # noqa: F401  (first: it readies chainer for this Python)
from cagan import cli, export, run
from cagan.errors import CaganError


def main(argv=None):
    parser = cli.ArgumentParser(prog='export.py',
                                description=__doc__.splitlines()[0])
    parser.add_argument('--model', default=str(run.DEFAULT_MODEL),
                        help='a run folder (its best, else newest weights) or '
                        'a gen_*.npz in one (default: %(default)s)')
    parser.add_argument('--out', default='gen.onnx',
                        help='the ONNX file (default: %(default)s)')
    args = parser.parse_args(argv)
    gen, config, weights = run.load_generator(args.model)
    export.export_generator(gen, config, args.out)
    try:
        gap = export.compare_with_chainer(gen, args.out)
    except CaganError as error:
        print('{} written and checked; not compared with Chainer: {}'.format(
            args.out, error))
        return
    if gap > export.TOLERANCE:
        raise CaganError('{}: differs from {} by {:.2g} (more than {:g}): '
                         'do not serve it'.format(args.out, weights, gap,
                                                  export.TOLERANCE))
    print('{} -> {} ({}x{}); onnxruntime matches Chainer to {:.1e}'.format(
        weights, args.out, gen.size[0], gen.size[1], gap))


if __name__ == '__main__':
    cli.run(main)
