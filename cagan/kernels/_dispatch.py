"""Where the kernels run: the ``cagan_cpu_kernels`` switch (see
:mod:`cagan.kernels`) and the arrays every kernel requires.

Importing this module sets the switch's default on
``chainer.global_config``, once, from ``$CAGAN_CPU_KERNELS``.
"""

import os

import chainer
import numpy
from chainer.backends import intel64

from cagan.errors import CaganError

#: The ``chainer.config`` entry that chooses the kernels or Chainer's own
#: functions.
CONFIG = 'cagan_cpu_kernels'
#: Its values: ``'auto'``, the kernels where they apply; ``'never'``,
#: Chainer's functions everywhere.
VALUES = ('auto', 'never')
#: The environment variable of its default (``'auto'`` where unset), as
#: ``CHAINER_USE_IDEEP`` is ``use_ideep``'s.
VARIABLE = 'CAGAN_CPU_KERNELS'
#: The float dtypes the convolution and normalisation kernels take.
DTYPES = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))

setattr(chainer.global_config, CONFIG, os.environ.get(VARIABLE, 'auto'))


def kernels_wanted():
    """Whether the switch lets the kernels run (``'auto'``) or asks for
    Chainer's functions (``'never'``); read at each call, as Chainer reads
    ``use_ideep``.

    Raises:
        cagan.errors.CaganError: the switch holds another value (say, from
            a mistyped ``$CAGAN_CPU_KERNELS``).
    """
    value = getattr(chainer.config, CONFIG)
    if value not in VALUES:
        raise CaganError(
            'chainer.config.{} must be one of {} (its default comes from '
            '${}), got {!r}'.format(CONFIG, ', '.join(map(repr, VALUES)),
                                    VARIABLE, value))
    return value == 'auto'


def array_of(x):
    """The array of a Variable, or ``x`` itself (an array or None)."""
    return x.array if isinstance(x, chainer.Variable) else x


def use_kernels(*arrays):
    """Whether the switch allows the kernels and every one of ``arrays``
    (each an array or None) is one they can take: a plain NumPy array.

    ``type(...) is`` and not ``isinstance``: iDeep's mdarray and ChainerX
    arrays keep Chainer's own paths, and so do NumPy arrays where Chainer
    would hand them to iDeep. CuPy arrays never reach a kernel.
    """
    return (kernels_wanted()
            and all(a is None or type(a) is numpy.ndarray for a in arrays)
            and not intel64.should_use_ideep('>=auto'))
