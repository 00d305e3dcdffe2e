import chainer
import chainer.functions as F
import numpy
import pytest

from cagan import Discriminator, Generator, testing
from cagan.errors import SizeError

SEED_G_PARAMS = sorted(
    ['/{}/{}'.format(c, p) for c in ('c0', 'c1', 'c2', 'c3', 'dc0', 'dc1',
                                     'dc2', 'dc3') for p in ('W', 'b')]
    + ['/{}/{}'.format(n, p) for n in ('bn0', 'bn1', 'bn2', 'bn3', 'dbn0',
                                       'dbn1', 'dbn2') for p in ('gamma',
                                                                 'beta')])
SEED_D_PARAMS = sorted(
    ['/{}/{}'.format(c, p) for c in ('c0', 'c1', 'c2', 'c3', 'c4', 'l4')
     for p in ('W', 'b')]
    + ['/bn{}/{}'.format(i, p) for i in range(5) for p in ('gamma', 'beta')])


def images(rng, size, batch=2):
    return rng.random((batch, 3) + tuple(size), dtype=numpy.float32)


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


@pytest.mark.parametrize('size', [(64, 64), (64, 32), (128, 96)])
@pytest.mark.parametrize('head', ['linear', 'patch'])
def test_discriminator_shapes(rng, size, head):
    dis = Discriminator(ch=8, size=size, head=head, seed=0)
    pair = numpy.concatenate((images(rng, size), images(rng, size)), axis=1)
    with chainer.using_config('train', False):
        logits = dis(pair)
    bottom = (size[0] // 32, size[1] // 32)
    expected = (2, 1) if head == 'linear' else (2, 1) + bottom
    assert logits.shape == expected and logits.dtype == numpy.float32


def test_parameter_names_are_the_seeds():
    assert sorted(n for n, _ in Generator(ch=8, size=32).namedparams()) \
        == SEED_G_PARAMS
    assert sorted(n for n, _ in Discriminator(ch=8, size=64).namedparams()) \
        == SEED_D_PARAMS
    patch = sorted(n for n, _ in Discriminator(
        ch=8, size=64, head='patch').namedparams())
    assert '/c5/W' in patch and '/l4/W' not in patch


def test_layer_shapes_follow_the_seed():
    gen = Generator(ch=64, size=64)
    assert gen.c0.W.shape == (8, 9, 4, 4)
    assert gen.c3.W.shape == (64, 32, 4, 4)
    assert gen.dc0.W.shape == (64, 32, 4, 4)  # deconv: (in, out, kh, kw)
    assert gen.dc3.W.shape == (8, 4, 4, 4)
    assert gen.c1.stride == (2, 2) and gen.c1.pad == (1, 1)
    dis = Discriminator(ch=64, size=(128, 96))
    assert dis.c0.W.shape == (8, 6, 4, 4) and dis.c4.W.shape == (64, 64, 4, 4)
    assert dis.l4.W.shape == (1, 4 * 3 * 64)


def test_initialisation_is_normal_002():
    gen = Generator(ch=256, size=32)
    w = gen.c3.W.array
    assert abs(float(w.std()) - 0.02) < 0.001 and abs(float(w.mean())) < 0.001
    numpy.testing.assert_array_equal(gen.c3.b.array, 0)
    numpy.testing.assert_array_equal(gen.bn3.gamma.array, 1)
    dis = Discriminator(ch=256, size=64)
    assert abs(float(dis.c4.W.array.std()) - 0.02) < 0.001
    assert all(p.dtype == numpy.float32 for p in gen.params())


def test_initial_weights_follow_the_seed_argument():
    a, b, c = (Generator(ch=8, size=32, seed=s) for s in (3, 3, 4))
    numpy.testing.assert_array_equal(a.dc1.W.array, b.dc1.W.array)
    assert not numpy.array_equal(a.dc1.W.array, c.dc1.W.array)
    d, e = (Discriminator(ch=8, size=64, seed=3) for _ in range(2))
    numpy.testing.assert_array_equal(d.l4.W.array, e.l4.W.array)


def test_every_used_parameter_gets_a_gradient(rng):
    # bn0 is built but unused in both of the reference article's networks.
    gen = Generator(ch=8, size=32, seed=0)
    dis = Discriminator(ch=8, size=64, seed=0)
    for net, x in ((gen, rng.random((2, 9, 32, 32), dtype=numpy.float32)),
                   (dis, rng.random((2, 6, 64, 64), dtype=numpy.float32))):
        net.cleargrads()
        F.sum(net(x) ** 2).backward()
        for name, param in net.namedparams():
            if name.startswith('/bn0/'):
                assert param.grad is None
            else:
                assert param.grad is not None and numpy.abs(param.grad).sum() > 0, name


def test_noise_only_in_train_mode_float32_and_seeded(rng):
    pair = rng.random((2, 6, 64, 64), dtype=numpy.float32)
    dis = Discriminator(ch=8, size=64, seed=1)
    quiet = Discriminator(ch=8, size=64, noise_sigma=0)
    quiet.copyparams(dis)
    with chainer.using_config('train', False):
        a, b = dis(pair).array, dis(pair).array
    numpy.testing.assert_array_equal(a, b)
    with chainer.using_config('train', True):
        numpy.testing.assert_array_equal(quiet(pair).array, a)
        noisy1, noisy2 = dis(pair).array, dis(pair).array
    assert not numpy.array_equal(noisy1, a)
    assert not numpy.array_equal(noisy1, noisy2)
    # Same seed, same draws: a restarted generator repeats the first call.
    dis.seed_noise(1)
    with chainer.using_config('train', True):
        numpy.testing.assert_array_equal(dis(pair).array, noisy1)
    h = chainer.Variable(numpy.zeros((1000, 8), numpy.float32))
    noise = dis._add_noise(h).array
    assert noise.dtype == numpy.float32
    assert abs(float(noise.std()) - 0.2) < 0.01


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


@pytest.mark.parametrize('kwargs, words', [
    (dict(size=(128, 80)), 'multiples of 32'),
    (dict(size=(32, 32)), 'at least 2 pixels'),
    (dict(ch=7), 'multiple of 8'),
])
def test_discriminator_refuses_what_it_cannot_take(kwargs, words):
    with pytest.raises(SizeError, match=words):
        Discriminator(**kwargs)


def test_discriminator_refuses_an_unknown_head():
    with pytest.raises(ValueError, match="head must be one of"):
        Discriminator(head='global')


def test_forward_refuses_images_of_another_size(rng):
    with pytest.raises(SizeError, match='multiples of 16'):
        Generator(ch=8, size=32)(rng.random((1, 9, 40, 40), dtype='f'))
    with pytest.raises(ValueError, match='built for 64x64 images, got 96x64'):
        Discriminator(ch=8, size=64)(rng.random((1, 6, 96, 64), dtype='f'))
