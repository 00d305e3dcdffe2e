"""Faster CPU forms of CAGAN's layers and of Adam's update, with Chainer's
maths.

Through Chainer's own functions, copies and one-core element-wise work, not
the GEMMs, took most of a CAGAN step on a CPU. The kernels here compute the
same maths, as Chainer function nodes on NumPy arrays, their NumPy work
shared among the cores; each is tested against Chainer's function, outputs
and gradients. What is fast, and where:

* :mod:`~cagan.kernels.connection`: :func:`convolution_2d` and
  :func:`deconvolution_2d` for 4x4 filters, stride 2, pad 1, float32 or
  float64, even spatial sizes (every layer of the networks but the patch
  head's 3x3); a GEMM over a space-to-depth input.
* :mod:`~cagan.kernels.activation`: :func:`relu` and :func:`leaky_relu`
  (``0 < slope <= 1``) for any float array, Chainer's floats bit for bit.
* :mod:`~cagan.kernels.normalization`: :func:`instance_normalization`
  (``F.group_normalization`` with one group per channel) for float32 or
  float64 ``(B, C, ...)``, in cache-sized blocks, optionally with the ReLU
  or leaky ReLU after it in the same node (the same floats as two).
* :mod:`~cagan.kernels.sampler`: :func:`spatial_transformer_sampler`
  (bilinear sampling, the warp's) for float32 or float64: gathers at flat
  indices and a bincount for the input's gradient, in place of Chainer's
  per-sample fancy indexing and ``numpy.add.at``; first-order gradients
  only, as Chainer's.
* :mod:`~cagan.kernels.noise`: the discriminator's Gaussian noise.
* :mod:`~cagan.kernels.adam`: Adam's update rule, in place and by blocks,
  Chainer's floats bit for bit.
* :mod:`~cagan.kernels.threads`: the NumPy work shared among threads.

The switch
----------

``chainer.config.cagan_cpu_kernels`` chooses between the kernels and
Chainer's own functions, as ``chainer.config.use_ideep`` chooses iDeep:

* ``'auto'`` (the default): the six functions above use their kernels
  wherever they apply, plain NumPy arrays of the shapes and dtypes each
  covers, and Chainer's function for anything else (CuPy, ChainerX, arrays
  Chainer hands to iDeep, other shapes or dtypes): a GPU run never reaches
  a kernel;
* ``'never'``: Chainer's own functions (``F.convolution_2d``,
  ``F.deconvolution_2d``, ``F.relu``, ``F.leaky_relu``,
  ``F.group_normalization``, ``F.spatial_transformer_sampler``), always:
  the reference the kernels are tested and timed against.

Its default is set on ``chainer.global_config`` once, when cagan is
imported, from ``$CAGAN_CPU_KERNELS`` (``'auto'`` where unset), as Chainer
sets ``use_ideep`` from ``$CHAINER_USE_IDEEP``; for a block of code::

    with chainer.using_config('cagan_cpu_kernels', 'never'):
        y = gen(x)  # through Chainer's own functions

The two agree to float rounding (sums run in another order; see
:mod:`cagan.testing`). The noise and Adam's rule are outside the switch: the
noise defines its own values, and the rule gives Chainer's bit for bit.
"""

from cagan.kernels._dispatch import (  # noqa: F401
    CONFIG, VALUES, VARIABLE, use_kernels)
from cagan.kernels.activation import leaky_relu, relu  # noqa: F401
from cagan.kernels.connection import (  # noqa: F401
    convolution_2d, deconvolution_2d)
from cagan.kernels.normalization import instance_normalization  # noqa: F401
from cagan.kernels.sampler import spatial_transformer_sampler  # noqa: F401
