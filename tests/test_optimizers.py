import chainer
import chainer.links as L
import numpy

from cagan import optimizers
from cagan.kernels import adam


def test_make_adam_is_the_papers_adam_with_the_blocked_rule():
    link = L.Linear(3, 2)
    optimizer = optimizers.make_adam(link)
    assert isinstance(optimizer, chainer.optimizers.Adam)
    assert (optimizer.alpha, optimizer.beta1, optimizer.beta2) == (2e-4, 0.5,
                                                                   0.999)
    assert type(link.W.update_rule) is adam.AdamRule
    link.W.grad = numpy.ones_like(link.W.array)
    link.b.grad = numpy.ones_like(link.b.array)
    before = link.W.array.copy()
    optimizer.update()
    assert optimizer.t == 1 and (link.W.array < before).all()
