"""cagan.links._resample: the downsampled inputs that options re-inject."""

import chainer
import chainer.functions as F
import numpy

from cagan import testing
from cagan.links._resample import average_pool_2x, beside, pyramid


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
