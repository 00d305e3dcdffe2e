"""From a resolved config to a running Trainer.

``config -> dataset -> iterator -> updater -> trainer -> extensions``: this
module wires the pieces; ``scripts/train.py`` only parses the command line.
One seed (``train.seed``) reaches everything: the networks' initial weights,
the discriminator's noise, the triplets, the epoch orders and the preview's
choice of people and articles, each from its own child of the seed, so two
CPU runs of one config end with the same weights.
"""

import os
from pathlib import Path

import chainer
import numpy
from chainer.training import extensions

import cagan
from cagan import config as config_module
from cagan import dataset, images
from cagan.errors import ConfigError, DataError
from cagan.extensions import EveryOrEnd, PlotReport, remove_partial
from cagan.optimizers import linear_decay, make_adam
from cagan.updater import CAGANUpdater
from cagan.visualize import Preview

#: The trainer's snapshots, in order of iteration.
SNAPSHOT_NAME = 'snapshot_iter_{.updater.iteration}'
#: The generator's and discriminator's weights, each epoch.
GEN_NAME = 'gen_epoch_{.updater.epoch}.npz'
DIS_NAME = 'dis_epoch_{.updater.epoch}.npz'

LOSS_KEYS = ('gen/loss_adv', 'gen/loss_cyc', 'gen/loss_id', 'dis/loss')
PRINT_KEYS = ('epoch', 'iteration', 'gen/loss', 'gen/loss_adv',
              'gen/loss_cyc', 'gen/loss_id', 'gen/alpha', 'dis/loss',
              'elapsed_time')


def child_seeds(seed):
    """Independent seeds for each consumer of randomness, from one seed."""
    names = ('gen', 'dis', 'data', 'order', 'preview')
    states = numpy.random.SeedSequence(seed).generate_state(len(names))
    return dict(zip(names, (int(s) for s in states)))


def make_generator(config, seed=None):
    """The generator a resolved config describes (weights from ``seed``)."""
    return cagan.Generator(ch=config['model']['ch'],
                           size=config['data']['size'],
                           wscale=config['model']['wscale'], seed=seed)


def make_discriminator(config, seed=None):
    """The discriminator a resolved config describes."""
    model = config['model']
    return cagan.Discriminator(
        ch=model['ch'], size=config['data']['size'], head=model['head'],
        noise_sigma=model['noise_sigma'], wscale=model['wscale'], seed=seed)


def prepare_out(config, out):
    """Make ``out`` for ``config``, or check it holds a run of the same one.

    Writes ``out/config.yaml`` (the resolved config) for a new run; for an
    existing one, clears what a killed run left half-written.

    Raises:
        cagan.errors.ConfigError: ``out`` holds a run of another config.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError('{}: exists and is not a folder; choose another '
                          '--out'.format(out))
    out.mkdir(parents=True, exist_ok=True)
    saved = out / config_module.CONFIG_NAME
    if saved.is_file():
        previous = config_module.load(saved)
        if previous != config:
            changed = sorted('{}.{}'.format(s, k) for s in config
                             for k in config[s]
                             if previous[s][k] != config[s][k])
            raise ConfigError(
                '{} holds a run of another config (differs in {}): give '
                'another --out, or delete that folder to start over'.format(
                    out, ', '.join(changed)))
    else:
        config_module.save(config, out)
    remove_partial(str(out))


def preview_batch(config, seed):
    """A fixed batch for previews: humans with their articles, and articles.

    Taken from the dataset's test split when it has one (held out), else
    from the training pairs; ``preview.humans`` humans and
    ``preview.articles`` articles of other pairs, chosen by a local RNG.

    Returns:
        tuple: float32 ``x_i``, ``y_i`` ``(N, 3, H, W)`` and ``y_j``
        ``(M, 3, H, W)``.
    """
    root, size = config['data']['root'], config['data']['size']
    try:
        records = dataset.read_pairs_of(root, 'test')
    except DataError:
        records = dataset.read_pairs_of(root, 'train')
    n, m = config['preview']['humans'], config['preview']['articles']
    rng = numpy.random.default_rng(seed)
    order = rng.permutation(len(records))
    humans = [records[k] for k in order[:n]]
    worn = {r.group for r in humans}
    others = [records[k] for k in order[n:] if records[k].group not in worn]
    articles = (others or [records[k] for k in order])[:m]

    def load(paths):
        return numpy.stack([images.to_chw(images.fit(images.load_rgb(p),
                                                     size)[0])
                            for p in paths])

    return (load([r.human for r in humans]), load([r.article for r in humans]),
            load([r.article for r in articles]))


def make_trainer(config, out, device='@numpy', progress=False):
    """A Trainer for a resolved config, resuming from ``out`` if it can.

    Args:
        config (dict): a resolved config (:func:`cagan.config.load`).
        out (str or pathlib.Path): the run's folder: the resolved config,
            ``log``, ``loss.png``, ``alpha.png``, ``snapshot_iter_*``,
            ``gen_epoch_*.npz``, ``dis_epoch_*.npz``, ``preview/``.
        device: a Chainer device specifier (``'@numpy'``, ``'@cupy:0'``,
            ``0``, ``-1``).
        progress (bool): show a progress bar.

    Returns:
        chainer.training.Trainer: ``run()`` it. It loads the newest
        snapshot in ``out`` first (``autoload``), so a killed run continues
        where its last snapshot left it.

    Raises:
        cagan.errors.DataError: the dataset is missing or unusable.
        cagan.errors.ConfigError: ``out`` holds a run of another config.
    """
    device = chainer.get_device(device)
    data, train = config['data'], config['train']
    seeds = child_seeds(train['seed'])
    records = dataset.read_pairs_of(data['root'], 'train')
    triplets = dataset.TripletDataset(records, data['size'],
                                      seed=seeds['data'], flip=data['flip'],
                                      worn_dropout=data['worn_dropout'])
    preview = preview_batch(config, seeds['preview'])
    gen = make_generator(config, seeds['gen'])
    dis = make_discriminator(config, seeds['dis'])
    # Only now, with data and networks known to work, is anything written.
    prepare_out(config, out)

    device.use()
    gen.to_device(device)
    dis.to_device(device)
    opt = config['optimizer']
    optimizers = {name: make_adam(link, opt['alpha'], opt['beta1'],
                                  opt['beta2'])
                  for name, link in (('gen', gen), ('dis', dis))}
    iterator = dataset.make_iterator(triplets, train['batch'],
                                     seed=seeds['order'],
                                     n_processes=data['loaders'])
    loss = config['loss']
    updater = CAGANUpdater(iterator, optimizers, device=device,
                           gamma_adv=loss['gamma_adv'],
                           gamma_cyc=loss['gamma_cyc'],
                           gamma_id=loss['gamma_id'])
    epochs = train['epochs']
    trainer = chainer.training.Trainer(updater, (epochs, 'epoch'),
                                       out=str(out))

    log_every = (train['log_every'], 'iteration')
    trainer.extend(extensions.LogReport(trigger=log_every))
    trainer.extend(PlotReport(list(LOSS_KEYS), 'iteration', log_every,
                              filename='loss.png'))
    trainer.extend(PlotReport(['gen/alpha'], 'iteration', log_every,
                              filename='alpha.png'))
    trainer.extend(extensions.PrintReport(list(PRINT_KEYS)))
    if progress:
        trainer.extend(extensions.ProgressBar(update_interval=1))
    if opt['decay_from'] is not None and opt['decay_from'] < epochs:
        per_epoch = len(triplets) / train['batch']
        for optimizer in optimizers.values():
            trainer.extend(linear_decay(optimizer,
                                        round(opt['decay_from'] * per_epoch),
                                        round(epochs * per_epoch)))
    trainer.extend(Preview(gen, *preview, device=device),
                   trigger=EveryOrEnd(config['preview']['every'], epochs))
    trainer.extend(extensions.snapshot_object(gen, GEN_NAME),
                   trigger=(1, 'epoch'))
    trainer.extend(extensions.snapshot_object(dis, DIS_NAME),
                   trigger=(1, 'epoch'))
    # Snapshots run last (priority -100): they hold the state after every
    # other extension of the same iteration, the log's entry included.
    trainer.extend(extensions.snapshot(filename=SNAPSHOT_NAME, autoload=True,
                                       n_retains=train['keep_snapshots']),
                   trigger=EveryOrEnd(train['snapshot_every'], epochs))
    return trainer


def newest_weights(folder, kind='gen'):
    """The newest ``gen_epoch_N.npz`` (or ``dis_...``) in a run's folder.

    Returns:
        pathlib.Path or None.
    """
    best, best_epoch = None, -1
    prefix = kind + '_epoch_'
    for name in os.listdir(folder):
        if name.startswith(prefix) and name.endswith('.npz'):
            number = name[len(prefix):-len('.npz')]
            if number.isdigit() and int(number) > best_epoch:
                best, best_epoch = Path(folder) / name, int(number)
    return best
