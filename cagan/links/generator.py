import chainer
import chainer.functions as F
import numpy

from cagan.kernels import relu
from cagan.links._resample import beside, pyramid
from cagan.sizes import as_size, check_size, check_width
from cagan.links.connection import (
    Convolution2D, Deconvolution2D, ResizeConvolution2D)
from cagan.links.instance_normalization import InstanceNormalization
from cagan.links.warp import WARPS, Warp


UPSAMPLES = ('deconv', 'resize')


class Generator(chainer.Chain):
    """CAGAN's generator G, layer for layer the reference article's by default.

    Encoder: four 4x4 stride-2 convolutions, 9 -> ch/8 -> ch/4 -> ch/2 -> ch
    channels, ReLU, instance norm on all but the first. Decoder: four 4x4
    stride-2 deconvolutions, ch -> ch/2 -> ch/4 -> ch/8 -> 4, the first three
    followed by instance norm and ReLU and then *added* to the encoder map of
    the same size; a sigmoid on the output. Weights are drawn from
    N(0, wscale^2), biases start at 0.

    Parameter names are the reference article's (``c0``..``c3``, ``bn0``..``bn3``,
    ``dc0``..``dc3``, ``dbn0``..``dbn2``), so weights it saved load with
    ``chainer.serializers.load_npz`` or :func:`cagan.serialization.load_npz`.
    ``bn0`` is built but, as in the reference article, never used.

    Two options, off by default (the reference article's network, bit for
    bit); names stay the same, shapes change:

    * ``inject=True``, input re-injection (the paper, section 3: "we use
      always the last 6 channels of any intermediate layer (in both G and
      D) to store downsampled copies of the inputs"). The 9 input channels
      ``(x_i, y_i, y_j)``, 2x2-average-pooled down to each layer's input
      size, are concatenated after that input (its last 9 channels) for
      every layer after ``c0``; each such layer takes 9 more channels
      (``c1.W``: ``(ch/4, ch/8 + 9, 4, 4)``, ``dc0.W``: ``(ch + 9, ch/2,
      4, 4)``). Concatenated rather than written over learned channels, so
      narrow networks lose none.
    * ``upsample='resize'``, resize-convolution (Odena, Dumoulin and Olah,
      "Deconvolution and Checkerboard Artifacts", Distill 2016): each of
      ``dc0``..``dc3`` is nearest-neighbour x2 upsampling, then a 3x3,
      stride 1, pad 1 convolution, a
      :class:`~cagan.links.ResizeConvolution2D` (``dc0.W``: ``(ch/2, ch,
      3, 3)``, a convolution's layout), which cannot paint the
      checkerboard that a 4x4 stride-2 deconvolution's uneven overlaps
      paint. With ``inject``, the copies join each decoder layer's input
      before its upsampling, as for ``'deconv'``.

    * ``warp='affine'`` or ``'grid'``, the article warped onto the person
      (beyond CAGAN; as the try-on methods after it, see
      :mod:`cagan.links.warp`): a :class:`~cagan.links.warp.Warp` ``warp``
      of ``y_j`` onto ``x_i``, an affine transform (plus a 6x6 grid of
      offsets for ``'grid'``), and the warped article ``w`` and its warped
      silhouette ``m`` are given to the network as 4 more input channels
      (``c0.W``: ``(ch/8, 13, 4, 4)``). The network's first three output
      channels are then the pixels it paints (``render``: skin, edges)
      and the image is the composite ``m * w + (1 - m) * render``: inside
      the article's silhouette the swap shows the product photo's own
      pixels, so prints arrive as they are, and ``alpha`` decides where
      the composite replaces ``x_i``.

    Args:
        ch (int): base width, a positive multiple of 8 (the reference article: 512).
        size (int or (int, int)): image (height, width) this generator is
            built for; both must be multiples of 16. Only checked here: the
            network is fully convolutional.
        wscale (float): standard deviation of the initial weights.
        seed (int or None): seed of the initial weights (None: fresh
            entropy); the global NumPy RNG is never used.
        inject (bool): concatenate downsampled inputs before every layer
            after ``c0``.
        upsample (str): ``'deconv'`` (the reference article) or ``'resize'``.
        warp (str): ``'none'`` (the reference article), ``'affine'`` or
            ``'grid'``.

    Raises:
        cagan.errors.SizeError: for a width or a size it cannot take.
        ValueError: for an unknown ``upsample`` or ``warp``.
    """

    in_channels = 9
    out_channels = 4

    def __init__(self, ch=512, size=(256, 256), wscale=0.02, seed=None,
                 inject=False, upsample='deconv', warp='none'):
        super().__init__()
        check_width('Generator', ch)
        check_size('Generator', size, n_down=4, multiple=16)
        if upsample not in UPSAMPLES:
            raise ValueError('Generator: upsample must be one of {}, got {!r}'
                             .format(UPSAMPLES, upsample))
        if warp not in WARPS:
            raise ValueError('Generator: warp must be one of {}, got {!r}'
                             .format(WARPS, warp))
        self.ch = ch
        self.size = as_size(size)
        self.inject = bool(inject)
        self.upsample = upsample
        self.warp_kind = warp
        # The network's inputs: the triplet, and the warped article and
        # its silhouette.
        n_in = self.in_channels + (4 if warp != 'none' else 0)
        # Extra input channels of every layer after c0.
        k = n_in if self.inject else 0
        w = chainer.initializers.Normal(
            wscale, rng=numpy.random.default_rng(seed))
        if upsample == 'deconv':
            def up(n_in, n_out):
                return Deconvolution2D(n_in, n_out, 4, 2, 1, initialW=w)
        else:
            def up(n_in, n_out):
                return ResizeConvolution2D(n_in, n_out, initialW=w)
        with self.init_scope():
            self.c0 = Convolution2D(n_in, ch // 8, 4, 2, 1, initialW=w)
            self.c1 = Convolution2D(ch // 8 + k, ch // 4, 4, 2, 1, initialW=w)
            self.c2 = Convolution2D(ch // 4 + k, ch // 2, 4, 2, 1, initialW=w)
            self.c3 = Convolution2D(ch // 2 + k, ch, 4, 2, 1, initialW=w)
            self.bn0 = InstanceNormalization(ch // 8)
            self.bn1 = InstanceNormalization(ch // 4)
            self.bn2 = InstanceNormalization(ch // 2)
            self.bn3 = InstanceNormalization(ch)
            self.dc0 = up(ch + k, ch // 2)
            self.dc1 = up(ch // 2 + k, ch // 4)
            self.dc2 = up(ch // 4 + k, ch // 8)
            self.dc3 = up(ch // 8 + k, 4)
            self.dbn0 = InstanceNormalization(ch // 2)
            self.dbn1 = InstanceNormalization(ch // 4)
            self.dbn2 = InstanceNormalization(ch // 8)
            if warp != 'none':
                # Its own stream of the seed.
                self.warp = Warp(self.size, warp,
                                 seed=None if seed is None else [seed, 1])

    def forward(self, x):
        """The reference article's forward pass, with the options chosen.

        Args:
            x: ``(B, 9, H, W)`` float32, the channel concatenation of
                ``(x_i, y_i, y_j)``, each RGB in [0, 1].

        Returns:
            ~chainer.Variable: ``(B, 4, H, W)`` float32 in [0, 1]: the
            generated image in channels 0-2 (with a warp, the composite of
            the warped article and the painted pixels) and ``alpha`` in
            channel 3.
        """
        check_size('Generator', x.shape[2:], n_down=4, multiple=16)
        # The weights' dtype inside (float16 under mixed precision, see
        # cagan.precision), the caller's outside.
        dtype = x.dtype
        x = F.cast(x, self.c0.W.dtype)
        if self.warp_kind != 'none':
            x_i, _, y_j = F.split_axis(x, [3, 6], axis=1)
            w, m = self.warp(x_i, y_j)
            x = F.concat((x, w, m), axis=1)
        # The inputs at each size a layer reads, pooled once per call.
        copies = pyramid(x, 4) if self.inject else None
        h1 = relu(self.c0(x))
        h2 = self.bn1(self.c1(beside(h1, copies, 2)), activation=relu)
        h3 = self.bn2(self.c2(beside(h2, copies, 4)), activation=relu)
        h = self.bn3(self.c3(beside(h3, copies, 8)), activation=relu)
        h = self.dbn0(self.dc0(beside(h, copies, 16)), activation=relu) + h3
        h = self.dbn1(self.dc1(beside(h, copies, 8)), activation=relu) + h2
        h = self.dbn2(self.dc2(beside(h, copies, 4)), activation=relu) + h1
        out = F.sigmoid(self.dc3(beside(h, copies, 2)))
        if self.warp_kind != 'none':
            render, alpha = F.split_axis(out, [3], axis=1)
            m = F.broadcast_to(m, render.shape)
            out = F.concat((render + m * (w - render), alpha), axis=1)
        return F.cast(out, dtype)

    def swap(self, x_i, y_i, y_j):
        """Dress the person of ``x_i``, who wears ``y_i``, in article ``y_j``.

        .. math:: x_{ij} = \\alpha \\odot \\mathrm{image}
                           + (1 - \\alpha) \\odot x_i

        computed as ``x_i + alpha * (image - x_i)``, the same value.

        Args:
            x_i, y_i, y_j: ``(B, 3, H, W)`` float32 RGB in [0, 1].

        Returns:
            tuple: ``x_ij`` ``(B, 3, H, W)`` float32 in [0, 1] and ``alpha``
            ``(B, 1, H, W)`` float32 in (0, 1), the repainted region.
        """
        out = self(F.concat((x_i, y_i, y_j), axis=1))
        # split_axis, not slicing: slicing's backward uses CuPy's deprecated
        # scatter_add, a warning on every step with CuPy 14.
        image, alpha = F.split_axis(out, [3], axis=1)
        x_ij = x_i + F.broadcast_to(alpha, image.shape) * (image - x_i)
        return x_ij, alpha
