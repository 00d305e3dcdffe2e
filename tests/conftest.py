import cagan  # noqa: F401  (before chainer: see cagan/_compat.py)
import numpy
import pytest


@pytest.fixture
def rng():
    """A local, seeded NumPy generator: tests never touch global RNG state."""
    return numpy.random.default_rng(0)
