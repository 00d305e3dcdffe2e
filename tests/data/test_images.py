import struct
import warnings

import numpy
import pytest
from PIL import Image

from cagan.data import images
from cagan.errors import CaganError, ImageError, PixelLimitError
from tests.data.helpers import forbid_decoding, write_png_of_zeros


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


def test_read_image_gives_the_upright_image_in_its_own_mode(tmp_path):
    image = Image.fromarray(photo(40, 30)).convert('L')
    exif = Image.Exif()
    exif[0x0112] = 6
    image.save(tmp_path / 'r.jpg', exif=exif)
    upright, mode = images.read_image(tmp_path / 'r.jpg')
    assert mode == 'L' and upright.mode == 'L' and upright.size == (40, 30)
    with pytest.raises(FileNotFoundError):
        images.read_image(tmp_path / 'missing.png')


def test_min_side_can_be_lowered(tmp_path):
    Image.fromarray(photo(5, 30)).save(tmp_path / 'thin.png')
    with pytest.raises(ImageError, match='too small'):
        images.load_rgb(tmp_path / 'thin.png')
    assert images.load_rgb(tmp_path / 'thin.png', min_side=0).shape == (5, 30,
                                                                         3)


def test_quiet_silences_pillows_remarks(tmp_path):
    # An EXIF block whose one tag claims more data than the block holds.
    ifd = (b'II*\x00' + struct.pack('<I', 8) + struct.pack('<H', 1)
           + struct.pack('<HHII', 0x0112, 4, 100, 5000) + struct.pack('<I', 0))
    Image.fromarray(photo()).save(tmp_path / 'odd.jpg',
                                  exif=b'Exif\x00\x00' + ifd)
    with warnings.catch_warnings(record=True) as loud:
        warnings.simplefilter('always')
        want = images.load_rgb(tmp_path / 'odd.jpg')
    if not loud:
        pytest.skip('this Pillow reads the odd EXIF block without a remark')
    with warnings.catch_warnings(record=True) as quiet:
        warnings.simplefilter('always')
        got = images.load_rgb(tmp_path / 'odd.jpg', quiet=True)
    assert not quiet and numpy.array_equal(got, want)


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


def smooth_photo(h, w):
    """A photo with only broad detail, so it survives a round trip through
    a smaller frame."""
    yy, xx = numpy.mgrid[0:h, 0:w]
    return numpy.stack([100 + 80 * numpy.sin(yy / 15),
                        50 + 100 * xx / w + 0 * yy,
                        128 + 60 * numpy.cos((xx + yy) / 12)],
                       -1).astype(numpy.uint8)


FRAME = (64, 48)
SHAPES = [(90, 30), (30, 90), (128, 96)]   # tall, wide, the frame's aspect


@pytest.mark.parametrize('shape', SHAPES)
def test_paste_back_with_zero_alpha_is_the_photo(rng, shape):
    original = smooth_photo(*shape)
    _, placement = images.fit(original, FRAME)
    image = rng.random((3,) + FRAME).astype(numpy.float32)
    out = images.paste_back(original, image,
                            numpy.zeros(FRAME, numpy.float32), placement)
    assert out.dtype == numpy.uint8 and out.shape == original.shape
    numpy.testing.assert_array_equal(out, original)


@pytest.mark.parametrize('shape', SHAPES)
def test_paste_back_of_the_fitted_photo_is_close_to_the_photo(shape):
    original = smooth_photo(*shape)
    framed, placement = images.fit(original, FRAME)
    out = images.paste_back(original, images.to_chw(framed),
                            numpy.ones(FRAME, numpy.float32), placement)
    assert out.shape == original.shape
    diff = numpy.abs(out.astype(int) - original)
    assert diff.mean() < 1 and diff.max() <= 4


@pytest.mark.parametrize('shape', SHAPES)
def test_padding_never_reaches_the_output(shape):
    original = smooth_photo(*shape)
    _, p = images.fit(original, FRAME)
    # Black where the photo lies, white padding; alpha 1 on the whole frame.
    image = numpy.ones((3,) + FRAME, numpy.float32)
    image[:, p.top:p.top + p.height, p.left:p.left + p.width] = 0
    alpha = numpy.ones(FRAME, numpy.float32)
    out = images.paste_back(original, image, alpha, p)
    assert out.shape == original.shape
    assert (out == 0).all()
    # Padding of the alpha map is dropped as well.
    alpha[:] = 0
    alpha[:p.top] = alpha[p.top + p.height:] = 1
    alpha[:, :p.left] = alpha[:, p.left + p.width:] = 1
    numpy.testing.assert_array_equal(
        images.paste_back(original, image, alpha, p), original)


@pytest.mark.parametrize('shape', SHAPES)
def test_unfit_alpha(shape):
    original = smooth_photo(*shape)
    _, p = images.fit(original, FRAME)
    alpha = numpy.zeros(FRAME, numpy.float32)
    alpha[p.top:p.top + p.height // 2, p.left:p.left + p.width] = 1
    up = images.unfit_alpha(alpha, p, original.shape[:2])
    assert up.shape == shape and up.dtype == numpy.float32
    assert 0 <= up.min() and up.max() <= 1
    # The photo's top half is repainted, its bottom half kept.
    assert (up[:shape[0] // 2 - 3] == 1).all()
    assert (up[shape[0] // 2 + 3:] == 0).all()


def test_paste_back_checks_shapes():
    original = smooth_photo(90, 30)
    _, p = images.fit(original, FRAME)
    image = numpy.zeros((3,) + FRAME, numpy.float32)
    alpha = numpy.zeros(FRAME, numpy.float32)
    with pytest.raises(ValueError, match='image must have shape'):
        images.paste_back(original, image[:, :32], alpha, p)
    with pytest.raises(ValueError, match='alpha must have shape'):
        images.paste_back(original, image, alpha[:32], p)
    with pytest.raises(ValueError, match='photo must be uint8'):
        images.paste_back(original.astype(numpy.float32), image, alpha, p)


# ------------------------------------------------------- the pixel limit

def test_the_png_of_zeros_is_what_pillow_writes(tmp_path):
    write_png_of_zeros(tmp_path / 'ours.png', 100, 60)
    Image.new('1', (100, 60)).save(tmp_path / 'pillows.png')
    with Image.open(tmp_path / 'ours.png') as ours, \
            Image.open(tmp_path / 'pillows.png') as pillows:
        assert (ours.format, ours.mode, ours.size) == ('PNG', '1', (100, 60))
        assert numpy.array_equal(numpy.asarray(ours), numpy.asarray(pillows))


def test_the_default_limit(monkeypatch):
    monkeypatch.delenv('CAGAN_MAX_PIXELS', raising=False)
    assert images.max_pixels() == images.MAX_PIXELS == 120_000_000
    # Above a 108-megapixel phone photo, below what Pillow refuses itself.
    assert 12032 * 9024 < images.MAX_PIXELS < 2 * Image.MAX_IMAGE_PIXELS
    monkeypatch.setenv('CAGAN_MAX_PIXELS', '5000')
    assert images.max_pixels() == 5000


@pytest.mark.parametrize('value', ['', 'many', '0', '-5', '1.5', '1e9'])
def test_a_bad_limit_is_one_line(tmp_path, monkeypatch, value):
    Image.fromarray(photo()).save(tmp_path / 'x.png')
    monkeypatch.setenv('CAGAN_MAX_PIXELS', value)
    with pytest.raises(CaganError) as info:
        images.load_rgb(tmp_path / 'x.png')
    message = str(info.value)
    assert not isinstance(info.value, ImageError)  # not a fault of the file
    assert message.startswith('CAGAN_MAX_PIXELS must be a positive whole')
    assert repr(value) in message and '\n' not in message


def test_an_image_over_the_limit_is_refused_undecoded(tmp_path, monkeypatch):
    Image.fromarray(photo(40, 30)).save(tmp_path / 'big.png')
    forbid_decoding(monkeypatch)
    monkeypatch.setenv('CAGAN_MAX_PIXELS', '1199')
    with pytest.raises(PixelLimitError) as info:
        images.load_rgb(tmp_path / 'big.png')
    assert str(info.value) == (
        '{}: 40x30 pixels (1200) is over the limit of 1199 pixels; set '
        'CAGAN_MAX_PIXELS to a larger number to read it'.format(
            tmp_path / 'big.png'))


def test_raising_the_limit_lets_the_image_through(tmp_path, monkeypatch):
    Image.fromarray(photo(40, 30)).save(tmp_path / 'big.png')
    monkeypatch.setenv('CAGAN_MAX_PIXELS', '1199')
    with pytest.raises(PixelLimitError):
        images.load_rgb(tmp_path / 'big.png')
    monkeypatch.setenv('CAGAN_MAX_PIXELS', '1200')  # read at each call
    assert images.load_rgb(tmp_path / 'big.png').shape == (40, 30, 3)


def test_pillows_warning_is_silenced_and_its_refusal_reworded(
        tmp_path, monkeypatch):
    # Pillow warns above MAX_IMAGE_PIXELS and refuses above twice that;
    # a small MAX_IMAGE_PIXELS puts small files in both ranges.
    monkeypatch.setattr(Image, 'MAX_IMAGE_PIXELS', 100)
    monkeypatch.setenv('CAGAN_MAX_PIXELS', '120')
    Image.new('RGB', (15, 10)).save(tmp_path / 'warned.png')  # 150 pixels
    Image.new('RGB', (30, 20)).save(tmp_path / 'refused.png')  # 600 pixels
    forbid_decoding(monkeypatch)
    # pytest.ini makes warnings errors: a warning would fail here.
    with pytest.raises(PixelLimitError, match=r'warned.png: 10x15 pixels '
                       r'\(150\) is over the limit of 120 pixels'):
        images.load_rgb(tmp_path / 'warned.png')
    # Refused by Pillow at open, which names the pixel count alone.
    with pytest.raises(PixelLimitError) as info:
        images.load_rgb(tmp_path / 'refused.png')
    assert str(info.value) == (
        '{}: 600 pixels is over the limit of 120 pixels; set '
        'CAGAN_MAX_PIXELS to a larger number to read it'.format(
            tmp_path / 'refused.png'))


def test_a_limit_above_pillows_raises_pillows(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, 'MAX_IMAGE_PIXELS', 100)
    Image.fromarray(photo(30, 20)).save(tmp_path / 'x.png')  # 600 pixels
    monkeypatch.setenv('CAGAN_MAX_PIXELS', '1000')
    assert images.load_rgb(tmp_path / 'x.png').shape == (30, 20, 3)
    assert Image.MAX_IMAGE_PIXELS == 1000
    # Never lowered again by a smaller limit.
    monkeypatch.setenv('CAGAN_MAX_PIXELS', '700')
    assert images.load_rgb(tmp_path / 'x.png').shape == (30, 20, 3)
    assert Image.MAX_IMAGE_PIXELS == 1000


def test_pillows_refusal_in_other_words_still_gives_one_line():
    error = Image.DecompressionBombError('too big\nsecond line')
    assert str(images._refused('x.png', error, 120)) == (
        'x.png: too many pixels (too big); set CAGAN_MAX_PIXELS to a larger '
        'number to read it')
