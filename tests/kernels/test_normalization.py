"""cagan.kernels.normalization: instance normalisation agrees with Chainer's
group normalisation (one group per channel), outputs and gradients.

The link, :class:`cagan.links.InstanceNormalization`, is tested in
tests/test_instance_normalization.py."""

import chainer
import chainer.functions as F
import numpy
import pytest

from cagan.kernels import normalization
from tests.kernels.test_connection import assert_close, values

pytestmark = pytest.mark.numerics

EPS = 2e-5


def affine(rng, channels, dtype, beta=True):
    """``gamma`` and ``beta`` Parameters, ``(channels,)``, away from the
    identity (``beta`` stays 0 unless asked for)."""
    gamma = rng.uniform(0.5, 1.5, channels).astype(dtype)
    shift = (rng.uniform(-0.5, 0.5, channels) if beta
             else numpy.zeros(channels)).astype(dtype)
    return chainer.Parameter(gamma), chainer.Parameter(shift)


def group_norm(x, gamma, beta):
    """Chainer's own function for instance normalisation."""
    return F.group_normalization(x, gamma.shape[0], gamma, beta, eps=EPS)


def instance_norm(x, gamma, beta):
    return normalization.instance_normalization(x, gamma, beta, EPS)


@pytest.mark.parametrize('shape', [(1, 3, 4, 4), (4, 5, 6, 3),
                                   (3, 8, 8, 6), (2, 1, 1, 1)])
@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_instance_normalization_matches_chainer(rng, shape, dtype):
    gamma, beta = affine(rng, shape[1], dtype)
    x = (values(rng, shape) * 3 + 1).astype(dtype)
    gy = values(rng, shape, dtype)
    results = []
    for apply in (group_norm, instance_norm):
        gamma.cleargrad()
        beta.cleargrad()
        xv = chainer.Variable(x.copy())
        y = apply(xv, gamma, beta)
        y.grad = gy.copy()
        y.backward()
        results.append([y.array, xv.grad, gamma.grad, beta.grad])
    assert_close(results[1], results[0])


def test_instance_normalization_double_backward(rng):
    gamma, beta = affine(rng, 3, numpy.float64, beta=False)
    x = values(rng, (2, 3, 4, 5), numpy.float64)
    grads = []
    for apply in (group_norm, instance_norm):
        xv = chainer.Variable(x.copy())
        # All three first-order gradients feed the second-order loss:
        # Chainer's own double backward needs each of them.
        firsts = chainer.grad([F.sum(apply(xv, gamma, beta) ** 3)],
                              [xv, gamma, beta],
                              enable_double_backprop=True)
        gamma.cleargrad()
        beta.cleargrad()
        sum(F.sum(g * g) for g in firsts).backward()
        grads.append([g.array for g in firsts]
                     + [xv.grad, gamma.grad, beta.grad])
    assert_close(grads[1], grads[0])
