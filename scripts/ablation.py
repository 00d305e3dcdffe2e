"""Train variants of one config at several seeds, score them, and table them.

    python scripts/ablation.py configs/ablation-demo.yaml
    python scripts/ablation.py configs/ablation-demo.yaml --out results/ablation/demo --seeds 0 1 2
    python scripts/ablation.py configs/ablation-demo.yaml --only reference ema --dry-run

The file names a base config, the seeds and the variants (see
configs/ablation-demo.yaml and docs/evaluation.md). Each variant is trained
at each seed in OUT/<variant>/seed-<S>/, one run after another, and scored
on the test split as scripts/evaluate.py does (OUT/<variant>/seed-<S>/
scores.json); then OUT/<variant>/swap.png (test people in test articles),
OUT/table.md and OUT/table.json. Run again, it skips what is done and
resumes an interrupted run. OUT defaults to results/ablation/<name>, the
file's name without "ablation-".
"""

from pathlib import Path

import cagan  # noqa: F401  (first: it readies chainer for this Python)
from cagan import cli
from cagan.experiments import ablation


def default_out(path):
    """``results/ablation/<name>``: the file's stem without ``ablation-``."""
    stem = Path(path).stem
    if stem.startswith('ablation-'):
        stem = stem[len('ablation-'):]
    return Path('results') / 'ablation' / stem


def main(argv=None):
    parser = cli.ArgumentParser(prog='ablation.py',
                                description=__doc__.splitlines()[0])
    parser.add_argument('file', help='ablation file (YAML, see configs/)')
    parser.add_argument('--out', default=None,
                        help='folder of the runs and tables (default: '
                        'results/ablation/<name>)')
    parser.add_argument('--seeds', type=cli.at_least(0), nargs='+',
                        default=None, help="replace the file's seeds")
    parser.add_argument('--only', nargs='+', default=None, metavar='NAME',
                        help='run these variants only (the table keeps '
                        'every variant already scored)')
    parser.add_argument('--swaps', type=cli.at_least(1), default=256,
                        help='test swaps to score each run on (default 256)')
    parser.add_argument('--device', default='@numpy',
                        help="'@numpy' or -1 (CPU, default), '@cupy:N' or N")
    parser.add_argument('--dry-run', action='store_true',
                        help='print the plan and what is already done; run '
                        'nothing')
    args = parser.parse_args(argv)
    plan = ablation.load(args.file, args.seeds, args.only)
    out = Path(args.out) if args.out else default_out(args.file)
    planned = ablation.runs(plan, out)
    ablation.check_folders(planned)
    print('\n'.join(ablation.plan_lines(plan, out, args.swaps)), flush=True)
    if args.dry_run:
        return
    device = cli.get_device(args.device)
    # The tables cover every variant scored so far, --only or not.
    whole = ablation.load(args.file, plan.seeds) if args.only else None
    table = ablation.run_all(plan, out, args.swaps, device,
                             say=lambda line: print(line, flush=True),
                             whole=whole)
    print()
    print(ablation.markdown(table), end='')
    print('tables: {}, {}; swap sheets: {}'.format(
        out / ablation.TABLE_MD, out / ablation.TABLE_JSON,
        out / '<variant>' / ablation.SHEET_NAME))


if __name__ == '__main__':
    cli.run(main)
