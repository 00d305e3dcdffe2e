"""cagan.links.warp: the article warped onto the person, and the warping
generator built on it."""

import chainer
import chainer.functions as F
import numpy
import pytest

from cagan import Generator, testing
from cagan.links.warp import (SILHOUETTE_HIGH, SILHOUETTE_LOW, Warp,
                              cubic_matrix, grid_basis, silhouette)
from tests.links.helpers import images


@pytest.mark.parametrize('n_out, n_in', [(64, 6), (48, 6), (7, 4), (6, 6)])
def test_cubic_interpolation_keeps_constants_and_the_ends(n_out, n_in):
    m = cubic_matrix(n_out, n_in)
    numpy.testing.assert_allclose(m.sum(axis=1), 1, atol=1e-12)
    numpy.testing.assert_allclose(m[0], numpy.eye(n_in)[0], atol=1e-12)
    numpy.testing.assert_allclose(m[-1], numpy.eye(n_in)[-1], atol=1e-12)


def test_cubic_interpolation_passes_through_its_points():
    # 6 points onto 11 pixels: every other pixel is a point.
    m = cubic_matrix(11, 6)
    numpy.testing.assert_allclose(m[::2], numpy.eye(6), atol=1e-12)
    # Keys' kernel reproduces a straight line away from the clamped ends.
    line = numpy.arange(6.0)
    numpy.testing.assert_allclose((m @ line)[2:-2], numpy.arange(2, 9) / 2,
                                  atol=1e-12)


def test_the_basis_holds_the_identity_and_the_offsets():
    basis = grid_basis((4, 3), 6)
    assert basis.shape == (3 + 36, 12) and basis.dtype == numpy.float32
    xs, ys, ones = basis[:3].reshape(3, 4, 3)
    numpy.testing.assert_allclose(xs[0], [-1, 0, 1])
    numpy.testing.assert_allclose(ys[:, 0], [-1, -1 / 3, 1 / 3, 1],
                                  rtol=1e-6)
    assert (ones == 1).all()
    # The offsets' weights at each pixel sum to 1: a constant offset moves
    # every pixel by that much.
    numpy.testing.assert_allclose(basis[3:].sum(axis=0), 1, atol=1e-6)
    assert grid_basis((4, 3), 0).shape == (3, 12)


def test_the_silhouette_is_what_is_not_white():
    y = numpy.ones((1, 3, 2, 3), dtype=numpy.float32)
    y[0, :, 0, 0] = (1, 1, 0.2)                  # a yellow pixel
    y[0, :, 0, 1] = 1 - SILHOUETTE_LOW / 2       # near-white paper
    y[0, :, 0, 2] = 1 - SILHOUETTE_HIGH          # light grey: the article
    mid = (SILHOUETTE_LOW + SILHOUETTE_HIGH) / 2
    y[0, 1, 1, 0] = 1 - mid                      # an antialiased edge
    m = silhouette(y).array
    assert m.shape == (1, 1, 2, 3)
    numpy.testing.assert_allclose(m[0, 0], [[1, 0, 1], [0.5, 0, 0]],
                                  atol=1e-5)


def test_the_warp_starts_as_the_identity(rng):
    size = (32, 48)
    for kind in ('affine', 'grid'):
        warp = Warp(size, kind, seed=0)
        x, y = images(rng, size), images(rng, size)
        w, m = warp(x, y)
        assert w.shape == (2, 3) + size and m.shape == (2, 1) + size
        # Sampled at the pixels' own centres: the photo itself.
        testing.assert_allclose(w.array, y)
        testing.assert_allclose(m.array, silhouette(y).array)


def test_an_affine_shift_moves_the_photo_by_whole_pixels(rng):
    size = (16, 32)
    warp = Warp(size, 'affine', seed=0)
    # theta's x row's constant: 2 / (W - 1) is one pixel.
    warp.l4.b.array[2] = 3 * 2 / (size[1] - 1)
    x, y = images(rng, size), images(rng, size)
    w, _ = warp(x, y)
    # Output pixel (r, c) reads the photo at column c + 3; the last three
    # columns read beyond it, zeros.
    numpy.testing.assert_allclose(w.array[..., :-3], y[..., 3:], atol=1e-5)
    numpy.testing.assert_allclose(w.array[..., -3:], 0, atol=1e-5)


def test_grid_offsets_are_bounded(rng):
    size = (32, 32)
    warp = Warp(size, 'grid', seed=0, bound=0.3)
    # Per coordinate: the affine row's 3 numbers, then the 36 offsets.
    warp.l4.b.array.reshape(2, 39)[:, 3:] = 100.0   # far past the bound
    g = warp.grid(images(rng, size), images(rng, size)).array
    identity = grid_basis(size, 0)[:2].reshape((2,) + size)
    numpy.testing.assert_allclose(g - identity, 0.3, atol=1e-5)


def test_the_warp_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match='affine'):
        Warp(32, 'flow')
    with pytest.raises(ValueError, match='warp must be one of'):
        Generator(ch=8, size=32, warp='flow')


def test_a_warping_generator_feeds_the_warp_to_its_network():
    gen = Generator(ch=16, size=32, warp='grid', inject=True)
    # The triplet, the warped article and its silhouette.
    assert gen.c0.W.shape == (2, 13, 4, 4)
    assert gen.c1.W.shape[1] == 2 + 13
    assert isinstance(gen.warp, Warp) and gen.warp.points == 6
    names = {name for name, _ in gen.namedparams()}
    assert '/warp/l4/W' in names
    assert not any('warp' in n
                   for n, _ in Generator(ch=16, size=32).namedparams())


@pytest.mark.numerics
def test_inside_the_silhouette_the_swap_shows_the_warped_article(rng):
    size = (32, 32)
    gen = Generator(ch=8, size=size, seed=0, warp='affine')
    x_i, y_i = images(rng, size), images(rng, size)
    # A dark article fills its photo: its silhouette is everywhere, so the
    # image is the (identity-)warped article itself, whatever G paints.
    y_j = 0.5 * images(rng, size)
    gen.dc3.b.array[3] = 100.0                       # alpha = 1
    x_ij, alpha = gen.swap(x_i, y_i, y_j)
    numpy.testing.assert_allclose(x_ij.array, y_j, atol=1e-5)
    # On white, the silhouette is empty: the image is G's own pixels.
    blank = numpy.ones_like(y_j)
    raw = gen(numpy.concatenate((x_i, y_i, blank), axis=1)).array
    assert numpy.abs(raw[:, :3] - blank).max() > 0.1
    x_ij, _ = gen.swap(x_i, y_i, blank)
    numpy.testing.assert_allclose(x_ij.array, raw[:, :3], atol=1e-6)


@pytest.mark.parametrize('kind', ['affine', 'grid'])
def test_the_warp_learns_through_the_generator(rng, kind):
    size = (32, 32)
    gen = Generator(ch=8, size=size, seed=0, warp=kind, inject=True,
                    upsample='resize')
    x = chainer.Variable(rng.random((2, 9) + size, dtype=numpy.float32))
    gen.cleargrads()
    F.sum(gen(x) ** 2).backward()
    # l4 starts at zero: its own gradient is not, but nothing before it
    # can get one (the chain rule multiplies by l4.W = 0).
    assert numpy.abs(gen.warp.l4.W.grad).max() > 0
    for name in ('c0', 'c1', 'c2', 'c3'):
        assert numpy.abs(gen.warp[name].W.grad).max() == 0
    # Once l4 has moved, every layer of the warp learns.
    gen.warp.l4.W.array[...] = rng.normal(
        0, 0.01, gen.warp.l4.W.shape).astype(numpy.float32)
    gen.cleargrads()
    F.sum(gen(x) ** 2).backward()
    testing.assert_gradients_as_the_maths_says(gen, x)
