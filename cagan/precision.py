"""How a GPU computes: float32 (the default, the reference article's), TF32 products, or
float16 mixed precision.

* ``float32``: every array float32, as the reference article.
* ``tf32``: arrays stay float32, but CuPy's float32 matrix products (the
  convolutions' GEMMs: Chainer's GPU path without cuDNN) run on TF32 tensor
  cores, with 10-bit mantissas in the products and float32 sums. It sets
  ``CUPY_TF32=1``, which CuPy reads at a process's first float32 product, so
  choose it before anything runs on the GPU (the scripts do).
* ``mixed16``: the convolutions' weights, their products and the
  activations are float16; instance norm's ``gamma``/``beta``, the losses,
  and each weight's master copy that Adam updates stay float32 (Chainer's
  ``mixed16`` dtype, ``use_fp32_update``), and the losses are scaled
  dynamically so that small gradients survive float16 (Chainer's
  ``loss_scaling``). The networks take and return float32 arrays, so the
  updater, the evaluation, the previews and ``swap.py`` are unchanged.

Use: build the links inside :func:`building`, then give each optimizer
:func:`setup_optimizer` (``cagan.optimizers.make_adam(..., precision=)``
does). On a CPU only ``float32`` is useful: ``mixed16`` runs
(NumPy computes float16 slowly; the tests use it there), ``tf32`` is refused.
"""

import contextlib
import os

import chainer
import numpy

from cagan.errors import ConfigError

PRECISIONS = ('float32', 'tf32', 'mixed16')


def check(precision, device):
    """Raise :class:`~cagan.errors.ConfigError` unless ``precision`` is one
    of :data:`PRECISIONS` and ``device`` (a ``chainer.backend.Device``) can
    use it."""
    if precision not in PRECISIONS:
        raise ConfigError('unknown precision {!r}: use one of {}'.format(
            precision, ', '.join(PRECISIONS)))
    if precision == 'tf32' and device.xp is numpy:
        raise ConfigError('precision tf32 needs a GPU (--device @cupy:0): '
                          'CPUs have no TF32 products')


def configure(precision, device):
    """Check ``precision`` for ``device`` and make the process use it (for
    ``tf32``: before its first product on the GPU)."""
    check(precision, device)
    if precision == 'tf32':
        os.environ['CUPY_TF32'] = '1'


def building(precision):
    """A context in which new links get ``precision``'s parameter dtypes."""
    if precision == 'mixed16':
        return chainer.using_config('dtype', chainer.mixed16)
    return contextlib.nullcontext()


def setup_optimizer(optimizer, precision):
    """Give an optimizer set up on a link built under :func:`building` what
    ``precision`` needs (float32 master weights and dynamic loss scaling for
    ``mixed16``); returns it."""
    if precision == 'mixed16':
        optimizer.use_fp32_update()
        optimizer.loss_scaling()
    return optimizer


def loss_scale(optimizer):
    """The factor ``optimizer`` wants the loss multiplied by before backward
    (None: no scaling; its update divides it out in float32). Chainer keeps
    it private; 7.8.1 is its last release."""
    return getattr(optimizer, '_loss_scale', None)


def backward(loss, params, optimizer):
    """Set the gradients of ``loss`` for ``params`` alone, scaled as
    ``optimizer`` wants (see :func:`loss_scale`).

    ``chainer.grad`` prunes the backward pass to the paths that reach
    ``params``; unlike ``loss.backward(loss_scale=...)`` it does not record
    the scale on the parameters, so it is recorded here for the update to
    divide out.
    """
    scale = loss_scale(optimizer)
    chainer.grad([loss], params, set_grad=True, loss_scale=scale)
    if scale is not None:
        for param in params:
            param._loss_scale = scale


def serialize(optimizer, serializer):
    """Save or load what Chainer's own optimizer serializer leaves out under
    ``mixed16``: the loss scale and each float16 weight's float32 master.
    Without them a resumed run would restart the scale at 1 and rebuild the
    masters from the rounded weights. Nothing for the other precisions."""
    if loss_scale(optimizer) is None:
        return
    try:
        scale = serializer('loss_scale', optimizer._loss_scale)
    except KeyError:
        # A snapshot of a run in another precision: fresh scale and masters.
        return
    optimizer._loss_scale = float(scale)
    # Set by dynamic scaling only (what setup_optimizer chooses).
    optimizer._loss_scaling_isnan_ever = bool(serializer(
        'loss_scale_overflowed',
        getattr(optimizer, '_loss_scaling_isnan_ever', False)))
    for name, param in sorted(optimizer.target.namedparams()):
        rule = param.update_rule
        if param.dtype != numpy.float16 or not rule._use_fp32_update:
            continue
        if rule._fp32_param is None:
            # Not updated yet: the master is the weight itself.
            rule._fp32_param = chainer.Parameter(
                param.array.astype(numpy.float32), name=param.name)
        serializer('master' + name, rule._fp32_param.array)
