"""Distance fields, boxes and the small array helpers every drawing uses.

Coordinates: ys (h, 1) and xs (1, w) pixel centres, so most intermediate
values are a row or a column and only the last few operations touch the
whole box.  Distances are in pixels, negative inside.
"""

import functools
import math

import numpy as np

# The clip ufunc and the compiled interp (the painter and the body use it):
# the Python wrappers of ``np.clip`` and ``np.interp`` cost more than the
# work on the small arrays drawn here.
try:                                              # NumPy >= 1.26
    from numpy._core.multiarray import interp as _interp  # noqa: F401
    from numpy._core.umath import clip as _clip
except ImportError:
    from numpy.core.multiarray import interp as _interp  # noqa: F401
    from numpy.core.umath import clip as _clip


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
