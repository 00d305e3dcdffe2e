"""Body geometry, in pixels: the figure's outline, legs and arms, garment
coordinates over it, and how a figure sits in the frame
(:data:`FRAMINGS`).
"""

import dataclasses
import math

import numpy as np

from cagan.data.synthetic.fields import _box, _grid, _interp
from cagan.errors import CaganError


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
#: the drawn :class:`~cagan.data.synthetic.params.Human`. ``'full'``: the
#: whole figure, head to feet (the swimwear covers about 5% of the image);
#: ``'thigh'``: head to mid-thigh, the framing of the CAGAN paper's shop
#: photos, where it covers about twice as much.
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
