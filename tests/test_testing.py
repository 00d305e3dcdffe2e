"""cagan.testing: tolerances that follow the magnitude of what was summed."""

import chainer
import chainer.functions as F
import chainer.links as L
import numpy
import pytest
from chainer.initializers import Normal

from cagan import testing
from cagan.kernels import relu
from cagan.links import Convolution2D, InstanceNormalization
from tests.blas_kernels import runnable


def cancelling_sums(rng, n=64, terms=512):
    """Float32 sums of large terms that nearly cancel, added in two orders,
    with the sum of |terms| of each and the exact (float64) sums."""
    t = rng.standard_normal((n, terms)).astype(numpy.float32) * 100
    t[:, -1] = -t[:, :-1].astype(numpy.float64).sum(axis=1) + 1e-3
    forward = t.sum(axis=1, dtype=numpy.float32)
    backward = t[:, ::-1].cumsum(axis=1, dtype=numpy.float32)[:, -1]
    return forward, backward, numpy.abs(t).sum(axis=1), t


def test_a_reordered_cancelling_sum_passes_with_the_terms_magnitude(rng):
    forward, backward, magnitude, _ = cancelling_sums(rng)
    # An element-wise relative tolerance takes rounding for a bug here...
    with pytest.raises(AssertionError):
        numpy.testing.assert_allclose(forward, backward, rtol=1e-4)
    # ...a tolerance in units of what was summed does not.
    testing.assert_allclose(forward, backward, scale=magnitude)


def test_a_missing_term_fails_whatever_the_scale(rng):
    forward, _, magnitude, t = cancelling_sums(rng)
    dropped = t[:, 1:].sum(axis=1, dtype=numpy.float32)
    with pytest.raises(AssertionError, match='more than the tolerance'):
        testing.assert_allclose(dropped, forward, scale=magnitude)
    with pytest.raises(AssertionError):
        testing.assert_allclose(dropped, forward)


def test_the_default_scale_is_the_largest_expected_value():
    expected = numpy.array([100.0, 1e-3], numpy.float32)
    # 1e-4 off on the small element: 1e-6 of the largest, within 1e-5.
    testing.assert_allclose(expected + [0, 1e-4], expected)
    assert testing.error(expected + [0, 1e-4], expected) == \
        pytest.approx(1e-6, rel=1e-3)
    with pytest.raises(AssertionError, match='largest'):
        testing.assert_allclose(expected + [0, 1e-2], expected)


def test_dtypes_have_their_own_default_tolerance():
    one = numpy.ones(3)
    testing.assert_allclose(one + 1e-15, one)
    with pytest.raises(AssertionError):
        testing.assert_allclose(one + 1e-12, one)
    testing.assert_allclose((one + 1e-6).astype(numpy.float32),
                            one.astype(numpy.float32))
    testing.assert_allclose((one + 5e-3).astype(numpy.float16),
                            one.astype(numpy.float16))


@pytest.mark.parametrize('actual, expected, found', [
    ([0.0, 0.0], [0.0, 0.0], 0.0),                 # zero scale, equal
    ([1e-30, 0.0], [0.0, 0.0], numpy.inf),         # zero scale, different
    ([numpy.nan, 1.0], [numpy.nan, 1.0], 0.0),     # NaN where NaN is due
    ([numpy.nan, 1.0], [0.5, 1.0], numpy.inf),     # NaN where it is not
    ([numpy.inf, 1.0], [numpy.inf, 1.0], 0.0),
    ([-numpy.inf, 1.0], [numpy.inf, 1.0], numpy.inf),
    ([2.0, 1.0], [numpy.inf, 1.0], numpy.inf),
])
def test_special_values(actual, expected, found):
    assert testing.error(numpy.array(actual), numpy.array(expected)) == found


def test_shapes_must_match():
    with pytest.raises(AssertionError, match='shapes differ'):
        testing.assert_allclose(numpy.zeros(3), numpy.zeros((3, 1)))


class Toy(chainer.Chain):
    """Four convolutions: ``a`` into an instance norm, ``b`` into a ReLU
    and then a norm, ``c`` into a norm through Chainer's group norm (one
    group per channel), ``d`` into nothing; ``unused`` never called."""

    in_channels, size = 2, (8, 8)

    def __init__(self):
        super().__init__()
        w = Normal(0.5, rng=numpy.random.default_rng(0))
        with self.init_scope():
            self.a = Convolution2D(2, 4, 4, 2, 1, initialW=w)
            self.na = InstanceNormalization(4)
            self.b = Convolution2D(4, 4, 3, 1, 1, initialW=w)
            self.nb = InstanceNormalization(4)
            self.c = L.Convolution2D(4, 4, 3, 1, 1, initialW=w)
            self.nc = InstanceNormalization(4)
            self.d = L.Convolution2D(4, 1, 3, 1, 1, initialW=w)
            self.unused = L.Linear(2, 2, initialW=w)

    def forward(self, x):
        h = self.na(self.a(x), activation=relu)
        h = self.nb(F.relu(self.b(h)))
        h = F.group_normalization(self.c(h), 4, self.nc.gamma, self.nc.beta)
        return self.d(h)


def toy_gradients(rng, toy):
    x = rng.standard_normal((2, 2, 8, 8)).astype(numpy.float32)
    toy.cleargrads()
    F.sum(toy(x) ** 2).backward()
    return x


@pytest.mark.parametrize('setting', ['auto', 'never'])
def test_the_cancelled_biases_are_those_of_a_convolution_into_a_norm(setting):
    toy = Toy()
    with chainer.using_config('cagan_cpu_kernels', setting):
        used, cancelled = testing.parameter_roles(toy)
    assert cancelled == {'/a/b', '/c/b'}
    assert used == {n for n, _ in toy.namedparams()} - {'/unused/W',
                                                          '/unused/b'}
    assert testing.cancelled_biases(toy, prefix='toy') == {'toy/a/b',
                                                            'toy/c/b'}


@pytest.mark.numerics
def test_gradients_as_the_maths_says(rng):
    toy = Toy()
    x = toy_gradients(rng, toy)
    testing.assert_gradients_as_the_maths_says(toy, x)
    # Exact zeros, as some CPUs sum them, pass too.
    toy.a.b.grad[...] = 0
    testing.assert_gradients_as_the_maths_says(toy, x)
    # A cancelled bias with a gradient of its weight's size: a bug.
    toy.c.b.grad[0] = numpy.abs(toy.c.W.grad).max() * 1e-2
    with pytest.raises(AssertionError, match='/c/b'):
        testing.assert_gradients_as_the_maths_says(toy, x)
    toy.c.b.grad[0] = 0
    # Any other parameter with a zero gradient: a bug.
    toy.b.b.grad[...] = 0
    with pytest.raises(AssertionError, match='/b/b'):
        testing.assert_gradients_as_the_maths_says(toy, x)
    toy = Toy()
    x = toy_gradients(rng, toy)
    toy.unused.W.grad = numpy.zeros((2, 2), numpy.float32)
    with pytest.raises(AssertionError, match='unused'):
        testing.assert_gradients_as_the_maths_says(toy, x)


def test_gradients_hold_noise_biases_to_the_largest_gradient():
    theirs = {'/c1/W': numpy.array([10.0, -3.0]), '/c1/b': numpy.array([1e-6]),
              '/bn1/gamma': numpy.array([2.0])}
    ours = dict(theirs, **{'/c1/b': numpy.array([-2e-6])})
    testing.assert_gradients_close(ours, theirs, {'/c1/b'})  # 3e-7 of 10
    with pytest.raises(AssertionError, match='/c1/b'):
        testing.assert_gradients_close(ours, theirs, set())
    ours['/bn1/gamma'] = numpy.array([2.01])
    with pytest.raises(AssertionError, match='/bn1/gamma'):
        testing.assert_gradients_close(ours, theirs, {'/c1/b'})


def test_kernels_follow_the_cpu_flags():
    assert set(runnable({'avx', 'avx2', 'fma', 'sse4_2', 'pni'})) <= {
        'Haswell', 'Zen', 'Sandybridge', 'Nehalem', 'Prescott'}
    assert 'SkylakeX' not in runnable({'avx2', 'fma'})
    assert runnable(set()) == []
