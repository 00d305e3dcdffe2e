"""Chainer's Adam, its CPU update in cache-sized blocks: the same floats.

:class:`AdamRule` is Chainer's update rule with the CPU update made in
place, block by block, the blocks shared among threads
(:mod:`cagan.kernels.threads`); :class:`Adam` is ``chainer.optimizers.Adam``
with that rule. The values are Chainer's bit for bit, so the switch of
:mod:`cagan.kernels` (which chooses between functions that agree only to
rounding) leaves the rule alone.
"""

import numpy
from chainer.optimizers import adam

from cagan.kernels import threads

#: Elements per block in :class:`AdamRule`: a block's passes run in cache.
_BLOCK = 1 << 16


class AdamRule(adam.AdamRule):
    """Chainer's Adam update rule, with the CPU update done in cache-sized
    blocks and without temporaries.

    Chainer's CPU update makes about ten passes over each parameter with a
    fresh temporary array for each; on a 16 MB weight that is memory
    traffic and page faults (5% of a 128x96 training step per rank).
    Here each block goes through the same float operations in the same
    order, in place, so the result is Chainer's bit for bit. Other cases
    (AMSGrad, AdaBound, weight decay, float16, iDeep or GPU arrays) are
    Chainer's own code.
    """

    def update_core_cpu(self, param):
        grad, data = param.grad, param.data
        hp = self.hyperparam
        if (grad is None or hp.amsgrad or hp.adabound
                or hp.weight_decay_rate != 0
                or type(data) is not numpy.ndarray
                or data.dtype not in (numpy.float32, numpy.float64)
                or grad.dtype != data.dtype or not data.flags.c_contiguous):
            return super().update_core_cpu(param)
        self._check_eps(data.dtype.type)
        m, v = self.state['m'], self.state['v']
        g1, m1, v1, p1 = (a.reshape(-1) for a in (grad, m, v, data))
        alpha_t, eps, eta = self.alpha_t, hp.eps, hp.eta
        one_minus_beta1, one_minus_beta2 = 1.0 - hp.beta1, 1.0 - hp.beta2
        blocks = [slice(k, k + _BLOCK) for k in range(0, p1.size, _BLOCK)]

        def temporary():
            return numpy.empty(min(_BLOCK, p1.size), data.dtype)

        def block(t, k):
            g, mk, vk, pk = g1[k], m1[k], v1[k], p1[k]
            tk = t[:len(g)]
            # m += (1 - beta1) (grad - m)
            numpy.subtract(g, mk, out=tk)
            tk *= one_minus_beta1
            mk += tk
            # v += (1 - beta2) (grad grad - v)
            numpy.multiply(g, g, out=tk)
            tk -= vk
            tk *= one_minus_beta2
            vk += tk
            # param -= eta alpha_t m / (sqrt(v) + eps)
            numpy.sqrt(vk, out=tk)
            tk += eps
            numpy.divide(alpha_t, tk, out=tk)
            tk *= mk
            tk *= -eta
            pk += tk

        threads.map(block, blocks, temporary, size=p1.size)


class Adam(adam.Adam):
    """``chainer.optimizers.Adam`` with :class:`AdamRule` (same maths, same
    hyperparameters, same snapshots)."""

    def create_update_rule(self):
        return AdamRule(self.hyperparam)
