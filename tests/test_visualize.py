"""cagan.visualize: grids, sheets and saving images."""

import functools

import chainer
import numpy
import pytest

from cagan.errors import CaganError
from cagan.inference import swap_arrays
from cagan.visualize import (MIN_CELL, cell_scale, save_image, side_by_side,
                             swap_grid, upscale)


class Painter(object):
    """A stand-in generator of any size: x_ij is y_j's colours over x_i's
    left half, alpha is 1 there and 0 elsewhere."""

    def __init__(self, size):
        self.size = size

    def swap(self, x_i, y_i, y_j):
        alpha = numpy.zeros((len(x_i), 1) + self.size, numpy.float32)
        alpha[..., :self.size[1] // 2] = 1
        x_ij = alpha * y_j + (1 - alpha) * x_i
        return chainer.Variable(x_ij), chainer.Variable(alpha)


def test_upscale_repeats_each_pixel_as_a_square():
    image = numpy.arange(2 * 3 * 3, dtype=numpy.uint8).reshape(2, 3, 3)
    big = upscale(image, 4)
    assert big.shape == (8, 12, 3) and big.dtype == numpy.uint8
    for y in range(8):
        for x in range(12):
            assert (big[y, x] == image[y // 4, x // 4]).all()
    assert upscale(image, 1) is image
    assert upscale(image[:, :, 0], 2).shape == (4, 6)
    assert cell_scale(16) == 12 and cell_scale(64) == 3
    assert cell_scale(100) == 2 and cell_scale(256) == 1


def test_a_16x16_grid_is_an_exact_nearest_neighbour_upscale(rng):
    size = (16, 16)
    x_i, y_i = (rng.random((2, 3) + size, dtype=numpy.float32)
                for _ in range(2))
    y_j = rng.random((3, 3) + size, dtype=numpy.float32)
    small = swap_grid(functools.partial(swap_arrays, Painter(size)), x_i,
                      y_i, y_j, min_height=1)
    assert small.shape == ((3 + 2) * 16, (2 + 1) * 16, 3)
    grid = swap_grid(functools.partial(swap_arrays, Painter(size)), x_i,
                     y_i, y_j)
    k = MIN_CELL // 16
    assert grid.shape == (k * small.shape[0], k * small.shape[1], 3)
    assert numpy.array_equal(grid, numpy.kron(
        small, numpy.ones((k, k, 1), numpy.uint8)))
    # The alpha row too: each cell of it a k-fold copy of a 16x16 map.
    alpha = grid[-k * 16:, k * 16:2 * k * 16, 0]
    assert (alpha[:, :k * 8] == 255).all() and (alpha[:, k * 8:] == 0).all()


def test_side_by_side_enlarges_small_images_sharply_and_shrinks_big_ones():
    small = numpy.random.default_rng(1).integers(0, 256, (16, 16, 3),
                                                 dtype=numpy.uint8)
    odd = numpy.full((100, 50, 3), 7, numpy.uint8)
    big = numpy.zeros((600, 300, 3), numpy.uint8)
    alpha = numpy.zeros((16, 16), numpy.float32)
    alpha[:, 8:] = 1
    sheet = side_by_side([[small, odd, big], [alpha]], height=384, gap=4)
    assert sheet.shape == (2 * 384 + 4, 384 + 150 + 192 + 2 * 4, 3)
    # 16 -> 384: exactly 24x24 squares of the original pixels.
    assert numpy.array_equal(sheet[:384, :384],
                             upscale(small, 24))
    # 100 -> 300 (x3, the largest whole factor within 384), centred.
    column = sheet[:384, 388:388 + 150]
    assert (column[42:342] == 7).all()
    assert (column[:42] == 255).all() and (column[342:] == 255).all()
    # The alpha map as grey levels, as sharp as the picture.
    grey = sheet[388:, :384, 0]
    assert (grey[:, :192] == 0).all() and (grey[:, 192:] == 255).all()


def test_side_by_side_rows_have_one_height_and_a_gap():
    wide = numpy.zeros((20, 60, 3), numpy.uint8)
    tall = numpy.full((60, 20, 3), 200, numpy.uint8)
    sheet = side_by_side([[wide, tall], [tall]], height=30, gap=2)
    assert sheet.shape == (2 * 30 + 2, 60 + 10 + 2, 3)
    assert sheet.dtype == numpy.uint8
    assert (sheet[30:32] == 255).all()  # the gap between rows


def test_save_image_refuses_unknown_extensions(tmp_path):
    image = numpy.zeros((8, 8, 3), numpy.uint8)
    save_image(image, tmp_path / 'a.jpg')
    save_image(image, tmp_path / 'a.png')
    with pytest.raises(CaganError, match='.png, .jpg'):
        save_image(image, tmp_path / 'a.xyz')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a.jpg', 'a.png']
