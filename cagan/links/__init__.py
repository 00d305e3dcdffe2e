"""The networks: CAGAN's generator and discriminator, and their layers."""

from cagan.links.connection import (  # noqa: F401
    Convolution2D, Deconvolution2D, ResizeConvolution2D)
from cagan.links.discriminator import Discriminator  # noqa: F401
from cagan.links.generator import Generator  # noqa: F401
from cagan.links.instance_normalization import InstanceNormalization  # noqa: F401
