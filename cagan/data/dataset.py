"""Paired human/article datasets: layouts on disk, decoding once, triplets.

Data flow: :func:`read_pairs_of` reads a layout (ours or VITON's) into
:class:`Record` s and checks every file; :class:`TripletDataset` decodes each
image once, fitted to the network's size, and yields CAGAN's triplets
``(x_i, y_i, y_j)``; :func:`make_iterator` batches them in a deterministic,
resumable order. :class:`TruthDataset` yields swaps with their true result,
``(x_i, y_i, y_j, x_ij)``, from a ``truth.txt`` (the supervised reference).
"""

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy
from chainer import dataset as chainer_dataset
from chainer import iterators

from cagan.data import images, layout
from cagan.data.union_find import UnionFind
from cagan.errors import DataError, ImageError
from cagan.sizes import as_size


@dataclass(frozen=True)
class Record:
    """One human and the article they wear.

    Attributes:
        human (pathlib.Path): the photo of the person (x_i).
        article (pathlib.Path): the product photo (y_i).
        group (str): articles in the same group are the same product (the
            same file, or flagged duplicates); y_j is never drawn from x_i's.
    """

    human: Path
    article: Path
    group: str


#: The splits of a dataset: training pairs, validation (each epoch's
#: scores, choosing the best epoch) and test (the final report).
SPLITS = ('train', 'val', 'test')


def detect_layout(root):
    """``'cagan'`` (our layout), ``'viton'`` or None."""
    root = Path(root)
    if (root / 'pairs.txt').is_file():
        return 'cagan'
    if any((root / '{}_pairs.txt'.format(s)).is_file()
           for s in ('train', 'test')):
        return 'viton'
    return None


def read_pairs_of(root, split='train', skip_flagged=True):
    """Read the pairs of a dataset folder and check that every file exists.

    Args:
        root (str or pathlib.Path): a folder in our layout or VITON's
            (see ``data/README.md``).
        split (str): ``'train'``, ``'val'`` or ``'test'`` (one of
            :data:`SPLITS`). In our layout, ``'val'`` and ``'test'`` are the
            ``val/`` and ``test/`` subfolders; VITON's are
            ``val_pairs.txt`` (which VITON itself does not have) and
            ``test_pairs.txt``.
        skip_flagged (bool): leave out pairs flagged ``back_view``,
            ``extra_garment`` or ``bottoms_only``, as the reference article did.

    Returns:
        list of Record: in file order.

    Raises:
        cagan.errors.DataError: every problem found, one line each: a missing
            folder or pairs file, malformed lines, names that leave their
            folder (:func:`cagan.data.layout.check_names`), pairs naming missing
            files, no usable pair, or fewer than two distinct articles.
    """
    root = Path(root)
    if split not in SPLITS:
        raise ValueError('split must be one of {}, got {!r}'.format(
            ', '.join(SPLITS), split))
    if not root.is_dir():
        raise DataError(['{}: no such dataset folder'.format(root)])
    kind = detect_layout(root)
    if kind == 'viton':
        records = _read_viton(root, split)
    elif kind == 'cagan':
        folder = root if split == 'train' else root / split
        records = _read_ours(folder, skip_flagged)
    else:
        raise DataError(['{}: neither our layout (pairs.txt, humans/, '
                         'articles/) nor VITON\'s (train_pairs.txt, '
                         'train/image/, train/cloth/); see data/README.md'
                         .format(root)])
    problems = ['{}: missing ({} of a pair)'.format(path, role)
                for path, role in sorted(
                    {(r.human, 'human') for r in records}
                    | {(r.article, 'article') for r in records})
                if not path.is_file()]
    if problems:
        raise DataError(problems)
    if not records:
        raise DataError(['{}: no usable pairs{}'.format(
            root, ' (all are flagged)' if skip_flagged else '')])
    if len({r.group for r in records}) < 2:
        raise DataError(['{}: every pair has the same article; CAGAN needs '
                         'at least two different articles'.format(root)])
    return records


def _read_ours(folder, skip_flagged):
    pairs = layout.read_pairs(folder / 'pairs.txt')
    for sub in ('humans', 'articles'):
        if not (folder / sub).is_dir():
            raise DataError(['{}: no such folder'.format(folder / sub)])
    # Every line, flagged or not: the file must not point elsewhere at all.
    humans, articles = folder / 'humans', folder / 'articles'
    layout.check_names(folder / 'pairs.txt', [
        entry for p in pairs
        for entry in ((p.line, p.human, humans), (p.line, p.article, articles))])
    # Union the dup_of links so that chains of duplicates share a group,
    # named after the original at the end of the chain.
    groups = UnionFind()
    for pair in pairs:
        if pair.dup_of:
            groups.union(pair.article, pair.dup_of)
    return [Record(folder / 'humans' / p.human, folder / 'articles' / p.article,
                   groups.find(p.article))
            for p in pairs if not (skip_flagged and p.excluded)]


def _read_viton(root, split):
    pairs_file = root / '{}_pairs.txt'.format(split)
    images_dir, cloth_dir = root / split / 'image', root / split / 'cloth'
    problems = ['{}: no such {}'.format(p, what) for p, what in
                ((pairs_file, 'pairs file'), (images_dir, 'folder'),
                 (cloth_dir, 'folder')) if not p.exists()]
    if problems:
        raise DataError(problems)
    rows, problems = [], []
    with open(pairs_file, encoding='utf-8') as f:
        lines = f.read().splitlines()
    for number, text in enumerate(lines, 1):
        tokens = text.split()
        if not tokens:
            continue
        if len(tokens) != 2:
            problems.append('{}:{}: expected "PERSON CLOTH", got {!r}'.format(
                pairs_file, number, text))
            continue
        rows.append((number, tokens[0], tokens[1]))
    if problems:
        raise DataError(problems)
    layout.check_names(pairs_file, [
        entry for number, person, cloth in rows
        for entry in ((number, person, images_dir),
                      (number, cloth, cloth_dir))],
        folders=(images_dir, cloth_dir))
    records, own = [], []
    for number, person, cloth in rows:
        # VITON-HD names a person's own cloth like the person; its test pairs
        # list another cloth on purpose. VITON lists the worn one.
        worn = person if (cloth_dir / person).is_file() else cloth
        if worn != cloth:
            own.append((number, worn, cloth_dir))
        records.append(Record(images_dir / person, cloth_dir / worn, worn))
    # A person's name taken as a cloth must stay inside cloth/ as well.
    layout.check_names(pairs_file, own, folders=(images_dir, cloth_dir))
    return records


class TripletDataset(chainer_dataset.DatasetMixin):
    """CAGAN's training triplets ``(x_i, y_i, y_j)`` from paired records.

    Every image is decoded once, when the dataset is built, fitted to
    ``size`` by :func:`cagan.data.images.fit` (aspect ratio kept, padded with the
    photo's border colour, never cropped) and kept as uint8 in memory, so an
    epoch never waits on JPEG decoding; loader processes of a
    ``MultiprocessIterator`` share it (copy-on-write).

    Example ``index`` gives pair ``i = index % len(self)`` in epoch
    ``index // len(self)``; y_j (another pair's article, never one of x_i's
    article group) and the flips are drawn from an RNG seeded by
    ``(seed, epoch, i)``, so triplets are the same for the same seed whatever
    process draws them. :func:`make_iterator` feeds such indices.

    Args:
        records (list of Record): from :func:`read_pairs_of`.
        size (int or (int, int)): the networks' (height, width).
        seed (int): seed of the y_j draws and flips.
        flip (bool): flip x_i and y_i together, left-right, with probability
            1/2 (swimwear can be asymmetric, so never one without the other),
            and y_j on its own, as the reference article did.
        decode_threads (int or None): threads decoding the images once
            (default: one per core).
        worn_dropout (float): probability that the generator's first pass
            is shown :func:`cagan.data.neutral.neutral_article` instead of
            y_i (not in the reference article, which always gave the worn article): it
            teaches the generator to swap when only a photo of the person
            and the new article are at hand. With dropout, examples get a
            fourth item, ``shown``: a float32 scalar, 0 where y_i is to be
            hidden; the real y_i stays in the example for the cycle pass and
            the discriminator.

    Raises:
        cagan.errors.DataError: every unreadable image, one line each.

    Each example: three float32 ``(3, H, W)`` arrays, RGB in [0, 1].
    """

    def __init__(self, records, size, seed=0, flip=True, decode_threads=None,
                 worn_dropout=0.0):
        self.size = as_size(size)
        self.seed = int(seed)
        self.flip = flip
        if not 0 <= worn_dropout <= 1:
            raise ValueError('worn_dropout is a probability, got {}'.format(
                worn_dropout))
        self.worn_dropout = worn_dropout
        self.records = list(records)
        humans = sorted({r.human for r in self.records})
        articles = sorted({r.article for r in self.records})
        self._humans, self._articles = _decode_all(
            [humans, articles], self.size, decode_threads)
        h_index = {p: k for k, p in enumerate(humans)}
        a_index = {p: k for k, p in enumerate(articles)}
        self._pair_human = numpy.array([h_index[r.human] for r in self.records])
        self._pair_article = numpy.array([a_index[r.article]
                                          for r in self.records])
        groups = {g: k for k, g in enumerate(sorted({r.group
                                                     for r in self.records}))}
        self._group = numpy.array([groups[r.group] for r in self.records])
        if len(groups) < 2:
            raise DataError(['the dataset needs at least two different '
                             'articles to draw y_j'])

    def __len__(self):
        return len(self.records)

    def get_example(self, index):
        n = len(self.records)
        i, epoch = int(index) % n, int(index) // n
        rng = numpy.random.default_rng([self.seed, epoch, i])
        j = int(rng.integers(n))
        while self._group[j] == self._group[i]:
            j = int(rng.integers(n))
        x_i = self._humans[self._pair_human[i]]
        y_i = self._articles[self._pair_article[i]]
        y_j = self._articles[self._pair_article[j]]
        if self.flip:
            if rng.random() < 0.5:
                x_i, y_i = x_i[:, ::-1], y_i[:, ::-1]
            if rng.random() < 0.5:
                y_j = y_j[:, ::-1]
        triplet = images.to_chw(x_i), images.to_chw(y_i), images.to_chw(y_j)
        if not self.worn_dropout:
            return triplet
        # Drawn last, so that triplets without dropout are unchanged by it.
        shown = numpy.float32(rng.random() >= self.worn_dropout)
        return triplet + (numpy.array(shown),)


class TruthDataset(chainer_dataset.DatasetMixin):
    """Swaps with their true result, ``(x_i, y_i, y_j, x_ij)``, for
    training a generator against the truth (a supervised reference, not
    CAGAN).

    Every image is decoded once, fitted to ``size`` as in
    :class:`TripletDataset`, and kept as uint8 in memory. Example ``index``
    gives row ``k = index % len(self)`` in epoch ``index // len(self)``
    (:func:`make_iterator` feeds such indices); its flip is drawn from an
    RNG seeded by ``(seed, epoch, k)``, so it is the same whatever process
    draws it.

    Args:
        rows (list of tuple): rows of a ``truth.txt``, each six paths
            ``(x_i, y_i, y_j, x_ij, mask_i, mask_j)``, from
            :func:`cagan.data.held_out.read_truth_rows` (the masks are
            not read).
        size (int or (int, int)): the networks' (height, width).
        seed (int): seed of the flips.
        flip (bool): flip all four images together, left-right, with
            probability 1/2 (one flipped alone would no longer match the
            truth).
        decode_threads (int or None): threads decoding the images once
            (default: one per core).

    Raises:
        cagan.errors.DataError: no rows, or every unreadable image, one
            line each.

    Each example: four float32 ``(3, H, W)`` arrays, RGB in [0, 1].
    """

    def __init__(self, rows, size, seed=0, flip=True, decode_threads=None):
        self.size = as_size(size)
        self.seed = int(seed)
        self.flip = flip
        self.rows = [tuple(row[:4]) for row in rows]
        if not self.rows:
            raise DataError(['no ground-truth swaps to train on'])
        # Humans and articles recur across rows: each decoded once.
        paths = sorted({p for row in self.rows for p in row})
        self._images, = _decode_all([paths], self.size, decode_threads)
        index = {p: k for k, p in enumerate(paths)}
        self._rows = numpy.array([[index[p] for p in row]
                                  for row in self.rows])

    def __len__(self):
        return len(self.rows)

    def get_example(self, index):
        n = len(self.rows)
        k, epoch = int(index) % n, int(index) // n
        chosen = [self._images[i] for i in self._rows[k]]
        if self.flip and numpy.random.default_rng(
                [self.seed, epoch, k]).random() < 0.5:
            chosen = [image[:, ::-1] for image in chosen]
        return tuple(images.to_chw(image) for image in chosen)


def _decode_all(path_lists, size, decode_threads):
    """Decode and fit every path once; all unreadable files reported together."""
    def load(path):
        try:
            return images.fit(images.load_rgb(path), size)[0]
        except ImageError as e:
            return e

    flat = [p for paths in path_lists for p in paths]
    # Pillow releases the GIL while decoding: threads use every core.
    with ThreadPoolExecutor(decode_threads or os.cpu_count() or 1) as pool:
        decoded = list(pool.map(load, flat))
    problems = [str(d) for d in decoded if isinstance(d, ImageError)]
    if problems:
        raise DataError(problems)
    out, start = [], 0
    for paths in path_lists:
        block = numpy.empty((len(paths),) + tuple(size) + (3,), numpy.uint8)
        for k in range(len(paths)):
            block[k] = decoded[start + k]
        out.append(block)
        start += len(paths)
    return out


class EpochOrderSampler(object):
    """Order sampler tagging each index with its epoch: ``i + n * epoch``.

    The order of epoch ``e`` depends only on ``(seed, e)``, and ``e`` is read
    back from the previous order, which Chainer's iterators save in
    snapshots: a resumed run continues with exactly the orders (and, through
    :class:`TripletDataset`, the triplets) of an uninterrupted one.
    """

    def __init__(self, seed=0, shuffle=True):
        self.seed = int(seed)
        self.shuffle = shuffle

    def __call__(self, current_order, current_position):
        n = len(current_order)
        epoch = int(current_order[0]) // n + 1 if n else 0
        order = (numpy.random.default_rng([self.seed, epoch]).permutation(n)
                 if self.shuffle else numpy.arange(n))
        return order + n * epoch


def make_iterator(dataset, batch_size, seed=0, shuffle=True, repeat=True,
                  n_processes=0):
    """An iterator over ``dataset`` in a deterministic, resumable order.

    Args:
        dataset (TripletDataset or TruthDataset): the examples.
        batch_size (int): triplets per batch.
        seed (int): seed of the epoch orders.
        shuffle (bool): a new random order every epoch.
        repeat (bool): go on past the first epoch.
        n_processes (int): 0 for a ``SerialIterator``, else a
            ``MultiprocessIterator`` with that many loader processes.
    """
    sampler = EpochOrderSampler(seed, shuffle)
    if n_processes:
        return iterators.MultiprocessIterator(
            dataset, batch_size, repeat=repeat, shuffle=None,
            order_sampler=sampler, n_processes=n_processes)
    return iterators.SerialIterator(dataset, batch_size, repeat=repeat,
                                    shuffle=None, order_sampler=sampler)
