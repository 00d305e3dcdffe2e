import warnings

import chainer
import numpy
import pytest

from cagan import InstanceNormalization, kernels, testing

# Each test checks the link against a reference computed another way.
pytestmark = pytest.mark.numerics


def reference_forward(x, gamma, beta, eps):
    mean = x.mean(axis=(2, 3), keepdims=True)
    var = x.var(axis=(2, 3), keepdims=True)
    x_hat = (x - mean) / numpy.sqrt(var + eps)
    return gamma[None, :, None, None] * x_hat + beta[None, :, None, None]


def reference_backward(x, gamma, gy, eps):
    """Per-sample, per-channel gradients of instance norm, by hand."""
    mean = x.mean(axis=(2, 3), keepdims=True)
    std = numpy.sqrt(x.var(axis=(2, 3), keepdims=True) + eps)
    x_hat = (x - mean) / std
    g = gy * gamma[None, :, None, None]
    gx = (g - g.mean(axis=(2, 3), keepdims=True)
          - x_hat * (g * x_hat).mean(axis=(2, 3), keepdims=True)) / std
    return gx, (gy * x_hat).sum(axis=(0, 2, 3)), gy.sum(axis=(0, 2, 3))


def make(rng, shape, eps=2e-5, dtype=numpy.float32):
    link = InstanceNormalization(shape[1], eps=eps, dtype=dtype)
    link.gamma.array[...] = rng.uniform(0.5, 1.5, shape[1])
    link.beta.array[...] = rng.uniform(-0.5, 0.5, shape[1])
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    return link, x


@pytest.mark.parametrize('shape', [(1, 3, 4, 4), (4, 5, 6, 3), (2, 8, 16, 16)])
def test_forward_matches_numpy(rng, shape):
    link, x = make(rng, shape)
    y = link(x)
    assert y.shape == shape and y.dtype == numpy.float32
    testing.assert_allclose(
        y.array, reference_forward(x, link.gamma.array, link.beta.array, 2e-5))


def test_statistics_are_per_sample_and_channel(rng):
    link, x = make(rng, (3, 4, 5, 5))
    link.gamma.array[...] = 1
    link.beta.array[...] = 0
    y = link(x).array
    numpy.testing.assert_allclose(y.mean(axis=(2, 3)), 0, atol=1e-5)
    numpy.testing.assert_allclose(y.var(axis=(2, 3)), 1, atol=1e-3)


def test_backward_matches_hand_derived_gradients(rng):
    # Batch > 1 is where the reference article's link summed gradients over the batch.
    link, x = make(rng, (4, 3, 5, 6), dtype=numpy.float64)
    gy = rng.standard_normal(x.shape)
    xv = chainer.Variable(x)
    link.cleargrads()
    y = link(xv)
    y.grad = gy
    y.backward()
    gx, ggamma, gbeta = reference_backward(x, link.gamma.array, gy, 2e-5)
    testing.assert_allclose(xv.grad, gx, err_msg='x')
    testing.assert_allclose(link.gamma.grad, ggamma, err_msg='gamma')
    testing.assert_allclose(link.beta.grad, gbeta, err_msg='beta')


def test_gradient_check(rng):
    # chainer.testing, which gradient_check imports, imports pkg_resources:
    # deprecated on setuptools < 82, gone from newer ones.
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        gradient_check = pytest.importorskip(
            'chainer.gradient_check', exc_type=ImportError,
            reason='chainer.gradient_check needs pkg_resources (setuptools '
                   '< 82); the hand-derived gradient test still ran')
    link, x = make(rng, (3, 2, 4, 5), dtype=numpy.float64)
    gy = rng.standard_normal(x.shape)
    gradient_check.check_backward(
        link, x, gy, params=(link.gamma, link.beta), eps=1e-4,
        atol=1e-6, rtol=1e-5)


def test_train_and_test_mode_agree_and_nothing_is_tracked(rng):
    link, x = make(rng, (2, 3, 4, 4))
    with chainer.using_config('train', True):
        y_train = link(x).array
    with chainer.using_config('train', False):
        y_test = link(x).array
    numpy.testing.assert_array_equal(y_train, y_test)
    saved = {}
    chainer.serializers.DictionarySerializer(saved).save(link)
    assert sorted(saved) == ['beta', 'gamma']


def test_parameters_start_at_identity():
    link = InstanceNormalization(7, eps=1e-3)
    assert link.eps == 1e-3
    assert link.gamma.dtype == numpy.float32 and link.gamma.shape == (7,)
    numpy.testing.assert_array_equal(link.gamma.array, 1)
    numpy.testing.assert_array_equal(link.beta.array, 0)


@pytest.mark.parametrize('activation, slope', [(kernels.relu, 0.0),
                                               (kernels.leaky_relu, 0.2)])
def test_the_link_applies_relu_or_leaky_relu_to_its_output(activation,
                                                          slope):
    rng = numpy.random.default_rng(3)
    x = rng.standard_normal((2, 4, 5, 5)).astype(numpy.float32)
    link = InstanceNormalization(4)
    link.beta.array[...] = rng.uniform(-0.5, 0.5, 4)
    y = link(x, activation=activation).array
    plain = reference_forward(x, link.gamma.array, link.beta.array, link.eps)
    testing.assert_allclose(y, numpy.where(plain > 0, plain, slope * plain))
    assert (y < 0).any() == (slope > 0)


def test_the_link_refuses_another_activation():
    with pytest.raises(ValueError, match='activation must be None'):
        InstanceNormalization(3)(numpy.ones((1, 3, 2, 2), numpy.float32),
                                 activation=chainer.functions.relu)
