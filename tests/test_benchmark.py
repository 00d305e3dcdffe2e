import json
import sys
from pathlib import Path

import chainer
import pytest

from cagan import config
from cagan.experiments import benchmark
from cagan.data import synthetic
from cagan.errors import CaganError, ConfigError
from cagan.kernels import threads

ROOT = Path(__file__).resolve().parent.parent


def test_a_tiny_step_is_timed_and_layers_can_be_swapped():
    resolved = config.resolve({'data': {'size': '64x32'},
                               'model': {'ch': 8},
                               'train': {'batch': 2}}, 'test')
    device = chainer.get_device('@numpy')
    fast = benchmark.training_step(resolved, device, steps=1, ceiling_n=64)
    assert fast['seconds'] > 0 and fast['gflop'] > 0
    # One step: its ratio is against the ceiling sample taken after it.
    assert fast['ratio'] == pytest.approx(fast['gflops']
                                          / fast['ceiling_gflops'])
    assert fast['threads'] == threads.workers()
    assert fast['blas_threads'] == threads.blas_threads()
    with threads.using_workers(1):
        assert benchmark.training_step(resolved, device,
                                       steps=1)['threads'] == 1
    with threads.single_core():
        one = benchmark.training_step(resolved, device, steps=1)
    assert one['threads'] == 1
    assert one['blas_threads'] == (1 if threads.blas_threads() else None)
    assert fast['threads'] == threads.workers()
    # Chainer's own layers, as benchmark.py --compare times them.
    with chainer.using_config('cagan_cpu_kernels', 'never'):
        slow = benchmark.training_step(resolved, device, steps=1)
    assert slow['gflop'] == fast['gflop']
    assert benchmark.gemm_ceiling(device, n=64, repeats=1) > 0
    memory = benchmark.peak_memory_mib(device)
    assert memory['peak_rss_mib'] > 0


def test_a_batch_that_does_not_split_over_the_ranks_is_refused():
    from types import SimpleNamespace
    from cagan.errors import ConfigError
    resolved = config.resolve({'data': {'size': '64x32'},
                               'model': {'ch': 8},
                               'train': {'batch': 3}}, 'test')
    with pytest.raises(ConfigError, match='train.batch 3 does not split '
                       'evenly over 2 ranks'):
        benchmark.training_step(resolved, chainer.get_device('@numpy'),
                                comm=SimpleNamespace(size=2, rank=0))


def test_the_peer_is_given_the_resolved_config(tmp_path):
    # The peer builds CAGAN's networks, not the warp.
    demo = config.load(ROOT / 'configs' / 'demo.yaml',
                       {'model': {'gen': {'warp': 'none'}},
                        'loss': {'gamma_match': 0.0}})
    speaking = tmp_path / 'speaking.py'
    speaking.write_text(
        'import json, sys\n'
        'config = json.load(open(sys.argv[sys.argv.index("--config") + 1]))\n'
        'print(json.dumps({"seconds": 1, "config": config, '
        '"argv": sys.argv[1:]}))\n')
    said = benchmark.peer_step(sys.executable, demo, 3, script=speaking)
    assert said['argv'][-2:] == ['--steps', '3']
    # JSON has lists where the resolved config has tuples.
    assert said['config'] == json.loads(json.dumps(demo))
    spectral = config.resolve({'model': {'dis': {'spectral_norm': True}}},
                              'test')
    with pytest.raises(ConfigError, match='does not build '
                       'model.dis.spectral_norm'):
        benchmark.peer_step(sys.executable, spectral, 1, script=speaking)
    assert benchmark.PEER.is_file()


def test_a_peer_that_cannot_run_is_one_clear_error(tmp_path):
    resolved = config.resolve({}, 'test')
    with pytest.raises(CaganError, match='cannot run the peer'):
        benchmark.peer_step(tmp_path / 'no-python', resolved, 1)
    failing = tmp_path / 'peer.py'
    failing.write_text("raise SystemExit('ModuleNotFoundError: torch')\n")
    with pytest.raises(CaganError, match='failed: ModuleNotFoundError: '
                       'torch'):
        benchmark.peer_step(sys.executable, resolved, 1, script=failing)


def test_the_phases_of_a_short_run_add_up(tmp_path):
    root = tmp_path / 'data'
    synthetic.write_dataset(root, 24, size=(40, 30), seed=0, test_pairs=4)
    resolved = config.resolve({
        'data': {'root': str(root), 'size': [64, 32]},
        'model': {'ch': 8}, 'schedule': {'decay_from': 3},
        'train': {'batch': 4, 'epochs': 5, 'snapshot_every': 2},
        'preview': {'every': 2, 'humans': 2, 'articles': 3}}, 'test')
    phases = benchmark.training_phases(resolved, epochs=1)
    assert phases['iterations'] >= 1
    assert {'Evaluation', 'Preview', 'LogReport'} <= set(phases['extensions'])
    parts = (phases['setup_s'] + phases['data_s'] + phases['steps_s']
             + sum(phases['extensions'].values()))
    assert 0 < parts <= phases['wall_s']
    assert phases['data_s'] > 0 and phases['steps_s'] > 0
    missing = config.resolve({'data': {'root': str(tmp_path / 'none')}},
                             'test', resolved)
    assert benchmark.training_phases(missing) is None
