"""Chainer's convolution links, computed through :mod:`cagan.kernels`."""

import chainer.links as L

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
