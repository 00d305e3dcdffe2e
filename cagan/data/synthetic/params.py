"""What a synthetic human and article are: frozen drawing parameters and
their random draws (:func:`sample_human`, :func:`sample_article`), each
from a ``numpy.random.Generator`` the caller gives.
"""

import colorsys
from dataclasses import dataclass

from cagan.errors import CaganError

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


def _background(d, style):
    kind = d.pick(style.backgrounds)

    def muted():
        return _hsv(d.u(), d.u(*style.background_saturation),
                    d.u(*style.background_value))

    if kind == 'beach':
        colours = (_hsv(d.u(0.55, 0.62), d.u(0.2, 0.5), d.u(0.85, 1.0)),
                   _hsv(d.u(0.5, 0.6), d.u(0.5, 0.85), d.u(0.5, 0.8)),
                   _hsv(d.u(0.09, 0.13), d.u(0.25, 0.45), d.u(0.75, 0.95)))
        split = (d.u(0.2, 0.45), d.u(0.5, 0.8))
    elif kind == 'wall':
        floor = _hsv(d.u(0.05, 0.12), d.u(0.2, 0.5), d.u(0.3, 0.7))
        colours = (muted(), floor, tuple(c * 0.8 for c in floor))
        split = (d.u(0.68, 0.88), 0.0)
    elif style.gradient is not None:
        # A studio backdrop: one colour, a touch darker towards the floor
        # (a 'vertical' ramp runs from the first colour to the second).
        top = muted()
        dim = d.u(*style.gradient)
        colours = (top, tuple(c * dim for c in top), top)
        split = (0.0, 0.0)
    else:
        colours = (muted(), muted(), muted())
        split = (0.0, 0.0)
    return kind, colours, split


@dataclass(frozen=True)
class Style:
    """The look of the photos of people: the ranges their random draws
    take (a person's own looks, build and clothes do not depend on it).
    Ranges are ``(low, high)`` of uniform draws.

    Attributes:
        backgrounds (tuple of str): kinds drawn, equally likely, from
            :data:`BACKGROUNDS`.
        background_saturation, background_value (tuple of float): HSV
            saturation and value of the plain colours of a background, in
            [0, 1].
        gradient (tuple of float or None): a 'vertical' background's
            bottom colour is its top colour times a factor drawn in this
            range (a faint studio gradient); None: two colours drawn
            independently.
        arm_poses (tuple of str): poses drawn, equally likely, from
            :data:`ARM_POSES`.
        arm_jitter (float): hand targets move by up to this fraction of
            0.12 head heights, in [0, 1].
        stance (tuple of float): 0 (feet together) .. 1 (apart).
        scale (tuple of float): figure height / image height, before the
            framing (:data:`~cagan.data.synthetic.body.FRAMINGS`).
        centre (float): largest offset of the body's centre line from the
            middle, a fraction of the width.
        top (tuple of float): the top of the head, a fraction of the
            height, before the framing.
    """

    backgrounds: tuple
    background_saturation: tuple
    background_value: tuple
    gradient: tuple
    arm_poses: tuple
    arm_jitter: float
    stance: tuple
    scale: tuple
    centre: float
    top: tuple


#: The looks of :func:`sample_human`. ``'street'``: people anywhere (plain,
#: gradient, beach and wall backgrounds; any pose, arms raised or out
#: included; zoomed and placed freely). ``'catalogue'``: a shop's studio
#: photos, as the reference article's IQON and the CAGAN paper's Zalando
#: images: a light, near-uniform backdrop with at most a faint gradient, a
#: centred, standing, front-facing model with arms down or at the hips,
#: and nearly the same zoom and placement in every photo.
STYLES = {
    'street': Style(
        backgrounds=BACKGROUNDS, background_saturation=(0.05, 0.4),
        background_value=(0.45, 0.95), gradient=None, arm_poses=ARM_POSES,
        arm_jitter=1.0, stance=(0.0, 1.0), scale=(0.8, 1.25), centre=0.08,
        top=(0.02, 0.08)),
    'catalogue': Style(
        backgrounds=('plain', 'vertical'), background_saturation=(0.0, 0.06),
        background_value=(0.88, 0.98), gradient=(0.9, 0.97),
        arm_poses=('down', 'hips', 'hip-down'), arm_jitter=0.25,
        stance=(0.15, 0.45), scale=(0.95, 1.0), centre=0.01,
        top=(0.04, 0.05)),
}


def _style(style):
    """A :class:`Style`, or the one of :data:`STYLES` named ``style``."""
    if isinstance(style, Style):
        return style
    try:
        return STYLES[style]
    except (KeyError, TypeError):
        raise CaganError('style must be one of {}; got {!r}'.format(
            ', '.join(STYLES), style)) from None


def sample_human(rng, back_view=None, extra_garment=None, style='street'):
    """Draw a random :class:`Human`.

    Args:
        rng (numpy.random.Generator): the only source of randomness.
        back_view (bool or None): turned away; None draws it (8%).
        extra_garment (bool or None): wears an open shirt or shorts over the
            swimwear; None draws it (5%).
        style (str or Style): a key of :data:`STYLES` or a :class:`Style`:
            the ranges of the background, pose and placement draws.

    Returns:
        Human: frozen parameters; render with
        :func:`~cagan.data.synthetic.render.render_human`.

    Raises:
        cagan.errors.CaganError: an unknown style.
    """
    look = _style(style)
    d = _Draws(rng)
    skin = _colour_from_palette(d, _SKIN, 0.03)
    hair_style = d.pick(HAIR_STYLES)
    tint = d.u(0.85, 1.15)
    hair = tuple(_clip_unit(c / 255.0 * tint)
                 for c in d.pick(_HAIR, _HAIR_WEIGHTS))
    build = d.u()  # slim .. curvy
    background, colours, split = _background(d, look)
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
        skin=skin, hair_style=hair_style, hair_colour=hair,
        hair_length=d.u(0.3, 1.3),
        shoulders=d.u(0.8, 0.92),
        bust=_clip_unit(0.7 * build + 0.3 * d.u()),
        waist=0.47 + 0.13 * build + 0.04 * d.u(),
        hips=0.74 + 0.2 * build + 0.05 * d.u(),
        height=d.u(7.0, 8.0),
        stance=d.u(*look.stance),
        arm_pose=d.pick(look.arm_poses),
        arm_jitter=tuple(d.u(-look.arm_jitter, look.arm_jitter)
                         for _ in range(4)),
        scale=d.u(*look.scale),
        centre=0.5 + d.u(-look.centre, look.centre),
        top=d.u(*look.top),
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
        Article: frozen parameters; render with
        :func:`~cagan.data.synthetic.render.render_article`.
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
