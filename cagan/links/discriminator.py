import collections

import chainer
import chainer.functions as F
import chainer.links as L
import numpy
from chainer import backend, link_hooks

from cagan.kernels import leaky_relu
from cagan.kernels.noise import AddNoise
from cagan.links._resample import beside, pyramid
from cagan.sizes import as_size, check_size, check_width
from cagan.links.connection import Convolution2D
from cagan.links.instance_normalization import InstanceNormalization

HEADS = ('linear', 'patch', 'patch16')


class Noise(collections.namedtuple('Noise', ('sigma', 'step', 'branch'))):
    """The noise of one forward pass of a :class:`Discriminator`.

    Attributes:
        sigma (float): its standard deviation (> 0).
        step (int): which of the stream's draws: the noise of ``step``
            depends only on the link's noise seed and ``step``, so a resumed
            run that passes the same steps draws the same noise.
        branch (int): which process of a shared step draws
            (:mod:`cagan.parallel`): each but the first (0) has a stream of
            its own.
    """

    __slots__ = ()


class Discriminator(chainer.Chain):
    """CAGAN's discriminator D(human, article), layer for layer the reference
    article's by default.

    Five 4x4 stride-2 convolutions, 6 -> ch/8 -> ch/4 -> ch/2 -> ch -> ch
    channels, instance norm on all but the first, leaky ReLU (slope 0.2), and
    a head that gives logits:

    * ``head='linear'`` (the reference article): a Linear layer ``l4`` over the whole
      ``(H/32, W/32)`` map, one logit per pair, shape ``(B, 1)``. The reference article
      hard-coded an 8x8 map (256x256 images); here it is sized from ``size``.
    * ``head='patch'``: a PatchGAN-like map, a 3x3 convolution ``c5`` (pad 1)
      to one channel on the stride-32 map, one logit per position,
      ``(B, 1, H/32, W/32)``.
    * ``head='patch16'``: the paper's patch discriminator as its
      reimplementations read it, the same ``c5`` on the stride-16 map (after
      ``c3`` and ``bn3``): ``(B, 1, H/16, W/16)``, 8x6 logits at 128x96.
      ``c4`` and ``bn4`` are not built; sizes need only be multiples of 16.

    Gaussian noise (the reference article's ``add_noise``, on the input
    and after every convolution, after its norm) is the forward pass's
    argument: ``dis(x, noise=dis.noise(step))`` draws it at standard
    deviation ``noise_sigma`` (or a scheduled one), ``dis(x)`` adds none.
    The training step says which draws of the link's noise stream each pass
    takes (:class:`Noise`), as StyleGAN2's ``noise_mode`` is passed, so
    the link holds no step state. The reference article drew float64 noise
    from NumPy's global RandomState, which Chainer cast back to float32;
    here it is drawn in the activations' dtype from the link's stream,
    seeded by ``seed`` or :meth:`seed_noise`, on the device the link lives
    on (on the CPU by :mod:`cagan.kernels.noise`).

    The reference article's sigmoid is not applied: the losses take logits, where the
    binary cross-entropy is stable for any value. Parameter names are the
    reference article's (``c0``..``c4``, ``bn0``..``bn4``, ``l4``); ``bn0`` is unused, as in
    the reference article.

    Three more options, off by default (the reference article):

    * ``inject=True``, input re-injection (the paper, section 3, "in both G
      and D"): the 6 input channels (the pair, after the input noise),
      2x2-average-pooled down to each layer's input size, are concatenated
      after that input for ``c1``..``c4`` and a patch head's ``c5``; each
      takes 6 more channels (``c1.W``: ``(ch/4, ch/8 + 6, 4, 4)``). The
      linear head reads the map alone.
    * ``spectral_norm=True``, spectral normalisation (Miyato, Kataoka,
      Koyama and Yoshida, ICLR 2018): every convolution and the linear head
      compute with ``W / sigma(W)``, ``sigma`` the largest singular value of
      ``W`` as a ``(out, in * kh * kw)`` matrix, estimated by one power
      iteration per train-mode call
      (``chainer.link_hooks.SpectralNormalization``). Each such layer keeps
      its estimate of the first left singular vector as the persistent
      ``W_u`` (``(out,)``; saved and loaded with the weights, so a resumed
      run goes on exactly); it starts from ``seed``, not from NumPy's global
      generator. The parameters are unchanged: ``W`` is the unnormalised
      weight the optimizer updates.
    * ``projection=True``, a projection term (Miyato and Koyama, "cGANs
      with Projection Discriminator", ICLR 2018; pfnet-research/
      sngan_projection), so that D asks "does this person wear this
      article" though the two are not aligned. An article encoder reads
      the article ``y`` (the pair's channels 3..5, after the input noise)
      alone: ``proj_c0``..``proj_c3`` (and ``proj_c4`` but for
      ``'patch16'``), 4x4 stride-2 convolutions 3 -> ch/8 -> ch/4 -> ch/2
      -> ch (-> ch), noise after each, leaky ReLU between them, no
      activation after the last, ending at the head's stride; its map,
      averaged over positions, is the embedding ``e(y)`` ``(B, ch)``. The
      logit gets ``+ <e(y), phi>``: for the patch heads at every position,
      ``phi`` the ``ch`` channels of the map that ``c5`` reads (without the
      injected copies); for the linear head, ``phi`` that map summed over
      positions (the paper's global sum pooling: the sum of the patch
      heads' terms). Its weights are drawn
      after the others' (and their ``W_u``), so those stay the ones of
      ``projection=False``; spectral norm normalises them too. The
      encoder's multiply-adds are nearly the rest of D's.

    Args:
        ch (int): base width, a positive multiple of 8 (the reference article: 512).
        size (int or (int, int)): image (height, width), multiples of 32
            (of 16 for ``head='patch16'``).
        head (str): ``'linear'``, ``'patch'`` or ``'patch16'``.
        noise_sigma (float): noise standard deviation; 0 turns noise off.
        wscale (float): standard deviation of the initial weights.
        seed (int or None): seed of the initial weights, of ``W_u`` and of
            the noise (None: fresh entropy); the global NumPy RNG is never
            used.
        inject (bool): concatenate the downsampled pair before every layer
            after ``c0`` (but ``l4``).
        spectral_norm (bool): spectrally normalise every weight.
        projection (bool): add the projection term of an article encoder
            (``proj_c*``).

    Raises:
        cagan.errors.SizeError: for a width or a size it cannot take.
        ValueError: for an unknown head.
    """

    in_channels = 6

    def __init__(self, ch=512, size=(256, 256), head='linear',
                 noise_sigma=0.2, wscale=0.02, seed=None, inject=False,
                 spectral_norm=False, projection=False):
        super().__init__()
        check_width('Discriminator', ch)
        if head not in HEADS:
            raise ValueError('Discriminator: head must be one of {}, got {!r}'
                             .format(HEADS, head))
        # Stride-2 convolutions before the head.
        self.n_down = 4 if head == 'patch16' else 5
        bottom = check_size('Discriminator', size, n_down=self.n_down,
                            multiple=1 << self.n_down)
        self.ch = ch
        self.size = as_size(size)
        self.head = head
        self.noise_sigma = noise_sigma
        self.inject = bool(inject)
        self.spectral_norm = bool(spectral_norm)
        self.projection = bool(projection)
        self.seed_noise(seed)
        rng = numpy.random.default_rng(seed)
        w = chainer.initializers.Normal(wscale, rng=rng)
        # Extra input channels of every layer after c0 but l4.
        k = self.in_channels if self.inject else 0
        with self.init_scope():
            self.c0 = Convolution2D(6, ch // 8, 4, 2, 1, initialW=w)
            self.c1 = Convolution2D(ch // 8 + k, ch // 4, 4, 2, 1, initialW=w)
            self.c2 = Convolution2D(ch // 4 + k, ch // 2, 4, 2, 1, initialW=w)
            self.c3 = Convolution2D(ch // 2 + k, ch, 4, 2, 1, initialW=w)
            if head != 'patch16':
                self.c4 = Convolution2D(ch + k, ch, 4, 2, 1, initialW=w)
            if head == 'linear':
                self.l4 = L.Linear(bottom[0] * bottom[1] * ch, 1, initialW=w)
            else:
                self.c5 = Convolution2D(ch + k, 1, 3, 1, 1, initialW=w)
            self.bn0 = InstanceNormalization(ch // 8)
            self.bn1 = InstanceNormalization(ch // 4)
            self.bn2 = InstanceNormalization(ch // 2)
            self.bn3 = InstanceNormalization(ch)
            if head != 'patch16':
                self.bn4 = InstanceNormalization(ch)
        if self.spectral_norm:
            # After the weights, whose draws stay those of spectral_norm=False;
            # u vectors in name order (children() sorts).
            for link in self.children():
                if not isinstance(link, InstanceNormalization):
                    link.add_hook(SpectralNormalization(rng))
        if self.projection:
            # After the others' weights and u vectors, which stay those of
            # projection=False.
            widths = (3, ch // 8, ch // 4, ch // 2, ch, ch)
            with self.init_scope():
                for i in range(self.n_down):
                    setattr(self, 'proj_c{}'.format(i), Convolution2D(
                        widths[i], widths[i + 1], 4, 2, 1, initialW=w))
            if self.spectral_norm:
                for link in self._projection_layers():
                    link.add_hook(SpectralNormalization(rng))

    def seed_noise(self, seed):
        """Restart the noise stream from ``seed`` (None: fresh entropy).

        ``Discriminator(seed=s)`` starts from ``seed_noise(s)``; the noise
        stream is a child of ``s``, independent of the initial weights.
        """
        self._noise_seed = numpy.random.SeedSequence(seed).spawn(1)[0]

    def noise(self, step, branch=0, sigma=None):
        """The :class:`Noise` of a forward pass at the ``step``-th draws of
        the stream, at ``sigma`` (default: the link's ``noise_sigma``); None
        when that is 0."""
        sigma = self.noise_sigma if sigma is None else sigma
        return Noise(sigma, step, branch) if sigma else None

    def _noise_rng(self, x, noise):
        """A generator of ``noise``'s draws, on ``x``'s device: one per
        forward pass, whose layers draw from it in turn."""
        device = backend.get_device_from_array(x)
        # Branch 0 is the stream of a single process.
        branch = (noise.branch,) if noise.branch else ()
        sequence = numpy.random.SeedSequence(
            self._noise_seed.entropy,
            spawn_key=self._noise_seed.spawn_key + (noise.step,) + branch)
        if device.xp is numpy:
            return numpy.random.default_rng(sequence)
        # CuPy's RandomState takes the same standard_normal call.
        with chainer.using_device(device):
            return device.xp.random.RandomState(
                int(sequence.generate_state(1)[0]))

    def _add_noise(self, h, noise, rng=None):
        """``h`` plus ``noise``'s next draws from ``rng`` (default: a new
        generator at the start of ``noise``'s draws)."""
        if noise is None:
            return h
        if rng is None:
            rng = self._noise_rng(h.array, noise)
        sigma = h.dtype.type(noise.sigma)
        if isinstance(rng, numpy.random.Generator):
            return AddNoise(rng, sigma).apply((h,))[0]
        # CuPy draws float32 and float64 only.
        drawn = rng.standard_normal(h.shape, dtype=numpy.promote_types(
            h.dtype, numpy.float32))
        drawn *= sigma
        return h + drawn.astype(h.dtype, copy=False)

    def forward(self, x, noise=None):
        """Score (human, article) pairs.

        Args:
            x: ``(B, 6, H, W)`` float32, the channel concatenation of a human
                image and an article image, each RGB in [0, 1].
            noise (Noise or None): this pass's noise (:meth:`noise`); None:
                none.

        Returns:
            ~chainer.Variable: logits in ``x``'s dtype (log-odds that the
            pair is a real one), ``(B, 1)`` for the linear head, ``(B, 1,
            H/32, W/32)`` for ``'patch'``, ``(B, 1, H/16, W/16)`` for
            ``'patch16'``.
        """
        if tuple(x.shape[2:]) != self.size:
            raise ValueError(
                'Discriminator: built for {}x{} images, got {}x{}'.format(
                    *(self.size + tuple(x.shape[2:]))))
        # Computed in the weights' dtype (float16 under mixed precision, see
        # cagan.precision); the logits come back in the caller's.
        dtype = x.dtype
        x = F.cast(x, self.c0.W.dtype)
        rng = None if noise is None else self._noise_rng(x.array, noise)
        x = self._add_noise(x, noise, rng)
        # The (noisy) pair at each size a layer reads, pooled once per call.
        copies = pyramid(x, self.n_down) if self.inject else None
        h = leaky_relu(self._add_noise(self.c0(x), noise, rng))
        layers = [(self.c1, self.bn1), (self.c2, self.bn2),
                  (self.c3, self.bn3)]
        if self.head != 'patch16':
            layers.append((self.c4, self.bn4))
        for k, (conv, norm) in enumerate(layers, 1):
            h = conv(beside(h, copies, 1 << k))
            if noise is not None:
                h = leaky_relu(self._add_noise(norm(h), noise, rng))
            else:
                # The same, with the activation in the norm's pass.
                h = norm(h, activation=leaky_relu)
        if self.head == 'linear':
            logits = self.l4(h)
        else:
            logits = self.c5(beside(h, copies, 1 << self.n_down))
        if self.projection:
            # Its noise drawn after the rest's, which stays that of
            # projection=False.
            logits = logits + self._projection(x[:, 3:], h, noise, rng)
        return F.cast(logits, dtype)

    def _projection_layers(self):
        """The article encoder's convolutions, ``proj_c0`` first."""
        return [getattr(self, 'proj_c{}'.format(i))
                for i in range(self.n_down)]

    def _projection(self, y, h, noise, rng):
        """The projection term ``<e(y), phi>`` of articles ``y`` ``(B, 3,
        H, W)`` and the map ``h`` ``(B, ch, h, w)`` that the head reads, in
        the shape of the head's logits."""
        layers = self._projection_layers()
        for i, conv in enumerate(layers, 1):
            y = self._add_noise(conv(y), noise, rng)
            if i < len(layers):
                y = leaky_relu(y)
        embedding = F.expand_dims(F.mean(y, axis=(2, 3)), 1)  # (B, 1, ch)
        batch, ch = h.shape[:2]
        # (B, 1, h * w): the inner product at every position.
        term = F.matmul(embedding, F.reshape(h, (batch, ch, -1)))
        if self.head == 'linear':
            return F.sum(term, axis=2)
        return F.reshape(term, (batch, 1) + h.shape[2:])


class SpectralNormalization(link_hooks.SpectralNormalization):
    """Chainer's spectral normalisation hook (one power iteration, eps
    1e-6), whose vector ``u`` (the persistent ``W_u``, ``(out,)``) starts
    from ``rng`` (a ``numpy.random.Generator``) rather than from the
    global NumPy generator. For links whose weights exist when it is
    added, as all of the discriminator's do."""

    def __init__(self, rng):
        super().__init__()
        self._rng = rng

    def _prepare_parameters(self, link, input_variable=None):
        # Chainer draws u with link.xp.random.normal: global state.
        weight = getattr(link, self.weight_name)
        u = self._rng.standard_normal(weight.shape[self.axis])
        setattr(link, self.vector_name,
                link.device.send(u.astype(weight.dtype)))
        link.register_persistent(self.vector_name)
        self._initialized = True
