"""Both networks: the reference article's parameter names, shapes and
initialisation, gradients as the maths says, options built from a config."""

import chainer
import chainer.functions as F
import numpy
import pytest

from cagan import Discriminator, Generator, precision, testing
from cagan.config import resolve
from cagan.errors import SizeError
from cagan.links import ResizeConvolution2D
from cagan.run import make_discriminator, make_generator


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


def test_forward_refuses_images_of_another_size(rng):
    with pytest.raises(SizeError, match='multiples of 16'):
        Generator(ch=8, size=32)(rng.random((1, 9, 40, 40), dtype='f'))
    with pytest.raises(ValueError, match='built for 64x64 images, got 96x64'):
        Discriminator(ch=8, size=64)(rng.random((1, 6, 96, 64), dtype='f'))


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
