"""Optimisers for CAGAN's two networks: Adam as in the paper (Chainer's,
its CPU update in blocks: :mod:`cagan.kernels.adam`), linear decay, and an
exponential moving average of the generator's weights."""

import numpy

import cagan.precision
from cagan.kernels import threads
from cagan.kernels.adam import Adam

#: Elements per block of :func:`update_average`'s CPU pass (as Adam's).
_BLOCK = 1 << 16


def make_adam(link, lr=2e-4, beta1=0.5, beta2=0.999, precision='float32'):
    """Adam set up on ``link``; the defaults are the paper's (lr 2e-4, beta1
    0.5). ``precision``: the one ``link`` was built in (see
    :mod:`cagan.precision`)."""
    optimizer = Adam(alpha=lr, beta1=beta1, beta2=beta2)
    optimizer.setup(link)
    return cagan.precision.setup_optimizer(optimizer, precision)


def average_decay(decay, step):
    """The decay of the ``step``-th update of a moving average:
    ``d_t = min(d, (1 + t) / (10 + t))``.

    The early updates forget faster (TensorFlow's ``num_updates`` rule), so
    that a short run's average does not remember the random initial weights.

    Args:
        decay (float): ``d`` in [0, 1], e.g. 0.999.
        step (int): ``t``, the updates so far, this one included (1 at the
            first).

    Returns:
        float: ``d_t``.
    """
    return min(decay, (1.0 + step) / (10.0 + step))


def master_weights(link):
    """``{name: array}`` of ``link``'s weights, each the float32 master copy
    that the optimizer updates under ``mixed16`` when it keeps one (see
    :mod:`cagan.precision`), else the parameter's own array."""
    weights = {}
    for name, param in link.namedparams():
        master = getattr(param.update_rule, '_fp32_param', None)
        weights[name] = (master if master is not None else param).array
    return weights


def copy_weights(average, link):
    """Set ``average``'s weights to ``link``'s (:func:`master_weights`,
    cast to ``average``'s dtype): the moving average's start."""
    weights = master_weights(link)
    for name, param in average.namedparams():
        param.array[...] = weights[name]


def update_average(average, link, decay, step):
    """One update of an exponential moving average of ``link``'s weights,
    in place (Yazici et al. 2019; Karras et al. 2018):

    .. math::
        w_{ema} \\leftarrow w_{ema} + (1 - d_t)(w - w_{ema}),
        \\qquad d_t = \\min(d, (1 + t) / (10 + t))

    Args:
        average (chainer.Link): float32 weights, the same parameter names
            and shapes as ``link`` (a second generator of the same config);
            on the same device.
        link (chainer.Link): the network being trained; its
            :func:`master_weights` are averaged (float32 under ``mixed16``).
        decay (float): ``d`` in [0, 1].
        step (int): ``t``, the updates so far (see :func:`average_decay`).

    The CPU pass runs in place, in cache-sized blocks shared among the
    workers (:mod:`cagan.kernels.threads`); other arrays (CuPy) take the same
    three float operations, so both give the same values.
    """
    rate = 1.0 - average_decay(decay, step)
    weights = master_weights(link)
    for name, param in average.namedparams():
        a, w = param.array, weights[name]
        if type(a) is numpy.ndarray and a.flags.c_contiguous:
            _blend_cpu(a.reshape(-1), w.reshape(-1), rate)
        else:
            t = w - a
            t *= a.dtype.type(rate)
            a += t


def _blend_cpu(a, w, rate):
    """``a += rate (w - a)`` in place, block by block (a, w flat)."""
    blocks = [slice(k, k + _BLOCK) for k in range(0, a.size, _BLOCK)]
    rate = a.dtype.type(rate)

    def temporary():
        return numpy.empty(min(_BLOCK, a.size), a.dtype)

    def block(t, k):
        ak = a[k]
        tk = t[:len(ak)]
        numpy.subtract(w[k], ak, out=tk)
        tk *= rate
        ak += tk

    threads.map(block, blocks, temporary, size=a.size)
