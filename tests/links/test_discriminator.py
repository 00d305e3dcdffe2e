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


#: The article encoder's layers for a head's number of stride-2 layers.
PROJ = {4: ['proj_c0', 'proj_c1', 'proj_c2', 'proj_c3'],
        5: ['proj_c0', 'proj_c1', 'proj_c2', 'proj_c3', 'proj_c4']}


@D_HEADS
@pytest.mark.parametrize('inject, spectral_norm', [(False, False),
                                                   (True, True)])
def test_projection_shapes_and_gradients(rng, head, size, logits, inject,
                                         spectral_norm):
    dis = Discriminator(ch=8, size=size, head=head, seed=0, inject=inject,
                        spectral_norm=spectral_norm, projection=True)
    pair = rng.random((2, 6) + size, dtype=numpy.float32)
    dis.cleargrads()
    out = dis(pair, noise=dis.noise(0))  # train mode, noise
    assert out.shape == logits and out.dtype == numpy.float32
    F.sum(out ** 2).backward()
    testing.assert_gradients_as_the_maths_says(dis, pair)
    # The encoder's biases get gradients: no instance norm cancels them.
    assert all(numpy.abs(dis[n].b.grad).max() > 0 for n in PROJ[dis.n_down])


@pytest.mark.parametrize('head', ['linear', 'patch16'])
@pytest.mark.parametrize('spectral_norm', [False, True])
def test_projection_adds_layers_and_leaves_the_rest_as_it_was(head,
                                                              spectral_norm):
    plain = Discriminator(ch=8, size=64, head=head, seed=3,
                          spectral_norm=spectral_norm)
    dis = Discriminator(ch=8, size=64, head=head, seed=3,
                        spectral_norm=spectral_norm, projection=True)
    assert not plain.projection and dis.projection
    names = sorted(n for n, _ in plain.namedparams())
    assert not [n for n in names if 'proj' in n]
    params = dict(dis.namedparams())
    added = ['/{}/{}'.format(n, p) for n in PROJ[dis.n_down]
             for p in ('W', 'b')]
    assert sorted(params) == sorted(names + added)
    assert dis.proj_c0.W.shape == (1, 3, 4, 4)
    assert dis['proj_c{}'.format(dis.n_down - 1)].W.shape[0] == 8
    # The same draws for the reference article's weights (and u vectors).
    for name, param in plain.namedparams():
        numpy.testing.assert_array_equal(params[name].array, param.array)
    for link in plain.children():
        if spectral_norm and hasattr(link, 'W_u'):
            numpy.testing.assert_array_equal(dis[link.name].W_u, link.W_u)
    for name in PROJ[dis.n_down]:
        hooked = 'SpectralNormalization' in dis[name].local_link_hooks
        assert hooked == spectral_norm == hasattr(dis[name], 'W_u')


class HeadInput(chainer.LinkHook):
    """Keeps the map the head's layer (``c5`` or ``l4``) reads."""

    name = 'HeadInput'

    def forward_preprocess(self, args):
        if args.link.name in ('c5', 'l4'):
            self.map = args.args[0].array


def projection_by_hand(dis, pair, phi):
    """``<e(y), phi>``: the article encoder with Chainer's functions, its
    map averaged over positions, times ``phi`` over channels; for the
    linear head summed over positions."""
    y = pair[:, 3:]
    layers = PROJ[dis.n_down]
    for i, name in enumerate(layers, 1):
        y = F.convolution_2d(y, dis[name].W, dis[name].b, 2, 1).array
        if i < len(layers):
            y = numpy.where(y > 0, y, 0.2 * y)
    e = y.mean(axis=(2, 3))
    term = numpy.einsum('bc,bchw->bhw', e, phi)[:, None]
    return term.sum(axis=(2, 3)) if dis.head == 'linear' else term


@pytest.mark.parametrize('head', ['linear', 'patch', 'patch16'])
def test_the_projection_term_is_the_articles_embedding_times_the_features(
        rng, head):
    size = (64, 32)
    # Wide weights: a term near the logits' size, not in their rounding.
    plain = Discriminator(ch=16, size=size, head=head, seed=4, wscale=0.2)
    dis = Discriminator(ch=16, size=size, head=head, seed=4, wscale=0.2,
                        projection=True)
    x = images(rng, size)
    # A random article and a plain one of a random colour.
    plain_colour = numpy.broadcast_to(rng.random((2, 3, 1, 1), 'f'),
                                      (2, 3) + size)
    articles = images(rng, size), plain_colour
    hook = HeadInput()
    terms = []
    with chainer.using_config('train', False), hook:
        for y in articles:
            pair = numpy.concatenate((x, y), axis=1)
            base = plain(pair).array
            phi = hook.map
            with_term = dis(pair).array
            numpy.testing.assert_array_equal(hook.map, phi)  # held
            expected = projection_by_hand(dis, pair, phi)
            assert expected.shape == base.shape
            testing.assert_allclose(with_term - base, expected, rtol=1e-4,
                                    scale=numpy.abs(expected).max())
            terms.append(with_term - base)
        # The same person, another article: another term.
        assert not numpy.allclose(terms[0], terms[1], rtol=0.1, atol=0)
        # An encoder that gives e(y) = 0 leaves D's logits as they were.
        last = dis['proj_c{}'.format(dis.n_down - 1)]
        last.W.array[...] = 0
        last.b.array[...] = 0
        numpy.testing.assert_array_equal(dis(pair).array, plain(pair).array)


def test_projection_with_noise_is_seeded_and_keeps_the_rests_draws(rng):
    pair = rng.random((2, 6, 64, 64), dtype=numpy.float32)
    plain = Discriminator(ch=8, size=64, head='patch', seed=2)
    dis = Discriminator(ch=8, size=64, head='patch', seed=2,
                        projection=True)
    with chainer.using_config('train', True):
        noisy = dis(pair, noise=dis.noise(0)).array
        numpy.testing.assert_array_equal(
            dis(pair, noise=dis.noise(0)).array, noisy)
        assert not numpy.array_equal(dis(pair, noise=dis.noise(1)).array,
                                     noisy)
        # The reference article's path draws what it draws without the
        # encoder, which draws after it: the head's map is the same.
        hook = HeadInput()
        with hook:
            plain(pair, noise=plain.noise(0))
            phi = hook.map
            dis(pair, noise=dis.noise(0))
        numpy.testing.assert_array_equal(hook.map, phi)


def test_projection_under_mixed_precision_and_saved_vectors(rng, tmp_path):
    from cagan import precision
    options = dict(ch=8, size=32, head='patch16', seed=0, inject=True,
                   spectral_norm=True, noise_sigma=0, projection=True)
    with precision.building('mixed16'):
        dis16 = Discriminator(**options)
    dis = Discriminator(**options)
    assert dis16.proj_c2.W.dtype == dis16.proj_c2.W_u.dtype == numpy.float16
    pair = rng.random((2, 6, 32, 32), dtype=numpy.float32)
    with chainer.using_config('train', False):
        half, full = dis16(pair), dis(pair)
    assert half.dtype == numpy.float32
    testing.assert_allclose(half.array, full.array, rtol=2e-2)
    dis16.cleargrads()
    F.sum(dis16(pair) ** 2).backward()
    assert all(numpy.isfinite(p.grad).all() for n, p in dis16.namedparams()
               if not n.startswith('/bn0/'))
    chainer.serializers.save_npz(str(tmp_path / 'dis.npz'), dis)
    assert 'proj_c3/W_u' in numpy.load(str(tmp_path / 'dis.npz')).files
    again = Discriminator(**dict(options, seed=1))
    load_npz(tmp_path / 'dis.npz', again)
    numpy.testing.assert_array_equal(again.proj_c3.W_u, dis.proj_c3.W_u)
    numpy.testing.assert_array_equal(again.proj_c3.W.array,
                                     dis.proj_c3.W.array)
