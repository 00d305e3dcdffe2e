"""What every command-line entry point shares: argument types, and how user
errors show (one line each, no traceback)."""

import argparse
import math
import os
import sys

from cagan.errors import CaganError
from cagan.sizes import parse_size


def run(main, argv=None):
    """Call ``main(argv)``; a :class:`~cagan.errors.CaganError` becomes its
    message on stderr (one line per problem) and exit status 1, never a
    traceback. Anything else is a bug and keeps its traceback.
    """
    try:
        status = main(argv)
    except CaganError as e:
        for line in str(e).splitlines() or [type(e).__name__]:
            print('error: ' + line, file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print('interrupted', file=sys.stderr)
        status = 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) left: stop quietly, as other tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 1
    sys.exit(status or 0)


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line (no usage block) and exit 2."""

    def error(self, message):
        self.exit(2, '{}: error: {}\n'.format(self.prog, message))


def at_least(low, kind=int):
    """An argparse type: a finite ``kind`` number no smaller than ``low``."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError('expected a {} number, got {!r}'.format(
                'whole' if kind is int else 'real', text)) from None
        if not math.isfinite(value) or value < low:
            raise argparse.ArgumentTypeError(
                'must be at least {}, got {!r}'.format(low, text))
        return value
    return parse


def count_or_auto(text):
    """An argparse type: a whole number >= 1, or ``'auto'``."""
    if text == 'auto':
        return text
    try:
        return at_least(1)(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            "expected a whole number >= 1 or auto, got {!r}".format(
                text)) from None


def size_arg(text):
    """:func:`cagan.sizes.parse_size` as an ``argparse`` type."""
    try:
        return parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def get_device(spec):
    """A Chainer device from ``--device`` text (``'@numpy'``, ``-1``,
    ``'@cupy:0'``, ``0``), or one line saying why it cannot be used.

    Raises:
        cagan.errors.CaganError: unknown specifier, or CuPy/the GPU missing.
    """
    import chainer  # here: importing cagan readies chainer first

    text = str(spec).strip()
    if text.lstrip('-').isdigit():
        text = int(text)
    try:
        device = chainer.get_device(text)
    except Exception as e:  # chainer raises several kinds for one mistake
        raise CaganError(
            "device {!r} cannot be used ({}); use '@numpy' (or -1) for the "
            "CPU, '@cupy:N' (or N) for GPU N".format(
                spec, str(e).splitlines()[0] if str(e) else
                type(e).__name__)) from None
    return device
