"""ReLU and leaky ReLU, faster on the CPU, the same floats as Chainer's.

:func:`relu` is ``F.relu`` and :func:`leaky_relu` is ``F.leaky_relu``
without its masked multiplies; both go through their arrays in cache-sized
blocks, shared among threads (:mod:`cagan.kernels.threads`). Outputs and
gradients are Chainer's bit for bit, signed zeros, NaN and infinities
included. Other arrays (the switch at ``'never'``, see
:mod:`cagan.kernels`; CuPy, ChainerX or iDeep arrays) go to Chainer's
functions.
"""

import functools

import chainer.functions as F
import numpy
from chainer import function_node

from cagan.kernels import threads
from cagan.kernels._dispatch import array_of, use_kernels

#: Elements per block: a block's passes run in cache.
_BLOCK = 1 << 16


def _blocks(size):
    return threads.split(size, -(-size // _BLOCK))


class LeakyReLU(function_node.FunctionNode):
    """``F.leaky_relu`` for NumPy arrays and ``0 < slope <= 1``.

    Chainer's CPU kernel multiplies through a boolean mask (``y[x <= 0] *=
    slope``), a gather and a scatter; ``max(x, slope x)`` is the same value
    for such slopes (``slope x`` is the same float product; slope 0 would
    turn +inf into NaN), by blocks.
    """

    def __init__(self, slope):
        self.slope = slope

    def forward(self, inputs):
        x, = inputs
        x1 = x.reshape(-1)
        y = numpy.empty_like(x1)

        def block(_, k):
            activate(x1[k], self.slope, y[k])

        threads.map(block, _blocks(x1.size), size=x1.size)
        self.retain_outputs((0,))
        return y.reshape(x.shape),

    def backward(self, indexes, grad_outputs):
        y, = self.get_retained_outputs()
        return _LeakyReLUGrad(nonpositive(y.array, self.slope),
                              self.slope).apply(grad_outputs)


def activate(x, slope, out):
    """``out`` = ReLU (``slope`` 0) or leaky ReLU of a block ``x``: the
    operations of :class:`ReLU` and :class:`LeakyReLU`, the same floats.
    ``out`` may be ``x``."""
    if slope == 0:
        return numpy.maximum(x, 0, out=out)
    scaled = numpy.multiply(x, slope)
    return numpy.maximum(scaled, x, out=out)


def nonpositive(y, slope):
    """Where the gradient of the output ``y`` of :func:`activate` is
    ``slope``: ``not y > 0`` for ReLU (NaN included), ``y <= 0`` for leaky
    ReLU, as Chainer's."""
    return ~(y > 0) if slope == 0 else y <= 0


def scale_by_mask(g, nonpositive, slope, out):
    """``out = g * (slope if nonpositive else 1)``: the gradient of (leaky)
    ReLU (``slope`` 0: ReLU's, with the mask ``not y > 0``) for a block.

    The factor, exactly 1 or ``slope`` in ``g``'s dtype, is built from the
    mask with integer operations on its bits (a masked multiply, a where or
    a lookup cost 2 to 4 times as much); ``g``'s NaNs and infinities are
    multiplied as Chainer's are.
    """
    bits, one, step = _factor_bits(g.dtype, slope)
    factor = nonpositive.astype(bits)
    factor *= step  # wraps: one + step is slope
    factor += one
    return numpy.multiply(g, factor.view(g.dtype), out=out)


@functools.lru_cache(maxsize=None)
def _factor_bits(dtype, slope):
    """The unsigned type of ``dtype``'s width, the bits of 1, and what to add
    to them to make the bits of ``slope`` (modulo the width), for
    :func:`scale_by_mask`."""
    bits = numpy.dtype('u%d' % dtype.itemsize)
    one = int(numpy.ones(1, dtype).view(bits)[0])
    factor_bits = int(numpy.array([slope], dtype).view(bits)[0])
    step = (factor_bits - one) % (1 << (8 * dtype.itemsize))
    return bits, bits.type(one), bits.type(step)


class _LeakyReLUGrad(function_node.FunctionNode):
    """``slope gy`` where the output was ``<= 0`` (the mask ``nonpositive``),
    ``gy`` elsewhere, NaN outputs included, as Chainer's; with slope 0 and
    the mask ``not y > 0``, ReLU's gradient."""

    def __init__(self, nonpositive, slope):
        self.nonpositive = nonpositive
        self.slope = slope

    def forward(self, inputs):
        gy, = inputs
        g1 = gy.reshape(-1)
        mask = self.nonpositive.reshape(-1)
        gx = numpy.empty_like(g1)

        def block(_, k):
            scale_by_mask(g1[k], mask[k], self.slope, gx[k])

        threads.map(block, _blocks(g1.size), size=g1.size)
        return gx.reshape(gy.shape),

    def backward(self, indexes, grad_outputs):
        return _LeakyReLUGrad(self.nonpositive, self.slope).apply(
            grad_outputs)


#: The discriminator's slope, :func:`leaky_relu`'s default.
LEAKY_SLOPE = 0.2


def leaky_relu(x, slope=LEAKY_SLOPE):
    """``chainer.functions.leaky_relu``, faster for NumPy arrays (for
    ``0 < slope <= 1``); Chainer's own where the switch is ``'never'``.

    Args:
        x: float array or Variable, any shape.
        slope (float): slope for negative inputs.

    Returns:
        ~chainer.Variable: same shape and dtype as ``x``.
    """
    array = array_of(x)
    if (not use_kernels(array) or array.dtype.kind != 'f'
            or not 0 < slope <= 1):
        return F.leaky_relu(x, slope)
    return LeakyReLU(slope).apply((x,))[0]


class ReLU(function_node.FunctionNode):
    """``F.relu`` for NumPy arrays, by blocks on every core (Chainer's runs
    on one): ``max(x, 0)``, and ``gy`` times 1 where the output is positive
    and 0 elsewhere, the same floats as Chainer's."""

    def forward(self, inputs):
        x, = inputs
        x1 = x.reshape(-1)
        y = numpy.empty_like(x1)

        def block(_, k):
            activate(x1[k], 0, y[k])

        threads.map(block, _blocks(x1.size), size=x1.size)
        self.retain_outputs((0,))
        return y.reshape(x.shape),

    def backward(self, indexes, grad_outputs):
        y, = self.get_retained_outputs()
        return _LeakyReLUGrad(nonpositive(y.array, 0), 0.0).apply(
            grad_outputs)


def relu(x):
    """``chainer.functions.relu``, faster for NumPy arrays; Chainer's own
    where the switch is ``'never'``.

    Args:
        x: float array or Variable, any shape.

    Returns:
        ~chainer.Variable: same shape and dtype as ``x``.
    """
    array = array_of(x)
    if not use_kernels(array) or array.dtype.kind != 'f':
        return F.relu(x)
    return ReLU().apply((x,))[0]
