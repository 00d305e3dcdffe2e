"""Scoring swaps, pure NumPy, one image at a time.

Images are NumPy float RGB ``(3, H, W)`` in [0, 1] (float32 as the networks
give them; any float dtype is accepted and scores are computed in float64),
masks are bool ``(H, W)``. Every score is a plain Python ``float`` so that a
dict of scores goes straight to JSON; the only non-finite value any function
returns is :func:`psnr`'s ``inf`` for identical images. Inputs that would make
a score undefined (an empty mask, NaN pixels, mismatched shapes) raise
``ValueError`` instead of returning ``nan``.

With ground truth (a true ``x_ij``, e.g. the synthetic set), use
:func:`score_swap` and :func:`do_nothing_scores`; without it, the paper's
:func:`cycle_error` and :func:`self_error`.
"""

import functools

import numpy

#: SSIM constants of Wang et al. (2004), for a data range of 1.
SSIM_K1, SSIM_K2 = 0.01, 0.03
#: Gaussian window of Wang et al.: 11 taps, sigma 1.5.
SSIM_WINDOW, SSIM_SIGMA = 11, 1.5

#: Keys of :func:`score_swap`'s dict, in order.
SWAP_KEYS = ('changed_l1', 'changed_ssim', 'alpha_iou', 'outside_l1',
             'print_ssim', 'ssim', 'psnr')


def _image(a, name):
    a = numpy.asarray(a)
    if a.ndim != 3 or a.shape[0] != 3:
        raise ValueError('{} must be an RGB image of shape (3, H, W), got '
                         'shape {}'.format(name, a.shape))
    if a.dtype.kind != 'f':
        raise ValueError('{} must be a float image in [0, 1], got dtype {}'
                         .format(name, a.dtype))
    if not numpy.isfinite(a).all():
        raise ValueError('{} has NaN or infinite pixels'.format(name))
    return a.astype(numpy.float64)


def _pair(a, b, names=('a', 'b')):
    a, b = _image(a, names[0]), _image(b, names[1])
    if a.shape != b.shape:
        raise ValueError('{} and {} differ in shape: {} vs {}'.format(
            names[0], names[1], a.shape, b.shape))
    return a, b


def _mask(mask, shape, name='mask', allow_empty=False):
    mask = numpy.asarray(mask)
    if mask.dtype != numpy.bool_:
        # Refused rather than cast: a float alpha or a 0/255 map passed by
        # mistake would otherwise be scored silently.
        raise ValueError('{} must be a bool array, got dtype {}'.format(
            name, mask.dtype))
    if mask.shape != tuple(shape):
        raise ValueError('{} must have the images\' shape (H, W) = {}, got {}'
                         .format(name, tuple(shape), mask.shape))
    if not allow_empty and not mask.any():
        raise ValueError('{} is empty: there are no pixels to score'.format(
            name))
    return mask


def l1(a, b, mask=None):
    """Mean absolute error over the channels and the masked pixels.

    Args:
        a, b (numpy.ndarray): float ``(3, H, W)`` in [0, 1].
        mask (numpy.ndarray): bool ``(H, W)``, the pixels to score; ``None``
            scores all of them.

    Returns:
        float: in [0, 1]; 0 for identical images.

    Raises:
        ValueError: mismatched shapes, a non-bool or empty mask, non-finite
            pixels.
    """
    a, b = _pair(a, b)
    error = numpy.abs(a - b).mean(axis=0)
    if mask is None:
        return float(error.mean())
    return float(error[_mask(mask, error.shape)].mean())


def _gaussian(size=SSIM_WINDOW, sigma=SSIM_SIGMA):
    x = numpy.arange(size, dtype=numpy.float64) - (size - 1) / 2
    w = numpy.exp(-x ** 2 / (2 * sigma ** 2))
    return w / w.sum()


@functools.lru_cache(maxsize=16)
def _blur_matrix(n, size=SSIM_WINDOW, sigma=SSIM_SIGMA):
    """The Gaussian filter along an axis of length ``n`` as an ``(n, n)``
    matrix: ``out = M @ column``. Edges are padded symmetrically (``d c b a
    | a b c d``; scipy.ndimage's ``'reflect'``, as scikit-image's Gaussian
    SSIM does), so the map covers every pixel and a mask can be applied to
    it; numpy's ``'symmetric'`` folds repeatedly, so axes shorter than the
    radius work too. A product rather than 11 shifted adds: a few GEMMs per
    image instead of a hundred array copies."""
    weights = _gaussian(size, sigma)
    r = size // 2
    # Each padded position reads the source index numpy.pad maps it to.
    source = numpy.pad(numpy.arange(n), (r, r), mode='symmetric')
    matrix = numpy.zeros((n, n))
    for k, w in enumerate(weights):
        numpy.add.at(matrix, (numpy.arange(n), source[k:k + n]), w)
    matrix.setflags(write=False)
    return matrix


def _blur(planes):
    """Separable Gaussian filter (:func:`_blur_matrix`) over the last two
    axes of float64 ``planes`` (..., H, W), same size out."""
    h, w = planes.shape[-2:]
    return _blur_matrix(h) @ planes @ _blur_matrix(w).T


def ssim_map(a, b):
    """Local structural similarity (Wang et al., 2004) at every pixel.

    Gaussian window 11x11 with sigma 1.5, ``K1 = 0.01``, ``K2 = 0.03``, data
    range 1, population (not sample) variances, computed per channel and
    averaged over the channels. Edges are padded symmetrically (mirror with
    the edge pixel repeated) rather than cropped, so the map has the images'
    size and works for images as small as a few pixels; it therefore differs
    from a ``'valid'`` implementation near the border.

    Args:
        a, b (numpy.ndarray): float ``(3, H, W)`` in [0, 1].

    Returns:
        numpy.ndarray: float64 ``(H, W)`` in [-1, 1]; 1 where ``a == b``.

    Raises:
        ValueError: mismatched shapes, non-finite pixels.
    """
    a, b = _pair(a, b)
    c1, c2 = SSIM_K1 ** 2, SSIM_K2 ** 2
    # The five blurred planes in one product each way.
    mu_a, mu_b, aa, bb, ab = _blur(numpy.stack((a, b, a * a, b * b, a * b)))
    var_a = aa - mu_a * mu_a
    var_b = bb - mu_b * mu_b
    cov = ab - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)
         / ((mu_a * mu_a + mu_b * mu_b + c1) * (var_a + var_b + c2)))
    return s.mean(axis=0)


def ssim(a, b, mask=None):
    """Mean SSIM (see :func:`ssim_map`), over the masked pixels if given.

    Args:
        a, b (numpy.ndarray): float ``(3, H, W)`` in [0, 1].
        mask (numpy.ndarray): bool ``(H, W)``, or ``None`` for every pixel.
            The windows still see the pixels around the mask.

    Returns:
        float: in [-1, 1]; 1 for identical images.

    Raises:
        ValueError: mismatched shapes, a non-bool or empty mask, non-finite
            pixels.
    """
    s = ssim_map(a, b)
    if mask is None:
        return float(s.mean())
    return float(s[_mask(mask, s.shape)].mean())


def psnr(a, b):
    """Peak signal-to-noise ratio in dB, data range 1: ``-10 log10(MSE)``.

    Args:
        a, b (numpy.ndarray): float ``(3, H, W)`` in [0, 1].

    Returns:
        float: ``float('inf')`` for identical images (callers that write JSON
        format it themselves); otherwise finite, at least 0 for inputs in
        [0, 1].

    Raises:
        ValueError: mismatched shapes, non-finite pixels.
    """
    a, b = _pair(a, b)
    mse = float(numpy.mean((a - b) ** 2))
    if mse == 0:
        return float('inf')
    return float(-10 * numpy.log10(mse))


def iou(pred, true):
    """Intersection over union of two masks.

    Args:
        pred, true (numpy.ndarray): bool ``(H, W)``.

    Returns:
        float: in [0, 1]; 1.0 when both masks are empty (they agree).

    Raises:
        ValueError: non-bool masks or mismatched shapes.
    """
    true = numpy.asarray(true)
    if true.ndim != 2:
        raise ValueError('true must be a mask of shape (H, W), got shape {}'
                         .format(true.shape))
    pred = _mask(pred, true.shape, 'pred', allow_empty=True)
    true = _mask(true, true.shape, 'true', allow_empty=True)
    union = numpy.count_nonzero(pred | true)
    if union == 0:
        return 1.0
    return numpy.count_nonzero(pred & true) / union


def score_swap(x_i, x_ij, truth, alpha, mask_i, mask_j):
    """Scores of one swap against its ground truth.

    The changed region is ``mask_i | mask_j``: where the old article was and
    where the new one should be; everything else should stay as it is.

    Args:
        x_i (numpy.ndarray): float ``(3, H, W)`` in [0, 1], the input photo.
        x_ij (numpy.ndarray): float ``(3, H, W)`` in [0, 1], the model's
            output.
        truth (numpy.ndarray): float ``(3, H, W)`` in [0, 1], the true
            ``x_ij``.
        alpha (numpy.ndarray): float ``(H, W)`` in [0, 1], the model's
            repainted region.
        mask_i, mask_j (numpy.ndarray): bool ``(H, W)``, the articles' pixels
            in ``x_i`` and in ``truth``.

    Returns:
        dict: Python floats, keys :data:`SWAP_KEYS`:

        * ``changed_l1``, ``changed_ssim``: ``x_ij`` vs ``truth`` inside the
          region (:func:`l1`, :func:`ssim`).
        * ``alpha_iou``: :func:`iou` of ``alpha > 0.5`` and the region.
        * ``outside_l1``: ``x_ij`` vs ``truth`` outside the region (damage
          to what should stay).
        * ``print_ssim``: SSIM to the true swap inside the true new
          garment's mask ``mask_j``: whether prints arrive; changed-region
          L1 rewards blur over slightly misregistered stripes.
        * ``ssim``, ``psnr``: ``x_ij`` vs ``truth`` over the whole image;
          ``psnr`` is ``inf`` for a perfect swap.

    Raises:
        ValueError: mismatched shapes, non-finite pixels, an empty region, a
            region covering the whole image (nothing outside it to score),
            or an empty ``mask_j`` (no new garment for ``print_ssim``).
    """
    _image(x_i, 'x_i')
    x_ij, truth = _pair(x_ij, truth, ('x_ij', 'truth'))
    if numpy.shape(x_i) != x_ij.shape:
        raise ValueError('x_i and x_ij differ in shape: {} vs {}'.format(
            numpy.shape(x_i), x_ij.shape))
    hw = x_ij.shape[1:]
    alpha = numpy.asarray(alpha)
    if alpha.shape != hw:
        raise ValueError('alpha must have the images\' shape (H, W) = {}, '
                         'got {}'.format(hw, alpha.shape))
    region = (_mask(mask_i, hw, 'mask_i', allow_empty=True)
              | _mask(mask_j, hw, 'mask_j', allow_empty=True))
    _mask(region, hw, 'the changed region mask_i | mask_j')
    _mask(~region, hw, 'the unchanged region ~(mask_i | mask_j)')
    mask_j = _mask(mask_j, hw, 'mask_j (the new article)')
    # One SSIM map serves every SSIM score.
    ssim_pixels = ssim_map(x_ij, truth)
    return {
        'changed_l1': l1(x_ij, truth, region),
        'changed_ssim': float(ssim_pixels[region].mean()),
        'alpha_iou': iou(alpha > 0.5, region),
        'outside_l1': l1(x_ij, truth, ~region),
        'print_ssim': float(ssim_pixels[mask_j].mean()),
        'ssim': float(ssim_pixels.mean()),
        'psnr': psnr(x_ij, truth),
    }


def do_nothing_scores(x_i, truth, mask_i, mask_j):
    """:func:`score_swap` of the do-nothing baseline: ``x_ij = x_i``,
    ``alpha = 0``.

    A model is only worth its weights where it beats these numbers.

    Args:
        x_i, truth (numpy.ndarray): float ``(3, H, W)`` in [0, 1].
        mask_i, mask_j (numpy.ndarray): bool ``(H, W)``.

    Returns:
        dict: as :func:`score_swap`; ``alpha_iou`` is 0.
    """
    alpha = numpy.zeros(numpy.shape(x_i)[1:], numpy.float32)
    return score_swap(x_i, x_i, truth, alpha, mask_i, mask_j)


def flat_oracle_scores(x_i, truth, mask_i, mask_j):
    """:func:`score_swap` of a *flat-colour oracle*: a reference from above.

    It knows the true outline: ``alpha`` is the changed region, the new
    article's pixels get their mean true colour and the rest of the region
    (skin or background where the old article was) its mean true colour;
    everything else stays ``x_i``. A model that places the garment exactly
    but paints no print, shading or edge scores about this; a score beyond
    it needs detail. On the synthetic test split its changed-region L1 is
    about 0.4 of doing nothing's.

    Args:
        x_i, truth (numpy.ndarray): float ``(3, H, W)`` in [0, 1].
        mask_i, mask_j (numpy.ndarray): bool ``(H, W)``.

    Returns:
        dict: as :func:`score_swap`; ``alpha_iou`` is 1.
    """
    x_i = _image(x_i, 'x_i')
    truth = _image(truth, 'truth')
    hw = truth.shape[1:]
    mask_i = _mask(mask_i, hw, 'mask_i', allow_empty=True)
    mask_j = _mask(mask_j, hw, 'mask_j', allow_empty=True)
    region = mask_i | mask_j
    x_ij = x_i.copy()
    for part in (mask_j, region & ~mask_j):
        if part.any():
            x_ij[:, part] = truth[:, part].mean(axis=1, keepdims=True)
    return score_swap(x_i, x_ij, truth, region.astype(numpy.float32),
                      mask_i, mask_j)


def mean_scores(scores):
    """Average each key over a list of score dicts.

    Args:
        scores (list of dict): dicts with the same keys and float values, as
            :func:`score_swap` returns.

    Returns:
        dict: key to Python float mean, keys in the first dict's order. A
        mean over values that include ``inf`` (an identical pair's ``psnr``)
        is ``inf``.

    Raises:
        ValueError: an empty list, or dicts with different keys.
    """
    scores = list(scores)
    if not scores:
        raise ValueError('no scores to average')
    keys = list(scores[0])
    for n, s in enumerate(scores):
        if set(s) != set(keys):
            raise ValueError('score dict {} has keys {}, the first has {}'
                             .format(n, sorted(s), sorted(keys)))
    return {k: float(numpy.mean([float(s[k]) for s in scores]))
            for k in keys}


def cycle_error(x_i, x_iji):
    """The paper's cycle error: mean L1 of ``x_i`` and ``x_iji``, the photo
    swapped to ``y_j`` and back to ``y_i``.

    Args:
        x_i, x_iji (numpy.ndarray): float ``(3, H, W)`` in [0, 1].

    Returns:
        float: in [0, 1]; 0 when the round trip restores the photo.
    """
    return l1(x_i, x_iji)


def self_error(x_i, x_ii):
    """The paper's self error: mean L1 of ``x_i`` and ``x_ii``, the photo
    "swapped" to the article it already wears.

    Args:
        x_i, x_ii (numpy.ndarray): float ``(3, H, W)`` in [0, 1].

    Returns:
        float: in [0, 1]; 0 when the generator leaves the photo alone.
    """
    return l1(x_i, x_ii)
