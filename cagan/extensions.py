"""Trainer pieces that make a run safe to kill at any moment.

Chainer's snapshots, logs and weights are written to a temporary folder and
then moved into place, so a ``kill -9`` leaves the previous file or the new
one, plus at most a stray temporary folder, which :func:`remove_partial`
clears before a run starts. Chainer's ``PlotReport`` writes its PNG in
place and adds a spurious point after a resume; :class:`PlotReport` fixes
both.
"""

import os
import re
import shutil

import numpy
from chainer.training import extensions

from cagan.data.layout import TMP_PREFIX, replacing

# Temporary folders of Chainer's writers: ``tmp<snapshot name>XXXXXXXX``
# (snapshots) and ``<log name>XXXXXXXX`` (LogReport), made by mkdtemp.
_CHAINER_TMP = re.compile(r'^(tmp.+|log[a-z0-9_]{8})$')


def remove_partial(folder):
    """Delete what an interrupted run left half-written in ``folder``.

    Only temporary files and folders of the writers (ours: ``.tmp-*``;
    Chainer's: ``tmp*`` and ``log????????`` folders) are removed, in
    ``folder`` and its ``preview/``; finished files are never touched.

    Returns:
        list of str: the names removed.
    """
    removed = []
    for sub in (folder, os.path.join(folder, 'preview')):
        if not os.path.isdir(sub):
            continue
        for name in os.listdir(sub):
            path = os.path.join(sub, name)
            if name.startswith(TMP_PREFIX) and os.path.isfile(path):
                os.unlink(path)
            elif (sub == folder and _CHAINER_TMP.match(name) and
                  os.path.isdir(path)):
                shutil.rmtree(path)
            else:
                continue
            removed.append(os.path.relpath(path, folder))
    return removed


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
