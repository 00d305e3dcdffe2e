import math
import warnings

import chainer
import chainer.functions as F
import numpy
import pytest

from cagan import Discriminator, losses, testing


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


# ------------------------------------------------------------------- R1

def test_r1_of_a_linear_discriminator_is_half_its_squared_weights():
    # D(x) = w.x + b: every sample's input gradient is w, so R1 = gamma/2
    # ||w||^2, and its gradient with respect to w (through double
    # backprop) is gamma w.
    rng = numpy.random.default_rng(0)
    w = rng.standard_normal((1, 12)).astype(numpy.float32)
    dis = chainer.links.Linear(12, 1, initialW=w, initial_bias=0.5)
    x = chainer.Variable(rng.random((3, 3, 2, 2), dtype=numpy.float32))
    gamma = 10.0
    penalty = gamma * losses.r1_penalty(dis(x), x)
    assert penalty.dtype == numpy.float32
    assert float(penalty.array) == pytest.approx(
        gamma / 2 * float((w.astype(numpy.float64) ** 2).sum()), rel=1e-6)
    dis.cleargrads()
    penalty.backward()
    numpy.testing.assert_allclose(dis.W.grad, gamma * w, rtol=1e-6)
    assert dis.b.grad is None  # the bias moves no input gradient


def test_r1_of_a_patch_map_is_the_gradient_of_its_mean_logit():
    # A 1x1 convolution, one logit per position: d[p] = w.x[p]. The mean
    # of the 2x3 logits has the gradient w / 6 at each of the 6
    # positions: ||.||^2 = 6 ||w||^2 / 36.
    rng = numpy.random.default_rng(1)
    w = rng.standard_normal((1, 4, 1, 1)).astype(numpy.float32)
    dis = chainer.links.Convolution2D(4, 1, 1, initialW=w)
    x = chainer.Variable(rng.random((2, 4, 2, 3), dtype=numpy.float32))
    d = dis(x)
    assert d.shape == (2, 1, 2, 3)
    penalty = losses.r1_penalty(d, x)
    assert float(penalty.array) == pytest.approx(
        0.5 * float((w.astype(numpy.float64) ** 2).sum()) / 6, rel=1e-6)
    dis.cleargrads()
    penalty.backward()
    numpy.testing.assert_allclose(dis.W.grad, w / 6, rtol=1e-6)


def test_r1_depends_on_the_input_where_d_is_not_linear():
    # D(x) = sum_i a_i x_i^2 / 2: gradient a * x, R1 = E sum_i a_i^2
    # x_i^2 / 2, whose gradient with respect to a is a * E[x^2].
    rng = numpy.random.default_rng(2)
    a = chainer.Parameter(rng.standard_normal(5))
    x = chainer.Variable(rng.standard_normal((4, 5)))
    d = F.sum(F.broadcast_to(a, x.shape) * x * x, axis=1,
              keepdims=True) / 2
    penalty = losses.r1_penalty(d, x)
    assert float(penalty.array) == pytest.approx(
        float((a.array ** 2 * x.array ** 2).sum()) / 2 / 4, rel=1e-12)
    penalty.backward()
    numpy.testing.assert_allclose(
        a.grad, a.array * (x.array ** 2).mean(axis=0), rtol=1e-12)


def _r1_of_a_discriminator(dis, x, step=0):
    """R1 of ``dis`` (noise at its ``step``-th draws) and its parameters'
    gradients."""
    xv = chainer.Variable(x)
    penalty = losses.r1_penalty(dis(xv, noise=dis.noise(step)), xv)
    dis.cleargrads()
    penalty.backward()
    return float(penalty.array), {name: p.grad.copy() for name, p in
                                  dis.namedparams() if p.grad is not None}


def _float64_discriminator(**options):
    dis = Discriminator(ch=8, size=64, seed=1, **options)
    for param in dis.params():
        param.array = param.array.astype(numpy.float64)
    return dis


@pytest.mark.numerics
@pytest.mark.parametrize('head', ['linear', 'patch', 'patch16'])
@pytest.mark.parametrize('noise_sigma', [0.0, 0.2])
def test_r1_through_the_kernels_is_chainers_and_the_maths(head, noise_sigma):
    # Double backprop through every layer of D: cagan's kernels (4x4
    # convolutions, leaky ReLU, instance norm with its activation, noise)
    # give Chainer's own functions' penalty and weight gradients, and both
    # the derivative that finite differences measure (float64).
    x = numpy.random.default_rng(3).random((2, 6, 64, 64))
    results = {}
    for switch in ('auto', 'never'):
        dis = _float64_discriminator(head=head, noise_sigma=noise_sigma)
        with chainer.using_config('cagan_cpu_kernels', switch):
            results[switch] = _r1_of_a_discriminator(dis, x)
    (ours, our_grads), (theirs, their_grads) = results['auto'], \
        results['never']
    assert ours > 0
    assert ours == pytest.approx(theirs, rel=1e-12)
    testing.assert_gradients_close(our_grads, their_grads,
                                   testing.cancelled_biases(dis), 1e-12)
    # Along a random direction v of the weights: (R1(W + e v) - R1(W -
    # e v)) / 2e is the gradient's inner product with v.
    rng = numpy.random.default_rng(4)
    base = {name: p.array.copy() for name, p in dis.namedparams()}
    v = {name: rng.standard_normal(base[name].shape) for name in our_grads}

    def r1_at(e):
        for name, p in dis.namedparams():
            p.array = base[name] + e * v[name] if name in v else base[name]
        return _r1_of_a_discriminator(dis, x)[0]

    # Small: R1 jumps where a leaky ReLU's input crosses 0 (its slope
    # changes), and D's tiny layers have inputs near 0.
    e = 1e-8
    measured = (r1_at(e) - r1_at(-e)) / (2 * e)
    expected = sum(float((our_grads[n] * v[n]).sum()) for n in v)
    assert measured == pytest.approx(expected, rel=1e-5)
