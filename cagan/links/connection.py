"""Chainer's convolution links, computed through :mod:`cagan.kernels`."""

import chainer.functions as F
import chainer.links as L
import numpy

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
        taps = self.xp.asarray(_RESIZE_TAPS, dtype=self.W.dtype)
        # (O, C, 3, 3) -> (O, C, 4, 4), then Chainer's deconvolution layout.
        W = F.tensordot(F.tensordot(self.W, taps, axes=((2,), (1,))), taps,
                        axes=((2,), (1,)))
        W = F.transpose(W, (1, 0, 2, 3))
        return kernels.deconvolution_2d(x, W, self.b, 2, 1)
