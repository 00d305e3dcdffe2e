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

Apart from these, :func:`fix_double_backprop` mends two bugs of Chainer
7.8.1's own double backprop that a gradient penalty meets; it imports
Chainer, so it runs when first needed (:func:`cagan.losses.r1_penalty`),
not here.
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


def fix_double_backprop():
    """Mend two bugs of Chainer 7.8.1's double backprop, both met by the
    gradient of a penalty on D's input gradient
    (:func:`cagan.losses.r1_penalty`), with cagan's kernels or Chainer's
    own functions; idempotent. Nothing that worked before changes: both
    fixes act only where Chainer raised.

    * ``F.group_normalization`` (instance norm): the backward of its
      first-order gradient node (``_ScaleShiftGrad``) subscripts the
      gradients of its ``gamma`` and ``beta`` outputs, which are None
      when nothing reads them (a penalty on the input's gradient alone):
      a TypeError. None is what Chainer means by zero; zeros are passed.
    * ``F.deconvolution_2d`` (the input gradient of ``F.convolution_2d``,
      the patch head's 3x3 ``c5``): asked for its filter's gradient alone,
      its input being a constant, it passes the Variables ``x`` and ``W``
      where their shapes are due (``_set_cover_all(x, W)``; on the CPU
      only, a GPU's forward pass sets it): a ValueError. The shapes are
      taken.
    """
    import chainer
    from chainer.functions.connection import deconvolution_2d
    from chainer.functions.normalization import group_normalization

    node = group_normalization._ScaleShiftGrad
    if not getattr(node.backward, 'cagan_fixed', False):
        backward = node.backward

        def zeros_for_none(self, indexes, grad_outputs):
            if any(g is None for g in grad_outputs):
                like = next(g for g in grad_outputs if g is not None)
                # Outputs: x_hat's gradient, then gamma's and beta's.
                x_hat, gamma = self.inputs[:2]
                outputs = (x_hat, gamma, gamma)
                with chainer.using_device(like.device):
                    grad_outputs = tuple(
                        chainer.Variable(like.xp.zeros(o.shape, o.dtype))
                        if g is None else g
                        for g, o in zip(grad_outputs, outputs))
            return backward(self, indexes, grad_outputs)

        zeros_for_none.cagan_fixed = True
        node.backward = zeros_for_none
    node = deconvolution_2d.Deconvolution2DFunction
    if not getattr(node._set_cover_all, 'cagan_fixed', False):
        set_cover_all = node._set_cover_all

        def shapes(self, x_shape, w_shape):
            return set_cover_all(self, getattr(x_shape, 'shape', x_shape),
                                 getattr(w_shape, 'shape', w_shape))

        shapes.cagan_fixed = True
        node._set_cover_all = shapes


def apply():
    """Apply every fix above (but :func:`fix_double_backprop`); idempotent.

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
