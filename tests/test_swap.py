import json
import pathlib
import runpy
import subprocess
import sys

import chainer
import numpy
import pytest
from PIL import Image

import cagan
from cagan import cli, config, evaluation, inference, run
from cagan.data import held_out, images, synthetic
from cagan.errors import ModelFileError

ROOT = pathlib.Path(__file__).resolve().parents[1]
SIZE = (64, 32)


def run_script(script, *args):
    return subprocess.run([sys.executable, '-W', 'error',
                           str(ROOT / 'scripts' / script)] +
                          [str(a) for a in args],
                          capture_output=True, text=True, cwd=str(ROOT))


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    """A run folder as training leaves it: config and untrained weights."""
    folder = tmp_path_factory.mktemp('run')
    resolved = config.resolve({'data': {'size': list(SIZE)},
                               'model': {'ch': 8}}, 'test')
    config.save(resolved, folder / run.CONFIG_NAME)
    chainer.serializers.save_npz(str(folder / 'gen_epoch_1.npz'),
                                 cagan.Generator(ch=8, size=SIZE, seed=0))
    return folder


def photo(shape, seed=0):
    return numpy.random.default_rng(seed).integers(
        0, 256, shape + (3,), dtype=numpy.uint8)


def save_modes(folder):
    """The same scene in every mode and format a shop may upload."""
    rgb = Image.fromarray(photo((90, 60)))
    files = {}

    def keep(name, image, **kwargs):
        files[name] = folder / name
        image.save(files[name], **kwargs)

    keep('rgb.jpg', rgb, quality=90)
    keep('rgba.png', rgb.convert('RGBA'))
    keep('grey.png', rgb.convert('L'))
    keep('palette.png', rgb.convert('P'))
    keep('cmyk.jpg', rgb.convert('CMYK'))
    keep('deep.png', Image.fromarray(
        (numpy.asarray(rgb.convert('L'), numpy.uint16) * 257)).convert(
            'I;16'))
    keep('photo.webp', rgb)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: upright it is 90 high, 60 wide
    keep('rotated.jpg', rgb.transpose(Image.Transpose.ROTATE_90),
         exif=exif.tobytes())
    return files


def test_every_mode_and_orientation_swaps_at_the_photo_size(tmp_path,
                                                              model):
    gen, resolved, weights = run.load_generator(model)
    assert weights.name == 'gen_epoch_1.npz' and gen.size == SIZE
    article = photo((50, 50), seed=1)
    for name, path in save_modes(tmp_path).items():
        human = images.load_rgb(path)
        assert human.shape == (90, 60, 3), name
        swap, = inference.swap_photos(gen, human, [article])
        assert swap.result.shape == human.shape and swap.result.dtype == \
            numpy.uint8, name
        assert swap.alpha.shape == (90, 60), name
        assert 0 <= swap.alpha.min() and swap.alpha.max() <= 1
        assert swap.frame.shape == SIZE + (3,)


def test_results_keep_the_photo_where_alpha_is_zero(model):
    gen, _, _ = run.load_generator(model)
    human = photo((300, 90))
    swap, = inference.swap_photos(gen, human, [photo((40, 40), 1)],
                                  worn=photo((40, 40), 2))
    keep = swap.alpha == 0
    # Untrained alpha is never exactly 0; force the check on a blend.
    again = images.paste_back(human, swap.frame.transpose(2, 0, 1) / 255.,
                              numpy.zeros(SIZE), images.fit(human, SIZE)[1])
    assert numpy.array_equal(again, human)
    assert not keep.any() or numpy.array_equal(swap.result[keep],
                                               human[keep])


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
    from tests.data.test_images import forbid_decoding, write_png_of_zeros

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


def test_no_demo_model_yet_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # DEFAULT_MODEL is relative: not here
    with pytest.raises(ModelFileError, match='make demo'):
        run.find_weights(run.DEFAULT_MODEL)


@pytest.fixture(scope='module')
def truth_data(tmp_path_factory):
    root = tmp_path_factory.mktemp('data') / 'synthetic'
    synthetic.write_dataset(root, 8, size=(64, 48), seed=0, test_pairs=4)
    return root


def test_evaluate_prints_a_table_and_a_json_line(model, truth_data):
    result = run_script('evaluate.py', '--model', model, '--data', truth_data)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    scores = json.loads(lines[-1])
    assert scores['swaps'] == 4
    for key in ('worn', 'no_worn', 'do_nothing', 'flat_oracle'):
        assert set(scores[key]) == {'changed_l1', 'changed_ssim',
                                    'alpha_iou', 'outside_l1', 'ssim',
                                    'psnr'}
    assert scores['do_nothing']['alpha_iou'] == 0
    assert scores['flat_oracle']['alpha_iou'] == 1
    assert (scores['flat_oracle']['changed_l1']
            < scores['do_nothing']['changed_l1'])
    assert 0 <= scores['cycle_error'] <= 1
    assert any('do nothing' in line and 'flat oracle' in line
               for line in lines)


def test_evaluation_scores_a_perfect_and_a_lazy_generator(truth_data):
    truth = held_out.read_truth(held_out.truth_file(truth_data), SIZE)
    assert len(truth) == 4 and truth.mask_i.dtype == bool

    class Oracle(object):
        """Returns the true swap: what a perfect generator would."""
        size = SIZE

        def swap(self, x_i, y_i, y_j):
            k = [int(numpy.argmin(numpy.abs(truth.x_i - x).sum(axis=(1, 2, 3))))
                 for x in x_i]
            region = (truth.mask_i[k] | truth.mask_j[k])[:, None]
            return (chainer.Variable(truth.truth[k]),
                    chainer.Variable(region.astype(numpy.float32)))

    perfect = evaluation.score_truth(Oracle(), truth)
    assert perfect['changed_l1'] == 0 and perfect['alpha_iou'] == 1
    lazy = evaluation.baseline_truth(truth)
    assert lazy['changed_l1'] > 0.05 and lazy['alpha_iou'] == 0
    flat = evaluation.oracle_truth(truth)
    assert 0 < flat['changed_l1'] < lazy['changed_l1']
    assert flat['alpha_iou'] == 1
    assert flat['outside_l1'] == lazy['outside_l1']  # x_i kept there
