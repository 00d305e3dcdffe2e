"""Image sizes: ``(height, width)`` from a number, a pair or ``'HxW'`` text."""

from cagan.errors import SizeError


def as_size(size):
    """Return ``size`` as a ``(height, width)`` tuple of ints.

    Args:
        size (int or pair of int): ``256`` means 256x256; ``(128, 96)`` means
            height 128, width 96.

    Raises:
        cagan.errors.SizeError: anything else.
    """
    if isinstance(size, int) and not isinstance(size, bool):
        size = (size, size)
    try:
        height, width = (int(s) for s in size)
        if (height, width) != tuple(size):
            raise ValueError
    except (TypeError, ValueError):
        raise SizeError(
            'image size must be an int or a (height, width) pair of ints, '
            'got {!r}'.format(size)) from None
    return height, width


def parse_size(text):
    """``'HxW'`` (e.g. ``'128x96'``, ``'256X256'``) to ``(height, width)``.

    Raises:
        ValueError: not two positive whole numbers joined by ``x``.
    """
    parts = str(text).lower().split('x')
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError('a size is HxW, e.g. 128x96; got {!r}'.format(text))
    height, width = (int(p) for p in parts)
    if height < 1 or width < 1:
        raise ValueError('a size is positive, got {!r}'.format(text))
    return height, width
