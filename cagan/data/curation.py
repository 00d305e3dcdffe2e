"""The seed's data curation, as code: check, de-duplicate and filter a dataset.

The seed (a 2017 CAGAN reimplementation on 940 swimwear Article/Human pairs)
curated its data by hand. It removed pairs whose article was only a bikini
bottom, whose human was turned away or wore an extra garment, and duplicate
products found with a duplicate-photo tool. :func:`curate` does the same to a
dataset in our layout (``data/README.md``) and :func:`write_curated` writes the
result as a new dataset, leaving the source untouched:

1. every image that ``pairs.txt`` names is checked (it exists, Pillow decodes
   all of it, it is a colour image, it is at least ``min_size``); files in
   ``humans/`` or ``articles/`` that no pair names are reported as unused.
   Two things stop the curation instead of dropping a pair: a name that
   leaves its folder (``..``, an absolute path, a link to elsewhere) and an
   image of more pixels than :func:`cagan.data.images.max_pixels`;
2. near-duplicate articles, and separately near-duplicate humans, are found by
   content (:func:`image_signature`, :func:`find_duplicates`); the ``dup_of=``
   flags are ground truth from the generator and are only used to score the
   detection, never to decide;
3. pairs flagged ``back_view``, ``extra_garment`` or ``bottoms_only`` are
   dropped.

Duplicate detection
-------------------
Implemented here with NumPy and Pillow. An image is reduced to a signature
that ignores where the object sits and how big it is: on a plain background
(the usual product or studio photo) it is resampled, at sub-pixel accuracy,
to a square centred on the object's centroid and scaled by its spread
(:func:`_normalise`). Two distances then compare signatures
(:func:`distances`):

* ``shape``: one minus the correlation of 12x12 luminance thumbnails (0 =
  the same picture, 1 = unrelated, up to 2). It sees the cut and the print
  and is blind to colour, brightness and contrast.
* ``colour``: the mean RGB distance (0..sqrt(3)) between 12x12 colour
  thumbnails over the object, after the best overall brightness factor
  (up to ``max_gain``) is applied to one of them. It tells a red swimsuit
  from the same cut in blue or in a darker red, and barely moves with a
  brightness change or JPEG re-encoding.

Two different files are duplicates when both distances are at most their
thresholds (:data:`DEFAULT_SHAPE_DISTANCE`, :data:`DEFAULT_COLOUR_DISTANCE`);
duplicates are grouped with union-find. Several pairs naming the *same*
article file (one product worn by several models) are not duplicates.

The thresholds come from the synthetic set (``scripts/make_synthetic.py``,
600 pairs, seeds 0, 1 and 2): every planted re-shot is within (0.0015,
0.020) of its original, every two distinct articles are more than 0.038
apart in colour (or much further in shape); and from JPEG re-encoding
(quality 50), a 10% brightness change and 20% rescaling of test images,
all within 0.02. A 64-bit DCT perceptual hash was tried first: a
symmetric garment on a plain background has many near-zero DCT terms whose
signs flip with one pixel of shift, so re-shots came out as far apart as
different products.
"""

import json
import math
import os
import shutil
import uuid
import warnings
from dataclasses import dataclass, field

import numpy
from PIL import Image, ImageDraw, ImageFont, ImageOps

from cagan.data import images
from cagan.data.union_find import UnionFind
from cagan.errors import CaganError, DataError, PixelLimitError
from cagan.data.layout import (EXCLUDING_FLAGS, Pair, check_names, read_pairs, replacing,
                          write_pairs, write_text_atomic)

#: Modes of colour photos; anything else (1, L, LA, I, F, I;16, ...) is not.
COLOUR_MODES = frozenset({'RGB', 'RGBA', 'RGBX', 'RGBa', 'P', 'PA', 'CMYK', 'YCbCr'})
#: Smallest usable image, (height, width) in pixels.
DEFAULT_MIN_SIZE = (32, 32)
#: Largest shape distance between duplicates (see the module docstring):
#: re-shots are within 0.002, garments of another cut or print 0.004 and more
#: (when their colours also differ, the colour distance tells them apart).
DEFAULT_SHAPE_DISTANCE = 0.02
#: Largest colour distance between duplicates: re-shots (shift, zoom,
#: brightness, JPEG) are within 0.02, other products 0.038 and more.
DEFAULT_COLOUR_DISTANCE = 0.027
#: Largest brightness (exposure) factor between duplicates: the colour
#: distance forgives an overall change of brightness up to this factor.
DEFAULT_MAX_GAIN = 1.2
#: Pairs drawn on the contact sheets.
DEFAULT_SHEET_PAIRS = 48

HUMANS, ARTICLES = 'humans', 'articles'
# Why a pair can be dropped, in the order reasons are listed and counted.
REASON_KINDS = ('bad_human', 'bad_article') + EXCLUDING_FLAGS + (
    'repeated_pair', 'duplicate_article', 'duplicate_human')

_SQUARE = 64  # side of the normalised image
_THUMB = 12  # side of the shape and colour thumbnails
_MIN_CONTRAST = 6.0  # grey levels (standard deviation): fainter images have less shape
_SPREAD = 4.0  # the normalised square is this many standard deviations of the object wide
_NOISE = 0.04  # pixel distances up to this (in [0, sqrt(3)]) are JPEG or sensor noise
# Noise floors of the versions of a signature: 0.04 is the main one; each
# higher one matches a re-shot about (floor - 0.04) brighter on white.
_FLOORS = (_NOISE, 0.05, 0.06, 0.07, 0.08, 0.095, 0.11, 0.13, 0.155, 0.185, 0.22)
_TRIED = 3  # pairs of versions (the most alike in shape) whose colours are compared
_WORK_SIDE = 128  # images are reduced to this (longer side) before anything
_GAIN_STEPS = 9  # brightness factors tried, twice (coarse, then fine: 1.2 -> 0.6% apart)
_BACKGROUND_WEIGHT = 0.1  # weight of a plain-background cell in the colour distance
_BG_TOLERANCE = 0.12  # border pixels this close (max over RGB) to the median are background
_OBJECT_RAMP = 0.12  # a cell this far (beyond the noise) from the background is all object
_PLAIN_BORDER = 0.8  # share of border pixels near its median colour for a "plain background"


# ----------------------------------------------------------------- options


@dataclass(frozen=True)
class Options:
    """Thresholds of :func:`curate`.

    Attributes:
        min_size (tuple of int): smallest usable (height, width) in pixels.
        shape_distance (float): largest shape distance (0..2) between
            duplicates.
        colour_distance (float): largest colour distance (>= 0) between
            duplicates.
        human_shape_distance, human_colour_distance: the same for humans;
            ``None`` uses the article thresholds.
        max_gain (float): largest brightness factor (>= 1) between
            duplicates (see :func:`distances`).
    """

    min_size: tuple = DEFAULT_MIN_SIZE
    shape_distance: float = DEFAULT_SHAPE_DISTANCE
    colour_distance: float = DEFAULT_COLOUR_DISTANCE
    human_shape_distance: float = None
    human_colour_distance: float = None
    max_gain: float = DEFAULT_MAX_GAIN

    def thresholds(self, kind):
        """``(shape_distance, colour_distance)`` for ``'articles'`` or ``'humans'``."""
        if kind == HUMANS:
            return (self.shape_distance if self.human_shape_distance is None
                    else self.human_shape_distance,
                    self.colour_distance if self.human_colour_distance is None
                    else self.human_colour_distance)
        return self.shape_distance, self.colour_distance


# ------------------------------------------------------ checking one image

@dataclass(frozen=True)
class Signature:
    """What duplicate detection compares, in V versions (see
    :func:`image_signature`); version 0 is the main one.

    Attributes:
        shape (numpy.ndarray): (V, 144) float32, the 12x12 luminance
            thumbnail of the normalised image, mean 0, norm 1 (less for a
            faint image, see :func:`_shape_vector`).
        colour (numpy.ndarray): (V, 12, 12, 3) float32, the RGB thumbnail of
            the normalised image, in [0, 1].
        weight (numpy.ndarray): (V, 12, 12) float32 in [0, 1], how much of
            each thumbnail cell is object rather than plain background (all
            1 when the background is not plain).
    """

    shape: numpy.ndarray
    colour: numpy.ndarray
    weight: numpy.ndarray


@dataclass(frozen=True)
class ImageCheck:
    """The verdict on one file.

    Attributes:
        reason (str or None): why the file is unusable, ``None`` if it is fine.
        size (tuple of int or None): (height, width) after EXIF rotation.
        mode (str or None): the Pillow mode of the file.
        signature (Signature or None): for a usable file.
    """

    reason: str = None
    size: tuple = None
    mode: str = None
    signature: Signature = None


def _sheet_rgb(path):
    """An image file as an RGB Pillow image for a sheet: any size (the
    sheets show what ``--min-size`` dropped), transparency on white, quiet
    (see :func:`cagan.data.images.load_rgb`)."""
    return Image.fromarray(images.load_rgb(path, min_side=0, quiet=True))


def check_image(path, min_size=DEFAULT_MIN_SIZE):
    """Check that ``path`` is a usable colour photo and compute its signature.

    The file is opened and decoded completely with Pillow (a truncated or
    corrupt file is unusable), its mode must be one of :data:`COLOUR_MODES`
    and its size, after EXIF rotation, at least ``min_size``. A file of more
    pixels than :func:`cagan.data.images.max_pixels` is not decoded: it raises,
    since the user may want to raise the limit rather than lose the file.

    Args:
        path (str): the image file.
        min_size (tuple of int): smallest (height, width).

    Returns:
        ImageCheck: ``reason`` is ``None`` and ``signature`` set when usable.

    Raises:
        cagan.errors.PixelLimitError: too many pixels, one line.
        cagan.errors.CaganError: a bad ``CAGAN_MAX_PIXELS``.
    """
    if not os.path.exists(path):
        return ImageCheck(reason='missing (a broken link)' if os.path.islink(path)
                          else 'missing')
    if not os.path.isfile(path):
        return ImageCheck(reason='not a regular file')
    with warnings.catch_warnings():
        # A CLI tool that reads thousands of photos must not print Pillow's
        # remarks on odd EXIF blocks; real decoding failures still raise.
        warnings.simplefilter('ignore')
        try:
            upright, mode = images.read_image(path)
            rgb = images.to_rgb(upright) if mode in COLOUR_MODES else None
        except (MemoryError, CaganError):
            # Not a verdict on the file: out of memory, over the pixel limit
            # (the user may raise it) or a bad CAGAN_MAX_PIXELS.
            raise
        except PermissionError as e:
            return ImageCheck(reason='unreadable ({})'.format(e.strerror))
        except Image.UnidentifiedImageError:
            return ImageCheck(reason='not an image Pillow can read')
        except Exception as e:  # noqa: BLE001
            # Pillow's decoders report corrupt data as OSError, SyntaxError,
            # ValueError, EOFError, zlib.error, struct.error, ...: all mean
            # "this file cannot be decoded".
            return ImageCheck(reason='cannot decode ({})'.format(
                str(e) or type(e).__name__))
    size = (upright.height, upright.width)
    if mode not in COLOUR_MODES:
        return ImageCheck(reason='not a colour image (mode {})'.format(mode),
                          size=size, mode=mode)
    if size[0] < min_size[0] or size[1] < min_size[1]:
        return ImageCheck(reason='too small ({}x{} < {}x{})'.format(
            size[0], size[1], min_size[0], min_size[1]), size=size, mode=mode)
    return ImageCheck(size=size, mode=mode, signature=image_signature(rgb))


# -------------------------------------------------------------- signatures

def _normalise(rgb, floors=_FLOORS):
    """Centre an RGB image on its object and scale it to a fixed size.

    When the border of the image is a plain colour (a product or studio
    photo), the object is what differs from that colour. The image is
    resampled to a 64x64 square centred on the object's centroid, with a
    side of four times the object's larger standard deviation (from the
    centroid); the background colour fills what lies outside the image.
    Centroid and spread are weighted averages over all pixels, and the
    square is sampled at sub-pixel positions, so that a shifted or rescaled
    re-shot gives the same square (a bounding box, or a crop to whole pixels,
    would move by whole pixels). Other images are only fitted into the
    square.

    A pixel's weight is its distance from the background colour less a
    noise floor. That is linear in the distance, so a blurred or JPEG-bled
    edge (a blend of object and background) keeps its centroid and nearly
    its spread, and a darker re-shot (every distance scaled alike) keeps
    both exactly. A brighter re-shot on a white background is the same image
    with every distance scaled *and lowered* (light parts of the object fade
    into the white): as if seen through a higher floor. So one square is
    made per floor of ``floors``; a brighter re-shot matches the original
    through one of the higher ones.

    Args:
        rgb (PIL.Image.Image): mode RGB.
        floors (tuple of float): noise floors, distances in [0, sqrt(3)].

    Returns:
        tuple: (list of PIL.Image.Image RGB 64x64, one per floor;
        background colour (3,) float32 in [0, 1]; bool: the background is
        plain).
    """
    im = rgb.copy()
    im.thumbnail((_WORK_SIDE, _WORK_SIDE), Image.Resampling.BOX)
    a = numpy.asarray(im, dtype=numpy.float32) / 255.0
    border = numpy.concatenate([a[:2].reshape(-1, 3), a[-2:].reshape(-1, 3),
                                a[:, :2].reshape(-1, 3), a[:, -2:].reshape(-1, 3)])
    bg = numpy.median(border, axis=0)
    h, w = a.shape[:2]
    plain = bool((numpy.abs(border - bg).max(axis=1) <= _BG_TOLERANCE).mean()
                 >= _PLAIN_BORDER)
    fill = tuple(int(round(v * 255)) for v in bg)
    # The centroid and spread of the object for every floor at once.
    geometry = [(w / 2.0, h / 2.0, float(max(h, w)))] * len(floors)
    if plain:
        dist = numpy.sqrt(((a - bg) ** 2).sum(axis=2))
        weight = numpy.maximum(dist[None] - numpy.float32(floors)[:, None, None], 0.0)
        # Moments from the row and column profiles (float64: x*x reaches 1.6e4).
        cols = weight.sum(axis=1, dtype=numpy.float64)  # (F, w)
        rows = weight.sum(axis=2, dtype=numpy.float64)  # (F, h)
        xs, ys = numpy.arange(w) + 0.5, numpy.arange(h) + 0.5  # pixel centres
        total = cols.sum(axis=1)
        for k, t in enumerate(total.tolist()):
            if t >= 1.0:  # else nothing stands out: keep the whole image
                cx, cy = cols[k] @ xs / t, rows[k] @ ys / t
                sx = math.sqrt(max(cols[k] @ (xs * xs) / t - cx * cx, 0.0))
                sy = math.sqrt(max(rows[k] @ (ys * ys) / t - cy * cy, 0.0))
                geometry[k] = (float(cx), float(cy), max(4.0, _SPREAD * max(sx, sy)))
    squares, reduced, last = [], {}, None
    for cx, cy, side in geometry:
        if last is not None and max(abs(cx - last[0]), abs(cy - last[1]),
                                    abs(side - last[2])) < 0.1 * side / _SQUARE:
            squares.append(squares[-1])  # the same square (most dark objects)
            continue
        last = (cx, cy, side)
        step = side / _SQUARE  # input pixels per output pixel
        # Shrink by a whole factor first (box averages) so that the bilinear
        # resampling below never skips pixels.
        r = max(1, int(step))
        if r not in reduced:
            reduced[r] = im.reduce(r) if r > 1 else im
        squares.append(reduced[r].transform(
            (_SQUARE, _SQUARE), Image.Transform.AFFINE,
            (step / r, 0.0, (cx - side / 2.0) / r, 0.0, step / r, (cy - side / 2.0) / r),
            resample=Image.Resampling.BILINEAR, fillcolor=fill))
    return squares, bg.astype(numpy.float32), plain


def _shape_vector(lum):
    """(144,) float32: 12x12 luminance (grey levels) less its mean, divided
    by its norm; by a larger number for a faint image (grey levels varying
    by less than :data:`_MIN_CONTRAST`), so that the faint structure of,
    say, a white garment on white is not blown up into a shape that the next
    re-shot does not share."""
    lum = lum.astype(numpy.float64).ravel()
    lum -= lum.mean()
    return (lum / max(numpy.linalg.norm(lum), _MIN_CONTRAST * _THUMB)).astype(numpy.float32)


def image_signature(rgb):
    """Compute the duplicate-detection signature of an RGB image.

    The image is normalised (:func:`_normalise`) once per noise floor of
    :data:`_FLOORS`; each version gives a shape vector, a colour thumbnail
    and its object weights.

    Args:
        rgb (PIL.Image.Image): mode RGB, any size.

    Returns:
        Signature: V = len(_FLOORS) versions (identical when the background
        is not plain).
    """
    squares, bg, plain = _normalise(rgb)
    shapes, colours, weights = [], [], []
    for k, square in enumerate(squares):
        if k and square is squares[k - 1]:
            for x in (shapes, colours, weights):
                x.append(x[-1])
            continue
        c = numpy.asarray(square.resize((_THUMB, _THUMB), Image.Resampling.BOX),
                          dtype=numpy.float32) / 255.0
        colours.append(c)
        shapes.append(_shape_vector(255.0 * (c @ numpy.float32([0.299, 0.587, 0.114]))))
        if plain:
            weights.append(numpy.clip((numpy.sqrt(((c - bg) ** 2).sum(axis=2)) - _NOISE)
                                      / _OBJECT_RAMP, 0.0, 1.0))
        else:
            weights.append(numpy.ones((_THUMB, _THUMB), dtype=numpy.float32))
    return Signature(shape=numpy.stack(shapes), colour=numpy.stack(colours),
                     weight=numpy.stack(weights))


def _versions():
    """The pairs of versions compared: main with main, and the main version
    of either image with each other version of the other. (K, 2) int."""
    v = len(_FLOORS)
    return numpy.array([(0, 0)] + [(0, k) for k in range(1, v)]
                       + [(k, 0) for k in range(1, v)])


def _colour_distances(ca, wa, cb, wb, max_gain):
    """Colour distances of K pairs of thumbnails: ``ca``, ``cb``
    (K, T, T, 3) float32 in [0, 1], ``wa``, ``wb`` (K, T, T) object weights.
    Returns (K,) float32 (see :func:`distances`)."""
    # Cells of either object count fully, plain background a little.
    w = numpy.maximum(wa, wb) + _BACKGROUND_WEIGHT
    w = (w / w.sum(axis=(1, 2), keepdims=True))[:, None]

    def error(x, y, gains):  # gains (K, G) -> (K, G)
        scaled = numpy.minimum(x[:, None] * gains[:, :, None, None, None], 1.0)
        return (numpy.sqrt(((scaled - y[:, None]) ** 2).sum(axis=-1)) * w).sum(axis=(2, 3))

    k = len(ca)
    best = None
    log_g = math.log(max(max_gain, 1.0))
    for x, y in ((ca, cb), (cb, ca)):
        # A coarse then a fine search of the brightness factor (in log).
        coarse = numpy.linspace(-log_g, log_g, _GAIN_STEPS, dtype=numpy.float32)
        e = error(x, y, numpy.exp(numpy.broadcast_to(coarse, (k, len(coarse)))))
        at = coarse[e.argmin(axis=1)]
        half = log_g / max(_GAIN_STEPS - 1, 1)
        fine = numpy.clip(at[:, None] + numpy.linspace(-half, half, _GAIN_STEPS,
                                                        dtype=numpy.float32), -log_g, log_g)
        d = numpy.minimum(e.min(axis=1), error(x, y, numpy.exp(fine)).min(axis=1))
        best = d if best is None else numpy.minimum(best, d)
    return best


def _pair_distances(sig_a, sig_b, max_gain, chunk=256):
    """(shape, colour) distances of K pairs of signatures, each a (K,)
    float array, for the best pair of versions: of the :data:`_TRIED` pairs
    of versions most alike in shape, the one with the least colour distance.

    ``sig_a``, ``sig_b``: tuples (shape (K, V, 144), colour (K, V, T, T, 3),
    weight (K, V, T, T)) of stacked signatures.
    """
    versions = _versions()
    k = len(sig_a[0])
    shape_d = numpy.empty(k, numpy.float32)
    colour_d = numpy.empty(k, numpy.float32)
    for start in range(0, k, chunk):
        sl = slice(start, start + chunk)
        n = len(sig_a[0][sl])
        rows = numpy.arange(n)[:, None]
        shp = _shape_distance(sig_a[0][sl][:, versions[:, 0]], sig_b[0][sl][:, versions[:, 1]])
        tried = numpy.argsort(shp, axis=1, kind='stable')[:, :_TRIED]  # (n, t)
        va, vb = versions[tried, 0], versions[tried, 1]  # (n, t)
        t = tried.shape[1]
        col = _colour_distances(
            sig_a[1][sl][rows, va].reshape((n * t,) + sig_a[1].shape[2:]),
            sig_a[2][sl][rows, va].reshape((n * t,) + sig_a[2].shape[2:]),
            sig_b[1][sl][rows, vb].reshape((n * t,) + sig_b[1].shape[2:]),
            sig_b[2][sl][rows, vb].reshape((n * t,) + sig_b[2].shape[2:]),
            max_gain).reshape(n, t)
        best = col.argmin(axis=1)
        r = numpy.arange(n)
        shape_d[sl] = numpy.maximum(shp[r, tried[r, best]], 0.0)
        colour_d[sl] = col[r, best]
    return shape_d, colour_d


def _shape_distance(u, v):
    """Half the squared distance of shape vectors ``u``, ``v`` (..., 144):
    one minus their correlation when both have unit norm, less for faint
    images (shorter vectors)."""
    return 0.5 * ((u * u).sum(-1) + (v * v).sum(-1)) - (u * v).sum(-1)


def _stack(signatures):
    return (numpy.stack([s.shape for s in signatures]),
            numpy.stack([s.colour for s in signatures]),
            numpy.stack([s.weight for s in signatures]))


def distances(a, b, max_gain=DEFAULT_MAX_GAIN):
    """Shape and colour distances between two signatures.

    * shape: one minus the correlation of the luminance thumbnails, in
      [0, 2]: blind to colour, brightness and contrast (but less for faint
      images, see :func:`_shape_vector`).
    * colour: the mean Euclidean RGB distance (in [0, 1] units) between the
      colour thumbnails, over the cells that are object in either image
      (plain background counts a little), after the best overall brightness
      factor within ``[1/max_gain, max_gain]`` (applied with clipping at
      white, like an exposure change) is applied to one of them.

    Both are taken for one pair of versions (:func:`image_signature`): of
    the :data:`_TRIED` pairs most alike in shape, the one least apart in
    colour (a brighter re-shot matches through a higher floor).

    Returns:
        tuple of float: (shape, colour).
    """
    shape_d, colour_d = _pair_distances(_stack([a]), _stack([b]), max_gain)
    return float(shape_d[0]), float(colour_d[0])


# -------------------------------------------------------------- duplicates

@dataclass(frozen=True)
class Link:
    """Two files whose signatures are close.

    ``a`` and ``b`` are file names (``a`` first in pairs order), ``shape``
    and ``colour`` their distances (:func:`distances`).
    """

    a: str
    b: str
    shape: float
    colour: float


def find_duplicates(names, signatures, max_shape, max_colour, max_gain=DEFAULT_MAX_GAIN,
                    near_factor=2.0, block=256):
    """Group near-identical images.

    Two images are duplicates when both their :func:`distances` are within
    the thresholds; groups are the connected components of that relation.

    Args:
        names (list of str): file names, in the order that decides which file
            of a group comes first (pairs order).
        signatures (list of Signature): one per name.
        max_shape (float): largest shape distance between duplicates.
        max_colour (float): largest colour distance between duplicates.
        max_gain (float): largest brightness factor between duplicates.
        near_factor (float): pairs within ``near_factor`` times both
            thresholds that are not duplicates are returned as near misses.
        block (int): rows compared at once (bounds memory to about
            ``block * len(names)`` distances).

    Returns:
        tuple: ``(groups, links, near)``: ``groups`` is a list of lists of
        names (two or more each, in ``names`` order, groups ordered by their
        first member); ``links`` the :class:`Link` of every duplicate pair of
        files; ``near`` the closest non-duplicate links, nearest first.
    """
    n = len(names)
    if n < 2:
        return [], [], []
    stacked = _stack(signatures)
    shapes = stacked[0]  # (N, V, 144)
    versions = _versions()
    joined = UnionFind()
    links, near = [], []
    for start in range(0, n, block):
        # Shape first, for every pair (matrix products): the colour distance
        # is only worth computing for pairs of similar shape.
        dist = None
        for va, vb in versions:
            rows, cols = shapes[start:start + block, va], shapes[:, vb]
            d = (0.5 * ((rows * rows).sum(-1)[:, None] + (cols * cols).sum(-1)[None])
                 - rows @ cols.T)  # _shape_distance of every pair
            dist = d if dist is None else numpy.minimum(dist, d)
        ii, jj = numpy.nonzero(dist <= max_shape * near_factor)
        keep = jj > ii + start
        ii, jj = ii[keep] + start, jj[keep]
        if not len(ii):
            continue
        shape_d, colour_d = _pair_distances(tuple(x[ii] for x in stacked),
                                            tuple(x[jj] for x in stacked), max_gain)
        for i, j, d, c in zip(ii.tolist(), jj.tolist(), shape_d.tolist(), colour_d.tolist()):
            link = Link(names[i], names[j], d, c)
            if d <= max_shape and c <= max_colour:
                links.append(link)
                joined.union(j, i)
            elif d <= max_shape * near_factor and c <= max_colour * near_factor:
                near.append(link)
    members = {}
    for i in range(n):
        members.setdefault(joined.find(i), []).append(names[i])
    # In order of first members: each group's first member comes first.
    groups = [m for m in members.values() if len(m) > 1]
    near.sort(key=lambda l: max(l.shape / max(max_shape, 1e-9),
                                l.colour / max(max_colour, 1e-9)))
    return groups, links, near


# ------------------------------------------------------------- the curation

@dataclass(frozen=True)
class Reason:
    """Why a pair is dropped: ``kind`` is one of :data:`REASON_KINDS`."""

    kind: str
    detail: str = ''
    original: str = None  # for a duplicate: the kept file it duplicates

    def __str__(self):
        return self.kind + (': ' + self.detail if self.detail else '')


@dataclass
class Curation:
    """What :func:`curate` decided; :func:`write_curated` writes it.

    Attributes:
        src (str): the source dataset folder.
        options (Options): the thresholds used.
        pairs (list of Pair): every pair of the source, in file order.
        kept (list of Pair): the pairs to keep, flags removed, in file order.
        dropped (list of tuple): ``(Pair, [Reason, ...])`` in file order.
        bad_files (dict): ``(folder, name) -> reason`` for referenced files
            that cannot be used.
        unused_files (list of tuple): ``(folder, name)`` of files no pair names.
        duplicates (dict): per folder (``'articles'``, ``'humans'``) a dict
            with ``groups``, ``links`` and ``near`` (see :func:`find_duplicates`).
        planted (dict or None): detection scored against the ``dup_of=``
            flags: ``planted`` (a count), ``found``, ``missed``, ``extra``
            (lists of files) and ``kept`` (flagged pairs kept because no
            earlier pair of their group was); ``None`` when no pair has such
            a flag.
    """

    src: str
    options: Options
    pairs: list
    kept: list = field(default_factory=list)
    dropped: list = field(default_factory=list)
    bad_files: dict = field(default_factory=dict)
    unused_files: list = field(default_factory=list)
    duplicates: dict = field(default_factory=dict)
    planted: dict = None

    def dropped_by_reason(self):
        """``{kind: number of dropped pairs}``, counting each pair once, under
        its first reason, in :data:`REASON_KINDS` order."""
        counts = {}
        for _, reasons in self.dropped:
            counts[reasons[0].kind] = counts.get(reasons[0].kind, 0) + 1
        return {k: counts[k] for k in REASON_KINDS if k in counts}


def _list_files(folder):
    """Relative '/'-joined paths of the regular files under ``folder``, sorted."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        rel = os.path.relpath(root, folder)
        for f in files:
            path = f if rel == '.' else os.path.join(rel, f).replace(os.sep, '/')
            found.append(path)
    return sorted(found)


def _score_planted(pairs, groups, bad):
    """Compare detected article groups with the ``dup_of=`` flags.

    A planted duplicate (``ARTICLE dup_of=ORIGINAL``) is found when the two
    files are in one detected group; an extra is a file in a detected group
    that the flags do not tie to the group's first file.
    """
    planted = [(p.article, p.dup_of) for p in pairs if p.dup_of and p.dup_of != p.article]
    if not planted:
        return None
    planted = list(dict.fromkeys(planted))
    truth = UnionFind()
    for a, b in planted:
        truth.union(a, b)
    group_of = {n: gi for gi, g in enumerate(groups) for n in g}
    found, missed = [], []
    for a, b in planted:
        hit = a in group_of and group_of.get(b) == group_of[a]
        entry = {'file': a, 'dup_of': b}
        if not hit and (a in bad or b in bad):
            entry['note'] = 'unusable file: {}'.format(bad.get(a) or bad.get(b))
        (found if hit else missed).append(entry)
    extra = []
    for g in groups:
        first = truth.find(g[0])
        extra += [{'file': n, 'grouped_with': g[0]} for n in g[1:]
                  if truth.find(n) != first]
    return {'planted': len(planted), 'found': found, 'missed': missed, 'extra': extra}


def curate(src, options=Options()):
    """Decide which pairs of a dataset to keep, without writing anything.

    Args:
        src (str or os.PathLike): a dataset folder in our layout (``humans/``,
            ``articles/``, ``pairs.txt``; ``test/`` is ignored).
        options (Options): thresholds.

    Returns:
        Curation: the decisions. A pair is dropped, with every reason that
        applies, when one of its files is unusable, when it has an
        excluding flag, when it repeats an earlier line, or when its article
        (or human) is a different file with the same content as the article
        (human) of an earlier kept pair.

    Raises:
        cagan.errors.DataError: ``src`` is not a folder, ``pairs.txt`` is
            missing, unreadable, malformed or empty, names a file outside
            ``humans/`` or ``articles/`` (:func:`cagan.data.layout.check_names`),
            or names images of more pixels than
            :func:`cagan.data.images.max_pixels` (one line each, all of them:
            unlike a corrupt file, such a file is not dropped, since the
            limit may be what should change).
    """
    src = os.fspath(src)
    if not os.path.isdir(src):
        raise DataError(['{}: no such dataset folder'.format(src)
                         if not os.path.exists(src) else
                         '{}: not a folder'.format(src)])
    pairs = read_pairs(os.path.join(src, 'pairs.txt'))
    problems = ['{}: no such folder (expected {}/ next to pairs.txt)'.format(
        os.path.join(src, folder), folder) for folder in (HUMANS, ARTICLES)
        if not os.path.isdir(os.path.join(src, folder))]
    if problems:
        raise DataError(problems)
    # A name that leaves its folder is refused, not dropped: nothing from
    # outside the dataset is read, let alone copied into the output.
    check_names(os.path.join(src, 'pairs.txt'), [
        entry for p in pairs for entry in ((p.line, p.human, os.path.join(src, HUMANS)),
                                           (p.line, p.article, os.path.join(src, ARTICLES)))])
    cur = Curation(src=src, options=options, pairs=pairs)

    # 1. Check every referenced file once, in pairs order.
    referenced = {HUMANS: list(dict.fromkeys(p.human for p in pairs)),
                  ARTICLES: list(dict.fromkeys(p.article for p in pairs))}
    signatures = {HUMANS: {}, ARTICLES: {}}
    too_large = []
    for folder, names in referenced.items():
        for name in names:
            try:
                check = check_image(os.path.join(src, folder, name), options.min_size)
            except PixelLimitError as e:
                # Not dropped like a corrupt file: the limit may be what is
                # wrong. All are listed, then curate refuses.
                too_large.append(str(e))
                continue
            if check.reason:
                cur.bad_files[(folder, name)] = check.reason
            else:
                signatures[folder][name] = check.signature
        used = set(names)
        cur.unused_files += [(folder, n) for n in _list_files(os.path.join(src, folder))
                             if n not in used]
    if too_large:
        raise DataError(too_large)

    # 2. Near-duplicates by content, per folder, over every usable file.
    group_of = {}
    for folder in (ARTICLES, HUMANS):
        names = [n for n in referenced[folder] if n in signatures[folder]]
        max_shape, max_colour = options.thresholds(folder)
        groups, links, near = find_duplicates(
            names, [signatures[folder][n] for n in names], max_shape, max_colour,
            options.max_gain)
        cur.duplicates[folder] = {'groups': groups, 'links': links, 'near': near[:20]}
        group_of[folder] = {n: gi for gi, g in enumerate(groups) for n in g}

    # 3. Decide pair by pair, in file order, so "earlier" means what it says.
    kept_in_group = {ARTICLES: {}, HUMANS: {}}  # group -> (file, line) kept
    seen_lines = {}
    for p in pairs:
        reasons = []
        for folder, name, kind in ((HUMANS, p.human, 'bad_human'),
                                   (ARTICLES, p.article, 'bad_article')):
            if (folder, name) in cur.bad_files:
                reasons.append(Reason(kind, '{} {}'.format(name,
                                                           cur.bad_files[(folder, name)])))
        reasons += [Reason(flag) for flag in EXCLUDING_FLAGS if flag in p.flags]
        if not reasons and (p.human, p.article) in seen_lines:
            reasons.append(Reason('repeated_pair', 'same as line {}'.format(
                seen_lines[(p.human, p.article)])))
        if not reasons:
            for folder, name, kind in ((ARTICLES, p.article, 'duplicate_article'),
                                       (HUMANS, p.human, 'duplicate_human')):
                group = group_of[folder].get(name)
                first = kept_in_group[folder].get(group)
                if group is not None and first is not None and first[0] != name:
                    shape, colour = distances(signatures[folder][name],
                                              signatures[folder][first[0]], options.max_gain)
                    reasons.append(Reason(kind, '{} duplicates {} (kept with line {}; shape '
                                          '{:.3f}, colour {:.3f})'.format(
                                              name, first[0], first[1], shape, colour),
                                          original=first[0]))
        if reasons:
            cur.dropped.append((p, reasons))
            continue
        seen_lines[(p.human, p.article)] = p.line
        for folder, name in ((ARTICLES, p.article), (HUMANS, p.human)):
            group = group_of[folder].get(name)
            if group is not None:
                kept_in_group[folder].setdefault(group, (name, p.line))
        cur.kept.append(Pair(p.human, p.article, line=p.line))

    bad_articles = {n: r for (f, n), r in cur.bad_files.items() if f == ARTICLES}
    cur.planted = _score_planted(pairs, cur.duplicates[ARTICLES]['groups'], bad_articles)
    if cur.planted is not None:
        # A flagged duplicate whose original was dropped for another reason
        # stays: no kept pair has its article.
        kept_lines = {k.line for k in cur.kept}
        cur.planted['kept'] = [{'line': p.line, 'file': p.article, 'dup_of': p.dup_of}
                               for p in pairs if p.dup_of and p.line in kept_lines]
    return cur


# ----------------------------------------------------------- contact sheets

def _font(size):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):  # Pillow without FreeType
        return ImageFont.load_default()


def _fit_text(draw, text, font, width):
    """``text`` shortened with '...' until it is at most ``width`` px wide."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + '...', font=font) > width:
        text = text[:-1]
    return text + '...'


def _wrap(draw, text, font, width, max_lines):
    """Break ``text`` at spaces into at most ``max_lines`` lines of at most
    ``width`` px (the last one shortened with '...' if needed)."""
    lines = []
    for word in text.split(' '):
        if lines and draw.textlength(lines[-1] + ' ' + word, font=font) <= width:
            lines[-1] += ' ' + word
        else:
            lines.append(word)
    if len(lines) > max_lines:
        lines = lines[:max_lines - 1] + [' '.join(lines[max_lines - 1:])]
    return [_fit_text(draw, line, font, width) for line in lines]


def _placeholder(cell_size, text):
    """A grey (H, W) cell with a cross and a word, for a missing image."""
    h, w = cell_size
    im = Image.new('RGB', (w, h), (200, 200, 200))
    d = ImageDraw.Draw(im)
    d.line([(0, 0), (w - 1, h - 1)], fill=(150, 150, 150), width=2)
    d.line([(0, h - 1), (w - 1, 0)], fill=(150, 150, 150), width=2)
    font = _font(11)
    text = _fit_text(d, text, font, w - 4)
    d.text((w // 2, h // 2), text, fill=(160, 0, 0), font=font, anchor='mm')
    return im


def contact_sheet(rows, labels, cell_size=(128, 96), columns=4, title=None,
                  text_size=11, max_lines=4):
    """Draw groups of images side by side with a caption under each group.

    Args:
        rows (list of list): one entry per group (e.g. ``[human, article]``),
            each a list of PIL images (any mode, any size: each is fitted into
            its cell keeping its aspect ratio) or of str (drawn as a grey
            placeholder with that word, e.g. ``'missing'``).
        labels (list of str): one caption per group; ``'\\n'`` separates
            paragraphs, which are wrapped at spaces to the group's width;
            the first paragraph is black, the others dark red.
        cell_size (tuple of int): (height, width) of one image cell, pixels.
        columns (int): groups per line of the sheet.
        title (str or None): a line of text on top of the sheet.
        text_size (int): font size in pixels.
        max_lines (int): caption lines per group at most; the rest is cut
            with '...'.

    Returns:
        PIL.Image.Image: the sheet, mode RGB, white background.
    """
    if len(rows) != len(labels):
        raise ValueError('{} groups but {} labels'.format(len(rows), len(labels)))
    ch, cw = cell_size
    pad, font = 6, _font(text_size)
    line_h = text_size + 3
    per_group = max((len(r) for r in rows), default=1)
    group_w = per_group * cw + (per_group - 1) * 2
    measure = ImageDraw.Draw(Image.new('RGB', (1, 1)))
    captions = []  # per group: [(text, paragraph number)]
    for label in labels:
        lines = [(line, k) for k, para in enumerate(label.split('\n'))
                 for line in _wrap(measure, para, font, group_w, max_lines)]
        if len(lines) > max_lines:
            lines[max_lines - 1] = (_fit_text(measure, ' '.join(
                t for t, _ in lines[max_lines - 1:]), font, group_w), lines[max_lines - 1][1])
        captions.append(lines[:max_lines])
    n_lines = max((len(c) for c in captions), default=1)
    group_h = ch + 4 + n_lines * line_h
    columns = max(1, min(columns, len(rows) or 1))
    grid_rows = max(1, math.ceil(len(rows) / columns))
    top = pad + (line_h + pad if title else 0)
    sheet = Image.new('RGB', (pad + columns * (group_w + pad),
                              top + grid_rows * (group_h + pad)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((pad, pad), _fit_text(draw, title, font, sheet.width - 2 * pad),
                  fill=(0, 0, 0), font=font)
    for k, (cells, caption) in enumerate(zip(rows, captions)):
        x0 = pad + (k % columns) * (group_w + pad)
        y0 = top + (k // columns) * (group_h + pad)
        for m, im in enumerate(cells):
            if isinstance(im, str):
                cell = _placeholder(cell_size, im)
            else:
                cell = Image.new('RGB', (cw, ch), (255, 255, 255))
                fitted = ImageOps.contain(images.to_rgb(im), (cw, ch), Image.Resampling.LANCZOS)
                cell.paste(fitted, ((cw - fitted.width) // 2, (ch - fitted.height) // 2))
            x = x0 + m * (cw + 2)
            sheet.paste(cell, (x, y0))
            draw.rectangle([x, y0, x + cw - 1, y0 + ch - 1], outline=(210, 210, 210))
        for i, (text, para) in enumerate(caption):
            draw.text((x0, y0 + ch + 2 + i * line_h), text,
                      fill=(0, 0, 0) if para == 0 else (150, 0, 0), font=font)
    return sheet


def _sheet_image(src, folder, name, bad_files):
    """The image of one file for a sheet, or a placeholder word if unusable."""
    reason = bad_files.get((folder, name))
    if reason is not None and not reason.startswith(('not a colour', 'too small')):
        return reason.split(' (')[0]
    try:
        return _sheet_rgb(os.path.join(src, folder, name))
    except Exception:  # noqa: BLE001  (already reported as bad; draw a placeholder)
        return 'unreadable'


def kept_sheet(cur, limit=DEFAULT_SHEET_PAIRS, cell_size=(128, 96), columns=6):
    """The contact sheet of the first ``limit`` kept pairs (human, article)."""
    shown = cur.kept[:limit]
    rows = [[_sheet_rgb(os.path.join(cur.src, HUMANS, p.human)),
             _sheet_rgb(os.path.join(cur.src, ARTICLES, p.article))] for p in shown]
    labels = ['{} {}'.format(p.human, p.article) for p in shown]
    title = 'kept pairs: {} of {} shown (human, article)'.format(len(shown), len(cur.kept))
    return contact_sheet(rows, labels, cell_size, columns, title=title)


def dropped_sheet(cur, limit=2 * DEFAULT_SHEET_PAIRS, cell_size=(128, 96), columns=5):
    """The sheet of up to ``limit`` dropped pairs, reasons under them.

    Pairs dropped for a file or as a duplicate come first, then the flagged
    ones; a pair dropped as a duplicate shows, third, the kept file it
    duplicates.
    """
    # What was decided by looking (files, duplicates) first: that is what a
    # person should check; then what the flags said.
    order = {kind: k for k, kind in enumerate(
        ('bad_human', 'bad_article', 'duplicate_article', 'duplicate_human', 'repeated_pair')
        + EXCLUDING_FLAGS)}
    shown = sorted(cur.dropped, key=lambda d: (order[d[1][0].kind], d[0].line))[:limit]
    rows, labels = [], []
    for p, reasons in shown:
        row = [_sheet_image(cur.src, HUMANS, p.human, cur.bad_files),
               _sheet_image(cur.src, ARTICLES, p.article, cur.bad_files)]
        for r in reasons:
            if r.original:
                folder = ARTICLES if r.kind == 'duplicate_article' else HUMANS
                row.append(_sheet_rgb(os.path.join(cur.src, folder, r.original)))
                break
        rows.append(row)
        labels.append('{} {}\n{}'.format(p.human, p.article,
                                         '; '.join(str(r) for r in reasons)))
    title = ('dropped pairs: {} of {} shown, with why; files and duplicates first (a '
             'duplicate shows the kept original third)'.format(len(shown), len(cur.dropped)))
    return contact_sheet(rows, labels, cell_size, columns, title=title)


# ------------------------------------------------------------------ reports

def report_dict(cur):
    """The curation as JSON-ready data (what ``report.json`` holds)."""
    def link(l):
        return {'a': l.a, 'b': l.b, 'shape': round(l.shape, 4), 'colour': round(l.colour, 4)}

    o = cur.options
    return {
        'src': os.path.abspath(cur.src),
        'options': {'min_size': list(o.min_size), 'max_gain': o.max_gain,
                    'articles': dict(zip(('shape_distance', 'colour_distance'),
                                         o.thresholds(ARTICLES))),
                    'humans': dict(zip(('shape_distance', 'colour_distance'),
                                       o.thresholds(HUMANS)))},
        'counts': {'pairs': len(cur.pairs), 'kept': len(cur.kept),
                   'dropped': len(cur.dropped),
                   'dropped_by_reason': cur.dropped_by_reason(),
                   'bad_files': len(cur.bad_files),
                   'unused_files': len(cur.unused_files),
                   'duplicate_groups': {f: len(d['groups'])
                                        for f, d in cur.duplicates.items()}},
        'kept': [{'line': p.line, 'human': p.human, 'article': p.article} for p in cur.kept],
        'dropped': [{'line': p.line, 'human': p.human, 'article': p.article,
                     'reasons': [{'kind': r.kind, 'detail': r.detail} for r in reasons]}
                    for p, reasons in cur.dropped],
        'bad_files': [{'folder': f, 'name': n, 'reason': r}
                      for (f, n), r in cur.bad_files.items()],
        'unused_files': [{'folder': f, 'name': n} for f, n in cur.unused_files],
        'duplicates': {f: {'groups': d['groups'], 'links': [link(x) for x in d['links']],
                           'near_misses': [link(x) for x in d['near']]}
                       for f, d in cur.duplicates.items()},
        'planted': cur.planted,
    }


def _planted_line(planted):
    return 'dup_of flags: {} planted, {} found, {} missed, {} extra'.format(
        planted['planted'], len(planted['found']), len(planted['missed']),
        len(planted['extra']))


def summary_lines(cur):
    """A short summary for a terminal, list of str."""
    lines = ['kept {} of {} pairs, dropped {}'.format(len(cur.kept), len(cur.pairs),
                                                       len(cur.dropped))]
    by = cur.dropped_by_reason()
    if by:
        lines.append('  dropped by reason: ' + ', '.join('{} {}'.format(k, v)
                                                         for k, v in by.items()))
    dup = ', '.join('{} {} in {} groups'.format(
        f, sum(len(g) - 1 for g in cur.duplicates[f]['groups']),
        len(cur.duplicates[f]['groups']))
        for f in (ARTICLES, HUMANS))
    lines.append('  duplicate files found: ' + dup)
    if cur.planted:
        lines.append('  ' + _planted_line(cur.planted))
    if cur.bad_files or cur.unused_files:
        lines.append('  bad files {}, unused files {}'.format(len(cur.bad_files),
                                                               len(cur.unused_files)))
    return lines


def report_text(cur):
    """The curation for people (what ``report.txt`` holds), one str."""
    o = cur.options
    out = ['# curation of {}'.format(os.path.abspath(cur.src))] + summary_lines(cur)
    out.append('options: min size {}x{}; articles: shape <= {}, colour <= {}; '
               'humans: shape <= {}, colour <= {}; brightness factor <= {}'.format(
                   o.min_size[0], o.min_size[1], *o.thresholds(ARTICLES),
                   *o.thresholds(HUMANS), o.max_gain))
    out += ['', 'dropped pairs ({}):'.format(len(cur.dropped))]
    out += ['  line {}: {} {}: {}'.format(p.line, p.human, p.article,
                                          '; '.join(str(r) for r in reasons))
            for p, reasons in cur.dropped] or ['  none']
    out += ['', 'bad files ({}):'.format(len(cur.bad_files))]
    out += ['  {}/{}: {}'.format(f, n, r) for (f, n), r in cur.bad_files.items()] or ['  none']
    out += ['', 'unused files, named by no pair, not copied ({}):'.format(
        len(cur.unused_files))]
    out += ['  {}/{}'.format(f, n) for f, n in cur.unused_files] or ['  none']
    for folder in (ARTICLES, HUMANS):
        d = cur.duplicates[folder]
        out += ['', 'duplicate {} ({} groups; first file of each group first):'.format(
            folder, len(d['groups']))]
        out += ['  ' + ' = '.join(g) for g in d['groups']] or ['  none']
        if d['links']:
            out.append('  links (shape distance, colour distance):')
            out += ['    {} ~ {}: {:.3f}, {:.3f}'.format(l.a, l.b, l.shape, l.colour)
                    for l in d['links']]
        if d['near']:
            out.append('  closest pairs that are NOT duplicates (check these by eye):')
            out += ['    {} ~ {}: {:.3f}, {:.3f}'.format(l.a, l.b, l.shape, l.colour)
                    for l in d['near'][:10]]
    if cur.planted:
        p = cur.planted
        out += ['', _planted_line(p)]
        out += ['  missed: {} dup_of {}{}'.format(
            m['file'], m['dup_of'], ' ({})'.format(m['note']) if 'note' in m else '')
            for m in p['missed']]
        out += ['  extra: {} grouped with {}'.format(e['file'], e['grouped_with'])
                for e in p['extra']]
        out += ['  kept: line {} {} (dup_of {}): no earlier pair of its group was kept'
                .format(k['line'], k['file'], k['dup_of']) for k in p.get('kept', [])]
    return '\n'.join(out) + '\n'


# ------------------------------------------------------------------ writing

def _place(src_file, dst_file):
    """Hard-link ``src_file`` to ``dst_file`` (a copy across filesystems),
    atomically. Returns ``'linked'`` or ``'copied'``."""
    os.makedirs(os.path.dirname(dst_file), exist_ok=True)
    with replacing(dst_file) as tmp:
        os.unlink(tmp)  # os.link needs a free name
        try:
            os.link(src_file, tmp)
            return 'linked'
        except OSError:  # another filesystem, or links not allowed there
            shutil.copy2(src_file, tmp)
            return 'copied'


def _inside(path, folder):
    """True if real path ``path`` is ``folder`` or inside it."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_output(src, out, force=False):
    """Refuse an output folder that would touch the source or lose data.

    Raises:
        cagan.errors.CaganError: ``out`` is ``src`` or inside it, exists and
            is not a folder, is not empty (without ``force``), or holds
            ``src`` (with ``force``, rebuilding it would delete ``src``).
    """
    real_src, real_out = os.path.realpath(src), os.path.realpath(out)
    if _inside(real_out, real_src):
        raise CaganError('{}: the output folder must not be the source or inside it ({})'
                         .format(out, src))
    if os.path.lexists(out):
        if not os.path.isdir(out):
            raise CaganError('{}: exists and is not a folder'.format(out))
        if os.listdir(out):
            if not force:
                raise CaganError('{}: exists and is not empty; pass --force to rebuild it'
                                 .format(out))
            if _inside(real_src, real_out):
                raise CaganError('{}: holds the source {}; rebuilding it would delete it'
                                 .format(out, src))


def write_curated(cur, out, force=False, sheet_pairs=DEFAULT_SHEET_PAIRS):
    """Write the kept pairs as a new dataset in our layout.

    ``out`` gets ``humans/`` and ``articles/`` (hard links to the source
    files, copies across filesystems), ``report.txt``, ``report.json``,
    ``contact_sheet.png``, ``dropped_sheet.png`` (when pairs were dropped), the
    source's ``test/`` split unchanged (when it has one) and, last,
    ``pairs.txt``. All of it is built in a new folder next to ``out``
    that then takes its place, so ``out`` is either the old or the new one.
    The source is only read.

    Args:
        cur (Curation): from :func:`curate`.
        out (str or os.PathLike): the output folder.
        force (bool): replace a non-empty ``out``.
        sheet_pairs (int): pairs drawn on the kept sheet (twice as many on
            the dropped sheet).

    Returns:
        dict: ``{'written': [paths], 'linked': n, 'copied': n}``.

    Raises:
        cagan.errors.CaganError: see :func:`check_output`; every pair was
            dropped, or a file of ``test/`` is a link out of the source
            (:class:`~cagan.errors.DataError`; nothing is written).
    """
    out = os.fspath(out)
    check_output(cur.src, out, force)
    if not cur.kept:
        by = ', '.join('{} {}'.format(k, v) for k, v in cur.dropped_by_reason().items())
        raise DataError(['{}: every one of the {} pairs was dropped ({}); nothing written'
                         .format(cur.src, len(cur.pairs), by)])
    test_files = _test_files(cur.src)
    real_out = os.path.realpath(out)
    parent, base = os.path.split(real_out)
    os.makedirs(parent, exist_ok=True)
    build = os.path.join(parent, '.{}.curate-{}'.format(base, uuid.uuid4().hex[:8]))
    os.mkdir(build)
    counts = {'linked': 0, 'copied': 0}
    try:
        for folder, names in ((HUMANS, [p.human for p in cur.kept]),
                              (ARTICLES, [p.article for p in cur.kept])):
            os.mkdir(os.path.join(build, folder))
            for name in dict.fromkeys(names):
                how = _place(os.path.join(cur.src, folder, name),
                             os.path.join(build, folder, name))
                counts[how] += 1
        files = ['report.txt', 'report.json', 'contact_sheet.png']
        with replacing(os.path.join(build, 'contact_sheet.png')) as tmp:
            kept_sheet(cur, sheet_pairs).save(tmp, format='PNG')
        if cur.dropped:
            files.append('dropped_sheet.png')
            with replacing(os.path.join(build, 'dropped_sheet.png')) as tmp:
                dropped_sheet(cur, 2 * sheet_pairs).save(tmp, format='PNG')
        notes = []
        if counts['linked']:
            notes.append('note: {} images are hard links to the files of the source: replace '
                         'them, do not edit them in place'.format(counts['linked']))
        if test_files:
            # Held out (and, in synthetic data, free of flagged cases): it
            # is carried over as it is, for previews and evaluation.
            for rel in test_files:
                counts[_place(os.path.join(cur.src, rel), os.path.join(build, rel))] += 1
            notes.append('note: the source\'s test/ split is carried over as it is '
                         '(held out: not curated)')
        text = report_text(cur) + ''.join('\n' + n for n in notes) + '\n' * bool(notes)
        write_text_atomic(os.path.join(build, 'report.txt'), text)
        data = report_dict(cur)
        data['out'] = real_out
        data['files'] = dict(counts)
        write_text_atomic(os.path.join(build, 'report.json'),
                          json.dumps(data, indent=1) + '\n')
        # Last, so that a folder with a pairs file is a finished one.
        write_pairs(os.path.join(build, 'pairs.txt'), cur.kept,
                    header='human article (curated from {})'.format(os.path.abspath(cur.src)))
        files.append('pairs.txt')
        _swap_in(build, real_out)
    except BaseException:
        if os.path.isdir(build):
            shutil.rmtree(build)
        raise
    counts['written'] = [os.path.join(out, HUMANS), os.path.join(out, ARTICLES)] + [
        os.path.join(out, f) for f in files]
    return counts


def _test_files(src):
    """The files of ``src/test/`` to carry over, relative to ``src``.

    Raises:
        cagan.errors.DataError: files that resolve outside ``src`` (links
            out of the dataset), one line each: linking or copying them
            would put files from elsewhere into the output.
    """
    test_src = os.path.join(src, 'test')
    if not os.path.isdir(test_src):
        return []
    real_src = os.path.realpath(src)
    files, problems = [], []
    for folder, _, names in os.walk(test_src):
        for name in sorted(names):
            path = os.path.join(folder, name)
            target = os.path.realpath(path)
            if not target.startswith(real_src.rstrip(os.sep) + os.sep):
                problems.append('{}: a link to {}, outside the source; test/ is carried '
                                'over only with files of the source'.format(path, target))
            files.append(os.path.relpath(path, src))
    if problems:
        raise DataError(problems)
    return files


def _swap_in(build, out):
    """Put the finished folder ``build`` in the place of ``out``."""
    if os.path.isdir(out) and os.listdir(out):
        trash = os.path.join(os.path.dirname(out), '.{}.old-{}'.format(
            os.path.basename(out), uuid.uuid4().hex[:8]))
        os.rename(out, trash)
        os.rename(build, out)
        shutil.rmtree(trash)  # only unlinks: hard links keep the source's files intact
    else:
        os.replace(build, out)  # rename(2) may replace an empty folder
