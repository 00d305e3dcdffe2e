"""How good a generator is: scores against ground truth, or without it.

* With ground truth (the synthetic ``test/`` split, ``truth.txt``): each
  swap is scored by :func:`cagan.metrics.score_swap` next to the do-nothing
  baseline (``x_ij = x_i``), with the worn article given and with the
  neutral stand-in of worn-article dropout.
* Without (real pairs): the cycle error ``|x_i - G(G(x_i, y_i, y_j), y_j,
  y_i)|`` and the self error ``|x_i - G(x_i, y_i, y_i)|``.

:class:`Evaluation` runs this each epoch inside training and keeps the best
epoch's generator.
"""

import math
import os

import chainer
import numpy
from chainer import backend
from chainer.training import extension

from cagan import metrics
from cagan.data.layout import replacing
from cagan.data.neutral import neutral_article
from cagan.inference import BEST_NAME

def _run(gen, x, y, z, device, batch):
    """``G.swap`` in test mode over batches; CPU arrays out."""
    device = chainer.get_device(device)
    outs, alphas = [], []
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        for start in range(0, len(x), batch):
            part = slice(start, start + batch)
            x_ij, alpha = gen.swap(device.send(x[part]), device.send(y[part]),
                                   device.send(z[part]))
            outs.append(backend.CpuDevice().send(x_ij.array))
            alphas.append(backend.CpuDevice().send(alpha.array)[:, 0])
    return numpy.concatenate(outs), numpy.concatenate(alphas)


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
    x_ij, alpha = _run(gen, truth.x_i, numpy.ascontiguousarray(y_i),
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
    x_ij, _ = _run(gen, x_i, y_i, y_j, device, batch)
    x_iji, _ = _run(gen, x_ij, y_j, y_i, device, batch)
    x_ii, _ = _run(gen, x_i, y_i, y_i, device, batch)
    return {
        'cycle_error': float(numpy.mean([metrics.cycle_error(a, b)
                                         for a, b in zip(x_i, x_iji)])),
        'self_error': float(numpy.mean([metrics.self_error(a, b)
                                        for a, b in zip(x_i, x_ii)])),
    }


class Evaluation(extension.Extension):
    """Score the generator each epoch and keep the best one.

    Reports ``eval/<score>`` (logged and plotted like the losses): the
    :data:`cagan.metrics.SWAP_KEYS` with the worn article given when the
    data has ground truth, and ``eval/cycle_error`` and ``eval/self_error``
    always. The generator of the best epoch so far (lowest
    ``eval/changed_l1``, else lowest ``eval/cycle_error``) is saved as
    ``OUT/gen_best.npz``: the seed's generator degraded after 50 epochs,
    and a run must not lose its good model.

    Args:
        gen (cagan.Generator): the generator being trained.
        truth (TruthSet or None): ground-truth swaps.
        triplets (tuple): fixed ``(x_i, y_i, y_j)`` arrays for the scores
            without ground truth.
        device: where ``gen`` lives.
    """

    trigger = (1, 'epoch')
    priority = extension.PRIORITY_WRITER

    def __init__(self, gen, truth, triplets, device='@numpy'):
        self.gen = gen
        self.truth = truth
        self.triplets = triplets
        self.device = device
        self.key = 'changed_l1' if truth is not None else 'cycle_error'
        self.best = math.inf
        self.best_iteration = 0

    def __call__(self, trainer):
        scores = score_pairs(self.gen, *self.triplets, device=self.device)
        if self.truth is not None:
            scores.update(score_truth(self.gen, self.truth,
                                      device=self.device))
        chainer.report({'eval/' + k: v for k, v in scores.items()})
        if scores[self.key] < self.best:
            self.best = scores[self.key]
            self.best_iteration = trainer.updater.iteration
            with replacing(os.path.join(trainer.out, BEST_NAME)) as tmp:
                chainer.serializers.save_npz(tmp, self.gen)

    def serialize(self, serializer):
        self.best = float(serializer('best', self.best))
        self.best_iteration = int(serializer('best_iteration',
                                             self.best_iteration))
