"""The same computations on CuPy as on NumPy; skipped where no GPU is usable."""

import chainer
import numpy
import pytest
from chainer.backends import cuda

from cagan import Discriminator, Generator, InstanceNormalization, testing
from cagan.serialization import load_npz
from tests.helpers import make_updater, step


def gpu_usable():
    if not cuda.available:
        return False
    try:
        return cuda.cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


pytestmark = [pytest.mark.gpu, pytest.mark.numerics,
              pytest.mark.skipif(not gpu_usable(),
                                 reason='needs CuPy and a CUDA device')]
GPU = '@cupy:0'


def on_gpu(link):
    return link.copy(mode='copy').to_device(GPU)


def test_instance_norm_forward_and_backward_match_cpu(rng):
    link = InstanceNormalization(5)
    link.gamma.array[...] = rng.uniform(0.5, 1.5, 5)
    x = rng.standard_normal((3, 5, 8, 6)).astype(numpy.float32)
    gy = rng.standard_normal(x.shape).astype(numpy.float32)
    results = []
    for l, xp_x, xp_gy in ((link, x, gy),
                           (on_gpu(link), cuda.to_gpu(x), cuda.to_gpu(gy))):
        v = chainer.Variable(xp_x)
        l.cleargrads()
        y = l(v)
        y.grad = xp_gy
        y.backward()
        results.append([cuda.to_cpu(a) for a in
                        (y.array, v.grad, l.gamma.grad, l.beta.grad)])
    for cpu, gpu in zip(*results):
        testing.assert_allclose(gpu, cpu)


def test_networks_match_cpu_in_test_mode(rng):
    gen, dis = Generator(ch=16, size=64, seed=0), Discriminator(ch=16, size=64,
                                                                seed=1)
    x = rng.random((2, 9, 64, 64), dtype=numpy.float32)
    with chainer.using_config('train', False):
        cpu_out = gen(x).array
        gpu_out = cuda.to_cpu(on_gpu(gen)(cuda.to_gpu(x)).array)
        cpu_d = dis(x[:, :6]).array
        gpu_d = cuda.to_cpu(on_gpu(dis)(cuda.to_gpu(x[:, :6])).array)
    testing.assert_allclose(gpu_out, cpu_out, testing.NETWORK_OUTPUT_RTOL)
    testing.assert_allclose(gpu_d, cpu_d, testing.NETWORK_OUTPUT_RTOL)


def test_noise_on_gpu_is_float32_seeded_and_02():
    dis = on_gpu(Discriminator(ch=8, size=64, seed=3))
    h = chainer.Variable(cuda.cupy.zeros((1000, 64), numpy.float32))
    dis.seed_noise(7)
    a = dis._add_noise(h, dis.noise(0)).array
    dis.seed_noise(7)
    b = dis._add_noise(h, dis.noise(0)).array
    assert a.dtype == numpy.float32 and isinstance(a, cuda.ndarray)
    numpy.testing.assert_array_equal(cuda.to_cpu(a), cuda.to_cpu(b))
    assert abs(float(a.std()) - 0.2) < 0.01


def test_one_updater_step_matches_cpu():
    cpu = make_updater(noise_sigma=0)
    gpu = make_updater(noise_sigma=0, device=GPU)
    cpu_values, gpu_values = step(cpu), step(gpu)
    # Each value is a mean of non-negative terms: its own size is theirs.
    for key in cpu_values:
        testing.assert_allclose(gpu_values[key], cpu_values[key], 1e-3,
                                err_msg=key)


def test_a_mixed16_step_is_close_to_float32_on_the_cpu():
    cpu = make_updater(noise_sigma=0)
    gpu = make_updater(noise_sigma=0, device=GPU, precision='mixed16')
    cpu_values, gpu_values = step(cpu), step(gpu)
    for key in cpu_values:
        testing.assert_allclose(gpu_values[key], cpu_values[key], 1e-2,
                                err_msg=key)
    gen = gpu.get_optimizer('gen').target
    assert gen.c1.W.dtype == numpy.float16 and gen.bn1.gamma.dtype == \
        numpy.float32
    assert isinstance(gen.c1.W.update_rule._fp32_param.array, cuda.ndarray)


def test_mixed16_noise_on_gpu():
    gpu = make_updater(noise_sigma=0.2, device=GPU, precision='mixed16')
    values = step(gpu)
    assert all(numpy.isfinite(v) for v in values.values())


def test_weights_load_into_a_gpu_model(tmp_path):
    gen = Generator(ch=8, size=32, seed=0)
    chainer.serializers.save_npz(str(tmp_path / 'g.npz'), gen)
    target = Generator(ch=8, size=32, seed=9).to_device(GPU)
    load_npz(tmp_path / 'g.npz', target)
    numpy.testing.assert_array_equal(cuda.to_cpu(target.c2.W.array),
                                     gen.c2.W.array)
