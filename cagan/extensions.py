"""The trainer's extensions beyond Chainer's own: per-epoch scores and the
best generator, preview grids, plots, and a trigger for the run's end.

Each is safe to kill at any moment: files are written beside their final
name and moved into place (Chainer's snapshots, logs and weights go through
a temporary folder), so a ``kill -9`` leaves the previous file or the new
one, plus at most a stray temporary file, which
:func:`cagan.run.remove_partial` clears before a run starts.
"""

import functools
import math
import os

import chainer
import numpy
from chainer.training import extension, extensions

from cagan.atomic import replacing
from cagan.evaluation import score_pairs, score_truth
from cagan.inference import swap_arrays
from cagan.run import BEST_NAME, PREVIEW_DIR
from cagan.visualize import save_image, swap_grid



class PlotReport(extensions.PlotReport):
    """``chainer.training.extensions.PlotReport``, safe to kill and resume,
    and drawn only as often as someone looks.

    * A point is added every ``trigger``, as Chainer's; the PNG is drawn at
      the first point after ``draw_trigger`` fires (None: at every point).
      Chainer draws at every point: with the loss plotted every 10
      iterations, matplotlib took 12% of the demo's training time.
    * The PNG is written beside its final name and moved into place.
    * Chainer 7.8.1 does not save the plot trigger's state, so after a
      resume its first call fires and adds a point mid-interval. Starting
      the trigger at "previous iteration unknown" (-1), as a fresh trigger
      does after its first call, makes it fire only on interval boundaries.
    """

    def __init__(self, *args, draw_trigger=None, **kwargs):
        super().__init__(*args, **kwargs)
        trigger = self._trigger
        if hasattr(trigger, '_previous_iteration'):
            trigger._previous_iteration = -1
            trigger._previous_epoch_detail = -1.
        self._draw_trigger = draw_trigger
        self._draw_due = True

    def __call__(self, trainer):
        if not self.available():
            return
        observation = trainer.observation
        self._summary.add({k: observation[k] for k in self._y_keys
                           if k in observation})
        if self._draw_trigger is not None and self._draw_trigger(trainer):
            self._draw_due = True
        if not (trainer.is_before_training or self._trigger(trainer)):
            return
        stats = {k: float(v)
                 for k, v in self._summary.compute_mean().items()}
        stats.update(epoch=trainer.updater.epoch,
                     iteration=trainer.updater.iteration)
        for k in self._y_keys:
            if k in stats:
                self._data[k].append((stats[self._x_key], stats[k]))
        if self._draw_trigger is None or self._draw_due:
            self._draw(os.path.join(trainer.out, self._file_name))
            self._draw_due = False
        self._init_summary()

    def _draw(self, path):
        import matplotlib.pyplot as plt
        figure = plt.figure()
        try:
            axes = figure.add_subplot(111)
            axes.set_xlabel(self._x_key)
            if self._grid:
                axes.grid()
            for k in self._y_keys:
                if self._data[k]:
                    xy = numpy.array(self._data[k])
                    axes.plot(xy[:, 0], xy[:, 1], marker=self._marker,
                              label=k)
            if not axes.has_data():
                return
            if self._postprocess is not None:
                self._postprocess(figure, axes, self._summary)
            legend = axes.legend(bbox_to_anchor=(1.05, 1), loc=2,
                                 borderaxespad=0.)
            with replacing(path) as tmp:
                figure.savefig(tmp, bbox_extra_artists=(legend,),
                               bbox_inches='tight')
        finally:
            plt.close(figure)


class EveryOrEnd(object):
    """Fires every ``every`` iterations and at the last one (epoch ``end``).

    Stateless, so a resumed run fires exactly where an uninterrupted one
    does; snapshots and previews taken this way always include the final
    state.
    """

    def __init__(self, every, end_epoch):
        self.every = int(every)
        self.end_epoch = end_epoch

    def __call__(self, trainer):
        updater = trainer.updater
        return (updater.iteration % self.every == 0 or
                updater.epoch_detail >= self.end_epoch)


class Evaluation(extension.Extension):
    """Score the generator each epoch and keep the best one.

    Reports ``eval/<score>`` (logged and plotted like the losses): the
    :data:`cagan.metrics.SWAP_KEYS` with the worn article given when the
    data has ground truth, and ``eval/cycle_error`` and ``eval/self_error``
    always. The generator of the best epoch so far (lowest
    ``eval/changed_l1``, else lowest ``eval/cycle_error``) is saved as
    ``OUT/gen_best.npz``: the reference article's generator degraded after 50 epochs,
    and a run must not lose its good model. With ``keep_best=False`` the
    scores are reported and nothing is saved: the last epoch's generator
    (``gen_epoch_N.npz``) is then the model. The validation changed-region
    L1 sees only the garment, so after a rate decayed to 0 the last epoch
    can be the better try-on: its alpha has left the background.

    Args:
        gen (cagan.Generator): the generator being trained.
        truth (TruthSet or None): ground-truth swaps.
        triplets (tuple): fixed ``(x_i, y_i, y_j)`` arrays for the scores
            without ground truth.
        device: where ``gen`` lives.
        keep_best (bool): save the best epoch's generator.
    """

    trigger = (1, 'epoch')
    priority = extension.PRIORITY_WRITER

    def __init__(self, gen, truth, triplets, device='@numpy',
                 keep_best=True):
        self.gen = gen
        self.keep_best = keep_best
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
            if not self.keep_best:
                return
            with replacing(os.path.join(trainer.out, BEST_NAME)) as tmp:
                chainer.serializers.save_npz(tmp, self.gen)

    def serialize(self, serializer):
        self.best = float(serializer('best', self.best))
        self.best_iteration = int(serializer('best_iteration',
                                             self.best_iteration))


class Preview(chainer.training.Extension):
    """Save :func:`swap_grid` of a fixed batch as
    ``OUT/preview/iter_<iteration>.png`` and ``OUT/preview/latest.png``.

    The batch is fixed when the extension is made (held-out pairs, chosen by
    the caller with its own RNG), so successive grids show the same people
    and articles and can be compared.

    Args:
        gen (cagan.Generator): the generator being trained.
        x_i, y_i (numpy.ndarray): float32 ``(N, 3, H, W)``, humans and
            their own articles, RGB in [0, 1].
        y_j (numpy.ndarray): float32 ``(M, 3, H, W)``, articles.
        device: where ``gen`` lives.
    """

    trigger = (200, 'iteration')

    def __init__(self, gen, x_i, y_i, y_j, device=None):
        self.gen = gen
        self.x_i, self.y_i, self.y_j = x_i, y_i, y_j
        self.device = device

    def __call__(self, trainer):
        folder = os.path.join(trainer.out, PREVIEW_DIR)
        os.makedirs(folder, exist_ok=True)
        swap = functools.partial(swap_arrays, self.gen,
                                 device=self.device or '@numpy')
        grid = swap_grid(swap, self.x_i, self.y_i, self.y_j)
        save_image(grid, os.path.join(
            folder, 'iter_{}.png'.format(trainer.updater.iteration)))
        save_image(grid, os.path.join(folder, 'latest.png'))
