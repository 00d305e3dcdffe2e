"""Weights saved by the reference article's code load into ours and give the same outputs."""

import chainer
import chainer.functions as F
import numpy
import pytest

from cagan import Discriminator, Generator, testing
from cagan.errors import ModelFileError
from cagan.serialization import load_npz
from tests.reference_article import ReferenceDiscriminator, ReferenceGenerator


def randomise(link, rng):
    # Non-default values everywhere, so that every loaded array matters.
    for param in link.params():
        param.array[...] = rng.normal(
            1.0 if param.name == 'gamma' else 0.0, 0.1, param.shape)


@pytest.fixture(params=[False, True], ids=['plain-norm', 'norm-with-stats'])
def running_stats(request):
    return request.param


@pytest.mark.numerics
@pytest.mark.parametrize('loader', ['cagan', 'chainer'])
@pytest.mark.parametrize('size', [(256, 256), (128, 96)])
def test_reference_generator_weights_load_and_match(tmp_path, rng, running_stats,
                                               loader, size):
    reference = ReferenceGenerator(ch=16, running_stats=running_stats)
    randomise(reference, rng)
    path = tmp_path / 'reference_gen.npz'
    chainer.serializers.save_npz(str(path), reference)
    ours = Generator(ch=16, size=size)
    if loader == 'cagan':
        load_npz(path, ours)
    else:
        chainer.serializers.load_npz(str(path), ours)
    x = rng.random((2, 9) + size, dtype=numpy.float32)
    with chainer.using_config('train', False):
        expected, got = reference(x).array, ours(x).array
    testing.assert_allclose(got, expected, testing.NETWORK_OUTPUT_RTOL)


@pytest.mark.numerics
def test_reference_discriminator_weights_load_and_match(tmp_path, rng,
                                                   running_stats):
    reference = ReferenceDiscriminator(ch=16, running_stats=running_stats)
    randomise(reference, rng)
    path = tmp_path / 'reference_dis.npz'
    chainer.serializers.save_npz(str(path), reference)
    ours = Discriminator(ch=16, size=(256, 256))
    load_npz(path, ours)
    x = rng.random((3, 6, 256, 256), dtype=numpy.float32)
    with chainer.using_config('train', False):
        expected = reference(x).array
        got = F.sigmoid(ours(x)).array  # the reference article's sigmoid lives in the loss
    testing.assert_allclose(got, expected, testing.NETWORK_OUTPUT_RTOL)


@pytest.mark.numerics
def test_our_weights_load_into_the_reference_articles_code(tmp_path, rng):
    ours = Generator(ch=16, size=64)
    randomise(ours, rng)
    chainer.serializers.save_npz(str(tmp_path / 'g.npz'), ours)
    reference = ReferenceGenerator(ch=16)
    chainer.serializers.load_npz(str(tmp_path / 'g.npz'), reference)
    x = rng.random((1, 9, 64, 64), dtype=numpy.float32)
    with chainer.using_config('train', False):
        testing.assert_allclose(ours(x).array, reference(x).array,
                                testing.NETWORK_OUTPUT_RTOL)


@pytest.fixture
def saved_generator(tmp_path):
    path = tmp_path / 'gen.npz'
    chainer.serializers.save_npz(str(path), Generator(ch=8, size=32))
    return path


def write(path, data):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize('make, target, words', [
    (lambda d, g: d / 'missing.npz', 'gen', 'no such file'),
    (lambda d, g: d, 'gen', 'it is a directory'),
    (lambda d, g: write(d / 'x.npz', b'not weights\n'), 'gen',
     'not an .npz weights file'),
    (lambda d, g: write(d / 'x.npz', g.read_bytes()[:300]), 'gen',
     'not an .npz weights file'),
    (lambda d, g: d / 'one.npy', 'gen', 'holds one array'),
    (lambda d, g: g, 'wide', 'has shape .* the model needs'),
    (lambda d, g: g, 'dis', "it lacks '"),
    (lambda d, g: d / 'objects.npz', 'gen', 'pickled objects'),
])
def test_bad_weights_files_get_one_clear_line(tmp_path, saved_generator,
                                              make, target, words):
    numpy.save(str(tmp_path / 'one.npy'), numpy.zeros(3))
    gen = Generator(ch=8, size=32)
    arrays = {k: v for k, v in numpy.load(str(saved_generator)).items()}
    arrays['c0/W'] = numpy.array([object()], dtype=object)
    numpy.savez(str(tmp_path / 'objects.npz'), **arrays)
    targets = {'gen': gen, 'wide': Generator(ch=16, size=32),
               'dis': Discriminator(ch=8, size=64)}
    path = make(tmp_path, saved_generator)
    with pytest.raises(ModelFileError, match=words) as info:
        load_npz(path, targets[target])
    message = str(info.value)
    assert str(path) in message and '\n' not in message


def damage(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2:len(data) // 2 + 64] = bytes(64)
    return write(path.with_name('damaged.npz'), bytes(data))


def test_a_damaged_archive_is_named_and_nothing_is_half_loaded(
        saved_generator):
    gen = Generator(ch=8, size=32)
    before = {n: p.array.copy() for n, p in gen.namedparams()}
    with pytest.raises(ModelFileError, match='archive is damaged'):
        load_npz(damage(saved_generator), gen)
    with pytest.raises(ModelFileError, match='saved from another network'):
        load_npz(saved_generator, Discriminator(ch=8, size=64))
    wide = Generator(ch=16, size=32)
    wide_before = {n: p.array.copy() for n, p in wide.namedparams()}
    with pytest.raises(ModelFileError, match='another width'):
        load_npz(saved_generator, wide)
    for name, param in wide.namedparams():
        numpy.testing.assert_array_equal(param.array, wide_before[name])
    for name, param in gen.namedparams():
        numpy.testing.assert_array_equal(param.array, before[name])


def test_snapshot_prefix_loads_one_link(tmp_path, rng):
    gen = Generator(ch=8, size=32)
    randomise(gen, rng)
    chain = chainer.Chain()
    with chain.init_scope():
        chain.gen = gen
    chainer.serializers.save_npz(str(tmp_path / 'snap.npz'), chain)
    again = Generator(ch=8, size=32)
    load_npz(tmp_path / 'snap.npz', again, path_prefix='gen/')
    numpy.testing.assert_array_equal(again.c1.W.array, gen.c1.W.array)
