"""The neutral article: what the generator is shown where the worn article
is unknown (worn-article dropout in training, a swap without ``--worn``, the
"no worn" scores of evaluation).

Its own module, on NumPy alone: the updater uses it, and the updater runs
where Pillow is not installed (stack (b) of ``tests/test_compat.py``, the
GPU machines').
"""

import numpy

#: Value of every pixel of :func:`neutral_article`.
NEUTRAL_GREY = 0.5


def neutral_article(size):
    """The stand-in for an unknown worn article: float32 ``(3, H, W)``, all
    :data:`NEUTRAL_GREY` (no product photo looks like it: they are shot on
    white)."""
    return numpy.full((3,) + tuple(size), NEUTRAL_GREY, numpy.float32)
