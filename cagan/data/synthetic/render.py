"""Rendering: a human wearing an article, with the garment's mask
(:func:`render_human`), and an article's product photo
(:func:`render_article`).
"""

import functools

import numpy as np

from cagan.data.synthetic.body import _Body, _placement
from cagan.data.synthetic.fields import (_HALF, _ONE, _ZERO, _box, _coverage,
                                         _grid, _intersect_box, _k, _rim,
                                         _sd_capsules, _sd_ellipse,
                                         _sd_segments, _segment, _sym_box,
                                         _union_box)
from cagan.data.synthetic.garments import (_MAX_EXTENT, _Frame, _extent,
                                           _garment_layer)
from cagan.data.synthetic.painter import (_Canvas, _background_rgb, _blend,
                                          _tint)
from cagan.data.synthetic.params import Human
from cagan.errors import SizeError


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
    :class:`~cagan.data.synthetic.painter._Canvas`).  The same human is
    drawn in another article at the cost of the garment alone."""

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
        :data:`~cagan.data.synthetic.garments._MAX_EXTENT`, so its box is
        inside the figure's frame)."""
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
