"""The painter: a float32 canvas painted layer by layer, exact where a
layer's coverage is 0 or 1 (:class:`_Canvas`), colours scaled to bytes,
and the backgrounds.
"""

import numpy as np

from cagan.data.synthetic.fields import (_ONE, _axes, _coverage, _interp,
                                         _k, _rim)


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
