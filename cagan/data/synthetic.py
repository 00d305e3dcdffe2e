"""Procedural synthetic swimwear data with ground truth.

No real try-on photos ship with cagan, so its default data is drawn here:
stylised front-facing (or turned-away) people wearing bikinis and one-piece
swimsuits, and flat product photos of the same articles.  Because every image
is rendered from a few parameters, the true image of ANY human wearing ANY
article is known, which gives the test split its ground truth.

* :func:`sample_human` / :func:`sample_article` draw small frozen dataclasses
  (:class:`Human`, :class:`Article`) from a ``numpy.random.Generator``.
* :func:`render_article` draws an article flat on white (the product photo,
  ``y``); :func:`render_human` draws a human wearing an article (``x``) and the
  mask of the visible garment.
* :func:`write_dataset` writes the layout of ``data/README.md``, planting the
  cases the seed's data had to filter (flagged in ``pairs.txt``), with the
  figures framed head to feet or, as in the CAGAN paper's shop photos, head
  to mid-thigh (:data:`FRAMINGS`).

How the ground truth stays exact: a human is painted in layers (background,
hair behind, skin, garment, then arms, hair and extra clothes on top).  The
body under the garment and every layer above it depend only on the human, and
each layer is blended as ``old * (1 - a) + new * a``, which leaves a pixel
bit-for-bit unchanged where ``a == 0`` and replaces it exactly where
``a == 1``.  So a garment changes only pixels where its visible coverage is
non-zero, which is its mask.  Garments are defined in body coordinates
(``U`` across the torso, 0 at the centre line and +-1 at the body's outline;
``V`` down it, 0 at the shoulder line and 1 at the crotch) and their prints
in garment coordinates, so the same article looks the same on any body.

Determinism: every random draw comes from a generator made for one item
(``numpy.random.default_rng([seed, stream, index])``), pixels are computed in
float32 with plain arithmetic, and PNGs are written with fixed options and no
timestamps, so the same seed gives byte-identical files (with the same NumPy
and Pillow).

Speed: NumPy's cost per call, not per pixel, dominates at 128x96, so shapes
are evaluated over their own small boxes, from row and column vectors, with
few array operations each (symmetric pairs, both arms and all the flowers
of a print in one pass, body and legs as bands around centre lines); and
past a thousand pixels, where broadcasting through NumPy's buffers costs
more than a call, colours go channel by channel.  A test human is drawn
once and dressed twice (:class:`_Figure`), and images are drawn in batches
between their PNG files (see :data:`_BATCH`).
"""

import colorsys
import dataclasses
import functools
import math
import os
import struct
import time
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

from cagan.errors import CaganError, SizeError
from cagan.data.layout import (Pair, write_bytes_atomic, write_pairs,
                               write_text_atomic)

# The clip ufunc and the compiled interp: the Python wrappers of
# ``np.clip`` and ``np.interp`` cost more than the work on the small arrays
# drawn here.
try:                                              # NumPy >= 1.26
    from numpy._core.multiarray import interp as _interp
    from numpy._core.umath import clip as _clip
except ImportError:
    from numpy.core.multiarray import interp as _interp
    from numpy.core.umath import clip as _clip

__all__ = ['Human', 'Article', 'SyntheticSet', 'SHARES', 'FRAMINGS',
           'sample_human', 'frame', 'sample_article', 'render_human',
           'render_article', 'write_dataset', 'perceptual_hash',
           'difference_hash']

#: Shares of the training pairs planted with each flag (mutually exclusive).
SHARES = (('back_view', 0.08), ('extra_garment', 0.05),
          ('bottoms_only', 0.05), ('dup_of', 0.04))

BIKINI_TOPS = ('triangle', 'bandeau', 'halter', 'sporty', 'balconette')
BIKINI_BOTTOMS = ('classic', 'string', 'high-waist', 'boy')
ONE_PIECES = ('scoop', 'high-neck', 'one-shoulder', 'cut-out', 'plunge')
PRINTS = ('solid', 'stripes', 'dots', 'checks', 'floral', 'zigzag', 'block',
          'trim')
ARM_POSES = ('down', 'hips', 'raised', 'wave', 'out', 'hip-down')
HAIR_STYLES = ('short', 'bob', 'long', 'bun', 'curly', 'ponytail')
BACKGROUNDS = ('plain', 'vertical', 'horizontal', 'beach', 'wall')

# sRGB anchors from very light to very dark skin; a tone is drawn between two
# neighbours so the whole range is covered evenly.
_SKIN = ((255, 228, 210), (243, 201, 176), (228, 178, 140), (205, 145, 105),
         (170, 112, 75), (134, 84, 55), (98, 61, 40), (66, 42, 29))
_HAIR = ((22, 18, 16), (52, 35, 25), (96, 64, 42), (135, 62, 36),
         (205, 168, 105), (232, 220, 190), (165, 70, 40), (140, 140, 138),
         (220, 120, 165), (60, 90, 170))
_HAIR_WEIGHTS = (0.24, 0.2, 0.15, 0.08, 0.12, 0.05, 0.06, 0.04, 0.03, 0.03)


# --------------------------------------------------------------------------
# Parameters


@dataclass(frozen=True)
class Human:
    """A person, as drawing parameters (all floats are Python floats).

    Lengths are in head heights ("units"); positions are fractions of the
    image.  Colours are RGB triples in [0, 1].
    """

    skin: tuple
    hair_style: str
    hair_colour: tuple
    hair_length: float       # long hair / ponytail: units below the shoulders
    shoulders: float         # half-widths of the torso, in units
    bust: float              # 0 (flat) .. 1 (full)
    waist: float
    hips: float
    height: float            # the figure's height in units (7 .. 8)
    stance: float            # 0 (feet together) .. 1 (apart)
    arm_pose: str
    arm_jitter: tuple        # four numbers in [-1, 1]
    scale: float             # figure height / image height
    centre: float            # x of the body's centre line / image width
    top: float               # y of the top of the head / image height
    background: str
    background_colours: tuple
    background_split: tuple  # where bands meet, fractions of the height
    back_view: bool = False
    extra_garment: str = ''  # '', 'shirt' or 'shorts'
    extra_colour: tuple = (1.0, 1.0, 1.0)
    extra_open: float = 0.4  # shirt: half-width of the opening, U units


@dataclass(frozen=True)
class Article:
    """A swimwear article, as drawing parameters (Python floats).

    ``kind`` is 'bikini' (``cut`` a top from :data:`BIKINI_TOPS`, ``bottom``
    from :data:`BIKINI_BOTTOMS`) or 'one-piece' (``cut`` from
    :data:`ONE_PIECES`).  Cut parameters are in body coordinates (``V`` = 0
    at the shoulder line, 1 at the crotch).  ``photo`` = (dx, dy, zoom, gain)
    only frames the product photo (shift as fractions of the width and
    height, zoom and brightness factors); a re-shot of the same product
    differs from the original only there.
    """

    kind: str
    cut: str
    bottom: str
    colour: tuple
    colour2: tuple
    colour3: tuple
    print: str
    print_freq: float        # cycles per torso length
    print_orient: int        # stripes: 0 horizontal, 1 vertical, 2/3 diagonal
    print_duty: float
    print_phase: tuple       # two numbers in [0, 1)
    flowers: tuple           # floral: ((x, y, petal, rotated), ...)
    rise: float              # V of the bottom's top edge
    dip: float               # how much that edge dips at the centre
    leg: float               # V where the leg opening meets the hip
    crotch: float            # half-width of the crotch, U units
    depth: float             # neckline / cup size, 0 .. 1
    strap: float             # strap width, 0 .. 1
    variant: int = 0         # cut-out: centre or sides; one-shoulder: side
    bottoms_only: bool = False
    photo: tuple = (0.0, 0.0, 1.0, 1.0)


class _Draws:
    """Scalar draws from a ``numpy.random.Generator``, as Python numbers
    (``Generator.choice`` and friends cost tens of microseconds a call)."""

    def __init__(self, rng):
        self.rng = rng
        self.buffer = []

    def random(self):
        try:
            return self.buffer.pop()
        except IndexError:
            # One call for 64 numbers costs about what one call for one
            # does.
            self.buffer = self.rng.random(64).tolist()[::-1]
            return self.buffer.pop()

    def u(self, lo=0.0, hi=1.0):
        # The most frequent draw: random() inlined.
        try:
            r = self.buffer.pop()
        except IndexError:
            r = self.random()
        return lo + (hi - lo) * r

    def index(self, n):
        return min(int(self.random() * n), n - 1)

    def pick(self, items, weights=None):
        if weights is None:
            return items[self.index(len(items))]
        r = self.random() * sum(weights)
        for item, w in zip(items, weights):
            r -= w
            if r < 0:
                return item
        return items[-1]

    def chance(self, p):
        return self.random() < p

    def sign(self):
        return 1.0 if self.random() < 0.5 else -1.0


def _clip_unit(v):
    return min(1.0, max(0.0, v))


def _colour_from_palette(d, anchors, jitter):
    t = d.u() * (len(anchors) - 1)
    i = min(int(t), len(anchors) - 2)
    return tuple(_clip_unit((a + (b - a) * (t - i)) / 255.0 *
                            (1.0 + d.u(-jitter, jitter)))
                 for a, b in zip(anchors[i], anchors[i + 1]))


def _hsv(h, s, v):
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return (float(r), float(g), float(b))


def _luma(c):
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def _background(d):
    kind = d.pick(BACKGROUNDS)

    def muted():
        return _hsv(d.u(), d.u(0.05, 0.4), d.u(0.45, 0.95))

    if kind == 'beach':
        colours = (_hsv(d.u(0.55, 0.62), d.u(0.2, 0.5), d.u(0.85, 1.0)),
                   _hsv(d.u(0.5, 0.6), d.u(0.5, 0.85), d.u(0.5, 0.8)),
                   _hsv(d.u(0.09, 0.13), d.u(0.25, 0.45), d.u(0.75, 0.95)))
        split = (d.u(0.2, 0.45), d.u(0.5, 0.8))
    elif kind == 'wall':
        floor = _hsv(d.u(0.05, 0.12), d.u(0.2, 0.5), d.u(0.3, 0.7))
        colours = (muted(), floor, tuple(c * 0.8 for c in floor))
        split = (d.u(0.68, 0.88), 0.0)
    else:
        colours = (muted(), muted(), muted())
        split = (0.0, 0.0)
    return kind, colours, split


def sample_human(rng, back_view=None, extra_garment=None):
    """Draw a random :class:`Human`.

    Args:
        rng (numpy.random.Generator): the only source of randomness.
        back_view (bool or None): turned away; None draws it (8%).
        extra_garment (bool or None): wears an open shirt or shorts over the
            swimwear; None draws it (5%).

    Returns:
        Human: frozen parameters; render with :func:`render_human`.
    """
    d = _Draws(rng)
    skin = _colour_from_palette(d, _SKIN, 0.03)
    style = d.pick(HAIR_STYLES)
    tint = d.u(0.85, 1.15)
    hair = tuple(_clip_unit(c / 255.0 * tint)
                 for c in d.pick(_HAIR, _HAIR_WEIGHTS))
    build = d.u()  # slim .. curvy
    background, colours, split = _background(d)
    if back_view is None:
        back_view = d.chance(0.08)
    if extra_garment is None:
        extra_garment = d.chance(0.05)
    extra = d.pick(('shirt', 'shorts')) if extra_garment else ''
    if d.chance(0.5):
        extra_colour = _hsv(d.u(), d.u(0.0, 0.25), d.u(0.85, 1.0))
    else:
        extra_colour = _hsv(d.u(), d.u(0.3, 0.7), d.u(0.35, 0.8))
    return Human(
        skin=skin, hair_style=style, hair_colour=hair,
        hair_length=d.u(0.3, 1.3),
        shoulders=d.u(0.8, 0.92),
        bust=_clip_unit(0.7 * build + 0.3 * d.u()),
        waist=0.47 + 0.13 * build + 0.04 * d.u(),
        hips=0.74 + 0.2 * build + 0.05 * d.u(),
        height=d.u(7.0, 8.0),
        stance=d.u(),
        arm_pose=d.pick(ARM_POSES),
        arm_jitter=tuple(d.u(-1, 1) for _ in range(4)),
        scale=d.u(0.8, 1.25),
        centre=0.5 + d.u(-0.08, 0.08),
        top=d.u(0.02, 0.08),
        background=background, background_colours=colours,
        background_split=split, back_view=bool(back_view),
        extra_garment=extra, extra_colour=extra_colour,
        extra_open=d.u(0.25, 0.55))


def _garment_colour(d):
    r = d.u()
    if r < 0.08:
        return _hsv(0.0, 0.0, d.u(0.08, 0.18))            # black
    if r < 0.14:
        # Off-white: a white garment photographed on white still shows.
        return _hsv(d.u(0.08, 0.15), d.u(0.0, 0.12), d.u(0.84, 0.9))
    if r < 0.22:
        return _hsv(d.u(0.6, 0.67), d.u(0.6, 0.9), d.u(0.2, 0.4))  # navy
    return _hsv(d.u(), d.u(0.45, 1.0), d.u(0.35, 0.97))


def _contrasting(d, c):
    """A colour clearly different from ``c`` in lightness (a print must
    show in grey too)."""
    for _ in range(50):
        e = _garment_colour(d)
        if abs(_luma(e) - _luma(c)) > 0.3:
            return e
    return _hsv(0.0, 0.0, 0.97 if _luma(c) < 0.5 else 0.1)


_PRINT_WEIGHTS = (0.2, 0.16, 0.12, 0.1, 0.12, 0.1, 0.1, 0.1)
_PRINT_FREQ = {'stripes': (4.0, 9.0), 'dots': (5.0, 9.0),
               'checks': (4.0, 7.0), 'floral': (2.2, 3.4),
               'zigzag': (4.0, 7.0)}


def sample_article(rng, bottoms_only=None):
    """Draw a random :class:`Article`.

    Args:
        rng (numpy.random.Generator): the only source of randomness.
        bottoms_only (bool or None): the product is only a bikini bottom
            (the human still wears the whole set); None draws it (5%).

    Returns:
        Article: frozen parameters; render with :func:`render_article`.
    """
    d = _Draws(rng)
    if bottoms_only is None:
        bottoms_only = d.chance(0.05)
    if bottoms_only or d.chance(0.6):
        kind, cut = 'bikini', d.pick(BIKINI_TOPS)
        bottom = d.pick(BIKINI_BOTTOMS)
    else:
        kind, cut, bottom = 'one-piece', d.pick(ONE_PIECES), 'classic'
    pattern = d.pick(PRINTS, _PRINT_WEIGHTS)
    c1 = _garment_colour(d)
    c2 = _contrasting(d, c1) if pattern != 'solid' else c1
    c3 = (_hsv(d.u(0.1, 0.17), d.u(0.3, 0.9), d.u(0.85, 1.0))
          if d.chance(0.6) else c1)
    freq = d.u(*_PRINT_FREQ.get(pattern, (5.0, 8.0)))
    flowers = tuple((d.u(), d.u(), d.u(0.07, 0.11), d.chance(0.5))
                    for _ in range(2 + d.index(2)))
    if bottom == 'high-waist':
        rise = d.u(0.56, 0.64)
    elif bottom == 'string':
        rise = d.u(0.74, 0.8)
    else:
        rise = d.u(0.66, 0.76)
    if bottom == 'string':
        leg = rise + d.u(0.03, 0.06)
    elif kind == 'one-piece':
        leg = d.u(0.7, 0.9)
    else:
        leg = d.u(max(rise + 0.08, 0.78), 0.95)
    return Article(
        kind=kind, cut=cut, bottom=bottom, colour=c1, colour2=c2, colour3=c3,
        print=pattern, print_freq=freq, print_orient=d.index(4),
        print_duty=d.u(0.3, 0.6), print_phase=(d.u(), d.u()),
        flowers=flowers, rise=rise, dip=d.u(0.0, 0.06), leg=leg,
        crotch=d.u(0.1, 0.2), depth=d.u(), strap=d.u(),
        variant=d.index(2), bottoms_only=bool(bottoms_only),
        photo=_layout(d))


#: Product-photo zoom levels (few, so their frames can be cached).
_ZOOMS = (0.76, 0.8, 0.84, 0.88, 0.92, 0.96, 1.0)


def _layout(d):
    """How a product photo is framed: off-centre (never exactly centred: a
    left-right symmetric photo has near-zero odd DCT terms, whose signs a
    one-pixel shift flips, so perceptual hashes of re-shoots would scatter)
    and zoomed to one of a few levels."""
    return (d.sign() * d.u(0.02, 0.07), d.u(-0.045, 0.045),
            d.pick(_ZOOMS), 1.0)


# --------------------------------------------------------------------------
# Distance fields.  Coordinates: ys (h, 1) and xs (1, w) pixel centres, so
# most intermediate values are a row or a column and only the last few
# operations touch the whole box.  Distances are in pixels, negative inside.


@functools.lru_cache(maxsize=32)
def _axes(size):
    h, w = size
    return (np.arange(h, dtype=np.float32) + np.float32(0.5),
            np.arange(w, dtype=np.float32) + np.float32(0.5))


def _box(size, y0, y1, x0, x1):
    """The integer box (y0, y1, x0, x1) holding [y0, y1) x [x0, x1), padded
    by 2 pixels for anti-aliasing and clipped to the image; None if empty."""
    h, w = size
    b = (max(0, int(math.floor(y0)) - 2), min(h, int(math.ceil(y1)) + 2),
         max(0, int(math.floor(x0)) - 2), min(w, int(math.ceil(x1)) + 2))
    return b if b[0] < b[1] and b[2] < b[3] else None


def _union_box(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3]))


def _intersect_box(a, b):
    if a is None or b is None:
        return None
    c = (max(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), min(a[3], b[3]))
    return c if c[0] < c[1] and c[2] < c[3] else None


def _grid(size, box, sym=None):
    """Pixel centres over ``box``: ys (h, 1), xs (1, w).  With ``sym`` (an x)
    xs is folded onto the right of that line, so one evaluation draws a
    left-right symmetric pair of shapes."""
    ys, xs = _axes(size)
    xs = xs[None, box[2]:box[3]]
    if sym is not None:
        xs = np.abs(xs - np.float32(sym)) + np.float32(sym)
    return ys[box[0]:box[1], None], xs


def _sym_box(size, y0, y1, x0, x1, sym):
    """Box of a shape spanning [x0, x1] and of its mirror image about x =
    sym."""
    return _box(size, y0, y1, min(x0, 2 * sym - x1), max(x1, 2 * sym - x0))


# Constants as 0-d arrays: NumPy 1.x combines those with arrays faster
# than it does scalars.
_ZERO, _HALF, _ONE = (np.array(v, dtype=np.float32) for v in (0, 0.5, 1))


def _k(value):
    """A float32 constant for array arithmetic (see _ZERO)."""
    return np.array(value, dtype=np.float32)


def _clip_to(x, lo, hi):
    """Clip a temporary float32 array to [lo, hi] in place (0-d bounds).
    The clip ufunc costs one call but about ten instructions a value;
    maximum and minimum are vectorised, so they win on large arrays."""
    if x.size > 2048:
        np.maximum(x, lo, out=x)
        return np.minimum(x, hi, out=x)
    return _clip(x, lo, hi, out=x)


def _clip01(x):
    """Clip a temporary float32 array to [0, 1] in place."""
    return _clip_to(x, _ZERO, _ONE)


def _sd_ellipse(ys, xs, c, ra, rb):
    """Ellipse centred at c with half-axes ra (x) and rb (y): the radial
    distance scaled by the smaller half-axis (exact for circles; for the
    mildly elongated ellipses drawn here the 1-pixel ramp just narrows a
    little towards the ends of the long axis)."""
    m = min(ra, rb)
    # (sqrt(px^2 + py^2) - 1) m with m inside the root: the scaling is
    # done on the row and the column, not on the box.
    px = (xs - np.float32(c[0])) * np.float32(m / ra)
    py = (ys - np.float32(c[1])) * np.float32(m / rb)
    px *= px
    py *= py
    k = np.add(px, py)
    np.sqrt(k, out=k)
    k -= np.float32(m)
    return k


def _segment(a, b, ra, rb):
    """Parameters of a capsule from a to b, its radius going linearly from
    ra to rb: (ax, ay, ux, uy, uy, -ux, n, ra, g) for
    :func:`_sd_capsules`."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    n = math.hypot(dx, dy)
    if n < 1e-6:    # a point: any direction will do
        return (a[0], a[1], 1.0, 0.0, 0.0, -1.0, 0.0, ra, 0.0)
    ux, uy = dx / n, dy / n
    return (a[0], a[1], ux, uy, uy, -ux, n, ra, (rb - ra) / n)


def _sd_capsules(px, py, p):
    """Distance fields of capsules, from pixel centres relative to their
    starts (px along x, py along y) and ``p``, the last seven numbers of
    :func:`_segment` on a first axis, all broadcasting together."""
    n, ra, g = p[4:]
    # Along the segment and across it, as one outer sum (the costly kind
    # of operation): then the distance to the nearest point of the segment
    # is hypot(along - clip(along), across).
    both = np.add(px * p[0:2], py * p[2:4], order='C')
    along, across = both
    # (Not the clip ufunc: with bounds that are arrays it runs ten times
    # slower than maximum and minimum.)
    t = np.maximum(along, _ZERO)
    np.minimum(t, n, out=t)
    along -= t
    both *= both
    dist = np.add(along, across)
    np.sqrt(dist, out=dist)
    t *= g
    t += ra
    dist -= t
    return dist


def _sd_segments(ys, xs, segs):
    """Union of capsules [(a, b, ra, rb)] in one pass: the arrays gain a
    leading axis, the operation count stays that of one capsule."""
    k = len(segs)
    p = np.array([_segment(*seg) for seg in segs], np.float32).T.reshape(
        9, k, 1, 1)
    dist = _sd_capsules(xs - p[0], ys - p[1], p[2:])
    if k == 1:
        return dist[0]
    if k == 2:
        return np.minimum(dist[0], dist[1], out=dist[0])
    return dist.min(axis=0)


def _sd_line(ys, xs, p0, p1, inside):
    """Signed distance to the line through p0 and p1, negative on the side
    of the point ``inside``."""
    dx, dy = p1[0] - p0[0], p1[1] - p0[1]
    n = math.hypot(dx, dy) or 1e-6
    nx, ny = dy / n, -dx / n
    if (inside[0] - p0[0]) * nx + (inside[1] - p0[1]) * ny > 0:
        nx, ny = -nx, -ny
    return xs * np.float32(nx) + (ys * np.float32(ny) -
                                  np.float32(p0[0] * nx + p0[1] * ny))


def _sd_strap(ys, xs, a, b, r):
    """A straight strap of half-width ``r`` from a to b, cut square at the
    heights of its ends (they end under a cup or on the neck): a third of
    the work of a capsule."""
    d = np.abs(_sd_line(ys, xs, a, b, a))
    d -= _k(r)
    lo, hi = min(a[1], b[1]), max(a[1], b[1])
    ends = np.maximum(_k(lo) - ys, ys - _k(hi))
    return np.maximum(d, ends, out=d)


def _sd_convex(ys, xs, pts):
    """Convex polygon ``pts`` (exact near edges, which is what matters)."""
    cx = sum(p[0] for p in pts) / len(pts)
    cy = sum(p[1] for p in pts) / len(pts)
    d = None
    for i, p in enumerate(pts):
        e = _sd_line(ys, xs, p, pts[(i + 1) % len(pts)], (cx, cy))
        d = e if d is None else np.maximum(d, e, out=d)
    return d


def _coverage(d):
    """Pixel coverage of the inside of a distance field: a 1-pixel ramp."""
    return _clip01(_HALF - d)


def _rim(d, width, strength):
    """Shading factor that darkens towards an outline (a cylinder look):
    1 from ``width`` pixels inside, falling linearly to 1 - strength on the
    outline."""
    t = d * _k(-strength / width)
    low = _k(1 - strength)
    t += low
    return _clip_to(t, low, _ONE)


# --------------------------------------------------------------------------
# The painter


class _Canvas:
    """A float32 (3, H, W) RGB image in [0, 255] (channels first: NumPy's
    inner loops then run along rows, several times faster than over 3
    channels) painted layer by layer with ``old * (1 - a) + new * a``
    (exact where a is 0 or 1).  With ``layers`` a list, layers are
    recorded there as (box, 1 - a, new * a) instead, to be blended later
    (over each garment a human is drawn in)."""

    def __init__(self, rgb, layers=None):
        self.rgb = rgb
        self.layers = layers

    def paint(self, box, cov, colour, weighted=None):
        """Blend ``colour`` ((3,) or (3, h, w)) with coverage ``cov`` (h, w)
        over ``box``.  ``weighted``, if given, is ``colour * cov`` already
        (saves a pass)."""
        if weighted is None:
            weighted = _tint(cov, colour)
        self.layer(box, _ONE - cov, weighted)

    def layer(self, box, keep, weighted):
        """Blend a layer given as ``1 - a`` and ``new * a``."""
        if self.layers is None:
            _blend(self.rgb, box, keep, weighted)
        else:
            self.layers.append((box, keep, weighted))

    def paint_shaded(self, box, d, colour, rim_width, strength=0.3):
        """Paint the inside of distance field ``d`` in ``colour`` darkened
        towards its outline."""
        cov = _coverage(d)
        if strength:
            w = _rim(d, rim_width, strength)
            w *= cov
        else:
            w = cov
        self.paint(box, cov, None, weighted=_tint(w, colour))


def _blend(rgb, box, keep, weighted):
    """Blend a layer, ``1 - a`` (h, w) and ``new * a`` (3, h, w), into the
    (3, H, W) image ``rgb`` over ``box``."""
    y0, y1, x0, x1 = box
    region = rgb[:, y0:y1, x0:x1]
    # On a contiguous copy: NumPy runs arithmetic on a strided view row by
    # row, through buffers, and copies cost a fraction of that.
    pixels = region.copy()
    if keep.size < 2048:
        pixels *= keep
        pixels += weighted
    else:
        for k in range(3):      # see _tint
            channel = pixels[k]
            channel *= keep
            channel += weighted[k]
    region[...] = pixels


# Colours become arrays scaled to bytes (255 for white): the canvas holds
# byte values, so turning it into bytes takes one addition fewer.


def _tint(w, colour, scale=255.0):
    """``colour`` (an RGB triple) times ``w``: float32 (3,) + w.shape.
    Broadcasting a (3, 1, 1) colour over a box runs through NumPy's
    buffers; past a thousand pixels three products by 0-d arrays cost
    half as much."""
    if w.size < 1024:
        return _rgb(colour, scale) * w
    out = np.empty((3,) + w.shape, dtype=np.float32)
    for k in range(3):
        np.multiply(w, _k(colour[k] * scale), out=out[k])
    return out


def _mix(c1, c2, t, scale=255.0):
    """``c1 + (c2 - c1) * t`` for RGB triples c1, c2: float32 (3,) +
    t.shape (see _tint)."""
    if t.size < 1024:
        return _rgb(c1, scale) + _rgb([b - a for a, b in zip(c1, c2)],
                                      scale) * t
    out = np.empty((3,) + t.shape, dtype=np.float32)
    for k in range(3):
        np.multiply(t, _k((c2[k] - c1[k]) * scale), out=out[k])
        out[k] += _k(c1[k] * scale)
    return out


def _rgb(colour, scale=255.0):
    """An RGB triple times ``scale`` as a (3, 1, 1) float32 array
    (broadcasts over a channels-first image)."""
    return (np.asarray(colour, dtype=np.float32) * np.float32(scale)
            ).reshape(3, 1, 1)


def _background_rgb(human, size):
    """The background, float32 (3, H, W).  Every kind is a piecewise-linear
    ramp down the rows (or across the columns), bands meeting over one
    pixel, so three interpolations draw it."""
    h, w = size
    c = human.background_colours
    kind = human.background
    rgb = np.empty((3, h, w), dtype=np.float32)
    if kind == 'plain':
        rgb[...] = _rgb(c[0])
        return rgb
    if kind in ('vertical', 'horizontal'):
        knots = (0.0, float(w if kind == 'horizontal' else h))
        colours = c[:2]
    elif kind == 'beach':
        s1, s2 = (v * h for v in human.background_split)
        sky, sea, sand = c
        knots = (0.0, s1 - 0.5, s1 + 0.5, s2 - 0.5, s2 + 0.5, float(h))
        colours = ([0.85 * v for v in sky], sky, [0.9 * v for v in sea], sea,
                   sand, sand)
    else:  # a wall with a slight gradient, a darker skirting board, a floor
        s1 = human.background_split[0] * h
        board = max(1.0, 0.02 * h)
        wall, floor, skirting = c
        knots = (0.0, s1 - board - 0.5, s1 - board + 0.5, s1 - 0.5,
                 s1 + 0.5, float(h))
        colours = ([0.92 * v for v in wall], wall, skirting, skirting,
                   floor, floor)
    ys, xs = _axes(size)
    coord = xs if kind == 'horizontal' else ys
    ramp = np.array([_interp(coord, knots, [col[k] for col in colours])
                     for k in range(3)], dtype=np.float32)
    ramp *= np.float32(255.0)
    rgb[...] = ramp[:, None, :] if kind == 'horizontal' else ramp[:, :, None]
    return rgb


# --------------------------------------------------------------------------
# Body geometry, in pixels


def _two_link(shoulder, target, l1, l2, outward):
    """Elbow and hand of an arm reaching for ``target`` (planar IK), the
    elbow bent towards ``outward`` (+1 right, -1 left)."""
    sx, sy = shoulder
    dx, dy = target[0] - sx, target[1] - sy
    d = min(max(math.hypot(dx, dy), abs(l1 - l2) + 1e-3), l1 + l2 - 1e-3)
    base = math.atan2(dy, dx)
    bend = math.acos(max(-1.0, min(1.0, (l1 * l1 + d * d - l2 * l2) /
                                   (2 * l1 * d))))
    # Of the two solutions take the elbow further out from the body.
    cands = [(sx + l1 * math.cos(base + s * bend),
              sy + l1 * math.sin(base + s * bend)) for s in (1, -1)]
    elbow = max(cands, key=lambda e: e[0] * outward)
    hand = (sx + d * math.cos(base), sy + d * math.sin(base))
    return elbow, hand


class _Body:
    """Pixel geometry of a human: ``unit`` (pixels per head height), centre
    line ``cx``, head top ``top``.  Proportions follow the usual 7.5-head
    figure: shoulder line at 1.32 heads from the top, crotch at 4."""

    Y_SH, Y_BUST, Y_UB = 1.32, 2.0, 2.3
    Y_WAIST, Y_HIP, Y_CROTCH = 2.85, 3.5, 4.0

    def __init__(self, human, unit, cx, top, mirror=False):
        u = self.unit = unit
        self.cx, self.top = cx, top
        self.human = human
        ws, wh, ww = human.shoulders, human.hips, human.waist
        wb = 0.86 * ws + 0.08 * human.bust
        wub = wb - 0.05 - 0.05 * human.bust
        self.neck = 0.15 + 0.02 * (ws - 0.8) / 0.12
        self.y_sh = top + self.Y_SH * u
        self.y_crotch = top + self.Y_CROTCH * u
        self.L = self.y_crotch - self.y_sh  # torso length, pixels
        # Half-width of the trunk (neck and torso) by height, knots in units.
        # It starts and ends at negative widths, so that rows outside it are
        # outside without a separate test.
        nw = self.neck
        prof = ((0.68, -0.1), (0.78, nw), (self.Y_SH - 0.04, nw),
                (self.Y_SH, nw + 0.06), (1.40, 0.8 * ws), (1.58, ws),
                (1.78, 0.96 * ws), (self.Y_BUST, wb), (self.Y_UB, wub),
                (self.Y_WAIST, ww), (self.Y_HIP, wh), (3.72, 0.96 * wh),
                (3.93, 0.55 * wh), (4.03, 0.05), (4.08, -0.2))
        self.trunk = _Profile([top + y * u for y, _ in prof],
                              [w * u for _, w in prof])
        # The envelope: the outline without the neck and the crotch, which
        # garment coordinates are relative to (U = +-1 on it).
        env = ((1.0, ws), (1.58, ws), (1.78, 0.96 * ws), (self.Y_BUST, wb),
               (self.Y_UB, wub), (self.Y_WAIST, ww), (self.Y_HIP, wh),
               (4.6, wh))
        self.env_y = [top + y * u for y, _ in env]
        self.env_w = [w * u for _, w in env]
        self.width = max(ws, wh) * u
        # Legs (the right one; the left is its mirror image).
        leg = human.height - 4.3          # crotch to ankle, units
        st = human.stance
        self.leg = (self.p(0.46 * wh, 3.52),
                    self.p(0.3 + 0.1 * st, self.Y_CROTCH + 0.47 * leg),
                    self.p(0.27 + 0.3 * st, self.Y_CROTCH + leg))
        self.thigh_r = (0.5 * wh * u, 0.19 * u)
        # The right leg as a band around a centre line, by height: centre
        # x and half-width in units (calf, ankle, and a rounded foot).
        hx, kx, ax = 0.46 * wh, 0.3 + 0.1 * st, 0.27 + 0.3 * st
        ky, ay = self.Y_CROTCH + 0.47 * leg, self.Y_CROTCH + leg
        legs = ((3.1, hx, -0.1), (3.52, hx, 0.5 * wh),
                (ky, kx, 0.19), (ky + 0.3 * (ay - ky), kx + 0.3 * (ax - kx),
                                 0.2),
                (ay - 0.05, ax, 0.1), (ay + 0.12, ax + 0.03, 0.12),
                (ay + 0.2, ax + 0.04, 0.1), (ay + 0.25, ax + 0.04, 0.06),
                (ay + 0.28, ax + 0.04, -0.05))
        leg_y = [top + k[0] * u for k in legs]
        self.leg_centre = _Profile(leg_y, [k[1] * u for k in legs])
        self.leg_radius = _Profile(leg_y, [k[2] * u for k in legs])
        # Arms: hand targets in units relative to the shoulder joint, for
        # the right-hand side (x > 0 in the image); mirrored for the left.
        j = human.arm_jitter
        sj = ws - 0.16
        targets = {
            'down': (0.32, 2.45), 'raised': (0.55, -2.35),
            'out': (1.95, 1.35),
            'hips': (0.95 * wh - sj + 0.08, self.Y_WAIST + 0.35 - 1.5),
            'wave': (0.9, -1.7)}
        per_side = {'down': ('down', 'down'), 'raised': ('raised', 'raised'),
                    'out': ('out', 'out'), 'hips': ('hips', 'hips'),
                    'wave': ('down', 'wave'), 'hip-down': ('hips', 'down')}
        sides = per_side[human.arm_pose]
        if mirror:
            sides = sides[::-1]
        self.arms = []
        for k, s in enumerate((-1, 1)):
            tx, ty = targets[sides[k]]
            tx += 0.12 * j[2 * k]
            ty += 0.12 * j[2 * k + 1]
            shoulder = (sj * s, 1.5)
            elbow, hand = _two_link(shoulder, (shoulder[0] + s * tx,
                                               shoulder[1] + ty),
                                    1.35, 1.2, s)
            self.arms.append(tuple(self.p(*q) for q in (shoulder, elbow,
                                                        hand)))
        # Upper arm, elbow, and the hand at the forearm's rounded end.
        self.arm_r = (0.15 * u, 0.105 * u, 0.1 * u)

    def p(self, x, y):
        """A point in units (x from the centre line, y from the head top)
        to pixels."""
        return (self.cx + x * self.unit, self.top + y * self.unit)

    def y(self, v):
        return self.top + v * self.unit

    def torso_sd(self, size, box):
        """Distance field of the trunk (torso and neck) over ``box``."""
        ys, xs = _grid(size, box)
        (w,), (corr,) = _profiles(ys[:, 0], self.trunk)
        d = np.abs(xs - np.float32(self.cx)) - w
        d *= corr
        return d

    def garment_coords(self, size, box):
        """Garment coordinates over ``box``: X (h, w) and Y (h, 1), pixels
        scaled so that U = X / s and V = Y / L with s = 0.34 L (the hips'
        usual half-width): nearly isotropic, so distances stay pixels."""
        ys, xs = _grid(size, box)
        w = _interp(ys[:, 0], self.env_y, self.env_w)
        s = 0.34 * self.L
        k = (s / w).astype(np.float32)[:, None]
        return (xs - np.float32(self.cx)) * k, ys - np.float32(self.y_sh)

    def garment_box(self, size, extent):
        v0, v1, uh = extent
        return _box(size, self.y_sh + v0 * self.L, self.y_sh + v1 * self.L,
                    self.cx - uh * self.width, self.cx + uh * self.width)

    def body_sd(self, size, legs=True):
        """Trunk and legs (or the trunk and thighs only, ``legs=False``):
        (box, distance field over it).  Both are bands around vertical-ish
        centre lines, so a handful of operations per pixel draw them."""
        t, c, r = self.trunk, self.leg_centre, self.leg_radius
        y1 = c.ky[-1] if legs else self.y_crotch + 0.2 * self.L
        half = max(max(t.kv), max(x + w for x, w in zip(c.kv, r.kv)))
        box = _box(size, t.ky[0], y1, self.cx - half, self.cx + half)
        if box is None:
            return None, None
        ys, xs = _grid(size, box)
        x = np.abs(xs - np.float32(self.cx))      # folded: both legs at once
        (w, c, r), (corr, corr_c, corr_r) = _profiles(ys[:, 0], t, c, r)
        d = x - w
        d *= corr
        leg = np.abs(x - c)
        leg -= r
        # Both edges lean by the centre's slope plus or minus the radius's.
        leg *= np.minimum(corr_c, corr_r)
        return box, np.minimum(d, leg, out=d)


class _Profile:
    """A piecewise-linear profile v(y): knots ``ky`` (pixels, increasing)
    and values ``kv``, held constant beyond the ends."""

    def __init__(self, knots_y, knots_v):
        self.ky, self.kv = list(knots_y), list(knots_v)


#: How far apart :func:`_profiles` lays the profiles it evaluates together.
_FAR = 1e6


def _profiles(rows, *profiles):
    """Several profiles at pixel rows ``rows`` (h,): float32 values and the
    cosines of their slopes (which turn a horizontal distance from an edge
    following a profile into a distance), each (n, h, 1).  The cosines are
    taken per segment and interpolated between segment middles.

    One interpolation does it all: profile i (then its cosines) moved along
    y by i * _FAR, so that the rows of one are far from the knots of the
    others (between two profiles the values drift by a millionth of their
    difference per pixel)."""
    n = len(profiles)
    # Knots and values, then room for the cosines' knots (segment
    # middles, moved on by n * _FAR) and values.
    m = sum(len(p.ky) for p in profiles)
    kx, kv = np.empty(2 * m - 1), np.empty(2 * m - 1)
    y, v = kx[:m], kv[:m]
    y[:] = [k + j * _FAR for j, p in enumerate(profiles) for k in p.ky]
    v[:] = [k for p in profiles for k in p.kv]
    mid, cos = kx[m:], kv[m:]
    np.add(y[1:], y[:-1], out=mid)
    mid *= 0.5
    mid += n * _FAR
    dy = y[1:] - y[:-1]
    np.subtract(v[1:], v[:-1], out=cos)
    cos /= np.maximum(dy, 1e-9, out=dy)
    cos *= cos
    cos += 1.0
    np.sqrt(cos, out=cos)
    np.divide(1.0, cos, out=cos)
    values = _interp(rows + np.arange(0.0, 2 * n * _FAR, _FAR)[:, None],
                     kx, kv)
    return values.astype(np.float32).reshape(2, n, len(rows), 1)


#: How a figure sits in the frame: (scale factor, top factor) applied to
#: the drawn :class:`Human`. ``'full'``: the whole figure, head to feet (the
#: swimwear covers about 5% of the image); ``'thigh'``: head to mid-thigh,
#: the framing of the CAGAN paper's shop photos, where it covers about
#: twice as much.
FRAMINGS = {'full': (1.0, 1.0), 'thigh': (1.45, 0.7)}


def _framing(framing):
    try:
        return FRAMINGS[framing]
    except (KeyError, TypeError):
        raise CaganError('framing must be one of {}; got {!r}'.format(
            ', '.join(FRAMINGS), framing)) from None


def frame(human, framing='full'):
    """``human`` placed for a framing of :data:`FRAMINGS` (the same person,
    drawn larger and cut by the frame for ``'thigh'``)."""
    scale, top = _framing(framing)
    return dataclasses.replace(human, scale=human.scale * scale,
                               top=human.top * top)


def _placement(human, size):
    h, w = size
    unit = human.scale * h / human.height
    return unit, human.centre * w, human.top * h


# --------------------------------------------------------------------------
# Garments


def _extent(article, parts):
    """Garment extent in body coordinates: (V top, V bottom, half-width as a
    multiple of the body's widest half-width)."""
    if parts == ('bottom',):
        v0 = article.rise - 0.04
    elif article.kind == 'bikini' and article.cut == 'bandeau':
        v0 = 0.1
    else:
        v0 = -0.1
    boy = article.bottom == 'boy' and article.kind == 'bikini'
    return v0, 1.17 if boy else 1.03, 1.12 if boy else 1.05


#: The largest (V top, V bottom, half-width) :func:`_extent` gives for a
#: garment on a body.
_MAX_EXTENT = (-0.1, 1.17, 1.12)


def _gusset(a):
    """V of the garment's lowest edge between the legs (the body ends at
    the crotch, V = 1: lower, the background between the thighs would show
    through)."""
    return 1.14 if a.bottom == 'boy' and a.kind == 'bikini' else 1.0


def _leg_line(X, Y, a, s, L, back):
    """Leg openings (distance, negative inside the garment); X is |X|."""
    if a.bottom == 'boy' and a.kind == 'bikini':
        return Y - np.float32((1.08 + 0.04 * a.crotch / 0.2) * L)
    if back:
        return _sd_line(Y, X, (0.0, 1.07 * L), (1.2 * s, (a.leg + 0.06) * L),
                        (0.0, 0.5 * L))
    return _sd_line(Y, X, (a.crotch * s, 1.0 * L), (1.2 * s, a.leg * L),
                    (0.0, 0.5 * L))


def _bottom_sd(X, Y, a, s, L, back):
    top = (np.float32((a.rise + a.dip) * L) -
           X * X * np.float32(a.dip * L / (s * s)) - Y)
    np.maximum(top, _leg_line(X, Y, a, s, L, back), out=top)
    return np.maximum(top, Y - np.float32(_gusset(a) * L), out=top)


def _top_sd(X, Y, a, s, L, neck_x, back):
    """Bikini top; X is |X| (tops are symmetric)."""
    ub = 0.34 * L
    sw = (0.012 + 0.014 * a.strap) * L             # strap radius
    band = np.abs(Y - np.float32(ub + 0.005 * L)) - np.float32(sw * 0.9)
    if a.cut == 'bandeau':
        hgt = (0.13 + 0.07 * a.depth) * L
        t = 1.0 if back else 0.65
        return np.maximum(np.float32(ub - hgt * t) - Y, Y - np.float32(ub))
    if a.cut == 'sporty':
        bottom = Y - np.float32(ub + 0.06 * L)
        if back:
            main = np.maximum(np.float32(ub - 0.1 * L) - Y, bottom)
            mid = np.maximum(X - np.float32(0.1 * s), np.float32(0.08 * L) - Y)
            ys_ = _sd_strap(Y, X, (neck_x * 1.1, -0.03 * L),
                            (0.0, 0.14 * L), 0.05 * s)
            return np.maximum(np.minimum(np.minimum(main, mid), ys_), bottom)
        main = np.float32(0.13 * L) - Y
        strap = np.maximum(np.abs(X - np.float32(0.42 * s)) -
                           np.float32((0.1 + 0.06 * a.strap) * s),
                           np.float32(-0.03 * L) - Y)
        scoop = _sd_ellipse(Y, X, (0.0, -0.03 * L), 0.27 * s,
                            (0.17 + 0.12 * a.depth) * L)
        return np.maximum(np.maximum(np.minimum(main, strap), bottom), -scoop)
    if back:
        # Seen from behind: the band, and a knot at the nape or straps.
        d = band - np.float32(0.2 * sw)
        if a.cut == 'balconette':
            straps = _sd_strap(Y, X, (0.5 * s, -0.03 * L), (0.58 * s, ub),
                               sw)
            return np.minimum(d, straps)
        knot = _sd_ellipse(Y, X, (0.0, -0.08 * L), 0.05 * s, 0.03 * L)
        return np.minimum(d, knot)
    hgt = (0.14 + 0.07 * a.depth) * L
    if a.cut == 'balconette':
        cup = np.maximum(_sd_ellipse(Y, X, (0.44 * s, ub), 0.42 * s, hgt),
                         Y - np.float32(ub))
        straps = _sd_strap(Y, X, (0.5 * s, ub - 0.7 * hgt),
                           (0.52 * s, -0.03 * L), sw)
        return np.minimum(np.minimum(cup, straps), band)
    if a.cut == 'halter':
        apex = (0.38 * s, ub - 1.15 * hgt)
        cup = _sd_convex(Y, X, ((0.02 * s, ub), (0.92 * s, ub), apex))
        straps = _sd_strap(Y, X, apex, (0.7 * neck_x, -0.07 * L), 1.3 * sw)
    else:  # triangle
        apex = (0.44 * s, ub - hgt)
        cup = _sd_convex(Y, X, ((0.06 * s, ub), (0.86 * s, ub), apex))
        straps = _sd_strap(Y, X, apex, (neck_x, -0.05 * L), sw)
    return np.minimum(np.minimum(cup, straps), band)


def _one_piece_sd(X, Y, a, s, L, neck_x, back):
    AX = np.abs(X)
    leg = np.maximum(_leg_line(AX, Y, a, s, L, back),
                     Y - np.float32(_gusset(a) * L))
    sw = (0.05 + 0.07 * a.strap) * s
    if back:
        bd = 0.3 + 0.25 * a.depth
        top = (np.float32(bd * L) - AX * AX * np.float32(0.3 * L / (s * s))
               - Y)
        if a.cut == 'one-shoulder':
            straps = _sd_strap(Y, X * np.float32(1 - 2 * a.variant),
                               (-0.44 * s, -0.04 * L),
                               (0.5 * s, (bd - 0.05) * L), sw)
        else:
            straps = _sd_strap(Y, AX, (0.44 * s, -0.04 * L),
                               (0.56 * s, (bd - 0.05) * L), sw)
        return np.maximum(np.minimum(top, straps), leg)
    if a.cut == 'high-neck':
        arm = _sd_ellipse(Y, AX, (1.02 * s, 0.0), (0.5 + 0.12 * a.depth) * s,
                          0.2 * L)
        return np.maximum(np.maximum(np.float32(-0.05 * L) - Y, leg), -arm)
    if a.cut == 'one-shoulder':
        Xf = X * np.float32(1 - 2 * a.variant)
        diag = _sd_line(Y, Xf, (-1.3 * s, -0.04 * L), (1.3 * s, 0.22 * L),
                        (0.0, 0.6 * L))
        strap = np.maximum(np.abs(Xf + np.float32(0.45 * s)) -
                           np.float32(sw * 1.3), np.float32(-0.04 * L) - Y)
        return np.maximum(np.minimum(diag, strap), leg)
    top = np.minimum(np.float32(0.14 * L) - Y,
                     np.maximum(np.abs(AX - np.float32(0.45 * s)) -
                                np.float32(sw), np.float32(-0.04 * L) - Y))
    d = np.maximum(top, leg)
    if a.cut == 'plunge':
        v = _sd_line(Y, AX, (0.0, (0.4 + 0.12 * a.depth) * L),
                     (0.42 * s, -0.04 * L), (0.0, -L))
        return np.maximum(d, -v)
    neck = _sd_ellipse(Y, X, (0.0, -0.03 * L), 0.3 * s,
                       (0.2 + 0.14 * a.depth) * L)
    d = np.maximum(d, -neck)
    if a.cut == 'cut-out':
        if a.variant:
            cut = _sd_ellipse(Y, AX, (1.0 * s, 0.56 * L), 0.45 * s, 0.1 * L)
        else:
            cut = _sd_ellipse(Y, X, (0.0, 0.56 * L), 0.25 * s, 0.08 * L)
        d = np.maximum(d, -cut)
    return d


def _garment_sd(a, X, Y, s, L, neck_x, back, parts):
    if a.kind == 'one-piece':
        return _one_piece_sd(X, Y, a, s, L, neck_x, back)
    AX = np.abs(X)
    d = None
    if 'top' in parts:
        d = _top_sd(AX, Y, a, s, L, neck_x, back)
    if 'bottom' in parts:
        b = _bottom_sd(AX, Y, a, s, L, back)
        d = b if d is None else np.minimum(d, b)
    return d


def _square(p, freq, pix, duty):
    """A square wave of ``freq`` cycles per unit of ``p``, 1 on a ``duty``
    share of each cycle, with a ramp of one pixel (``pix`` units of p)."""
    q = p * np.float32(freq)
    q -= np.floor(q)
    q -= np.float32(0.5)
    tri = np.abs(q, out=q)                               # 0 .. 0.5
    tri -= np.float32(0.5 - 0.5 * duty)
    tri *= np.float32(1.0 / (freq * pix))
    tri += np.float32(0.5)
    return _clip01(tri)


def _print(a, X, Y, L, d, parts, scale):
    """Colour of a patterned (not solid) article over the box times
    ``scale``, float32 (3, h, w) or anything that broadcasts to it,
    unshaded.

    X, Y are garment coordinates in pixels; the print is laid out in torso
    lengths (P = X / L, Q = Y / L) so it scales with the garment."""
    inv = np.float32(1.0 / L)
    P = X * inv + np.float32(a.print_phase[0])
    Q = Y * inv + np.float32(a.print_phase[1])
    pix = 1.0 / L
    f = a.print_freq
    t3 = None
    if a.print == 'stripes':
        o = a.print_orient
        p = (Q, P, (P + Q) * np.float32(0.7071),
             (P - Q) * np.float32(0.7071))[o]
        t = _square(p, f, pix, a.print_duty)
    elif a.print == 'zigzag':
        q = P * np.float32(f * 0.7)
        tri = np.abs(q - np.floor(q) - np.float32(0.5))
        t = _square(Q + tri * np.float32(0.6 / f), f, pix, a.print_duty)
    elif a.print == 'checks':
        u = _square(P, f, pix, 0.5)
        v = _square(Q, f, pix, 0.5)
        t = u + v - 2 * u * v
    elif a.print == 'dots':
        q = Q * np.float32(f)
        row = np.floor(q)
        p = P * np.float32(f) + (row - 2 * np.floor(row * 0.5)) * 0.5
        fx = p - np.floor(p) - np.float32(0.5)
        fy = q - row - np.float32(0.5)
        r = np.sqrt(fx * fx + fy * fy)
        t = _clip01((np.float32(0.12 + 0.25 * a.print_duty) - r) *
                    np.float32(1.0 / (f * pix)) + np.float32(0.5))
    elif a.print == 'floral':
        # Four-petal flowers on a repeating tile, all the flowers at once
        # (on a first axis); the two petal pairs come from one distance
        # each thanks to the flower's symmetry, and a turned flower is the
        # same with its axes turned by 45 degrees.
        x0, y0, rp, petal_r, centre_r, ca, cb, cc, cd = np.array(
            [(x, y, r, 0.8 * r, 0.45 * r) + (
                (0.7071, 0.7071, 0.7071, -0.7071) if rot else (1, 0, 0, 1))
             for x, y, r, rot in a.flowers], np.float32).T.reshape(
                 9, -1, 1, 1)
        sharp = np.float32(1.0 / (f * pix))
        px = P * np.float32(f) - x0
        py = Q * np.float32(f) - y0
        px -= np.floor(px + _HALF)
        py -= np.floor(py + _HALF)
        ax = np.abs(px * ca + py * cb)
        ay = np.abs(px * cc + py * cd)
        ax2, ay2 = ax * ax, ay * ay
        ax -= rp
        ax *= ax
        ax += ay2
        ay -= rp
        ay *= ay
        ay += ax2
        dd = np.sqrt(np.minimum(ax, ay, out=ax), out=ax)
        petal = (petal_r - dd) * sharp
        petal += _HALF
        ax2 += ay2
        centre = (centre_r - np.sqrt(ax2, out=ax2)) * sharp
        centre += _HALF
        t = _clip01(petal.max(axis=0))
        t3 = _clip01(centre.max(axis=0))
    elif a.print == 'block':
        if a.kind == 'bikini' and parts != ('bottom',):
            t = _clip01(Y - np.float32(0.52 * L))
        elif a.print_orient % 2 == 0:
            t = _clip01(np.float32(0.5) - (np.abs(Q - np.float32(
                a.print_phase[1] + 0.58)) - np.float32(0.1)) * np.float32(L))
        else:
            t = _clip01((np.abs(X) - np.float32(0.24 * L)) + np.float32(0.5))
    else:  # trim: a band of colour2 along the cut edges
        t = _clip01(d + np.float32(0.04 * L + 0.5))
    col = _mix(a.colour, a.colour2, t, scale)
    if t3 is not None:
        col += (_rgb(a.colour3, scale) - col) * t3
    return col


class _Frame:
    """Where a garment goes on a body: its box, garment coordinates, the
    body's coverage (garments lie on the skin) and shading over it."""

    def __init__(self, body, size, extent, body_box, body_cov, shade):
        self.box = _intersect_box(body.garment_box(size, extent), body_box)
        if self.box is None:
            return
        self.X, self.Y = body.garment_coords(size, self.box)
        y0, x0 = self.box[0] - body_box[0], self.box[2] - body_box[2]
        h, w = self.box[1] - self.box[0], self.box[3] - self.box[2]
        self.clip = body_cov[y0:y0 + h, x0:x0 + w]
        self.shade = shade[y0:y0 + h, x0:x0 + w]
        self.L = body.L
        self.s = 0.34 * body.L
        self.neck_x = 0.85 * body.neck / body.human.shoulders * self.s

    def crop(self, box):
        """This frame over ``box`` (inside ``self.box``, or None): views,
        the same numbers as a frame made for that box."""
        frame = object.__new__(type(self))
        frame.__dict__.update(self.__dict__)
        frame.box = box
        if box is not None:
            y0, x0 = box[0] - self.box[0], box[2] - self.box[2]
            rows = slice(y0, y0 + box[1] - box[0])
            cols = slice(x0, x0 + box[3] - box[2])
            frame.X = self.X[rows, cols]
            frame.Y = self.Y[rows]
            frame.clip = self.clip[rows, cols]
            frame.shade = self.shade[rows, cols]
        return frame


def _garment_layer(frame, article, back, parts, scale=255.0):
    """The article's coverage (h, w) and colour (times ``scale``) times
    coverage (3, h, w) over ``frame.box`` (not None)."""
    X, Y, L = frame.X, frame.Y, frame.L
    d = _garment_sd(article, X, Y, frame.s, L, frame.neck_x, back, parts)
    cov = _coverage(d) * frame.clip      # d may be a column: broadcast
    shaded = frame.shade * cov
    if article.print == 'solid':
        return cov, _tint(shaded, article.colour, scale)
    colour = _print(article, X, Y, L, d, parts, scale)
    if colour.shape[1:] != shaded.shape or shaded.size < 1024:
        return cov, colour * shaded
    for k in range(3):      # see _tint
        colour[k] *= shaded
    return cov, colour


# --------------------------------------------------------------------------
# Rendering


def _to_uint8(rgb):
    """(3, H, W) floats in [0, 255] (changed in place) to an (H, W, 3)
    uint8 image, rounded.  Every layer blends colours in [0, 255] with
    weights in [0, 1], so no clipping is needed (a rounding error above
    255 still truncates to 255)."""
    rgb += _HALF
    image = np.empty(rgb.shape[1:] + (3,), dtype=np.uint8)
    # Casting plane by plane into the interleaved image costs a third of
    # one transposed copy (whose inner loop runs over 3 channels).
    for k in range(3):
        image[:, :, k] = rgb[k]
    return image


def _check_size(size):
    try:
        h, w = size
        ok = int(h) == h and int(w) == w and min(h, w) >= 16
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise SizeError('an image size is (height, width), whole numbers of '
                        'at least 16 pixels; got {!r}'.format(size))
    return int(h), int(w)


def _ellipse_part(size, c, ra, rb, sym=None):
    if sym is None:
        box = _box(size, c[1] - rb, c[1] + rb, c[0] - ra, c[0] + ra)
    else:
        box = _sym_box(size, c[1] - rb, c[1] + rb, c[0] - ra, c[0] + ra, sym)
    if box is None:
        return None, None
    return box, _sd_ellipse(*_grid(size, box, sym), c, ra, rb)


def _capsules_part(size, segs, sym=None):
    """Union of capsules [(a, b, ra, rb)], mirrored about x = sym if given:
    (box, distance field)."""
    box = None
    for a, b, ra, rb in segs:
        r = max(ra, rb)
        args = (min(a[1], b[1]) - r, max(a[1], b[1]) + r,
                min(a[0], b[0]) - r, max(a[0], b[0]) + r)
        box = _union_box(box, _box(size, *args) if sym is None else
                         _sym_box(size, *args, sym))
    if box is None:
        return None, None
    return box, _sd_segments(*_grid(size, box, sym), segs)


def _paint_part(canvas, part, colour, rim, strength=0.3):
    box, d = part
    if box is not None:
        canvas.paint_shaded(box, d, colour, rim, strength)


def _hair_parts(body, size, back):
    """Distance fields of the hair: (behind the head, over the head, over
    the garment)."""
    h = body.human
    p, u, cx = body.p, body.unit, body.cx
    style = h.hair_style
    behind, over, front = [], [], []
    if back:
        over.append(_ellipse_part(size, p(0, 0.47), 0.41 * u, 0.55 * u))
    else:
        # A cap over the top of the head, its hairline curving down at the
        # temples.
        cap_box = _box(size, body.y(-0.1), body.y(0.6), cx - 0.45 * u,
                       cx + 0.45 * u)
        if cap_box is not None:
            ys, xs = _grid(size, cap_box)
            e = _sd_ellipse(ys, xs, p(0, 0.46), 0.41 * u, 0.53 * u)
            dx = (xs - np.float32(cx)) * np.float32(1.0 / (0.4 * u))
            line = (ys - np.float32(body.y(0.22 if style != 'curly' else
                                           0.18))) - dx * dx * np.float32(
                                               0.3 * u)
            over.append((cap_box, np.maximum(e, line, out=e)))
    if style == 'bob':
        box, d = _ellipse_part(size, p(0, 0.58), 0.5 * u, 0.5 * u)
        if box is not None:
            ys, _ = _grid(size, box)
            d = np.maximum(d, ys - np.float32(body.y(1.02)))
        (over if back else behind).append((box, d))
    elif style == 'curly':
        (over if back else behind).append(
            _ellipse_part(size, p(0, 0.45), 0.62 * u, 0.6 * u))
    elif style == 'bun':
        (over if back else behind).append(
            _ellipse_part(size, p(0, -0.05), 0.22 * u, 0.2 * u))
    elif style == 'ponytail':
        if back:
            front.append(_capsules_part(size, [
                (p(0, 0.5), p(0, body.Y_SH + 0.3 + h.hair_length),
                 0.14 * u, 0.07 * u)]))
        else:
            behind.append(_ellipse_part(size, p(0.38, 0.35), 0.13 * u,
                                        0.13 * u))
    elif style == 'long':
        end = body.Y_SH + h.hair_length
        if back:
            front.append(_capsules_part(size, [
                (p(0.16, 0.5), p(0.2, end), 0.28 * u, 0.3 * u)], cx))
        else:
            behind.append(_capsules_part(size, [
                (p(0.2, 0.4), p(0.25, end), 0.3 * u, 0.28 * u)], cx))
            # Locks falling over the shoulders, in front of the garment.
            front.append(_capsules_part(size, [
                (p(0.33, 0.55), p(0.42, body.Y_SH + 0.75 * h.hair_length),
                 0.12 * u, 0.09 * u)], cx))
    return behind, over, front


def _extra_parts(body, size, which):
    """The extra garment's distance fields: those under the arms
    (``which='under'``) or over them ('over')."""
    h = body.human
    u = body.unit
    if h.extra_garment == 'shorts' and which == 'under':
        box = body.garment_box(size, (0.62, 1.4, 1.15))
        if box is None:
            return []
        ys, xs = _grid(size, box, body.cx)
        X, Y = body.garment_coords(size, box)
        torso = body.torso_sd(size, box) - np.float32(0.06 * u)
        hip, knee, _ = body.leg
        end = (hip[0] + 0.42 * (knee[0] - hip[0]),
               hip[1] + 0.42 * (knee[1] - hip[1]))
        r = body.thigh_r[0] * 1.08 + 0.04 * u
        d = np.minimum(torso, _sd_segments(ys, xs, [(hip, end, r, r * 0.9)]))
        d = np.maximum(d, np.float32(0.66 * body.L) - Y)
        return [(box, d)]
    if h.extra_garment == 'shirt':
        if which == 'under':
            box = body.garment_box(size, (-0.1, 0.97, 1.2))
            if box is None:
                return []
            X, Y = body.garment_coords(size, box)
            L = body.L
            s = 0.34 * L
            torso = body.torso_sd(size, box) - np.float32(0.07 * u)
            open_ = (np.float32(h.extra_open * s) - np.abs(X) +
                     Y * np.float32(0.12 * s / L))
            d = np.maximum(np.maximum(torso, open_), Y - np.float32(0.95 * L))
            return [(box, d)]
        sleeves = []
        for shoulder, elbow, _ in body.arms:
            end = (shoulder[0] + 0.55 * (elbow[0] - shoulder[0]),
                   shoulder[1] + 0.55 * (elbow[1] - shoulder[1]))
            sleeves.append((shoulder, end, body.arm_r[0] * 1.4,
                            body.arm_r[0] * 1.35))
        return [_capsules_part(size, sleeves)]
    return []


def _paint_face(canvas, body, size):
    """Eyes and mouth, in one dark tint of the skin (a few pixels each)."""
    u, p, cx = body.unit, body.p, body.cx
    box = _box(size, body.y(0.44), body.y(0.8), cx - 0.2 * u, cx + 0.2 * u)
    if box is None:
        return
    ys, xs = _grid(size, box, cx)       # folded: both eyes at once
    d = np.minimum(_sd_ellipse(ys, xs, p(0.13, 0.5), 0.055 * u, 0.04 * u),
                   _sd_ellipse(ys, xs, p(0, 0.76), 0.1 * u, 0.03 * u))
    tint = tuple(0.35 * c + r for c, r in zip(body.human.skin,
                                               (0.1, 0.03, 0.04)))
    canvas.paint_shaded(box, d, tint, 1.0, 0.0)


def _paint_arms(canvas, body, size):
    """Each arm as one layer over its own box, both drawn in one pass: the
    boxes padded to one shape and stacked (arm and segment, y, x)."""
    ra, rb, rc = body.arm_r
    r = max(body.arm_r)
    boxes, params = [], []
    for a, b, c in body.arms:
        box = _box(size, min(a[1], b[1], c[1]) - r, max(a[1], b[1], c[1]) + r,
                   min(a[0], b[0], c[0]) - r, max(a[0], b[0], c[0]) + r)
        if box is not None:
            boxes.append(box)
            for seg in ((a, b, ra, rb), (b, c, rb, rc)):
                ax, ay, *rest = _segment(*seg)
                # Pixel centres relative to the segment's start.
                params.append((box[2] + 0.5 - ax, box[0] + 0.5 - ay, *rest))
    if not boxes:
        return
    k = len(boxes)
    h = max(b[1] - b[0] for b in boxes)
    w = max(b[3] - b[2] for b in boxes)
    p = np.array(params, np.float32).T.reshape(9, 2 * k, 1, 1)
    d = _sd_capsules(np.arange(w, dtype=np.float32) + p[0],
                     np.arange(h, dtype=np.float32)[:, None] + p[1], p[2:])
    d = np.minimum(d[0::2], d[1::2])
    cov = _coverage(d)
    shaded = _rim(d, 0.09 * body.unit, 0.3)
    shaded *= cov
    weighted = np.empty((k, 3, h, w), dtype=np.float32)   # see _tint
    for c in range(3):
        np.multiply(shaded, _k(body.human.skin[c] * 255.0),
                    out=weighted[:, c])
    keep = _ONE - cov
    for i, box in enumerate(boxes):
        bh, bw = box[1] - box[0], box[3] - box[2]
        canvas.layer(box, keep[i, :bh, :bw], weighted[i, :, :bh, :bw])


def render_human(human, article, size):
    """Draw ``human`` wearing ``article``.

    Args:
        human (Human): who, in which pose, on which background.
        article (Article): what they wear (a bottoms-only article is worn
            with its matching top; ``article.photo`` is ignored).
        size (tuple of int): (height, width), each >= 16.

    Returns:
        tuple: ``image``, numpy uint8 (H, W, 3) RGB in [0, 255], and
        ``mask``, numpy bool (H, W), True where the garment is visible on the
        body.  Pixels outside ``mask`` do not depend on ``article``.
    """
    return _draw_human(human, article, size)


class _Figure:
    """A human drawn without a garment: the layers under it (``rgb``),
    where garments go (``frame``, for the largest extent: each garment's
    frame is a crop of it) and the layers over it (``over``, as recorded by
    :class:`_Canvas`).  The same human is drawn in another article at the
    cost of the garment alone."""

    def __init__(self, human, size):
        unit, cx, top = _placement(human, size)
        self.back = back = human.back_view
        body = self.body = _Body(human, unit, cx, top, mirror=back)
        self.size = size
        canvas = _Canvas(_background_rgb(human, size))
        u = unit
        skin, hair = human.skin, human.hair_colour
        behind, over, front = _hair_parts(body, size, back)
        for part in behind:
            _paint_part(canvas, part, hair, 0.12 * u, 0.35)
        # Skin: torso, neck and legs as one shape, darkened towards its
        # outline.
        body_box, body_d = body.body_sd(size)
        body_cov = _coverage(body_d)
        shade = _rim(body_d, 0.32 * u, 0.3)
        if not back:
            # Soft shadows under the bust, shared by skin and garment.
            c = body.p(0.42 * human.shoulders, body.Y_UB - 0.08)
            sb = _intersect_box(_sym_box(size, c[1], c[1] + 0.2 * u,
                                         c[0] - 0.4 * u, c[0] + 0.4 * u, cx),
                                body_box)
            if sb is not None:
                e = _sd_ellipse(*_grid(size, sb, cx), c, 0.36 * u,
                                (0.1 + 0.1 * human.bust) * u)
                # Darkest (by ``dark``) on the ellipse's outline, fading
                # over 0.08 units either side.
                dark = 0.1 + 0.08 * human.bust
                t = np.abs(e, out=e)
                t *= np.float32(dark / (0.08 * u))
                t += np.float32(1.0 - dark)
                np.minimum(t, _ONE, out=t)
                shade[sb[0] - body_box[0]:sb[1] - body_box[0],
                      sb[2] - body_box[2]:sb[3] - body_box[2]] *= t
        canvas.paint(body_box, body_cov, None,
                     weighted=_tint(shade * body_cov, skin))
        head = _ellipse_part(size, body.p(0, 0.5), 0.36 * u, 0.5 * u)
        _paint_part(canvas, head, skin, 0.14 * u, 0.25)
        if not back:
            _paint_face(canvas, body, size)
        for part in over:
            _paint_part(canvas, part, hair, 0.12 * u, 0.35)
        self.rgb = canvas.rgb
        self.body_box = body_box
        self.frame = _Frame(body, size, _MAX_EXTENT, body_box, body_cov,
                            shade)
        # Everything after the garment is on top of it.
        canvas.layers = self.over = []
        for part in _extra_parts(body, size, 'under'):
            _paint_part(canvas, part, human.extra_colour, 0.15 * u, 0.3)
        _paint_arms(canvas, body, size)
        for part in _extra_parts(body, size, 'over'):
            _paint_part(canvas, part, human.extra_colour, 0.15 * u, 0.3)
        for part in front:
            _paint_part(canvas, part, hair, 0.08 * u, 0.35)

    def frame_for(self, article):
        """The frame of ``article``'s garment (its extent is inside
        :data:`_MAX_EXTENT`, so its box is inside the figure's frame)."""
        box = _intersect_box(self.body.garment_box(
            self.size, _extent(article, ('top', 'bottom'))), self.body_box)
        return self.frame.crop(box)


def _draw_human(human, article, size, figure=None):
    """:func:`render_human` (the name ``write_dataset`` calls).  With
    ``figure`` (a :class:`_Figure` of ``human`` at ``size``), only the
    garment is drawn anew."""
    size = _check_size(size)
    if figure is None:
        figure = _Figure(human, size)
        rgb = figure.rgb     # drawn for this call alone: paint over it
    else:
        rgb = figure.rgb.copy()
    frame = figure.frame_for(article)
    gbox = frame.box
    if gbox is not None:
        visible, weighted = _garment_layer(frame, article, figure.back,
                                           ('top', 'bottom'))
        _blend(rgb, gbox, _ONE - visible, weighted)
    for box, keep, weighted in figure.over:
        _blend(rgb, box, keep, weighted)
        inter = _intersect_box(box, gbox)
        if inter is not None:
            # What the layer hides of the garment.
            y0, y1, x0, x1 = inter
            visible[y0 - gbox[0]:y1 - gbox[0], x0 - gbox[2]:x1 - gbox[2]] *= \
                keep[y0 - box[0]:y1 - box[0], x0 - box[2]:x1 - box[2]]
    mask = np.zeros(size, dtype=np.bool_)
    if gbox is not None:
        y0, y1, x0, x1 = gbox
        np.greater(visible, _ZERO, out=mask[y0:y1, x0:x1])
    return _to_uint8(rgb), mask


#: The body the product photo is "worn" by (a ghost mannequin: not drawn).
_MANNEQUIN = Human(
    skin=(1.0, 1.0, 1.0), hair_style='short', hair_colour=(0.0, 0.0, 0.0),
    hair_length=0.5, shoulders=0.86, bust=0.5, waist=0.56, hips=0.86,
    height=7.5, stance=0.6, arm_pose='down', arm_jitter=(0.0,) * 4,
    scale=1.0, centre=0.5, top=0.0, background='plain',
    background_colours=((1.0, 1.0, 1.0),) * 3, background_split=(0.0, 0.0))


@functools.lru_cache(maxsize=64)
def _product_frame(size, extent, zoom):
    """The mannequin's frame for a centred product photo (cached: most
    articles share one of a few extents and zooms).  Its arrays are
    read-only."""
    h, w = size
    v0, v1, uh = extent
    m = _MANNEQUIN
    L_units = _Body.Y_CROTCH - _Body.Y_SH
    unit = min(0.86 * h / ((v1 - v0) * L_units),
               0.86 * w / (2 * uh * max(m.shoulders, m.hips))) * zoom
    y_sh = h / 2 - (v0 + v1) / 2 * L_units * unit
    body = _Body(m, unit, w / 2, y_sh - _Body.Y_SH * unit)
    body_box, body_d = body.body_sd(size, legs=False)
    # Flat lay: a darkening towards the outline (white on white shows).
    frame = _Frame(body, size, extent, body_box, _coverage(body_d),
                   _rim(body_d, 0.2 * unit, 0.25))
    for name in ('X', 'Y', 'clip', 'shade'):
        if hasattr(frame, name):
            getattr(frame, name).flags.writeable = False
    return frame


def render_article(article, size):
    """Draw ``article`` flat on white: its product photo.

    Args:
        article (Article): the article (a bottoms-only article shows only
            its bottom).  ``article.photo`` = (dx, dy, zoom, gain) frames
            it: shifted by (dx * W, dy * H) rounded to whole pixels, scaled
            by ``zoom`` about the centre, brightness times ``gain``.
        size (tuple of int): (height, width), each >= 16.

    Returns:
        numpy.ndarray: uint8 (H, W, 3) RGB in [0, 255].
    """
    return _draw_article(article, size)


def _draw_article(article, size):
    """:func:`render_article` (the name ``write_dataset`` calls).  Only
    the garment's box is painted in floats, on white."""
    size = _check_size(size)
    h, w = size
    parts = ('bottom',) if article.bottoms_only else ('top', 'bottom')
    dx, dy, zoom, gain = article.photo
    frame = _product_frame(size, _extent(article, parts), zoom)
    # Brightness and the scale to bytes in one factor; white is what a
    # pixel the garment misses comes to below.
    scale = 255.0 * gain
    ceiling = np.float32(255.5)
    white = int(min(np.float32(scale) + _HALF, ceiling))
    image = np.full(size + (3,), white, dtype=np.uint8)
    if frame.box is None:
        return image
    # Whole-pixel shifts keep the few cached frames valid for every
    # position; cut what the shift pushes out of the image.
    y0, y1, x0, x1 = frame.box
    sy, sx = int(round(dy * h)), int(round(dx * w))
    t, b = max(0, -(y0 + sy)), max(0, y1 + sy - h)
    le, r = max(0, -(x0 + sx)), max(0, x1 + sx - w)
    if y1 - y0 - t - b <= 0 or x1 - x0 - le - r <= 0:
        return image
    cov, pixels = _garment_layer(frame, article, False, parts, scale)
    rows, cols = slice(t, y1 - y0 - b), slice(le, x1 - x0 - r)
    pixels = pixels[:, rows, cols]
    # White * (1 - cov) + garment, plus a half for rounding.
    white = cov[rows, cols] * np.float32(-scale)
    white += np.float32(scale) + _HALF
    if white.size < 1024:
        pixels += white
    else:
        for k in range(3):      # see _tint
            pixels[k] += white
    if gain > 1.0:
        np.minimum(pixels, ceiling, out=pixels)
    region = image[y0 + sy + t:y1 + sy - b, x0 + sx + le:x1 + sx - r]
    for k in range(3):
        region[:, :, k] = pixels[k]
    return image


# --------------------------------------------------------------------------
# Near-duplicate control


@functools.lru_cache(maxsize=1)
def _dct32():
    k = np.arange(32)[:, None]
    n = np.arange(32)[None, :]
    return np.cos(np.pi * (2 * n + 1) * k / 64.0)


def perceptual_hash(image):
    """The 64-bit DCT perceptual hash of an image (as ``imagehash.phash``):
    grey levels resized to 32x32, the 8x8 lowest frequencies of their DCT
    compared with their median.

    Args:
        image (numpy.ndarray): uint8 (H, W, 3) RGB.

    Returns:
        int: the hash in [0, 2**64); near-identical images have hashes a few
        bits apart (count them with ``bin(a ^ b).count('1')``).
    """
    grey = Image.fromarray(image).convert('L').resize((32, 32),
                                                      Image.LANCZOS)
    c = _dct32()
    low = (c @ np.asarray(grey, dtype=np.float64) @ c.T)[:8, :8]
    bits = (low > np.median(low)).ravel()
    return int.from_bytes(np.packbits(bits).tobytes(), 'big')


def difference_hash(image):
    """The 64-bit difference hash of an image (as ``imagehash.dhash``):
    grey levels resized to 9x8, each pixel compared with its right-hand
    neighbour.

    Args:
        image (numpy.ndarray): uint8 (H, W, 3) RGB.

    Returns:
        int: the hash in [0, 2**64).
    """
    grey = np.asarray(Image.fromarray(image).convert('L').resize(
        (9, 8), Image.LANCZOS), dtype=np.int16)
    bits = (grey[:, 1:] > grey[:, :-1]).ravel()
    return int.from_bytes(np.packbits(bits).tobytes(), 'big')


def _design(article):
    """What makes an article look like itself: a key (cut, print, ...) and
    a vector (its colours that show, in RGB, then its print's scale)."""
    a = article
    # Triangle and halter tops differ too little to tell apart on a pale
    # article; a bottom sold alone shows no top at all.
    top = None if a.bottoms_only else {'halter': 'triangle'}.get(a.cut, a.cut)
    key = (a.kind, top, a.bottom, a.print, a.bottoms_only)
    if a.cut in ('cut-out', 'one-shoulder'):
        key += (a.variant,)
    if a.print == 'stripes':
        key += (a.print_orient,)
    elif a.print == 'block':
        key += (a.print_orient % 2,)
    colours = (a.colour,) if a.print == 'solid' else (a.colour, a.colour2)
    scale = math.log(a.print_freq) if a.print in _PRINT_FREQ else None
    return key, (colours, scale)


class _Designs:
    """The designs of the distinct articles written so far.  A new article
    is too similar to an old one when it has the same cut and print and
    every colour within :data:`_MIN_COLOUR` (RGB distance in [0, 1]) and
    its print's scale within 20%: the two would pass for the same product
    photographed twice."""

    def __init__(self):
        self.by_key = {}

    def too_close(self, article):
        """How close ``article`` comes to a stored design: 0 (far enough
        from all) .. 1 (the same design)."""
        key, (colours, scale) = _design(article)
        closest = 0.0
        for old_colours, old_scale in self.by_key.get(key, ()):
            # How far apart, in units of "clearly different".
            far = max(math.dist(c, o) for c, o in zip(colours, old_colours)
                      ) / _MIN_COLOUR
            if scale is not None:
                far = max(far, abs(scale - old_scale) / 0.2)
            closest = max(closest, 1.0 - far)
        return closest

    def add(self, article):
        key, design = _design(article)
        self.by_key.setdefault(key, []).append(design)


# --------------------------------------------------------------------------
# Writing a dataset

# Streams of randomness: pair i of a split draws everything (human, article,
# re-draws, re-shot) from default_rng([seed, SPLIT, i]).  Only an article's
# re-draws look back (at the designs written before it), so no pair depends
# on how many come after it: a longer run starts with a shorter one.
_TRAIN, _TEST, _FLAGS = 1, 2, 3
_GOLDEN = 0.6180339887498949
_MIN_COLOUR = 0.3     # distinct articles of one design: colours this apart
_ARTICLE_DRAWS = 8
_DUP_MAX_HASH = 4     # a re-shot: perceptual hashes at most this apart


@dataclass
class SyntheticSet:
    """What :func:`write_dataset` wrote.

    Attributes:
        out (str): the dataset folder.
        size (tuple of int): (height, width).
        seed (int): the seed.
        train (list): (Pair, Human, Article) per line of ``pairs.txt``.
        test (list): (Pair, Human, Article) per line of ``test/pairs.txt``.
        truth (list): the rows of ``test/truth.txt``, tuples of six paths
            relative to ``test/``.
        seconds (float): wall time of the whole run.
    """

    out: str
    size: tuple
    seed: int
    train: list
    test: list
    truth: list
    seconds: float

    @property
    def rate(self):
        """Pairs (training and test) written per second."""
        return (len(self.train) + len(self.test)) / max(self.seconds, 1e-9)

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
    """Writes images atomically (:func:`cagan.data.layout.write_bytes_atomic`)
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
        write_bytes_atomic(path, _png_bytes(array))


def _png_bytes(array):
    """A PNG file (8-bit RGB or grey, no filter, zlib level 1) of a uint8
    (H, W, 3) image or a bool (H, W) mask, as bytes.

    Written by hand because Pillow's encoder tries every row filter and
    takes about 1.2 ms per 128x96 image, a third of the time per pair; this
    takes about 0.3 ms, nearly all of it zlib's. Any PNG reader reads it;
    the bytes depend only on the array and zlib.
    """
    h, w = array.shape[:2]
    if array.dtype == np.bool_:
        colour_type = 0
        rows = np.empty((h, 1 + w), np.uint8)
        np.multiply(array.view(np.uint8), np.uint8(255), out=rows[:, 1:])
    else:
        colour_type = 2
        rows = np.empty((h, 1 + 3 * w), np.uint8)
        rows[:, 1:] = array.reshape(h, 3 * w)
    rows[:, 0] = 0  # filter byte 0: none

    def chunk(tag, data):
        return (struct.pack('>I', len(data)) + tag + data
                + struct.pack('>I', zlib.crc32(tag + data)))

    return (b'\x89PNG\r\n\x1a\n'
            + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, colour_type,
                                         0, 0, 0))
            + chunk(b'IDAT', zlib.compress(rows, 1))
            + chunk(b'IEND', b''))


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


def write_dataset(out, pairs, size=(128, 96), seed=0, test_pairs=64,
                  progress=None, framing='full'):
    """Write a synthetic dataset in the layout of ``data/README.md``.

    ``out/humans/hNNNNNN.png`` (x_i), ``out/articles/aNNNNNN.png`` (y_i) and
    ``out/pairs.txt``, with about 8% ``back_view``, 5% ``extra_garment``, 5%
    ``bottoms_only`` and 4% ``dup_of`` pairs planted and flagged; and
    ``out/test/`` (no flagged cases) with ``truth/`` and ``truth.txt``: for
    each test human, another test article and the true image of the human
    wearing it, with both garment masks (8-bit PNG, 255 inside).  Apart
    from the planted duplicates, no two articles (test ones included) share
    a design (cut and print) in colours closer than :data:`_MIN_COLOUR`: an
    article too close to one written before is redrawn.  Every file is
    written atomically; list files are removed first and ``pairs.txt`` is
    written last, so an interrupted run leaves no list naming a missing or
    stale image.

    Args:
        out (str or os.PathLike): the dataset folder (created if needed).
        pairs (int): training pairs, >= 1.
        size (tuple of int): (height, width) of every image, each >= 16.
        seed (int): >= 0; the same seed gives byte-identical files.
        test_pairs (int): test pairs, 0 (no test split) or >= 2.
        progress (callable or None): called as ``progress(done, total)``
            now and then while the training pairs are written.
        framing (str): a key of :data:`FRAMINGS`; the same seed draws the
            same people and articles in every framing.

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
    if (not isinstance(test_pairs, (int, np.integer)) or test_pairs < 0 or
            test_pairs == 1):
        raise CaganError('test pairs must be 0 or a whole number >= 2 (each '
                         'test human swaps to another test article); got '
                         '{!r}'.format(test_pairs))
    out = os.fspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise CaganError('{}: exists and is not a folder'.format(out))
    seed, pairs, test_pairs = int(seed), int(pairs), int(test_pairs)
    _framing(framing)  # refuse an unknown framing before writing
    folders = ['humans', 'articles']
    if test_pairs:
        folders += ['test/humans', 'test/articles', 'test/truth']
    for folder in folders:
        os.makedirs(os.path.join(out, folder), exist_ok=True)
    # Lists go first, so readers never pair old lists with new images.
    for name in ('pairs.txt', 'test/pairs.txt', 'test/truth.txt'):
        path = os.path.join(out, name)
        if os.path.isfile(path):
            os.unlink(path)
    writer = _Writer()
    seen = _Designs()
    test, truth = _write_test(out, size, seed, test_pairs, writer, seen,
                              framing)
    train = _write_train(out, size, seed, pairs, writer, seen, progress,
                         framing)
    write_pairs(os.path.join(out, 'pairs.txt'), [t[0] for t in train])
    return SyntheticSet(out, size, seed, train, test, truth,
                        time.perf_counter() - start)


def _name(prefix, i):
    return '{}{:06d}.png'.format(prefix, i)


def _write_test(out, size, seed, n, writer, seen, framing):
    items, swaps = [], []
    for i in range(n):
        rng = np.random.default_rng([seed, _TEST, i])
        human = frame(sample_human(rng, back_view=False,
                                   extra_garment=False), framing)
        article = _new_article(rng, seen)
        items.append((Pair(_name('h', i), _name('a', i)), human, article))
        # Swap to another test article (all are distinct by design).
        j = _Draws(rng).index(n - 1)
        swaps.append(j + (j >= i))
    rows = []
    for (pair, human, article), j in zip(items, swaps):
        other = items[j][0].article
        stem = pair.human[:-4]
        row = ('humans/' + pair.human, 'articles/' + pair.article,
               'articles/' + other,
               'truth/{}_{}'.format(stem, other),
               'truth/{}_{}_mask.png'.format(stem, pair.article[:-4]),
               'truth/{}_{}_mask.png'.format(stem, other[:-4]))
        # The human drawn once, dressed twice.
        figure = _Figure(human, size)
        x, mask = _draw_human(human, article, size, figure)
        x_ij, mask_j = _draw_human(human, items[j][2], size, figure)
        for k, image in ((0, x), (1, _draw_article(article, size)),
                         (3, x_ij), (4, mask), (5, mask_j)):
            writer.later(os.path.join(out, 'test', row[k]), image)
        rows.append(row)
    writer.flush()
    if n:
        write_pairs(os.path.join(out, 'test', 'pairs.txt'),
                    [t[0] for t in items])
        write_text_atomic(
            os.path.join(out, 'test', 'truth.txt'),
            '# X_I Y_I Y_J X_IJ MASK_I MASK_J (paths relative to test/)\n' +
            ''.join(' '.join(r) + '\n' for r in rows))
    return items, rows


def _write_train(out, size, seed, n, writer, seen, progress, framing):
    offset = float(np.random.default_rng([seed, _FLAGS]).random())
    flags = [_planted_flag(offset, i) for i in range(n)]
    items = []
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
                                   extra_garment=flag == 'extra_garment'),
                      framing)
        if original is not None:
            article, y = _reshoot(rng, original[2], size)
            pair = Pair(_name('h', i), _name('a', i),
                        dup_of=original[0].article)
        else:
            article = _new_article(rng, seen,
                                   bottoms_only=flag == 'bottoms_only')
            y = _draw_article(article, size)
            pair = Pair(_name('h', i), _name('a', i),
                        frozenset([flag]) if flag else frozenset())
        x, _ = _draw_human(human, article, size)
        writer.later(os.path.join(out, 'humans', pair.human), x)
        writer.later(os.path.join(out, 'articles', pair.article), y)
        items.append((pair, human, article))
        if progress is not None and ((i + 1) % 500 == 0 or i + 1 == n):
            writer.flush()
            progress(i + 1, n)
    writer.flush()
    return items
