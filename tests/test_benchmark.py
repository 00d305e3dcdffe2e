import chainer
import pytest

from cagan import benchmark, config
from cagan.kernels import threads


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
