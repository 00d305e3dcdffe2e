"""Using a trained generator: find and load it, dress people in articles.

A run's folder (what ``scripts/train.py`` writes) is a complete model: its
``config.yaml`` says how to build the generator, its ``gen_*.npz`` hold the
weights. :func:`load_generator` takes the folder or one weights file in it.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import chainer
import numpy
from chainer import backend

from cagan import config as config_module
from cagan.data import images
from cagan.data.neutral import neutral_article
from cagan.errors import ModelFileError
from cagan.serialization import load_npz

#: Where ``make demo`` trains; the default model of the command-line tools.
DEFAULT_MODEL = Path('results') / 'demo'
#: The best epoch's generator, kept by :class:`cagan.evaluation.Evaluation`.
BEST_NAME = 'gen_best.npz'


def find_weights(model):
    """The generator weights a ``--model`` argument means.

    A file is taken as it is. A run's folder gives its best generator
    (``gen_best.npz``, kept by the per-epoch evaluation) when it has one,
    else its newest ``gen_epoch_N.npz``.

    Raises:
        cagan.errors.ModelFileError: nothing usable there, in one line.
    """
    model = Path(model)
    if model.is_file():
        return model
    if not model.exists():
        hint = (' (run `make demo` first, or give --model)'
                if model == DEFAULT_MODEL else '')
        raise ModelFileError('{}: no such model folder or file{}'.format(
            model, hint))
    if (model / BEST_NAME).is_file():
        return model / BEST_NAME
    newest, newest_epoch = None, -1
    for name in os.listdir(model):
        stem = name[len('gen_epoch_'):-len('.npz')]
        if (name.startswith('gen_epoch_') and name.endswith('.npz') and
                stem.isdigit() and int(stem) > newest_epoch):
            newest, newest_epoch = model / name, int(stem)
    if newest is None:
        raise ModelFileError('{}: no generator weights (gen_best.npz or '
                             'gen_epoch_N.npz) in this folder; has its '
                             'training finished an epoch?'.format(model))
    return newest


def load_generator(model, device='@numpy'):
    """Build a generator from a run's config and load its weights.

    Args:
        model (str or pathlib.Path): a run's folder or a weights file in
            one (its folder must hold ``config.yaml``).
        device: a Chainer device or specifier.

    Returns:
        tuple: the :class:`~cagan.Generator` on ``device``, the resolved
        config (dict) and the weights' path.

    Raises:
        cagan.errors.ModelFileError: no weights, no config beside them, or
            weights that do not fit the config's generator.
        cagan.errors.ConfigError: an unreadable or invalid config.
    """
    from cagan.training import make_generator

    weights = find_weights(model)
    config_path = weights.parent / config_module.CONFIG_NAME
    if not config_path.is_file():
        raise ModelFileError('{}: no {} beside it, so the generator it was '
                             'trained as is unknown; keep a run\'s folder '
                             'together'.format(weights,
                                               config_module.CONFIG_NAME))
    config = config_module.load(config_path)
    gen = make_generator(config)
    load_npz(weights, gen)
    gen.to_device(chainer.get_device(device))
    return gen, config, weights


@dataclass
class Swap:
    """One swap, at the photo's size and in the network's frame.

    Attributes:
        result: uint8 ``(H0, W0, 3)``: the human photo wearing the article.
        alpha: float32 ``(H0, W0)`` in [0, 1]: the repainted region.
        frame: uint8 ``(h, w, 3)``: ``x_ij`` as the network made it.
    """

    result: numpy.ndarray
    alpha: numpy.ndarray
    frame: numpy.ndarray


def swap_photos(gen, human, articles, worn=None, device='@numpy'):
    """Dress the person of a photo in each of several articles.

    Every photo is fitted to the generator's input size (aspect ratio kept,
    see :func:`cagan.images.fit`); each result is mapped back onto the
    human photo at its full size, where only the repainted region changes.

    Args:
        gen (cagan.Generator): a trained generator.
        human: uint8 ``(H0, W0, 3)``: the photo of the person (x_i).
        articles (list): uint8 ``(H, W, 3)`` product photos (the y_j).
        worn: uint8 ``(H, W, 3)``, the article the person wears (y_i), or
            None for the neutral image of worn-article dropout.
        device: where ``gen`` lives.

    Returns:
        list of Swap: one per article.
    """
    size = gen.size
    device = chainer.get_device(device)
    frame, placement = images.fit(human, size)
    x_i = images.to_chw(frame)
    y_i = (images.to_chw(images.fit(worn, size)[0]) if worn is not None
           else neutral_article(size))
    y_j = numpy.stack([images.to_chw(images.fit(a, size)[0])
                       for a in articles])
    n = len(y_j)
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        x_ij, alpha = gen.swap(device.send(numpy.repeat(x_i[None], n, 0)),
                               device.send(numpy.repeat(y_i[None], n, 0)),
                               device.send(y_j))
    x_ij = backend.CpuDevice().send(x_ij.array)
    alpha = backend.CpuDevice().send(alpha.array)[:, 0]
    return [Swap(images.paste_back(human, x_ij[k], alpha[k], placement),
                 images.unfit_alpha(alpha[k], placement, human.shape),
                 images.to_hwc(x_ij[k]))
            for k in range(n)]
