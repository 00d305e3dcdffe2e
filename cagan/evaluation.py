"""How good a generator is: scores against ground truth, or without it.

* With ground truth (the synthetic ``test/`` split, ``truth.txt``): each
  swap is scored by :func:`cagan.metrics.score_swap`, for the model with the
  worn article given and with the neutral stand-in of worn-article dropout,
  for the *untrained* generator (the run's own initial weights: what the
  architecture scores before learning anything) and for two references,
  doing nothing (``x_ij = x_i``) and the flat-colour oracle.
* Without (real pairs): the cycle error ``|x_i - G(G(x_i, y_i, y_j), y_j,
  y_i)|`` and the self error ``|x_i - G(x_i, y_i, y_i)|``.

:func:`evaluate` gathers all of it for ``scripts/evaluate.py`` and the
ablation (:mod:`cagan.experiments.ablation`); :class:`cagan.extensions.Evaluation` runs
:func:`score_truth` and :func:`score_pairs` each epoch inside training and
keeps the best epoch's generator. The held-out data and the ground truth
come from :mod:`cagan.data.held_out`.
"""

import functools
import math
from pathlib import Path

import chainer
import numpy

from cagan import metrics, run, visualize
from cagan.data import dataset, held_out
from cagan.data.neutral import neutral_article
from cagan.errors import DataError
from cagan.inference import swap_arrays

#: The columns of a score table, in order: the model with and without the
#: worn article, the same architecture untrained, then the references below
#: (doing nothing) and above (the flat-colour oracle).
COLUMNS = ('worn', 'no_worn', 'untrained', 'do_nothing', 'flat_oracle')


def score_truth(gen, truth, worn=True, device='@numpy', batch=16):
    """Mean :func:`cagan.metrics.score_swap` of a generator on a TruthSet.

    Args:
        gen (cagan.Generator): the generator.
        truth (cagan.data.held_out.TruthSet): swaps with their true results.
        worn (bool): give the worn article y_i; else the neutral stand-in.
        device: where ``gen`` lives.
        batch (int): swaps per forward pass.

    Returns:
        dict: the mean of each of :data:`cagan.metrics.SWAP_KEYS`.
    """
    y_i = truth.y_i if worn else numpy.broadcast_to(
        neutral_article(truth.x_i.shape[2:]), truth.y_i.shape)
    x_ij, alpha = swap_arrays(gen, truth.x_i, numpy.ascontiguousarray(y_i),
                              truth.y_j, device, batch)
    return metrics.mean_scores(
        metrics.score_swap(truth.x_i[k], x_ij[k], truth.truth[k], alpha[k],
                           truth.mask_i[k], truth.mask_j[k])
        for k in range(len(truth)))


def baseline_truth(truth):
    """Mean scores of doing nothing (``x_ij = x_i``) on a TruthSet."""
    return _mean_over(metrics.do_nothing_scores, truth)


def oracle_truth(truth):
    """Mean scores of the flat-colour oracle on a TruthSet (see
    :func:`cagan.metrics.flat_oracle_scores`)."""
    return _mean_over(metrics.flat_oracle_scores, truth)


def _mean_over(scores, truth):
    return metrics.mean_scores(
        scores(truth.x_i[k], truth.truth[k], truth.mask_i[k],
               truth.mask_j[k])
        for k in range(len(truth)))


def score_pairs(gen, x_i, y_i, y_j, device='@numpy', batch=16):
    """Scores that need no ground truth, on triplets.

    Args:
        x_i, y_i, y_j: float32 ``(N, 3, H, W)`` in [0, 1].

    Returns:
        dict: ``cycle_error`` (mean L1 of x_i and x_iji) and ``self_error``
        (mean L1 of x_i and G(x_i, y_i, y_i)), each in [0, 1].
    """
    x_ij, _ = swap_arrays(gen, x_i, y_i, y_j, device, batch)
    x_iji, _ = swap_arrays(gen, x_ij, y_j, y_i, device, batch)
    x_ii, _ = swap_arrays(gen, x_i, y_i, y_i, device, batch)
    return {
        'cycle_error': float(numpy.mean([metrics.cycle_error(a, b)
                                         for a, b in zip(x_i, x_iji)])),
        'self_error': float(numpy.mean([metrics.self_error(a, b)
                                        for a, b in zip(x_i, x_ii)])),
    }


def untrained_generator(config, seed, device='@numpy'):
    """The generator a run of ``config`` starts from, before its first step.

    Training draws G's initial weights from one child of ``train.seed``;
    pass that child, ``cagan.training.child_seeds(config['train']['seed'])
    ['gen']``, to get the very same weights, bit for bit.

    Args:
        config (dict): a resolved config (a run's ``config.yaml``).
        seed (int): the seed of G's initial weights.
        device: where to put it.

    Returns:
        cagan.Generator: float32 weights, on ``device``.
    """
    gen = run.make_generator(config, seed)
    gen.to_device(chainer.get_device(device))
    return gen


def count_truth(path):
    """How many swaps a ``truth.txt`` lists (its lines that are neither
    blank nor ``#`` comments), without reading an image."""
    return sum(1 for line in Path(path).read_text(encoding='utf-8')
               .splitlines() if line.split() and not line.startswith('#'))


def scoring_triplets(root, size, limit, seed=0):
    """Fixed triplets of a dataset's test split, for the scores that need no
    ground truth; its training pairs when it has no test split.

    Args:
        root (str or pathlib.Path): a dataset folder.
        size (tuple of int): the network's ``(height, width)``.
        limit (int): at most this many triplets.
        seed (int): seed of the choice and of the y_j draws (a local RNG).

    Returns:
        tuple: float32 ``x_i, y_i, y_j`` ``(N, 3, H, W)`` in [0, 1], no
        flips, and the split they come from, ``'test'`` or ``'train'``.

    Raises:
        cagan.errors.DataError: neither split is usable.
    """
    try:
        records, split = dataset.read_pairs_of(root, 'test'), 'test'
    except DataError:
        records, split = dataset.read_pairs_of(root, 'train'), 'train'
    order = numpy.random.default_rng(seed).permutation(len(records))
    chosen = [records[k] for k in sorted(order[:limit])]
    triplets = dataset.TripletDataset(chosen, size, seed=seed, flip=False,
                                      decode_threads=1)
    columns = zip(*(triplets[k] for k in range(len(triplets))))
    return tuple(numpy.stack(c) for c in columns) + (split,)


def swap_sheet(gen, root, device='@numpy', people=4, articles=4):
    """A swap sheet on the test split: test people (top row) in test
    articles (left column), as :func:`cagan.visualize.swap_grid` draws it.

    The people and articles are the same for every model on the same data
    (the first of :func:`scoring_triplets`): the articles are those other
    test people wear. With fewer test pairs than ``people + articles``, half
    of them each.

    Returns:
        numpy.ndarray: uint8 ``(H', W', 3)``.
    """
    x_i, y_i, _, _ = scoring_triplets(root, gen.size, people + articles)
    # A test split has at least two pairs (two different articles).
    n = min(people, max(1, len(x_i) // 2))
    return visualize.swap_grid(
        functools.partial(swap_arrays, gen, device=device), x_i[:n], y_i[:n],
        y_i[n:n + articles])


def ratio(scores, nothing):
    """Changed-region L1 of ``scores`` over doing nothing's: the headline
    figure (below 1: closer to the truth than leaving the photo alone).

    Args:
        scores, nothing (dict): mean scores (:func:`score_truth`,
            :func:`baseline_truth`).

    Returns:
        float or None: None when doing nothing is already perfect there.
    """
    if not nothing['changed_l1'] > 0:
        return None
    return scores['changed_l1'] / nothing['changed_l1']


def evaluate(gen, untrained, root, swaps, device='@numpy', batch=16):
    """Every score of a generator on a dataset's test split.

    Args:
        gen (cagan.Generator): the trained generator, on ``device``.
        untrained (cagan.Generator or None): the same architecture with the
            run's initial weights (:func:`untrained_generator`), or None to
            leave that column out.
        root (str or pathlib.Path): a dataset folder; its ``test/truth.txt``
            (:func:`cagan.data.held_out.truth_file`) when it has one.
        swaps (int): at most this many swaps (the first of the file).
        device: where the generators live.
        batch (int): swaps per forward pass.

    Returns:
        dict: for JSON (scores are Python floats; a perfect PSNR is
        ``inf``, see :func:`finite`):

        * ``data``, ``asked`` (``swaps``), ``swaps`` (how many were scored);
        * with ground truth: ``truth`` (the file's path), ``available``
          (how many swaps it lists), and per column of :data:`COLUMNS` the
          mean of :data:`cagan.metrics.SWAP_KEYS`; ``ratio``: column ->
          :func:`ratio` (changed-region L1 over doing nothing's);
        * without: ``split`` (``'test'``, or ``'train'`` when the data has no
          test split);
        * always: ``cycle_error`` and ``self_error`` (:func:`score_pairs`).

    Raises:
        cagan.errors.DataError: the data is missing or unusable.
    """
    size = gen.size
    result = {'data': str(root), 'asked': swaps}
    found = held_out.truth_file(root)
    if found:
        truth = held_out.read_truth(found, size, swaps)
        result.update(truth=str(found), available=count_truth(found),
                      swaps=len(truth))
        result['worn'] = score_truth(gen, truth, True, device, batch)
        result['no_worn'] = score_truth(gen, truth, False, device, batch)
        if untrained is not None:
            result['untrained'] = score_truth(untrained, truth, True, device,
                                              batch)
        result['do_nothing'] = baseline_truth(truth)
        result['flat_oracle'] = oracle_truth(truth)
        result['ratio'] = {column: ratio(result[column], result['do_nothing'])
                           for column in COLUMNS if column in result}
        triplets = (truth.x_i, truth.y_i, truth.y_j)
    else:
        *triplets, split = scoring_triplets(root, size, swaps)
        result.update(split=split, swaps=len(triplets[0]))
    result.update(score_pairs(gen, *triplets, device=device, batch=batch))
    return result


def count_line(result):
    """One line saying how many swaps :func:`evaluate` scored, and plainly
    when there were fewer than asked (e.g. ``64 swaps scored: 256 asked,
    64 in data/x/test/truth.txt``)."""
    if 'truth' in result:
        where = 'in {}'.format(result['truth'])
        available = result['available']
    else:
        where = 'pairs in the {} split of {}'.format(result['split'],
                                                      result['data'])
        available = result['swaps']
    scored = '{} swap{} scored'.format(result['swaps'],
                                       '' if result['swaps'] == 1 else 's')
    if result['swaps'] < result['asked']:
        return '{}: {} asked, {} {}'.format(scored, result['asked'],
                                            available, where)
    return '{} (the first {} of {} {})'.format(scored, result['swaps'],
                                               available, where)


def finite(scores):
    """A copy of a dict of scores for JSON, which has no infinity: a perfect
    PSNR (``inf``) becomes None; nested dicts are copied the same way."""
    if isinstance(scores, dict):
        return {k: finite(v) for k, v in scores.items()}
    if isinstance(scores, float) and not math.isfinite(scores):
        return None
    return scores
