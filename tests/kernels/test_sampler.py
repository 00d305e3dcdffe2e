"""cagan.kernels.sampler: bilinear sampling gives Chainer's output bit for
bit and Chainer's gradients (input and grid) to float rounding, inside the
image, on pixel centres and borders, and outside it."""

import chainer
import chainer.functions as F
import numpy
import pytest
from chainer.functions.array import spatial_transformer_sampler as chainers

from cagan import kernels
from cagan.kernels import sampler, threads
from tests.kernels.helpers import assert_close, values

pytestmark = pytest.mark.numerics


def special(size):
    """Coordinates along an axis of ``size`` pixels where Chainer's
    neighbours or gradient change: the pixels' centres (+-1 the first's and
    the last's) and the borders between them, the padded image's edges
    (its coordinate 0 and ``size + 1``) and just inside and outside them,
    and far outside. Exact in float32 where ``size - 1`` is a power of 2."""
    step = 2.0 / max(size - 1, 1)
    centres = -1 + step * numpy.arange(size)
    edge = 1 + step
    return numpy.concatenate([
        centres, centres[:-1] + step / 2,
        [-edge, edge, -edge * (1 - 1e-3), edge * (1 - 1e-3),
         -edge * (1 + 1e-3), edge * (1 + 1e-3), -3.0, 3.0, -40.0, 40.0]])


def sampling_grid(rng, B, H, W, out_H, out_W, dtype):
    """``(B, 2, out_H, out_W)``: for each point and axis, a special
    coordinate (:func:`special`) or, half the time, a random one in [-1.6,
    1.6] (inside and outside the image)."""
    grid = rng.uniform(-1.6, 1.6, (B, 2, out_H, out_W))
    for k, size in enumerate((W, H)):
        pick = rng.random((B, out_H, out_W)) < 0.5
        grid[:, k][pick] = rng.choice(special(size), int(pick.sum()))
    return grid.astype(dtype)


def forward_backward(fn, x, grid, gy, need=(True, True)):
    """Output and the gradients of x and grid (None where ``need`` says
    not to ask) for output gradient ``gy``."""
    xv = chainer.Variable(x.copy(), requires_grad=need[0])
    gv = chainer.Variable(grid.copy(), requires_grad=need[1])
    y = fn(xv, gv)
    y.grad = gy.copy()
    y.backward()
    return [y.array, xv.grad, gv.grad]


def assert_matches_chainer(x, grid, gy, need=(True, True)):
    ours = forward_backward(sampler.spatial_transformer_sampler, x, grid, gy,
                            need)
    theirs = forward_backward(F.spatial_transformer_sampler, x, grid, gy,
                              need)
    # Chainer's floats, in Chainer's order.
    numpy.testing.assert_array_equal(ours[0], theirs[0])
    # The input's gradient sums gy times weights (all >= 0): Chainer's on
    # |gy| is the magnitude of its terms. The grid's: its largest value.
    scale = forward_backward(F.spatial_transformer_sampler, x, grid,
                             numpy.abs(gy))[1]
    for k in (1, 2):
        if not need[k - 1]:
            assert ours[k] is None and theirs[k] is None
    pairs = [(a, b, s) for a, b, s in zip(ours[1:], theirs[1:], (scale, None))
             if b is not None]
    assert_close([a for a, _, _ in pairs], [b for _, b, _ in pairs],
                 [s for _, _, s in pairs])


SHAPES = [
    # B, C, H, W, out_H, out_W; H - 1 and W - 1 powers of 2 in the first
    # two: special coordinates fall exactly on centres and borders.
    (1, 1, 9, 5, 9, 5),
    (3, 4, 5, 9, 7, 6),
    (2, 4, 8, 12, 8, 12),
    (4, 3, 6, 7, 3, 11),
    (2, 2, 1, 6, 4, 4),  # one row: y's gradient is 0
]


@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_spatial_transformer_sampler_matches_chainer(rng, shape, dtype):
    B, C, H, W, out_H, out_W = shape
    x = values(rng, (B, C, H, W), dtype)
    grid = sampling_grid(rng, B, H, W, out_H, out_W, dtype)
    gy = values(rng, (B, C, out_H, out_W), dtype)
    assert_matches_chainer(x, grid, gy)


@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_pixel_centres_sample_the_pixels(rng, dtype):
    # The identity grid, exact in float: y is x, and the grid's gradient is
    # Chainer's one-sided difference towards the next pixel (the last's
    # towards the zero border).
    B, C, H, W = 2, 3, 5, 9
    ys, xs = numpy.meshgrid(numpy.linspace(-1, 1, H),
                            numpy.linspace(-1, 1, W), indexing='ij')
    grid = numpy.broadcast_to(numpy.stack([xs, ys]),
                              (B, 2, H, W)).astype(dtype)
    x = values(rng, (B, C, H, W), dtype)
    gy = values(rng, x.shape, dtype)
    y = sampler.spatial_transformer_sampler(x, grid)
    numpy.testing.assert_array_equal(y.array, x)
    assert_matches_chainer(x, grid, gy)


@pytest.mark.parametrize('need', [(False, True), (True, False)])
def test_one_input_gradient(rng, need):
    # The warp's case: the product photo is data, only the grid is learnt.
    x = values(rng, (3, 4, 9, 5))
    grid = sampling_grid(rng, 3, 9, 5, 6, 8, numpy.float32)
    gy = values(rng, (3, 4, 6, 8))
    assert_matches_chainer(x, grid, gy, need)


def test_chunks_and_threads_give_the_same_floats(rng, monkeypatch):
    # One sample per chunk, chunks shared among workers: each sample's
    # results are computed alone, so the same floats for any count.
    monkeypatch.setattr(sampler, '_CHUNK', 1)
    monkeypatch.setattr(threads, 'MIN_SIZE', 0)
    x = values(rng, (5, 4, 8, 12))
    grid = sampling_grid(rng, 5, 8, 12, 7, 9, numpy.float32)
    gy = values(rng, (5, 4, 7, 9))
    results = []
    for count in (1, 2, 3):
        with threads.using_workers(count):
            results.append(forward_backward(
                sampler.spatial_transformer_sampler, x, grid, gy))
    for other in results[1:]:
        for a, b in zip(other, results[0]):
            numpy.testing.assert_array_equal(a, b)
    assert_matches_chainer(x, grid, gy)


def test_no_backprop_mode_matches(rng):
    x = values(rng, (2, 3, 9, 5))
    grid = sampling_grid(rng, 2, 9, 5, 4, 6, numpy.float32)
    with chainer.no_backprop_mode():
        y = sampler.spatial_transformer_sampler(x, grid)
    assert y.creator is None
    numpy.testing.assert_array_equal(
        y.array, F.spatial_transformer_sampler(x, grid).array)


def test_double_backprop_is_refused_as_chainers(rng):
    x = values(rng, (2, 3, 5, 9), numpy.float64)
    grid = sampling_grid(rng, 2, 5, 9, 4, 4, numpy.float64)
    for fn in (F.spatial_transformer_sampler,
               sampler.spatial_transformer_sampler):
        xv, gv = chainer.Variable(x.copy()), chainer.Variable(grid.copy())
        y = fn(xv, gv)
        _, ggrid = chainer.grad([F.sum(y * y)], [xv, gv],
                                enable_double_backprop=True)
        with pytest.raises(RuntimeError, match='cannot twice-differentiate'):
            F.sum(ggrid * ggrid).backward()


def switch(value):
    return chainer.using_config('cagan_cpu_kernels', value)


def test_the_switch_chooses_the_node(rng):
    x = values(rng, (2, 3, 5, 9))
    grid = sampling_grid(rng, 2, 5, 9, 4, 6, numpy.float32)
    assert kernels.spatial_transformer_sampler is \
        sampler.spatial_transformer_sampler
    with switch('auto'):
        ours = kernels.spatial_transformer_sampler(x, grid)
    assert type(ours.creator) is sampler.SpatialTransformerSampler
    with switch('never'):
        theirs = kernels.spatial_transformer_sampler(
            chainer.Variable(x), chainer.Variable(grid))
    assert type(theirs.creator) is chainers.SpatialTransformerSampler
    numpy.testing.assert_array_equal(ours.array, theirs.array)


def test_other_dtypes_are_chainers(rng, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError('the fast path was taken')
    monkeypatch.setattr(sampler.SpatialTransformerSampler, 'forward', refuse)
    x = values(rng, (2, 3, 5, 9), numpy.float16)
    grid = sampling_grid(rng, 2, 5, 9, 4, 6, numpy.float16)
    y = sampler.spatial_transformer_sampler(x, grid)
    assert type(y.creator) is chainers.SpatialTransformerSampler
    # Mixed dtypes: Chainer's type check refuses them, as it would.
    with pytest.raises(chainer.utils.type_check.InvalidType):
        sampler.spatial_transformer_sampler(x.astype(numpy.float32), grid)
