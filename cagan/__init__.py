"""cagan: Conditional Analogy GAN (Jetchev & Bergmann, 2017) in Chainer.

Dress the person of one photo (``x_i``, wearing article ``y_i``) in another
article ``y_j``: the generator repaints a region ``alpha`` of ``x_i`` and gives
``x_ij``. Images are float32 RGB in [0, 1], shape ``(B, 3, H, W)``.
"""

from cagan import _compat  # noqa: F401  (must run before chainer is imported)
from cagan.links import Discriminator, Generator, InstanceNormalization  # noqa: F401,E501

__version__ = '0.1.0'
