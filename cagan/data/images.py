"""Reading photos and fitting them to the networks' input size.

Arrays here are ``uint8`` RGB ``(H, W, 3)`` (as stored) or float32 RGB
``(3, H, W)`` in [0, 1] (as the networks take them).
"""

import contextlib
import os
import re
import threading
import warnings
from dataclasses import dataclass

import numpy
from PIL import Image, ImageOps, UnidentifiedImageError

from cagan.errors import CaganError, ImageError, PixelLimitError

#: Smallest side accepted: below this a photo holds no usable detail.
MIN_SIDE = 8

#: Most pixels (width x height) an image may have to be decoded, unless
#: :data:`MAX_PIXELS_VARIABLE` says otherwise: above every phone camera (up
#: to 108 Mpx), below Pillow's own refusal at ``2 * Image.MAX_IMAGE_PIXELS``
#: (about 179 Mpx). A small file can declare a huge image (a "decompression
#: bomb": 40000x40000 one-bit pixels are 194 KB of PNG and 1.6 GB decoded),
#: so the size is checked from the header, before any decoding.
MAX_PIXELS = 120_000_000
#: The environment variable that overrides :data:`MAX_PIXELS`.
MAX_PIXELS_VARIABLE = 'CAGAN_MAX_PIXELS'

# Serialises warnings.catch_warnings (process-wide state) between the
# dataset's decoding threads; held only while a header is read.
_OPEN_LOCK = threading.Lock()


def max_pixels():
    """The most pixels an image may have: ``$CAGAN_MAX_PIXELS`` when set,
    else :data:`MAX_PIXELS`. Read at each call.

    Raises:
        cagan.errors.CaganError: the variable is set to anything but a
            positive whole number.
    """
    text = os.environ.get(MAX_PIXELS_VARIABLE)
    if text is None:
        return MAX_PIXELS
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise CaganError('{} must be a positive whole number of pixels '
                         '(default {}), got {!r}'.format(
                             MAX_PIXELS_VARIABLE, MAX_PIXELS, text))
    return value


def _too_many(path, shape, pixels, limit):
    """The one-line refusal; ``shape`` is (height, width) or None."""
    what = ('{}x{} pixels ({})'.format(shape[0], shape[1], pixels) if shape
            else '{} pixels'.format(pixels))
    return PixelLimitError(
        '{}: {} is over the limit of {} pixels; set {} to a larger number '
        'to read it'.format(path, what, limit, MAX_PIXELS_VARIABLE))


def _refused(path, error, limit):
    """Pillow's ``DecompressionBombError`` (an image past its own limit,
    refused at open) as our one-line error. Pillow names only the pixel
    count."""
    found = re.search(r'\((\d+) pixels\)', str(error))
    if found:
        return _too_many(path, None, int(found.group(1)), limit)
    return PixelLimitError('{}: too many pixels ({}); set {} to a larger '
                           'number to read it'.format(
                               path, str(error).splitlines()[0],
                               MAX_PIXELS_VARIABLE))


@contextlib.contextmanager
def open_image(path):
    """Open an image file, refusing it before decoding if it is too large.

    Every reader of image files goes through here. Only the header is read
    (``Image.open``); an image of more than :func:`max_pixels` pixels is
    refused before anything decodes it. Pillow's own
    ``DecompressionBombWarning`` is silenced (this check replaces it) and its
    ``DecompressionBombError`` becomes the same one-line error. Other
    failures (a missing file, not an image, a damaged one) are Pillow's and
    Python's exceptions, for the caller to word.

    Use ``with open_image(path) as image:``; the file is closed on leaving.

    Args:
        path (str or os.PathLike): the image file.

    Yields:
        PIL.Image.Image: the opened, not yet decoded, image.

    Raises:
        cagan.errors.PixelLimitError: more pixels than the limit, one line
            naming the file, its size, the limit and how to raise it.
        cagan.errors.CaganError: a bad ``CAGAN_MAX_PIXELS``.
    """
    limit = max_pixels()
    cap = Image.MAX_IMAGE_PIXELS
    if cap is not None and limit > 2 * cap:
        # Pillow refuses images of more than twice MAX_IMAGE_PIXELS; that
        # module variable is its documented knob, and the user asked for
        # larger images. Only ever raised here, never lowered.
        Image.MAX_IMAGE_PIXELS = limit
    try:
        with _OPEN_LOCK, warnings.catch_warnings():
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError as e:
        raise _refused(path, e, limit) from None
    with image:
        pixels = image.width * image.height
        if pixels > limit:
            raise _too_many(path, (image.height, image.width), pixels,
                            limit)
        try:
            yield image
        except Image.DecompressionBombError as e:
            # A frame or tile of a multi-part file (GIF, TIFF) past
            # Pillow's limit, found while decoding.
            raise _refused(path, e, limit) from None


def read_image(path):
    """Open an image file, decode all of it and turn it upright.

    The one function that decodes image files: :func:`load_rgb` and the
    curation's checks read through it. It opens them with
    :func:`open_image`, so an image over the pixel limit is refused before
    decoding.

    Args:
        path (str or os.PathLike): the image file.

    Returns:
        tuple: the image (``PIL.Image.Image``, fully loaded, the file
        closed, the EXIF orientation applied, in the file's own mode) and
        that mode (str) as the header gave it, before decoding.

    Raises:
        cagan.errors.PixelLimitError: more pixels than :func:`max_pixels`.
        cagan.errors.CaganError: a bad ``CAGAN_MAX_PIXELS``.
        Exception: what Pillow and Python raise for a file that cannot be
            read or decoded (``FileNotFoundError``,
            ``UnidentifiedImageError``, ``OSError``, ``SyntaxError``, ...),
            for the caller to word.
    """
    with open_image(path) as image:
        mode = image.mode
        image.load()
        return ImageOps.exif_transpose(image), mode


def load_rgb(path, background=(255, 255, 255), min_side=MIN_SIDE,
             quiet=False):
    """Read any common photo as RGB, upright.

    Handles JPEG, PNG, WebP, ...; RGB, RGBA and LA (composited over
    ``background``), grayscale, palette (with or without transparency), CMYK
    and 16-bit images; applies the EXIF orientation.

    Args:
        path (str or pathlib.Path): the image file.
        background (tuple of int): RGB drawn behind transparent pixels.
        min_side (int): smallest side accepted, in pixels (0: any size).
        quiet (bool): silence Pillow's warnings (remarks on odd EXIF
            blocks, ...) while reading, for tools that read thousands of
            photos; failures still raise. The filter is process-wide
            (``warnings.catch_warnings``): not for several threads at once.

    Returns:
        numpy.ndarray: uint8 ``(H, W, 3)``.

    Raises:
        cagan.errors.ImageError: one line naming the file and the problem
            (missing, a directory, not an image, truncated, too small, more
            pixels than :func:`max_pixels`: a
            :class:`~cagan.errors.PixelLimitError`, found before decoding).
        cagan.errors.CaganError: a bad ``CAGAN_MAX_PIXELS``.
    """
    def fail(reason):
        return ImageError('{}: {}'.format(path, reason))

    with warnings.catch_warnings() if quiet else contextlib.nullcontext():
        if quiet:
            warnings.simplefilter('ignore')
        try:
            image, _ = read_image(path)
        except FileNotFoundError:
            raise fail('no such file') from None
        except IsADirectoryError:
            raise fail('is a directory, not an image') from None
        except UnidentifiedImageError:
            raise fail('not an image Pillow can read') from None
        except (OSError, SyntaxError, ValueError) as e:
            raise fail('damaged or truncated image ({})'.format(
                str(e).splitlines()[0] if str(e) else type(e).__name__)
            ) from None
        if min(image.size) < min_side:
            raise fail('too small ({}x{}; at least {} pixels a side)'.format(
                image.height, image.width, min_side))
        return numpy.asarray(to_rgb(image, background))


def to_rgb(image, background=(255, 255, 255)):
    """A Pillow image of any mode as an RGB Pillow image.

    Transparency is composited over ``background``; 16-bit and float
    grayscale are scaled to 8 bits.
    """
    if image.mode in ('I;16', 'I;16B', 'I;16L', 'I'):
        # 16/32-bit grayscale: scale the used range to 8 bits.
        values = numpy.asarray(image, dtype=numpy.float64)
        top = 65535.0 if values.max() > 255 else 255.0
        image = Image.fromarray(
            numpy.clip(values / top * 255 + 0.5, 0, 255).astype(numpy.uint8))
    elif image.mode == 'F':
        values = numpy.asarray(image, dtype=numpy.float64)
        image = Image.fromarray(
            numpy.clip(values * 255 + 0.5, 0, 255).astype(numpy.uint8))
    if image.mode == 'P':
        image = image.convert('RGBA')
    if image.mode in ('RGBA', 'LA', 'PA', 'RGBa', 'La'):
        rgba = image.convert('RGBA')
        canvas = Image.new('RGBA', rgba.size, tuple(background) + (255,))
        image = Image.alpha_composite(canvas, rgba)
    return image.convert('RGB')


@dataclass(frozen=True)
class Fit:
    """Where a photo lands inside the network's frame after :func:`fit`.

    The photo, scaled by ``scale``, occupies rows ``top:top+height`` and
    columns ``left:left+width`` of the ``size`` frame; the rest is padding.
    """

    size: tuple
    scale: float
    top: int
    left: int
    height: int
    width: int


def fit(image, size):
    """Scale a photo to fit ``size`` whole, keeping its aspect ratio.

    Nothing is cropped or stretched: the photo is scaled until it touches
    the frame on two sides and the rest is padded with the median colour of
    its border (the studio background of product and model photos). Photos
    with the frame's aspect ratio (e.g. VITON-HD's 1024x768 to 256x192) are
    only scaled.

    Args:
        image: uint8 ``(H, W, 3)``.
        size (tuple of int): the frame's (height, width).

    Returns:
        tuple: uint8 ``(height, width, 3)`` array and its :class:`Fit`.
    """
    height, width = size
    h, w = image.shape[:2]
    scale = min(height / h, width / w)
    new_h = min(height, max(1, round(h * scale)))
    new_w = min(width, max(1, round(w * scale)))
    top, left = (height - new_h) // 2, (width - new_w) // 2
    border = numpy.concatenate((image[0], image[-1], image[:, 0],
                                image[:, -1]))
    out = numpy.empty((height, width, 3), numpy.uint8)
    out[...] = numpy.median(border, axis=0).astype(numpy.uint8)
    resized = Image.fromarray(image).resize((new_w, new_h),
                                            Image.Resampling.LANCZOS)
    out[top:top + new_h, left:left + new_w] = numpy.asarray(resized)
    return out, Fit(tuple(size), scale, top, left, new_h, new_w)


def to_chw(image):
    """uint8 ``(H, W, 3)`` to float32 ``(3, H, W)`` in [0, 1]."""
    return numpy.ascontiguousarray(
        image.transpose(2, 0, 1), dtype=numpy.float32) / numpy.float32(255)


def to_hwc(array):
    """float ``(3, H, W)`` in [0, 1] to uint8 ``(H, W, 3)``, rounded."""
    return (numpy.clip(array, 0, 1).transpose(1, 2, 0) * 255 + 0.5).astype(
        numpy.uint8)


def _unfit(planes, placement, shape, resample):
    """Float ``(C, h, w)`` frame planes back to the photo's ``shape``.

    Crops the photo's part of the frame (the padding never leaves here) and
    resizes it to ``shape``, each plane as a float Pillow image so no
    precision is lost to 8 bits. Returns float32 ``(C, H0, W0)`` in [0, 1].
    """
    p = placement
    crop = planes[:, p.top:p.top + p.height, p.left:p.left + p.width]
    height, width = shape
    out = numpy.empty((len(planes), height, width), numpy.float32)
    for c, plane in enumerate(crop):
        # A 2-D float32 array becomes a mode 'F' image.
        image = Image.fromarray(numpy.ascontiguousarray(plane, numpy.float32))
        out[c] = numpy.asarray(image.resize((width, height), resample))
    # Lanczos rings past the range near sharp edges.
    return numpy.clip(out, 0, 1, out=out)


def _check_frame(array, placement, name, channels=None):
    size = tuple(placement.size)
    want = size if channels is None else (channels,) + size
    if numpy.shape(array) != want:
        raise ValueError('{} must have shape {} (the Fit\'s frame), got {}'
                         .format(name, want, numpy.shape(array)))


def unfit_alpha(alpha, placement, shape):
    """A frame's alpha map at the size of the photo it was fitted from.

    Undoes :func:`fit` for a map: crops the photo's part of the frame and
    scales it (bilinear) to ``shape``; the padding is dropped.

    Args:
        alpha: float ``(h, w)`` in [0, 1], ``(h, w) == placement.size``.
        placement (Fit): what ``fit(photo, (h, w))`` returned.
        shape (tuple of int): the photo's ``(H0, W0)``.

    Returns:
        numpy.ndarray: float32 ``(H0, W0)`` in [0, 1].

    Raises:
        ValueError: ``alpha`` not of the frame's shape.
    """
    _check_frame(alpha, placement, 'alpha')
    return _unfit(numpy.asarray(alpha)[None], placement, tuple(shape[:2]),
                  Image.Resampling.BILINEAR)[0]


def paste_back(photo, image, alpha, placement):
    """Blend a generator's frame into the full-resolution photo.

    The frame's image and alpha are cropped to the photo's part of the frame,
    scaled to the photo's size (Lanczos for the image, bilinear for alpha)
    and composited: ``alpha * image + (1 - alpha) * photo``. Where alpha is 0
    the photo's own pixels are kept exactly, at full resolution.

    Args:
        photo: uint8 ``(H0, W0, 3)``, the photo as :func:`load_rgb` gives it.
        image: float ``(3, h, w)`` in [0, 1], the generator's ``x_ij``.
        alpha: float ``(h, w)`` in [0, 1], the generator's alpha.
        placement (Fit): what ``fit(photo, (h, w))`` returned.

    Returns:
        numpy.ndarray: uint8 ``(H0, W0, 3)``.

    Raises:
        ValueError: a ``photo`` that is not uint8 ``(H0, W0, 3)``, or
            ``image``/``alpha`` not of the frame's shape.
    """
    photo = numpy.asarray(photo)
    if photo.dtype != numpy.uint8 or photo.ndim != 3 or photo.shape[2] != 3:
        raise ValueError('photo must be uint8 (H, W, 3), got {} {}'.format(
            photo.dtype, photo.shape))
    _check_frame(image, placement, 'image', channels=3)
    shape = photo.shape[:2]
    up = _unfit(numpy.asarray(image), placement, shape,
                Image.Resampling.LANCZOS).transpose(1, 2, 0)
    a = unfit_alpha(alpha, placement, shape)[:, :, None].astype(numpy.float64)
    # Blending as photo + alpha * change keeps alpha == 0 pixels bit-exact.
    out = photo + a * (up * 255.0 - photo)
    return numpy.clip(numpy.rint(out), 0, 255).astype(numpy.uint8)
