"""ReLU and leaky ReLU, faster on the CPU, the same floats as Chainer's.

:func:`relu` is ``F.relu`` and :func:`leaky_relu` is ``F.leaky_relu``
without its masked multiplies; both go through their arrays in cache-sized
blocks, shared among threads (:mod:`cagan.kernels.threads`). Outputs and
gradients are Chainer's bit for bit, signed zeros, NaN and infinities
included. Other arrays (the switch at ``'never'``, see
:mod:`cagan.kernels`; CuPy, ChainerX or iDeep arrays) go to Chainer's
functions.
"""

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
            numpy.multiply(x1[k], self.slope, out=y[k])
            numpy.maximum(y[k], x1[k], out=y[k])

        threads.map(block, _blocks(x1.size), size=x1.size)
        self.retain_outputs((0,))
        return y.reshape(x.shape),

    def backward(self, indexes, grad_outputs):
        y, = self.get_retained_outputs()
        return _LeakyReLUGrad(y.array <= 0, self.slope).apply(grad_outputs)


class _LeakyReLUGrad(function_node.FunctionNode):
    """``slope gy`` where the output was ``<= 0`` (the mask ``nonpositive``),
    ``gy`` elsewhere, NaN outputs included, as Chainer's; with slope 0 and
    the mask ``not y > 0``, ReLU's gradient."""

    def __init__(self, nonpositive, slope):
        self.nonpositive = nonpositive
        self.slope = slope

    def forward(self, inputs):
        gy, = inputs
        # gy times a factor 1 or slope built exactly from the mask with
        # integer operations on the factors' bits (a masked multiply, a
        # where or a lookup cost 2 to 4 times as much).
        bits = numpy.dtype('u%d' % gy.itemsize)
        one = int(numpy.ones(1, gy.dtype).view(bits)[0])
        slope = int(numpy.array([self.slope], gy.dtype).view(bits)[0])
        step = (slope - one) % (1 << (8 * gy.itemsize))
        g1 = gy.reshape(-1)
        mask = self.nonpositive.reshape(-1)
        gx = numpy.empty_like(g1)

        def block(_, k):
            factor = mask[k].astype(bits)
            factor *= bits.type(step)  # wraps: one + step is slope
            factor += bits.type(one)
            numpy.multiply(g1[k], factor.view(gy.dtype), out=gx[k])

        threads.map(block, _blocks(g1.size), size=g1.size)
        return gx.reshape(gy.shape),

    def backward(self, indexes, grad_outputs):
        return _LeakyReLUGrad(self.nonpositive, self.slope).apply(
            grad_outputs)


def leaky_relu(x, slope=0.2):
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
            numpy.maximum(x1[k], 0, out=y[k])

        threads.map(block, _blocks(x1.size), size=x1.size)
        self.retain_outputs((0,))
        return y.reshape(x.shape),

    def backward(self, indexes, grad_outputs):
        y, = self.get_retained_outputs()
        return _LeakyReLUGrad(~(y.array > 0), 0.0).apply(grad_outputs)


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
