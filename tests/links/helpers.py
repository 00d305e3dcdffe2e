"""What the tests of the networks share."""

import numpy


def images(rng, size, batch=2):
    """``batch`` random RGB images of ``size``, float32 in [0, 1)."""
    return rng.random((batch, 3) + tuple(size), dtype=numpy.float32)
