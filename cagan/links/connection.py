"""Chainer's convolution links, computed through :mod:`cagan.kernels`."""

import chainer.functions as F
import chainer.links as L
import numpy
from chainer import function_node

from cagan import kernels


class Convolution2D(L.Convolution2D):
    """``chainer.links.Convolution2D`` (same arguments, parameters ``W``
    and ``b``, and values to float rounding) applied through
    :func:`cagan.kernels.convolution_2d`: faster for 4x4, stride 2, pad 1
    filters on NumPy arrays, Chainer's own function otherwise (see the
    switch in :mod:`cagan.kernels`).

    Input: ``(B, C, H, W)`` float array or Variable; output ``(B, O, H', W')``
    of its dtype.
    """

    def forward(self, x):
        if self.x_layout is not None:
            # A channels-last layout (the cudnn_fast compute mode): the
            # kernels take NCHW only.
            return super().forward(x)
        if self.W.array is None:
            self._initialize_params(x.shape[1])
        return kernels.convolution_2d(x, self.W, self.b, self.stride,
                                      self.pad, self.dilate, self.groups)


class Deconvolution2D(L.Deconvolution2D):
    """``chainer.links.Deconvolution2D`` (same arguments, parameters ``W``
    and ``b``, and values to float rounding) applied through
    :func:`cagan.kernels.deconvolution_2d`: faster for 4x4, stride 2, pad 1
    filters on NumPy arrays, Chainer's own function otherwise (see the
    switch in :mod:`cagan.kernels`).

    Input: ``(B, C, h, w)`` float array or Variable; output ``(B, O, H', W')``
    of its dtype, ``(B, O, 2h, 2w)`` for CAGAN's layers.
    """

    def forward(self, x):
        if self.W.array is None:
            self._initialize_params(x.shape[1])
        return kernels.deconvolution_2d(x, self.W, self.b, self.stride,
                                        self.pad, self.outsize, self.dilate,
                                        self.groups)


#: Taps of a 3x3 filter (columns) that each tap of the equal 4x4 stride-2
#: deconvolution sums (rows), along one axis; see ResizeConvolution2D.
_RESIZE_TAPS = numpy.array([[0, 0, 1], [0, 1, 1], [1, 1, 0], [1, 0, 0]])


class ResizeConvolution2D(Convolution2D):
    """Resize-convolution (Odena, Dumoulin and Olah, "Deconvolution and
    Checkerboard Artifacts", Distill 2016): nearest-neighbour x2 upsampling,
    then a 3x3, stride 1, pad 1 convolution with parameters ``W`` ``(O, C,
    3, 3)`` and ``b`` ``(O,)`` (a :class:`Convolution2D`'s).

    Computed as the 4x4, stride 2, pad 1 deconvolution it equals, through
    :func:`cagan.kernels.deconvolution_2d`: along each axis, output pixel
    ``2i`` reads ``w0 h[i-1] + (w1 + w2) h[i]`` and ``2i+1`` reads ``(w0 +
    w1) h[i] + w2 h[i+1]``, so the deconvolution's taps are ``(w2, w1 + w2,
    w0 + w1, w0)`` per axis, zero padding included. Same values as
    ``F.convolution_2d(F.unpooling_2d(x, 2, 2, 0, cover_all=False), W, b,
    pad=1)`` to float rounding, and gradients with respect to ``W``
    through the tap sums; 16 products per input pixel instead of 36, and
    no upsampled map.

    Args:
        in_channels (int or None): ``C`` (None: from the first input).
        out_channels (int): ``O``.
        initialW, initial_bias: as Chainer's ``Convolution2D``.

    Input: ``(B, C, h, w)`` float array or Variable; output ``(B, O, 2h,
    2w)`` of its dtype.
    """

    def __init__(self, in_channels, out_channels, initialW=None,
                 initial_bias=None):
        super().__init__(in_channels, out_channels, 3, 1, 1,
                         initialW=initialW, initial_bias=initial_bias)

    def forward(self, x):
        if self.W.array is None:
            self._initialize_params(x.shape[1])
        if kernels.use_kernels(self.W.array):
            # One node each way, not five (a fifth of a small step's nodes).
            W = _ResizeKernel().apply((self.W,))[0]
        else:
            # Chainer's own functions (GPUs, and the graph ONNX exports).
            taps = self.xp.asarray(_RESIZE_TAPS, dtype=self.W.dtype)
            # (O, C, 3, 3) -> (O, C, 4, 4), then Chainer's deconvolution
            # layout.
            W = F.tensordot(F.tensordot(self.W, taps, axes=((2,), (1,))),
                            taps, axes=((2,), (1,)))
            W = F.transpose(W, (1, 0, 2, 3))
        return kernels.deconvolution_2d(x, W, self.b, 2, 1)


def _taps(array):
    return numpy.asarray(_RESIZE_TAPS, dtype=array.dtype)


class _ResizeKernel(function_node.FunctionNode):
    """A resize-convolution's ``W`` ``(O, C, 3, 3)`` as the equal 4x4
    deconvolution's ``(C, O, 4, 4)``: ``K[c, o, a, b] = sum over (i, j) of
    W[o, c, i, j] T[a, i] T[b, j]`` with ``T`` = :data:`_RESIZE_TAPS`.
    Linear: its backward is :class:`_ResizeKernelGrad`, and that one's is
    this, so gradients of any order work."""

    def forward(self, inputs):
        W, = inputs
        taps = _taps(W)
        # (O, C, 3(i), 3(j)) -> (O, C, 3(j), 4(a)) -> (O, C, 4(a), 4(b)).
        K = numpy.tensordot(numpy.tensordot(W, taps, ((2,), (1,))), taps,
                            ((2,), (1,)))
        return K.transpose(1, 0, 2, 3),

    def backward(self, indexes, grad_outputs):
        return _ResizeKernelGrad().apply(grad_outputs)


class _ResizeKernelGrad(function_node.FunctionNode):
    """The adjoint of :class:`_ResizeKernel`: ``(C, O, 4, 4)`` to ``(O, C,
    3, 3)``."""

    def forward(self, inputs):
        gK, = inputs
        taps = _taps(gK)
        # (C, O, 4(a), 4(b)) -> (C, O, 4(b), 3(i)) -> (C, O, 3(i), 3(j)).
        gW = numpy.tensordot(numpy.tensordot(gK, taps, ((2,), (0,))), taps,
                             ((2,), (0,)))
        return numpy.ascontiguousarray(gW.transpose(1, 0, 2, 3)),

    def backward(self, indexes, grad_outputs):
        return _ResizeKernel().apply(grad_outputs)
