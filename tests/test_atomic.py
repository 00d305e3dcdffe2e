"""cagan.atomic: files written whole or not at all."""

import os

import pytest

from cagan import atomic


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / 'pairs.txt'
    target.write_text('old\n')

    with pytest.raises(TypeError):  # fails after the temporary file exists
        atomic.write_text_atomic(target, 12345)
    assert target.read_text() == 'old\n'
    assert os.listdir(tmp_path) == ['pairs.txt']


def test_atomic_bytes_replace_the_file_or_leave_it(tmp_path):
    target = tmp_path / 'a.png'
    atomic.write_bytes_atomic(target, b'new')
    atomic.write_bytes_atomic(target, memoryview(b'newer'))
    assert target.read_bytes() == b'newer'
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    with pytest.raises(TypeError):  # fails after the temporary file exists
        atomic.write_bytes_atomic(target, 'text, not bytes')
    assert target.read_bytes() == b'newer'
    assert os.listdir(tmp_path) == ['a.png']
