"""Pictures of swaps: the reference article's preview grid, side-by-side sheets, saving."""

import os

import numpy
from PIL import Image

from cagan.data import images
from cagan.errors import CaganError
from cagan.data.layout import replacing
from cagan.inference import swap_arrays


def swap_grid(gen, x_i, y_i, y_j, device=None):
    """The reference article's figure as one image.

    Humans along the top row, articles down the left column, each cell the
    human of its column dressed in the article of its row
    (``G(x_i, y_i, y_j)``), and a last row with the alpha maps of the first
    article's swaps (white: repainted). The top-left cell is white.

    Args:
        gen (cagan.Generator): the generator, in test mode here.
        x_i, y_i: float32 ``(N, 3, H, W)``: N humans and their own articles.
        y_j: float32 ``(M, 3, H, W)``: M articles.
        device: where ``gen`` lives (default: the CPU).

    Returns:
        numpy.ndarray: uint8 ``((M + 2) * H, (N + 1) * W, 3)``.
    """
    n, m = len(x_i), len(y_j)
    height, width = x_i.shape[2:]
    rows_x = numpy.repeat(x_i[None], m, axis=0).reshape((-1,) + x_i.shape[1:])
    rows_y = numpy.repeat(y_i[None], m, axis=0).reshape(rows_x.shape)
    cols_y = numpy.repeat(y_j, n, axis=0)
    x_ij, alpha = swap_arrays(gen, rows_x, rows_y, cols_y,
                              '@numpy' if device is None else device)
    x_ij = x_ij.reshape((m, n, 3, height, width))
    alpha = alpha[:n, None]
    blank = numpy.ones((3, height, width), numpy.float32)
    rows = [[blank] + list(x_i)]
    rows += [[y_j[r]] + list(x_ij[r]) for r in range(m)]
    rows += [[blank] + [numpy.repeat(a, 3, axis=0) for a in alpha]]
    grid = numpy.concatenate([numpy.concatenate(row, axis=2) for row in rows],
                             axis=1)
    return images.to_hwc(grid)


def save_image(array, path):
    """Save a uint8 ``(H, W, 3)`` array atomically, in the format its
    extension names (``.png``, ``.jpg``, ``.webp``, ...).

    Raises:
        cagan.errors.CaganError: an extension Pillow cannot write.
    """
    path = os.fspath(path)
    kind = Image.registered_extensions().get(
        os.path.splitext(path)[1].lower())
    if kind is None or kind not in Image.SAVE:
        raise CaganError('{}: cannot write this kind of image; end the name '
                         'in .png, .jpg or .webp'.format(path))
    with replacing(path) as tmp:
        Image.fromarray(array).save(tmp, format=kind)


def side_by_side(rows, height=384, gap=4):
    """Images in rows, each scaled to ``height`` (aspect ratio kept), on
    white.

    Args:
        rows (list of list): uint8 ``(H, W, 3)`` or float ``(H, W)`` maps
            in [0, 1] (drawn as grey levels), any sizes.
        height (int): the height of every image in the sheet.
        gap (int): white pixels between images and rows.

    Returns:
        numpy.ndarray: uint8 ``(rows * (height + gap) - gap, W, 3)``.
    """
    def scaled(image):
        image = numpy.asarray(image)
        if image.ndim == 2:
            image = numpy.repeat((numpy.clip(image, 0, 1) * 255 + 0.5)
                                 .astype(numpy.uint8)[:, :, None], 3, axis=2)
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
            line[:, left:left + cell.shape[1]] = cell
            left += cell.shape[1] + gap
        lines.append(line)
    sheet = numpy.full((len(lines) * (height + gap) - gap,
                        max(line.shape[1] for line in lines), 3), 255,
                       numpy.uint8)
    for k, line in enumerate(lines):
        sheet[k * (height + gap):k * (height + gap) + height,
              :line.shape[1]] = line
    return sheet
