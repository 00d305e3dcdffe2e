"""The curation (cagan/data/curation/curating.py) and scripts/curate.py, on
tiny images made here (tests/data/curation_images.py)."""

import io
import json
import os
import subprocess
import sys

import numpy
import pytest
from PIL import Image

from cagan import sizes
from cagan.data import curation
from cagan.data.curation import sheets
from cagan.data.layout import read_pairs
from cagan.errors import CaganError, DataError
from tests.data.curation_images import (BLACK, BLUE, GREEN, ORANGE, PURPLE, RED,
                                        TEAL, YELLOW, article, brighter, human,
                                        png_bytes, rejpeg)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
SCRIPT = os.path.join(ROOT, 'scripts', 'curate.py')


def snapshot(folder):
    """{relative path: (bytes, mtime_ns)} of every file under folder."""
    out = {}
    for root, _, files in os.walk(folder):
        for f in files:
            p = os.path.join(root, f)
            with open(p, 'rb') as fh:
                out[os.path.relpath(p, folder)] = (fh.read(), os.stat(p).st_mtime_ns)
    return out


# --------------------------------------------------------------- the set

# (line, human, article, flags, expected reason kinds or None if kept)
PAIRS = [
    ('h00.png', 'a00.png', '', None),
    ('h01.png', 'a01.png', '', None),                      # same cut as a00, blue
    ('h02.png', 'a02.png', '', None),
    ('h03.png', 'a03.png', 'bottoms_only', ['bottoms_only']),
    ('h04.png', 'a00.png', '', None),                      # same product, other model
    ('h05.png', 'a05.png', 'dup_of=a00.png', ['duplicate_article']),   # exact copy
    ('h06.png', 'a06.png', 'dup_of=a00.png', ['duplicate_article']),   # shifted, rescaled
    ('h07.png', 'a07.png', 'dup_of=a02.png', ['duplicate_article']),   # 10% brighter
    ('h08.png', 'a08.jpg', 'dup_of=a02.png', ['duplicate_article']),   # JPEG
    ('h09.png', 'a04.png', 'back_view', ['back_view']),
    ('h10.png', 'a09.png', 'extra_garment,back_view', ['back_view', 'extra_garment']),
    ('h11.png', 'a_corrupt.png', '', ['bad_article']),
    ('h12.png', 'a_trunc.png', '', ['bad_article']),
    ('h13.png', 'a_small.png', '', ['bad_article']),
    ('h14.png', 'a_gray.png', '', ['bad_article']),
    ('h15.png', 'a_missing.png', '', ['bad_article']),
    ('h_trunc.jpg', 'a10.png', '', ['bad_human']),
    ('h17.png', 'a11.png', '', None),
    ('h18.jpg', 'a12.png', '', ['duplicate_human']),       # h01 re-encoded
    ('h00.png', 'a00.png', '', ['repeated_pair']),
    ('h20.png', 'a13.png', 'back_view', ['back_view']),
    ('h21.png', 'a14.png', 'dup_of=a13.png', None),        # its original's pair is dropped
    ('h22.png', 'a15.png', '', None),                      # a00 with stripes
    ('h23.png', 'a16.png', '', None),                      # a00 in orange
]
KEPT_LINES = [i + 2 for i, p in enumerate(PAIRS) if p[3] is None]


def make_dataset(root):
    """Write the test set to ``root`` (humans/, articles/, pairs.txt, test/)."""
    hum, art = os.path.join(root, 'humans'), os.path.join(root, 'articles')
    os.makedirs(hum)
    os.makedirs(art)
    os.makedirs(os.path.join(root, 'test'))
    with open(os.path.join(root, 'test', 'pairs.txt'), 'w') as f:
        f.write('# held out, never touched\n')

    a00 = article(RED)
    a02 = article(GREEN, ('top', 'bottom'))
    arts = {
        'a00.png': a00, 'a01.png': article(BLUE), 'a02.png': a02,
        'a03.png': article(YELLOW, ('bottom',)), 'a04.png': article(PURPLE, ('halter',)),
        'a06.png': article(RED, size=(120, 100), shift=(4, -3)),
        'a07.png': brighter(a02, 1.1), 'a09.png': article(TEAL, ('top', 'bottom')),
        'a10.png': article(BLACK), 'a11.png': article(ORANGE, ('halter',)),
        'a12.png': article(BLUE, ('top', 'bottom')), 'a13.png': article(YELLOW, ('halter',)),
        'a14.png': rejpeg(brighter(article(YELLOW, ('halter',), shift=(-3, 2)), 0.92)),
        'a15.png': article(RED, stripes=(255, 255, 255)),
        'a16.png': article(ORANGE),
        'a_small.png': article(RED, size=(20, 40)),
        'unused.png': article(BLACK, ('top',)),
    }
    for name, im in arts.items():
        im.save(os.path.join(art, name))
    with open(os.path.join(art, 'a05.png'), 'wb') as f:
        f.write(png_bytes(a00))
    rejpeg(a02).save(os.path.join(art, 'a08.jpg'), quality=90)
    with open(os.path.join(art, 'a_corrupt.png'), 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + bytes(range(256)) * 4)
    with open(os.path.join(art, 'a_trunc.png'), 'wb') as f:
        data = png_bytes(Image.effect_noise((72, 72), 60).convert('RGB'))
        f.write(data[:len(data) // 2])
    article(RED).convert('L').save(os.path.join(art, 'a_gray.png'))

    # Humans: each its own background, skin and garment colour, so that no
    # two are alike except h18, which is h01 again as a JPEG.
    rng = numpy.random.default_rng(1)
    names = sorted({p[0] for p in PAIRS} - {'h_trunc.jpg', 'h18.jpg'})
    for name in names:
        bg = tuple(int(v) for v in rng.integers(60, 250, 3))
        skin = tuple(int(v) for v in rng.integers(90, 240, 3))
        suit = tuple(int(v) for v in rng.integers(0, 255, 3))
        human(bg, skin, suit, dx=int(rng.integers(-12, 13))).save(os.path.join(hum, name))
    with Image.open(os.path.join(hum, 'h01.png')) as h01:
        h01.convert('RGB').save(os.path.join(hum, 'h18.jpg'), quality=85)
    buf = io.BytesIO()
    Image.effect_noise((60, 80), 60).convert('RGB').save(buf, 'JPEG')
    with open(os.path.join(hum, 'h_trunc.jpg'), 'wb') as f:
        f.write(buf.getvalue()[:len(buf.getvalue()) // 2])
    with open(os.path.join(hum, 'notes.txt'), 'w') as f:
        f.write('not a pair\n')

    lines = ['# human article [flags]']
    lines += [' '.join(t for t in p[:3] if t) for p in PAIRS]
    with open(os.path.join(root, 'pairs.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    """(src, out, snapshot of src before, Curation, completed process)."""
    base = tmp_path_factory.mktemp('curation')
    src, out = str(base / 'src'), str(base / 'out')
    make_dataset(src)
    before = snapshot(src)
    proc = run_script(src, '--out', out)
    return src, out, before, curation.curate(src), proc


def run_script(*args):
    return subprocess.run([sys.executable, SCRIPT] + [str(a) for a in args],
                          capture_output=True, text=True, timeout=60)


# ---------------------------------------------------------- checking files

@pytest.mark.parametrize('mode, fmt, ok', [
    ('RGB', 'PNG', True), ('RGBA', 'PNG', True), ('P', 'PNG', True),
    ('CMYK', 'JPEG', True), ('YCbCr', 'TIFF', True),
    ('1', 'PNG', False), ('L', 'PNG', False), ('LA', 'PNG', False),
    ('I;16', 'PNG', False), ('I', 'TIFF', False), ('F', 'TIFF', False),
])
def test_check_image_modes(tmp_path, mode, fmt, ok):
    path = str(tmp_path / ('x.' + fmt.lower()))
    Image.new(mode, (40, 40)).save(path, fmt)
    check = curation.check_image(path)
    assert (check.reason is None) == ok, check.reason
    if not ok:
        assert check.reason == 'not a colour image (mode {})'.format(mode)


def test_check_image_size_and_damage(tmp_path):
    path = str(tmp_path / 'a.png')
    article(RED, size=(40, 64)).save(path)
    assert curation.check_image(path, (32, 32)).reason is None
    assert curation.check_image(path, (48, 32)).reason == 'too small (40x64 < 48x32)'
    assert curation.check_image(str(tmp_path / 'nope.png')).reason == 'missing'
    assert curation.check_image(str(tmp_path)).reason == 'not a regular file'


def test_parse_size():
    assert sizes.parse_size('32x48') == (32, 48)
    assert sizes.parse_size('256X256') == (256, 256)
    for bad in ('32', '0x4', 'axb', '3x4x5', '-3x4', '128x', 'x96'):
        with pytest.raises(ValueError):
            sizes.parse_size(bad)


# -------------------------------------------------------- the whole thing

def test_the_right_pairs_are_dropped_for_the_right_reasons(built):
    _, _, _, cur, _ = built
    assert [p.line for p in cur.kept] == KEPT_LINES
    got = {p.line: [r.kind for r in reasons] for p, reasons in cur.dropped}
    want = {i + 2: p[3] for i, p in enumerate(PAIRS) if p[3] is not None}
    assert got == want
    bad = cur.bad_files
    assert bad[('articles', 'a_missing.png')] == 'missing'
    assert bad[('articles', 'a_corrupt.png')] == 'not an image Pillow can read'
    assert 'truncated' in bad[('articles', 'a_trunc.png')]
    assert 'truncated' in bad[('humans', 'h_trunc.jpg')]
    assert bad[('articles', 'a_small.png')] == 'too small (20x40 < 32x32)'
    assert bad[('articles', 'a_gray.png')] == 'not a colour image (mode L)'
    assert len(bad) == 6
    assert cur.unused_files == [('humans', 'notes.txt'), ('articles', 'unused.png')]
    assert cur.duplicates['articles']['groups'] == [
        ['a00.png', 'a05.png', 'a06.png'], ['a02.png', 'a07.png', 'a08.jpg'],
        ['a13.png', 'a14.png']]
    assert cur.duplicates['humans']['groups'] == [['h01.png', 'h18.jpg']]
    planted = cur.planted
    assert planted['planted'] == 5 and len(planted['found']) == 5
    assert planted['missed'] == [] and planted['extra'] == []
    # a14 duplicates a13, whose only pair is a back view: it is kept.
    assert planted['kept'] == [{'line': 23, 'file': 'a14.png', 'dup_of': 'a13.png'}]


def test_the_output_is_a_complete_dataset(built):
    src, out, _, cur, proc = built
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ''
    assert 'kept {} of {} pairs'.format(len(KEPT_LINES), len(PAIRS)) in proc.stdout
    assert '5 planted, 5 found, 0 missed, 0 extra' in proc.stdout
    pairs = read_pairs(os.path.join(out, 'pairs.txt'))
    assert [(p.human, p.article) for p in pairs] == [(p.human, p.article) for p in cur.kept]
    assert all(not p.flags and p.dup_of is None for p in pairs)
    assert sorted(os.listdir(os.path.join(out, 'humans'))) == sorted({p.human for p in pairs})
    assert (sorted(os.listdir(os.path.join(out, 'articles')))
            == sorted({p.article for p in pairs}))
    assert sorted(os.listdir(out)) == ['articles', 'contact_sheet.png', 'dropped_sheet.png',
                                       'humans', 'pairs.txt', 'report.json', 'report.txt', 'test']
    # Same filesystem: hard links to the source's files.
    a = os.stat(os.path.join(out, 'articles', 'a00.png'))
    assert a.st_ino == os.stat(os.path.join(src, 'articles', 'a00.png')).st_ino
    with open(os.path.join(out, 'report.json')) as f:
        report = json.load(f)
    assert report['counts']['kept'] == len(KEPT_LINES)
    assert {d['line']: [r['kind'] for r in d['reasons']] for d in report['dropped']} == {
        p.line: [r.kind for r in reasons] for p, reasons in cur.dropped}
    assert sum(report['counts']['dropped_by_reason'].values()) == len(cur.dropped)
    with open(os.path.join(out, 'report.txt')) as f:
        text = f.read()
    for p, reasons in cur.dropped:
        assert 'line {}: {} {}: {}'.format(p.line, p.human, p.article, reasons[0]) in text
    for (folder, name), reason in cur.bad_files.items():
        assert '{}/{}: {}'.format(folder, name, reason) in text
    assert 'articles/unused.png' in text and 'humans/notes.txt' in text
    assert 'kept: line 23 a14.png (dup_of a13.png)' in text
    assert 'are hard links' in text and "test/ split is carried over" in text
    for folder, _, names in os.walk(os.path.join(src, 'test')):
        for name in names:
            with open(os.path.join(folder, name), 'rb') as a, open(os.path.join(
                    out, os.path.relpath(folder, src), name), 'rb') as b:
                assert a.read() == b.read()
    modes = {os.stat(os.path.join(out, f)).st_mode & 0o777 for f in os.listdir(out)
             if not os.path.isdir(os.path.join(out, f))}
    assert len(modes) == 1  # text files are not left private
    for sheet in ('contact_sheet.png', 'dropped_sheet.png'):
        with Image.open(os.path.join(out, sheet)) as im:
            assert im.mode == 'RGB' and im.width > 200 and im.height > 100


def test_the_source_is_untouched(built):
    src, _, before, _, _ = built
    assert snapshot(src) == before


def test_a_non_empty_output_is_refused_without_force(built, tmp_path):
    src, _, before, _, _ = built
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'keep.txt').write_text('mine')
    proc = run_script(src, '--out', out)
    assert proc.returncode == 1
    assert proc.stderr.count('\n') == 1 and '--force' in proc.stderr
    assert os.listdir(out) == ['keep.txt']
    proc = run_script(src, '--out', out, '--force')
    assert proc.returncode == 0, proc.stderr
    assert not (out / 'keep.txt').exists() and (out / 'pairs.txt').exists()
    # Rebuilding over hard links leaves the source as it was.
    proc = run_script(src, '--out', out, '--force')
    assert proc.returncode == 0, proc.stderr
    assert snapshot(src) == before


def test_the_output_may_not_be_the_source_or_inside_it(built):
    src, _, before, _, _ = built
    for where in ('src', 'src/humans', 'src/new', 'src/../src/x'):
        out = os.path.join(os.path.dirname(src), where)
        with pytest.raises(CaganError, match='must not be the source'):
            curation.check_output(src, out, force=True)
    proc = run_script(src, '--out', src, '--force')
    assert proc.returncode == 1 and proc.stderr.count('\n') == 1
    assert 'must not be the source' in proc.stderr
    assert snapshot(src) == before


def test_the_output_may_not_hold_the_source(built):
    src, _, _, _, _ = built
    with pytest.raises(CaganError, match='would delete it'):
        curation.check_output(src, os.path.dirname(src), force=True)


def test_copies_where_hard_links_fail(built, tmp_path, monkeypatch):
    src, _, before, cur, _ = built

    def no_links(*args, **kwargs):
        raise OSError(18, 'Invalid cross-device link')

    monkeypatch.setattr(os, 'link', no_links)
    (tmp_path / 'out').mkdir()  # an empty folder is fine without force
    result = curation.write_curated(cur, tmp_path / 'out')
    assert result['linked'] == 0 and result['copied'] > 0
    copy = tmp_path / 'out' / 'articles' / 'a00.png'
    assert copy.read_bytes() == before[os.path.join('articles', 'a00.png')][0]
    assert os.stat(copy).st_ino != os.stat(os.path.join(src, 'articles', 'a00.png')).st_ino
    assert not [f for f in os.listdir(tmp_path) if f != 'out']  # no temporary folders left


def test_every_pair_dropped_writes_nothing(tmp_path):
    src = tmp_path / 'src'
    (src / 'humans').mkdir(parents=True)
    (src / 'articles').mkdir()
    human((90, 90, 200), (200, 150, 120), RED).save(src / 'humans' / 'h.png')
    article(RED).save(src / 'articles' / 'a.png')
    (src / 'pairs.txt').write_text('h.png a.png back_view\nh.png b.png\n')
    with pytest.raises(DataError, match='every one of the 2 pairs was dropped'):
        curation.write_curated(curation.curate(src), tmp_path / 'out')
    proc = run_script(src, '--out', tmp_path / 'out')
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert proc.stderr.count('\n') == 1 and 'back_view 1' in proc.stderr
    assert not (tmp_path / 'out').exists()


@pytest.mark.parametrize('setup, message', [
    ('none', 'no such dataset folder'),
    ('no pairs', 'no such pairs file'),
    ('empty', 'no pairs in the file'),
    ('no humans', 'humans: no such folder'),
])
def test_data_errors_are_one_line_and_exit_1(tmp_path, setup, message):
    src = tmp_path / 'src'
    if setup != 'none':
        (src / 'articles').mkdir(parents=True)
        if setup != 'no humans':
            (src / 'humans').mkdir()
    if setup == 'empty':
        (src / 'pairs.txt').write_text('# human article\n\n')
    if setup == 'no humans':
        (src / 'pairs.txt').write_text('h.png a.png\n')
    proc = run_script(src, '--out', tmp_path / 'out')
    assert proc.returncode == 1
    assert proc.stderr.count('\n') == 1 and message in proc.stderr, proc.stderr
    assert 'Traceback' not in proc.stderr
    assert not (tmp_path / 'out').exists()


@pytest.mark.parametrize('args', [
    ['SRC'], ['SRC', '--out', 'o', '--min-size', '32'],
    ['SRC', '--out', 'o', '--colour-distance', '-1'],
])
def test_bad_arguments_exit_2(tmp_path, args):
    proc = run_script(*[str(tmp_path / 'src') if a == 'SRC' else a for a in args])
    assert proc.returncode == 2 and proc.stderr.count('\n') == 1
    assert proc.stderr.startswith('curate.py: error: ')


def test_min_size_option(built, tmp_path):
    src, _, _, _, _ = built
    cur = curation.curate(src, curation.Options(min_size=(100, 32)))
    # Articles are 96 px high: all but the 120-px-high a06 are now too small.
    kinds = {p.line: [r.kind for r in reasons] for p, reasons in cur.dropped}
    assert [p.article for p in cur.kept] == ['a06.png']
    assert kinds[2] == ['bad_article']


# ------------------------------------------ what stops curate (exit 1)

def small_source(root):
    """humans h0, h1 (110x70 = 7700 pixels); articles a0 (96x80 = 7680),
    a1 (120x100 = 12000) and a corrupt a2; three pairs."""
    (root / 'humans').mkdir(parents=True)
    (root / 'articles').mkdir()
    human((90, 90, 200), (200, 150, 120), RED).save(root / 'humans' / 'h0.png')
    human((200, 90, 90), (150, 120, 100), BLUE).save(root / 'humans' / 'h1.png')
    article(RED).save(root / 'articles' / 'a0.png')
    article(GREEN, ('halter',), size=(120, 100)).save(root / 'articles' / 'a1.png')
    (root / 'articles' / 'a2.png').write_bytes(b'\x89PNG\r\n\x1a\n' + bytes(64))
    (root / 'pairs.txt').write_text('h0.png a0.png\nh1.png a1.png\nh0.png a2.png\n')
    return root


@pytest.mark.parametrize('how', ['..', 'absolute', 'symlink'])
def test_a_name_that_leaves_the_dataset_stops_curate(tmp_path, how):
    from tests.data.helpers import ESCAPES

    src = small_source(tmp_path / 'src')
    name = ESCAPES[how](src, 'articles')
    (src / 'pairs.txt').write_text('h0.png a0.png\nh1.png a1.png\nh1.png {}\n'
                                   .format(name))
    with pytest.raises(DataError) as info:
        curation.curate(src)
    assert info.value.problems[0].startswith(
        '{}:3: {!r} leaves articles/'.format(src / 'pairs.txt', name))
    proc = run_script(src, '--out', tmp_path / 'out')
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert proc.stderr.splitlines() == ['error: ' + info.value.problems[0]]
    assert not (tmp_path / 'out').exists()
    # An output folder that exists is left as it was, even with --force.
    (tmp_path / 'old').mkdir()
    (tmp_path / 'old' / 'keep.txt').write_text('mine')
    before = snapshot(tmp_path / 'old')
    proc = run_script(src, '--out', tmp_path / 'old', '--force')
    assert proc.returncode == 1 and snapshot(tmp_path / 'old') == before
    assert sorted(os.listdir(tmp_path)) == ['old', 'secret.png', 'src']


def test_images_over_the_pixel_limit_stop_curate(tmp_path, monkeypatch):
    src = small_source(tmp_path / 'src')
    monkeypatch.setenv('CAGAN_MAX_PIXELS', '7690')
    proc = run_script(src, '--out', tmp_path / 'out')
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    hint = 'set CAGAN_MAX_PIXELS to a larger number to read it'
    assert proc.stderr.splitlines() == [
        'error: {}: {} is over the limit of 7690 pixels; {}'.format(
            os.path.join(str(src), folder, name), size, hint)
        for folder, name, size in (
            ('humans', 'h0.png', '110x70 pixels (7700)'),
            ('humans', 'h1.png', '110x70 pixels (7700)'),
            ('articles', 'a1.png', '120x100 pixels (12000)'))]
    assert not (tmp_path / 'out').exists()
    # Raised, it goes through; the corrupt file is dropped as ever.
    monkeypatch.setenv('CAGAN_MAX_PIXELS', '12000')
    proc = run_script(src, '--out', tmp_path / 'out')
    assert proc.returncode == 0, proc.stderr
    cur = curation.curate(src)
    assert [p.line for p in cur.kept] == [1, 2]
    assert cur.bad_files == {('articles', 'a2.png'): 'not an image Pillow can read'}


def test_check_image_never_decodes_an_image_over_the_limit(tmp_path, monkeypatch):
    from cagan.errors import PixelLimitError
    from tests.data.helpers import forbid_decoding

    path = str(tmp_path / 'a.png')
    article(RED).save(path)
    monkeypatch.setenv('CAGAN_MAX_PIXELS', '7679')
    forbid_decoding(monkeypatch)
    with pytest.raises(PixelLimitError, match=r'96x80 pixels \(7680\) is over the limit'):
        curation.check_image(path)
    with pytest.raises(PixelLimitError):
        sheets._sheet_rgb(path)
    monkeypatch.setenv('CAGAN_MAX_PIXELS', '0')
    with pytest.raises(CaganError, match='CAGAN_MAX_PIXELS must be'):
        curation.check_image(path)


def test_a_test_split_file_that_leaves_the_source_stops_curate(tmp_path):
    src = small_source(tmp_path / 'src')
    (src / 'test').mkdir()
    (src / 'test' / 'pairs.txt').write_text('# held out\n')
    (src / 'test' / 'same.txt').symlink_to('pairs.txt')  # inside: fine
    proc = run_script(src, '--out', tmp_path / 'out')
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / 'out' / 'test' / 'same.txt').read_text() == '# held out\n'
    (tmp_path / 'secret.txt').write_text('not yours')
    (src / 'test' / 'secret.txt').symlink_to(tmp_path / 'secret.txt')
    before = snapshot(tmp_path / 'out')
    proc = run_script(src, '--out', tmp_path / 'out', '--force')
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert proc.stderr.splitlines() == [
        'error: {}: a link to {}, outside the source; test/ is carried over only with '
        'files of the source'.format(src / 'test' / 'secret.txt', tmp_path / 'secret.txt')]
    assert snapshot(tmp_path / 'out') == before


# ------------------------------------------- held-out splits, ground truth

TRUTH_ROWS = [   # (row, kept?): a2 is corrupt, so its pair and swaps go
    ('humans/h0.png articles/a0.png articles/a1.png truth/t0.png truth/m0.png '
     'truth/m1.png', True),
    ('humans/h1.png articles/a1.png articles/a2.png truth/t1.png truth/m2.png '
     'truth/m3.png', False),
    ('humans/h1.png articles/a1.png articles/a0.png truth/t2.png truth/m4.png '
     'truth/m5.png', True),
]


def with_splits_and_truth(src):
    """small_source with val/ and test/ splits and a training truth.txt."""
    for split in ('val', 'test'):
        (src / split / 'truth').mkdir(parents=True)
        (src / split / 'pairs.txt').write_text('# {}\n'.format(split))
        (src / split / 'truth' / 'x.png').write_bytes(split.encode())
    (src / 'truth').mkdir()
    for k in range(3):
        (src / 'truth' / 't{}.png'.format(k)).write_bytes(b't%d' % k)
    for k in range(6):
        (src / 'truth' / 'm{}.png'.format(k)).write_bytes(b'm%d' % k)
    (src / 'truth.txt').write_text('# X_I Y_I Y_J X_IJ MASK_I MASK_J\n' +
                                   ''.join(r + '\n' for r, _ in TRUTH_ROWS))
    return src


def test_curate_carries_val_and_test_and_filters_the_training_truth(tmp_path):
    src = with_splits_and_truth(small_source(tmp_path / 'src'))
    proc = run_script(src, '--out', tmp_path / 'out')
    assert proc.returncode == 0, proc.stderr
    assert 'training ground truth: kept 2 of 3 swaps, dropped 1' in proc.stdout
    out = tmp_path / 'out'
    for split in ('val', 'test'):
        assert (out / split / 'pairs.txt').read_text() == '# {}\n'.format(split)
        assert (out / split / 'truth' / 'x.png').read_bytes() == split.encode()
    rows = [line for line in (out / 'truth.txt').read_text().splitlines()
            if not line.startswith('#')]
    assert rows == [r for r, kept in TRUTH_ROWS if kept]
    assert sorted(os.listdir(out / 'truth')) == [
        'm0.png', 'm1.png', 'm4.png', 'm5.png', 't0.png', 't2.png']
    assert (out / 'truth' / 't2.png').read_bytes() == b't2'
    report = json.loads((out / 'report.json').read_text())
    assert report['truth'] == {'lines': 3, 'kept': 2, 'dropped': 1}
    text = (out / 'report.txt').read_text()
    assert "val/ split is carried over" in text and "test/ split" in text
    assert 'keeps the 2 of 3 swaps' in text
    # The curated set reads back: its truth names only kept files.
    from cagan.data import held_out
    truth_rows = held_out.read_truth_of(out)
    kept = {p.human for p in read_pairs(out / 'pairs.txt')}
    assert {r[0].name for r in truth_rows} <= kept


def test_a_source_whose_swaps_are_all_dropped_has_no_truth(tmp_path):
    src = with_splits_and_truth(small_source(tmp_path / 'src'))
    (src / 'truth.txt').write_text(TRUTH_ROWS[1][0] + '\n')
    cur = curation.curate(src)
    assert cur.truth == {'lines': 1, 'kept': [], 'dropped': 1}
    curation.write_curated(cur, tmp_path / 'out')
    assert not (tmp_path / 'out' / 'truth.txt').exists()
    assert not (tmp_path / 'out' / 'truth').exists()
    assert curation.curate(small_source(tmp_path / 'plain')).truth is None


@pytest.mark.parametrize('how', ['..', 'absolute', 'symlink'])
def test_a_truth_name_that_leaves_the_dataset_stops_curate(tmp_path, how):
    from tests.data.helpers import ESCAPES

    src = with_splits_and_truth(small_source(tmp_path / 'src'))
    name = ESCAPES[how](src, 'truth')
    if how == 'symlink':
        name = 'truth/' + name     # names in truth.txt start at the root
    (src / 'truth.txt').write_text(TRUTH_ROWS[0][0] + '\n' + TRUTH_ROWS[2][0]
                                   .replace('truth/t2.png', name) + '\n')
    proc = run_script(src, '--out', tmp_path / 'out')
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        'error: {}:2: {!r} leaves'.format(src / 'truth.txt', name))
    assert not (tmp_path / 'out').exists()


def test_a_val_split_file_that_leaves_the_source_stops_curate(tmp_path):
    src = small_source(tmp_path / 'src')
    (src / 'val').mkdir()
    (tmp_path / 'secret.txt').write_text('not yours')
    (src / 'val' / 'secret.txt').symlink_to(tmp_path / 'secret.txt')
    proc = run_script(src, '--out', tmp_path / 'out')
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        'error: {}: a link to {}, outside the source; val/ is carried over only with '
        'files of the source'.format(src / 'val' / 'secret.txt', tmp_path / 'secret.txt')]
