"""Using a trained generator: swaps of arrays, and of photos at their size.

:func:`cagan.run.load_generator` loads one from a run's folder.
"""

import functools

import chainer
import numpy
from chainer import backend

from cagan.serving import tryon


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


def swap_photos(gen, human, articles, worn=None, device='@numpy'):
    """Dress the person of a photo in each of several articles, with a
    Chainer generator: :func:`cagan.serving.tryon.dress` with ``gen`` on ``device``.

    Args:
        gen (cagan.Generator): a trained generator.
        human: uint8 ``(H0, W0, 3)``: the photo of the person (x_i).
        articles (list): uint8 ``(H, W, 3)`` product photos (the y_j).
        worn: uint8 ``(H, W, 3)``, the article the person wears (y_i), or
            None for the neutral image of worn-article dropout.
        device: where ``gen`` lives.

    Returns:
        list of cagan.serving.tryon.Swap: one per article.
    """
    swap = functools.partial(swap_arrays, gen, device=device)
    return tryon.dress(swap, gen.size, human, articles, worn)
