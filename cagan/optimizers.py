"""Optimisers for CAGAN's two networks."""

import chainer
from chainer.training import extensions


def make_adam(link, alpha=2e-4, beta1=0.5, beta2=0.999):
    """Adam set up on ``link``; the defaults are the paper's (lr 2e-4, beta1 0.5)."""
    optimizer = chainer.optimizers.Adam(alpha=alpha, beta1=beta1, beta2=beta2)
    optimizer.setup(link)
    return optimizer


def linear_decay(optimizer, start, stop):
    """An extension taking Adam's ``alpha`` linearly to 0.

    Alpha keeps its value until iteration ``start`` and reaches 0 at ``stop``.
    Add it to the trainer with the default (every iteration) trigger.
    """
    if not 0 <= start < stop:
        raise ValueError('linear decay needs 0 <= start < stop, got {} and {}'
                         .format(start, stop))
    return extensions.LinearShift(
        'alpha', (optimizer.alpha, 0.0), (start, stop), optimizer)
