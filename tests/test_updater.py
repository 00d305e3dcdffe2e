import importlib.util
import math
import subprocess
import sys

import chainer
import chainer.functions as F
import numpy
import pytest
from chainer import iterators, training

import cagan.precision
from cagan import Discriminator, Generator, losses, testing
from cagan.errors import NonFiniteLossError
from cagan.optimizers import linear_decay, make_adam
from cagan.updater import CAGANUpdater

SIZE = 64
KEYS = ['dis/loss', 'dis/loss_fake', 'dis/loss_real', 'dis/loss_wrong',
        'gen/alpha', 'gen/loss', 'gen/loss_adv', 'gen/loss_cyc',
        'gen/loss_id']


def triplets(seed=0, n=8, size=SIZE):
    rng = numpy.random.default_rng(seed)
    return [tuple(rng.random((3, size, size), dtype=numpy.float32)
                  for _ in range(3)) for _ in range(n)]


def make_updater(seed=0, noise_sigma=0.2, batch=4, data=None,
                 precision='float32', **kwargs):
    with cagan.precision.building(precision):
        gen = Generator(ch=16, size=SIZE, seed=seed)
        dis = Discriminator(ch=16, size=SIZE, noise_sigma=noise_sigma,
                            seed=seed + 1)
    iterator = iterators.SerialIterator(
        data or triplets(seed), batch, shuffle=None,
        order_sampler=iterators.ShuffleOrderSampler(
            numpy.random.RandomState(seed)))
    optimizers = {name: make_adam(link, precision=precision)
                  for name, link in (('gen', gen), ('dis', dis))}
    return CAGANUpdater(iterator, optimizers, **kwargs)


def step(updater):
    """One update under a reporter that observes gen and dis, as a Trainer."""
    reporter = chainer.Reporter()
    reporter.add_observer('gen', updater.get_optimizer('gen').target)
    reporter.add_observer('dis', updater.get_optimizer('dis').target)
    observation = {}
    with reporter.scope(observation):
        updater.update()
    return {k: float(v.array) for k, v in observation.items()}


def params(link):
    return {name: p.array.copy() for name, p in link.namedparams()}


def assert_same(a, b):
    assert a.keys() == b.keys()
    for name in a:
        numpy.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_one_step_reports_all_nine_values_and_changes_both_networks():
    updater = make_updater()
    gen = updater.get_optimizer('gen').target
    dis = updater.get_optimizer('dis').target
    gen_before, dis_before = params(gen), params(dis)
    values = step(updater)
    assert sorted(values) == KEYS
    assert all(math.isfinite(v) for v in values.values()), values
    assert 0 < values['gen/alpha'] < 1
    assert values['dis/loss'] == pytest.approx(
        values['dis/loss_real'] + values['dis/loss_fake']
        + values['dis/loss_wrong'], rel=1e-5)
    assert values['gen/loss'] == pytest.approx(
        values['gen/loss_adv'] + values['gen/loss_cyc']
        + 0.1 * values['gen/loss_id'], rel=1e-5)
    for before, link in ((gen_before, gen), (dis_before, dis)):
        changed = [n for n, p in link.namedparams()
                   if not numpy.array_equal(p.array, before[n])]
        # Every used layer moves; bn0 is unused in the reference article's networks.
        assert sorted(changed) == sorted(n for n in before if '/bn0/' not in n)
    assert updater.iteration == 1


def test_the_dis_step_leaves_the_generator_unchanged():
    updater = make_updater()
    gen = updater.get_optimizer('gen').target
    x_i, y_i, y_j = (numpy.stack(a) for a in zip(*triplets()[:4]))
    with chainer.using_config('train', False):
        x_ij = gen.swap(x_i, y_i, y_j)[0].array
    before = params(gen)
    reporter = chainer.Reporter()
    reporter.add_observer('dis', updater.get_optimizer('dis').target)
    with reporter.scope({}):
        updater.update_dis(x_i, y_i, y_j, x_ij)
    assert_same(params(gen), before)


@pytest.mark.numerics
def test_generator_gradient_uses_the_discriminator_from_before_the_step():
    updater = make_updater(noise_sigma=0)
    gen = updater.get_optimizer('gen').target
    dis = updater.get_optimizer('dis').target
    gen0, dis0 = gen.copy(mode='copy'), dis.copy(mode='copy')
    step(updater)
    # The same batch the updater drew: the sampler's first permutation.
    order = numpy.random.RandomState(0).permutation(8)[:4]
    data = triplets()
    x_i, y_i, y_j = (numpy.stack([data[k][n] for k in order]) for n in range(3))
    gen0.cleargrads()
    x_ij, alpha = gen0.swap(x_i, y_i, y_j)
    x_iji, _ = gen0.swap(x_ij, y_j, y_i)
    loss = losses.gen_loss(losses.adversarial_real(dis0(F.concat((x_ij, y_j)))),
                           losses.cycle_loss(x_i, x_iji), losses.id_loss(alpha))
    loss.backward()
    # bn0 is built but never used (as in the reference article).
    testing.assert_gradients_close(
        {n: p.grad for n, p in gen.namedparams() if '/bn0/' not in n},
        {n: p.grad for n, p in gen0.namedparams() if '/bn0/' not in n})
    assert not all(numpy.array_equal(p.array, q.array) for p, q in
                   zip(dis.params(), dis0.params()))


def test_the_gen_step_computes_no_discriminator_weight_gradient():
    # D's weight gradients are D's step's business: the gen step only
    # backpropagates through D to x_ij (about 4% of a step).
    updater = make_updater()
    gen = updater.get_optimizer('gen').target
    dis = updater.get_optimizer('dis').target
    dis.cleargrads()
    x_i, y_i, y_j = (numpy.stack(a) for a in zip(*triplets()[:4]))
    reporter = chainer.Reporter()
    reporter.add_observer('gen', gen)
    with reporter.scope({}):
        updater.update_gen(x_i, y_i, y_j)
    assert all(p.grad is None for p in dis.params())
    assert all(p.grad is not None for name, p in gen.namedparams()
               if '/bn0/' not in name)


@pytest.mark.numerics
def test_batched_pairs_equal_three_separate_calls():
    dis = Discriminator(ch=16, size=SIZE, noise_sigma=0, seed=0)
    rng = numpy.random.default_rng(1)
    pairs = [rng.random((2, 6, SIZE, SIZE), dtype=numpy.float32)
             for _ in range(3)]
    together = F.split_axis(dis(numpy.concatenate(pairs)), 3, axis=0)
    for alone, joint in zip(pairs, together):
        testing.assert_allclose(dis(alone).array, joint.array,
                                testing.NETWORK_OUTPUT_RTOL)


def test_same_seed_same_weights_after_three_steps():
    runs = []
    for _ in range(2):
        updater = make_updater(seed=5)
        for _ in range(3):
            step(updater)
        runs.append([params(updater.get_optimizer(n).target)
                     for n in ('gen', 'dis')])
    for a, b in zip(*runs):
        assert_same(a, b)


def test_loss_weights_are_used():
    values = step(make_updater(gamma_adv=0.5, gamma_cyc=2.0, gamma_id=1.0))
    assert values['gen/loss'] == pytest.approx(
        0.5 * values['gen/loss_adv'] + 2.0 * values['gen/loss_cyc']
        + values['gen/loss_id'], rel=1e-5)


def test_a_nan_loss_stops_before_any_update():
    updater = make_updater()
    gen = updater.get_optimizer('gen').target
    dis = updater.get_optimizer('dis').target
    gen.dc3.b.array[0] = numpy.nan
    gen_before, dis_before = params(gen), params(dis)
    with pytest.raises(NonFiniteLossError,
                       match=r'iteration 1: gen/loss is nan'):
        step(updater)
    assert_same(params(dis), dis_before)
    for name, p in gen.namedparams():
        numpy.testing.assert_array_equal(p.array, gen_before[name])


def test_a_nan_in_the_dis_step_stops_before_the_dis_update():
    updater = make_updater()
    dis = updater.get_optimizer('dis').target
    x_i, y_i, y_j = (numpy.stack(a) for a in zip(*triplets()[:4]))
    before = params(dis)
    reporter = chainer.Reporter()
    reporter.add_observer('dis', dis)
    with pytest.raises(NonFiniteLossError, match='dis/loss is nan'):
        with reporter.scope({}):
            updater.update_dis(x_i, y_i, y_j, numpy.full_like(x_i, numpy.nan))
    assert_same(params(dis), before)


def test_optimizers_must_be_named_gen_and_dis():
    updater = make_updater()
    with pytest.raises(ValueError, match="'gen'"):
        CAGANUpdater(updater.get_iterator('main'),
                     {'main': updater.get_optimizer('gen')})


def test_adam_defaults_are_the_papers():
    optimizer = make_adam(Generator(ch=8, size=32))
    assert (optimizer.alpha, optimizer.beta1, optimizer.beta2) == \
        (2e-4, 0.5, 0.999)


def test_linear_decay_in_a_trainer(tmp_path):
    updater = make_updater(batch=2)
    gen_opt = updater.get_optimizer('gen')
    trainer = training.Trainer(updater, (4, 'iteration'), out=str(tmp_path))
    trainer.extend(linear_decay(gen_opt, start=0, stop=4))
    seen = []
    trainer.extend(lambda t: seen.append(gen_opt.alpha), trigger=(1, 'iteration'))
    trainer.run()
    numpy.testing.assert_allclose(seen, [1.5e-4, 1e-4, 0.5e-4, 0.0], atol=1e-12)
    assert updater.get_optimizer('dis').alpha == 2e-4
    with pytest.raises(ValueError, match='start < stop'):
        linear_decay(gen_opt, 5, 5)


@pytest.mark.skipif(importlib.util.find_spec('cupy') is not None,
                    reason='CuPy is installed here, and Chainer imports it')
def test_a_cpu_step_never_imports_cupy():
    code = ('import sys, cagan, tests.test_updater as t; '
            't.step(t.make_updater()); assert "cupy" not in sys.modules')
    result = subprocess.run([sys.executable, '-W', 'error', '-c', code],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_worn_article_dropout_hides_y_i_from_the_first_pass_only():
    from cagan.data.neutral import neutral_article
    data = triplets(n=4)
    shown = [numpy.array(numpy.float32(k % 2)) for k in range(4)]
    with_flags = [t + (s,) for t, s in zip(data, shown)]
    neutral = neutral_article((SIZE, SIZE))
    hidden_by_hand = [(x, y if s else neutral, z)
                      for (x, y, z), s in zip(data, shown)]
    results = step(make_updater(noise_sigma=0, data=with_flags))
    # The first pass saw the neutral image where the flag is 0 ...
    first_pass_only = step(make_updater(noise_sigma=0, data=hidden_by_hand))
    assert results['gen/alpha'] == pytest.approx(
        first_pass_only['gen/alpha'], rel=1e-6)
    # ... but the cycle pass and the discriminator kept the real y_i.
    assert results['gen/loss_cyc'] != pytest.approx(
        first_pass_only['gen/loss_cyc'], rel=1e-6)
    assert results['dis/loss_real'] != pytest.approx(
        first_pass_only['dis/loss_real'], rel=1e-6)
