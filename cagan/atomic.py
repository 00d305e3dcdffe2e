"""Files written whole or not at all: readers, and a run restarted after a
kill, see the old file or the new one, never half of one. The one home of
the atomic writers (a config, a log, weights, images, pairs files)."""

import contextlib
import os


#: Prefix of temporary files; never a finished file.
TMP_PREFIX = '.tmp-'


def _temporary(path):
    """A new temporary file beside ``path``, with the same extension:
    ``(fd, tmp)``, its descriptor open for writing."""
    folder, name = os.path.split(os.path.abspath(path))
    suffix = os.path.splitext(name)[1]
    while True:
        tmp = os.path.join(folder, TMP_PREFIX + os.urandom(4).hex() + suffix)
        try:
            # O_EXCL: a file of our own, never another writer's (nor a
            # link); created with the usual mode (0666 less the umask).
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                         | os.O_CLOEXEC, 0o666)
        except FileExistsError:
            continue
        return fd, tmp


def atomic_path(path):
    """A temporary path beside ``path`` with the same extension.

    Write to it, then ``os.replace`` it onto ``path``: readers (and a run
    restarted after a kill) see the old file or the new one, never half.
    """
    fd, tmp = _temporary(path)
    os.close(fd)
    return tmp


@contextlib.contextmanager
def replacing(path):
    """Write a file atomically: ``with replacing(path) as tmp:`` write
    ``tmp`` (same extension); on success it is moved onto ``path``, on any
    error it is removed and ``path`` is left as it was."""
    tmp = atomic_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text_atomic(path, text):
    """Write ``text`` to ``path`` so that readers see the old or the new file,
    never half of one."""
    with replacing(path) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(text)


def write_bytes_atomic(path, data):
    """Write ``data`` (bytes-like) to ``path`` so that readers see the old
    or the new file, never half of one.

    Cheaper than :func:`replacing` (the synthetic set writes thousands of
    small images): written through the new file's descriptor, not opened
    again by name.
    """
    fd, tmp = _temporary(path)
    try:
        with open(fd, 'wb') as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
