"""Pictures of swaps: the reference article's preview grid, side-by-side sheets, saving.

Small images are shown larger by whole-number nearest-neighbour upscaling
(:func:`upscale`): every pixel of the network becomes a sharp square, so
what the model made is seen as it is, not blurred by a resampling filter.
"""

import math
import os

import numpy
from PIL import Image

from cagan.data import images
from cagan.errors import CaganError
from cagan.atomic import replacing

#: A comfortable height in pixels for one cell of a grid: smaller cells are
#: enlarged by a whole-number factor until they are at least this tall.
MIN_CELL = 192


def cell_scale(height, min_height=MIN_CELL):
    """The smallest whole-number factor that makes ``height`` pixels at
    least ``min_height`` tall (1 for cells already that tall)."""
    return max(1, math.ceil(min_height / height))


def upscale(image, factor):
    """Nearest-neighbour upscaling by a whole number: each pixel becomes a
    ``factor`` x ``factor`` square (no filter, no blur).

    Args:
        image (numpy.ndarray): ``(H, W)`` or ``(H, W, C)``, any dtype.
        factor (int): >= 1.

    Returns:
        numpy.ndarray: ``(factor * H, factor * W[, C])``, the same dtype.
    """
    if factor == 1:
        return image
    return numpy.repeat(numpy.repeat(image, factor, axis=0), factor, axis=1)


def swap_grid(swap, x_i, y_i, y_j, min_height=MIN_CELL):
    """The reference article's figure as one image.

    Humans along the top row, articles down the left column, each cell the
    human of its column dressed in the article of its row
    (``G(x_i, y_i, y_j)``), and a last row with the alpha maps of the first
    article's swaps (white: repainted). The top-left cell is white. Cells
    shorter than ``min_height`` are enlarged by the whole-number factor
    ``k = cell_scale(H, min_height)``, nearest neighbour.

    Args:
        swap: the model, called as ``swap(x_i, y_i, y_j)`` with float32
            ``(K, 3, H, W)`` arrays and returning ``x_ij`` ``(K, 3, H, W)``
            and ``alpha`` ``(K, H, W)`` (a generator through
            :func:`cagan.inference.swap_arrays`, or an exported model's
            ``swap``).
        x_i, y_i: float32 ``(N, 3, H, W)``: N humans and their own articles.
        y_j: float32 ``(M, 3, H, W)``: M articles.
        min_height (int): the least height of a cell in pixels (1: the
            network's own size).

    Returns:
        numpy.ndarray: uint8 ``((M + 2) * k * H, (N + 1) * k * W, 3)``.
    """
    n, m = len(x_i), len(y_j)
    height, width = x_i.shape[2:]
    rows_x = numpy.repeat(x_i[None], m, axis=0).reshape((-1,) + x_i.shape[1:])
    rows_y = numpy.repeat(y_i[None], m, axis=0).reshape(rows_x.shape)
    cols_y = numpy.repeat(y_j, n, axis=0)
    x_ij, alpha = swap(rows_x, rows_y, cols_y)
    x_ij = x_ij.reshape((m, n, 3, height, width))
    alpha = alpha[:n, None]
    blank = numpy.ones((3, height, width), numpy.float32)
    rows = [[blank] + list(x_i)]
    rows += [[y_j[r]] + list(x_ij[r]) for r in range(m)]
    rows += [[blank] + [numpy.repeat(a, 3, axis=0) for a in alpha]]
    grid = numpy.concatenate([numpy.concatenate(row, axis=2) for row in rows],
                             axis=1)
    return upscale(images.to_hwc(grid), cell_scale(height, min_height))


def image_format(path):
    """The Pillow format an image file's extension names (``'PNG'``, ...).

    Raises:
        cagan.errors.CaganError: an extension Pillow cannot write.
    """
    path = os.fspath(path)
    kind = Image.registered_extensions().get(
        os.path.splitext(path)[1].lower())
    if kind is None or kind not in Image.SAVE:
        raise CaganError('{}: cannot write this kind of image; end the name '
                         'in .png, .jpg or .webp'.format(path))
    return kind


def save_image(array, path):
    """Save a uint8 ``(H, W, 3)`` array atomically, in the format its
    extension names (``.png``, ``.jpg``, ``.webp``, ...).

    Raises:
        cagan.errors.CaganError: an extension Pillow cannot write.
    """
    path = os.fspath(path)
    kind = image_format(path)
    with replacing(path) as tmp:
        Image.fromarray(array).save(tmp, format=kind)


def side_by_side(rows, height=384, gap=4):
    """Images in rows of one height, on white.

    An image taller than ``height`` is shrunk to it (Lanczos, aspect ratio
    kept); a smaller one is enlarged by the largest whole-number factor that
    keeps it within ``height``, nearest neighbour (no blur: a 64-pixel
    network output is shown as 6x6 squares), and centred in its row. With
    the default 384, every image ends at least 192 pixels tall.

    Args:
        rows (list of list): uint8 ``(H, W, 3)`` or float ``(H, W)`` maps
            in [0, 1] (drawn as grey levels), any sizes.
        height (int): the height of every row in the sheet.
        gap (int): white pixels between images and rows.

    Returns:
        numpy.ndarray: uint8 ``(rows * (height + gap) - gap, W, 3)``.
    """
    def scaled(image):
        image = numpy.asarray(image)
        if image.ndim == 2:
            image = numpy.repeat((numpy.clip(image, 0, 1) * 255 + 0.5)
                                 .astype(numpy.uint8)[:, :, None], 3, axis=2)
        if image.shape[0] <= height:
            return upscale(image, height // image.shape[0])
        width = max(1, round(image.shape[1] * height / image.shape[0]))
        return numpy.asarray(Image.fromarray(image).resize(
            (width, height), Image.Resampling.LANCZOS))

    lines = []
    for row in rows:
        cells = [scaled(image) for image in row]
        line = numpy.full((height, sum(c.shape[1] for c in cells) +
                           gap * (len(cells) - 1), 3), 255, numpy.uint8)
        left = 0
        for cell in cells:
            top = (height - cell.shape[0]) // 2
            line[top:top + cell.shape[0], left:left + cell.shape[1]] = cell
            left += cell.shape[1] + gap
        lines.append(line)
    sheet = numpy.full((len(lines) * (height + gap) - gap,
                        max(line.shape[1] for line in lines), 3), 255,
                       numpy.uint8)
    for k, line in enumerate(lines):
        sheet[k * (height + gap):k * (height + gap) + height,
              :line.shape[1]] = line
    return sheet
