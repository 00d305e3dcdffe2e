"""Held-out data: what previews, evaluation and inference are shown.

* The held-out pairs (:func:`held_out_records`): a dataset's test split
  when it has one, else its training pairs, in a random order fixed by a
  seed. Previews (:func:`preview_batch`) and the scores without ground
  truth (:func:`held_out_triplets`) take theirs from it.
* Ground truth (:func:`truth_file`, :func:`read_truth`): swaps listed in
  ``truth.txt`` with their true result and both articles' masks (the
  synthetic ``test/`` split has them; see ``data/README.md``).

The neutral article, shown where the worn article is unknown, is in
:mod:`cagan.data.neutral` (the updater uses it, without Pillow).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy

from cagan.data import dataset, images, layout
from cagan.errors import DataError, ImageError

#: The ground-truth file of a test folder.
TRUTH_NAME = 'truth.txt'


def held_out_records(root, seed):
    """The pairs held out from training, in a random order.

    Args:
        root (str or pathlib.Path): a dataset folder (our layout or
            VITON's).
        seed (int): seed of the order (a local
            ``numpy.random.default_rng(seed)``).

    Returns:
        tuple: the records of the test split when the dataset has one (held
        out), else of the training pairs (list of
        :class:`~cagan.data.dataset.Record`, in file order), and ``order``,
        int64 ``(N,)``: a permutation of their indices.

    Raises:
        cagan.errors.DataError: neither split is usable.
    """
    try:
        records = dataset.read_pairs_of(root, 'test')
    except DataError:
        records = dataset.read_pairs_of(root, 'train')
    order = numpy.random.default_rng(seed).permutation(len(records))
    return records, order


def preview_batch(config, seed):
    """A fixed batch for previews: humans with their articles, and articles.

    Taken from the dataset's test split when it has one (held out), else
    from the training pairs; ``preview.humans`` humans and
    ``preview.articles`` articles of other pairs, chosen by a local RNG.

    Returns:
        tuple: float32 ``x_i``, ``y_i`` ``(N, 3, H, W)`` and ``y_j``
        ``(M, 3, H, W)``.
    """
    root, size = config['data']['root'], config['data']['size']
    records, order = held_out_records(root, seed)
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


def held_out_triplets(root, size, seed=0, limit=64):
    """Fixed triplets of a dataset's test split (else its training pairs):
    float32 ``x_i, y_i, y_j`` ``(N, 3, H, W)``, no flips."""
    records, order = held_out_records(root, seed)
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
