"""Using a trained generator: swaps of arrays, and of photos at their size.

:func:`cagan.run.load_generator` loads one from a run's folder.
"""

from dataclasses import dataclass

import chainer
import numpy
from chainer import backend

from cagan.data import images
from cagan.data.neutral import neutral_article


def swap_arrays(gen, x_i, y_i, y_j, device='@numpy', batch=None):
    """``gen.swap`` in test mode, without a graph, back on the CPU.

    The one way the tools run a generator: evaluation, previews and photo
    swaps.

    Args:
        gen (cagan.Generator): the generator, on ``device``.
        x_i, y_i, y_j: float32 ``(N, 3, H, W)`` NumPy arrays in [0, 1].
        device: where ``gen`` lives.
        batch (int or None): swaps per forward pass (None: all at once).

    Returns:
        tuple: NumPy float32 ``x_ij`` ``(N, 3, H, W)`` in [0, 1] and
        ``alpha`` ``(N, H, W)`` in [0, 1].
    """
    device = chainer.get_device(device)
    cpu = backend.CpuDevice()
    batch = batch or max(len(x_i), 1)
    outs, alphas = [], []
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        for start in range(0, len(x_i), batch):
            part = slice(start, start + batch)
            x_ij, alpha = gen.swap(device.send(x_i[part]),
                                   device.send(y_i[part]),
                                   device.send(y_j[part]))
            outs.append(cpu.send(x_ij.array))
            alphas.append(cpu.send(alpha.array)[:, 0])
    return numpy.concatenate(outs), numpy.concatenate(alphas)


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
    see :func:`cagan.data.images.fit`); each result is mapped back onto the
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
    frame, placement = images.fit(human, size)
    x_i = images.to_chw(frame)
    y_i = (images.to_chw(images.fit(worn, size)[0]) if worn is not None
           else neutral_article(size))
    y_j = numpy.stack([images.to_chw(images.fit(a, size)[0])
                       for a in articles])
    n = len(y_j)
    x_ij, alpha = swap_arrays(gen, numpy.repeat(x_i[None], n, 0),
                              numpy.repeat(y_i[None], n, 0), y_j, device)
    return [Swap(images.paste_back(human, x_ij[k], alpha[k], placement),
                 images.unfit_alpha(alpha[k], placement, human.shape),
                 images.to_hwc(x_ij[k]))
            for k in range(n)]
