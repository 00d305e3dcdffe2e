"""Image sizes: ``(height, width)`` from a number, a pair or ``'HxW'`` text,
and the sizes and widths the networks can take."""

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


def check_width(net, ch):
    """Refuse a base width ``ch`` that is not a positive multiple of 8."""
    if isinstance(ch, bool) or not isinstance(ch, int) or ch < 8 or ch % 8:
        raise SizeError(
            '{}: ch must be a positive multiple of 8 (layers use ch/8, ch/4, '
            'ch/2 and ch channels; the reference article used 512), got {!r}'
            .format(net, ch))


def check_size(net, size, n_down, multiple):
    """Refuse image sizes the network cannot take; return the bottleneck.

    Every convolution has kernel 4, stride 2 and padding 1, so it maps a side
    of n pixels to n // 2. Instance normalization of a 1-pixel map outputs
    its bias whatever the input, so the deepest normalised map must have at
    least two pixels.

    Args:
        net (str): network name for the message.
        size (int or pair of int): image size, see :func:`as_size`.
        n_down (int): number of stride-2 convolutions.
        multiple (int): height and width must be multiples of this.

    Returns:
        tuple of int: (height, width) of the deepest feature map.
    """
    height, width = as_size(size)
    bottom = (height >> n_down, width >> n_down)
    if (height % multiple or width % multiple or height <= 0 or width <= 0
            or bottom[0] * bottom[1] < 2):
        raise SizeError(
            '{}: cannot take {}x{} images: height and width must be positive '
            'multiples of {} ({} stride-2 convolutions) and leave a bottleneck '
            'of at least 2 pixels, e.g. 256x256 (the reference article) or 128x96 (the '
            'paper)'.format(net, height, width, multiple, n_down))
    return bottom
