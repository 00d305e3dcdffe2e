"""cagan.kernels.activation: ReLU and leaky ReLU give Chainer's floats, bit
for bit."""

import chainer
import chainer.functions as F
import numpy
import pytest

from cagan.kernels import activation
from tests.kernels.helpers import assert_close, values

pytestmark = pytest.mark.numerics


def assert_exactly_chainers(theirs, ours, rng, dtype):
    """``ours`` gives the same floats as ``theirs`` (an activation), output
    and gradient, signed zeros, NaN and infinities included."""
    x = values(rng, (3, 5, 7, 11), dtype)
    x.flat[:6] = [0.0, -0.0, numpy.nan, -numpy.inf, numpy.inf, -1e-30]
    gy = values(rng, x.shape, dtype)
    gy.flat[6:8] = [numpy.inf, numpy.nan]
    results = []
    for fn in (theirs, ours):
        xv = chainer.Variable(x.copy())
        with numpy.errstate(invalid='ignore'):  # Chainer's inf * 0
            y = fn(xv)
            y.grad = gy.copy()
            y.backward()
        results.append((y.array, xv.grad))
    (y0, g0), (y1, g1) = results
    for a, b in ((y1, y0), (g1, g0)):
        numpy.testing.assert_array_equal(a, b)
        numpy.testing.assert_array_equal(numpy.signbit(a), numpy.signbit(b))


@pytest.mark.parametrize('slope', [0.2, 0.37, 1.0, 0.0])
@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_leaky_relu_is_chainers_exactly(rng, slope, dtype):
    assert_exactly_chainers(lambda x: F.leaky_relu(x, slope),
                            lambda x: activation.leaky_relu(x, slope),
                            rng, dtype)


@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_relu_is_chainers_exactly(rng, dtype):
    assert_exactly_chainers(F.relu, activation.relu, rng, dtype)


def test_relu_double_backward_matches_chainer(rng):
    x = values(rng, (2, 3, 4, 5), numpy.float64)
    grads = []
    for fn in (F.relu, activation.relu):
        xv = chainer.Variable(x.copy())
        g, = chainer.grad([F.sum(fn(xv) ** 3)], [xv],
                          enable_double_backprop=True)
        F.sum(g * g).backward()
        grads.append((g.array, xv.grad))
    assert_close(grads[1], grads[0])
