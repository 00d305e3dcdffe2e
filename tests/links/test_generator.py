"""cagan.Generator: the reference article's generator and its options."""

import chainer
import chainer.functions as F
import numpy
import pytest

from cagan import Discriminator, Generator, testing
from cagan.errors import SizeError
from cagan.links import ResizeConvolution2D
from tests.links.helpers import images


@pytest.mark.numerics
@pytest.mark.parametrize('size', [(32, 32), (64, 48), (128, 96), (32, 16)])
def test_generator_shapes_and_ranges(rng, size):
    gen = Generator(ch=8, size=size, seed=0)
    x_i, y_i, y_j = (images(rng, size) for _ in range(3))
    raw = gen(numpy.concatenate((x_i, y_i, y_j), axis=1))
    assert raw.shape == (2, 4) + size and raw.dtype == numpy.float32
    assert 0 < raw.array.min() and raw.array.max() < 1
    x_ij, alpha = gen.swap(x_i, y_i, y_j)
    assert x_ij.shape == (2, 3) + size and x_ij.dtype == numpy.float32
    assert alpha.shape == (2, 1) + size and alpha.dtype == numpy.float32
    assert 0 <= x_ij.array.min() and x_ij.array.max() <= 1
    # swap() is the reference article's raw output composited over x_i.
    image, a = raw.array[:, :3], raw.array[:, 3:]
    testing.assert_allclose(x_ij.array, a * image + (1 - a) * x_i)
    numpy.testing.assert_array_equal(alpha.array, a)


@pytest.mark.numerics
def test_alpha_zero_keeps_the_human_and_one_takes_the_image(rng):
    gen = Generator(ch=8, size=32, seed=0)
    x_i, y_i, y_j = (images(rng, (32, 32)) for _ in range(3))
    for bias, expect in ((-100.0, x_i), (100.0, None)):
        gen.dc3.b.array[3] = bias
        x_ij, alpha = gen.swap(x_i, y_i, y_j)
        if expect is None:
            expect = gen(numpy.concatenate((x_i, y_i, y_j), 1)).array[:, :3]
        testing.assert_allclose(x_ij.array, expect)


@pytest.mark.parametrize('kwargs, words', [
    (dict(size=(100, 100)), 'multiples of 16'),
    (dict(size=(16, 16)), 'at least 2 pixels'),
    (dict(size=(0, 32)), 'multiples of 16'),
    (dict(size='big'), 'image size must be'),
    (dict(size=(32.5, 32)), 'image size must be'),
    (dict(ch=12), 'multiple of 8'),
    (dict(ch=0), 'multiple of 8'),
])
def test_generator_refuses_what_it_cannot_take(kwargs, words):
    with pytest.raises(SizeError, match=words):
        Generator(**kwargs)


G_OPTIONS = pytest.mark.parametrize('inject, upsample', [
    (False, 'deconv'), (False, 'resize'), (True, 'deconv'), (True, 'resize')])


@G_OPTIONS
@pytest.mark.parametrize('size', [(32, 32), (64, 48)])
def test_generator_options_shapes_and_gradients(rng, inject, upsample, size):
    gen = Generator(ch=8, size=size, seed=0, inject=inject, upsample=upsample)
    x = chainer.Variable(rng.random((2, 9) + size, dtype=numpy.float32))
    gen.cleargrads()
    out = gen(x)
    assert out.shape == (2, 4) + size and out.dtype == numpy.float32
    assert 0 < out.array.min() and out.array.max() < 1
    F.sum(out ** 2).backward()
    testing.assert_gradients_as_the_maths_says(gen, x)
    # The input's gradient reaches it through the injected copies too.
    assert numpy.abs(x.grad).sum() > 0


def test_inject_adds_the_inputs_to_every_layer_after_c0():
    gen = Generator(ch=16, size=32, inject=True)
    assert gen.c0.W.shape == (2, 9, 4, 4)
    assert [gen[n].W.shape[1] for n in ('c1', 'c2', 'c3')] == [11, 13, 17]
    # Deconvolutions: (in, out, kh, kw).
    assert [gen[n].W.shape[0] for n in ('dc0', 'dc1', 'dc2', 'dc3')] \
        == [25, 17, 13, 11]
    dis = Discriminator(ch=16, size=64, inject=True, head='patch')
    assert dis.c0.W.shape == (2, 6, 4, 4)
    assert [dis[n].W.shape[1] for n in ('c1', 'c2', 'c3', 'c4', 'c5')] \
        == [8, 10, 14, 22, 22]
    # The linear head reads the map alone.
    linear = Discriminator(ch=16, size=64, inject=True)
    assert linear.l4.W.shape == (1, 2 * 2 * 16)


@pytest.mark.parametrize('inject', [False, True])
def test_injected_inputs_reach_the_deep_layers(rng, inject):
    # With c0 silenced, only the copies carry the inputs past it.
    gen = Generator(ch=8, size=32, seed=0, inject=inject)
    gen.c0.W.array[...] = 0
    gen.c0.b.array[...] = 0
    x_i, y_i, y_j, y_k = (images(rng, (32, 32)) for _ in range(4))
    a = gen(numpy.concatenate((x_i, y_i, y_j), axis=1)).array
    b = gen(numpy.concatenate((x_i, y_i, y_k), axis=1)).array
    assert (not numpy.array_equal(a, b)) == inject
    dis = Discriminator(ch=8, size=64, seed=0, inject=inject, head='patch')
    dis.c0.W.array[...] = 0
    dis.c0.b.array[...] = 0
    human = images(rng, (64, 64))
    with chainer.using_config('train', False):
        a, b = (dis(numpy.concatenate((human, images(rng, (64, 64))), 1))
                .array for _ in range(2))
    assert (not numpy.array_equal(a, b)) == inject


def test_resize_builds_convolutions_not_deconvolutions():
    gen = Generator(ch=16, size=32, upsample='resize', inject=True)
    for name, (i, o) in zip(('dc0', 'dc1', 'dc2', 'dc3'),
                            [(25, 8), (17, 4), (13, 2), (11, 4)]):
        link = gen[name]
        assert isinstance(link, ResizeConvolution2D)
        assert link.W.shape == (o, i, 3, 3) and link.b.shape == (o,)
    assert not any(p.ndim == 4 and p.shape[2:] == (4, 4) for n, p in
                   gen.namedparams() if n.startswith('/dc'))


def test_generator_refuses_an_unknown_upsampling():
    with pytest.raises(ValueError, match="upsample must be one of"):
        Generator(ch=8, size=32, upsample='bilinear')
