"""How good a generator is: scores against ground truth, or without it.

* With ground truth (the synthetic ``test/`` split, ``truth.txt``): each
  swap is scored by :func:`cagan.metrics.score_swap` next to the do-nothing
  baseline (``x_ij = x_i``), with the worn article given and with the
  neutral stand-in of worn-article dropout.
* Without (real pairs): the cycle error ``|x_i - G(G(x_i, y_i, y_j), y_j,
  y_i)|`` and the self error ``|x_i - G(x_i, y_i, y_i)|``.

:class:`cagan.extensions.Evaluation` runs this each epoch inside training
and keeps the best epoch's generator. The held-out data and the ground
truth come from :mod:`cagan.data.held_out`.
"""

import numpy

from cagan import metrics
from cagan.data.neutral import neutral_article
from cagan.inference import swap_arrays


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


