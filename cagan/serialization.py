"""Loading weights files without the risks of ``chainer.serializers.load_npz``.

Chainer's loader always opens archives with pickling allowed, so an
untrusted ``.npz`` can run code. Weights and snapshots written by Chainer hold
no object arrays, so they load here with pickling off.
"""

import zipfile
import zlib

import chainer
import numpy
from chainer.serializers import NpzDeserializer

from cagan.errors import ModelFileError


def load_npz(path, obj, path_prefix='', strict=True):
    """Load an ``.npz`` written by ``chainer.serializers.save_npz`` into ``obj``.

    Works for files saved from the reference article's code: its parameter names are ours.

    Args:
        path (str or pathlib.Path): the ``.npz`` file.
        obj (~chainer.Link or object with ``serialize``): loaded in place.
        path_prefix (str): key prefix inside the archive, e.g.
            ``'updater/model:main/'`` to read one link from a trainer snapshot.
        strict (bool): every parameter of ``obj`` must be in the file.

    Raises:
        cagan.errors.ModelFileError: one line saying what is wrong with the
            file: missing, not a weights archive, holding pickled objects, or
            lacking or mis-shaping a parameter of ``obj``. These are found
            before anything is copied, so ``obj`` is then left unchanged.
    """
    def fail(reason):
        return ModelFileError('cannot load weights from {}: {}'.format(
            path, reason))

    try:
        file = open(path, 'rb')
    except FileNotFoundError:
        raise fail('no such file') from None
    except IsADirectoryError:
        raise fail('it is a directory, not an .npz file') from None
    except OSError as e:
        raise fail(e.strerror or type(e).__name__) from None
    # Our own handle: numpy leaks its own when an archive is truncated.
    with file:
        try:
            npz = numpy.load(file, allow_pickle=False)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):
            # numpy.load reads anything that is not .npy/.npz as a pickle.
            raise fail('not an .npz weights file (neither a zip archive of '
                       'arrays nor readable)') from None
        if not isinstance(npz, numpy.lib.npyio.NpzFile):
            raise fail('it holds one array, not an .npz archive of weights')
        with npz:
            _deserialize(npz, obj, path_prefix, strict, fail)


class _ShapeRecorder(chainer.serializer.Serializer):
    """Walks ``obj`` like a serializer and notes each key's shape, copying nothing."""

    def __init__(self, shapes, path=''):
        self.shapes = shapes
        self.path = path

    def __getitem__(self, key):
        return _ShapeRecorder(self.shapes, self.path + key.strip('/') + '/')

    def __call__(self, key, value):
        self.shapes[self.path + key.lstrip('/')] = getattr(value, 'shape', ())
        return value


def _stored_header(npz, key):
    """(shape, dtype) of one archived array, read from its header only."""
    with npz.zip.open(key + '.npy') as f:
        version = numpy.lib.format.read_magic(f)
        read = (numpy.lib.format.read_array_header_1_0 if version == (1, 0)
                else numpy.lib.format.read_array_header_2_0)
        shape, _, dtype = read(f)
    return shape, dtype


def _read(npz, obj, path_prefix, strict, fail):
    """The arrays ``obj`` needs, checked against it before anything is copied."""
    expected = {}
    obj.serialize(_ShapeRecorder(expected))
    stored = set(npz.files)
    missing = sorted(k for k in expected if path_prefix + k not in stored)
    if strict and missing:
        raise fail('it lacks {!r}{}: it was saved from another network '
                   '(another head, layer names or path prefix)'.format(
                       missing[0], ' and {} more keys'.format(len(missing) - 1)
                       if len(missing) > 1 else ''))
    keys = sorted(path_prefix + k for k in set(expected) - set(missing))
    for key in keys:
        shape, dtype = _stored_header(npz, key)
        need = expected[key[len(path_prefix):]]
        if dtype.hasobject:
            raise fail('{!r} holds pickled objects, which are never loaded '
                       '(they can run code)'.format(key))
        if need is not None and shape != tuple(need):
            raise fail('{!r} has shape {}, the model needs {}: the file was '
                       'saved from a network of another width or image size'
                       .format(key, shape, tuple(need)))
    # Decompress everything first: a damaged archive leaves obj untouched.
    return {key: npz[key] for key in keys}


def _deserialize(npz, obj, path_prefix, strict, fail):
    try:
        arrays = _read(npz, obj, path_prefix, strict, fail)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error):
        raise fail('the archive is damaged (truncated or corrupt)') from None
    NpzDeserializer(arrays, path=path_prefix, strict=strict).load(obj)
