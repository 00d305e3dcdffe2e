"""cagan.visualize: grids, sheets and saving images."""

import numpy
import pytest

from cagan.errors import CaganError
from cagan.visualize import save_image, side_by_side


def test_side_by_side_scales_rows_to_one_height():
    wide = numpy.zeros((20, 60, 3), numpy.uint8)
    tall = numpy.full((60, 20, 3), 200, numpy.uint8)
    alpha = numpy.linspace(0, 1, 30 * 30, dtype=numpy.float32).reshape(30, 30)
    sheet = side_by_side([[wide, tall, alpha], [tall]], height=30, gap=2)
    assert sheet.shape == (2 * 30 + 2, 90 + 10 + 30 + 2 * 2, 3)
    assert sheet.dtype == numpy.uint8
    assert (sheet[30:32] == 255).all()  # the gap between rows


def test_save_image_refuses_unknown_extensions(tmp_path):
    image = numpy.zeros((8, 8, 3), numpy.uint8)
    save_image(image, tmp_path / 'a.jpg')
    save_image(image, tmp_path / 'a.png')
    with pytest.raises(CaganError, match='.png, .jpg'):
        save_image(image, tmp_path / 'a.xyz')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a.jpg', 'a.png']
