import math
import warnings

import chainer
import numpy
import pytest

from cagan import losses


def logits(*values):
    return chainer.Variable(numpy.array(values, numpy.float32).reshape(-1, 1))


def softplus(x):
    return math.log1p(math.exp(-abs(x))) + max(x, 0.0)


def test_adversarial_terms_by_hand():
    # -log(sigmoid(0)) = log 2; -log(sigmoid(2)) = log(1 + e^-2).
    assert float(losses.adversarial_real(logits(0.0)).array) == \
        pytest.approx(math.log(2), rel=1e-6)
    assert float(losses.adversarial_real(logits(2.0, -1.0)).array) == \
        pytest.approx((math.log1p(math.exp(-2)) + math.log1p(math.e)) / 2,
                      rel=1e-6)
    assert float(losses.adversarial_fake(logits(2.0, -1.0)).array) == \
        pytest.approx((softplus(2.0) + softplus(-1.0)) / 2, rel=1e-6)


def test_extreme_logits_are_exact_and_warn_nothing():
    # A naive log(sigmoid(x)) gives -inf at x = -100 in float32.
    x = logits(100.0, -100.0)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        real = losses.adversarial_real(x)
        fake = losses.adversarial_fake(x)
        real.backward()
    assert float(real.array) == pytest.approx(50.0, rel=1e-6)   # (0 + 100) / 2
    assert float(fake.array) == pytest.approx(50.0, rel=1e-6)   # (100 + 0) / 2
    numpy.testing.assert_allclose(x.grad.ravel(), [0.0, -0.5], atol=1e-7)


def test_patch_maps_are_averaged_over_batch_and_positions():
    d = chainer.Variable(numpy.array(
        [[[[0.0, 1.0], [-1.0, 3.0]]], [[[2.0, 0.5], [0.0, -2.0]]]],
        numpy.float32))
    expected = numpy.mean([softplus(-v) for v in d.array.ravel()])
    assert float(losses.adversarial_real(d).array) == pytest.approx(
        expected, rel=1e-6)


def test_dis_loss_sums_real_fake_and_wrong():
    total, real, fake, wrong = losses.dis_loss(
        logits(1.0), logits(-2.0), logits(0.5))
    assert float(real.array) == pytest.approx(softplus(-1.0), rel=1e-6)
    assert float(fake.array) == pytest.approx(softplus(-2.0), rel=1e-6)
    assert float(wrong.array) == pytest.approx(softplus(0.5), rel=1e-6)
    assert float(total.array) == pytest.approx(
        softplus(-1.0) + softplus(-2.0) + softplus(0.5), rel=1e-6)


def test_cycle_and_id_losses_by_hand():
    x_i = numpy.zeros((2, 3, 2, 2), numpy.float32)
    x_iji = numpy.zeros_like(x_i)
    x_iji[0, 0, 0, 0] = 0.5
    x_iji[1, 2, 1, 1] = -0.25
    assert float(losses.cycle_loss(x_i, x_iji).array) == pytest.approx(
        0.75 / 24, rel=1e-6)
    alpha = numpy.full((2, 1, 2, 2), 0.25, numpy.float32)
    alpha[1] = 1.0
    assert float(losses.id_loss(alpha).array) == pytest.approx(0.625)


def test_gen_loss_weights_default_to_1_1_01():
    def const(v):
        return chainer.Variable(numpy.array(v, numpy.float32))
    total = losses.gen_loss(const(2.0), const(3.0), const(4.0))
    assert float(total.array) == pytest.approx(2.0 + 3.0 + 0.4, rel=1e-6)
    total = losses.gen_loss(const(2.0), const(3.0), const(4.0), 0.5, 2.0, 1.0)
    assert float(total.array) == pytest.approx(1.0 + 6.0 + 4.0, rel=1e-6)


def test_supervised_loss_is_the_mean_absolute_error_to_the_truth():
    x_ij = numpy.zeros((2, 3, 2, 2), numpy.float32)
    truth = numpy.zeros_like(x_ij)
    truth[0, 1, 0, 1] = 0.75
    x_ij[1, 0, 1, 0] = 0.5
    variable = chainer.Variable(x_ij)
    value = losses.supervised_loss(variable, truth)
    assert float(value.array) == pytest.approx(1.25 / 24, rel=1e-6)
    value.backward()
    # d|a - b| / da = sign(a - b) / N
    expected = numpy.zeros_like(x_ij)
    expected[0, 1, 0, 1], expected[1, 0, 1, 0] = -1 / 24, 1 / 24
    numpy.testing.assert_allclose(variable.grad, expected, rtol=1e-6)
