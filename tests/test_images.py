import numpy
import pytest
from PIL import Image

from cagan import images
from cagan.errors import ImageError


def photo(h=40, w=30):
    """An asymmetric RGB test photo: a red left half, a blue right half."""
    a = numpy.zeros((h, w, 3), numpy.uint8)
    a[:, :w // 2, 0] = 200
    a[:, w // 2:, 2] = 200
    return a


@pytest.mark.parametrize('mode', ['RGB', 'RGBA', 'LA', 'L', 'P', 'CMYK'])
def test_every_common_mode_reads_as_rgb(tmp_path, mode):
    path = tmp_path / 'x.png' if mode != 'CMYK' else tmp_path / 'x.jpg'
    Image.fromarray(photo()).convert(mode).save(path)
    out = images.load_rgb(path)
    assert out.shape == (40, 30, 3) and out.dtype == numpy.uint8


def test_transparency_is_composited_over_white(tmp_path):
    rgba = numpy.zeros((10, 10, 4), numpy.uint8)
    rgba[:5, :, :] = (10, 20, 30, 255)      # opaque top half
    Image.fromarray(rgba, 'RGBA').save(tmp_path / 'a.png')
    out = images.load_rgb(tmp_path / 'a.png')
    assert tuple(out[0, 0]) == (10, 20, 30)
    assert tuple(out[9, 9]) == (255, 255, 255)


def test_16_bit_grayscale_is_scaled(tmp_path):
    values = numpy.full((12, 12), 65535, numpy.uint16)
    values[:6] = 0
    Image.fromarray(values).save(tmp_path / 'g.png')
    out = images.load_rgb(tmp_path / 'g.png')
    assert out[0, 0].tolist() == [0, 0, 0]
    assert out[11, 11].tolist() == [255, 255, 255]


def test_exif_rotation_is_applied(tmp_path):
    image = Image.fromarray(photo(40, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    image.save(tmp_path / 'r.jpg', exif=exif)
    assert images.load_rgb(tmp_path / 'r.jpg').shape == (30, 40, 3)


@pytest.mark.parametrize('make, words', [
    (lambda d: d / 'missing.png', 'no such file'),
    (lambda d: d, 'is a directory'),
    (lambda d: (d / 't.png').write_text('hello') and d / 't.png',
     'not an image'),
    (lambda d: d / 'trunc.png', 'damaged or truncated'),
    (lambda d: d / 'tiny.png', 'too small'),
])
def test_bad_files_get_one_line(tmp_path, make, words):
    buf = tmp_path / 'full.png'
    noise = numpy.random.default_rng(0).integers(0, 255, (64, 64, 3))
    Image.fromarray(noise.astype(numpy.uint8)).save(buf)
    (tmp_path / 'trunc.png').write_bytes(buf.read_bytes()[:2000])
    Image.fromarray(photo(1, 1)).save(tmp_path / 'tiny.png')
    with pytest.raises(ImageError, match=words) as info:
        images.load_rgb(make(tmp_path))
    assert '\n' not in str(info.value)


def test_fit_keeps_aspect_and_pads_with_the_border_colour():
    wide = numpy.full((20, 40, 3), 250, numpy.uint8)
    wide[5:15, 10:30] = (0, 100, 0)
    out, geometry = images.fit(wide, (32, 32))
    assert out.shape == (32, 32, 3)
    assert (geometry.height, geometry.width) == (16, 32)
    assert (geometry.top, geometry.left) == (8, 0)
    assert geometry.scale == pytest.approx(0.8)
    assert (out[0] == 250).all() and (out[-1] == 250).all()
    same, g = images.fit(photo(64, 48), (128, 96))
    assert (g.top, g.left, g.height, g.width) == (0, 0, 128, 96)


def test_chw_round_trip():
    a = photo()
    chw = images.to_chw(a)
    assert chw.shape == (3, 40, 30) and chw.dtype == numpy.float32
    assert 0 <= chw.min() and chw.max() <= 1
    numpy.testing.assert_array_equal(images.to_hwc(chw), a)
