"""cagan: Conditional Analogy GAN (Jetchev & Bergmann, 2017) in Chainer.

Dress the person of one photo (``x_i``, wearing article ``y_i``) in another
article ``y_j``: the generator repaints a region ``alpha`` of ``x_i`` and gives
``x_ij``. Images are float32 RGB in [0, 1], shape ``(B, 3, H, W)``.

``cagan.Generator``, ``cagan.Discriminator`` and
``cagan.InstanceNormalization`` import Chainer on first use, so that the
parts that run an exported model (:mod:`cagan.serving.onnx_model`,
:mod:`cagan.serving.tryon`) work where Chainer is not installed.
"""

from cagan import _compat  # noqa: F401  (must run before chainer is imported)

__version__ = '0.1.0'
_LINKS = ('Discriminator', 'Generator', 'InstanceNormalization')


def __getattr__(name):
    if name in _LINKS:
        from cagan import links
        return getattr(links, name)
    raise AttributeError('module {!r} has no attribute {!r}'.format(
        __name__, name))


def __dir__():
    return sorted(list(globals()) + list(_LINKS))
