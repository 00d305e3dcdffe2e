"""CAGAN's objective as small pure functions (Jetchev & Bergmann, 2017, eq. 1-4).

Discriminator logits ``d`` are log-odds that a (human, article) pair is real,
``D = sigmoid(d)``. Every adversarial term is a binary cross-entropy on logits,
computed stably for any value (no overflow at +-100 or beyond, forward or
backward), and averaged over the batch and, for a PatchGAN map, over its
positions (the paper's sum over lambda, mu, divided by their count).

The reference article writes the fake terms as ``(1 - log D)``; the intended term,
the paper's and the one here, is ``log(1 - D)``.

:func:`supervised_loss` is not CAGAN's: it is the supervised reference's
L1 to the true swap (``train.mode: supervised``), an upper bound.
:func:`r1_penalty` is not CAGAN's either: a stabiliser of D's step
(``loss.gamma_r1``).
"""

import chainer
import chainer.functions as F
import numpy

from cagan import _compat


def _bce(logits, real):
    t = logits.xp.full(logits.shape, int(real), dtype=numpy.int32)
    return F.sigmoid_cross_entropy(logits, t)  # mean over every element


def adversarial_real(logits):
    """``-E[log D]``: pushes logits towards "real".

    D's loss on true pairs D(x_i, y_i), and G's adversarial loss on
    D(x_ij, y_j) (the non-saturating form of minimising log(1 - D)).

    Args:
        logits: float32 ``(B, 1)`` or ``(B, 1, h, w)``.

    Returns:
        ~chainer.Variable: float32 scalar, ``mean(softplus(-logits))``.
    """
    return _bce(logits, True)


def adversarial_fake(logits):
    """``-E[log(1 - D)]``: pushes logits towards "fake".

    D's loss on generated pairs D(x_ij, y_j) and mismatched pairs D(x_i, y_j).

    Returns:
        ~chainer.Variable: float32 scalar, ``mean(softplus(logits))``.
    """
    return _bce(logits, False)


def dis_loss(d_real, d_fake, d_wrong):
    """L_cGAN for D, as a loss to minimise (the negated eq. 2):

    .. math::
        -\\mathbb{E}[\\log D(x_i, y_i)] - \\mathbb{E}[\\log(1 - D(x_{ij}, y_j))]
        - \\mathbb{E}[\\log(1 - D(x_i, y_j))]

    Returns:
        tuple: the total and its ``real``, ``fake``, ``wrong`` terms, float32
        scalar Variables.
    """
    real = adversarial_real(d_real)
    fake = adversarial_fake(d_fake)
    wrong = adversarial_fake(d_wrong)
    return real + fake + wrong, real, fake, wrong


def r1_penalty(d_real, x_real):
    """R1, a gradient penalty on real data (Mescheder, Geiger and Nowozin,
    "Which Training Methods for GANs do actually Converge?", ICML 2018,
    eq. 9), without its weight: a stabiliser of D's step, not CAGAN's.

    .. math::
        \\frac{1}{2} \\mathbb{E}_{x \\sim p_{real}}
        \\|\\nabla_x D(x)\\|^2

    so that ``gamma * r1_penalty(...)`` is the paper's ``R1`` with weight
    ``gamma``. ``D(x)`` is the logit before the sigmoid (the paper's
    ``D_psi``), and ``x`` the whole input D read: for CAGAN, the
    6-channel real pair (x_i, y_i), person and article, as R1 is defined
    on D's input. For a patch head, ``D(x)`` of a sample is the mean of
    its logits over positions, as the adversarial terms average over
    them: the penalty keeps the scale of the linear head's (one logit),
    whatever the number of patches. The expectation is the mean over the
    batch of each sample's squared norm, summed over the input's
    channels and pixels. One gradient of the batch's summed (mean)
    logits gives every sample's own gradient, as D treats samples
    independently (instance norm and noise are per sample).

    The gradient is taken with double backprop (``chainer.grad(...,
    enable_double_backprop=True)``), so that the penalty's own gradient
    reaches D's weights; :func:`cagan._compat.fix_double_backprop` mends
    the two bugs of Chainer 7.8.1 it meets.

    Args:
        d_real: float ``(B, 1)`` or ``(B, 1, h, w)`` logits, computed from
            ``x_real``.
        x_real (~chainer.Variable): ``(B, C, H, W)``, what D read.

    Returns:
        ~chainer.Variable: scalar of ``x_real``'s dtype.
    """
    _compat.fix_double_backprop()
    batch = d_real.shape[0]
    positions = d_real.size // batch
    grad, = chainer.grad([F.sum(d_real) / positions], [x_real],
                         enable_double_backprop=True)
    return 0.5 * F.sum(grad * grad) / batch


def cycle_loss(x_i, x_iji):
    """L_cyc = E ||x_i - x_iji||_1, with x_iji = G(G(x_i, y_i, y_j), y_j, y_i).

    Args:
        x_i, x_iji: float32 ``(B, 3, H, W)`` in [0, 1].

    Returns:
        ~chainer.Variable: float32 scalar, the mean absolute difference.
    """
    return F.mean_absolute_error(x_i, x_iji)


def id_loss(alpha):
    """L_id = E ||alpha_i^j||_1: keeps the repainted region small.

    Only the first pass's ``alpha_i^j`` counts, as in the paper's eq. 4 and
    the reference article's formula: the cycle pass's alpha is already held by the cycle
    loss, which needs it free to undo the first swap exactly.

    Args:
        alpha: float32 ``(B, 1, H, W)`` in [0, 1].

    Returns:
        ~chainer.Variable: float32 scalar, ``mean(|alpha|)``.
    """
    return F.mean(F.absolute(alpha))


def gen_loss(loss_adv, loss_cyc, loss_id, gamma_adv=1.0, gamma_cyc=1.0,
             gamma_id=0.1):
    """G's total: gamma_adv L_adv + gamma_cyc L_cyc + gamma_id L_id.

    The defaults are the reference article's and the paper's weights, 1 : 1 : 0.1.
    """
    return gamma_adv * loss_adv + gamma_cyc * loss_cyc + gamma_id * loss_id


def matching_pyramid_loss(x_levels, warped, m_y, coverage=0.25):
    """:func:`matching_loss` averaged over blur levels: each level's
    blurred person ``x_levels[k]`` against its warped blurred article and
    silhouette ``warped[k]`` (:meth:`cagan.links.warp.Warp.pyramid`).

    Returns:
        ~chainer.Variable: float32 scalar.
    """
    terms = [matching_loss(x, w, m, m_y, coverage)
             for x, (w, m) in zip(x_levels, warped)]
    return sum(terms) / len(terms)


def matching_loss(x_i, w, m, m_y, coverage=0.25):
    """The warp's matching term on a true pair (not CAGAN's): CP-VTON's
    geometric matching loss (Wang et al., ECCV 2018, eq. 1), the L1 between
    the worn article warped onto the person and the person, with the
    product photo's own silhouette (:func:`cagan.links.warp.silhouette`)
    standing in for a human parser's cloth mask:

    .. math::
        \\frac{\\sum m \\odot |w - x_i|}{3 \\sum m}
        + \\frac{\\max(0, c\\,|m_y| - |m|)}{c\\,|m_y|}

    per sample, averaged over the batch, where ``w, m = warp(x_i, y_i)``
    and ``|.|`` is an area. Divided by the warped silhouette's area, the
    L1 does not reward moving the article off the person; the second,
    coverage term stops the warp from shrinking it to a well-matched speck
    (below ``coverage`` of the article's own area).

    Args:
        x_i: float32 ``(B, 3, H, W)`` in [0, 1], the person.
        w: float32 ``(B, 3, H, W)``, the worn article ``y_i`` warped onto
            ``x_i``.
        m: float32 ``(B, 1, H, W)`` in [0, 1], its warped silhouette.
        m_y: float32 ``(B, 1, H, W)`` in [0, 1], the silhouette in the
            product photo (a constant).
        coverage (float): the area below which the penalty starts, as a
            fraction of the article's.

    Returns:
        ~chainer.Variable: float32 scalar.
    """
    eps = 1e-6
    diff = F.sum(F.broadcast_to(m, w.shape) * F.absolute(w - x_i),
                 axis=(1, 2, 3))
    match = diff / (3 * F.sum(m, axis=(1, 2, 3)) + eps)
    floor = coverage * F.mean(m_y, axis=(1, 2, 3)).array + eps
    shrink = F.relu(floor - F.mean(m, axis=(1, 2, 3))) / floor
    return F.mean(match + shrink)


def supervised_loss(x_ij, truth):
    """The supervised reference's loss, E ||x_ij - truth||_1: L1 to the true
    swap.

    Not CAGAN's objective (CAGAN never sees the true swap, which real
    photos do not have): it trains the same generator as far as it can go
    at a size and budget, an upper bound for CAGAN's result.

    Args:
        x_ij: float32 ``(B, 3, H, W)`` in [0, 1], the generator's swap.
        truth: float32 ``(B, 3, H, W)`` in [0, 1], the person truly wearing
            y_j.

    Returns:
        ~chainer.Variable: float32 scalar, the mean absolute difference.
    """
    return F.mean_absolute_error(x_ij, truth)
