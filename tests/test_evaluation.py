"""cagan.evaluation and scripts/evaluate.py: scores with and without ground truth."""

import json
import math
import shutil

import chainer
import numpy
import pytest
from PIL import Image

from cagan import config, evaluation, metrics, run, training, visualize
from cagan.data import held_out, synthetic
from tests.helpers import INFERENCE_SIZE as SIZE
from tests.helpers import run_script

KEYS = {'changed_l1', 'changed_ssim', 'alpha_iou', 'outside_l1',
        'print_ssim', 'ssim', 'psnr'}


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
    assert scores['swaps'] == 4 and scores['asked'] == 256
    assert scores['available'] == 4
    assert '4 swaps scored: 256 asked, 4 in {}'.format(
        truth_data / 'test' / 'truth.txt') in lines
    for key in evaluation.COLUMNS:
        assert set(scores[key]) == KEYS
        assert -1 <= scores[key]['print_ssim'] <= 1
    # One table row per score, a number in every column.
    row = next(line for line in lines if line.startswith('print SSIM'))
    assert row.split()[-5:] == ['{:.4f}'.format(scores[column]['print_ssim'])
                                for column in evaluation.COLUMNS]
    assert scores['do_nothing']['alpha_iou'] == 0
    assert scores['flat_oracle']['alpha_iou'] == 1
    assert (scores['flat_oracle']['changed_l1']
            < scores['do_nothing']['changed_l1'])
    assert 0 <= scores['cycle_error'] <= 1
    assert set(scores['ratio']) == set(evaluation.COLUMNS)
    assert scores['ratio']['do_nothing'] == 1
    for column in ('worn', 'untrained'):
        assert math.isclose(scores['ratio'][column],
                            scores[column]['changed_l1'] /
                            scores['do_nothing']['changed_l1'])
    # The fixture's weights are not the run's initial ones: two columns.
    assert scores['worn'] != scores['untrained']
    header = next(line for line in lines if 'do nothing' in line)
    assert header.split() == ['worn', 'given', 'no', 'worn', 'untrained',
                              'do', 'nothing', 'flat', 'oracle']
    assert any(line.startswith('changed-region L1 / do nothing') and
               line.split()[-3] == '{:.4f}'.format(scores['ratio']['untrained'])
               for line in lines)
    assert any(line.startswith('headline:') for line in lines)


def test_fewer_swaps_asked_than_there_are(model, truth_data):
    result = run_script('evaluate.py', '--model', model, '--data', truth_data,
                        '--swaps', 2)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])['swaps'] == 2
    assert '2 swaps scored (the first 2 of 4 in {})'.format(
        truth_data / 'test' / 'truth.txt') in result.stdout.splitlines()


@pytest.mark.parametrize('model_keys', [
    {}, {'gen': {'inject': True, 'upsample': 'resize'}}])
def test_the_untrained_generator_is_a_fresh_runs_start(tmp_path, truth_data,
                                                       model_keys):
    resolved = config.resolve({'data': {'root': str(truth_data),
                                        'size': list(SIZE)},
                               'model': dict(model_keys, ch=8),
                               'train': {'batch': 4, 'seed': 3}}, 'test')
    trainer = training.make_trainer(resolved, tmp_path / 'run')
    started = trainer.updater.get_optimizer('gen').target
    seed = training.child_seeds(3)['gen']
    untrained = evaluation.untrained_generator(resolved, seed)
    mine = dict(untrained.namedparams())
    theirs = dict(started.namedparams())
    assert sorted(mine) == sorted(theirs)
    for name, param in theirs.items():
        assert mine[name].array.dtype == param.array.dtype == numpy.float32
        assert numpy.array_equal(mine[name].array, param.array), name
    # Another seed draws other weights: the check above can fail.
    other = evaluation.untrained_generator(resolved, seed + 1)
    assert not numpy.array_equal(other.c0.W.array, untrained.c0.W.array)


def test_without_ground_truth_the_test_pairs_are_scored(tmp_path, model,
                                                        truth_data):
    root = tmp_path / 'data'
    shutil.copytree(truth_data, root)
    (root / 'test' / 'truth.txt').unlink()
    gen, _, _ = run.load_generator(model)
    result = evaluation.evaluate(gen, None, root, 3)
    assert result['split'] == 'test' and result['swaps'] == 3
    assert 'worn' not in result and 0 <= result['self_error'] <= 1
    assert evaluation.count_line(result) == (
        '3 swaps scored (the first 3 of 3 pairs in the test split of {})'
        .format(root))
    shutil.rmtree(root / 'test')
    result = evaluation.evaluate(gen, None, root, 50)
    assert result['split'] == 'train' and result['swaps'] < 50
    assert evaluation.count_line(result).endswith(
        '50 asked, {} pairs in the train split of {}'.format(
            result['swaps'], root))


def test_ratio_and_finite():
    assert evaluation.ratio({'changed_l1': 0.1}, {'changed_l1': 0.4}) == 0.25
    assert evaluation.ratio({'changed_l1': 0.1}, {'changed_l1': 0.0}) is None
    assert evaluation.finite({'a': {'psnr': math.inf, 'ssim': 0.5},
                              'n': 3, 'x': None}) == {
        'a': {'psnr': None, 'ssim': 0.5}, 'n': 3, 'x': None}


def test_evaluation_scores_a_perfect_and_a_lazy_generator(truth_data):
    truth = held_out.read_truth(held_out.truth_file(truth_data), SIZE)
    assert len(truth) == 4 and truth.mask_i.dtype == bool
    assert evaluation.count_truth(held_out.truth_file(truth_data)) == 4

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
    assert perfect['print_ssim'] == pytest.approx(1, abs=1e-6)
    lazy = evaluation.baseline_truth(truth)
    assert lazy['changed_l1'] > 0.05 and lazy['alpha_iou'] == 0
    assert lazy['print_ssim'] == pytest.approx(numpy.mean([
        metrics.ssim_map(truth.x_i[k], truth.truth[k])[truth.mask_j[k]].mean()
        for k in range(len(truth))]))
    assert lazy['print_ssim'] < perfect['print_ssim']
    flat = evaluation.oracle_truth(truth)
    assert 0 < flat['changed_l1'] < lazy['changed_l1']
    assert flat['alpha_iou'] == 1
    assert flat['outside_l1'] == lazy['outside_l1']  # x_i kept there
    result = evaluation.evaluate(Oracle(), Oracle(), truth_data, 8)
    assert result['ratio']['worn'] == result['ratio']['untrained'] == 0


def test_evaluate_writes_a_swap_sheet_of_the_test_split(tmp_path, model,
                                                        truth_data):
    sheet = tmp_path / 'new' / 'sheet.png'
    result = run_script('evaluate.py', '--model', model, '--data', truth_data,
                        '--sheet', sheet)
    assert result.returncode == 0, result.stderr
    json.loads(result.stdout.splitlines()[-1])   # still the last line
    with Image.open(sheet) as image:
        width, height = image.size
    # 4 test pairs: 2 people along the top, 2 articles down the left, a row
    # of alpha maps: 3 columns, 4 rows, each cell at least MIN_CELL tall.
    assert height >= 4 * visualize.MIN_CELL and width >= 3 * SIZE[1]


def test_a_sheet_name_pillow_cannot_write_is_refused_first(tmp_path, model,
                                                           truth_data):
    result = run_script('evaluate.py', '--model', model, '--data', truth_data,
                        '--sheet', tmp_path / 'sheet.xyz')
    assert result.returncode != 0 and result.stdout == ''
    assert result.stderr.count('\n') == 1
    assert 'cannot write this kind of image' in result.stderr
