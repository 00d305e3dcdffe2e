import os

import cagan  # noqa: F401  (before chainer: see cagan/_compat.py)
import numpy
import pytest
import threadpoolctl


def openblas_kernels():
    """The kernel each loaded OpenBLAS runs (NumPy's, and any other)."""
    return sorted({info.get('architecture') or '?' for info in
                   threadpoolctl.threadpool_info()
                   if info.get('internal_api') == 'openblas'})


def pytest_report_header(config):
    return 'OpenBLAS kernel: {}'.format(', '.join(openblas_kernels()) or
                                        'none (another BLAS)')


def pytest_configure(config):
    # `make test-kernels` asks for a kernel by name: a run that silently
    # got another one would prove nothing.
    wanted = os.environ.get('OPENBLAS_CORETYPE')
    running = openblas_kernels()
    if wanted and running and any(k.lower() != wanted.lower()
                                  for k in running):
        raise pytest.UsageError(
            'OPENBLAS_CORETYPE={} but OpenBLAS runs {}'.format(
                wanted, ', '.join(running)))


@pytest.fixture
def rng():
    """A local, seeded NumPy generator: tests never touch global RNG state."""
    return numpy.random.default_rng(0)


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    """A small synthetic dataset, written once per test module."""
    # Imported here, as in model: every test session loads this file, the
    # Pillow-less stack (b) of tests/test_compat.py's included.
    from cagan.data import synthetic

    root = tmp_path_factory.mktemp('data') / 'synthetic'
    synthetic.write_dataset(root, 24, size=(40, 30), seed=0, test_pairs=4)
    return root


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    """A run folder as training leaves it: config and untrained weights."""
    import chainer

    from cagan import config, run
    from tests.helpers import INFERENCE_SIZE

    folder = tmp_path_factory.mktemp('run')
    resolved = config.resolve({'data': {'size': list(INFERENCE_SIZE)},
                               'model': {'ch': 8}}, 'test')
    config.save(resolved, folder / run.CONFIG_NAME)
    chainer.serializers.save_npz(str(folder / 'gen_epoch_1.npz'),
                                 cagan.Generator(ch=8, size=INFERENCE_SIZE,
                                                 seed=0))
    return folder
