"""Duplicate detection: the signature of an image, the distances between
two, and the groups of near-duplicates among many.

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

import math
from dataclasses import dataclass

import numpy
from PIL import Image

from cagan.data.union_find import UnionFind

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
