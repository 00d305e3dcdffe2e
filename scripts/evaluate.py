"""Score a trained generator on held-out data, against doing nothing.

    python scripts/evaluate.py                          # the demo's model on its data
    python scripts/evaluate.py --model results/paper --data data/viton-hd --swaps 500

It scores the dataset's test split (never seen in training, nor in the
choice of the best epoch, which uses val/). On data with ground truth (the
synthetic test split) it prints, for the model with the worn article given,
without it, for the same generator untrained (the run's initial weights),
and for two references: doing nothing (x_ij = x_i) and a flat-colour oracle
(the true outline, each part painted its mean true colour: what exact
placement without any detail scores): L1 and SSIM inside the changed region
(old and new garment), IoU of alpha > 0.5 with that region, L1 outside it,
SSIM inside the true new garment alone (print SSIM: whether its print
arrives), whole-image SSIM and PSNR, and the changed-region L1 over doing
nothing's; on any data the cycle and self errors. A table for people, then
one JSON line for scripts.
"""

import json
from pathlib import Path

import cagan  # noqa: F401  (first: it readies chainer for this Python)
from cagan import cli, evaluation, run, training, visualize

ROWS = {
    'changed_l1': 'L1 in the changed region (lower is better)',
    'changed_ssim': 'SSIM in the changed region (higher)',
    'alpha_iou': 'IoU of alpha > 0.5 with that region (higher)',
    'outside_l1': 'L1 outside it (lower)',
    'print_ssim': 'print SSIM, in the new garment (higher)',
    'ssim': 'SSIM, whole image (higher)',
    'psnr': 'PSNR, whole image, dB (higher)',
}
#: Headings of :data:`cagan.evaluation.COLUMNS`.
HEADINGS = ('worn given', 'no worn', 'untrained', 'do nothing',
            'flat oracle')
LABEL = '{:46s}'


def table(result):
    """The table's lines: one row per score, one column per generator or
    reference, then the headline ratio."""
    cells = ''.join(' {:>11s}' for _ in HEADINGS)
    lines = [LABEL.format('') + cells.format(*HEADINGS)]
    numbers = ''.join(' {:11.4f}' for _ in HEADINGS)
    for key, label in ROWS.items():
        lines.append(LABEL.format(label) + numbers.format(
            *(result[column][key] for column in evaluation.COLUMNS)))
    lines.append(LABEL.format('changed-region L1 / do nothing\'s') + ''.join(
        ' {:>11s}'.format('-' if value is None else '{:.4f}'.format(value))
        for value in (result['ratio'][c] for c in evaluation.COLUMNS)))
    return lines


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
    parser.add_argument('--sheet', default=None,
                        help='also write a swap sheet of the test split '
                        'there (test people along the top, test articles '
                        'down the left, alpha maps below)')
    args = parser.parse_args(argv)
    if args.sheet:
        visualize.image_format(args.sheet)   # before minutes of scoring
    device = cli.get_device(args.device)
    gen, config, weights = run.load_generator(args.model, device)
    root = args.data or config['data']['root']
    seed = training.child_seeds(config['train']['seed'])['gen']
    untrained = evaluation.untrained_generator(config, seed, device)

    result = evaluation.evaluate(gen, untrained, root, args.swaps, device)
    result['model'] = str(weights)
    print('{} on {} ({}x{}):'.format(weights, root, *gen.size))
    print(evaluation.count_line(result))
    if 'truth' in result:
        print('\n'.join(table(result)))
        ratios = result['ratio']
        if ratios['worn'] is not None:
            print('headline: the model\'s changed-region L1 is {:.3f} of '
                  'doing nothing\'s (untrained: {:.3f})'.format(
                      ratios['worn'], ratios['untrained']))
    else:
        print('no ground truth ({} has no test/truth.txt): scores that need '
              'none'.format(root))
    print(LABEL.format('cycle error |x_i - x_iji| (lower)') +
          ' {:11.4f}'.format(result['cycle_error']))
    print(LABEL.format('self error |x_i - G(x_i, y_i, y_i)|') +
          ' {:11.4f}'.format(result['self_error']))
    if args.sheet:
        Path(args.sheet).parent.mkdir(parents=True, exist_ok=True)
        visualize.save_image(evaluation.swap_sheet(gen, root, device),
                             args.sheet)
        print('swap sheet: {}'.format(args.sheet))
    print(json.dumps(evaluation.finite(result), sort_keys=True))


if __name__ == '__main__':
    cli.run(main)
