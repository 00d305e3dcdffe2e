"""cagan.kernels.normalization: instance normalisation agrees with Chainer's
group normalisation (one group per channel), outputs and gradients.

The link, :class:`cagan.links.InstanceNormalization`, is tested in
tests/links/test_instance_normalization.py."""

import chainer
import chainer.functions as F
import numpy
import pytest

from cagan.kernels import activation, normalization
from tests.kernels.helpers import assert_close, values

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


def first_order(apply, x, gamma, beta, gy):
    """Output and gradients of x, gamma and beta for output gradient
    ``gy``, and the output Variable."""
    gamma.cleargrad()
    beta.cleargrad()
    xv = chainer.Variable(x.copy())
    y = apply(xv, gamma, beta)
    y.grad = gy.copy()
    y.backward()
    return [y.array, xv.grad, gamma.grad, beta.grad], y


@pytest.mark.parametrize('shape', [(1, 3, 4, 4), (4, 5, 6, 3),
                                   (3, 8, 8, 6), (2, 1, 1, 1)])
@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_instance_normalization_matches_chainer(rng, shape, dtype):
    gamma, beta = affine(rng, shape[1], dtype)
    x = (values(rng, shape) * 3 + 1).astype(dtype)
    gy = values(rng, shape, dtype)
    assert_close(first_order(instance_norm, x, gamma, beta, gy)[0],
                 first_order(group_norm, x, gamma, beta, gy)[0])


def second_order(apply, x, gamma, beta):
    """First-order gradients of sum(y^3) for ``y = apply(x, gamma, beta)``,
    and the gradients of the sum of their squares."""
    xv = chainer.Variable(x.copy())
    # All three first-order gradients feed the second-order loss: Chainer's
    # own double backward needs each of them.
    firsts = chainer.grad([F.sum(apply(xv, gamma, beta) ** 3)],
                          [xv, gamma, beta], enable_double_backprop=True)
    gamma.cleargrad()
    beta.cleargrad()
    sum(F.sum(g * g) for g in firsts).backward()
    return [g.array for g in firsts] + [xv.grad, gamma.grad, beta.grad]


def test_instance_normalization_double_backward(rng):
    gamma, beta = affine(rng, 3, numpy.float64, beta=False)
    x = values(rng, (2, 3, 4, 5), numpy.float64)
    assert_close(second_order(instance_norm, x, gamma, beta),
                 second_order(group_norm, x, gamma, beta))


def separate(slope):
    """Instance norm, then the activation kernel: two nodes."""
    def apply(x, gamma, beta):
        h = instance_norm(x, gamma, beta)
        return activation.relu(h) if slope == 0 else activation.leaky_relu(
            h, slope)
    return apply


def fused(slope):
    def apply(x, gamma, beta):
        return normalization.instance_normalization(x, gamma, beta, EPS,
                                                    slope=slope)
    return apply


@pytest.mark.parametrize('slope', [0.0, 0.2, 1.0])
@pytest.mark.parametrize('shape', [(2, 3, 4, 4), (4, 5, 6, 3)])
@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_the_activation_in_the_norms_pass_is_the_same_floats(
        rng, slope, shape, dtype):
    gamma, beta = affine(rng, shape[1], dtype)
    x = (values(rng, shape) * 3 + 1).astype(dtype)
    # Channel 0 of sample 0 is constant: its outputs are beta exactly, 0
    # where beta is 0, the activation's edge.
    x[0, 0] = 2
    beta.array[0] = 0
    gy = values(rng, shape, dtype)
    ours, y = first_order(fused(slope), x, gamma, beta, gy)
    theirs, _ = first_order(separate(slope), x, gamma, beta, gy)
    assert isinstance(y.creator, normalization.InstanceNormalization)
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype
        numpy.testing.assert_array_equal(a, b)


@pytest.mark.parametrize('slope', [0.0, 0.2])
def test_the_fused_activation_double_backward(rng, slope):
    gamma, beta = affine(rng, 3, numpy.float64)
    x = values(rng, (2, 3, 4, 5), numpy.float64)
    assert_close(second_order(fused(slope), x, gamma, beta),
                 second_order(separate(slope), x, gamma, beta))


@pytest.mark.parametrize('slope', [0.0, 0.2])
def test_the_fused_activation_without_the_kernels_is_chainers(rng, slope):
    gamma, beta = affine(rng, 3, numpy.float32)
    x = values(rng, (2, 3, 4, 4))
    gy = values(rng, (2, 3, 4, 4))

    def chainers(x, gamma, beta):
        h = group_norm(x, gamma, beta)
        return F.relu(h) if slope == 0 else F.leaky_relu(h, slope)

    with chainer.using_config('cagan_cpu_kernels', 'never'):
        ours, y = first_order(fused(slope), x, gamma, beta, gy)
    theirs, _ = first_order(chainers, x, gamma, beta, gy)
    assert not isinstance(y.creator, normalization.InstanceNormalization)
    for a, b in zip(ours, theirs):
        numpy.testing.assert_array_equal(a, b)


@pytest.mark.parametrize('slope', [-0.1, 1.5])
def test_a_slope_outside_0_1_is_refused(rng, slope):
    gamma, beta = affine(rng, 3, numpy.float32)
    with pytest.raises(ValueError, match='slope'):
        fused(slope)(values(rng, (2, 3, 4, 4)), gamma, beta)
