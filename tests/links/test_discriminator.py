"""cagan.Discriminator: the reference article's discriminator, its heads,
noise and spectral normalisation."""

import chainer
import chainer.functions as F
import numpy
import pytest

from cagan import Discriminator, kernels, testing
from cagan.errors import ModelFileError, SizeError
from cagan.serialization import load_npz
from tests.links.helpers import images


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


D_OPTIONS = pytest.mark.parametrize('inject, spectral_norm', [
    (False, False), (False, True), (True, False), (True, True)])
#: (head, a size it takes, its logits' shape for a batch of 2).
D_HEADS = pytest.mark.parametrize('head, size, logits', [
    ('linear', (64, 32), (2, 1)), ('patch', (64, 32), (2, 1, 2, 1)),
    ('patch16', (32, 32), (2, 1, 2, 2)), ('patch16', (64, 48), (2, 1, 4, 3))])


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
