"""cagan.kernels.connection: the 4x4 / stride 2 / pad 1 convolution and
deconvolution agree with Chainer's own functions, outputs and gradients."""

import chainer
import chainer.functions as F
import numpy
import pytest

from cagan.kernels import connection
from tests.kernels.helpers import (assert_close, assert_matches,
                                   forward_backward, magnitudes, values)

pytestmark = pytest.mark.numerics

# (batch, in channels, out channels, height, width) of the convolution's
# input; the deconvolution takes the same numbers as (B, C_in, C_out, h, w).
SHAPES = [(1, 3, 5, 8, 6), (3, 4, 2, 6, 8), (2, 9, 8, 16, 16),
          (3, 1, 1, 2, 2), (1, 7, 33, 4, 10)]


@pytest.fixture(params=['phases', 'col2im'])
def form(request, monkeypatch):
    """Run a test with each form of the gradients (see _GradX)."""
    monkeypatch.setattr(connection, '_use_phases',
                        lambda *args: request.param == 'phases')
    return request.param


@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('bias', [True, False])
@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_convolution_matches_chainer(rng, form, shape, bias, dtype):
    B, C, O, H, W = shape
    x, w = values(rng, (B, C, H, W), dtype), values(rng, (O, C, 4, 4), dtype)
    b = values(rng, (O,), dtype) if bias else None
    gy = values(rng, (B, O, H // 2, W // 2), dtype)
    assert_matches(connection.convolution_2d, F.convolution_2d, x, w, b, gy)


@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('bias', [True, False])
@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_deconvolution_matches_chainer(rng, form, shape, bias, dtype):
    B, C, O, h, w = shape
    x, W = values(rng, (B, C, h, w), dtype), values(rng, (C, O, 4, 4), dtype)
    b = values(rng, (O,), dtype) if bias else None
    gy = values(rng, (B, O, 2 * h, 2 * w), dtype)
    assert_matches(connection.deconvolution_2d, F.deconvolution_2d, x, W, b,
                   gy)


@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('name', ['convolution_2d', 'deconvolution_2d'])
def test_weight_gradient_alone_matches_chainer(rng, form, shape, name):
    # An input that needs no gradient (a network's data) takes the paths
    # that compute the weight gradient alone.
    B, C, O, H, W = shape
    x = values(rng, (B, C, H, W))
    if name == 'convolution_2d':
        w, gy = values(rng, (O, C, 4, 4)), values(rng, (B, O, H // 2, W // 2))
    else:
        w, gy = values(rng, (C, O, 4, 4)), values(rng, (B, O, 2 * H, 2 * W))

    def run(fn, x, w, gy):
        wv = chainer.Variable(w.copy())
        y = fn(x, wv, None, 2, 1)
        y.grad = gy.copy()
        y.backward()
        return [y.array, wv.grad]
    # Chainer's own deconvolution fails to give W's gradient alone (its
    # backward passes arrays where it unpacks shapes): its reference
    # computes x's gradient too, which changes nothing in W's.
    ref = getattr(F, name)
    y_scale, _, gw_scale = magnitudes(ref, x, w, None, gy)
    assert_close(run(getattr(connection, name), x, w, gy),
                 run(ref, chainer.Variable(x), w, gy), [y_scale, gw_scale])


def test_deconvolution_with_its_own_outsize(rng):
    x, W = values(rng, (2, 3, 4, 5)), values(rng, (3, 2, 4, 4))
    gy = values(rng, (2, 2, 8, 10))
    assert_close(
        forward_backward(connection.deconvolution_2d, x, W, None, gy,
                         outsize=(8, 10)),
        forward_backward(F.deconvolution_2d, x, W, None, gy),
        magnitudes(F.deconvolution_2d, x, W, None, gy))


def test_chunks_cover_the_batch(rng, monkeypatch, form):
    # Tiny chunks: every array goes through several batch slices.
    monkeypatch.setattr(connection, '_CHUNK_BYTES', 1)
    monkeypatch.setattr(connection, '_MIN_ROWS', 1)
    x, W = values(rng, (5, 3, 8, 6)), values(rng, (4, 3, 4, 4))
    b, gy = values(rng, (4,)), values(rng, (5, 4, 4, 3))
    assert_matches(connection.convolution_2d, F.convolution_2d, x, W, b, gy)
    Wd, gyd = values(rng, (3, 4, 4, 4)), values(rng, (5, 4, 16, 12))
    assert_matches(connection.deconvolution_2d, F.deconvolution_2d,
                   x, Wd, b, gyd)


@pytest.mark.parametrize('case', [
    dict(stride=1, pad=1),                       # other stride
    dict(stride=2, pad=0),                       # other pad
    dict(stride=2, pad=1, ksize=3),              # other kernel
    dict(stride=2, pad=1, size=(7, 6)),          # odd height
    dict(stride=2, pad=1, dtype=numpy.float16),  # other dtype
])
def test_other_cases_are_chainers(rng, monkeypatch, case):
    def refuse(*args, **kwargs):
        raise AssertionError('the fast path was taken')
    monkeypatch.setattr(connection.Convolution4x4S2, 'forward', refuse)
    dtype = case.get('dtype', numpy.float32)
    k = case.get('ksize', 4)
    x = values(rng, (2, 3) + case.get('size', (8, 6)), dtype)
    W, b = values(rng, (4, 3, k, k), dtype), values(rng, (4,), dtype)
    ours = connection.convolution_2d(x, W, b, case['stride'], case['pad'])
    theirs = F.convolution_2d(x, W, b, case['stride'], case['pad'])
    numpy.testing.assert_array_equal(ours.array, theirs.array)


def test_double_backward_matches_chainer(rng, form):
    # Second-order gradients run through the nodes' own backward graphs.
    x, W = values(rng, (2, 3, 8, 6), numpy.float64), \
        values(rng, (4, 3, 4, 4), numpy.float64)
    Wd = values(rng, (3, 4, 4, 4), numpy.float64)
    for fn, ref, w in ((connection.convolution_2d, F.convolution_2d, W),
                       (connection.deconvolution_2d, F.deconvolution_2d, Wd)):
        grads = []
        for f in (fn, ref):
            xv, wv = chainer.Variable(x.copy()), chainer.Variable(w.copy())
            y = f(xv, wv, None, 2, 1)
            gx, gw = chainer.grad([F.sum(y * y)], [xv, wv],
                                  enable_double_backprop=True)
            xv.cleargrad()
            wv.cleargrad()
            (F.sum(gx * gx) + F.sum(F.sin(gw))).backward()
            grads.append([gx.array, gw.array, xv.grad, wv.grad])
        assert_close(grads[0], grads[1])
