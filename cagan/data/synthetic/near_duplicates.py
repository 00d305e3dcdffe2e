"""Near-duplicate control: perceptual hashes (a re-shot must stay close to
its original) and the designs written so far (distinct articles must stay
clearly apart).
"""

import functools
import math

import numpy as np
from PIL import Image

from cagan.data.synthetic.params import _PRINT_FREQ

#: Distinct articles of one design are at least this far apart in every
#: colour (RGB distance in [0, 1]).
_MIN_COLOUR = 0.3


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
