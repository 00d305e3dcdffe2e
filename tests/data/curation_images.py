"""Tiny images for the curation's tests: product photos and people drawn
with Pillow, re-shot (shifted, zoomed, brighter, re-encoded) on demand."""

import io

import numpy
from PIL import Image, ImageDraw

RED, BLUE, GREEN, YELLOW = (200, 30, 40), (30, 60, 200), (40, 160, 60), (230, 200, 40)
PURPLE, ORANGE, TEAL, BLACK = (120, 40, 150), (230, 110, 30), (20, 150, 150), (25, 25, 25)

CUTS = {
    'one': [(-20, -35), (-12, -35), (-8, -10), (8, -10), (12, -35), (20, -35),
            (22, 20), (6, 35), (-6, 35), (-22, 20)],
    'top': [(-25, -25), (25, -25), (22, -5), (-22, -5)],
    'bottom': [(-25, 5), (25, 5), (8, 30), (-8, 30)],
    'halter': [(0, -35), (18, -5), (22, 30), (-22, 30), (-18, -5)],
}


def article(colour, cuts=('one',), size=(96, 80), shift=(0, 0), scale=1.0,
            stripes=None, bg=(240, 240, 240)):
    """A product photo: garment polygons of one colour on a plain background,
    RGB (H, W) = ``size``; ``shift`` (x, y, pixels) and ``scale`` move the
    garment. Drawn 4x larger and reduced, so edges are anti-aliased like a
    photo's."""
    k = 4
    h, w = size[0] * k, size[1] * k
    im = Image.new('RGB', (w, h), bg)
    d = ImageDraw.Draw(im)
    cx, cy = w / 2 + shift[0] * k, h / 2 + shift[1] * k
    s = scale * min(h, w) / 80
    for cut in cuts:
        d.polygon([(cx + x * s, cy + y * s) for x, y in CUTS[cut]], fill=colour)
    if stripes:
        for y in range(-30, 31, 10):
            d.line([(cx - 25 * s, cy + y * s), (cx + 25 * s, cy + y * s)],
                   fill=stripes, width=2 * k)
    return im.resize(size[::-1], Image.Resampling.BOX)


def human(bg, skin, suit, size=(110, 70), dx=0):
    """A person photo: head and body of one skin colour wearing a garment,
    on a background of colour ``bg``, RGB (H, W) = ``size``."""
    h, w = size
    im = Image.new('RGB', (w, h), bg)
    d = ImageDraw.Draw(im)
    cx = w // 2 + dx
    d.ellipse([cx - 7, 4, cx + 7, 18], fill=skin)
    d.rectangle([cx - 10, 18, cx + 10, 76], fill=skin)
    d.rectangle([cx - 10, 34, cx + 10, 54], fill=suit)
    return im


def brighter(im, factor):
    a = numpy.asarray(im, dtype=numpy.float32) * factor
    return Image.fromarray(numpy.clip(a, 0, 255).astype(numpy.uint8))


def rejpeg(im, quality=75):
    buf = io.BytesIO()
    im.save(buf, 'JPEG', quality=quality)
    buf.seek(0)
    with Image.open(buf) as j:
        return j.convert('RGB')


def png_bytes(im):
    buf = io.BytesIO()
    im.save(buf, 'PNG')
    return buf.getvalue()
