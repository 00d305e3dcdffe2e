"""cagan.kernels.noise: the discriminator's noise is Gaussian, its blocks
independent, and its values the same on any number of threads."""

import chainer
import numpy
import pytest

from cagan.kernels import noise, threads


@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
@pytest.mark.parametrize('shape', [(7, 3, 5), (400001,)])
def test_noise_is_gaussian(dtype, shape):
    dtype = numpy.dtype(dtype)
    z = noise.normal(numpy.random.default_rng(0), shape, dtype,
                     dtype.type(0.5))
    assert z.shape == shape and z.dtype == dtype
    if len(shape) > 1:
        return
    z = z.astype(numpy.float64) / 0.5
    n = len(z)
    assert abs(z.mean()) < 5 / n ** 0.5
    assert abs(z.std() - 1) < 5 / n ** 0.5
    # Normal probabilities of |z| < 1, 2, 3 and the kurtosis (3).
    for k, p in ((1, 0.682689), (2, 0.954500), (3, 0.997300)):
        assert abs(numpy.mean(abs(z) < k) - p) < 5 * (p * (1 - p) / n) ** .5
    assert abs((z ** 4).mean() - 3) < 0.05
    # Box-Muller's two halves (cos and sin of one angle) are independent.
    half = n // 2
    assert abs(numpy.corrcoef(z[:half], z[half:2 * half])[0, 1]) < 0.01


def test_noise_blocks_are_independent_and_thread_count_free(monkeypatch):
    monkeypatch.setattr(noise, '_BLOCK', 1000)
    monkeypatch.setattr(threads, 'MIN_SIZE', 0)  # workers even for these
    draws = []
    for count in (1, 2, 3):
        threads.set_workers(count)
        try:
            draws.append(noise.normal(
                numpy.random.default_rng(5), (20001,),
                numpy.dtype(numpy.float32), numpy.float32(1)))
        finally:
            threads.set_workers(None)
    numpy.testing.assert_array_equal(draws[1], draws[0])
    numpy.testing.assert_array_equal(draws[2], draws[0])
    # The cos halves of ten blocks of 1000 pairs: ten unrelated streams.
    blocks = draws[0][:10000].reshape(10, 1000)
    correlation = numpy.corrcoef(blocks) - numpy.eye(10)
    assert numpy.abs(correlation).max() < 0.16


def test_float16_noise_is_drawn_in_float32_then_rounded():
    rng = numpy.random.default_rng(0)
    drawn = noise.normal(rng, (4000, 25), numpy.dtype(numpy.float16),
                         numpy.float16(0.2))
    assert drawn.dtype == numpy.float16 and drawn.shape == (4000, 25)
    assert abs(float(drawn.astype(numpy.float32).std()) - 0.2) < 0.005
    again = noise.normal(numpy.random.default_rng(0), (4000, 25),
                         numpy.dtype(numpy.float32),
                         numpy.float32(numpy.float16(0.2)))
    numpy.testing.assert_array_equal(drawn, again.astype(numpy.float16))


def test_add_noise_adds_the_draws_and_passes_the_gradient(rng):
    h = chainer.Variable(rng.standard_normal((3, 4, 5)).astype(numpy.float32))
    sigma = numpy.float32(0.2)
    y = noise.AddNoise(numpy.random.default_rng(1), sigma).apply((h,))[0]
    drawn = noise.normal(numpy.random.default_rng(1), h.shape, h.dtype, sigma)
    # Drawn and added in one pass: the same float sums.
    numpy.testing.assert_array_equal(y.array, h.array + drawn)
    gy = rng.standard_normal(y.shape).astype(numpy.float32)
    y.grad = gy.copy()
    y.backward()
    numpy.testing.assert_array_equal(h.grad, gy)
