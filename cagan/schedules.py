"""What changes during a run, in one place: the id loss's warm-up, the
discriminator's annealed noise and Adam's learning-rate decay (the config's
``schedule`` section), each a trainer extension beside the others that
sets what the training step reads before each update.

The values are pure functions of the update ``t`` (1 at the first), which
snapshots hold, so a resumed run goes on exactly: an extension sets the
value of update ``iteration + 1`` when the run starts (after the snapshot
has been loaded) and after every update.
"""

import chainer
from chainer.training.extensions import LinearShift


def id_weight(gamma_id, iteration, warmup):
    """gamma_id at ``iteration`` of a linear warm-up:
    ``gamma_id * min(1, t / warmup)``. The id loss pulls alpha to 0 from
    the first step, before D can tell which article a person wears; rising
    slowly, it lets G learn to repaint first.

    Args:
        gamma_id (float): the id loss's full weight.
        iteration (int): ``t``, the update being made (1 at the first, as the
            log counts).
        warmup (float): iterations to reach ``gamma_id``; 0: no warm-up.

    Returns:
        float: the weight, ``gamma_id`` itself once warmed up.
    """
    if iteration >= warmup:
        return gamma_id
    return gamma_id * (iteration / warmup)


def noise_level(sigma, iteration, until):
    """The discriminator's noise at ``iteration`` of a linear annealing:
    ``sigma * max(0, 1 - t / until)`` (annealed instance noise: Sonderby et
    al. 2017, "Amortised MAP inference"; Arjovsky and Bottou 2017). The
    noise blurs real and fake pairs together early, while they share no
    support, and is gone when D must tell fine details apart.

    Args:
        sigma (float): the standard deviation at the start.
        iteration (int): ``t``, the update being made (1 at the first).
        until (float or None): iterations at which it reaches 0; None:
            constant ``sigma``.

    Returns:
        float: the standard deviation, >= 0.
    """
    if until is None:
        return sigma
    if iteration >= until:
        return 0.0
    return sigma * (1.0 - iteration / until)


class StepValue(chainer.training.Extension):
    """Set ``updater.<attr>`` to ``value(t)`` before each update ``t``.

    The updater reports the value each update used (it is told which in
    ``updater.scheduled``), so that the log has it beside the losses.

    Args:
        attr (str): the updater's attribute (``'gamma_id'``,
            ``'noise_sigma'``).
        value (callable): ``t`` (int) -> float.
    """

    trigger = 1, 'iteration'
    # After the snapshot's autoload (priority -100) when the run starts.
    priority = -150

    def __init__(self, attr, value):
        self.attr, self.value = attr, value

    @property
    def default_name(self):
        return 'schedule_' + self.attr

    def set(self, updater):
        """Set the value of the next update (``iteration + 1``)."""
        setattr(updater, self.attr, self.value(updater.iteration + 1))

    def start(self, updater):
        """Tell ``updater`` to report the value, and set the first one."""
        updater.scheduled.add(self.attr)
        self.set(updater)

    def initialize(self, trainer):
        self.start(trainer.updater)

    def __call__(self, trainer):
        self.set(trainer.updater)


class _LinearDecay(LinearShift):
    """Chainer's ``LinearShift``, which also sets the rate it saved when a
    snapshot is loaded. Chainer's own sets it in ``initialize``, which runs
    before the snapshot is loaded (its priority is higher), so a resumed
    run's first update took the starting rate. Named as Chainer's, so that
    snapshots of either load into the other."""

    default_name = 'LinearShift'

    def serialize(self, serializer):
        super().serialize(serializer)
        if (isinstance(serializer, chainer.serializer.Deserializer)
                and self._last_value is not None):
            self._update_value(self._optimizer, self._last_value)


def linear_decay(optimizer, start, stop):
    """An extension taking Adam's learning rate linearly to 0.

    The rate (Chainer's ``alpha``) keeps its value until iteration ``start``
    and reaches 0 at ``stop``; a run resumed from a snapshot goes on at the
    rate it had.
    Add it to the trainer with the default (every iteration) trigger.
    """
    if not 0 <= start < stop:
        raise ValueError('linear decay needs 0 <= start < stop, got {} and {}'
                         .format(start, stop))
    return _LinearDecay(
        'alpha', (optimizer.alpha, 0.0), (start, stop), optimizer)


def extensions(config, updater, per_epoch):
    """The trainer extensions of a resolved config's schedules (none when
    they are off, as in the reference article): :class:`StepValue` for the
    id warm-up and the noise annealing, :func:`linear_decay` for each of
    ``updater``'s optimizers. Every rank of a ChainerMN run extends them.

    Args:
        config (dict): a resolved config (``schedule``, ``loss.gamma_id``,
            ``model.dis.noise_sigma``, ``train.epochs``).
        updater: the training step (:func:`cagan.training.make_step`).
        per_epoch (float): iterations per epoch of the run's data.

    Returns:
        list of chainer.training.Extension.
    """
    schedule, found = config['schedule'], []
    # The supervised reference has no id loss and no discriminator.
    cagan = config['train']['mode'] == 'cagan'
    if cagan and schedule['id_warmup']:
        gamma_id, warmup = (config['loss']['gamma_id'],
                            schedule['id_warmup'] * per_epoch)
        found.append(StepValue('gamma_id',
                               lambda t: id_weight(gamma_id, t, warmup)))
    until = schedule['noise_until']
    if cagan and until is not None:
        sigma, until = config['model']['dis']['noise_sigma'], until * per_epoch
        found.append(StepValue('noise_sigma',
                               lambda t: noise_level(sigma, t, until)))
    decay_from, epochs = schedule['decay_from'], config['train']['epochs']
    if decay_from is not None and decay_from < epochs:
        for optimizer in updater.get_all_optimizers().values():
            found.append(linear_decay(optimizer, round(decay_from * per_epoch),
                                      round(epochs * per_epoch)))
    return found


def apply(found, updater):
    """Set the values of ``updater``'s next update from the
    :class:`StepValue` among ``found`` (:func:`extensions`), as a trainer
    does: for a step run without one (the benchmark)."""
    for extension in found:
        if isinstance(extension, StepValue):
            extension.start(updater)
