"""Ablations: variants of one config, trained at several seeds, scored on
the test split, and tabled.

An ablation file (YAML) names a base config, optionally changes common to
every variant (``start``: e.g. the base's options taken back out, so that
each variant adds one of them), the seeds, and the variants, each the keys
it changes (``{}``: the base, with ``start``)::

    base: configs/demo.yaml
    start: {optimizer: {ema: null}}
    seeds: [0, 1]
    variants:
      reference: {}
      resize: {model: {gen: {upsample: resize}}}
      ema: {optimizer: {ema: 0.999}}

:func:`load` checks all of it before anything runs; :func:`run_all` trains
each variant at each seed in ``OUT/<variant>/seed-<S>/`` (an ordinary run
folder: ``scripts/swap.py --model`` and ``scripts/evaluate.py --model`` take
it), one after another, scores each on the test split with
:func:`cagan.evaluation.evaluate` (``scores.json`` beside it), draws one swap
sheet per variant (``OUT/<variant>/swap.png``) and writes ``OUT/table.md``
and ``OUT/table.json``. Everything done is kept: run again, it resumes an
interrupted run from its last snapshot, skips finished ones and reuses
their scores.
"""

import json
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy
import yaml

from cagan import config as config_module
from cagan import evaluation, precision, run, training, visualize
from cagan.atomic import write_text_atomic
from cagan.errors import ConfigError

#: Per-run scores, beside the run's weights.
SCORES_NAME = 'scores.json'
#: The swap sheet of a variant, in its folder.
SHEET_NAME = 'swap.png'
TABLE_MD, TABLE_JSON = 'table.md', 'table.json'
#: Keys of an ablation file.
KEYS = ('base', 'start', 'seeds', 'variants')
# Variant names become folder names.
_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*$')


@dataclass
class Ablation:
    """A checked ablation file.

    Attributes:
        source (str): the file.
        base (str): the base config's path.
        seeds (list of int): the seeds every variant is trained at.
        variants (dict): name -> ``(overrides, config)``: the keys it
            changes (``{section: {key: value}}``) and the resolved config,
            ``train.seed`` still the base's.
    """

    source: str
    base: str
    seeds: list
    variants: dict


@dataclass
class Run:
    """One variant at one seed: its resolved config and its folder."""

    variant: str
    seed: int
    config: dict
    folder: Path


def load(path, seeds=None, only=None):
    """Read and check an ablation file, every variant resolved.

    Args:
        path (str or pathlib.Path): the YAML file.
        seeds (list of int or None): replace the file's seeds.
        only (list of str or None): keep these variants (in the file's
            order).

    Returns:
        Ablation

    Raises:
        cagan.errors.ConfigError: one line naming the file and, for a bad
            variant, the variant: a missing file, bad YAML, an unknown key,
            a bad base config, seed or variant name, an unknown variant in
            ``only``.
    """
    source = str(path)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding='utf-8'))
    except FileNotFoundError:
        raise ConfigError('{}: no such ablation file (see configs/)'.format(
            source)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError('{}: cannot read it ({})'.format(
            source, getattr(e, 'strerror', None) or e)) from None
    except yaml.YAMLError as e:
        raise ConfigError('{}: not valid YAML: {}'.format(
            source, getattr(e, 'problem', None) or e)) from None
    if not isinstance(data, dict):
        raise ConfigError('{}: expected the keys {}'.format(
            source, ', '.join(KEYS)))
    unknown = sorted(set(map(str, data)) - set(KEYS))
    missing = [k for k in ('base', 'variants') if k not in data]
    if unknown or missing:
        raise ConfigError('{}: {} (an ablation file has {})'.format(
            source, 'unknown key {}'.format(unknown[0]) if unknown else
            'no {}'.format(missing[0]), ', '.join(KEYS)))
    base = data['base']
    if not isinstance(base, str) or not base:
        raise ConfigError('{}: base: expected the path of a config, got {!r}'
                          .format(source, base))
    try:
        base_config = config_module.load(base)
    except ConfigError as e:
        raise ConfigError('{}: base {}'.format(source, e)) from None
    if data.get('start'):
        base_config = config_module.resolve(
            data['start'], '{}: start'.format(source), base=base_config)
    seeds = _check_seeds(source, data.get('seeds', [0]) if seeds is None
                         else seeds)
    variants = data['variants']
    if not isinstance(variants, dict) or not variants:
        raise ConfigError('{}: variants: expected names, each with the keys '
                          'it changes ({{}} for the base itself)'.format(source))
    resolved = {}
    for name, overrides in variants.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError('{}: variant {!r}: a name is letters, digits, '
                              '_, - and . (it names a folder)'.format(
                                  source, name))
        overrides = {} if overrides is None else overrides
        config = config_module.resolve(
            overrides, '{}: variant {}'.format(source, name), base=base_config)
        resolved[name] = (overrides, config)
    if only:
        unknown = [name for name in only if name not in resolved]
        if unknown:
            raise ConfigError('{}: no variant {!r} (it has {})'.format(
                source, unknown[0], ', '.join(resolved)))
        resolved = {name: v for name, v in resolved.items() if name in only}
    return Ablation(source, base, seeds, resolved)


def _check_seeds(source, seeds):
    if not isinstance(seeds, list) or not seeds or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0
            for s in seeds):
        raise ConfigError('{}: seeds: expected a list of whole numbers >= 0, '
                          'got {!r}'.format(source, seeds))
    if len(set(seeds)) != len(seeds):
        raise ConfigError('{}: seeds: {!r} lists a seed twice'.format(
            source, seeds))
    return list(seeds)


def runs(ablation, out):
    """Every run of an ablation, variant by variant, seed by seed.

    Returns:
        list of Run: folders ``out/<variant>/seed-<S>``, configs with
        ``train.seed`` = S.
    """
    return [Run(name, seed,
                config_module.resolve({'train': {'seed': seed}},
                                      'seed {}'.format(seed), base=config),
                Path(out) / name / 'seed-{}'.format(seed))
            for name, (_, config) in ablation.variants.items()
            for seed in ablation.seeds]


def check_folders(planned):
    """Refuse, before anything runs, a run folder that holds a run of
    another config (the base or the variant changed since).

    Raises:
        cagan.errors.ConfigError: one line naming the folder and the keys.
    """
    for one in planned:
        saved = one.folder / run.CONFIG_NAME
        if not saved.is_file():
            continue
        previous = config_module.load(saved, saved=True)
        changed = config_module.differences(previous, one.config)
        if changed:
            raise ConfigError(
                '{} holds a run of another config (differs in {}): give '
                'another --out, or delete that folder to train it again'
                .format(one.folder, ', '.join(changed)))


def log_end(folder):
    """The last entry of a run's log (``log``), or None when it has none."""
    try:
        entries = json.loads((Path(folder) / 'log').read_text())
    except (OSError, ValueError):
        return None
    return entries[-1] if entries else None


def finished(one):
    """Whether a run's log reaches its last epoch."""
    end = log_end(one.folder)
    return bool(end) and end.get('epoch', 0) >= one.config['train']['epochs']


def read_scores(one, swaps):
    """A run's saved scores when they are of ``swaps`` swaps asked on its
    data, else None."""
    try:
        scores = json.loads((one.folder / SCORES_NAME).read_text())
    except (OSError, ValueError):
        return None
    if (scores.get('asked') != swaps or
            scores.get('data') != str(one.config['data']['root'])):
        return None
    return scores


def status(one, swaps):
    """What is left to do for a run, in words (for the plan)."""
    if read_scores(one, swaps) is not None:
        return 'scored'
    if finished(one):
        return 'trained, to score'
    end = log_end(one.folder)
    if end:
        return 'to resume at iteration {}'.format(end['iteration'])
    return 'to train'


def train(one, device='@numpy'):
    """Train a run in this process (float32), resuming from its last
    snapshot: what ``scripts/train.py --config ... --seed S --out FOLDER``
    does."""
    precision.configure('float32', device)
    training.make_trainer(one.config, one.folder, device).run()


def score(one, swaps, device='@numpy'):
    """Score a finished run on its data's test split and save the scores.

    Args:
        one (Run): a run whose training has finished.
        swaps (int): at most this many test swaps.
        device: where to run the generators.

    Returns:
        dict: :func:`cagan.evaluation.evaluate`'s (infinities as None),
        with ``weights`` (the file scored: the best epoch's), ``steps``
        (iterations trained) and ``minutes`` (training time, from the
        log's ``elapsed_time``).
    """
    gen, config, weights = run.load_generator(one.folder, device)
    seed = training.child_seeds(config['train']['seed'])['gen']
    untrained = evaluation.untrained_generator(config, seed, device)
    result = evaluation.evaluate(gen, untrained, config['data']['root'],
                                 swaps, device)
    end = log_end(one.folder) or {}
    result.update(weights=str(weights), steps=end.get('iteration'),
                  minutes=(end['elapsed_time'] / 60
                           if 'elapsed_time' in end else None))
    result = evaluation.finite(result)
    write_text_atomic(one.folder / SCORES_NAME,
                      json.dumps(result, indent=1, sort_keys=True) + '\n')
    return result


def sheet(one, device='@numpy', people=4, articles=4):
    """A run's swap sheet: :func:`cagan.evaluation.swap_sheet` of its
    generator on its data."""
    gen, config, _ = run.load_generator(one.folder, device)
    return evaluation.swap_sheet(gen, config['data']['root'], device, people,
                                 articles)


def summarize(scores):
    """A variant's figures over its seeds.

    Args:
        scores (list of dict): :func:`score`'s, one per seed (with ground
            truth).

    Returns:
        dict: ``ratio`` (the model's changed-region L1 over doing
        nothing's) as ``mean``, ``std`` (over the seeds, n - 1; None for
        one seed), ``min`` and ``max``; the means over the seeds of
        ``alpha_iou`` and ``outside_l1`` (the model, worn given),
        ``untrained_ratio``, ``no_worn_ratio``, ``steps`` and ``minutes``.
    """
    ratios = [s['ratio']['worn'] for s in scores]
    known = [r for r in ratios if r is not None]

    def mean(values):
        values = [v for v in values if v is not None]
        return float(numpy.mean(values)) if values else None

    return {
        'ratio': {
            'mean': mean(known),
            'std': (float(numpy.std(known, ddof=1)) if len(known) > 1
                    else None),
            'min': min(known) if known else None,
            'max': max(known) if known else None,
        },
        'alpha_iou': mean(s['worn']['alpha_iou'] for s in scores),
        'outside_l1': mean(s['worn']['outside_l1'] for s in scores),
        'untrained_ratio': mean(s['ratio'].get('untrained') for s in scores),
        'no_worn_ratio': mean(s['ratio'].get('no_worn') for s in scores),
        'steps': mean(s.get('steps') for s in scores),
        'minutes': mean(s.get('minutes') for s in scores),
    }


def describe(overrides):
    """The keys a variant changes, as ``section.key=value`` text
    (``(base)`` for none)."""
    flat = ['{}={}'.format(key, _plain(value))
            for key, value in config_module.flatten(overrides).items()]
    return ', '.join(flat) or '(base)'


def _plain(value):
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (list, tuple)):
        return 'x'.join(str(v) for v in value)
    return str(value)


def tabulate(ablation, out, swaps):
    """The table of every variant with saved scores, per seed and
    summarised.

    Returns:
        dict: for ``table.json``: ``file``, ``base``, ``seeds``, ``swaps``
        (asked), and ``variants``: name -> ``changes`` (its overrides),
        ``runs`` (seed -> :func:`score`'s dict) and ``summary``
        (:func:`summarize`); variants with no scored seed are left out.
    """
    table = {'file': ablation.source, 'base': ablation.base,
             'seeds': ablation.seeds, 'swaps': swaps, 'variants': {}}
    for one in runs(ablation, out):
        scores = read_scores(one, swaps)
        if scores is None or 'ratio' not in scores:
            continue
        entry = table['variants'].setdefault(one.variant, {
            'changes': ablation.variants[one.variant][0], 'runs': {}})
        entry['runs'][str(one.seed)] = scores
    for entry in table['variants'].values():
        entry['summary'] = summarize(list(entry['runs'].values()))
    return table


def markdown(table):
    """``table.md``: one row per variant, the columns explained above it."""
    def number(value, digits=3):
        return '-' if value is None else '{:.{}f}'.format(value, digits)

    some = next((run for entry in table['variants'].values()
                 for run in entry['runs'].values()), None)
    lines = ['# Ablation: {}'.format(table['file']), '',
             'Base config `{}`, seeds {}; each run scored on the test split '
             '({}{} swaps).'.format(
                 table['base'], ', '.join(map(str, table['seeds'])),
                 '' if some is None else '{}: '.format(some['truth']),
                 some['swaps'] if some else table['swaps']),
             '',
             '* **changed L1 / nothing**: L1 in the changed region (old and '
             'new garment) over doing nothing\'s (x_ij = x_i), lower is '
             'better; mean ± standard deviation over the seeds (n - 1), then '
             'the smallest and largest seed.',
             '* **untrained**: the same for the generator with its run\'s '
             'initial weights: a model is worth its training only below it.',
             '* **IoU**: alpha > 0.5 against the changed region; **outside '
             'L1**: damage where nothing should change (means over the '
             'seeds, worn article given).',
             '* **steps**, **minutes**: training iterations and time (mean '
             'over the seeds).', '',
             '| variant | changes | changed L1 / nothing | min–max | '
             'untrained | IoU | outside L1 | steps | minutes | seeds |',
             '|---|---|---|---|---|---|---|---|---|---|']
    for name, entry in table['variants'].items():
        s = entry['summary']
        ratio = s['ratio']
        spread = ('' if ratio['std'] is None
                  else ' ± {}'.format(number(ratio['std'])))
        lines.append('| {} | {} | {}{} | {}–{} | {} | {} | {} | {} | {} | {} |'
                     .format(name, describe(entry['changes']),
                             number(ratio['mean']), spread,
                             number(ratio['min']), number(ratio['max']),
                             number(s['untrained_ratio']),
                             number(s['alpha_iou']),
                             number(s['outside_l1'], 4),
                             number(s['steps'], 0), number(s['minutes'], 1),
                             ', '.join(entry['runs'])))
    return '\n'.join(lines) + '\n'


def plan_lines(ablation, out, swaps):
    """What :func:`run_all` would do, one line per variant."""
    planned = runs(ablation, out)
    width = max(len(name) for name in ablation.variants)
    lines = ['{}: {} variant(s) x {} seed(s) ({}) into {}, each scored on '
             'up to {} test swaps'.format(
                 ablation.source, len(ablation.variants),
                 len(ablation.seeds), ', '.join(map(str, ablation.seeds)),
                 out, swaps)]
    for name, (overrides, _) in ablation.variants.items():
        states = ['seed {}: {}'.format(one.seed, status(one, swaps))
                  for one in planned if one.variant == name]
        lines.append('  {:{}s}  {}'.format(name, width, describe(overrides)))
        lines.append('  {:{}s}  {}'.format('', width, '; '.join(states)))
    return lines


def run_all(ablation, out, swaps=256, device='@numpy', say=print,
            whole=None):
    """Train, score and table every run of an ablation, one after another.

    Finished runs are not trained again and saved scores are reused (delete
    a run's ``scores.json`` to score it again); an interrupted run resumes
    from its last snapshot.

    Args:
        ablation (Ablation): from :func:`load`.
        out (str or pathlib.Path): the ablation's folder.
        swaps (int): test swaps per score.
        device: a Chainer device.
        say (callable): where progress lines go.
        whole (Ablation or None): what the tables cover, when ``ablation``
            is a part of it (``load(..., only=...)``): every variant of it
            already scored.

    Returns:
        dict: the table (:func:`tabulate`), also written as ``table.json``
        and ``table.md`` in ``out`` (:func:`write_tables`), with a swap
        sheet per variant in ``out/<variant>/swap.png`` (from its first
        seed).

    Raises:
        cagan.errors.ConfigError: a run folder holds another config.
        cagan.errors.CaganError: a run's data or training failed.
    """
    out = Path(out)
    planned = runs(ablation, out)
    check_folders(planned)
    for number, one in enumerate(planned, 1):
        where = '{} seed {} ({} of {})'.format(one.variant, one.seed, number,
                                               len(planned))
        scores = read_scores(one, swaps)
        if scores is None:
            if not finished(one):
                say('== {}: training into {}'.format(where, one.folder))
                start = time.perf_counter()
                train(one, device)
                say('== {}: trained in {:.1f} minutes'.format(
                    where, (time.perf_counter() - start) / 60))
            scores = score(one, swaps, device)
        say('== {}: {}'.format(where, _headline(scores)))
    for name in ablation.variants:
        first = next(one for one in planned if one.variant == name)
        visualize.save_image(sheet(first, device),
                             out / name / SHEET_NAME)
    table = tabulate(whole or ablation, out, swaps)
    write_tables(table, out)
    return table


def write_tables(table, out):
    """Write :func:`tabulate`'s table as ``out/table.json`` and
    ``out/table.md`` (:func:`markdown`)."""
    write_text_atomic(Path(out) / TABLE_JSON,
                      json.dumps(table, indent=1) + '\n')
    write_text_atomic(Path(out) / TABLE_MD, markdown(table))


def _headline(scores):
    ratio = scores.get('ratio')
    if not ratio:
        return 'cycle error {:.4f} (no ground truth)'.format(
            scores['cycle_error'])
    return ('changed L1 / nothing {} (untrained {}), IoU {:.3f}, {} steps'
            .format(*('-' if v is None or not math.isfinite(v)
                      else '{:.3f}'.format(v)
                      for v in (ratio['worn'], ratio.get('untrained'))),
                    scores['worn']['alpha_iou'], scores.get('steps')))
