"""Writing a dataset in the layout of ``data/README.md``
(:func:`write_dataset`): planted and flagged cases, re-shot duplicates,
the validation and test splits with their ground truth, and the training
pairs' ground truth.
"""

import dataclasses
import os
import time
from dataclasses import dataclass

import numpy as np

from cagan.atomic import write_bytes_atomic, write_text_atomic
from cagan.data.layout import Pair, write_pairs
from cagan.data.synthetic.body import _framing, frame
from cagan.data.synthetic.near_duplicates import (_Designs, difference_hash,
                                                  perceptual_hash)
from cagan.data.synthetic.params import (_Draws, _style, sample_article,
                                         sample_human)
from cagan.data.synthetic.png import png_bytes
from cagan.data.synthetic.render import (_Figure, _check_size,
                                         _draw_article, _draw_human)
from cagan.errors import CaganError

#: Shares of the training pairs planted with each flag (mutually exclusive).
SHARES = (('back_view', 0.08), ('extra_garment', 0.05),
          ('bottoms_only', 0.05), ('dup_of', 0.04))

# Streams of randomness: pair i of a split draws everything (human, article,
# re-draws, re-shot) from default_rng([seed, SPLIT, i]).  Only an article's
# re-draws look back (at the designs written before it), so no pair depends
# on how many come after it: a longer run starts with a shorter one.  The
# article a training human is shown in for the training ground truth comes
# from a stream of its own (_SWAPS), so writing it or not changes nothing
# else.
_TRAIN, _TEST, _FLAGS, _VAL, _SWAPS = 1, 2, 3, 4, 5
_GOLDEN = 0.6180339887498949
_ARTICLE_DRAWS = 8
_DUP_MAX_HASH = 4     # a re-shot: perceptual hashes at most this apart
_SWAP_DRAWS = 64      # tries at another article before a plain search
#: The header of a ``truth.txt``; its paths are relative to its folder.
_TRUTH_HEADER = '# X_I Y_I Y_J X_IJ MASK_I MASK_J (paths relative to {})\n'


@dataclass
class SyntheticSet:
    """What :func:`write_dataset` wrote.

    Attributes:
        out (str): the dataset folder.
        size (tuple of int): (height, width).
        seed (int): the seed.
        train (list): (Pair, Human, Article) per line of ``pairs.txt``.
        val (list): (Pair, Human, Article) per line of ``val/pairs.txt``.
        test (list): (Pair, Human, Article) per line of ``test/pairs.txt``.
        truth (list): the rows of ``test/truth.txt``, tuples of six paths
            relative to ``test/``.
        val_truth (list): the rows of ``val/truth.txt``, relative to
            ``val/``.
        train_truth (list): the rows of ``truth.txt`` (the training
            ground truth), relative to ``out``; empty when not written.
        seconds (float): wall time of the whole run.
    """

    out: str
    size: tuple
    seed: int
    train: list
    val: list
    test: list
    truth: list
    val_truth: list
    train_truth: list
    seconds: float

    @property
    def rate(self):
        """Pairs (training, validation and test) written per second."""
        return ((len(self.train) + len(self.val) + len(self.test)) /
                max(self.seconds, 1e-9))

    def flag_counts(self):
        """How many training pairs carry each flag, as a dict."""
        counts = {name: 0 for name, _ in SHARES}
        for pair, _, _ in self.train:
            for flag in pair.flags:
                counts[flag] += 1
            if pair.dup_of:
                counts['dup_of'] += 1
        return counts


def _planted_flag(offset, i):
    """The case planted at training pair ``i`` ('' for none).  A golden-ratio
    sequence keeps every share within a pair or two of its target at any
    count, and the flag of pair i depends only on the seed and i."""
    u = (offset + i * _GOLDEN) % 1.0
    for name, share in SHARES:
        if u < share:
            return name
        u -= share
    return ''


#: Images drawn before their files are written, in turns: each of the
#: drawing code and zlib (whose state alone is a quarter megabyte) then
#: stays in the caches for a while.
_BATCH = 128


class _Writer:
    """Writes images atomically (:func:`cagan.atomic.write_bytes_atomic`)
    in batches: :meth:`later` keeps them (see :data:`_BATCH`), :meth:`flush`
    writes what waits."""

    def __init__(self):
        self.waiting = []

    def later(self, path, array):
        """:meth:`png`, when the batch is full or at the next flush."""
        self.waiting.append((path, array))
        if len(self.waiting) >= _BATCH:
            self.flush()

    def flush(self):
        for path, array in self.waiting:
            self.png(path, array)
        self.waiting.clear()

    def png(self, path, array):
        """``array``: a uint8 (H, W, 3) RGB image, or a bool (H, W) mask
        (written 255 inside, 0 outside)."""
        write_bytes_atomic(path, png_bytes(array))


def _new_article(rng, seen, bottoms_only=False):
    """A distinct article, redrawn (a few times at most) while too similar
    to one already written."""
    best = None
    for _ in range(_ARTICLE_DRAWS):
        article = sample_article(rng, bottoms_only=bottoms_only)
        close = seen.too_close(article)
        if best is None or close < best[0]:
            best = (close, article)
        if not close:
            break
    seen.add(best[1])
    return best[1]


def _reshoot(rng, original, size):
    """The same product photographed again: shifted by a pixel or two,
    zoomed and brightened by a few percent.  Returns (article, image),
    never byte-identical to the original's photo and with perceptual hashes
    close to it (a larger change is retried smaller, down to brightness
    only, which leaves the hashes as they are)."""
    h, w = size
    d = _Draws(rng)
    dx, dy, zoom, _ = original.photo
    first = _draw_article(original, size)
    ph, dh = _hashes(first)
    for k in (1.0, 1.0, 0.5, 0.0):
        sx, sy = d.index(5) - 2, d.index(5) - 2
        photo = (dx + k * sx / w, dy + k * sy / h,
                 zoom * (1.0 + k * d.u(-0.03, 0.03)),
                 1.0 + d.sign() * d.u(0.01, 0.03))
        article = dataclasses.replace(original, photo=photo)
        image = _draw_article(article, size)
        if np.array_equal(image, first):
            continue
        p_hash, d_hash = _hashes(image)
        if (_hamming(p_hash, ph) <= _DUP_MAX_HASH and
                _hamming(d_hash, dh) <= _DUP_MAX_HASH + 2):
            break
    return article, image


def _hashes(image):
    """(pHash, dHash) of a uint8 (H, W, 3) image."""
    return perceptual_hash(image), difference_hash(image)


def _hamming(a, b):
    return bin(a ^ b).count('1')


def _check_split_size(name, value):
    if (not isinstance(value, (int, np.integer)) or value < 0 or
            value == 1):
        raise CaganError('{} pairs must be 0 or a whole number >= 2 (each '
                         '{} human swaps to another {} article); got {!r}'
                         .format(name, name, name, value))
    return int(value)


def write_dataset(out, pairs, size=(128, 96), seed=0, test_pairs=256,
                  progress=None, framing='full', val_pairs=64,
                  train_truth=True, style='street'):
    """Write a synthetic dataset in the layout of ``data/README.md``.

    * ``out/humans/hNNNNNN.png`` (x_i), ``out/articles/aNNNNNN.png`` (y_i)
      and ``out/pairs.txt``, with about 8% ``back_view``, 5%
      ``extra_garment``, 5% ``bottoms_only`` and 4% ``dup_of`` pairs
      planted and flagged;
    * ``out/truth.txt`` and ``out/truth/`` (with ``train_truth``): for
      each training pair not flagged ``back_view``, ``extra_garment`` or
      ``bottoms_only``, the true image of its human wearing another such
      pair's article (never one of its own article's group), with both
      garment masks;
    * ``out/val/`` (validation: choosing the best epoch) and ``out/test/``
      (the final report), each with its own ``humans/``, ``articles/``,
      ``pairs.txt`` (no flagged cases), ``truth/`` and ``truth.txt``: for
      each human, another article of the split and the true image of the
      human wearing it, with both garment masks (8-bit PNG, 255 inside).

    Every person and article belongs to one split only: people are drawn
    from streams of their own, and apart from the planted duplicates no
    two articles (of any split) share a design (cut and print) in colours
    closer than
    :data:`~cagan.data.synthetic.near_duplicates._MIN_COLOUR`: an article
    too close to one written before is redrawn.  Every file is written
    atomically; list files are removed first and ``pairs.txt`` is written
    last, so an interrupted run leaves no list naming a missing or stale
    image.

    Args:
        out (str or os.PathLike): the dataset folder (created if needed).
        pairs (int): training pairs, >= 1.
        size (tuple of int): (height, width) of every image, each >= 16.
        seed (int): >= 0; the same seed gives byte-identical files.
        test_pairs (int): test pairs, 0 (no test split) or >= 2.
        progress (callable or None): called as ``progress(done, total)``
            now and then while the training pairs are written.
        framing (str): a key of :data:`~cagan.data.synthetic.body.FRAMINGS`;
            the same seed draws the same people and articles in every
            framing.
        val_pairs (int): validation pairs, 0 (no validation split) or >= 2.
        train_truth (bool): write the training ground truth.
        style (str): a key of :data:`~cagan.data.synthetic.params.STYLES`:
            the look of the photos of people, in every split.

    Returns:
        SyntheticSet: what was written.

    Raises:
        cagan.errors.CaganError: a bad argument or an ``out`` that is not a
            folder.
    """
    start = time.perf_counter()
    size = _check_size(size)
    for name, value, least in (('pairs', pairs, 1), ('seed', seed, 0)):
        if not isinstance(value, (int, np.integer)) or value < least:
            raise CaganError('{} must be a whole number >= {}; got {!r}'
                             .format(name, least, value))
    test_pairs = _check_split_size('test', test_pairs)
    val_pairs = _check_split_size('validation', val_pairs)
    out = os.fspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise CaganError('{}: exists and is not a folder'.format(out))
    seed, pairs = int(seed), int(pairs)
    # Refuse an unknown framing or style before writing.
    _framing(framing)
    _style(style)
    folders = ['humans', 'articles'] + ['truth'] * bool(train_truth)
    for split, n in (('test', test_pairs), ('val', val_pairs)):
        if n:
            folders += [split + '/humans', split + '/articles',
                        split + '/truth']
    for folder in folders:
        os.makedirs(os.path.join(out, folder), exist_ok=True)
    # Lists go first, so readers never pair old lists with new images.
    for name in ('pairs.txt', 'truth.txt', 'test/pairs.txt',
                 'test/truth.txt', 'val/pairs.txt', 'val/truth.txt'):
        path = os.path.join(out, name)
        if os.path.isfile(path):
            os.unlink(path)
    writer = _Writer()
    seen = _Designs()
    look = (framing, style)
    # Test first: its people and articles are those of earlier versions.
    test, truth = _write_held_out(out, 'test', _TEST, size, seed, test_pairs,
                                  writer, seen, look)
    val, val_truth = _write_held_out(out, 'val', _VAL, size, seed, val_pairs,
                                     writer, seen, look)
    train, train_rows = _write_train(out, size, seed, pairs, writer, seen,
                                     progress, look, train_truth)
    if train_rows:    # none at all: no list (one pair, say)
        write_text_atomic(os.path.join(out, 'truth.txt'),
                          _TRUTH_HEADER.format('this folder') +
                          ''.join(' '.join(r) + '\n' for r in train_rows))
    write_pairs(os.path.join(out, 'pairs.txt'), [t[0] for t in train])
    return SyntheticSet(out, size, seed, train, val, test, truth, val_truth,
                        train_rows, time.perf_counter() - start)


def _name(prefix, i):
    return '{}{:06d}.png'.format(prefix, i)


def _swap_row(pair, other):
    """The ``truth.txt`` row of ``pair``'s human wearing article file
    ``other``: six paths relative to the folder of ``humans/``."""
    stem = pair.human[:-4]
    return ('humans/' + pair.human, 'articles/' + pair.article,
            'articles/' + other,
            'truth/{}_{}'.format(stem, other),
            'truth/{}_{}_mask.png'.format(stem, pair.article[:-4]),
            'truth/{}_{}_mask.png'.format(stem, other[:-4]))


def _write_swap(folder, row, human, article, other, size, writer, y=None):
    """Draw ``human`` once and dress it twice (``article``, then
    ``other``); queue x_i, x_ij, both masks and, if given, the product
    photo ``y`` (at ``row[1]``) for writing under ``folder``."""
    figure = _Figure(human, size)
    x, mask = _draw_human(human, article, size, figure)
    x_ij, mask_j = _draw_human(human, other, size, figure)
    for k, image in ((0, x), (1, y), (3, x_ij), (4, mask), (5, mask_j)):
        if image is not None:
            writer.later(os.path.join(folder, row[k]), image)


def _write_held_out(out, split, stream, size, seed, n, writer, seen, look):
    """Write the held-out ``split`` folder of ``n`` pairs (none: nothing)
    and its ground truth; returns (items, rows)."""
    framing, style = look
    items, swaps = [], []
    for i in range(n):
        rng = np.random.default_rng([seed, stream, i])
        human = frame(sample_human(rng, back_view=False, extra_garment=False,
                                   style=style), framing)
        article = _new_article(rng, seen)
        items.append((Pair(_name('h', i), _name('a', i)), human, article))
        # Swap to another article of the split (all are distinct by design).
        j = _Draws(rng).index(n - 1)
        swaps.append(j + (j >= i))
    folder = os.path.join(out, split)
    rows = []
    for (pair, human, article), j in zip(items, swaps):
        row = _swap_row(pair, items[j][0].article)
        _write_swap(folder, row, human, article, items[j][2], size, writer,
                    _draw_article(article, size))
        rows.append(row)
    writer.flush()
    if n:
        write_pairs(os.path.join(folder, 'pairs.txt'), [t[0] for t in items])
        write_text_atomic(os.path.join(folder, 'truth.txt'),
                          _TRUTH_HEADER.format(split + '/') +
                          ''.join(' '.join(r) + '\n' for r in rows))
    return items, rows


def _train_swaps(seed, items):
    """For each training pair, the index of the pair whose article its
    human is shown in for the ground truth, or None: pairs with an
    excluding flag get none and are never chosen, nor is a pair of the
    same article group (a re-shot is the same product)."""
    group = [p.dup_of or p.article for p, _, _ in items]
    usable = [k for k, (p, _, _) in enumerate(items) if not p.excluded]
    swaps = []
    for i, (pair, _, _) in enumerate(items):
        j = None
        if not pair.excluded:
            d = _Draws(np.random.default_rng([seed, _SWAPS, i]))
            for _ in range(_SWAP_DRAWS):
                k = usable[d.index(len(usable))]
                if group[k] != group[i]:
                    j = k
                    break
            else:
                j = next((k for k in usable if group[k] != group[i]), None)
        swaps.append(j)
    return swaps


def _write_train(out, size, seed, n, writer, seen, progress, look,
                 with_truth):
    """Draw the training pairs (all of them first: a human's ground truth
    may show a later pair's article), then render and write them; returns
    (items, truth rows)."""
    framing, style = look
    offset = float(np.random.default_rng([seed, _FLAGS]).random())
    flags = [_planted_flag(offset, i) for i in range(n)]
    items, reshot = [], {}
    for i in range(n):
        flag = flags[i]
        original = None
        rng = np.random.default_rng([seed, _TRAIN, i])
        if flag == 'dup_of':
            # The original: an earlier plain pair (none yet: plant nothing).
            j = _Draws(rng).index(i) if i else -1
            while j >= 0 and flags[j]:
                j -= 1
            if j < 0:
                flag = ''
            else:
                original = items[j]
        human = frame(sample_human(rng, back_view=flag == 'back_view',
                                   extra_garment=flag == 'extra_garment',
                                   style=style), framing)
        if original is not None:
            article, reshot[i] = _reshoot(rng, original[2], size)
            pair = Pair(_name('h', i), _name('a', i),
                        dup_of=original[0].article)
        else:
            article = _new_article(rng, seen,
                                   bottoms_only=flag == 'bottoms_only')
            pair = Pair(_name('h', i), _name('a', i),
                        frozenset([flag]) if flag else frozenset())
        items.append((pair, human, article))
    swaps = _train_swaps(seed, items) if with_truth else [None] * n
    rows = []
    for i, ((pair, human, article), j) in enumerate(zip(items, swaps)):
        y = reshot.pop(i, None)
        if y is None:
            y = _draw_article(article, size)
        if j is None:
            x, _ = _draw_human(human, article, size)
            writer.later(os.path.join(out, 'humans', pair.human), x)
            writer.later(os.path.join(out, 'articles', pair.article), y)
        else:
            row = _swap_row(pair, items[j][0].article)
            _write_swap(out, row, human, article, items[j][2], size, writer,
                        y)
            rows.append(row)
        if progress is not None and ((i + 1) % 500 == 0 or i + 1 == n):
            writer.flush()
            progress(i + 1, n)
    writer.flush()
    return items, rows
