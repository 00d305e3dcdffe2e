"""Dressing a photo: fitting the photos to a model, running it, and
pasting the result back at the photo's size.

Any model will do that maps ``(x_i, y_i, y_j)`` to ``(x_ij, alpha)``: a
Chainer generator (:func:`cagan.inference.swap_photos`) or an exported one
(:class:`cagan.serving.onnx_model.OnnxGenerator`). Nothing here imports Chainer.
"""

from dataclasses import dataclass

import numpy

from cagan.data import images
from cagan.data.neutral import neutral_article


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


def dress(swap, size, human, articles, worn=None):
    """Dress the person of a photo in each of several articles.

    Every photo is fitted to the model's input size (aspect ratio kept, see
    :func:`cagan.data.images.fit`); each result is mapped back onto the
    human photo at its full size, where only the repainted region changes.

    Args:
        swap: called as ``swap(x_i, y_i, y_j)`` with float32 ``(N, 3, h,
            w)`` arrays in [0, 1]; returns ``x_ij`` ``(N, 3, h, w)`` and
            ``alpha`` ``(N, h, w)``, float32 in [0, 1].
        size (tuple): ``(h, w)``, the model's input size.
        human: uint8 ``(H0, W0, 3)``: the photo of the person (x_i).
        articles (list): uint8 ``(H, W, 3)`` product photos (the y_j).
        worn: uint8 ``(H, W, 3)``, the article the person wears (y_i), or
            None for the neutral image of worn-article dropout.

    Returns:
        list of Swap: one per article.
    """
    frame, placement = images.fit(human, size)
    x_i = images.to_chw(frame)
    y_i = (images.to_chw(images.fit(worn, size)[0]) if worn is not None
           else neutral_article(size))
    y_j = numpy.stack([images.to_chw(images.fit(a, size)[0])
                       for a in articles])
    n = len(y_j)
    x_ij, alpha = swap(numpy.repeat(x_i[None], n, 0),
                       numpy.repeat(y_i[None], n, 0), y_j)
    return [Swap(images.paste_back(human, x_ij[k], alpha[k], placement),
                 images.unfit_alpha(alpha[k], placement, human.shape),
                 images.to_hwc(x_ij[k]))
            for k in range(n)]

