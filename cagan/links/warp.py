"""The article, warped onto the person: a small network that predicts a
smooth warp of the product photo ``y`` into the coordinates of the person
photo ``x``, and applies it.

CAGAN's generator is made of convolutions over the stacked inputs, so it
must move a print from product-photo coordinates into body coordinates by
itself, which it cannot (WUTON, arXiv 1906.01347: CAGAN "cannot handle
large spatial deformations"). The try-on methods after it warp the product
photo explicitly and composite it: CP-VTON's geometric matching module (a
thin-plate spline), ClothFlow and PF-AFN (flows), WUTON (a warp inside an
end-to-end GAN), ST-GAN (a low-dimensional warp trained adversarially).
This one is low-dimensional, as ST-GAN's and CP-VTON's: an affine
transform, optionally plus a coarse grid of offsets, which train easily
through the sampler's local bilinear gradient and cannot squeeze a print
as a dense flow can (SD-VITON, arXiv 2312.15861).

The whole sampling grid is one product with a constant basis (``F.matmul``,
so that it exports to ONNX as a MatMul): the identity's coordinates
``(x, y, 1)`` for the affine part, and a bicubic upsampling of the coarse
grid for the offsets.
"""

import chainer
import chainer.functions as F
import chainer.links as L
import numpy

from cagan.kernels import relu, spatial_transformer_sampler
from cagan.links.connection import Convolution2D
from cagan.sizes import as_size

#: What ``Generator(warp=...)`` takes: no warp (the reference article),
#: an affine transform, or an affine transform plus a coarse grid of
#: offsets.
WARPS = ('none', 'affine', 'grid')

#: A product photo's pixel belongs to the article where its furthest
#: channel from white is at least ``SILHOUETTE_LOW`` below 1; fully from
#: ``SILHOUETTE_HIGH`` (a linear ramp between, for antialiased edges).
SILHOUETTE_LOW, SILHOUETTE_HIGH = 0.04, 0.12


def silhouette(y):
    """The article's silhouette in its product photo: its non-white pixels.

    Shop photos show the article on white; this is not human parsing (it
    reads the product photo only), and is warped with the article.

    Args:
        y: ``(B, 3, H, W)`` float32 array or Variable, RGB in [0, 1].

    Returns:
        ~chainer.Variable: ``(B, 1, H, W)`` float32 in [0, 1]: 0 where every
        channel is above ``1 - SILHOUETTE_LOW``, 1 where some channel is
        at most ``1 - SILHOUETTE_HIGH``.
    """
    darkest = 1 - F.min(y, axis=1, keepdims=True)
    ramp = (darkest - SILHOUETTE_LOW) * (
        1.0 / (SILHOUETTE_HIGH - SILHOUETTE_LOW))
    return F.clip(ramp, 0.0, 1.0)


def blur(a, sigma):
    """A Gaussian blur of images, on arrays (no gradient).

    Args:
        a: ``(B, C, H, W)`` float NumPy or CuPy array.
        sigma (float): the standard deviation in pixels (0: ``a`` itself).

    Returns:
        array: ``(B, C, H, W)`` of ``a``'s dtype; near the borders the
        kernel is renormalised over the pixels inside (constant images stay
        constant).
    """
    if not sigma:
        return a
    xp = chainer.backend.get_array_module(a)
    h, w = a.shape[2:]
    rows, cols = (xp.asarray(_gaussian_matrix(n, sigma), dtype=a.dtype)
                  for n in (h, w))
    return xp.matmul(xp.matmul(rows, a), cols.T)


def _gaussian_matrix(n, sigma):
    i = numpy.arange(n)
    k = numpy.exp(-0.5 * ((i[:, None] - i[None, :]) / sigma) ** 2)
    return k / k.sum(axis=1, keepdims=True)


def cubic_matrix(n_out, n_in):
    """Bicubic interpolation (Keys' kernel, ``a = -0.5``, edges clamped)
    from ``n_in`` evenly spaced points to ``n_out``, the first and last
    points of both at the same places (the ends of the image).

    Returns:
        numpy.ndarray: ``(n_out, n_in)`` float64; each row sums to 1.
    """
    def keys(t):
        t = abs(t)
        if t <= 1:
            return 1.5 * t ** 3 - 2.5 * t ** 2 + 1
        if t < 2:
            return -0.5 * t ** 3 + 2.5 * t ** 2 - 4 * t + 2
        return 0.0

    m = numpy.zeros((n_out, n_in))
    for i in range(n_out):
        s = i * (n_in - 1) / max(n_out - 1, 1)
        base = int(numpy.floor(s))
        for k in range(base - 1, base + 3):
            m[i, min(max(k, 0), n_in - 1)] += keys(s - k)
    return m


def grid_basis(size, points):
    """The constant basis of the sampling grid (see :class:`Warp`).

    Args:
        size ((int, int)): the output's (H, W).
        points (int): the coarse grid's points per side (0: affine only).

    Returns:
        numpy.ndarray: ``(3 + points**2, H*W)`` float32: rows ``x``, ``y``
        (in [-1, 1], +-1 at the corner pixels' centres, as
        ``F.spatial_transformer_grid``) and ``1``, then one row per coarse
        point, its bicubic weight at every pixel.
    """
    h, w = size
    ys, xs = numpy.meshgrid(numpy.linspace(-1, 1, h), numpy.linspace(-1, 1, w),
                            indexing='ij')
    rows = [xs.ravel(), ys.ravel(), numpy.ones(h * w)]
    if points:
        coarse = numpy.kron(cubic_matrix(h, points), cubic_matrix(w, points))
        rows.extend(coarse.T)
    return numpy.asarray(rows, dtype=numpy.float32)


class Warp(chainer.Chain):
    """A warp of a product photo ``y`` onto a person photo ``x``.

    An encoder of the pair ``(x, y)``: four 4x4 stride-2 convolutions
    (6 -> ch/4 -> ch/2 -> ch -> ch channels, ReLU), and a linear layer ``l4``
    over the whole ``(H/16, W/16)`` map (which keeps where things are) to
    the warp's parameters: ``theta``, a 2x3 affine transform added to the
    identity, and with ``points`` a ``points x points`` grid of offsets,
    ``bound * tanh(.)``, upsampled bicubically to every pixel. ``l4`` starts
    at zero, so training starts from the identity warp. The product photo
    and its :func:`silhouette` are sampled bilinearly at the grid
    (``F.spatial_transformer_sampler``, zero outside the photo).

    Args:
        size (int or (int, int)): the images' (H, W), multiples of 16.
        kind (str): ``'affine'`` or ``'grid'`` (affine plus offsets).
        ch (int): the encoder's widest layer, a multiple of 4.
        points (int): the offset grid's points per side (``'grid'``).
        bound (float): the largest offset, in units of half the image.
        wscale (float or None): standard deviation of the encoder's initial
            weights (None: He's, ``sqrt(2 / fan_in)``).
        seed (int or None): seed of the initial weights.
    """

    def __init__(self, size, kind='affine', ch=64, points=6, bound=0.3,
                 wscale=None, seed=None):
        super().__init__()
        if kind not in WARPS[1:]:
            raise ValueError('Warp: kind must be one of {}, got {!r}'.format(
                WARPS[1:], kind))
        self.size = as_size(size)
        self.kind = kind
        self.points = points if kind == 'grid' else 0
        self.bound = bound
        h, w = self.size
        self.add_persistent('basis', grid_basis(self.size, self.points))
        rng = numpy.random.default_rng(seed)
        # He's initialisation (Kaiming He et al. 2015) unless a scale is
        # given: without a norm, N(0, 0.02) weights shrink the features a
        # hundredfold by c3, and l4's updates barely move the warp.
        init = (chainer.initializers.HeNormal(rng=rng) if wscale is None
                else chainer.initializers.Normal(wscale, rng=rng))
        n_out = 2 * (3 + self.points ** 2)
        with self.init_scope():
            self.c0 = Convolution2D(6, ch // 4, 4, 2, 1, initialW=init)
            self.c1 = Convolution2D(ch // 4, ch // 2, 4, 2, 1, initialW=init)
            self.c2 = Convolution2D(ch // 2, ch, 4, 2, 1, initialW=init)
            self.c3 = Convolution2D(ch, ch, 4, 2, 1, initialW=init)
            self.l4 = L.Linear(ch * (h // 16) * (w // 16), n_out,
                               initialW=0, initial_bias=0)

    def parameters(self, x, y):
        """The warp's parameters for the pair.

        Returns:
            ~chainer.Variable: ``(B, 2, 3 + points**2)``: per output
            coordinate (x, then y), the affine row (identity included),
            then the offsets, in the order of :func:`grid_basis`'s rows.
        """
        h = relu(self.c0(F.concat((x, y), axis=1)))
        h = relu(self.c1(h))
        h = relu(self.c2(h))
        h = relu(self.c3(h))
        raw = F.reshape(self.l4(h), (-1, 2, 3 + self.points ** 2))
        identity = self.xp.asarray([[1, 0, 0], [0, 1, 0]], dtype=raw.dtype)
        affine, offsets = F.split_axis(raw, [3], axis=2)
        affine = affine + identity
        if not self.points:
            return affine
        return F.concat((affine, self.bound * F.tanh(offsets)), axis=2)

    def grid(self, x, y):
        """The sampling grid: ``(B, 2, H, W)``, x then y, in [-1, 1] inside
        the product photo."""
        p = self.parameters(x, y)
        b, two, k = p.shape
        g = F.matmul(F.reshape(p, (b * two, k)), self.basis)
        return F.reshape(g, (b, two) + self.size)

    def pyramid(self, x, y, blurs):
        """The warp of ``y`` onto ``x`` applied to blurred copies of the
        product photo and its silhouette: one grid, sampled once per blur.

        A bilinear sampler's gradient with respect to its grid sees only
        the photo's neighbouring pixels, so a warp trained on the sharp
        photo alone settles on any nearby match (measured: it shrinks the
        article onto a patch of its main colour). The blurred copies give
        that gradient a wider reach (coarse to fine, as image registration
        does), and the sharp copy aligns the print.

        Args:
            x, y: as :meth:`forward`.
            blurs (sequence of float): Gaussian blurs' standard deviations,
                as fractions of the image's height (0: the photo itself).

        Returns:
            list: for each blur, the warped blurred article ``(B, 3, H,
            W)`` and its warped blurred silhouette ``(B, 1, H, W)``.
        """
        grid = self.grid(x, y)
        photo = F.concat((y, silhouette(y)), axis=1).array
        out = []
        for sigma in blurs:
            sampled = spatial_transformer_sampler(
                blur(photo, sigma * self.size[0]), grid)
            out.append(tuple(F.split_axis(sampled, [3], axis=1)))
        return out

    def forward(self, x, y):
        """Warp the product photo ``y`` (and its silhouette) onto ``x``.

        Args:
            x: ``(B, 3, H, W)`` float32, the person, RGB in [0, 1].
            y: ``(B, 3, H, W)`` float32, the product photo, RGB in [0, 1].

        Returns:
            tuple: the warped article ``(B, 3, H, W)`` and its warped
            silhouette ``(B, 1, H, W)``, float32 in [0, 1] (0 where the
            grid leaves the photo).
        """
        sampled = spatial_transformer_sampler(
            F.concat((y, silhouette(y)), axis=1), self.grid(x, y))
        w, m = F.split_axis(sampled, [3], axis=1)
        return w, m
