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
