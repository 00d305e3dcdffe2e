"""float32, tf32 and mixed16 (cagan.precision) on the CPU: what can be
checked without a GPU (NumPy computes float16 slowly but exactly as IEEE
half precision)."""

import chainer
import numpy
import pytest

import cagan.precision
from cagan import Discriminator, Generator, testing
from cagan.errors import ConfigError
from cagan.serialization import load_npz
from tests.helpers import KEYS, make_updater, refusal, step

CPU = chainer.get_device('@numpy')


def test_check_refuses_unknown_precisions_and_tf32_on_a_cpu():
    for precision in ('float32', 'mixed16'):
        cagan.precision.check(precision, CPU)
    with pytest.raises(ConfigError, match='tf32 needs a GPU'):
        cagan.precision.check('tf32', CPU)
    with pytest.raises(ConfigError, match="unknown precision 'float64'"):
        cagan.precision.check('float64', CPU)


@pytest.mark.parametrize('script', ['train.py', 'benchmark.py'])
def test_scripts_refuse_tf32_on_a_cpu_in_one_line(tmp_path, script):
    assert refusal(script, tmp_path / 'run', '--precision', 'tf32') == [
        'error: precision tf32 needs a GPU (--device @cupy:0): CPUs have no '
        'TF32 products']


def build(precision, size=64):
    with cagan.precision.building(precision):
        return (Generator(ch=16, size=size, seed=0),
                Discriminator(ch=16, size=size, seed=1, noise_sigma=0))


@pytest.mark.numerics
def test_mixed16_links_compute_in_float16_and_keep_float32_interfaces(rng):
    gen16, dis16 = build('mixed16')
    gen32, dis32 = build('float32')
    for link in (gen16, dis16):
        for name, param in link.namedparams():
            # Instance norm's affine stays float32 (as Chainer's norms).
            expected = numpy.float32 if 'bn' in name else numpy.float16
            assert param.dtype == expected, name
    # The same draws, rounded once.
    numpy.testing.assert_array_equal(gen16.c1.W.array,
                                     gen32.c1.W.array.astype(numpy.float16))
    x = rng.random((2, 3, 64, 64), dtype=numpy.float32)
    y = rng.random((2, 3, 64, 64), dtype=numpy.float32)
    x16, alpha16 = gen16.swap(x, y, y)
    x32, alpha32 = gen32.swap(x, y, y)
    d16 = dis16(numpy.concatenate((x, y), axis=1))
    d32 = dis32(numpy.concatenate((x, y), axis=1))
    for a, b in ((x16, x32), (alpha16, alpha32), (d16, d32)):
        assert a.dtype == numpy.float32
        # float16 rounding (2**-11) of the largest values, carried through
        # the layers.
        testing.assert_allclose(a.array, b.array, rtol=2e-2)


@pytest.mark.numerics
def test_mixed16_step_is_close_to_float32_and_keeps_float32_masters():
    runs = {p: make_updater(noise_sigma=0, precision=p)
            for p in ('float32', 'mixed16')}
    values = {p: step(u) for p, u in runs.items()}
    assert sorted(values['mixed16']) == KEYS
    # Each value is a mean of non-negative terms: its own size is theirs.
    for key in KEYS:
        testing.assert_allclose(values['mixed16'][key], values['float32'][key],
                                5e-3, err_msg=key)
    for name in ('gen', 'dis'):
        optimizer = runs['mixed16'].get_optimizer(name)
        for path, param in optimizer.target.namedparams():
            master = param.update_rule._fp32_param
            if param.dtype == numpy.float16:
                # The weight is its float32 master, rounded.
                assert master.dtype == numpy.float32, path
                numpy.testing.assert_array_equal(
                    param.array, master.array.astype(numpy.float16))
            else:
                assert master is None, path


def first_moments(optimizer):
    """Adam's first moment of every parameter: (1 - beta1) times its
    unscaled gradient after one step."""
    return {path: param.update_rule.state['m'].copy()
            for path, param in optimizer.target.namedparams()
            if param.update_rule.state is not None}


def test_the_loss_scale_is_divided_out_of_the_gradients():
    # Scaling by a power of two is exact in floating point, but for what
    # float16 rounds to subnormals unscaled (what the scale is for), so a
    # run scaled by 1024 must see about the gradients of a run scaled by 1
    # once the scale is divided out (a missing or double division: 1024x).
    runs = {scale: make_updater(noise_sigma=0, precision='mixed16')
            for scale in (1.0, 1024.0)}
    for scale, updater in runs.items():
        for name in ('gen', 'dis'):
            updater.get_optimizer(name).set_loss_scale(scale)
        step(updater)
    for name in ('gen', 'dis'):
        scaled = runs[1024.0].get_optimizer(name)
        assert all(p._loss_scale == 1024.0 for path, p in
                   scaled.target.namedparams() if path.endswith('/W'))
        plain = first_moments(runs[1.0].get_optimizer(name))
        moments = first_moments(scaled)
        assert moments.keys() == plain.keys() and len(moments) > 10
        for path, m in moments.items():
            assert m.dtype == numpy.float32, path
            if not path.endswith('/W'):
                # Biases before an instance norm: a true gradient of 0,
                # so nothing but rounding to compare.
                continue
            error = numpy.linalg.norm(m - plain[path])
            assert error <= 0.02 * numpy.linalg.norm(plain[path]), path


def test_dynamic_loss_scale_doubles_after_clean_steps():
    updater = make_updater(noise_sigma=0, precision='mixed16')
    for expected in (2.0, 4.0, 8.0):
        step(updater)
        for name in ('gen', 'dis'):
            assert cagan.precision.loss_scale(
                updater.get_optimizer(name)) == expected


def test_float32_keeps_no_loss_scale_and_no_masters():
    updater = make_updater(noise_sigma=0)
    step(updater)
    optimizer = updater.get_optimizer('gen')
    assert cagan.precision.loss_scale(optimizer) is None
    assert all(p.update_rule._fp32_param is None
               for p in optimizer.target.params())


def test_mixed16_noise_reaches_the_discriminator():
    _, dis = build('mixed16')
    x = numpy.zeros((2, 6, 64, 64), numpy.float32)
    a = dis(x, noise=dis.noise(0, sigma=0.2)).array
    b = dis(x, noise=dis.noise(1, sigma=0.2)).array
    assert a.dtype == numpy.float32 and not numpy.array_equal(a, b)


def test_mixed16_weights_load_into_a_float32_generator(tmp_path):
    gen16, _ = build('mixed16')
    chainer.serializers.save_npz(str(tmp_path / 'gen.npz'), gen16)
    gen32 = Generator(ch=16, size=64, seed=5)
    load_npz(tmp_path / 'gen.npz', gen32)
    assert gen32.c2.W.dtype == numpy.float32
    numpy.testing.assert_array_equal(gen32.c2.W.array,
                                     gen16.c2.W.array.astype(numpy.float32))
