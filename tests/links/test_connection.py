"""cagan.links.Convolution2D and Deconvolution2D: Chainer's links, with
Chainer's parameters, computed through cagan.kernels; ResizeConvolution2D:
upsampling and a 3x3 convolution, computed as a deconvolution.

The kernels themselves are tested in tests/kernels/test_connection.py."""

import chainer
import chainer.functions as F
import chainer.links as L
import numpy
import pytest
from chainer.functions.connection import convolution_2d as chainer_conv
from chainer.functions.connection import deconvolution_2d as chainer_deconv

from cagan import kernels, testing
from cagan.kernels import connection
from cagan.links import Convolution2D, Deconvolution2D, ResizeConvolution2D
from cagan.links.connection import _RESIZE_TAPS, _ResizeKernel

#: Each link: (ours, Chainer's, the kernels' function, the kernel's node,
#: Chainer's node).
LINKS = pytest.mark.parametrize('case', [
    (Convolution2D, L.Convolution2D, kernels.convolution_2d,
     connection.Convolution4x4S2, chainer_conv.Convolution2DFunction),
    (Deconvolution2D, L.Deconvolution2D, kernels.deconvolution_2d,
     connection.Deconvolution4x4S2, chainer_deconv.Deconvolution2DFunction),
], ids=['convolution', 'deconvolution'])


def twins(ours, theirs, *args):
    """The two links built alike, their weights drawn from one seed."""
    return [cls(*args, initialW=chainer.initializers.Normal(
        0.02, rng=numpy.random.default_rng(0)), initial_bias=0.5)
        for cls in (ours, theirs)]


@LINKS
def test_parameters_are_chainers(case):
    ours, theirs = case[:2]
    a, b = twins(ours, theirs, 3, 5, 4, 2, 1)
    assert isinstance(a, theirs)
    assert [(n, p.shape) for n, p in a.namedparams()] == \
        [(n, p.shape) for n, p in b.namedparams()] == [('/W', b.W.shape),
                                                       ('/b', (5,))]
    for p, q in zip(a.params(), b.params()):
        numpy.testing.assert_array_equal(p.array, q.array)


@pytest.mark.numerics
@LINKS
@pytest.mark.parametrize('ksize, stride, fast_path', [(4, 2, True),
                                                      (3, 1, False)])
def test_a_call_is_the_kernels_function(rng, case, ksize, stride, fast_path):
    ours, theirs, function, fast, chainers = case
    a, b = twins(ours, theirs, 3, 5, ksize, stride, 1)
    x = rng.standard_normal((2, 3, 8, 6)).astype(numpy.float32)
    with chainer.using_config('cagan_cpu_kernels', 'auto'):
        y = a(x)
        numpy.testing.assert_array_equal(
            y.array, function(x, a.W, a.b, stride, 1).array)
    assert type(y.creator) is (fast if fast_path else chainers)
    # 'never': Chainer's own link, bit for bit.
    with chainer.using_config('cagan_cpu_kernels', 'never'):
        y = a(x)
    assert type(y.creator) is chainers
    numpy.testing.assert_array_equal(y.array, b(x).array)


@LINKS
def test_parameters_are_made_on_the_first_call(rng, case):
    ours, fast = case[0], case[3]
    link = ours(None, 5, 4, 2, 1)
    with chainer.using_config('cagan_cpu_kernels', 'auto'):
        y = link(rng.standard_normal((2, 3, 8, 6)).astype(numpy.float32))
    assert link.W.shape[:2] == ((5, 3) if ours is Convolution2D else (3, 5))
    assert type(y.creator) is fast


def resize_then_convolve(x, W, b):
    """The literal resize-convolution: nearest x2, then a 3x3 convolution."""
    return F.convolution_2d(F.unpooling_2d(x, 2, 2, 0, cover_all=False),
                            W, b, 1, 1)


@pytest.mark.numerics
@pytest.mark.parametrize('switch, node', [
    ('auto', connection.Deconvolution4x4S2),
    ('never', chainer_deconv.Deconvolution2DFunction)])
def test_resize_convolution_is_upsampling_then_a_3x3_convolution(
        rng, switch, node):
    link = ResizeConvolution2D(3, 5, initialW=chainer.initializers.Normal(
        1.0, rng=numpy.random.default_rng(0)), initial_bias=0.5)
    assert isinstance(link, L.Convolution2D)
    assert [(n, p.shape) for n, p in link.namedparams()] == [
        ('/W', (5, 3, 3, 3)), ('/b', (5,))]
    x0 = rng.standard_normal((2, 3, 4, 6)).astype(numpy.float32)
    gy = rng.standard_normal((2, 5, 8, 12)).astype(numpy.float32)
    results = []
    for forward in (link, lambda x: resize_then_convolve(x, link.W, link.b)):
        x = chainer.Variable(x0.copy())
        link.cleargrads()
        with chainer.using_config('cagan_cpu_kernels', switch):
            y = forward(x)
        y.grad = gy
        y.backward()
        results.append((y, x.grad, link.W.grad.copy(), link.b.grad.copy()))
    assert type(results[0][0].creator) is node
    assert results[0][0].shape == (2, 5, 8, 12)
    for ours, literal in zip(results[0], results[1]):
        # Each output sums 36 products of unit-scale terms, each gradient
        # of W sums over the batch and the map.
        testing.assert_allclose(getattr(ours, 'array', ours),
                                getattr(literal, 'array', literal), 1e-5)


def test_resize_convolution_float16_and_lazy_parameters(rng):
    link = ResizeConvolution2D(None, 4)
    x = rng.standard_normal((1, 2, 4, 4)).astype(numpy.float32)
    assert link(x).shape == (1, 4, 8, 8) and link.W.shape == (4, 2, 3, 3)
    with chainer.using_config('dtype', numpy.float16):
        half = ResizeConvolution2D(2, 4)
    half.W.array[...] = link.W.array
    y = half(x.astype(numpy.float16))
    assert y.dtype == numpy.float16
    testing.assert_allclose(
        y.array, resize_then_convolve(x, link.W, link.b).array, 1e-2)


@pytest.mark.numerics
def test_the_resize_kernel_and_its_gradients_of_any_order(rng):
    W0 = rng.standard_normal((5, 3, 3, 3))
    gK0 = rng.standard_normal((3, 5, 4, 4))
    ggW0 = rng.standard_normal(W0.shape)
    taps = _RESIZE_TAPS.astype(W0.dtype)

    def kernel(w):
        return numpy.einsum('ocij,ai,bj->coab', w, taps, taps)

    def adjoint(g):
        return numpy.einsum('coab,ai,bj->ocij', g, taps, taps)

    W, gK = chainer.Variable(W0), chainer.Variable(gK0)
    K = _ResizeKernel().apply((W,))[0]
    testing.assert_allclose(K.array, kernel(W0), 1e-12)
    gW, = chainer.grad([F.sum(K * gK)], [W], enable_double_backprop=True)
    testing.assert_allclose(gW.array, adjoint(gK0), 1e-12)
    # The gradient's own gradient (with respect to gK) is the kernel again.
    ggK, = chainer.grad([F.sum(gW * ggW0)], [gK])
    testing.assert_allclose(ggK.array, kernel(ggW0), 1e-12)


def test_resize_convolution_takes_one_kernel_node_on_the_cpu(rng):
    link = ResizeConvolution2D(3, 4)
    x = rng.standard_normal((1, 3, 4, 4)).astype(numpy.float32)
    y = link(x)
    W = y.creator.inputs[1]
    assert type(W.creator) is _ResizeKernel
    with chainer.using_config('cagan_cpu_kernels', 'never'):
        assert type(link(x).creator.inputs[1].creator) is not _ResizeKernel
