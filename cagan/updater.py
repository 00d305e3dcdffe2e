"""The training steps: CAGAN's (G's update, then D's) and the supervised
reference's (G alone, L1 to the true swap), and the moving average of G.
What changes during a run is set from outside (:mod:`cagan.schedules`)."""

import math

import chainer
import chainer.functions as F
import numpy
from chainer import backend
from chainer.dataset import convert
from chainer.training import updaters

from cagan import losses, parallel, precision
from cagan.optimizers import copy_weights, update_average
from cagan.data.neutral import NEUTRAL_GREY
from cagan.errors import NonFiniteLossError
from cagan.links.warp import blur, silhouette

#: The matching term's blurs, as fractions of the image's height: the
#: photo, and Gaussians of 2, 4 and 8 pixels at 64x64 (a warp trained on
#: the photo alone, or with blurs of 1 to 4 pixels, shrank the article
#: onto a patch of its colour; with these it covers the garment).
MATCH_BLURS = (0.0, 2 / 64, 4 / 64, 8 / 64)


class _GeneratorUpdater(updaters.StandardUpdater):
    """What both updaters share: the moving average of G's weights, the
    refusal of non-finite losses, and the snapshot's extra state."""

    def __init__(self, iterator, optimizers, converter, device, gen_ema, ema,
                 **kwargs):
        super().__init__(iterator, optimizers, converter=converter,
                         device=device, **kwargs)
        if (gen_ema is None) != (ema is None):
            raise ValueError('a moving average needs both gen_ema and ema')
        if ema is not None and not 0 <= ema <= 1:
            raise ValueError('ema is a decay in [0, 1], got {}'.format(ema))
        self.gen_ema = gen_ema
        self.ema = ema
        #: Whether the next step runs Chainer's type checks (see
        #: :meth:`type_checks`).
        self._type_check = True
        if gen_ema is not None:
            gen = self.get_optimizer('gen').target
            wrong = sorted(name for name, p in gen_ema.namedparams()
                           if p.dtype != numpy.float32)
            if wrong:
                # Small steps (1 - d)(w - w_ema) vanish in float16.
                raise ValueError('gen_ema must hold float32 weights; {} is '
                                 'not'.format(wrong[0]))
            gen_ema.to_device(gen.device)
            copy_weights(gen_ema, gen)

    def type_checks(self):
        """A ``with`` block for a step's forward and backward passes:
        Chainer's checks of every function's input types run at the first
        step (of each process) only. Shapes and dtypes are the same at every
        later step, and the checks cost about 2% of a small network's CPU
        step."""
        checking, self._type_check = self._type_check, False
        return chainer.using_config('type_check',
                                    checking and chainer.config.type_check)

    def average(self):
        """Move the average of G's weights (if any) after G's update (this
        iteration's: ``t = iteration + 1``); see
        :func:`cagan.optimizers.update_average`."""
        if self.gen_ema is not None:
            update_average(self.gen_ema, self.get_optimizer('gen').target,
                           self.ema, self.iteration + 1)

    def serialize(self, serializer):
        """The iterator, optimizers and iteration (as ``StandardUpdater``),
        the loss scales and float32 master weights of mixed precision (see
        :func:`cagan.precision.serialize`), and the average of G's weights
        when there is one."""
        super().serialize(serializer)
        for name, optimizer in self.get_all_optimizers().items():
            precision.serialize(optimizer, serializer['precision_' + name])
        if self.gen_ema is not None:
            self.gen_ema.serialize(serializer['gen_ema'])

    def _check_finite(self, prefix, values):
        for name, value in values.items():
            number = float(getattr(value, 'array', value))
            if not math.isfinite(number):
                raise NonFiniteLossError(
                    'training stopped at iteration {}: {}/{} is {}; the '
                    'networks were not updated with it and nothing saved was '
                    'overwritten (try a lower learning rate, or resume from '
                    'the last snapshot)'.format(self.iteration + 1, prefix,
                                                name, number))


class CAGANUpdater(_GeneratorUpdater):
    """One CAGAN training step: the generator's update, then the discriminator's.

    For a batch of triplets (x_i, y_i, y_j):

    1. ``x_ij, alpha = G(x_i, y_i, y_j)``; ``x_iji = G(x_ij, y_j, y_i)``;
       G's loss ``gamma_adv L_adv(D(x_ij, y_j)) + gamma_cyc L_cyc + gamma_id
       L_id`` (see :mod:`cagan.losses`), with a warping G and
       ``gamma_match`` also ``gamma_match L_match`` on the true pair
       (``w, m = G.warp(x_i, y_i)``, :func:`cagan.losses.matching_loss`);
       G's update; the average of G's weights follows (if any).
    2. D's loss on the real pair (x_i, y_i), the fake pair (x_ij, y_j), with
       the graph cut at x_ij, and the mismatched pair (x_i, y_j), in one
       batched call (instance norm is per sample, so batching changes no
       value); with ``gamma_r1``, every ``r1_every``-th step (the
       iterations 0, k, 2k, ...; StyleGAN2's lazy regularisation) also
       ``gamma_r1 * r1_every * R1`` (:func:`cagan.losses.r1_penalty`, on
       the real pairs of that same call); D's update.

    G's gradient flows through D's weights as they were before this step: D
    is updated only after G (Chainer's dcgan example updates D first and then
    backpropagates G's loss through the updated D). D's half reads x_ij and
    D's weights, which G's update does not change, so both halves' gradients
    are computed first (:meth:`share_grads`, in several processes on shares
    of the batch with ``processes``) and then applied in that order
    (:meth:`apply`): the same values as computing D's after G's update.

    Reported each step, through the networks registered as observers ``gen``
    and ``dis`` (as a Trainer does): ``gen/loss``, ``gen/loss_adv``,
    ``gen/loss_cyc``, ``gen/loss_id``, ``gen/alpha`` (mean alpha, the
    repainted fraction: near 0 or 1 means training failed), with the
    matching term ``gen/loss_match``, ``dis/loss``,
    ``dis/loss_real``, ``dis/loss_fake``, ``dis/loss_wrong`` (``dis/loss``
    is their sum, eq. 2, with or without R1); on the steps that compute
    R1, ``dis/loss_r1`` (the penalty, unweighted: a LogReport averages
    it over those steps alone); with an id warm-up also ``gen/gamma_id``,
    with annealed noise ``dis/noise_sigma`` (the values this step used).

    A NaN or infinite loss raises :class:`~cagan.errors.NonFiniteLossError`
    naming the iteration and the loss, before the update that would use it,
    so the weights (and whatever a snapshot later saves) stay finite.

    What changes during a run is read here and set from outside: the id
    loss's weight ``gamma_id`` and D's noise level ``noise_sigma`` are
    attributes that the schedules' extensions (:mod:`cagan.schedules`) set
    before each update; D's noise stream position ``noise_step`` is the
    updater's, saved in snapshots, so a resumed run draws the same noise.

    Args:
        iterator: yields lists of ``(x_i, y_i, y_j)`` triplets, each a
            float32 ``(3, H, W)`` RGB image in [0, 1], optionally with a
            fourth item ``shown`` (worn-article dropout, see
            :class:`~cagan.data.dataset.TripletDataset`).
        optimizers (dict): ``{'gen': ..., 'dis': ...}``, optimizers set up on
            a :class:`~cagan.links.Generator` and a
            :class:`~cagan.links.Discriminator`.
        converter: batch to ``(x_i, y_i, y_j)`` arrays of ``(B, 3, H, W)``.
        device: where the networks and batches go (``-1``/``'@numpy'``,
            ``0``/``'@cupy:0'``, ...), as in ``StandardUpdater``.
        gamma_adv, gamma_cyc, gamma_id (float): loss weights; the reference
            article's 1 : 1 : 0.1 by default (``gamma_id`` the weight until
            a schedule sets another).
        gamma_match (float): the warp's matching term's weight (a warping
            generator only; 0: no such term).
        gamma_r1 (float): the weight of R1 on D's real pairs (Mescheder et
            al. 2018, eq. 9; :func:`cagan.losses.r1_penalty`); 0: none, as
            the reference article.
        r1_every (int): R1 lazily, on one step in ``r1_every`` (k), weighted
            by k there (Karras et al., StyleGAN2, 2020, section 3.1; unlike
            StyleGAN2's separate update, added to that step's D loss, with
            Adam's rate and betas unchanged); 1: every step.
        gen_ema (cagan.Generator or None): a second generator of the same
            config, float32, holding the moving average of G's weights; it
            starts as G's weights (copied here), moves after every G update
            and is saved in snapshots. None: no average.
        ema (float or None): the average's decay ``d`` (with ``gen_ema``),
            e.g. 0.999; see :func:`cagan.optimizers.update_average`.
        processes (int): compute each step's gradients in this many
            processes, on equal shares of the batch (see
            :mod:`cagan.parallel`; float32 on the CPU); 1: this process.
    """

    def __init__(self, iterator, optimizers, converter=convert.concat_examples,
                 device=None, gamma_adv=1.0, gamma_cyc=1.0, gamma_id=0.1,
                 gamma_match=0.0, gamma_r1=0.0, r1_every=1, gen_ema=None,
                 ema=None, processes=1, **kwargs):
        if not isinstance(optimizers, dict) or set(optimizers) != {'gen',
                                                                   'dis'}:
            raise ValueError("CAGANUpdater needs optimizers {'gen': ..., "
                             "'dis': ...}")
        super().__init__(iterator, optimizers, converter, device, gen_ema,
                         ema, **kwargs)
        self.gamma_adv = gamma_adv
        self.gamma_cyc = gamma_cyc
        self.gamma_match = gamma_match
        if gamma_match and not hasattr(
                self.get_optimizer('gen').target, 'warp'):
            raise ValueError('gamma_match needs a warping generator')
        if not gamma_r1 >= 0:
            raise ValueError('gamma_r1 must be >= 0, got {}'.format(gamma_r1))
        if isinstance(r1_every, bool) or not isinstance(
                r1_every, int) or r1_every < 1:
            raise ValueError('r1_every must be a whole number >= 1, got '
                             '{!r}'.format(r1_every))
        self.gamma_r1 = gamma_r1
        self.r1_every = r1_every
        #: The id loss's weight of the next update (a schedule may set it).
        self.gamma_id = gamma_id
        #: D's noise level of the next update (a schedule may set it).
        self.noise_sigma = self.get_optimizer('dis').target.noise_sigma
        #: D's noisy passes so far: which draws of its noise stream the
        #: next update takes (two a step: G's pass through D, and D's own).
        self.noise_step = 0
        #: The attributes a schedule sets, reported each update.
        self.scheduled = set()
        #: The step's gradients in several processes (None: this one).
        self.shared = None
        if processes > 1:
            self.shared = parallel.SharedStep(
                processes, [self.get_optimizer(n).target
                            for n in ('gen', 'dis')], self.share_grads)

    def update_core(self):
        batch = self.get_iterator('main').next()
        arrays = tuple(self.converter(batch, self.input_device))
        schedule = {'gamma_id': self.gamma_id,
                    'noise_sigma': self.noise_sigma,
                    'noise_step': self.noise_step,
                    # Whether D's half adds R1 (lazily, one step in k): a
                    # flag read by every process of a shared step.
                    'r1': float(self.gamma_r1 > 0
                                and self.iteration % self.r1_every == 0)}
        if self.shared is None:
            values = self.share_grads(arrays, schedule, 0)
        else:
            values = self.shared(arrays, schedule)
        self.apply(values, schedule)

    def share_grads(self, arrays, schedule, share):
        """The gradients of G's and D's losses on a batch (or a share of
        one, see :mod:`cagan.parallel`), set on their parameters; no update.

        Args:
            arrays (tuple): ``(x_i, y_i, y_j)`` or ``(x_i, y_i, y_j,
                shown)``, the converter's arrays.
            schedule (dict): this step's ``gamma_id``, ``noise_sigma`` and
                ``noise_step`` (see the attributes of the same names), and
                ``r1`` (optional): nonzero where D's half adds R1.
            share (int): which process's share (0 alone): D draws its
                noise from that process's stream.

        Returns:
            dict: the losses and ``gen/alpha`` as floats, keyed as
            reported.
        """
        x_i, y_i, y_j = arrays[:3]
        worn = y_i
        if len(arrays) == 4:
            # Worn-article dropout: the first pass sees the neutral image
            # where y_i is hidden; the cycle pass and D keep the real y_i.
            shown = arrays[3].reshape(-1, 1, 1, 1)
            worn = y_i * shown + NEUTRAL_GREY * (1 - shown)
        dis = self.get_optimizer('dis').target
        # Two draws of D's noise stream a step: G's pass through D, then
        # D's own.
        step, sigma = int(schedule['noise_step']), schedule['noise_sigma']
        with self.type_checks():
            values, x_ij = self.gen_grads(x_i, y_i, y_j, worn,
                                          schedule['gamma_id'],
                                          dis.noise(step, share, sigma))
            values.update(self.dis_grads(x_i, y_i, y_j, x_ij,
                                         dis.noise(step + 1, share, sigma),
                                         r1=bool(schedule.get('r1'))))
        return values

    def gen_grads(self, x_i, y_i, y_j, worn=None, gamma_id=None,
                  noise=None):
        """G's gradients (only G's: D's weight gradients, which D's own
        half computes afresh, are never computed here).

        ``worn`` is what the first pass is shown as the worn article
        (default ``y_i``; see worn-article dropout in
        :class:`~cagan.data.dataset.TripletDataset`); ``gamma_id`` the id
        loss's weight (default :attr:`gamma_id`); ``noise`` D's noise
        (:class:`cagan.links.discriminator.Noise`; None: none).

        Returns:
            tuple: ``{'gen/loss', 'gen/loss_adv', 'gen/loss_cyc',
            'gen/loss_id', 'gen/alpha'}`` (and ``'gen/loss_match'`` with
            the matching term) as floats, and ``x_ij`` as a
            plain array (the graph cut there).
        """
        gen_opt = self.get_optimizer('gen')
        gen, dis = gen_opt.target, self.get_optimizer('dis').target
        x_ij, alpha = gen.swap(x_i, y_i if worn is None else worn, y_j)
        x_iji, _ = gen.swap(x_ij, y_j, y_i)
        loss_adv = losses.adversarial_real(dis(F.concat((x_ij, y_j)),
                                               noise=noise))
        loss_cyc = losses.cycle_loss(x_i, x_iji)
        loss_id = losses.id_loss(alpha)
        loss = losses.gen_loss(loss_adv, loss_cyc, loss_id, self.gamma_adv,
                               self.gamma_cyc,
                               self.gamma_id if gamma_id is None else gamma_id)
        terms = {'gen/loss_adv': loss_adv, 'gen/loss_cyc': loss_cyc,
                 'gen/loss_id': loss_id}
        if self.gamma_match:
            # The true pair: y_i warped onto x_i, who wears it, from
            # coarse to fine.
            warped = gen.warp.pyramid(x_i, y_i, MATCH_BLURS)
            people = [blur(x_i, s * x_i.shape[2]) for s in MATCH_BLURS]
            loss_match = losses.matching_pyramid_loss(
                people, warped, silhouette(y_i).array)
            loss = loss + self.gamma_match * loss_match
            terms['gen/loss_match'] = loss_match
        precision.backward(loss, list(gen.params()), gen_opt)
        values = {'gen/loss': loss, **terms, 'gen/alpha': F.mean(alpha)}
        return ({k: float(v.array) for k, v in values.items()},
                x_ij.array)

    def dis_grads(self, x_i, y_i, y_j, x_ij, noise=None, r1=False):
        """D's gradients on the real, fake and mismatched pairs, on arrays
        (no graph reaches G), with D's ``noise`` (None: none); with ``r1``
        (and ``gamma_r1``), of D's loss plus ``gamma_r1 * r1_every`` times
        R1 on the real pairs (:func:`cagan.losses.r1_penalty`).

        R1 differentiates D's logits with respect to its input: the real
        pairs are then a Variable, concatenated with the others into the
        same batched call (the same values, noise and spectral norm
        iteration as without R1, and no second pass through D).

        Returns:
            dict: ``dis/loss``, ``dis/loss_real``, ``dis/loss_fake``,
            ``dis/loss_wrong`` (and ``dis/loss_r1`` with R1) as floats.
        """
        dis_opt = self.get_optimizer('dis')
        dis = dis_opt.target
        xp = backend.get_array_module(x_i)
        real_pairs = xp.concatenate((x_i, y_i), axis=1)
        others = (xp.concatenate((x_ij, y_j), axis=1),
                  xp.concatenate((x_i, y_j), axis=1))
        r1 = bool(r1 and self.gamma_r1)
        if r1:
            real_pairs = chainer.Variable(real_pairs)
            pairs = F.concat((real_pairs,) + others, axis=0)
        else:
            pairs = xp.concatenate((real_pairs,) + others, axis=0)
        d_real, d_fake, d_wrong = F.split_axis(dis(pairs, noise=noise), 3,
                                               axis=0)
        loss, real, fake, wrong = losses.dis_loss(d_real, d_fake, d_wrong)
        values = {'dis/loss': loss, 'dis/loss_real': real,
                  'dis/loss_fake': fake, 'dis/loss_wrong': wrong}
        total = loss
        if r1:
            penalty = losses.r1_penalty(d_real, real_pairs)
            total = loss + (self.gamma_r1 * self.r1_every) * penalty
            values['dis/loss_r1'] = penalty
        dis.cleargrads()
        total.backward(loss_scale=precision.loss_scale(dis_opt))
        return {k: float(v.array) for k, v in values.items()}

    def apply(self, values, schedule):
        """G's update, the moving average, then D's update, each refused if
        its losses in ``values`` (:meth:`share_grads`') are not finite; the
        report."""
        gen_opt, dis_opt = (self.get_optimizer(n) for n in ('gen', 'dis'))
        gen = {k[4:]: v for k, v in values.items() if k.startswith('gen/')}
        dis = {k[4:]: v for k, v in values.items() if k.startswith('dis/')}
        self._check_finite('gen', {k: v for k, v in gen.items()
                                   if k != 'alpha'})
        gen_opt.update()
        self.average()
        self._check_finite('dis', dis)
        dis_opt.update()
        if schedule['noise_sigma']:
            self.noise_step += 2
        if 'gamma_id' in self.scheduled:
            gen['gamma_id'] = schedule['gamma_id']
        if 'noise_sigma' in self.scheduled:
            dis['noise_sigma'] = schedule['noise_sigma']
        chainer.report(gen, gen_opt.target)
        chainer.report(dis, dis_opt.target)

    def finalize(self):
        """Stop the helper processes (if any), then as the base."""
        if self.shared is not None:
            self.shared.close()
        super().finalize()

    def serialize(self, serializer):
        """As the base (iterator, optimizers, iteration, mixed precision's
        state, G's average), and the discriminator's noise position, so that
        a resumed run draws the same noise as an uninterrupted one (its
        annealed level follows from the iteration)."""
        super().serialize(serializer)
        self.noise_step = int(serializer('dis_noise_step', self.noise_step))


class SupervisedUpdater(_GeneratorUpdater):
    """The supervised reference's step: G alone, trained with L1 to the true
    swap (:func:`cagan.losses.supervised_loss`). Not CAGAN, which never sees
    the true swap: an upper bound of what the same generator learns at a
    size and budget.

    For a batch ``(x_i, y_i, y_j, x_ij)``: ``x_ij', alpha = G(x_i, y_i,
    y_j)``; loss ``E|x_ij' - x_ij|``; G's update; the average of G's weights
    follows (if any). Reported through the observer ``gen``: ``gen/loss``,
    ``gen/alpha``. A NaN or infinite loss raises
    :class:`~cagan.errors.NonFiniteLossError` before the update.

    Args:
        iterator: yields lists of ``(x_i, y_i, y_j, x_ij)``, each a float32
            ``(3, H, W)`` RGB image in [0, 1]
            (:class:`~cagan.data.dataset.TruthDataset`).
        optimizers (dict): ``{'gen': ...}``, an optimizer set up on a
            :class:`~cagan.links.Generator`.
        converter: batch to four ``(B, 3, H, W)`` arrays.
        device: as in :class:`CAGANUpdater`.
        gen_ema, ema: the moving average of G's weights, as in
            :class:`CAGANUpdater`.
    """

    def __init__(self, iterator, optimizers, converter=convert.concat_examples,
                 device=None, gen_ema=None, ema=None, **kwargs):
        if not isinstance(optimizers, dict) or set(optimizers) != {'gen'}:
            raise ValueError("SupervisedUpdater needs optimizers "
                             "{'gen': ...}")
        super().__init__(iterator, optimizers, converter, device, gen_ema,
                         ema, **kwargs)

    def update_core(self):
        batch = self.get_iterator('main').next()
        x_i, y_i, y_j, truth = self.converter(batch, self.input_device)
        gen_opt = self.get_optimizer('gen')
        gen = gen_opt.target
        with self.type_checks():
            x_ij, alpha = gen.swap(x_i, y_i, y_j)
            loss = losses.supervised_loss(x_ij, truth)
            report = {'loss': loss}
            self._check_finite('gen', report)
            precision.backward(loss, list(gen.params()), gen_opt)
            mean_alpha = F.mean(alpha)
        gen_opt.update()
        self.average()
        report['alpha'] = mean_alpha
        chainer.report(report, gen)
