"""A run's folder: what training writes there, and how to use it again.

``scripts/train.py --out DIR`` makes a complete model in ``DIR``::

    config.yaml                 the resolved config (how to build the networks)
    train.lock                  held by the training writing here (its pid)
    log, loss.png, alpha.png, eval.png
    snapshot_iter_N             the trainer (one process), to resume from
    snapshot_rankR_iter_N       the trainer of rank R (ChainerMN)
    distributed.json            the ranks of a ChainerMN run
    gen_epoch_N.npz, dis_epoch_N.npz    the networks' weights each epoch
    gen_best.npz                the best epoch's generator (per-epoch scores)
    preview/iter_N.png, preview/latest.png

This module is the one home of those names, of building the networks a
config describes, of preparing, locking and cleaning the folder, and of
finding and loading a trained generator (:func:`load_generator`).
"""

import errno
import fcntl
import os
import re
import shutil
import weakref
from pathlib import Path

import chainer

import cagan
from cagan import config as config_module
from cagan.atomic import TMP_PREFIX
from cagan.errors import ConfigError, ModelFileError, RunFolderInUseError
from cagan.serialization import load_npz

CONFIG_NAME = 'config.yaml'
#: The lock a training holds on its folder (:class:`RunLock`).
LOCK_NAME = 'train.lock'
#: The trainer's snapshots, in order of iteration (Chainer's format string).
SNAPSHOT_NAME = 'snapshot_iter_{.updater.iteration}'
SNAPSHOT_PATTERN = re.compile(r'^snapshot_iter_\d+$')
#: A rank's snapshots. The rank comes first: Chainer finds and prunes
#: snapshots by the text before and after ``{...}``, so ``_rank1`` as a
#: suffix would also match ``_rank11``.
RANK_SNAPSHOT_NAME = 'snapshot_rank{}_iter_{{.updater.iteration}}'
RANK_SNAPSHOT_PATTERN = re.compile(r'^snapshot_rank(\d+)_iter_(\d+)$')
#: What rank 0 writes about the ranks of a ChainerMN run.
RANKS_NAME = 'distributed.json'
#: The generator's and discriminator's weights, each epoch.
GEN_NAME = 'gen_epoch_{.updater.epoch}.npz'
DIS_NAME = 'dis_epoch_{.updater.epoch}.npz'
GEN_PATTERN = re.compile(r'^gen_epoch_(\d+)\.npz$')
#: The best epoch's generator, kept by the per-epoch evaluation.
BEST_NAME = 'gen_best.npz'
PREVIEW_DIR = 'preview'
#: Where ``make demo`` trains; the default model of the command-line tools.
DEFAULT_MODEL = Path('results') / 'demo'

# Temporary folders of Chainer's writers: ``tmp<snapshot name>XXXXXXXX``
# (snapshots) and ``<log name>XXXXXXXX`` (LogReport), made by mkdtemp.
_CHAINER_TMP = re.compile(r'^(tmp.+|log[a-z0-9_]{8})$')


def make_generator(config, seed=None):
    """The generator a resolved config describes (weights from ``seed``):
    ``model.ch`` and ``model.wscale``, and its options ``model.gen`` as
    keyword arguments of :class:`cagan.Generator`."""
    return _make(cagan.Generator, config, 'gen', seed)


def make_discriminator(config, seed=None):
    """The discriminator a resolved config describes: ``model.ch`` and
    ``model.wscale``, and its options ``model.dis`` as keyword arguments of
    :class:`cagan.Discriminator`."""
    return _make(cagan.Discriminator, config, 'dis', seed)


def _make(network, config, options, seed):
    model = config['model']
    return network(ch=model['ch'], size=config['data']['size'],
                   wscale=model['wscale'], seed=seed, **model[options])


class RunLock(chainer.training.Extension):
    """One training's exclusive hold on its run folder, for as long as it
    runs.

    An OS file lock (``flock``) on ``out/train.lock``, which also holds the
    pid of the training that holds it, to name it to a second one. The
    kernel drops the lock when the process ends, however it ends (``kill
    -9`` included), so a killed training never blocks its restart.
    Processes forked while it is held (the step's helpers, data loaders)
    close their copy at once: the lock lives and dies with the trainer.
    Readers of a run (``evaluate.py``, ``swap.py``, ``ablation.py``'s
    scoring) take no lock.

    As a trainer extension it does nothing during the run and lets go when
    the run ends (``finalize``), so a run can be resumed in the same
    process.

    Args:
        folder (str or pathlib.Path): the run's folder.
    """

    trigger = staticmethod(lambda trainer: False)  # never called
    default_name = 'run_lock'

    #: Held locks, closed in every forked child.
    _held = weakref.WeakSet()

    def __init__(self, folder):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._fd = None

    @property
    def held(self):
        return self._fd is not None

    def acquire(self):
        """Take the lock (the folder must exist); nothing if held already.

        Raises:
            cagan.errors.RunFolderInUseError: another process holds it, in
                one line naming its pid; nothing was written.
            cagan.errors.ConfigError: the lock file cannot be opened or
                locked (a read-only folder, a file system without locks).
        """
        if self.held:
            return
        try:
            # No O_TRUNC: the holder's pid stays readable until we hold it.
            fd = os.open(str(self.path), os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise ConfigError('{}: cannot open the run folder\'s lock ({}); '
                              'choose another --out'.format(
                                  self.path, e.strerror)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = _read_pid(fd)
            os.close(fd)
            if e.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise ConfigError('{}: cannot lock the run folder ({}); '
                                  'choose another --out'.format(
                                      self.folder, e.strerror)) from None
            raise RunFolderInUseError(
                '{} is in use by another training (pid {}); wait for it or '
                'choose another --out'.format(
                    self.folder, holder or 'unknown')) from None
        pid = str(os.getpid())
        if _read_pid(fd) != pid:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (pid + '\n').encode(), 0)
        self._fd = fd
        self._held.add(self)

    def release(self):
        """Let go of the lock (nothing if not held)."""
        fd, self._fd = self._fd, None
        self._held.discard(self)
        if fd is not None:
            os.close(fd)  # closing the last descriptor drops the flock

    def __call__(self, trainer):
        pass

    def finalize(self):
        self.release()

    def __del__(self):
        self.release()

    @classmethod
    def _close_in_child(cls):
        for lock in list(cls._held):
            lock._fd, fd = None, lock._fd
            if fd is not None:
                os.close(fd)
        cls._held = weakref.WeakSet()


os.register_at_fork(after_in_child=RunLock._close_in_child)


def _read_pid(fd):
    """The pid written in a lock file (text), or '' if there is none."""
    try:
        text = os.pread(fd, 32, 0).decode('ascii', 'replace').strip()
    except OSError:
        return ''
    return text if text.isdigit() else ''


def lock_if_exists(out):
    """A :class:`RunLock` on ``out``, held if ``out`` is a folder already.

    A training calls this first, so that a second one on a folder in use
    stops at once, before it reads any data, having written nothing; a
    new folder is made and locked later, by :func:`prepare`.

    Raises:
        cagan.errors.RunFolderInUseError: see :meth:`RunLock.acquire`.
    """
    lock = RunLock(out)
    if lock.folder.is_dir():
        lock.acquire()
    return lock


def prepare(config, out, lock):
    """Make ``out`` for ``config``, or check it holds a run of the same one.

    Takes ``lock`` first (a :class:`RunLock` on ``out``, held or not: it
    is held after). Writes ``out/config.yaml`` (the resolved config) for a
    new run; for an existing one, clears what a killed run left
    half-written (:func:`remove_partial`).

    Raises:
        cagan.errors.ConfigError: ``out`` is not a folder, or holds a run of
            another config.
        cagan.errors.RunFolderInUseError: another training holds ``out``.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError('{}: exists and is not a folder; choose another '
                          '--out'.format(out))
    out.mkdir(parents=True, exist_ok=True)
    lock.acquire()
    saved = out / CONFIG_NAME
    if saved.is_file():
        previous = config_module.load(saved, saved=True)
        if previous != config:
            changed = config_module.differences(previous, config)
            raise ConfigError(
                '{} holds a run of another config (differs in {}): give '
                'another --out, or delete that folder to start over'.format(
                    out, ', '.join(changed)))
    else:
        config_module.save(config, saved)
    remove_partial(str(out))


def remove_partial(folder):
    """Delete what an interrupted run left half-written in ``folder``.

    Only temporary files and folders of the writers (ours: ``.tmp-*``;
    Chainer's: ``tmp*`` and ``log????????`` folders) are removed, in
    ``folder`` and its ``preview/``; finished files are never touched.

    Returns:
        list of str: the names removed.
    """
    removed = []
    for sub in (folder, os.path.join(folder, PREVIEW_DIR)):
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


def find_weights(model):
    """The generator weights a ``--model`` argument means.

    A file is taken as it is. A run's folder gives its best generator
    (``gen_best.npz``, kept by the per-epoch evaluation) when it has one,
    else its newest ``gen_epoch_N.npz``.

    Raises:
        cagan.errors.ModelFileError: nothing usable there, in one line.
    """
    model = Path(model)
    if model.is_file():
        return model
    if not model.exists():
        hint = (' (run `make demo` first, or give --model)'
                if model == DEFAULT_MODEL else '')
        raise ModelFileError('{}: no such model folder or file{}'.format(
            model, hint))
    if (model / BEST_NAME).is_file():
        return model / BEST_NAME
    epochs = {int(m.group(1)): name for name in os.listdir(model)
              for m in [GEN_PATTERN.match(name)] if m}
    if not epochs:
        raise ModelFileError('{}: no generator weights (gen_best.npz or '
                             'gen_epoch_N.npz) in this folder; has its '
                             'training finished an epoch?'.format(model))
    return model / epochs[max(epochs)]


def load_generator(model, device='@numpy'):
    """Build a generator from a run's config and load its weights.

    Args:
        model (str or pathlib.Path): a run's folder or a weights file in
            one (its folder must hold ``config.yaml``).
        device: a Chainer device or specifier.

    Returns:
        tuple: the :class:`~cagan.Generator` on ``device``, the resolved
        config (dict) and the weights' path.

    Raises:
        cagan.errors.ModelFileError: no weights, no config beside them, or
            weights that do not fit the config's generator.
        cagan.errors.ConfigError: an unreadable or invalid config.
    """
    weights = find_weights(model)
    config_path = weights.parent / CONFIG_NAME
    if not config_path.is_file():
        raise ModelFileError('{}: no {} beside it, so the generator it was '
                             'trained as is unknown; keep a run\'s folder '
                             'together'.format(weights, CONFIG_NAME))
    config = config_module.load(config_path, saved=True)
    gen = make_generator(config)
    load_npz(weights, gen)
    gen.to_device(chainer.get_device(device))
    return gen, config, weights
