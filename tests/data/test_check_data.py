import pathlib
import subprocess
import sys

import pytest

from tests.data.helpers import ESCAPES, make_ours, with_escape

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / 'scripts' / 'check_data.py'


def check(*args):
    return subprocess.run([sys.executable, '-W', 'error', str(SCRIPT)]
                          + [str(a) for a in args],
                          capture_output=True, text=True)


def test_a_good_dataset_is_summarised(tmp_path):
    result = check(make_ours(tmp_path), '--size', '32x24')
    assert result.returncode == 0, result.stderr
    assert '6 pairs, 6 humans, 6 articles' in result.stdout
    assert result.stderr == ''


def test_each_split_is_checked(tmp_path):
    root = make_ours(tmp_path)
    make_ours(root / 'val', 3)
    result = check(root, '--size', '32x24', '--split', 'val')
    assert result.returncode == 0, result.stderr
    assert 'val split: 3 pairs' in result.stdout
    result = check(root, '--split', 'test')
    assert result.returncode == 1 and 'test/pairs.txt: no such pairs file' \
        in result.stderr
    assert check(root, '--split', 'dev').returncode == 2


def test_every_problem_gets_one_line_and_a_non_zero_exit(tmp_path):
    root = make_ours(tmp_path)
    (root / 'pairs.txt').write_text('h0.png a0.png\nh7.png a1.png\n'
                                    'h2.png a9.png\n')
    result = check(root)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and all(l.startswith('error: ') for l in lines)
    assert 'Traceback' not in result.stderr


def test_unreadable_images_and_bad_arguments(tmp_path):
    root = make_ours(tmp_path)
    (root / 'articles' / 'a3.png').write_bytes(b'\x89PNG broken')
    result = check(root)
    assert result.returncode == 1
    assert result.stderr.count('\n') == 1 and 'a3.png' in result.stderr
    result = check(root, '--size', 'big')
    assert result.returncode == 2 and 'a size is HxW' in result.stderr
    result = check(tmp_path / 'nowhere')
    assert result.returncode == 1 and 'no such dataset folder' in result.stderr


@pytest.mark.parametrize('how', sorted(ESCAPES))
def test_a_name_that_leaves_the_dataset_is_one_line(tmp_path, how):
    root, name = with_escape(tmp_path, how)
    result = check(root, '--size', '32x24')
    assert result.returncode == 1
    assert result.stdout == '' and 'Traceback' not in result.stderr
    line, = result.stderr.splitlines()
    assert line.startswith('error: {}:3: {!r} leaves humans/'.format(
        root / 'pairs.txt', name))


def test_images_over_the_pixel_limit_are_one_line_each(tmp_path,
                                                       monkeypatch):
    root = make_ours(tmp_path)
    monkeypatch.setenv('CAGAN_MAX_PIXELS', '1199')  # the images are 40x30
    result = check(root, '--size', '32x24')
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 12  # six humans, six articles
    assert all(l.startswith('error: ') and l.endswith(
        '40x30 pixels (1200) is over the limit of 1199 pixels; set '
        'CAGAN_MAX_PIXELS to a larger number to read it') for l in lines)
    monkeypatch.setenv('CAGAN_MAX_PIXELS', '1200')
    assert check(root, '--size', '32x24').returncode == 0
    monkeypatch.setenv('CAGAN_MAX_PIXELS', 'lots')
    result = check(root, '--size', '32x24')
    assert result.returncode == 1 and result.stderr == (
        "error: CAGAN_MAX_PIXELS must be a positive whole number of pixels "
        "(default 120000000), got 'lots'\n")
