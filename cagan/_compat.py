"""Run Chainer 7.8.1, its last release, on today's Python and NumPy.

Imported by :mod:`cagan` before anything imports :mod:`chainer`, so that
``python -W error -c "import cagan"`` is silent on both stacks we support:

* Python 3.11, NumPy 1.26, setuptools < 74 (CI and ``make test``);
* Python 3.12, NumPy 2.x, CuPy 14 without cuDNN (a GPU machine without cuDNN).

What breaks there, and the smallest fix for each:

* ``chainer._environment_check`` imports ``numpy.distutils`` and
  ``pkg_resources`` (gone on Python 3.12 / NumPy 2 / setuptools >= 82, and a
  DeprecationWarning elsewhere) only to print advice.  We register an empty
  stand-in under its name, so Chainer's own import finds it and skips it.
* NumPy 2 removed ``numpy.sctypes`` (read when Chainer imports
  ``functions/array/as_strided.py``) and NumPy 1.24 removed ``numpy.float``
  (used by ``F.resize_images``).  We restore both, with their old values,
  only where they are missing.
* Chainer imports CuPy when it is installed and reports CUDA as unavailable
  if that import raises, which any warning does under ``-W error``.  Where
  CuPy is installed we import it first with its import-time warnings
  recorded in :data:`CUPY_IMPORT_WARNINGS` instead of raised.  Where it is
  not (every CPU machine), nothing here touches it.
* CuPy 14 has no cuDNN; Chainer then uses its own kernels but warns on first
  GPU use unless ``CHAINER_CUDNN=0``, which we set as a default there.
* ``MultiprocessIterator`` calls ``Thread.setDaemon``, deprecated since
  Python 3.10; that one warning, from that one module, is ignored.

Left alone: ``chainer.distributions.Categorical.log_prob`` on NumPy 2
(``meshgrid`` now returns a tuple); cagan does not use it.
"""

import importlib.util
import os
import sys
import types
import warnings

import numpy

#: Messages of the warnings CuPy raised while being imported, if any.
CUPY_IMPORT_WARNINGS = []


def _skip_environment_check():
    name = 'chainer._environment_check'
    if name not in sys.modules:
        stand_in = types.ModuleType(name)
        stand_in.check = lambda: None
        sys.modules[name] = stand_in


def _restore_numpy_aliases():
    # numpy.__getattr__ raises for removed names; hasattr() is silent.
    if not hasattr(numpy, 'sctypes'):
        numpy.sctypes = {
            'int': [numpy.int8, numpy.int16, numpy.int32, numpy.int64],
            'uint': [numpy.uint8, numpy.uint16, numpy.uint32, numpy.uint64],
            'float': [numpy.float16, numpy.float32, numpy.float64,
                      numpy.longdouble],
            'complex': [numpy.complex64, numpy.complex128,
                        numpy.clongdouble],
            'others': [bool, object, bytes, str, numpy.void],
        }
    if not hasattr(numpy, 'float'):
        numpy.float = float


def _import_cupy_quietly():
    if 'cupy' in sys.modules or importlib.util.find_spec('cupy') is None:
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        try:
            import cupy  # noqa: F401  (the device path: only where installed)
        except Exception:
            return  # Chainer retries, fails the same way and says why.
    CUPY_IMPORT_WARNINGS[:] = [str(w.message) for w in caught]
    if importlib.util.find_spec('cupy.cudnn') is None:
        os.environ.setdefault('CHAINER_CUDNN', '0')


def apply():
    """Apply every fix above; idempotent.

    The import-time fixes only matter before Chainer is imported; if the
    caller imported it first, only the NumPy aliases are restored.
    """
    _restore_numpy_aliases()
    warnings.filterwarnings(
        'ignore', message=r'setDaemon\(\) is deprecated',
        category=DeprecationWarning,
        module=r'chainer\.iterators\.multiprocess_iterator')
    if 'chainer' not in sys.modules:
        _skip_environment_check()
        _import_cupy_quietly()


apply()
