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
from cagan import Discriminator, Generator, losses, schedules, testing
from cagan.errors import NonFiniteLossError
from cagan.optimizers import (average_decay, make_adam,
                              master_weights, update_average)
from cagan.schedules import StepValue, id_weight, linear_decay, noise_level
from cagan.updater import CAGANUpdater, SupervisedUpdater
from tests.helpers import UPDATER_SIZE as SIZE
from tests.helpers import KEYS, make_updater, params, step, triplets


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
        changed = {n for n, p in link.namedparams()
                   if not numpy.array_equal(p.array, before[n])}
        # Every used parameter moves (bn0 is unused in the reference
        # article's networks), but the biases instance norm cancels: their
        # gradient is zero but for rounding, which Adam's normalised step
        # may or may not turn into a move.
        used, cancelled = testing.parameter_roles(link)
        assert used - cancelled <= changed <= used
    assert updater.iteration == 1


def test_the_dis_half_leaves_the_generator_alone():
    updater = make_updater()
    gen = updater.get_optimizer('gen').target
    x_i, y_i, y_j = (numpy.stack(a) for a in zip(*triplets()[:4]))
    with chainer.using_config('train', False):
        x_ij = gen.swap(x_i, y_i, y_j)[0].array
    before = params(gen)
    gen.cleargrads()
    values = updater.dis_grads(x_i, y_i, y_j, x_ij)
    assert sorted(values) == [k for k in KEYS if k.startswith('dis/')]
    assert_same(params(gen), before)
    assert all(p.grad is None for p in gen.params())


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
        {n: p.grad for n, p in gen0.namedparams() if '/bn0/' not in n},
        testing.cancelled_biases(gen))
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
    values, x_ij = updater.gen_grads(x_i, y_i, y_j)
    assert sorted(values) == [k for k in KEYS if k.startswith('gen/')]
    assert x_ij.shape == x_i.shape
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


def test_the_matching_term_trains_the_warp():
    updater = make_updater(gen_options={'warp': 'grid'}, gamma_match=2.0)
    gen = updater.get_optimizer('gen').target
    before = params(gen)
    values = step(updater)
    assert values['gen/loss'] == pytest.approx(
        values['gen/loss_adv'] + values['gen/loss_cyc']
        + 0.1 * values['gen/loss_id'] + 2.0 * values['gen/loss_match'],
        rel=1e-5)
    assert 0 < values['gen/loss_match'] < 2
    changed = {n for n, p in params(gen).items()
               if not numpy.array_equal(p, before[n])}
    # l4 starts at zero, so at the first step only it learns of the warp:
    # the layers before it get exactly zero gradients through it.
    assert {'/warp/l4/W', '/warp/l4/b'} <= changed
    assert not any(n.startswith('/warp/c') for n in changed)


def test_the_matching_term_needs_a_warp():
    with pytest.raises(ValueError, match='warping generator'):
        make_updater(gamma_match=1.0)


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


def test_a_nan_in_the_dis_half_stops_before_the_dis_update():
    updater = make_updater()
    gen = updater.get_optimizer('gen').target
    dis = updater.get_optimizer('dis').target
    x_i, y_i, y_j = (numpy.stack(a) for a in zip(*triplets()[:4]))
    gen_before, dis_before = params(gen), params(dis)
    values, _ = updater.gen_grads(x_i, y_i, y_j)
    values.update(updater.dis_grads(x_i, y_i, y_j,
                                    numpy.full_like(x_i, numpy.nan)))
    reporter = chainer.Reporter()
    reporter.add_observer('gen', gen)
    reporter.add_observer('dis', dis)
    with pytest.raises(NonFiniteLossError, match='dis/loss is nan'):
        with reporter.scope({}):
            updater.apply(values, {'gamma_id': 0.1})
    assert_same(params(dis), dis_before)
    # G's half was finite: G's update went ahead, as it comes first.
    assert not all(numpy.array_equal(p.array, gen_before[n])
                   for n, p in gen.namedparams())


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
    code = ('import sys, cagan, tests.helpers as t; '
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


# Stabilisers and the supervised reference.

def test_average_decay_forgets_the_start_early():
    assert average_decay(0.999, 1) == pytest.approx(2 / 11)
    assert average_decay(0.999, 10) == pytest.approx(11 / 20)
    assert average_decay(0.999, 10 ** 6) == 0.999
    assert average_decay(0.5, 1) == pytest.approx(2 / 11)
    assert average_decay(0.5, 100) == 0.5


class Weights(chainer.Link):
    """A link of given arrays (a small one, and one of several blocks)."""

    def __init__(self, *arrays):
        super().__init__()
        with self.init_scope():
            for k, a in enumerate(arrays):
                setattr(self, 'w{}'.format(k), chainer.Parameter(a.copy()))


def test_update_average_by_hand(rng):
    shapes = [(3, 5), (3 * 65536 + 7,)]  # the second: several CPU blocks
    start = [rng.standard_normal(s).astype(numpy.float32) for s in shapes]
    target = [rng.standard_normal(s).astype(numpy.float32) for s in shapes]
    average, link = Weights(*start), Weights(*target)
    expected = [a.astype(numpy.float64) for a in start]
    for step_, decay in ((1, 0.999), (2, 0.999), (5000, 0.999)):
        update_average(average, link, decay, step_)
        d = min(decay, (1 + step_) / (10 + step_))
        expected = [e + (1 - d) * (w - e) for e, w in zip(expected, target)]
        for k, e in enumerate(expected):
            # float32 tolerances: the average is float32.
            testing.assert_allclose(getattr(average, 'w{}'.format(k)).array,
                                    e.astype(numpy.float32),
                                    err_msg='w{} at {}'.format(k, step_))
    # The link itself is untouched.
    for k, w in enumerate(target):
        numpy.testing.assert_array_equal(getattr(link, 'w{}'.format(k)).array,
                                         w)


def with_average(decay=0.999, precision='float32', **kwargs):
    """An updater (as make_updater) with a float32 average of G, built
    with other weights: the updater copies G's."""
    return make_updater(precision=precision, ema=decay,
                        gen_ema=Generator(ch=16, size=SIZE, seed=9),
                        **kwargs)


def test_the_average_starts_as_g_and_follows_its_updates():
    assert make_updater().gen_ema is None
    updater = with_average(0.999)
    gen = updater.get_optimizer('gen').target
    w0 = params(gen)
    assert_same(params(updater.gen_ema), w0)
    step(updater)
    w1 = params(gen)
    d = 2 / 11  # the first update: t = 1
    for name, p in updater.gen_ema.namedparams():
        expected = w0[name] + (1 - d) * (w1[name].astype(numpy.float64)
                                         - w0[name])
        testing.assert_allclose(p.array, expected.astype(numpy.float32),
                                err_msg=name)
    assert any(not numpy.array_equal(p.array, w1[n])
               for n, p in updater.gen_ema.namedparams() if '/bn0/' not in n)


def test_the_average_does_not_change_the_training():
    plain, averaged = make_updater(seed=3), with_average(seed=3)
    for _ in range(2):
        assert step(plain) == step(averaged)
    for name in ('gen', 'dis'):
        assert_same(params(plain.get_optimizer(name).target),
                    params(averaged.get_optimizer(name).target))


def test_mixed16_averages_the_float32_masters():
    updater = with_average(0.0, precision='mixed16')  # d_t = 0: a copy
    step(updater)
    gen = updater.get_optimizer('gen').target
    masters, weights = master_weights(gen), dict(gen.namedparams())
    rounded = 0
    for name, p in updater.gen_ema.namedparams():
        assert p.dtype == masters[name].dtype == numpy.float32, name
        testing.assert_allclose(p.array, masters[name], err_msg=name)
        rounded += not numpy.array_equal(
            p.array, weights[name].array.astype(numpy.float32))
    # The float16 weights are rounded masters: the average is not them.
    assert rounded


def test_a_float16_average_is_refused():
    with cagan.precision.building('mixed16'):
        gen_ema = Generator(ch=16, size=SIZE, seed=0)
    with pytest.raises(ValueError, match='float32'):
        make_updater(gen_ema=gen_ema, ema=0.999)
    with pytest.raises(ValueError, match='both'):
        make_updater(ema=0.999)


def test_id_weight_warms_up_linearly():
    assert [id_weight(0.1, t, 4) for t in range(1, 7)] == pytest.approx(
        [0.025, 0.05, 0.075, 0.1, 0.1, 0.1])
    assert id_weight(0.1, 5, 4) == 0.1 and id_weight(0.1, 1, 0) == 0.1
    assert [id_weight(0.2, t, 2.5) for t in (1, 2, 3)] == pytest.approx(
        [0.08, 0.16, 0.2])


def scheduled(updater, *step_values):
    """``updater`` with schedules set before each update, as a trainer's
    extensions set them."""
    update = updater.update

    def scheduled_update():
        schedules.apply(step_values, updater)
        update()
    updater.update = scheduled_update
    return updater


def test_the_updater_uses_and_reports_the_warmed_up_weight():
    updater = scheduled(make_updater(), StepValue(
        'gamma_id', lambda t: id_weight(0.1, t, 4)))
    for t in (1, 2):
        values = step(updater)
        assert values['gen/gamma_id'] == pytest.approx(0.025 * t)
        assert values['gen/loss'] == pytest.approx(
            values['gen/loss_adv'] + values['gen/loss_cyc']
            + 0.025 * t * values['gen/loss_id'], rel=1e-5)


def test_noise_level_anneals_linearly_to_zero():
    assert [noise_level(0.2, t, 4) for t in range(1, 7)] == pytest.approx(
        [0.15, 0.1, 0.05, 0.0, 0.0, 0.0])
    assert noise_level(0.2, 100, None) == 0.2
    assert noise_level(0.2, 1, 0) == 0.0


def test_the_updater_anneals_the_discriminators_noise():
    updater = scheduled(make_updater(), StepValue(
        'noise_sigma', lambda t: noise_level(0.2, t, 2)))
    dis = updater.get_optimizer('dis').target
    assert step(updater)['dis/noise_sigma'] == pytest.approx(0.1)
    assert updater.noise_sigma == pytest.approx(0.1)
    assert dis.noise_sigma == 0.2  # the link's own level stays
    # G's pass through D and D's own pass drew noise.
    assert updater.noise_step == 2
    assert step(updater)['dis/noise_sigma'] == 0.0
    assert updater.noise_step == 2  # no noise: the stream stays where it was
    unscheduled = make_updater()
    assert 'dis/noise_sigma' not in step(unscheduled)
    assert unscheduled.noise_step == 2


def truth_batch(n=4, size=32):
    """Fixed (x_i, y_i, y_j, x_ij): x_ij is x_i with a square of y_j."""
    rng = numpy.random.default_rng(0)
    data = []
    for _ in range(n):
        x_i, y_i, y_j = (rng.random((3, size, size), dtype=numpy.float32)
                         for _ in range(3))
        x_ij = x_i.copy()
        x_ij[:, 8:24, 8:24] = y_j[:, 8:24, 8:24]
        data.append((x_i, y_i, y_j, x_ij))
    return data


def make_supervised(lr=2e-4, **kwargs):
    gen = Generator(ch=8, size=32, seed=0)
    data = truth_batch()
    # The same batch every step.
    iterator = iterators.SerialIterator(data, len(data), shuffle=False)
    return SupervisedUpdater(iterator, {'gen': make_adam(gen, lr=lr)},
                             **kwargs)


def supervised_step(updater):
    reporter = chainer.Reporter()
    reporter.add_observer('gen', updater.get_optimizer('gen').target)
    observation = {}
    with reporter.scope(observation):
        updater.update()
    return {k: float(v.array) for k, v in observation.items()}


def test_the_supervised_updater_lowers_l1_to_the_true_swap():
    updater = make_supervised(lr=1e-2)
    gen = updater.get_optimizer('gen').target
    x_i, y_i, y_j, x_ij = (numpy.stack(a) for a in zip(*truth_batch()))
    with chainer.using_config('train', False):
        before = float(losses.supervised_loss(gen.swap(x_i, y_i, y_j)[0],
                                              x_ij).array)
    seen = [supervised_step(updater) for _ in range(8)]
    assert sorted(seen[0]) == ['gen/alpha', 'gen/loss']
    assert seen[0]['gen/loss'] == pytest.approx(before, rel=1e-5)
    curve = [v['gen/loss'] for v in seen]
    assert all(b < a for a, b in zip(curve, curve[1:])), curve
    assert curve[-1] < 0.97 * curve[0], curve


def test_the_supervised_updater_averages_and_refuses_nan():
    gen_ema = Generator(ch=8, size=32, seed=5)
    updater = make_supervised(gen_ema=gen_ema, ema=0.999)
    gen = updater.get_optimizer('gen').target
    w0 = params(gen)
    supervised_step(updater)
    w1 = params(gen)
    for name, p in gen_ema.namedparams():
        expected = w0[name] + (9 / 11) * (w1[name].astype(numpy.float64)
                                          - w0[name])
        testing.assert_allclose(p.array, expected.astype(numpy.float32),
                                err_msg=name)
    gen.dc3.b.array[0] = numpy.nan
    before, average = params(gen), params(gen_ema)
    with pytest.raises(NonFiniteLossError, match='iteration 2: gen/loss'):
        supervised_step(updater)
    assert_same(params(gen_ema), average)
    for name, p in gen.namedparams():
        numpy.testing.assert_array_equal(p.array, before[name])
    with pytest.raises(ValueError, match="'gen'"):
        SupervisedUpdater(updater.get_iterator('main'),
                          {'gen': updater.get_optimizer('gen'),
                           'dis': updater.get_optimizer('gen')})


class TypeCheckSeen(chainer.FunctionHook):
    """Whether Chainer's type checks were on at each function call."""

    name = 'TypeCheckSeen'

    def __init__(self):
        self.seen = set()

    def forward_preprocess(self, function, in_data):
        self.seen.add(chainer.config.type_check)


@pytest.mark.parametrize('make, one_step', [(make_updater, step),
                                            (make_supervised,
                                             supervised_step)])
@pytest.mark.parametrize('configured', [True, False])
def test_type_checks_run_at_the_first_step_only(make, one_step, configured):
    updater = make()
    seen = []
    with chainer.using_config('type_check', configured):
        for _ in range(3):
            with TypeCheckSeen() as hook:
                one_step(updater)
            seen.append(hook.seen)
    # Never on where the user turned them off.
    assert seen == [{configured}, {False}, {False}]


# ------------------------------------------------------------------- R1

def d_batch(updater):
    """A batch's arrays and G's x_ij for it (test mode: no graph)."""
    x_i, y_i, y_j = (numpy.stack(a) for a in zip(*triplets()[:4]))
    with chainer.using_config('train', False):
        x_ij = updater.get_optimizer('gen').target.swap(
            x_i, y_i, y_j)[0].array
    return x_i, y_i, y_j, x_ij


def d_grads(dis):
    return {name: p.grad.copy() for name, p in dis.namedparams()
            if p.grad is not None}


def test_without_gamma_r1_d_has_the_gradients_of_eq_2():
    # gamma_r1 = 0 (the default): D's half is the reference article's,
    # bit for bit, even on a step that would add R1.
    updater = make_updater(gamma_r1=0.0, r1_every=1)
    dis = updater.get_optimizer('dis').target
    x_i, y_i, y_j, x_ij = d_batch(updater)
    pairs = numpy.concatenate([numpy.concatenate(p, axis=1) for p in (
        (x_i, y_i), (x_ij, y_j), (x_i, y_j))])
    loss = losses.dis_loss(*F.split_axis(dis(pairs, noise=dis.noise(0)), 3,
                                         axis=0))[0]
    dis.cleargrads()
    loss.backward()
    expected = d_grads(dis)
    for r1 in (False, True):
        values = updater.dis_grads(x_i, y_i, y_j, x_ij, dis.noise(0), r1=r1)
        assert values['dis/loss'] == float(loss.array)
        assert 'dis/loss_r1' not in values
        assert_same(d_grads(dis), expected)


@pytest.mark.numerics
def test_r1_adds_its_weighted_gradient_to_ds_own():
    gamma, k = 3.0, 4
    updater = make_updater(noise_sigma=0, gamma_r1=gamma, r1_every=k)
    dis = updater.get_optimizer('dis').target
    x_i, y_i, y_j, x_ij = d_batch(updater)
    plain = updater.dis_grads(x_i, y_i, y_j, x_ij)
    plain_grads = d_grads(dis)
    # R1 alone, of D on the real pairs (the whole 6-channel input).
    real = chainer.Variable(numpy.concatenate((x_i, y_i), axis=1))
    penalty = losses.r1_penalty(dis(real), real)
    dis.cleargrads()
    penalty.backward()
    r1_grads = d_grads(dis)
    values = updater.dis_grads(x_i, y_i, y_j, x_ij, r1=True)
    # dis/loss stays eq. 2; the penalty is reported unweighted.
    assert sorted(values) == sorted(list(plain) + ['dis/loss_r1'])
    for key in plain:
        assert values[key] == pytest.approx(plain[key], rel=1e-6)
    assert values['dis/loss_r1'] == pytest.approx(float(penalty.array),
                                                  rel=1e-4)
    got = d_grads(dis)
    expected = {n: g + gamma * k * r1_grads[n] if n in r1_grads else g
                for n, g in plain_grads.items()}
    testing.assert_gradients_close(got, expected,
                                   testing.cancelled_biases(dis))
    # The penalty's part is no rounding: it moves D's weights' gradients
    # by a sizeable fraction.
    assert testing.error(got['/c0/W'], plain_grads['/c0/W']) > 0.1


def test_r1_is_lazy_every_k_steps_and_reported_there():
    with_r1 = make_updater(gamma_r1=1.0, r1_every=2)
    without = make_updater()
    # Iteration 1 is not a multiple of k = 2: the very step without R1.
    with_r1.iteration = without.iteration = 1
    a, b = step(with_r1), step(without)
    assert a == b and sorted(a) == KEYS
    for name in ('gen', 'dis'):
        assert_same(params(with_r1.get_optimizer(name).target),
                    params(without.get_optimizer(name).target))
    # Iteration 2: R1, in D's half only.
    a, b = step(with_r1), step(without)
    assert sorted(a) == sorted(KEYS + ['dis/loss_r1'])
    assert a['dis/loss_r1'] > 0
    assert {k: v for k, v in a.items() if k != 'dis/loss_r1'} == b
    assert_same(params(with_r1.get_optimizer('gen').target),
                params(without.get_optimizer('gen').target))
    assert not all(
        numpy.array_equal(p, params(without.get_optimizer('dis').target)[n])
        for n, p in params(with_r1.get_optimizer('dis').target).items())
    assert 'dis/loss_r1' not in step(with_r1)       # iteration 3
    assert 'dis/loss_r1' in step(with_r1)           # iteration 4


@pytest.mark.parametrize('kwargs, words', [
    ({'gamma_r1': -1.0}, 'gamma_r1'), ({'r1_every': 0}, 'r1_every'),
    ({'r1_every': 2.0}, 'r1_every')])
def test_r1_options_are_checked(kwargs, words):
    with pytest.raises(ValueError, match=words):
        make_updater(**kwargs)


@pytest.mark.numerics
def test_r1_in_a_shared_step_is_the_whole_batchs():
    alone = make_updater(noise_sigma=0, gamma_r1=3.0)
    shared = make_updater(noise_sigma=0, gamma_r1=3.0, processes=2)
    arrays = tuple(numpy.stack(a) for a in zip(*triplets()[:4]))
    schedule = {'gamma_id': 0.1, 'noise_sigma': 0.0, 'noise_step': 0,
                'r1': 1.0}
    try:
        expected = alone.share_grads(arrays, schedule, 0)
        got = shared.shared(arrays, schedule)
    finally:
        shared.finalize()
    assert sorted(got) == sorted(expected) == sorted(KEYS + ['dis/loss_r1'])
    for key in expected:
        assert got[key] == pytest.approx(expected[key], rel=1e-4)
    dis = alone.get_optimizer('dis').target
    testing.assert_gradients_close(
        d_grads(shared.get_optimizer('dis').target), d_grads(dis),
        testing.cancelled_biases(dis))
