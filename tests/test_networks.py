import chainer
import chainer.functions as F
import numpy
import pytest

from cagan import Discriminator, Generator, kernels, precision, testing
from cagan.config import resolve
from cagan.errors import ModelFileError, SizeError
from cagan.links import ResizeConvolution2D
from cagan.links._resample import average_pool_2x, beside, pyramid
from cagan.run import make_discriminator, make_generator
from cagan.serialization import load_npz

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
    # bn0 is built but unused in both of the reference article's networks;
    # the biases before an instance norm get zero, to rounding.
    gen = Generator(ch=8, size=32, seed=0)
    dis = Discriminator(ch=8, size=64, seed=0)
    for net, x in ((gen, rng.random((2, 9, 32, 32), dtype=numpy.float32)),
                   (dis, rng.random((2, 6, 64, 64), dtype=numpy.float32))):
        used, cancelled = testing.parameter_roles(net, x)
        assert {n for n, _ in net.namedparams()} - used == {
            '/bn0/gamma', '/bn0/beta'}
        net.cleargrads()
        F.sum(net(x) ** 2).backward()
        testing.assert_gradients_as_the_maths_says(net, x)


def test_the_biases_instance_norm_cancels_follow_the_structure():
    # A convolution straight into instance norm: c1..c3, dc0..dc2 in G (not
    # c0, which has no norm, nor dc3, the output); c1..c4 in D, c1..c3 with
    # the patch16 head, whose c5 has no norm.
    G = {'/c1/b', '/c2/b', '/c3/b', '/dc0/b', '/dc1/b', '/dc2/b'}
    for options in ({}, {'inject': True, 'upsample': 'resize'}):
        gen = Generator(ch=8, size=32, seed=0, **options)
        assert testing.cancelled_biases(gen) == G
        assert testing.cancelled_biases(gen, prefix='gen') == {
            'gen' + n for n in G}
    assert testing.cancelled_biases(Discriminator(ch=8, size=64)) == {
        '/c1/b', '/c2/b', '/c3/b', '/c4/b'}
    assert testing.cancelled_biases(Discriminator(
        ch=8, size=32, head='patch16', inject=True, spectral_norm=True)) == {
        '/c1/b', '/c2/b', '/c3/b'}


def test_noise_is_the_forward_passs_argument_float32_and_seeded(rng):
    pair = rng.random((2, 6, 64, 64), dtype=numpy.float32)
    dis = Discriminator(ch=8, size=64, seed=1)
    quiet = Discriminator(ch=8, size=64, noise_sigma=0)
    quiet.copyparams(dis)
    assert quiet.noise(0) is None and dis.noise(3, 1) == (0.2, 3, 1)
    with chainer.using_config('train', True):
        a, b = dis(pair).array, dis(pair).array  # no noise asked: none
        numpy.testing.assert_array_equal(a, b)
        numpy.testing.assert_array_equal(quiet(pair, noise=quiet.noise(0))
                                         .array, a)
        noisy1 = dis(pair, noise=dis.noise(0)).array
        noisy2 = dis(pair, noise=dis.noise(1)).array
        other_branch = dis(pair, noise=dis.noise(0, branch=1)).array
        # The same draws for the same step, twice in a row: the link
        # keeps no count.
        for _ in range(2):
            numpy.testing.assert_array_equal(
                dis(pair, noise=dis.noise(0)).array, noisy1)
    assert not numpy.array_equal(noisy1, a)
    assert not numpy.array_equal(noisy1, noisy2)
    assert not numpy.array_equal(noisy1, other_branch)
    # Same seed, same draws; in test mode too, when asked.
    again = Discriminator(ch=8, size=64, seed=1)
    with chainer.using_config('train', False):
        numpy.testing.assert_array_equal(
            again(pair, noise=again.noise(0)).array, noisy1)
    h = chainer.Variable(numpy.zeros((1000, 8), numpy.float32))
    noise = dis._add_noise(h, dis.noise(5)).array
    assert noise.dtype == numpy.float32
    assert abs(float(noise.std()) - 0.2) < 0.01
    half = dis._add_noise(h, dis.noise(5, sigma=0.1)).array
    testing.assert_allclose(half, noise / 2)


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


# --- Options: input re-injection, resize-convolution, patch16, spectral norm.

G_OPTIONS = pytest.mark.parametrize('inject, upsample', [
    (False, 'deconv'), (False, 'resize'), (True, 'deconv'), (True, 'resize')])
D_OPTIONS = pytest.mark.parametrize('inject, spectral_norm', [
    (False, False), (False, True), (True, False), (True, True)])
#: (head, a size it takes, its logits' shape for a batch of 2).
D_HEADS = pytest.mark.parametrize('head, size, logits', [
    ('linear', (64, 32), (2, 1)), ('patch', (64, 32), (2, 1, 2, 1)),
    ('patch16', (32, 32), (2, 1, 2, 2)), ('patch16', (64, 48), (2, 1, 4, 3))])


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


@D_HEADS
@D_OPTIONS
def test_discriminator_options_shapes_and_gradients(rng, head, size, logits,
                                                    inject, spectral_norm):
    dis = Discriminator(ch=8, size=size, head=head, seed=0, inject=inject,
                        spectral_norm=spectral_norm)
    pair = rng.random((2, 6) + size, dtype=numpy.float32)
    dis.cleargrads()
    # Train mode: a power iteration; and noise.
    out = dis(pair, noise=dis.noise(0))
    assert out.shape == logits and out.dtype == numpy.float32
    F.sum(out ** 2).backward()
    testing.assert_gradients_as_the_maths_says(dis, pair)


def param_shapes(link):
    return sorted((n, p.shape) for n, p in link.namedparams())


def test_default_options_are_the_reference_articles_layers():
    ch = 16
    conv = [(9, 2), (2, 4), (4, 8), (8, 16)]
    deconv = [(16, 8), (8, 4), (4, 2), (2, 4)]
    expected = sorted(
        [('/c{}/W'.format(k), (o, i, 4, 4)) for k, (i, o) in enumerate(conv)]
        + [('/c{}/b'.format(k), (o,)) for k, (i, o) in enumerate(conv)]
        + [('/dc{}/W'.format(k), (i, o, 4, 4))
           for k, (i, o) in enumerate(deconv)]
        + [('/dc{}/b'.format(k), (o,)) for k, (i, o) in enumerate(deconv)]
        + [('/{}/{}'.format(n, p), (c,)) for n, c in (
            ('bn0', 2), ('bn1', 4), ('bn2', 8), ('bn3', 16), ('dbn0', 8),
            ('dbn1', 4), ('dbn2', 2)) for p in ('gamma', 'beta')])
    assert param_shapes(Generator(ch=ch, size=32)) == expected
    assert param_shapes(Generator(ch=ch, size=32, inject=False,
                                  upsample='deconv')) == expected
    dis = Discriminator(ch=ch, size=64)
    assert param_shapes(dis) == param_shapes(Discriminator(
        ch=ch, size=64, inject=False, spectral_norm=False))
    assert dis.c4.W.shape == (16, 16, 4, 4) and dis.l4.W.shape == (1, 64)
    assert not dis.c0.local_link_hooks and not hasattr(dis.c0, 'W_u')


def test_options_keep_the_default_weights_draws():
    # The same seed draws the same weights whatever the options, where the
    # shapes agree: turning an option on changes nothing else.
    plain = Generator(ch=8, size=32, seed=5)
    resize = Generator(ch=8, size=32, seed=5, upsample='resize')
    for name in ('c0', 'c1', 'c2', 'c3'):
        numpy.testing.assert_array_equal(getattr(plain, name).W.array,
                                         getattr(resize, name).W.array)
    dis = Discriminator(ch=8, size=64, seed=5)
    normed = Discriminator(ch=8, size=64, seed=5, spectral_norm=True)
    for (n, p), (m, q) in zip(sorted(dis.namedparams()),
                              sorted(normed.namedparams())):
        assert n == m
        numpy.testing.assert_array_equal(p.array, q.array)


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


def test_pyramid_is_average_pooling_with_its_gradients(rng):
    x = rng.standard_normal((2, 3, 16, 8))
    copies = pyramid(x, 3)
    assert sorted(copies) == [1, 2, 4, 8]
    for scale, copy in copies.items():
        testing.assert_allclose(
            copy.array, F.average_pooling_2d(x, scale).array)
    # First and second order gradients are Chainer's pooling's.
    gy0, ggx = rng.standard_normal((2, 3, 8, 4)), rng.standard_normal(x.shape)
    grads = []
    for pool in (average_pool_2x, lambda v: F.average_pooling_2d(v, 2)):
        v = chainer.Variable(x)
        gy = chainer.Variable(gy0)
        gx, = chainer.grad([pool(v)], [v], [gy], enable_double_backprop=True)
        ggy, = chainer.grad([F.sum(gx * ggx)], [gy])
        grads.append((gx.array, ggy.array))
    for ours, theirs in zip(*grads):
        testing.assert_allclose(ours, theirs)
    h = chainer.Variable(rng.standard_normal((2, 5, 4, 2)))
    assert beside(h, None, 4) is h
    both = beside(h, copies, 4).array
    assert both.shape == (2, 8, 4, 2)
    numpy.testing.assert_array_equal(both[:, 5:], copies[4].array)


def test_resize_builds_convolutions_not_deconvolutions():
    gen = Generator(ch=16, size=32, upsample='resize', inject=True)
    for name, (i, o) in zip(('dc0', 'dc1', 'dc2', 'dc3'),
                            [(25, 8), (17, 4), (13, 2), (11, 4)]):
        link = gen[name]
        assert isinstance(link, ResizeConvolution2D)
        assert link.W.shape == (o, i, 3, 3) and link.b.shape == (o,)
    assert not any(p.ndim == 4 and p.shape[2:] == (4, 4) for n, p in
                   gen.namedparams() if n.startswith('/dc'))


def test_patch16_head_on_the_stride_16_map(rng):
    dis = Discriminator(ch=8, size=(128, 96), head='patch16', seed=0)
    assert not hasattr(dis, 'c4') and not hasattr(dis, 'bn4')
    assert dis.c5.W.shape == (1, 8, 3, 3)
    names = sorted(n for n, _ in dis.namedparams())
    assert '/c4/W' not in names and '/bn4/gamma' not in names
    with chainer.using_config('train', False):
        logits = dis(rng.random((1, 6, 128, 96), dtype=numpy.float32))
    assert logits.shape == (1, 1, 8, 6)


@pytest.mark.parametrize('head, size, words', [
    ('patch16', (40, 48), 'multiples of 16'),
    ('patch16', (16, 16), 'at least 2 pixels'),
    ('linear', (64, 48), 'multiples of 32'),
    ('patch', (48, 48), 'multiples of 32'),
])
def test_heads_refuse_sizes_they_cannot_take(head, size, words):
    with pytest.raises(SizeError, match=words) as info:
        Discriminator(ch=8, size=size, head=head)
    assert '\n' not in str(info.value)
    Discriminator(ch=8, size=(48, 48), head='patch16')


def test_generator_refuses_an_unknown_upsampling():
    with pytest.raises(ValueError, match="upsample must be one of"):
        Generator(ch=8, size=32, upsample='bilinear')


def power_iteration_sigma(link):
    """The hook's sigma estimate for ``link`` from its saved ``W_u``."""
    W = link.W.array.reshape(link.W.shape[0], -1)
    v = link.W_u @ W
    v /= numpy.linalg.norm(v) + 1e-6
    u = W @ v
    u /= numpy.linalg.norm(u) + 1e-6
    return u @ W @ v


def test_spectral_norm_normalises_every_weight(rng):
    dis = Discriminator(ch=8, size=32, head='patch16', seed=0,
                        spectral_norm=True, noise_sigma=0)
    hooked = [n for n in ('c0', 'c1', 'c2', 'c3', 'c5')
              if 'SpectralNormalization' in dis[n].local_link_hooks]
    assert hooked == ['c0', 'c1', 'c2', 'c3', 'c5']
    assert not dis.bn1.local_link_hooks
    linear = Discriminator(ch=8, size=64, spectral_norm=True)
    assert 'SpectralNormalization' in linear.l4.local_link_hooks
    pair = rng.random((1, 6, 32, 32), dtype=numpy.float32)
    with chainer.using_config('train', True):
        for _ in range(10):  # one power iteration each
            dis(pair)
    for name in hooked:
        link = dis[name]
        W = link.W.array.reshape(link.W.shape[0], -1)
        top = numpy.linalg.svd(W / power_iteration_sigma(link),
                               compute_uv=False)[0]
        assert abs(top - 1) < 1e-2, (name, top)


def test_spectral_norm_reaches_our_convolution_kernel(rng):
    dis = Discriminator(ch=16, size=64, seed=0, spectral_norm=True)
    link = dis.c1
    h = rng.standard_normal((2, 2, 16, 16)).astype(numpy.float32)
    with chainer.using_config('train', False):  # u left as it is
        y = link(h)
    assert type(y.creator) is kernels.connection.Convolution4x4S2
    sigma = power_iteration_sigma(link)
    expected = F.convolution_2d(h, link.W.array / sigma, link.b, 2, 1)
    testing.assert_allclose(y.array, expected.array)
    unnormalised = F.convolution_2d(h, link.W, link.b, 2, 1).array
    assert numpy.abs(y.array - unnormalised).max() > 0.1 * numpy.abs(
        unnormalised).max()
    # W is still the Parameter the optimizer updates, and gets a gradient.
    assert isinstance(link.W, chainer.Parameter)
    link.cleargrads()
    F.sum(link(h) ** 2).backward()
    assert numpy.abs(link.W.grad).sum() > 0


def test_spectral_norm_vectors_follow_the_seed_not_numpy(rng):
    state = numpy.random.get_state()[1].copy()
    a, b, c = (Discriminator(ch=8, size=64, seed=s, spectral_norm=True)
               for s in (1, 1, 2))
    numpy.testing.assert_array_equal(numpy.random.get_state()[1], state)
    numpy.testing.assert_array_equal(a.c2.W_u, b.c2.W_u)
    assert not numpy.array_equal(a.c2.W_u, c.c2.W_u)
    assert a.c2.W_u.shape == (4,) and a.l4.W_u.shape == (1,)


def test_spectral_norm_vectors_are_saved_and_loaded(tmp_path, rng):
    dis = Discriminator(ch=8, size=64, seed=0, spectral_norm=True)
    pair = rng.random((2, 6, 64, 64), dtype=numpy.float32)
    with chainer.using_config('train', True):
        for _ in range(3):
            dis(pair)
    chainer.serializers.save_npz(str(tmp_path / 'dis.npz'), dis)
    assert 'c3/W_u' in numpy.load(str(tmp_path / 'dis.npz')).files
    again = Discriminator(ch=8, size=64, seed=1, spectral_norm=True)
    load_npz(tmp_path / 'dis.npz', again)
    numpy.testing.assert_array_equal(again.c3.W_u, dis.c3.W_u)
    # Resumed: the same noise and the same power iterations from here on.
    again.seed_noise(0)
    with chainer.using_config('train', True):
        for step in range(2):
            numpy.testing.assert_array_equal(
                again(pair, noise=again.noise(step)).array,
                dis(pair, noise=dis.noise(step)).array)
    for name in ('c0', 'c1', 'c2', 'c3', 'c4', 'l4'):
        numpy.testing.assert_array_equal(again[name].W_u, dis[name].W_u)
    # Weights saved without it do not pass for a normalised network's.
    chainer.serializers.save_npz(str(tmp_path / 'plain.npz'),
                                 Discriminator(ch=8, size=64))
    with pytest.raises(ModelFileError, match="lacks 'c0/W_u'"):
        load_npz(tmp_path / 'plain.npz', again)


def test_options_under_mixed_precision(rng):
    with precision.building('mixed16'):
        gen16 = Generator(ch=8, size=32, seed=0, inject=True,
                          upsample='resize')
        dis16 = Discriminator(ch=8, size=32, head='patch16', seed=0,
                              inject=True, spectral_norm=True, noise_sigma=0)
    gen = Generator(ch=8, size=32, seed=0, inject=True, upsample='resize')
    dis = Discriminator(ch=8, size=32, head='patch16', seed=0, inject=True,
                        spectral_norm=True, noise_sigma=0)
    assert dis16.c1.W.dtype == dis16.c1.W_u.dtype == numpy.float16
    x = rng.random((2, 9, 32, 32), dtype=numpy.float32)
    pair = rng.random((2, 6, 32, 32), dtype=numpy.float32)
    dis16.cleargrads()
    for ours, theirs, inputs in ((gen16, gen, x), (dis16, dis, pair)):
        with chainer.using_config('train', False):
            half, full = ours(inputs), theirs(inputs)
        assert half.dtype == numpy.float32
        testing.assert_allclose(half.array, full.array, rtol=2e-2)
    F.sum(dis16(pair) ** 2).backward()
    assert all(numpy.isfinite(p.grad).all() for n, p in dis16.namedparams()
               if not n.startswith('/bn0/'))


@pytest.mark.parametrize('gen_copies, dis_copies', [
    (False, False), (True, False), (False, True), (True, True)])
def test_config_keys_build_the_options(gen_copies, dis_copies):
    config = resolve({'data': {'size': '32x32'}, 'model': {
        'ch': 8, 'gen': {'inject': gen_copies, 'upsample': 'resize'},
        'dis': {'head': 'patch16', 'spectral_norm': True,
                'inject': dis_copies}}}, 'test')
    gen, dis = make_generator(config, seed=0), make_discriminator(config)
    assert gen.inject == gen_copies and dis.inject == dis_copies
    assert isinstance(gen.dc0, ResizeConvolution2D)
    assert dis.head == 'patch16' and hasattr(dis.c0, 'W_u')
