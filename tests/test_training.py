"""cagan.training: a config to a Trainer that runs, resumes and reproduces."""

import json
import os
import shutil
import subprocess
import sys
import time

import chainer
import numpy
import pytest

from cagan import config, run, training
from cagan.data import dataset
from cagan.errors import ConfigError, DataError
from cagan.serialization import load_npz

import cagan
import cagan.precision
from tests.helpers import tiny_config


#: Every stabiliser of the CAGAN step on, at a tiny run's scale.
STABILISERS = {'optimizer': {'ema': 0.9, 'dis_lr': 1e-3},
               'schedule': {'id_warmup': 1.5, 'noise_until': 1}}


def test_the_last_iteration_is_logged_whatever_log_every(tmp_path,
                                                        data_root):
    # A run shorter than log_every: without an entry at the end, its
    # iterations and its epoch's scores would never reach the log.
    out = tmp_path / 'run'
    trainer = training.make_trainer(
        tiny_config(data_root, epochs=1, log_every=1000), out)
    trainer.run()
    log = json.loads((out / 'log').read_text())
    assert [e['iteration'] for e in log] == [trainer.updater.iteration]
    assert 'eval/changed_l1' in log[0] and 'gen/loss' in log[0]
    assert (out / 'loss.png').is_file()


def weights(path):
    with numpy.load(str(path)) as f:
        return {k: f[k] for k in f.files}


def test_a_short_run_writes_everything(tmp_path, data_root):
    out = tmp_path / 'run'
    trainer = training.make_trainer(tiny_config(data_root, epochs=1), out)
    assert trainer.updater.gen_ema is None
    trainer.run()
    iterations = trainer.updater.iteration
    assert iterations >= 2
    names = set(os.listdir(out))
    assert {'config.yaml', 'log', 'loss.png', 'alpha.png', 'eval.png',
            'gen_epoch_1.npz', 'dis_epoch_1.npz', 'gen_best.npz',
            'preview'} <= names
    assert 'snapshot_iter_{}'.format(iterations) in names
    assert not [n for n in names if n.startswith(('.tmp-', 'tmp'))]
    log = json.loads((out / 'log').read_text())
    assert [e['iteration'] for e in log] == list(range(1, iterations + 1))
    assert {'gen/loss', 'gen/alpha', 'dis/loss'} <= set(log[0])
    # Schedules are logged only when on.
    assert not {'gen/gamma_id', 'dis/noise_sigma'} & set(log[0])
    scored = [e for e in log if 'eval/changed_l1' in e]
    assert len(scored) == 1 and 'eval/cycle_error' in scored[0]
    assert {'iter_2.png', 'latest.png'} <= set(os.listdir(out / 'preview'))
    # The run's folder is enough to rebuild its generator.
    saved = config.load(out / 'config.yaml')
    assert saved == tiny_config(data_root, epochs=1)
    gen = run.make_generator(saved)
    load_npz(run.find_weights(out), gen)


def test_same_config_same_weights(tmp_path, data_root):
    runs = []
    for name in ('a', 'b'):
        training.make_trainer(tiny_config(data_root), tmp_path / name).run()
        runs.append(weights(tmp_path / name / 'gen_epoch_1.npz'))
    assert runs[0].keys() == runs[1].keys()
    for key in runs[0]:
        numpy.testing.assert_array_equal(runs[0][key], runs[1][key])
    other = tmp_path / 'seed1'
    training.make_trainer(config.resolve({'train': {'seed': 1}}, 'test',
                                         tiny_config(data_root)), other).run()
    assert not numpy.array_equal(
        weights(other / 'gen_epoch_1.npz')['c0/W'], runs[0]['c0/W'])


class Crash(Exception):
    pass


@pytest.mark.parametrize('precision, more, processes', [
    ('float32', None, 1), ('mixed16', None, 1), ('float32', STABILISERS, 1),
    ('float32', STABILISERS, 2)],
    ids=['float32', 'mixed16', 'stabilisers', 'stabilisers-2-processes'])
def test_a_crashed_run_resumes_to_the_same_weights(tmp_path, data_root,
                                                   precision, more,
                                                   processes):
    # mixed16: the loss scales and float32 masters, which Chainer's
    # snapshot leaves out, are resumed too (cagan.precision.serialize).
    # The stabilisers: G's average is in the snapshot, and the schedules
    # (noise, id weight) follow the resumed iteration. Two processes: the
    # helpers hold no state, and each share's noise follows the iteration.
    cfg = tiny_config(data_root, more, epochs=2)
    whole = tmp_path / 'whole'
    uninterrupted = training.make_trainer(cfg, whole, precision=precision,
                                          processes=processes)
    uninterrupted.run()
    end = uninterrupted.updater.iteration

    broken = tmp_path / 'broken'
    trainer = training.make_trainer(cfg, broken, precision=precision,
                                    processes=processes)

    @chainer.training.make_extension(trigger=(1, 'iteration'), priority=-200)
    def crash(trainer):
        if trainer.updater.iteration == 5:  # after the snapshot of 4
            raise Crash()

    trainer.extend(crash)
    with pytest.raises(Crash):
        trainer.run()
    # The crash stopped the step's helper processes.
    assert trainer.updater.shared is None or not trainer.updater.shared._helpers
    resumed = training.make_trainer(cfg, broken, precision=precision,
                                    processes=processes)
    resumed.run()
    assert resumed.updater.iteration == end
    for name in ('gen', 'dis'):
        scales = [cagan.precision.loss_scale(t.updater.get_optimizer(name))
                  for t in (uninterrupted, resumed)]
        assert scales[0] == scales[1]
        assert (scales[0] is None) == (precision == 'float32')
    for name in ('gen_epoch_2.npz', 'dis_epoch_2.npz'):
        a, b = weights(whole / name), weights(broken / name)
        for key in a:
            numpy.testing.assert_array_equal(a[key], b[key], err_msg=key)
    # G's own weights too (with an average, gen_epoch_N holds that).
    for a, b in zip(*(sorted(t.updater.get_optimizer('gen').target
                             .namedparams()) for t in (uninterrupted,
                                                       resumed))):
        numpy.testing.assert_array_equal(a[1].array, b[1].array,
                                         err_msg=a[0])
    log = json.loads((broken / 'log').read_text())
    assert [e['iteration'] for e in log] == list(range(1, end + 1))
    whole_log = json.loads((whole / 'log').read_text())
    for a, b in zip(log, whole_log):
        assert a['gen/loss'] == pytest.approx(b['gen/loss'], rel=1e-6)


def test_kill_9_then_restart_finishes_with_every_iteration_once(
        tmp_path, data_root):
    cfg_path = tmp_path / 'exp.yaml'
    config.save(tiny_config(data_root, epochs=3, snapshot_every=3),
                tmp_path / run.CONFIG_NAME)
    os.replace(tmp_path / 'config.yaml', cfg_path)
    out = tmp_path / 'run'
    command = [sys.executable, 'scripts/train.py', '--config', str(cfg_path),
               '--out', str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (out / 'snapshot_iter_3').exists():
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)  # mid-step, mid-write: anywhere
    process.kill()
    process.wait()
    process.stderr.close()
    done = subprocess.run(command, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    assert done.returncode == 0, done.stderr
    log = json.loads((out / 'log').read_text())
    pairs = len(dataset.read_pairs_of(data_root))
    end = -(-3 * pairs // 4)  # 3 epochs of batch 4
    assert [e['iteration'] for e in log] == list(range(1, end + 1))
    assert not [n for n in os.listdir(out) if n.startswith(('.tmp-', 'tmp'))]


def test_missing_data_is_reported_before_anything_is_written(tmp_path):
    out = tmp_path / 'run'
    with pytest.raises(DataError, match='no such dataset folder'):
        training.make_trainer(tiny_config(tmp_path / 'nothing'), out)
    assert not out.exists()


def link_weights(link):
    return {name.lstrip('/'): p.array for name, p in link.namedparams()}


def test_with_an_average_the_saved_generators_are_the_average(tmp_path,
                                                              data_root):
    out = tmp_path / 'run'
    trainer = training.make_trainer(
        tiny_config(data_root, {'optimizer': {'ema': 0.9}}), out)
    trainer.run()
    updater = trainer.updater
    average = link_weights(updater.gen_ema)
    own = link_weights(updater.get_optimizer('gen').target)
    for name in ('gen_epoch_1.npz', 'gen_best.npz'):
        saved = weights(out / name)
        assert saved.keys() == average.keys()
        for key in saved:
            numpy.testing.assert_array_equal(saved[key], average[key],
                                             err_msg=key)
        assert any(not numpy.array_equal(saved[k], own[k]) for k in saved)
    # Previews and scores show it too.
    for name in ('Preview', 'Evaluation'):
        assert trainer.get_extension(name).gen is updater.gen_ema
    # What swap.py and evaluate.py load.
    gen, _, _ = run.load_generator(out)
    for key, value in link_weights(gen).items():
        numpy.testing.assert_array_equal(value, average[key], err_msg=key)


def test_the_stabilisers_schedules_reach_the_log(tmp_path, data_root):
    out = tmp_path / 'run'
    trainer = training.make_trainer(tiny_config(data_root, STABILISERS), out)
    trainer.run()
    per_epoch = len(dataset.read_pairs_of(data_root)) / 4
    log = json.loads((out / 'log').read_text())
    for entry in log:
        t = entry['iteration']
        assert entry['gen/gamma_id'] == pytest.approx(
            0.1 * min(1, t / (1.5 * per_epoch)))
        assert entry['dis/noise_sigma'] == pytest.approx(
            0.2 * max(0, 1 - t / per_epoch))
    assert trainer.updater.get_optimizer('dis').alpha == 1e-3
    assert trainer.updater.get_optimizer('gen').alpha == 2e-4


def test_a_supervised_run_trains_g_alone(tmp_path, data_root):
    # Needs the training ground truth (data_root/truth.txt) that
    # synthetic.write_dataset writes.
    out = tmp_path / 'run'
    trainer = training.make_trainer(
        tiny_config(data_root, {'optimizer': {'ema': 0.9}},
                    mode='supervised'), out)
    assert set(trainer.updater.get_all_optimizers()) == {'gen'}
    trainer.run()
    names = set(os.listdir(out))
    assert {'gen_epoch_1.npz', 'gen_best.npz', 'loss.png'} <= names
    assert not [n for n in names if n.startswith('dis_')]
    log = json.loads((out / 'log').read_text())
    assert {'gen/loss', 'gen/alpha'} <= set(log[-1])
    assert not [k for k in log[-1] if k.startswith('dis/')]
    saved = weights(out / 'gen_epoch_1.npz')
    for key, value in link_weights(trainer.updater.gen_ema).items():
        numpy.testing.assert_array_equal(saved[key], value, err_msg=key)


def test_supervised_without_ground_truth_says_so(tmp_path, data_root):
    root = tmp_path / 'data'
    shutil.copytree(data_root, root)
    (root / 'truth.txt').unlink(missing_ok=True)
    out = tmp_path / 'run'
    with pytest.raises(DataError, match='no training ground truth'):
        training.make_trainer(tiny_config(root, mode='supervised'), out)
    assert not out.exists()


def test_supervised_refuses_worn_article_dropout(tmp_path, data_root):
    out = tmp_path / 'run'
    with pytest.raises(ConfigError, match='worn_dropout'):
        training.make_trainer(tiny_config(
            data_root, {'data': {'worn_dropout': 0.5}}, mode='supervised'),
            out)
    assert not out.exists()
