"""cagan.evaluation and scripts/evaluate.py: scores with and without ground truth."""

import json

import chainer
import numpy
import pytest

from cagan import evaluation
from cagan.data import held_out, synthetic
from tests.test_inference import SIZE, model  # noqa: F401  (a fixture)
from tests.test_swap import run_script


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
