import math

import chainer
import chainer.functions as F
import chainer.links as L
import numpy
from chainer import backend, function_node

from cagan.functions import convolution, leaky_relu
from cagan.kernels import threads
from cagan.links._sizes import as_size, check_size, check_width
from cagan.links.instance_normalization import InstanceNormalization

HEADS = ('linear', 'patch')
#: Normal pairs per block of :func:`_normal`'s transform.
_NOISE_BLOCK = 1 << 16


def _normal(rng, shape, dtype, sigma, add_to=None):
    """``sigma`` times standard normal draws, ``shape``, in ``dtype``, plus
    ``add_to`` (an array of that shape and dtype) if given.

    Box-Muller over ``dtype`` uniforms, which NumPy turns into normals about
    twice as fast as its own ziggurat ``standard_normal`` in float32 (the
    noise was 10% of a CPU step at 128x96). Exact Gaussians: float32
    uniforms only cut the tails beyond 5.7 sigma. Blocks of ``_NOISE_BLOCK``
    pairs draw from streams of their own, seeded from ``rng``, on threads
    (:mod:`cagan.kernels.threads`); the values do not depend on their number.
    """
    if dtype == numpy.float16:
        # NumPy draws no float16: draw float32, round once.
        noise = _normal(rng, shape, numpy.dtype(numpy.float32),
                        numpy.float32(sigma)).astype(dtype)
        return noise if add_to is None else add_to + noise
    n = math.prod(shape)
    half = (n + 1) // 2
    blocks = [slice(k, min(half, k + _NOISE_BLOCK))
              for k in range(0, half, _NOISE_BLOCK)]
    # A stream per block, seeded from rng, so that threads draw at once and
    # the values depend on rng alone.
    seeds = rng.integers(2 ** 63, size=len(blocks))
    out = numpy.empty(2 * half, dtype)
    if add_to is not None:
        add_to = add_to.reshape(-1)

    def block(_, k_seed):
        k, seed = k_seed
        m = k.stop - k.start
        u = numpy.random.default_rng(int(seed)).random(2 * m, dtype=dtype)
        radius, angle = u[:m], u[m:]
        numpy.subtract(1, radius, out=radius)  # (0, 1]: the log stays finite
        numpy.log(radius, out=radius)
        radius *= dtype.type(-2)
        numpy.sqrt(radius, out=radius)
        radius *= sigma
        angle *= dtype.type(2 * math.pi)
        cos, sin = out[k], out[half + k.start:half + k.stop]
        numpy.cos(angle, out=cos)
        numpy.sin(angle, out=sin)
        cos *= radius
        sin *= radius
        if add_to is not None:
            cos += add_to[k]
            top = min(n, half + k.stop)
            out[half + k.start:top] += add_to[half + k.start:top]

    threads.map(block, list(zip(blocks, seeds)), size=n)
    return out[:n].reshape(shape)


class _AddNoise(function_node.FunctionNode):
    """``h`` plus ``sigma`` times normal draws from NumPy Generator ``rng``,
    made and added in one pass (:func:`_normal`); the gradient passes
    through unchanged."""

    def __init__(self, rng, sigma):
        self.rng = rng
        self.sigma = sigma

    def forward(self, inputs):
        h, = inputs
        return _normal(self.rng, h.shape, h.dtype, self.sigma, add_to=h),

    def backward(self, indexes, grad_outputs):
        return grad_outputs


class Discriminator(chainer.Chain):
    """CAGAN's discriminator D(human, article), layer for layer the seed's.

    Five 4x4 stride-2 convolutions, 6 -> ch/8 -> ch/4 -> ch/2 -> ch -> ch
    channels, instance norm on all but the first, leaky ReLU (slope 0.2), and
    a head that gives logits:

    * ``head='linear'`` (the seed): a Linear layer ``l4`` over the whole
      ``(H/32, W/32)`` map, one logit per pair, shape ``(B, 1)``. The seed
      hard-coded an 8x8 map (256x256 images); here it is sized from ``size``.
    * ``head='patch'``: the paper's PatchGAN-like map, a 3x3 convolution
      ``c5`` to one channel, one logit per position, ``(B, 1, H/32, W/32)``.

    In train mode, Gaussian noise of standard deviation ``noise_sigma`` is
    added to the input and after every convolution (after its norm), as the
    seed's ``add_noise``. The seed drew float64 noise from NumPy's global
    RandomState, which Chainer cast back to float32; here it is drawn in the
    activations' dtype from this link's own generator, seeded by ``seed`` or
    :meth:`seed_noise`, on the device the link lives on. No noise in test mode.

    The seed's sigmoid is not applied: the losses take logits, where the
    binary cross-entropy is stable for any value. Parameter names are the
    seed's (``c0``..``c4``, ``bn0``..``bn4``, ``l4``); ``bn0`` is unused, as in
    the seed.

    Args:
        ch (int): base width, a positive multiple of 8 (the seed: 512).
        size (int or (int, int)): image (height, width), multiples of 32.
        head (str): ``'linear'`` or ``'patch'``.
        noise_sigma (float): noise standard deviation; 0 turns noise off.
        wscale (float): standard deviation of the initial weights.
        seed (int or None): seed of the initial weights and of the noise
            (None: fresh entropy); the global NumPy RNG is never used.

    Raises:
        cagan.errors.SizeError: for a width or a size it cannot take.
        ValueError: for an unknown head.
    """

    in_channels = 6

    def __init__(self, ch=512, size=(256, 256), head='linear',
                 noise_sigma=0.2, wscale=0.02, seed=None):
        super().__init__()
        check_width('Discriminator', ch)
        bottom = check_size('Discriminator', size, n_down=5, multiple=32)
        if head not in HEADS:
            raise ValueError('Discriminator: head must be one of {}, got {!r}'
                             .format(HEADS, head))
        self.ch = ch
        self.size = as_size(size)
        self.head = head
        self.noise_sigma = noise_sigma
        self.seed_noise(seed)
        w = chainer.initializers.Normal(
            wscale, rng=numpy.random.default_rng(seed))
        with self.init_scope():
            self.c0 = L.Convolution2D(6, ch // 8, 4, 2, 1, initialW=w)
            self.c1 = L.Convolution2D(ch // 8, ch // 4, 4, 2, 1, initialW=w)
            self.c2 = L.Convolution2D(ch // 4, ch // 2, 4, 2, 1, initialW=w)
            self.c3 = L.Convolution2D(ch // 2, ch, 4, 2, 1, initialW=w)
            self.c4 = L.Convolution2D(ch, ch, 4, 2, 1, initialW=w)
            if head == 'linear':
                self.l4 = L.Linear(bottom[0] * bottom[1] * ch, 1, initialW=w)
            else:
                self.c5 = L.Convolution2D(ch, 1, 3, 1, 1, initialW=w)
            self.bn0 = InstanceNormalization(ch // 8)
            self.bn1 = InstanceNormalization(ch // 4)
            self.bn2 = InstanceNormalization(ch // 2)
            self.bn3 = InstanceNormalization(ch)
            self.bn4 = InstanceNormalization(ch)

    def seed_noise(self, seed):
        """Restart the noise from ``seed`` (None: fresh entropy).

        ``Discriminator(seed=s)`` starts from ``seed_noise(s)``; the noise
        stream is a child of ``s``, independent of the initial weights.
        """
        self._noise_seed = numpy.random.SeedSequence(seed).spawn(1)[0]
        self._noise_rngs = {}
        #: Noisy forward passes so far. The noise of pass ``k`` depends only
        #: on the seed and ``k``, so saving this number (the updater puts it
        #: in snapshots) is enough to resume the exact noise stream.
        self.noise_step = 0

    def _noise_rng(self, x):
        device = backend.get_device_from_array(x)
        key = (device.name, self.noise_step)
        rng = self._noise_rngs.get(key)
        if rng is None:
            sequence = numpy.random.SeedSequence(
                self._noise_seed.entropy,
                spawn_key=self._noise_seed.spawn_key + (self.noise_step,))
            if device.xp is numpy:
                rng = numpy.random.default_rng(sequence)
            else:
                # CuPy's RandomState takes the same standard_normal call.
                with chainer.using_device(device):
                    rng = device.xp.random.RandomState(
                        int(sequence.generate_state(1)[0]))
            self._noise_rngs = {key: rng}
        return rng

    def _add_noise(self, h):
        if not chainer.config.train or not self.noise_sigma:
            return h
        rng = self._noise_rng(h.array)
        sigma = h.dtype.type(self.noise_sigma)
        if isinstance(rng, numpy.random.Generator):
            return _AddNoise(rng, sigma).apply((h,))[0]
        # CuPy draws float32 and float64 only.
        noise = rng.standard_normal(h.shape, dtype=numpy.promote_types(
            h.dtype, numpy.float32))
        noise *= sigma
        return h + noise.astype(h.dtype, copy=False)

    def forward(self, x):
        """Score (human, article) pairs.

        Args:
            x: ``(B, 6, H, W)`` float32, the channel concatenation of a human
                image and an article image, each RGB in [0, 1].

        Returns:
            ~chainer.Variable: logits in ``x``'s dtype (log-odds that the
            pair is a real one), ``(B, 1)`` for the linear head, ``(B, 1,
            H/32, W/32)`` for the patch head.
        """
        if tuple(x.shape[2:]) != self.size:
            raise ValueError(
                'Discriminator: built for {}x{} images, got {}x{}'.format(
                    *(self.size + tuple(x.shape[2:]))))
        # Computed in the weights' dtype (float16 under mixed precision, see
        # cagan.precision); the logits come back in the caller's.
        dtype = x.dtype
        h = self._add_noise(F.cast(x, self.c0.W.dtype))
        h = leaky_relu(self._add_noise(convolution(self.c0, h)))
        h = leaky_relu(self._add_noise(self.bn1(convolution(self.c1, h))))
        h = leaky_relu(self._add_noise(self.bn2(convolution(self.c2, h))))
        h = leaky_relu(self._add_noise(self.bn3(convolution(self.c3, h))))
        h = leaky_relu(self._add_noise(self.bn4(convolution(self.c4, h))))
        if chainer.config.train and self.noise_sigma:
            self.noise_step += 1
        return F.cast(self.l4(h) if self.head == 'linear' else self.c5(h),
                      dtype)
