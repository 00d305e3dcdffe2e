"""The discriminator's Gaussian noise, drawn fast on the CPU.

:func:`normal` draws by Box-Muller from blocks of uniforms, each block from
a stream of its own, on threads (:mod:`cagan.kernels.threads`);
:class:`AddNoise` adds such draws to an activation in the same pass. The
draws define the noise (they are no other function's values), so the
switch of :mod:`cagan.kernels` leaves them alone: the same seed gives the
same noise whatever it is. CuPy arrays draw with CuPy's own generator (see
:class:`cagan.links.Discriminator`).
"""

import math

import numpy
from chainer import function_node

from cagan.kernels import threads

#: Normal pairs per block of :func:`normal`'s transform.
_BLOCK = 1 << 16


def normal(rng, shape, dtype, sigma, add_to=None):
    """``sigma`` times standard normal draws, ``shape``, in ``dtype``, plus
    ``add_to`` (an array of that shape and dtype) if given.

    Box-Muller over ``dtype`` uniforms, which NumPy turns into normals about
    twice as fast as its own ziggurat ``standard_normal`` in float32 (the
    noise was 10% of a CPU step at 128x96). Exact Gaussians: float32
    uniforms only cut the tails beyond 5.7 sigma. Blocks of ``_BLOCK``
    pairs draw from streams of their own, seeded from ``rng``, on threads
    (:mod:`cagan.kernels.threads`); the values do not depend on their number.
    """
    if dtype == numpy.float16:
        # NumPy draws no float16: draw float32, round once.
        noise = normal(rng, shape, numpy.dtype(numpy.float32),
                       numpy.float32(sigma)).astype(dtype)
        return noise if add_to is None else add_to + noise
    n = math.prod(shape)
    half = (n + 1) // 2
    blocks = [slice(k, min(half, k + _BLOCK))
              for k in range(0, half, _BLOCK)]
    # A stream per block, seeded from rng, so that threads draw at once and
    # the values depend on rng alone.
    seeds = rng.integers(2 ** 63, size=len(blocks))
    out = numpy.empty(2 * half, dtype)
    if add_to is not None:
        add_to = add_to.reshape(-1)

    def block(_, k_seed):
        k, seed = k_seed
        m = k.stop - k.start
        u = numpy.random.default_rng(int(seed)).random(2 * m, dtype=dtype)
        radius, angle = u[:m], u[m:]
        numpy.subtract(1, radius, out=radius)  # (0, 1]: the log stays finite
        numpy.log(radius, out=radius)
        radius *= dtype.type(-2)
        numpy.sqrt(radius, out=radius)
        radius *= sigma
        angle *= dtype.type(2 * math.pi)
        cos, sin = out[k], out[half + k.start:half + k.stop]
        numpy.cos(angle, out=cos)
        numpy.sin(angle, out=sin)
        cos *= radius
        sin *= radius
        if add_to is not None:
            cos += add_to[k]
            top = min(n, half + k.stop)
            out[half + k.start:top] += add_to[half + k.start:top]

    threads.map(block, list(zip(blocks, seeds)), size=n)
    return out[:n].reshape(shape)


class AddNoise(function_node.FunctionNode):
    """``h`` plus ``sigma`` times normal draws from NumPy Generator ``rng``,
    made and added in one pass (:func:`normal`); the gradient passes
    through unchanged."""

    def __init__(self, rng, sigma):
        self.rng = rng
        self.sigma = sigma

    def forward(self, inputs):
        h, = inputs
        return normal(self.rng, h.shape, h.dtype, self.sigma, add_to=h),

    def backward(self, indexes, grad_outputs):
        return grad_outputs
