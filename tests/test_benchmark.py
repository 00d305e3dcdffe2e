import sys
from pathlib import Path

import chainer
import pytest

from cagan import benchmark, config
from cagan.data import synthetic
from cagan.errors import CaganError, ConfigError
from cagan.kernels import threads

ROOT = Path(__file__).resolve().parent.parent


def test_step_flops_follow_the_layer_shapes():
    reference = benchmark.step_gflop(16, 512, (256, 256))
    # The reference article's step: about 1.3-1.4 TFLOP (1279 without the
    # input gradients of every layer).
    assert 1250 < reference < 1450
    assert benchmark.step_gflop(32, 512, (256, 256)) == pytest.approx(
        2 * reference)
    small = benchmark.step_gflop(16, 512, (128, 96))
    assert small == pytest.approx(reference * (128 * 96) / (256 * 256), rel=0.02)
    # One generator convolution by hand: 16 x (128 x 128) x 9 x 64 x 16 MACs.
    assert benchmark._gen_layers(16, 512, (256, 256))[0][0] == \
        16 * 128 * 128 * 9 * 64 * 16


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


def test_the_peer_is_given_the_configs_step():
    demo = config.load(ROOT / 'configs' / 'demo.yaml')
    args = benchmark.peer_args(demo)
    assert args[-1] == '--inject'
    args = args[:-1]
    pairs = dict(zip(args[::2], args[1::2]))
    assert pairs['--size'] == '64x64' and pairs['--ch'] == '64'
    assert pairs['--head'] == 'patch16' and pairs['--upsample'] == 'resize'
    assert float(pairs['--dis-lr']) == demo['optimizer']['dis_lr']
    assert float(pairs['--ema']) == demo['optimizer']['ema']
    reference = config.load(ROOT / 'configs' / 'swimwear.yaml')
    args = benchmark.peer_args(reference)
    assert '--inject' not in args and '--ema' not in args
    assert dict(zip(args[::2], args[1::2]))['--noise'] == '0.2'
    spectral = config.resolve({'model': {'spectral_norm': True}}, 'test')
    with pytest.raises(ConfigError, match='does not build '
                       'model.spectral_norm'):
        benchmark.peer_args(spectral)


def test_a_peer_that_cannot_run_is_one_clear_error(tmp_path):
    resolved = config.resolve({}, 'test')
    with pytest.raises(CaganError, match='cannot run the peer'):
        benchmark.peer_step(tmp_path / 'no-python', tmp_path / 'peer.py',
                            resolved, 1)
    failing = tmp_path / 'peer.py'
    failing.write_text("raise SystemExit('ModuleNotFoundError: torch')\n")
    with pytest.raises(CaganError, match='failed: ModuleNotFoundError: '
                       'torch'):
        benchmark.peer_step(sys.executable, failing, resolved, 1)
    speaking = tmp_path / 'speaking.py'
    speaking.write_text('import json, sys\nprint(json.dumps({"seconds": 1, '
                        '"argv": sys.argv[1:]}))\n')
    said = benchmark.peer_step(sys.executable, speaking, resolved, 3)
    assert said['argv'][-2:] == ['--steps', '3']


def test_the_phases_of_a_short_run_add_up(tmp_path):
    root = tmp_path / 'data'
    synthetic.write_dataset(root, 24, size=(40, 30), seed=0, test_pairs=4)
    resolved = config.resolve({
        'data': {'root': str(root), 'size': [64, 32]},
        'model': {'ch': 8}, 'optimizer': {'decay_from': 3},
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
