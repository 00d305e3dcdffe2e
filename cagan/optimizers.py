"""Optimisers for CAGAN's two networks: Adam as in the paper (Chainer's,
its CPU update in blocks: :mod:`cagan.kernels.adam`), linear decay."""

from chainer.training import extensions

import cagan.precision
from cagan.kernels.adam import Adam


def make_adam(link, lr=2e-4, beta1=0.5, beta2=0.999, precision='float32'):
    """Adam set up on ``link``; the defaults are the paper's (lr 2e-4, beta1
    0.5). ``precision``: the one ``link`` was built in (see
    :mod:`cagan.precision`)."""
    optimizer = Adam(alpha=lr, beta1=beta1, beta2=beta2)
    optimizer.setup(link)
    return cagan.precision.setup_optimizer(optimizer, precision)


def linear_decay(optimizer, start, stop):
    """An extension taking Adam's learning rate linearly to 0.

    The rate (Chainer's ``alpha``) keeps its value until iteration ``start``
    and reaches 0 at ``stop``.
    Add it to the trainer with the default (every iteration) trigger.
    """
    if not 0 <= start < stop:
        raise ValueError('linear decay needs 0 <= start < stop, got {} and {}'
                         .format(start, stop))
    return extensions.LinearShift(
        'alpha', (optimizer.alpha, 0.0), (start, stop), optimizer)
