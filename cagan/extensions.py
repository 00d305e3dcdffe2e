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

from chainer.training import extensions

from cagan.layout import TMP_PREFIX, atomic_path

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
    """``chainer.training.extensions.PlotReport``, safe to kill and resume.

    * The PNG is written beside its final name and moved into place.
    * Chainer 7.8.1 does not save the plot trigger's state, so after a
      resume its first call fires and adds a point mid-interval. Starting
      the trigger at "previous iteration unknown" (-1), as a fresh trigger
      does after its first call, makes it fire only on interval boundaries.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        trigger = self._trigger
        if hasattr(trigger, '_previous_iteration'):
            trigger._previous_iteration = -1
            trigger._previous_epoch_detail = -1.

    def __call__(self, trainer):
        final = self._file_name
        target = os.path.join(trainer.out, final)
        tmp = atomic_path(target)
        self._file_name = os.path.relpath(tmp, trainer.out)
        try:
            super().__call__(trainer)
            if os.path.getsize(tmp):
                os.replace(tmp, target)
        finally:
            self._file_name = final
            if os.path.exists(tmp):
                os.unlink(tmp)


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
