"""Instance normalisation, faster on the CPU, with the maths of Chainer's
group normalisation.

:func:`instance_normalization` is ``F.group_normalization`` with one group
per channel (what :class:`cagan.links.InstanceNormalization` computes),
through the :class:`InstanceNormalization` node for NumPy float32/float64
arrays: each block of (sample, channel) rows goes through all its passes
while in cache, the blocks shared among threads
(:mod:`cagan.kernels.threads`). Other arrays (the switch at ``'never'``,
see :mod:`cagan.kernels`; CuPy, ChainerX or iDeep arrays, float16) go to
Chainer's function.
"""

import chainer
import chainer.functions as F
import numpy
from chainer import function_node
from chainer.functions.normalization import group_normalization

from cagan.kernels import threads
from cagan.kernels._dispatch import DTYPES, array_of, use_kernels
from cagan.kernels.activation import (
    _LeakyReLUGrad, activate, leaky_relu, nonpositive, relu, scale_by_mask)

#: Bytes per block of rows: a block's passes run in cache.
_BLOCK_BYTES = 1 << 20


def _row_blocks(rows, row_bytes):
    per = max(1, _BLOCK_BYTES // max(1, row_bytes))
    return threads.split(rows, -(-rows // per))


class InstanceNormalization(function_node.FunctionNode):
    """``F.group_normalization(x, C, gamma, beta, eps)`` (one group per
    channel) for NumPy arrays.

    The same maths as Chainer's: per sample and channel, ``x_hat = (x -
    mean) / sqrt(var + eps)`` (biased variance), ``y = gamma x_hat + beta``,
    and its gradients; but each block of (sample, channel) rows goes through
    all its passes while in cache, and ``x_hat`` is kept for the backward
    pass instead of being recomputed there. Sums run in another order, so
    values agree to float rounding.

    With ``slope`` (0: ReLU, in (0, 1]: leaky ReLU), the activation follows
    in the same pass, and its gradient in the backward one: the floats of
    this node followed by :func:`~cagan.kernels.relu` or
    :func:`~cagan.kernels.leaky_relu`, bit for bit, with one node and one
    pass over the array fewer each way.

    Inputs: ``x`` (B, C, ...), ``gamma`` and ``beta`` (C,), one float dtype.
    Output: like ``x``.
    """

    def __init__(self, eps, slope=None):
        self.eps = eps
        self.slope = slope

    def forward(self, inputs):
        x, gamma, beta = inputs
        self.retain_inputs((0, 1, 2))
        B, C = x.shape[:2]
        x2 = x.reshape(B * C, -1)
        n = x2.shape[1]
        # Per-row scale and shift: gamma and beta repeated for each sample.
        g = numpy.tile(gamma, B)
        s = numpy.tile(beta, B)
        self.x_hat = numpy.empty_like(x2)
        self.inv_std = numpy.empty(B * C, x.dtype)
        y = numpy.empty_like(x2)

        def block(_, r):
            x_hat = self.x_hat[r]
            mean = x2[r].mean(axis=1)
            numpy.subtract(x2[r], mean[:, None], out=x_hat)
            var = numpy.einsum('ij,ij->i', x_hat, x_hat)
            var /= n
            var += self.eps
            inv_std = self.inv_std[r]
            numpy.sqrt(var, out=inv_std)
            numpy.reciprocal(inv_std, out=inv_std)
            x_hat *= inv_std[:, None]
            numpy.multiply(x_hat, g[r, None], out=y[r])
            y[r] += s[r, None]
            if self.slope is not None:
                activate(y[r], self.slope, y[r])

        threads.map(block, _row_blocks(B * C, n * x.itemsize), size=x.size)
        if self.slope is not None:
            self.retain_outputs((0,))
        return y.reshape(x.shape),

    def backward(self, indexes, grad_outputs):
        x, gamma, beta = self.get_retained_inputs()
        y = None
        if self.slope is not None:
            y, = self.get_retained_outputs()
        if chainer.config.enable_backprop:
            # Double backprop: the activation's gradient node, then Chainer's
            # own normalisation, recomputed, whose backward is
            # differentiable.
            if y is not None:
                grad_outputs = _LeakyReLUGrad(
                    nonpositive(y.array, self.slope), self.slope).apply(
                        grad_outputs)
            node = group_normalization.GroupNormalization(
                int(x.shape[1]), self.eps)
            node.apply((x, gamma, beta))
            return node.backward(indexes, grad_outputs)
        gy, = grad_outputs
        B, C = x.shape[:2]
        gy2 = gy.array.reshape(B * C, -1)
        if y is not None:
            y2 = y.array.reshape(B * C, -1)
        n = gy2.shape[1]
        x_hat_all = self.x_hat
        s1 = numpy.empty(B * C, gy2.dtype)
        s2 = numpy.empty_like(s1)
        # gx = inv_std gamma (gy - mean(gy) - x_hat mean(gy x_hat)).
        a = self.inv_std * numpy.tile(gamma.array, B)
        gx = numpy.empty_like(gy2)

        def block(_, r):
            x_hat = x_hat_all[r]
            g = gy2[r]
            if y is not None:
                # The activation's gradient first, its mask made from the
                # block's outputs, into gx's rows (overwritten below once
                # the sums are taken).
                g = scale_by_mask(g, nonpositive(y2[r], self.slope),
                                  self.slope, gx[r])
            s1[r] = g.sum(axis=1)
            s2[r] = numpy.einsum('ij,ij->i', g, x_hat)
            t = numpy.multiply(x_hat, (a[r] * s2[r] / n)[:, None])
            numpy.multiply(g, a[r, None], out=gx[r])
            gx[r] -= t
            gx[r] -= (a[r] * s1[r] / n)[:, None]

        threads.map(block, _row_blocks(B * C, n * gy2.itemsize),
                    size=gy2.size)
        ggamma = s2.reshape(B, C).sum(axis=0)
        gbeta = s1.reshape(B, C).sum(axis=0)
        grads = {0: gx.reshape(x.shape), 1: ggamma, 2: gbeta}
        return tuple(chainer.Variable(grads[i]) for i in indexes)


def instance_normalization(x, gamma, beta, eps=2e-5, slope=None):
    """Instance normalisation with a per-channel affine, then optionally
    ReLU or leaky ReLU.

    ``F.group_normalization`` with one group per channel (what
    :class:`cagan.links.InstanceNormalization` computes), through
    :class:`InstanceNormalization` for NumPy float32/float64 arrays;
    Chainer's own where the switch is ``'never'``. The activation, if any,
    is :func:`~cagan.kernels.relu` or :func:`~cagan.kernels.leaky_relu` of
    that output, computed in the same node where the kernels apply.

    Args:
        x: ``(B, C, ...)`` float array or Variable.
        gamma, beta: ``(C,)`` Variables of ``x``'s dtype.
        eps (float): added to the variance.
        slope (float or None): None: no activation; 0: ReLU; in (0, 1]:
            leaky ReLU with this slope.

    Returns:
        ~chainer.Variable: ``x``'s shape and dtype.
    """
    if slope is not None and not 0 <= slope <= 1:
        raise ValueError('slope must be None or in [0, 1], got {}'.format(
            slope))
    array = array_of(x)
    g, b = gamma.array, beta.array
    if (not use_kernels(array, g, b) or array.ndim < 3
            or array.dtype not in DTYPES or g.dtype != array.dtype
            or b.dtype != array.dtype or g.shape != (array.shape[1],)
            or array.size == 0):
        h = F.group_normalization(x, g.shape[0], gamma, beta, eps=eps)
        if slope is None:
            return h
        return relu(h) if slope == 0 else leaky_relu(h, slope)
    return InstanceNormalization(eps, slope).apply((x, gamma, beta))[0]
