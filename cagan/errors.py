"""Errors caused by what a user gave us, with messages written for them.

Command-line entry points print such an error as one line and exit non-zero;
any other exception is a bug and keeps its traceback.
"""


class CaganError(Exception):
    """A problem with the user's input (a size, a file, a config value)."""


class SizeError(CaganError, ValueError):
    """An image size or network width that the networks cannot take."""


class ModelFileError(CaganError):
    """A weights file that is missing, unreadable or does not fit the model."""


class NonFiniteLossError(CaganError):
    """A loss became NaN or infinite; raised before the update that would use it."""


class DataError(CaganError):
    """Problems with a dataset on disk, one line each, found before training.

    Attributes:
        problems (list of str): one message per problem.
    """

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__('\n'.join(self.problems))


class ImageError(CaganError):
    """An image file that is missing, not an image, or unusable."""


class PixelLimitError(ImageError):
    """An image with more pixels than cagan decodes (``CAGAN_MAX_PIXELS``,
    see :func:`cagan.data.images.max_pixels`), refused from its header: maybe a
    decompression bomb, maybe a real photo that needs a higher limit."""


class ConfigError(CaganError):
    """A config file that is missing, not YAML, or has an unknown key or a
    value of the wrong type."""


class RunFolderInUseError(CaganError):
    """A run folder that another training is writing to (it holds the
    folder's lock, :class:`cagan.run.RunLock`)."""
