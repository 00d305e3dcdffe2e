"""cagan.inference: swapping photos at their own size with a run's generator."""

import numpy
from PIL import Image

from cagan import inference, run
from cagan.data import images
from tests.helpers import INFERENCE_SIZE as SIZE
from tests.helpers import photo


def save_modes(folder):
    """The same scene in every mode and format a shop may upload."""
    rgb = Image.fromarray(photo((90, 60)))
    files = {}

    def keep(name, image, **kwargs):
        files[name] = folder / name
        image.save(files[name], **kwargs)

    keep('rgb.jpg', rgb, quality=90)
    keep('rgba.png', rgb.convert('RGBA'))
    keep('grey.png', rgb.convert('L'))
    keep('palette.png', rgb.convert('P'))
    keep('cmyk.jpg', rgb.convert('CMYK'))
    keep('deep.png', Image.fromarray(
        (numpy.asarray(rgb.convert('L'), numpy.uint16) * 257)).convert(
            'I;16'))
    keep('photo.webp', rgb)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: upright it is 90 high, 60 wide
    keep('rotated.jpg', rgb.transpose(Image.Transpose.ROTATE_90),
         exif=exif.tobytes())
    return files


def test_every_mode_and_orientation_swaps_at_the_photo_size(tmp_path,
                                                              model):
    gen, resolved, weights = run.load_generator(model)
    assert weights.name == 'gen_epoch_1.npz' and gen.size == SIZE
    article = photo((50, 50), seed=1)
    for name, path in save_modes(tmp_path).items():
        human = images.load_rgb(path)
        assert human.shape == (90, 60, 3), name
        swap, = inference.swap_photos(gen, human, [article])
        assert swap.result.shape == human.shape and swap.result.dtype == \
            numpy.uint8, name
        assert swap.alpha.shape == (90, 60), name
        assert 0 <= swap.alpha.min() and swap.alpha.max() <= 1
        assert swap.frame.shape == SIZE + (3,)


def test_results_keep_the_photo_where_alpha_is_zero(model):
    gen, _, _ = run.load_generator(model)
    human = photo((300, 90))
    swap, = inference.swap_photos(gen, human, [photo((40, 40), 1)],
                                  worn=photo((40, 40), 2))
    keep = swap.alpha == 0
    # Untrained alpha is never exactly 0; force the check on a blend.
    again = images.paste_back(human, swap.frame.transpose(2, 0, 1) / 255.,
                              numpy.zeros(SIZE), images.fit(human, SIZE)[1])
    assert numpy.array_equal(again, human)
    assert not keep.any() or numpy.array_equal(swap.result[keep],
                                               human[keep])
