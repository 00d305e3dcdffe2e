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


def _matching(diff, m, m_y):
    """``matching_loss`` of a person of zeros and a warped article of
    ``diff`` (so ``|w - x_i|`` is ``diff``) inside ``m``."""
    shape = (1, 3, 4, 4)
    x_i = numpy.zeros(shape, numpy.float32)
    w = numpy.full(shape, diff, numpy.float32)
    return float(losses.matching_loss(
        x_i, w, numpy.asarray(m, numpy.float32).reshape(1, 1, 4, 4),
        numpy.asarray(m_y, numpy.float32).reshape(1, 1, 4, 4)).array)


def test_matching_is_the_mean_difference_inside_the_warped_silhouette():
    m = numpy.zeros(16)
    m[:8] = 1
    # Inside m the difference is 0.2 everywhere: its mean is 0.2, whatever
    # the area; the article's own area (8 pixels) is covered.
    assert _matching(0.2, m, m) == pytest.approx(0.2, rel=1e-5)
    assert _matching(0.0, m, m) == pytest.approx(0.0, abs=1e-6)
    # Half weight inside counts half as much area and half as much error.
    assert _matching(0.2, m / 2, m) == pytest.approx(0.2, rel=1e-5)


def test_matching_penalises_a_warp_that_shrinks_the_article():
    m_y = numpy.ones(16)
    speck = numpy.zeros(16)
    speck[0] = 1                       # 1/16 of the article's area
    # Below a quarter: (1/4 - 1/16) / (1/4) = 3/4 on top of the match.
    assert _matching(0.0, speck, m_y) == pytest.approx(0.75, rel=1e-4)
    quarter = numpy.zeros(16)
    quarter[:4] = 1
    assert _matching(0.0, quarter, m_y) == pytest.approx(0.0, abs=1e-5)
    # Nothing left at all: the whole penalty, and no division by zero.
    assert _matching(0.3, numpy.zeros(16), m_y) == pytest.approx(1.0,
                                                                 rel=1e-4)


def test_matching_moves_the_warp_towards_the_person():
    x_i = numpy.zeros((1, 3, 2, 2), numpy.float32)
    w = chainer.Variable(numpy.full((1, 3, 2, 2), 0.5, numpy.float32))
    m = numpy.ones((1, 1, 2, 2), numpy.float32)
    losses.matching_loss(x_i, w, m, m).backward()
    # d/dw of mean |w - 0| over 12 values: 1/12 each, towards x_i.
    numpy.testing.assert_allclose(w.grad, 1 / 12, rtol=1e-5)
