import math

import chainer
import chainer.functions as F
from chainer import backend
from chainer.dataset import convert
from chainer.training import updaters

from cagan import losses, precision
from cagan.data.neutral import NEUTRAL_GREY
from cagan.errors import NonFiniteLossError


class CAGANUpdater(updaters.StandardUpdater):
    """One CAGAN training step: the generator's update, then the discriminator's.

    For a batch of triplets (x_i, y_i, y_j):

    1. ``x_ij, alpha = G(x_i, y_i, y_j)``; ``x_iji = G(x_ij, y_j, y_i)``;
       G's loss ``gamma_adv L_adv(D(x_ij, y_j)) + gamma_cyc L_cyc + gamma_id
       L_id`` (see :mod:`cagan.losses`); G's update.
    2. D's loss on the real pair (x_i, y_i), the fake pair (x_ij, y_j), with
       the graph cut at x_ij, and the mismatched pair (x_i, y_j), in one
       batched call (instance norm is per sample, so batching changes no
       value); D's update.

    G's gradient flows through D's weights as they were before this step: D
    is updated only after G (Chainer's dcgan example updates D first and then
    backpropagates G's loss through the updated D).

    Reported each step, through the networks registered as observers ``gen``
    and ``dis`` (as a Trainer does): ``gen/loss``, ``gen/loss_adv``,
    ``gen/loss_cyc``, ``gen/loss_id``, ``gen/alpha`` (mean alpha, the
    repainted fraction: near 0 or 1 means training failed), ``dis/loss``,
    ``dis/loss_real``, ``dis/loss_fake``, ``dis/loss_wrong``.

    A NaN or infinite loss raises :class:`~cagan.errors.NonFiniteLossError`
    naming the iteration and the loss, before the update that would use it,
    so the weights (and whatever a snapshot later saves) stay finite.

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
        gamma_adv, gamma_cyc, gamma_id (float): loss weights; the reference article's
            1 : 1 : 0.1 by default.
    """

    def __init__(self, iterator, optimizers, converter=convert.concat_examples,
                 device=None, gamma_adv=1.0, gamma_cyc=1.0, gamma_id=0.1,
                 **kwargs):
        if not isinstance(optimizers, dict) or set(optimizers) != {'gen',
                                                                   'dis'}:
            raise ValueError("CAGANUpdater needs optimizers {'gen': ..., "
                             "'dis': ...}")
        super().__init__(iterator, optimizers, converter=converter,
                         device=device, **kwargs)
        self.gamma_adv = gamma_adv
        self.gamma_cyc = gamma_cyc
        self.gamma_id = gamma_id

    def update_core(self):
        batch = self.get_iterator('main').next()
        arrays = self.converter(batch, self.input_device)
        x_i, y_i, y_j = arrays[:3]
        worn = y_i
        if len(arrays) == 4:
            # Worn-article dropout: the first pass sees the neutral image
            # where y_i is hidden; the cycle pass and D keep the real y_i.
            shown = arrays[3].reshape(-1, 1, 1, 1)
            worn = y_i * shown + NEUTRAL_GREY * (1 - shown)
        x_ij = self.update_gen(x_i, y_i, y_j, worn)
        self.update_dis(x_i, y_i, y_j, x_ij)

    def update_gen(self, x_i, y_i, y_j, worn=None):
        """G's half of the step; returns x_ij as a plain array (graph cut).

        ``worn`` is what the first pass is shown as the worn article
        (default ``y_i``; see worn-article dropout in
        :class:`~cagan.data.dataset.TripletDataset`)."""
        gen_opt = self.get_optimizer('gen')
        gen, dis = gen_opt.target, self.get_optimizer('dis').target
        x_ij, alpha = gen.swap(x_i, y_i if worn is None else worn, y_j)
        x_iji, _ = gen.swap(x_ij, y_j, y_i)
        loss_adv = losses.adversarial_real(dis(F.concat((x_ij, y_j))))
        loss_cyc = losses.cycle_loss(x_i, x_iji)
        loss_id = losses.id_loss(alpha)
        loss = losses.gen_loss(loss_adv, loss_cyc, loss_id, self.gamma_adv,
                               self.gamma_cyc, self.gamma_id)
        report = {'loss': loss, 'loss_adv': loss_adv, 'loss_cyc': loss_cyc,
                  'loss_id': loss_id}
        self._check_finite('gen', report)
        # Only G's gradients: D's weight gradients (which D's own step
        # computes afresh) are never computed here.
        precision.backward(loss, list(gen.params()), gen_opt)
        gen_opt.update()
        report['alpha'] = F.mean(alpha)
        chainer.report(report, gen)
        return x_ij.array

    def update_dis(self, x_i, y_i, y_j, x_ij):
        """D's half of the step, on arrays (no graph reaches G)."""
        dis_opt = self.get_optimizer('dis')
        dis = dis_opt.target
        xp = backend.get_array_module(x_i)
        pairs = xp.concatenate((xp.concatenate((x_i, y_i), axis=1),
                                xp.concatenate((x_ij, y_j), axis=1),
                                xp.concatenate((x_i, y_j), axis=1)), axis=0)
        d_real, d_fake, d_wrong = F.split_axis(dis(pairs), 3, axis=0)
        loss, real, fake, wrong = losses.dis_loss(d_real, d_fake, d_wrong)
        report = {'loss': loss, 'loss_real': real, 'loss_fake': fake,
                  'loss_wrong': wrong}
        self._check_finite('dis', report)
        dis.cleargrads()
        loss.backward(loss_scale=precision.loss_scale(dis_opt))
        dis_opt.update()
        chainer.report(report, dis)

    def serialize(self, serializer):
        """The iterator, optimizers and iteration (as ``StandardUpdater``),
        the loss scales and float32 master weights of mixed precision (see
        :func:`cagan.precision.serialize`), and the discriminator's noise
        position, so that a resumed run draws the same noise as an
        uninterrupted one."""
        super().serialize(serializer)
        for name in ('gen', 'dis'):
            precision.serialize(self.get_optimizer(name),
                                serializer['precision_' + name])
        dis = self.get_optimizer('dis').target
        dis.noise_step = int(serializer('dis_noise_step', dis.noise_step))

    def _check_finite(self, prefix, values):
        for name, value in values.items():
            number = float(value.array)
            if not math.isfinite(number):
                raise NonFiniteLossError(
                    'training stopped at iteration {}: {}/{} is {}; the '
                    'networks were not updated with it and nothing saved was '
                    'overwritten (try a lower learning rate, or resume from '
                    'the last snapshot)'.format(self.iteration + 1, prefix,
                                                name, number))
