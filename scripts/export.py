"""Export a trained generator to ONNX, for serving without Chainer.

    python scripts/export.py --model results/demo --out gen.onnx
    python scripts/export.py --model results/demo/gen_epoch_10.npz --out gen10.onnx

The model is the swap (x_i, y_i, y_j) -> (x_ij, alpha), the composition
included, with a free batch axis; its metadata holds the run's config and
the input contract (size, value range, channel order; see
cagan/serving/onnx_model.py). The file is checked with ONNX's checker and, on the
same inputs, against the Chainer generator it came from. Needs onnx
(``pip install -e .[serve]``).
"""

import cagan  # noqa: F401  (first: it readies chainer for this Python)
import numpy
from cagan import cli, export, inference, run
from cagan.errors import CaganError
from cagan.serving.onnx_model import OnnxGenerator

#: The largest difference from Chainer's output the export may show.
TOLERANCE = 1e-4


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
    # The same random triplets through both: what the file computes.
    rng = numpy.random.default_rng(0)
    triplets = [rng.random((2, 3) + gen.size, dtype=numpy.float32)
                for _ in range(3)]
    ours = inference.swap_arrays(gen, *triplets)
    try:
        theirs = OnnxGenerator(args.out).swap(*triplets)
    except CaganError as error:
        print('{} written and checked; not compared with Chainer: {}'.format(
            args.out, error))
        return
    gap = max(float(abs(a - b).max()) for a, b in zip(ours, theirs))
    if gap > TOLERANCE:
        raise CaganError('{}: differs from {} by {:.2g} (more than {:g}): '
                         'do not serve it'.format(args.out, weights, gap,
                                                  TOLERANCE))
    print('{} -> {} ({}x{}); onnxruntime matches Chainer to {:.1e}'.format(
        weights, args.out, gen.size[0], gen.size[1], gap))


if __name__ == '__main__':
    cli.run(main)
