"""scripts/swap.py: the command, its files and its one-line errors."""

import runpy

import pytest
from PIL import Image

from cagan import cli
from tests.helpers import ROOT, photo, run_script


def test_the_command_writes_result_alpha_and_sheet(tmp_path, model):
    human = tmp_path / 'wide.jpg'
    Image.fromarray(photo((120, 300))).save(human)
    a, b = tmp_path / 'a.png', tmp_path / 'b.png'
    Image.fromarray(photo((40, 30), 1)).save(a)
    Image.fromarray(photo((40, 30), 2)).save(b)
    out = tmp_path / 'out' / 'look.png'
    result = run_script('swap.py', human, a, '--model', model, '--out', out)
    assert result.returncode == 0, result.stderr
    for name in ('look.png', 'look-alpha.png', 'look-side.png'):
        assert (out.parent / name).is_file(), name
    with Image.open(out) as image:
        assert image.size == (300, 120)
    result = run_script('swap.py', human, a, b, '--model', model / 'gen_epoch_1.npz',
                 '--out', out)
    assert result.returncode == 0, result.stderr
    for name in ('look-a.png', 'look-b.png', 'look-a-alpha.png',
                 'look-side.png'):
        assert (out.parent / name).is_file(), name
    with Image.open(out.parent / 'look-side.png') as sheet:
        assert sheet.height > 2 * 300  # one row per article


def bad(tmp_path):
    files = {}
    files['missing'] = tmp_path / 'nope.jpg'
    files['text'] = tmp_path / 'notes.jpg'
    files['text'].write_text('not a photo')
    files['truncated'] = tmp_path / 'cut.jpg'
    buf = tmp_path / 'whole.jpg'
    Image.fromarray(photo((64, 64))).save(buf)
    files['truncated'].write_bytes(buf.read_bytes()[:300])
    files['tiny'] = tmp_path / 'dot.png'
    Image.new('RGB', (1, 1)).save(files['tiny'])
    files['folder'] = tmp_path
    return files, buf


@pytest.mark.parametrize('which, words', [
    ('missing', 'no such file'), ('text', 'not an image'),
    ('truncated', 'truncated'), ('tiny', 'too small'),
    ('folder', 'is a directory')])
def test_bad_photos_give_one_line(tmp_path, model, which, words):
    files, good = bad(tmp_path)
    result = run_script('swap.py', files[which], good, '--model', model,
                 '--out', tmp_path / 'o.png')
    assert result.returncode == 1
    assert result.stderr.count('\n') == 1 and words in result.stderr
    assert 'Traceback' not in result.stderr
    assert not (tmp_path / 'o.png').exists()


def test_a_decompression_bomb_is_one_line_and_never_decoded(
        tmp_path, monkeypatch, capsys):
    from tests.data.helpers import forbid_decoding, write_png_of_zeros

    monkeypatch.delenv('CAGAN_MAX_PIXELS', raising=False)
    monkeypatch.chdir(tmp_path)
    # What Image.new('1', (40000, 40000)).save() writes: 194 KB on disk,
    # 1.6 GB decoded.
    write_png_of_zeros(tmp_path / 'bomb.png', 40000, 40000)
    Image.fromarray(photo((40, 30))).save(tmp_path / 'article.png')
    forbid_decoding(monkeypatch)
    swap = runpy.run_path(str(ROOT / 'scripts' / 'swap.py'))
    with pytest.raises(SystemExit) as info:
        cli.run(swap['main'], ['bomb.png', 'article.png'])
    assert info.value.code == 1
    out, err = capsys.readouterr()
    assert out == '' and err == (
        'error: bomb.png: 1600000000 pixels is over the limit of 120000000 '
        'pixels; set CAGAN_MAX_PIXELS to a larger number to read it\n')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['article.png',
                                                          'bomb.png']


def test_bad_models_give_one_line(tmp_path, model):
    _, good = bad(tmp_path)
    broken = tmp_path / 'broken'
    broken.mkdir()
    (broken / 'config.yaml').write_text((model / 'config.yaml').read_text())
    (broken / 'gen_epoch_3.npz').write_bytes(b'PK\x03\x04 not a zip')
    empty = tmp_path / 'empty'
    empty.mkdir()
    alone = tmp_path / 'alone'
    alone.mkdir()
    (alone / 'gen_epoch_1.npz').write_bytes((model / 'gen_epoch_1.npz')
                                            .read_bytes())
    for target, words in ((broken, 'gen_epoch_3.npz'),
                          (empty, 'no generator weights'),
                          (alone / 'gen_epoch_1.npz', 'no config.yaml'),
                          (tmp_path / 'none', 'no such model')):
        result = run_script('swap.py', good, good, '--model', target)
        assert result.returncode == 1, target
        assert result.stderr.count('\n') == 1 and words in result.stderr, \
            result.stderr
