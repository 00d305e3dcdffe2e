"""cagan.extensions, on a mock trainer where they can be."""

import functools
from types import SimpleNamespace

import numpy

import cagan
import chainer
import pytest

from cagan.inference import swap_arrays
from cagan.extensions import Evaluation, EveryOrEnd, PlotReport, Preview
from cagan.run import BEST_NAME
from cagan.visualize import swap_grid
from tests.helpers import TRAINING_SIZE as SIZE


def mock_trainer(out, iteration):
    """What extensions read of a trainer: its folder and the updater's
    position."""
    updater = SimpleNamespace(iteration=iteration, epoch=0,
                              epoch_detail=iteration / 100,
                              previous_epoch_detail=(iteration - 1) / 100)
    return SimpleNamespace(out=str(out), updater=updater)


def test_preview_on_a_mock_trainer(tmp_path, rng):
    gen = cagan.Generator(ch=8, size=SIZE, seed=0)
    x_i, y_i = (rng.random((3, 3) + SIZE, dtype=numpy.float32)
                for _ in range(2))
    y_j = rng.random((2, 3) + SIZE, dtype=numpy.float32)
    trainer = mock_trainer(tmp_path, 7)
    Preview(gen, x_i, y_i, y_j)(trainer)
    from PIL import Image
    with Image.open(tmp_path / 'preview' / 'iter_7.png') as image:
        grid = numpy.asarray(image)
    with Image.open(tmp_path / 'preview' / 'latest.png') as image:
        assert numpy.array_equal(numpy.asarray(image), grid)
    assert numpy.array_equal(
        grid, swap_grid(functools.partial(swap_arrays, gen), x_i, y_i, y_j))
    grid = grid[::3, ::3]  # cells are shown 3x larger (nearest neighbour)
    h, w = SIZE
    assert grid.shape == ((2 + 2) * h, (3 + 1) * w, 3)
    # Top row: the humans; left column: the articles; corner: white.
    assert (grid[:h, :w] == 255).all()
    assert numpy.abs(grid[:h, w:2 * w] / 255. -
                     x_i[0].transpose(1, 2, 0)).max() < 1 / 255 + 1e-6
    assert numpy.abs(grid[2 * h:3 * h, :w] / 255. -
                     y_j[1].transpose(1, 2, 0)).max() < 1 / 255 + 1e-6
    # The last row is grey-level alpha.
    last = grid[3 * h:, w:]
    assert (last[..., 0] == last[..., 1]).all()


@pytest.mark.parametrize('keep_best', [True, False])
def test_evaluation_keeps_the_best_epoch_only_when_asked(tmp_path, rng,
                                                         keep_best):
    gen = cagan.Generator(ch=8, size=SIZE, seed=0)
    triplets = tuple(rng.random((2, 3) + SIZE, dtype=numpy.float32)
                     for _ in range(3))
    evaluation = Evaluation(gen, None, triplets, keep_best=keep_best)
    observed = {}
    with chainer.Reporter().scope(observed):
        evaluation(mock_trainer(tmp_path, 5))
    assert set(observed) == {'eval/cycle_error', 'eval/self_error'}
    assert evaluation.best_iteration == 5
    assert (tmp_path / BEST_NAME).is_file() == keep_best


def test_plot_report_does_not_add_a_point_after_resume():
    report = PlotReport(['gen/loss'], 'iteration', (5, 'iteration'),
                        filename='p.png')
    # A resumed run's first call, mid-interval: no point.
    assert not report._trigger(mock_trainer('.', 7))
    assert report._trigger(mock_trainer('.', 10))


def test_plot_report_draws_only_with_its_draw_trigger(tmp_path):
    # Points every 2 iterations; drawn at the first point, then at the
    # first point after every 6th iteration.
    report = PlotReport(['gen/loss'], 'iteration', (2, 'iteration'),
                        filename='p.png', draw_trigger=EveryOrEnd(6, 1))
    png = tmp_path / 'p.png'
    drawn = []
    for iteration in range(1, 10):
        trainer = mock_trainer(tmp_path, iteration)
        trainer.observation = {'gen/loss': float(iteration)}
        trainer.is_before_training = False
        report(trainer)
        if png.exists():
            drawn.append(iteration)
            png.unlink()
    assert drawn == [2, 6]
    assert report._data['gen/loss'] == [(2, 1.5), (4, 3.5), (6, 5.5),
                                        (8, 7.5)]
    assert sorted(p.name for p in tmp_path.iterdir()) == []
