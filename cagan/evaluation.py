"""How good a generator is: scores against ground truth, or without it.

* With ground truth (the synthetic ``test/`` split, ``truth.txt``): each
  swap is scored by :func:`cagan.metrics.score_swap` next to the do-nothing
  baseline (``x_ij = x_i``), with the worn article given and with the
  neutral stand-in of worn-article dropout.
* Without (real pairs): the cycle error ``|x_i - G(G(x_i, y_i, y_j), y_j,
  y_i)|`` and the self error ``|x_i - G(x_i, y_i, y_i)|``.

:class:`cagan.extensions.Evaluation` runs this each epoch inside training
and keeps the best epoch's generator.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy

from cagan import dataset, images, layout, metrics
from cagan.errors import DataError, ImageError
from cagan.inference import swap_arrays
from cagan.updater import neutral_article

TRUTH_NAME = 'truth.txt'


@dataclass
class TruthSet:
    """Swaps with their true result, fitted to a network's size.

    Attributes:
        x_i, y_i, y_j, truth: float32 ``(N, 3, H, W)`` in [0, 1].
        mask_i, mask_j: bool ``(N, H, W)``: the old and the new article's
            pixels.
    """

    x_i: numpy.ndarray
    y_i: numpy.ndarray
    y_j: numpy.ndarray
    truth: numpy.ndarray
    mask_i: numpy.ndarray
    mask_j: numpy.ndarray

    def __len__(self):
        return len(self.x_i)


def truth_file(root):
    """``truth.txt`` of a dataset folder (in ``test/``) or of a test folder;
    None when there is none."""
    for folder in (Path(root) / 'test', Path(root)):
        if (folder / TRUTH_NAME).is_file():
            return folder / TRUTH_NAME
    return None


def read_truth(path, size, limit=None):
    """Read a ground-truth file (``X_I Y_I Y_J X_IJ MASK_I MASK_J`` per line,
    paths relative to its folder; see data/README.md).

    Args:
        path (str or pathlib.Path): the ``truth.txt``.
        size (tuple of int): the network's ``(height, width)``.
        limit (int or None): read only the first ``limit`` swaps.

    Returns:
        TruthSet

    Raises:
        cagan.errors.DataError: malformed lines, names that leave the
            file's folder, missing or unreadable images, one line each.
    """
    path = Path(path)
    rows, problems = [], []
    for number, text in enumerate(path.read_text(encoding='utf-8')
                                  .splitlines(), 1):
        tokens = text.split()
        if not tokens or tokens[0].startswith('#'):
            continue
        if len(tokens) != 6:
            problems.append('{}:{}: expected X_I Y_I Y_J X_IJ MASK_I MASK_J, '
                            'got {!r}'.format(path, number, text))
            continue
        rows.append((number, tokens))
    rows = rows[:limit]
    if not rows and not problems:
        problems.append('{}: no swaps listed'.format(path))
    if problems:
        raise DataError(problems)
    # Names stay inside the split's folder, as in pairs.txt.
    files = layout.check_names(path, [(number, t, path.parent)
                                      for number, tokens in rows
                                      for t in tokens])
    rows = [files[6 * k:6 * k + 6] for k in range(len(rows))]
    columns = [[] for _ in range(6)]
    for row in rows:
        for k, file in enumerate(row):
            try:
                fitted = images.fit(images.load_rgb(file), size)[0]
            except ImageError as e:
                problems.append(str(e))
                continue
            columns[k].append(images.to_chw(fitted) if k < 4
                              else fitted[:, :, 0] > 127)
    if problems:
        raise DataError(problems)
    return TruthSet(*(numpy.stack(c) for c in columns))


def score_truth(gen, truth, worn=True, device='@numpy', batch=16):
    """Mean :func:`cagan.metrics.score_swap` of a generator on a TruthSet.

    Args:
        gen (cagan.Generator): the generator.
        truth (TruthSet): swaps with their true results.
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


def held_out_triplets(root, size, seed=0, limit=64):
    """Fixed triplets of a dataset's test split (else its training pairs):
    float32 ``x_i, y_i, y_j`` ``(N, 3, H, W)``, no flips."""
    try:
        records = dataset.read_pairs_of(root, 'test')
    except DataError:
        records = dataset.read_pairs_of(root, 'train')
    rng = numpy.random.default_rng(seed)
    chosen = sorted(rng.permutation(len(records))[:limit])
    triplets = dataset.TripletDataset([records[k] for k in chosen], size,
                                      seed=seed, flip=False, workers=1)
    return tuple(numpy.stack(column) for column in
                 zip(*(triplets[k] for k in range(len(triplets)))))
