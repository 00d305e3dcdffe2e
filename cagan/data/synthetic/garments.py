"""Garments: their cuts as distance fields in body coordinates, their
prints in garment coordinates, and their layer over a body
(:class:`_Frame`, :func:`_garment_layer`).
"""

import numpy as np

from cagan.data.synthetic.fields import (_HALF, _clip01, _coverage,
                                         _intersect_box, _sd_convex,
                                         _sd_ellipse, _sd_line, _sd_strap)
from cagan.data.synthetic.painter import _mix, _rgb, _tint


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
