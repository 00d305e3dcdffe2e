"""cagan.schedules: what changes during a run, set before each update, and
resumed exactly from a snapshot."""

import chainer
import numpy
import pytest

from cagan import schedules, training
from tests.helpers import tiny_config


class Crash(Exception):
    pass


def weights(updater):
    return {n + k: p.array.copy() for n in ('gen', 'dis')
            for k, p in updater.get_optimizer(n).target.namedparams()}


@pytest.mark.parametrize('more', [
    {'schedule': {'decay_from': 1}},
    {'schedule': {'decay_from': 1, 'id_warmup': 2.0, 'noise_until': 2},
     'model': {'dis': {'noise_sigma': 0.2}}}])
def test_a_run_resumed_inside_its_schedules_ends_as_an_uninterrupted_one(
        tmp_path, data_root, more):
    # 5 steps an epoch: the rates fall from step 5 to 15, and the crash
    # comes after the snapshot of step 8, when they have fallen a little.
    cfg = tiny_config(data_root, more, epochs=3)
    whole = training.make_trainer(cfg, tmp_path / 'whole')
    whole.run()
    broken = training.make_trainer(cfg, tmp_path / 'broken')

    @chainer.training.make_extension(trigger=(1, 'iteration'), priority=-200)
    def crash(trainer):
        if trainer.updater.iteration == 9:
            raise Crash()

    broken.extend(crash)
    with pytest.raises(Crash):
        broken.run()
    resumed = training.make_trainer(cfg, tmp_path / 'broken')
    resumed.run()
    assert resumed.updater.iteration == whole.updater.iteration > 9
    rates = [[o.alpha for o in t.updater.get_all_optimizers().values()]
             for t in (whole, resumed)]
    assert rates[0] == rates[1] == [0.0, 0.0]
    expected, got = weights(whole.updater), weights(resumed.updater)
    for name in expected:
        numpy.testing.assert_array_equal(got[name], expected[name],
                                         err_msg=name)


def test_the_extensions_follow_the_config(tmp_path, data_root):
    cfg = tiny_config(data_root, {'schedule': {'id_warmup': 2.0,
                                               'decay_from': 1}}, epochs=3)
    trainer = training.make_trainer(cfg, tmp_path / 'run')
    updater = trainer.updater
    found = schedules.extensions(cfg, updater, per_epoch=6)
    assert [type(e).__name__ for e in found] == ['StepValue', '_LinearDecay',
                                                 '_LinearDecay']
    schedules.apply(found, updater)
    assert updater.gamma_id == pytest.approx(0.1 / 12)  # t = 1 of 12
    assert updater.scheduled == {'gamma_id'}
    assert schedules.extensions(tiny_config(data_root), updater, 6) == []
