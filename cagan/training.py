"""From a resolved config to a running Trainer.

``config -> dataset -> iterator -> updater -> trainer -> extensions``: this
module wires the pieces; ``scripts/train.py`` only parses the command line.
One seed (``train.seed``) reaches everything: the networks' initial weights,
the discriminator's noise, the triplets, the epoch orders and the preview's
choice of people and articles, each from its own child of the seed, so two
CPU runs of one config end with the same weights.

``train.mode`` chooses the step: CAGAN's (:class:`~cagan.updater.CAGANUpdater`
on triplets) or the supervised reference's
(:class:`~cagan.updater.SupervisedUpdater` on the training ground truth, no
discriminator). With ``optimizer.ema`` a moving average of G's weights is
what previews, scores, ``gen_epoch_*.npz`` and ``gen_best.npz`` hold.
"""

from pathlib import Path

import chainer
import numpy
from chainer.training import extensions

import cagan.precision
from cagan import distributed, parallel, run, schedules
from cagan.data import dataset, held_out
from cagan.data.held_out import (held_out_triplets, preview_batch,
                                 read_truth, truth_file)
from cagan.errors import CaganError, ConfigError, DataError
from cagan.extensions import Evaluation, EveryOrEnd, PlotReport, Preview
from cagan.optimizers import make_adam
from cagan.updater import CAGANUpdater, SupervisedUpdater

LOSS_KEYS = ('gen/loss_adv', 'gen/loss_cyc', 'gen/loss_id', 'dis/loss')
EVAL_KEYS = ('eval/changed_l1', 'eval/outside_l1', 'eval/cycle_error',
             'eval/self_error')
PRINT_KEYS = ('epoch', 'iteration', 'gen/loss', 'gen/loss_adv',
              'gen/loss_cyc', 'gen/loss_id', 'gen/alpha', 'dis/loss',
              'eval/changed_l1', 'elapsed_time')
#: The warp's matching term, with ``loss.gamma_match``.
MATCH_KEY = 'gen/loss_match'
#: The supervised reference's (no discriminator, one loss).
SUPERVISED_LOSS_KEYS = ('gen/loss',)
SUPERVISED_PRINT_KEYS = ('epoch', 'iteration', 'gen/loss', 'gen/alpha',
                         'eval/changed_l1', 'elapsed_time')


def child_seeds(seed):
    """Independent seeds for each consumer of randomness, from one seed."""
    names = ('gen', 'dis', 'data', 'order', 'preview')
    states = numpy.random.SeedSequence(seed).generate_state(len(names))
    return dict(zip(names, (int(s) for s in states)))


def truth_examples(config, seed, comm=None):
    """The supervised reference's data: the training ground truth
    (``truth.txt`` at the dataset's root) as a
    :class:`~cagan.data.dataset.TruthDataset` of ``(x_i, y_i, y_j, x_ij)``.

    Args:
        config (dict): a resolved config.
        seed (int): seed of the flips.
        comm: a ChainerMN communicator (each rank takes every
            ``comm.size``-th swap) or None.

    Raises:
        cagan.errors.DataError: no such folder, no training ground truth,
            or unreadable rows or images.
        cagan.errors.ConfigError: ``data.worn_dropout`` is set (CAGAN's
            alone: the supervised step always shows y_i).
    """
    data = config['data']
    if data['worn_dropout']:
        raise ConfigError('data.worn_dropout is for train.mode cagan; the '
                          'supervised mode always shows y_i (set it to 0)')
    root = Path(data['root'])
    if not root.is_dir():
        raise DataError(['{}: no such dataset folder'.format(root)])
    found = held_out.truth_file(root, 'train')
    if found is None:
        raise DataError(['{}: has no training ground truth (truth.txt); '
                         'train.mode supervised needs data made by '
                         'scripts/make_synthetic.py'.format(root)])
    rows = held_out.read_truth_rows(found)
    if comm is not None:
        usable = len(rows) - len(rows) % comm.size
        rows = rows[comm.rank:usable:comm.size]
    return distributed.agree(comm, dataset.TruthDataset, rows, data['size'],
                             seed=seed, flip=data['flip'])


def check_processes(processes, config, device, comm=None,
                    precision='float32'):
    """``--processes`` as a count, checked against the run.

    Args:
        processes (int or str): a positive int or ``'auto'``
            (:func:`cagan.parallel.resolve`).
        config (dict): the resolved config.
        device (chainer.backend.Device), comm, precision: the run's.

    Returns:
        int: the count, 1 for one process.

    Raises:
        cagan.errors.CaganError: one line: a count that does not split the
            batch, or more than one process for a run that cannot share
            its step (the supervised reference, a GPU, another precision,
            ranks under mpiexec).
    """
    count = parallel.resolve(processes, config['train']['batch'])
    if count == 1:
        return 1
    where = None
    if config['train']['mode'] == 'supervised':
        where = 'the supervised reference trains in one process'
    elif not isinstance(device, chainer.backend.CpuDevice):
        where = 'they share a CPU step, not a GPU'
    elif precision != 'float32':
        where = 'shared steps compute in float32, not {}'.format(precision)
    elif comm is not None:
        where = 'under mpiexec each rank is a process already'
    if where:
        raise CaganError('--processes {}: {}; leave it out (1)'.format(
            count, where))
    return count


def make_step(config, gen, dis, iterator, device, precision='float32',
              comm=None, processes=1):
    """The training step a resolved config describes, on ``device``: the
    one place it is wired, for training, the benchmark and the device check.

    Adam for each network (the config's rates, D's own with
    ``optimizer.dis_lr``, its betas, ``precision``'s master weights and
    loss scaling), averaged over ``comm``'s ranks when given; with
    ``optimizer.ema`` a float32 moving average of G; and the updater of
    ``train.mode``: CAGAN's with the loss weights, or the supervised
    reference's. The schedules that change it during a run are
    :func:`cagan.schedules.extensions`.

    Args:
        config (dict): a resolved config.
        gen (cagan.Generator), dis (cagan.Discriminator or None): the
            networks (built in ``precision``: :func:`cagan.precision.building`);
            moved to ``device`` here. ``dis`` is None in supervised mode.
        iterator: the batches, ``(x_i, y_i, y_j)`` triplets (supervised:
            with ``x_ij``).
        device (chainer.backend.Device): where the step runs.
        precision (str): one of :data:`cagan.precision.PRECISIONS`.
        comm: a ChainerMN communicator, or None.
        processes (int): see :class:`~cagan.updater.CAGANUpdater`.

    Returns:
        CAGANUpdater or SupervisedUpdater: its optimizers are
        ``get_optimizer('gen')`` and, for CAGAN, ``get_optimizer('dis')``.
    """
    opt = config['optimizer']
    device.use()
    networks = [('gen', gen, opt['lr'])]
    if dis is not None:
        # Two time-scale rates (Heusel et al. 2017) when dis_lr is set.
        networks.append(('dis', dis, opt['lr'] if opt['dis_lr'] is None
                         else opt['dis_lr']))
    for _, link, _ in networks:
        link.to_device(device)
    optimizers = {name: make_adam(link, lr, opt['beta1'], opt['beta2'],
                                  precision)
                  for name, link, lr in networks}
    if comm is not None:
        # Gradients averaged over the ranks before every update.
        optimizers = {name: distributed.multi_node_optimizer(o, comm)
                      for name, o in optimizers.items()}
    # float32 whatever the precision: the average's small steps would
    # vanish in float16. The updater copies G's weights into it.
    gen_ema = (None if opt['ema'] is None else
               run.make_generator(config, seed=0))
    if config['train']['mode'] == 'supervised':
        return SupervisedUpdater(iterator, optimizers, device=device,
                                 gen_ema=gen_ema, ema=opt['ema'])
    loss = config['loss']
    return CAGANUpdater(
        iterator, optimizers, device=device, gamma_adv=loss['gamma_adv'],
        gamma_cyc=loss['gamma_cyc'], gamma_id=loss['gamma_id'],
        gamma_match=loss['gamma_match'], gamma_r1=loss['gamma_r1'],
        r1_every=loss['r1_every'], gen_ema=gen_ema, ema=opt['ema'],
        processes=processes)


def make_trainer(config, out, device='@numpy', progress=False, comm=None,
                 precision='float32', processes=1):
    """A Trainer for a resolved config, resuming from ``out`` if it can.

    Args:
        config (dict): a resolved config (:func:`cagan.config.load`).
        out (str or pathlib.Path): the run's folder: the resolved config,
            ``log``, ``loss.png``, ``alpha.png``, ``eval.png``,
            ``snapshot_iter_*``, ``gen_epoch_*.npz``, ``dis_epoch_*.npz``
            (not in supervised mode), ``gen_best.npz``, ``preview/``. With
            ``optimizer.ema``, the ``gen_*.npz`` hold G's moving average;
            the snapshots hold both it and G's own weights.
        device: a Chainer device specifier (``'@numpy'``, ``'@cupy:0'``,
            ``0``, ``-1``).
        progress (bool): show a progress bar.
        comm: a ChainerMN communicator (:func:`cagan.distributed.connect`)
            for one rank of a data-parallel run, or None. Every rank must
            call this at the same point: it talks to the other ranks.
        precision (str): one of :data:`cagan.precision.PRECISIONS`; configure
            the process for it first (:func:`cagan.precision.configure`).
        processes (int or str): compute each step's gradients in this many
            processes of this machine, on equal shares of the batch
            (:mod:`cagan.parallel`), or ``'auto'``: one per usable core.
            CAGAN's step, float32 on the CPU, one rank.

    Returns:
        chainer.training.Trainer: ``run()`` it. It loads the newest
        snapshot in ``out`` first (``autoload``), so a killed run continues
        where its last snapshot left it.

    Raises:
        cagan.errors.DataError: the dataset is missing or unusable.
        cagan.errors.ConfigError: ``out`` holds a run of another config.
        cagan.errors.RunFolderInUseError: another training holds ``out``
            (:class:`cagan.run.RunLock`), before anything is read or
            written.
        cagan.errors.CaganError: ``processes`` this run cannot use.
    """
    device = chainer.get_device(device)
    cagan.precision.check(precision, device)
    # A folder another training holds stops this one at once (rank 0's
    # check is distributed.prepare's). Held from here to the end of run().
    lock = run.lock_if_exists(out) if comm is None else None
    try:
        return _make_trainer(config, out, device, progress, comm, precision,
                             processes, lock)
    except BaseException:
        if lock is not None:
            lock.release()
        raise


def _make_trainer(config, out, device, progress, comm, precision, processes,
                  lock):
    data, train = config['data'], config['train']
    supervised = train['mode'] == 'supervised'
    processes = check_processes(processes, config, device, comm, precision)
    seeds = child_seeds(train['seed'])
    if comm is not None:
        # Each rank: its own shard, triplets, orders and noise (same weights).
        seeds = distributed.rank_seeds(seeds, comm.rank)
    if supervised:
        examples = truth_examples(config, seeds['data'], comm)
    else:
        records = dataset.read_pairs_of(data['root'], 'train')
        if comm is not None:
            records = distributed.shard(records, comm.rank, comm.size)
        examples = distributed.agree(comm, dataset.TripletDataset, records,
                                     data['size'], seed=seeds['data'],
                                     flip=data['flip'],
                                     worn_dropout=data['worn_dropout'])
    preview = preview_batch(config, seeds['preview'])
    swaps = config['evaluate']['swaps']
    if swaps:
        found = truth_file(data['root'], 'val')
        truth = (read_truth(found, data['size'], swaps)
                 if found else None)
        held_out = held_out_triplets(data['root'], data['size'],
                                     seeds['preview'], swaps)
    with cagan.precision.building(precision):
        gen = run.make_generator(config, seeds['gen'])
        dis = (None if supervised else
               run.make_discriminator(config, seeds['dis']))
    if comm is not None and dis is not None:
        dis.seed_noise(seeds['noise'])
    # Only now, with data and networks known to work, is anything written.
    if comm is None:
        run.prepare(config, out, lock)
        distributed.check_ranks(out, None)
    else:
        lock = distributed.prepare(comm, config, out)

    iterator = dataset.make_iterator(examples, train['batch'],
                                     seed=seeds['order'],
                                     n_processes=data['loaders'])
    # Schedules in epochs become iterations of this rank's data.
    per_epoch = len(examples) / train['batch']
    updater = make_step(config, gen, dis, iterator, device, precision, comm,
                        processes)
    gen_ema = updater.gen_ema
    # What previews, scores and the saved generators show.
    shown = gen if gen_ema is None else gen_ema
    epochs = train['epochs']
    trainer = chainer.training.Trainer(updater, (epochs, 'epoch'),
                                       out=str(out))
    if lock is not None:
        trainer.extend(lock)  # let go when the run ends
    # Logs, plots, printing, scores, previews and weights: rank 0 only.
    if comm is None or comm.rank == 0:
        extend_root = trainer.extend
    else:
        def extend_root(*args, **kwargs):
            pass

    # At the last iteration too: else the final iterations and the last
    # epoch's scores never reach the log when the run's length is not a
    # multiple of log_every.
    log_every = EveryOrEnd(train['log_every'], epochs)
    ranks = None
    if comm is not None:
        info = distributed.describe(comm, config)
        # Every log entry says how many ranks made it, and at what batch.
        ranks = {k: info[k] for k in ('ranks', 'batch_per_rank',
                                      'effective_batch')}
    extend_root(extensions.LogReport(
        trigger=log_every, postprocess=ranks and (lambda e: e.update(ranks))))
    # Points every log_every iterations, drawn with the previews.
    preview_every = EveryOrEnd(config['preview']['every'], epochs)
    loss_keys = list(SUPERVISED_LOSS_KEYS if supervised else LOSS_KEYS)
    print_keys = list(SUPERVISED_PRINT_KEYS if supervised else PRINT_KEYS)
    if not supervised and config['loss']['gamma_match']:
        loss_keys.append(MATCH_KEY)
        print_keys.insert(print_keys.index('gen/alpha'), MATCH_KEY)
    extend_root(PlotReport(loss_keys, 'iteration', log_every,
                           filename='loss.png', draw_trigger=preview_every))
    extend_root(PlotReport(['gen/alpha'], 'iteration', log_every,
                           filename='alpha.png', draw_trigger=preview_every))
    extend_root(extensions.PrintReport(print_keys))
    if progress:
        extend_root(extensions.ProgressBar(update_interval=1))
    # The schedules (id warm-up, noise annealing, rate decay), every rank.
    for extension in schedules.extensions(config, updater, per_epoch):
        trainer.extend(extension)
    if swaps:
        extend_root(Evaluation(shown, truth, held_out, device,
                                config['evaluate']['keep_best']))
        extend_root(PlotReport(list(EVAL_KEYS), 'epoch', (1, 'epoch'),
                               filename='eval.png'))
    extend_root(Preview(shown, *preview, device=device),
                trigger=preview_every)
    extend_root(extensions.snapshot_object(shown, run.GEN_NAME),
                trigger=(1, 'epoch'))
    if dis is not None:
        extend_root(extensions.snapshot_object(dis, run.DIS_NAME),
                    trigger=(1, 'epoch'))
    # Snapshots run last (priority -100): they hold the state after every
    # other extension of the same iteration, the log's entry included.
    # Several ranks: one snapshot per rank, resumed at an iteration all have.
    snapshot = (extensions.snapshot(filename=run.SNAPSHOT_NAME, autoload=True,
                                    n_retains=train['keep_snapshots'])
                if comm is None else
                distributed.RankSnapshot(comm, out, train['keep_snapshots']))
    trainer.extend(snapshot,
                   trigger=EveryOrEnd(train['snapshot_every'], epochs))
    return trainer
