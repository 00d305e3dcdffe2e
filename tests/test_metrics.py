import json
import math

import numpy
import pytest

from cagan import metrics


def image(rng, h=16, w=12):
    return rng.random((3, h, w)).astype(numpy.float32)


def swap_case(rng, h=16, w=12):
    """x_i, the true x_ij and the article masks of a hand-made swap."""
    x_i = image(rng, h, w)
    mask_i = numpy.zeros((h, w), bool)
    mask_i[4:10, 3:8] = True
    mask_j = numpy.zeros((h, w), bool)
    mask_j[6:12, 2:6] = True
    truth = x_i.copy()
    region = mask_i | mask_j
    truth[:, region] = rng.random((3, region.sum())).astype(numpy.float32)
    return x_i, truth, mask_i, mask_j


def test_perfect_swap(rng):
    x_i, truth, mask_i, mask_j = swap_case(rng)
    alpha = (mask_i | mask_j).astype(numpy.float32)
    s = metrics.score_swap(x_i, truth, truth, alpha, mask_i, mask_j)
    assert list(s) == list(metrics.SWAP_KEYS)
    assert all(type(v) is float for v in s.values())
    assert s['changed_l1'] == 0 and s['outside_l1'] == 0
    assert s['changed_ssim'] == pytest.approx(1) and s['ssim'] == \
        pytest.approx(1)
    assert s['print_ssim'] == pytest.approx(1, abs=1e-6)
    assert s['alpha_iou'] == 1
    assert s['psnr'] == float('inf')


def test_do_nothing_baseline(rng):
    x_i, truth, mask_i, mask_j = swap_case(rng)
    region = mask_i | mask_j
    s = metrics.do_nothing_scores(x_i, truth, mask_i, mask_j)
    assert s['changed_l1'] == pytest.approx(metrics.l1(x_i, truth, region))
    assert s['changed_l1'] > 0.1
    assert s['outside_l1'] == 0
    assert s['alpha_iou'] == 0
    assert s['changed_ssim'] < 0.5
    # x_ij = x_i: the new garment's print compared with what was there.
    assert s['print_ssim'] == pytest.approx(
        windowed_ssim(x_i, truth)[mask_j].mean(), rel=1e-10, abs=1e-12)
    assert s['print_ssim'] < 0.5
    assert math.isfinite(s['psnr'])
    json.dumps(s)  # every value is finite here, plain floats



def test_flat_oracle_is_exact_on_flat_colours():
    # Skin everywhere, a red old garment and a larger blue new one.
    x_i = numpy.empty((3, 8, 8))
    x_i[...] = [[[0.8]], [[0.6]], [[0.5]]]
    truth = x_i.copy()
    mask_i = numpy.zeros((8, 8), bool)
    mask_i[2:5, 2:6] = True
    mask_j = numpy.zeros((8, 8), bool)
    mask_j[3:7, 1:7] = True
    x_i[:, mask_i] = [[1], [0], [0]]
    truth[:, mask_j] = [[0], [0], [1]]
    s = metrics.flat_oracle_scores(x_i, truth, mask_i, mask_j)
    # Mean colours of constant regions: exact to the rounding of a mean
    # (0.8 taken three times averages to 0.8000000000000002); the pixels
    # outside are copied.
    assert s['changed_l1'] == pytest.approx(0, abs=1e-12)
    assert s['outside_l1'] == 0
    assert s['alpha_iou'] == 1
    assert s['print_ssim'] == pytest.approx(1, abs=1e-6)


def test_flat_oracle_sits_between_nothing_and_perfect(rng):
    x_i, truth, mask_i, mask_j = swap_case(rng)
    s = metrics.flat_oracle_scores(x_i, truth, mask_i, mask_j)
    nothing = metrics.do_nothing_scores(x_i, truth, mask_i, mask_j)
    assert 0 < s['changed_l1'] < nothing['changed_l1']
    assert s['outside_l1'] == 0 and s['alpha_iou'] == 1
    # Its x_ij: x_i with each part of the region painted its mean true
    # colour; print SSIM is that image's SSIM map over mask_j.
    region = mask_i | mask_j
    flat = x_i.astype(numpy.float64)
    for part in (mask_j, region & ~mask_j):
        flat[:, part] = truth[:, part].astype(numpy.float64).mean(
            axis=1, keepdims=True)
    assert s['print_ssim'] == pytest.approx(
        windowed_ssim(flat, truth)[mask_j].mean(), rel=1e-10, abs=1e-12)


def test_print_ssim_prefers_a_misplaced_print_to_a_flat_colour():
    # A striped new garment (sine stripes, period 10 pixels). A flat fill of
    # its mean colour (the flat oracle) is closer in L1 than the print
    # shifted by 2 pixels, yet it has no print: print SSIM says so.
    h, w = 32, 40
    stripes = 0.5 + 0.3 * numpy.sin(2 * numpy.pi * numpy.arange(w) / 10)
    truth = numpy.broadcast_to(stripes, (3, h, w)).copy()
    mask = numpy.zeros((h, w), bool)
    mask[8:24, 10:30] = True
    x_i = truth.copy()
    x_i[:, mask] = 0.2   # the old, plain garment
    shifted = truth.copy()
    shifted[:, mask] = numpy.roll(truth, 2, axis=2)[:, mask]
    flat = metrics.flat_oracle_scores(x_i, truth, mask, mask)
    misplaced = metrics.score_swap(x_i, shifted, truth,
                                   mask.astype(numpy.float32), mask, mask)
    assert flat['changed_l1'] < misplaced['changed_l1']
    assert flat['print_ssim'] < misplaced['print_ssim']


def test_inverted_alpha_has_zero_iou(rng):
    x_i, truth, mask_i, mask_j = swap_case(rng)
    alpha = (~(mask_i | mask_j)).astype(numpy.float32)
    s = metrics.score_swap(x_i, truth, truth, alpha, mask_i, mask_j)
    assert s['alpha_iou'] == 0


def test_l1_by_hand():
    a = numpy.zeros((3, 2, 2), numpy.float32)
    b = numpy.zeros((3, 2, 2), numpy.float32)
    b[0, 0, 0] = 0.5    # pixel (0, 0): |diff| sums to 0.5 + 0.25
    b[1, 0, 0] = 0.25
    b[2, 1, 1] = 1.0    # pixel (1, 1): 1.0
    assert metrics.l1(a, b) == pytest.approx((0.75 + 1.0) / 12)
    mask = numpy.array([[True, False], [False, False]])
    assert metrics.l1(a, b, mask) == pytest.approx(0.75 / 3)
    mask[1, 1] = True
    assert metrics.l1(a, b, mask) == pytest.approx(1.75 / 6)


def test_ssim_of_an_image_with_itself_is_one(rng):
    a = image(rng)
    numpy.testing.assert_allclose(metrics.ssim_map(a, a), 1, atol=1e-12)
    assert metrics.ssim(a, a) == pytest.approx(1)


def test_ssim_decreases_with_noise(rng):
    a = image(rng, 16, 16)
    noise = rng.standard_normal(a.shape)
    scores = [metrics.ssim(a, numpy.clip(a + s * noise, 0, 1))
              for s in (0.01, 0.05, 0.2, 0.5)]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] < 1 and scores[-1] < 0.5


def test_ssim_of_constant_images_is_the_luminance_term():
    a = numpy.full((3, 16, 16), 0.2, numpy.float32)
    b = numpy.full((3, 16, 16), 0.7, numpy.float32)
    mu_a, mu_b = 0.2, 0.7
    c1 = (0.01 * 1) ** 2
    # No variance: the contrast-structure term is c2 / c2 = 1.
    expected = (2 * mu_a * mu_b + c1) / (mu_a ** 2 + mu_b ** 2 + c1)
    numpy.testing.assert_allclose(metrics.ssim_map(a, b), expected,
                                  rtol=1e-5)


def windowed_ssim(a, b):
    """SSIM pixel by pixel: each pixel's 11x11 Gaussian window over the
    symmetrically padded images, the statistics summed window by window."""
    a, b = a.astype(numpy.float64), b.astype(numpy.float64)
    x = numpy.arange(11) - 5.0
    g = numpy.exp(-x ** 2 / (2 * 1.5 ** 2))
    window = numpy.outer(g, g) / g.sum() ** 2
    pad = ((0, 0), (5, 5), (5, 5))
    pa, pb = (numpy.pad(v, pad, mode='symmetric') for v in (a, b))
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    out = numpy.empty(a.shape)
    for c, i, j in numpy.ndindex(*a.shape):
        wa, wb = pa[c, i:i + 11, j:j + 11], pb[c, i:i + 11, j:j + 11]
        mu_a, mu_b = (window * wa).sum(), (window * wb).sum()
        var_a = (window * wa * wa).sum() - mu_a ** 2
        var_b = (window * wb * wb).sum() - mu_b ** 2
        cov = (window * wa * wb).sum() - mu_a * mu_b
        out[c, i, j] = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)
                        / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2)))
    return out.mean(axis=0)


@pytest.mark.parametrize('h, w', [(16, 12), (3, 4), (7, 20)])
def test_ssim_map_is_the_windowed_ssim(rng, h, w):
    # Sizes below the window's radius fold the padding more than once.
    a = image(rng, h, w)
    b = numpy.clip(a + 0.2 * rng.standard_normal(a.shape), 0, 1)
    numpy.testing.assert_allclose(metrics.ssim_map(a, b),
                                  windowed_ssim(a, b), rtol=1e-10, atol=1e-12)


def test_score_swap_ssims_are_ssim_over_the_region_and_the_image(rng):
    x_i, truth, mask_i, mask_j = swap_case(rng)
    x_ij = numpy.clip(truth + 0.1 * rng.standard_normal(truth.shape),
                      0, 1).astype(numpy.float32)
    region = mask_i | mask_j
    s = metrics.score_swap(x_i, x_ij, truth, region.astype(numpy.float32),
                           mask_i, mask_j)
    assert s['changed_ssim'] == metrics.ssim(x_ij, truth, region)
    assert s['print_ssim'] == metrics.ssim(x_ij, truth, mask_j)
    assert s['ssim'] == metrics.ssim(x_ij, truth)
    # The same, from the brute-force windows: the mean over mask_j alone,
    # not over the whole changed region.
    assert s['print_ssim'] == pytest.approx(
        windowed_ssim(x_ij, truth)[mask_j].mean(), rel=1e-10, abs=1e-12)
    assert s['print_ssim'] != s['changed_ssim']


def test_print_ssim_sees_only_the_windows_of_mask_j(rng):
    # Each pixel's SSIM reads its 11x11 window: pixels more than 5 rows or
    # columns away from every pixel of mask_j cannot move print SSIM, while
    # the other scores see them.
    x_i, truth, mask_i, mask_j = swap_case(rng, 32, 24)
    x_ij = numpy.clip(truth + 0.1 * rng.standard_normal(truth.shape),
                      0, 1).astype(numpy.float32)
    alpha = (mask_i | mask_j).astype(numpy.float32)
    s = metrics.score_swap(x_i, x_ij, truth, alpha, mask_i, mask_j)
    rows, cols = numpy.nonzero(mask_j)
    far = numpy.ones(mask_j.shape, bool)
    for r, c in zip(rows, cols):
        far[max(r - 5, 0):r + 6, max(c - 5, 0):c + 6] = False
    assert far.sum() > 100
    away = x_ij.copy()
    away[:, far] = rng.random((3, far.sum()))
    moved = metrics.score_swap(x_i, away, truth, alpha, mask_i, mask_j)
    assert moved['print_ssim'] == pytest.approx(s['print_ssim'], rel=1e-12)
    assert moved['ssim'] < s['ssim']
    # A change inside mask_j does move it.
    inside = x_ij.copy()
    inside[:, mask_j] = rng.random((3, mask_j.sum()))
    changed = metrics.score_swap(x_i, inside, truth, alpha, mask_i, mask_j)
    assert changed['print_ssim'] < s['print_ssim']


def test_ssim_map_shape_and_small_images(rng):
    a, b = image(rng, 16, 16), image(rng, 16, 16)
    assert metrics.ssim_map(a, b).shape == (16, 16)
    tiny = image(rng, 3, 4)   # smaller than the window: padding still works
    assert metrics.ssim_map(tiny, tiny).shape == (3, 4)


def test_ssim_mask_selects_pixels(rng):
    a = image(rng)
    b = a.copy()
    b[:, :, 6:] = rng.random((3, 16, 6))
    mask = numpy.zeros((16, 12), bool)
    mask[:, 6:] = True
    s = metrics.ssim_map(a, b)
    assert metrics.ssim(a, b, mask) == pytest.approx(s[mask].mean())
    assert metrics.ssim(a, b, mask) < metrics.ssim(a, b, ~mask)


def test_psnr_of_a_known_mse():
    a = numpy.zeros((3, 4, 4), numpy.float32)
    b = numpy.full((3, 4, 4), 0.1, numpy.float32)   # MSE 0.01: 20 dB
    assert metrics.psnr(a, b) == pytest.approx(20, abs=1e-4)
    assert metrics.psnr(a, a) == float('inf')


def test_iou():
    p = numpy.array([[True, True], [False, False]])
    t = numpy.array([[True, False], [True, False]])
    assert metrics.iou(p, t) == pytest.approx(1 / 3)
    empty = numpy.zeros((2, 2), bool)
    assert metrics.iou(empty, empty) == 1.0
    assert metrics.iou(p, empty) == 0.0


def test_empty_masks_are_refused(rng):
    a, b = image(rng), image(rng)
    empty = numpy.zeros((16, 12), bool)
    with pytest.raises(ValueError, match='empty'):
        metrics.l1(a, b, empty)
    with pytest.raises(ValueError, match='empty'):
        metrics.ssim(a, b, empty)
    with pytest.raises(ValueError, match='changed region'):
        metrics.score_swap(a, b, b, empty.astype(numpy.float32), empty,
                           empty)
    with pytest.raises(ValueError, match='unchanged region'):
        metrics.score_swap(a, b, b, empty.astype(numpy.float32), ~empty,
                           empty)
    # No new garment: print SSIM is undefined, as the module refuses any
    # score over no pixels (never nan: a mean over swaps would hide it).
    old = numpy.zeros((16, 12), bool)
    old[2:6, 2:6] = True
    for call in (lambda: metrics.score_swap(
                     a, b, b, old.astype(numpy.float32), old, empty),
                 lambda: metrics.do_nothing_scores(a, b, old, empty),
                 lambda: metrics.flat_oracle_scores(a, b, old, empty)):
        with pytest.raises(ValueError, match='mask_j .*empty'):
            call()
    # An empty old mask is still fine: the person wore nothing there.
    s = metrics.score_swap(a, b, b, old.astype(numpy.float32), empty, old)
    assert s['print_ssim'] == pytest.approx(1)


@pytest.mark.parametrize('call, words', [
    (lambda a, b, m: metrics.l1(a, b[:, :8]), 'differ in shape'),
    (lambda a, b, m: metrics.ssim(a, b[:, :8]), 'differ in shape'),
    (lambda a, b, m: metrics.psnr(a[0], b[0]), r'shape \(3, H, W\)'),
    (lambda a, b, m: metrics.l1(a, b, m[:8]), 'mask must have'),
    (lambda a, b, m: metrics.l1(a, b, m.astype(numpy.uint8)), 'bool'),
    (lambda a, b, m: metrics.l1(a, (b * 255).astype(numpy.uint8)), 'float'),
    (lambda a, b, m: metrics.iou(m, m[:8]), 'pred must have'),
    (lambda a, b, m: metrics.score_swap(a, b, b[:, :8], m, m, m),
     'x_ij and truth differ'),
    (lambda a, b, m: metrics.score_swap(a[:, :8], b, b, m, m, m),
     'x_i and x_ij differ'),
    (lambda a, b, m: metrics.score_swap(a, b, b, m[:8], m, m), 'alpha'),
    (lambda a, b, m: metrics.score_swap(a, b, b, m, m[:8], m), 'mask_i'),
])
def test_shapes_are_validated(rng, call, words):
    a, b = image(rng), image(rng)
    m = numpy.zeros((16, 12), bool)
    m[2:5, 2:5] = True
    with pytest.raises(ValueError, match=words):
        call(a, b, m)


def test_nan_pixels_are_refused(rng):
    a = image(rng)
    b = a.copy()
    b[0, 0, 0] = numpy.nan
    with pytest.raises(ValueError, match='NaN'):
        metrics.l1(a, b)


def test_mean_scores():
    s = metrics.mean_scores([{'x': 1.0, 'y': 2.0}, {'y': 4.0, 'x': 3.0}])
    assert s == {'x': 2.0, 'y': 3.0}
    with pytest.raises(ValueError, match='no scores'):
        metrics.mean_scores([])
    with pytest.raises(ValueError, match='keys'):
        metrics.mean_scores([{'x': 1.0}, {'y': 1.0}])


def test_cycle_and_self_error(rng):
    a, b = image(rng), image(rng)
    assert metrics.cycle_error(a, a) == 0
    assert metrics.self_error(a, a) == 0
    assert metrics.cycle_error(a, b) == pytest.approx(metrics.l1(a, b))
    assert metrics.self_error(a, b) == pytest.approx(metrics.l1(a, b))
