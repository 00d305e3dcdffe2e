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
