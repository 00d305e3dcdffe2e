"""Score a trained generator on held-out data, against doing nothing.

    python scripts/evaluate.py                          # the demo's model on its data
    python scripts/evaluate.py --model results/paper --data data/viton-hd --swaps 500

On data with ground truth (the synthetic test split) it prints, for the
model with the worn article given, without it, and for two references: doing
nothing (x_ij = x_i) and a flat-colour oracle (the true outline, each part
painted its mean true colour: what exact placement without any detail
scores): L1 and SSIM inside the changed region (old and new garment), IoU of
alpha > 0.5 with that region, L1 outside it, whole-image SSIM and PSNR; on
any data the cycle and self errors. A table for people, then one JSON line
for scripts.
"""

import json
import math

import cagan  # noqa: F401  (first: it readies chainer for this Python)
from cagan import cli, evaluation, run
from cagan.data import held_out

ROWS = {
    'changed_l1': 'L1 in the changed region (lower is better)',
    'changed_ssim': 'SSIM in the changed region (higher)',
    'alpha_iou': 'IoU of alpha > 0.5 with that region (higher)',
    'outside_l1': 'L1 outside it (lower)',
    'ssim': 'SSIM, whole image (higher)',
    'psnr': 'PSNR, whole image, dB (higher)',
}

#: The table's columns: the model with and without the worn article, then
#: the references below and above it.
COLUMNS = ('worn', 'no_worn', 'do_nothing', 'flat_oracle')


def finite(scores):
    """JSON has no infinity: a perfect PSNR is written as null."""
    return {k: (v if math.isfinite(v) else None) for k, v in scores.items()}


def main(argv=None):
    parser = cli.ArgumentParser(prog='evaluate.py',
                                description=__doc__.splitlines()[0])
    parser.add_argument('--model', default=str(run.DEFAULT_MODEL),
                        help='a run folder or a gen_*.npz in one (default: '
                        '%(default)s)')
    parser.add_argument('--data', default=None,
                        help='a dataset folder (default: the one the model '
                        'was trained on); its test/ split is used')
    parser.add_argument('--swaps', type=cli.at_least(1), default=256,
                        help='held-out swaps to score (default 256)')
    parser.add_argument('--device', default='@numpy',
                        help="'@numpy' or -1 (CPU, default), '@cupy:N' or N")
    args = parser.parse_args(argv)
    device = cli.get_device(args.device)
    gen, config, weights = run.load_generator(args.model, device)
    root = args.data or config['data']['root']
    size = gen.size

    result = {'model': str(weights), 'data': root}
    found = held_out.truth_file(root)
    if found:
        truth = held_out.read_truth(found, size, args.swaps)
        result['swaps'] = len(truth)
        result['worn'] = evaluation.score_truth(gen, truth, True, device)
        result['no_worn'] = evaluation.score_truth(gen, truth, False, device)
        result['do_nothing'] = evaluation.baseline_truth(truth)
        result['flat_oracle'] = evaluation.oracle_truth(truth)
        triplets = (truth.x_i, truth.y_i, truth.y_j)
    else:
        triplets = held_out.held_out_triplets(root, size, 0, args.swaps)
        result['swaps'] = len(triplets[0])
    result.update(evaluation.score_pairs(gen, *triplets, device=device))

    print('{} on {} ({} held-out swaps, {}x{}):'.format(
        weights, root, result['swaps'], *size))
    if found:
        print('{:46s} {:>10s} {:>10s} {:>10s} {:>11s}'.format(
            '', 'worn given', 'no worn', 'do nothing', 'flat oracle'))
        for key, label in ROWS.items():
            print('{:46s} {:10.4f} {:10.4f} {:10.4f} {:11.4f}'.format(
                label, *(result[column][key] for column in COLUMNS)))
    else:
        print('no ground truth ({} has no test/truth.txt): scores that need '
              'none'.format(root))
    print('{:46s} {:10.4f}'.format('cycle error |x_i - x_iji| (lower)',
                                   result['cycle_error']))
    print('{:46s} {:10.4f}'.format('self error |x_i - G(x_i, y_i, y_i)|',
                                   result['self_error']))
    for key in COLUMNS:
        if key in result:
            result[key] = finite(result[key])
    print(json.dumps(result, sort_keys=True))


if __name__ == '__main__':
    cli.run(main)
