"""Plain helpers that several kernel test modules share: Chainer's
functions against cagan's kernels (no test module imports another)."""

import chainer
import numpy

from cagan import testing


def values(rng, shape, dtype=numpy.float32):
    return rng.standard_normal(shape).astype(dtype)


def forward_backward(fn, x, W, b, gy, **kwargs):
    """Output and the gradients of x, W (and b) for output gradient gy."""
    xv, Wv = chainer.Variable(x.copy()), chainer.Variable(W.copy())
    bv = None if b is None else chainer.Variable(b.copy())
    y = fn(xv, Wv, bv, 2, 1, **kwargs)
    y.grad = gy.copy()
    y.backward()
    return [y.array, xv.grad, Wv.grad] + ([] if b is None else [bv.grad])


def magnitudes(fn, x, W, b, gy, **kwargs):
    """What :func:`forward_backward` sums, per element of each result: the
    same products of absolute values, in float64 (a convolution of |x| and
    |W| plus |b|, and so on for the gradients)."""
    return forward_backward(fn, *(None if a is None else
                                  numpy.abs(a).astype(numpy.float64)
                                  for a in (x, W, b, gy)), **kwargs)


def assert_close(ours, theirs, scales=None):
    """Each array of ``ours`` is ``theirs`` to rounding: within a tolerance
    of the magnitude of what was summed (``scales``, from
    :func:`magnitudes`) or, without them, of its largest value."""
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        assert a.shape == b.shape and a.dtype == b.dtype
        testing.assert_allclose(a, b, scale=None if scales is None
                                else scales[k], err_msg='result {}'.format(k))


def assert_matches(ours, theirs, x, W, b, gy, **kwargs):
    """``ours`` and ``theirs`` (two convolutions) agree in output and
    gradients, to the rounding of the terms each element sums."""
    assert_close(forward_backward(ours, x, W, b, gy, **kwargs),
                 forward_backward(theirs, x, W, b, gy, **kwargs),
                 magnitudes(theirs, x, W, b, gy, **kwargs))
