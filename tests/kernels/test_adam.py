"""cagan.kernels.adam: the blocked Adam rule gives Chainer's floats bit for
bit, and Chainer's own code where it does not apply."""

import chainer
import chainer.links as L
import numpy
import pytest

from cagan.kernels import adam


def twin_links(dtype, seed=0):
    """Two identical links, one parameter larger than an update block."""
    rng = numpy.random.default_rng(seed)
    link = L.Linear(300, 700)
    for param in link.params():
        param.array = rng.standard_normal(param.shape).astype(dtype)
    assert link.W.size > adam._BLOCK
    return link, link.copy(mode='copy')


def step_both(ours, theirs, steps, seed=1):
    rng = numpy.random.default_rng(seed)
    for _ in range(steps):
        for p, q in zip(ours.target.params(), theirs.target.params()):
            g = rng.standard_normal(p.shape).astype(p.dtype)
            p.grad, q.grad = g.copy(), g.copy()
        ours.update()
        theirs.update()


@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_adam_is_chainers_bit_for_bit(dtype):
    a, b = twin_links(dtype)
    ours = adam.Adam(alpha=1e-3, beta1=0.5)
    ours.setup(a)
    theirs = chainer.optimizers.Adam(alpha=1e-3, beta1=0.5)
    theirs.setup(b)
    assert type(ours.target.W.update_rule) is adam.AdamRule
    step_both(ours, theirs, 4)
    for p, q in zip(a.params(), b.params()):
        numpy.testing.assert_array_equal(p.array, q.array)
        for key in ('m', 'v'):
            numpy.testing.assert_array_equal(p.update_rule.state[key],
                                             q.update_rule.state[key])


@pytest.mark.parametrize('kwargs', [dict(weight_decay_rate=1e-2),
                                    dict(amsgrad=True)])
def test_adam_variants_are_chainers_own(kwargs):
    a, b = twin_links(numpy.float32)
    ours, theirs = adam.Adam(**kwargs), chainer.optimizers.Adam(**kwargs)
    ours.setup(a)
    theirs.setup(b)
    step_both(ours, theirs, 3)
    for p, q in zip(a.params(), b.params()):
        numpy.testing.assert_array_equal(p.array, q.array)


def test_a_chainer_adam_snapshot_resumes_in_ours(tmp_path):
    a, b = twin_links(numpy.float32)
    theirs = chainer.optimizers.Adam()
    theirs.setup(b)
    for _ in range(2):
        for q in b.params():
            q.grad = numpy.ones_like(q.array)
        theirs.update()
    chainer.serializers.save_npz(tmp_path / 'opt.npz', theirs)
    ours = adam.Adam()
    ours.setup(a)
    chainer.serializers.load_npz(tmp_path / 'opt.npz', ours)
    assert ours.t == theirs.t == 2
    numpy.testing.assert_array_equal(a.W.update_rule.state['m'],
                                     b.W.update_rule.state['m'])
