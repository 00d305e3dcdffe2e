"""Held-out data: what previews, evaluation and inference are shown.

A dataset has up to three splits (:data:`~cagan.data.dataset.SPLITS`):
the training pairs, ``val/`` (scored every epoch, to choose the best one)
and ``test/`` (scored once, for the final report). Keeping the two
held-out splits apart keeps the final scores honest: the epoch chosen on
``val/`` has never been chosen by its ``test/`` score.

* The held-out pairs (:func:`held_out_records`): a dataset's validation
  split when it has one, else its test split, else its training pairs, in
  a random order fixed by a seed. Previews (:func:`preview_batch`) and the
  scores without ground truth (:func:`held_out_triplets`) take theirs from
  it.
* Ground truth (:func:`truth_file`, :func:`read_truth_rows`,
  :func:`read_truth`, :func:`read_truth_of`): swaps listed in
  ``truth.txt`` with their true result and both articles' masks (the
  synthetic set has them for ``val/``, ``test/`` and its training pairs;
  see ``data/README.md``).

The neutral article, shown where the worn article is unknown, is in
:mod:`cagan.data.neutral` (the updater uses it, without Pillow).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy

from cagan.data import dataset, images, layout
from cagan.errors import DataError, ImageError

#: The ground-truth file of a split's folder.
TRUTH_NAME = 'truth.txt'
#: The splits held out from training.
HELD_OUT = ('val', 'test')
# Where each split's held-out pairs come from, best first.
_FALLBACKS = {'val': ('val', 'test', 'train'), 'test': ('test', 'train'),
              'train': ('train',)}


def _check_split(split):
    if split not in dataset.SPLITS:
        raise ValueError('split must be one of {}, got {!r}'.format(
            ', '.join(dataset.SPLITS), split))


def _has_split(root, split):
    """True if ``root`` lists pairs for ``split`` (our layout or VITON's)."""
    root = Path(root)
    return split == 'train' or (root / split / 'pairs.txt').is_file() or (
        root / '{}_pairs.txt'.format(split)).is_file()


def held_out_records(root, seed, split='val'):
    """The pairs held out from training, in a random order.

    Args:
        root (str or pathlib.Path): a dataset folder (our layout or
            VITON's).
        seed (int): seed of the order (a local
            ``numpy.random.default_rng(seed)``).
        split (str): the split wanted: ``'val'`` (its absence falls back
            to ``'test'``, then to the training pairs), ``'test'`` (falls
            back to the training pairs) or ``'train'``.

    Returns:
        tuple: the records of the first split the dataset has (list of
        :class:`~cagan.data.dataset.Record`, in file order), and ``order``,
        int64 ``(N,)``: a permutation of their indices.

    Raises:
        cagan.errors.DataError: the split found is unusable (a split that
            is there but broken is reported, not skipped).
    """
    _check_split(split)
    found = next(s for s in _FALLBACKS[split] if _has_split(root, s))
    records = dataset.read_pairs_of(root, found)
    order = numpy.random.default_rng(seed).permutation(len(records))
    return records, order


def preview_batch(config, seed, split='val'):
    """A fixed batch for previews: humans with their articles, and articles.

    Taken from the dataset's ``split`` as :func:`held_out_records` finds it
    (the validation split when there is one); ``preview.humans`` humans and
    ``preview.articles`` articles of other pairs, chosen by a local RNG.

    Returns:
        tuple: float32 ``x_i``, ``y_i`` ``(N, 3, H, W)`` and ``y_j``
        ``(M, 3, H, W)``, RGB in [0, 1].
    """
    root, size = config['data']['root'], config['data']['size']
    records, order = held_out_records(root, seed, split)
    n, m = config['preview']['humans'], config['preview']['articles']
    humans = [records[k] for k in order[:n]]
    worn = {r.group for r in humans}
    others = [records[k] for k in order[n:] if records[k].group not in worn]
    articles = (others or [records[k] for k in order])[:m]

    def load(paths):
        return numpy.stack([images.to_chw(images.fit(images.load_rgb(p),
                                                     size)[0])
                            for p in paths])

    return (load([r.human for r in humans]), load([r.article for r in humans]),
            load([r.article for r in articles]))


def held_out_triplets(root, size, seed=0, limit=64, split='val'):
    """Fixed triplets of a dataset's ``split`` as :func:`held_out_records`
    finds it: float32 ``x_i, y_i, y_j`` ``(N, 3, H, W)``, RGB in [0, 1],
    no flips; ``N`` is at most ``limit``."""
    records, order = held_out_records(root, seed, split)
    chosen = sorted(order[:limit])
    triplets = dataset.TripletDataset([records[k] for k in chosen], size,
                                      seed=seed, flip=False,
                                      decode_threads=1)
    return tuple(numpy.stack(column) for column in
                 zip(*(triplets[k] for k in range(len(triplets)))))


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


def truth_file(root, split='test'):
    """The ``truth.txt`` of a split, or None when there is none.

    Args:
        root (str or pathlib.Path): a dataset folder, or a held-out split's
            own folder (named ``val`` or ``test``).
        split (str): ``'test'`` (``root/test/truth.txt``), ``'val'``
            (``root/val/truth.txt``) or ``'train'`` (``root/truth.txt``,
            the training pairs' ground truth). For ``'val'`` and ``'test'``,
            ``root/truth.txt`` counts only when ``root`` is itself a folder
            named ``val`` or ``test``: in a dataset folder it is the
            training ground truth, which must never be scored as held out.

    Returns:
        pathlib.Path or None
    """
    _check_split(split)
    root = Path(root)
    if split == 'train':
        candidates = [root / TRUTH_NAME]
    else:
        candidates = [root / split / TRUTH_NAME]
        if root.name in HELD_OUT:
            candidates.append(root / TRUTH_NAME)
    return next((path for path in candidates if path.is_file()), None)


def read_truth_of(root, split='train', limit=None):
    """The checked rows of a dataset's ground truth (see
    :func:`read_truth_rows`), for :class:`cagan.data.dataset.TruthDataset`.

    Args:
        root (str or pathlib.Path): a dataset folder.
        split (str): which split's ground truth (see :func:`truth_file`).
        limit (int or None): read only the first ``limit`` swaps.

    Returns:
        list of tuple: six absolute ``pathlib.Path`` s per swap.

    Raises:
        cagan.errors.DataError: there is no such ground truth, or its file
            is bad (see :func:`read_truth_rows`).
    """
    found = truth_file(root, split)
    if found is None:
        if split == 'train':
            raise DataError(['{}: has no training ground truth ({}); the '
                             'supervised mode needs data made by '
                             'scripts/make_synthetic.py'.format(
                                 root, TRUTH_NAME)])
        raise DataError(['{}: has no ground truth for its {} split ({}/{})'
                         .format(root, split, split, TRUTH_NAME)])
    return read_truth_rows(found, limit)


def read_truth_rows(path, limit=None):
    """Read and check a ground-truth file without loading its images:
    ``X_I Y_I Y_J X_IJ MASK_I MASK_J`` per line, paths relative to its
    folder (see data/README.md); ``#`` lines and blank lines are skipped.

    Args:
        path (str or pathlib.Path): the ``truth.txt``.
        limit (int or None): read only the first ``limit`` swaps.

    Returns:
        list of tuple: per swap, six absolute ``pathlib.Path`` s
        ``(x_i, y_i, y_j, x_ij, mask_i, mask_j)``, in file order.

    Raises:
        cagan.errors.DataError: an unreadable file, malformed lines, no
            swap, names that leave the file's folder
            (:func:`cagan.data.layout.check_names`) or name no file, one
            line each.
    """
    path = Path(path).absolute()
    try:
        text = path.read_text(encoding='utf-8')
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(['{}: cannot read the ground truth ({})'.format(
            path, e)]) from None
    rows, problems = [], []
    for number, line in enumerate(text.splitlines(), 1):
        tokens = line.split()
        if not tokens or tokens[0].startswith('#'):
            continue
        if len(tokens) != 6:
            problems.append('{}:{}: expected X_I Y_I Y_J X_IJ MASK_I MASK_J, '
                            'got {!r}'.format(path, number, line))
            continue
        rows.append((number, tokens))
    rows = rows[:limit]
    if not rows and not problems:
        problems.append('{}: no swaps listed'.format(path))
    if problems:
        raise DataError(problems)
    # Names stay inside the truth file's folder, as in pairs.txt.
    files = layout.check_names(path, [(number, t, path.parent)
                                      for number, tokens in rows
                                      for t in tokens])
    problems = ['{}:{}: no such file {}'.format(path, rows[k // 6][0], file)
                for k, file in enumerate(files) if not file.is_file()]
    if problems:
        raise DataError(problems)
    return [tuple(files[6 * k:6 * k + 6]) for k in range(len(rows))]


def read_truth(path, size, limit=None):
    """Read a ground-truth file (see :func:`read_truth_rows`) and its
    images, fitted to a network's size.

    Args:
        path (str or pathlib.Path): the ``truth.txt``.
        size (tuple of int): the network's ``(height, width)``.
        limit (int or None): read only the first ``limit`` swaps.

    Returns:
        TruthSet

    Raises:
        cagan.errors.DataError: what :func:`read_truth_rows` raises, and
            unreadable images, one line each.
    """
    columns = [[] for _ in range(6)]
    problems = []
    for row in read_truth_rows(path, limit):
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
