"""Comparing floats computed two ways, with tolerances that hold on every CPU.

Two correct routes to one float32 result (our kernels and Chainer's, the CPU
and a GPU, one process and two ranks) add the same terms in other orders,
and so does one route on two CPUs: OpenBLAS picks its kernels (Haswell,
SkylakeX, Zen, ...) when it loads. Each order rounds by a few units in the
last place of the *terms and partial sums*, not of the result. Where a
result is a near-cancellation of large terms, that is a large fraction of
it, so an element-wise relative tolerance passes on one CPU and fails on
another. The tolerance here is relative to the magnitude of what was summed,
``|actual - expected| <= rtol * scale``, where ``scale`` is

* the sum of ``|terms|`` of each element, when the caller can compute it (for
  a convolution: the same convolution of ``|x|`` and ``|W|``, plus ``|b|``):
  the bound that rounding obeys whatever the order; or, by default,
* the largest ``|expected|`` of the whole array: one scale for the array, so
  that a near-zero element is held to the error of its large neighbours.

Either still catches a real bug, which moves a result by a sizeable fraction
of its terms (a dropped bias, a wrong phase, a transposed weight).
"""

import numpy
from chainer.functions.normalization.group_normalization import (
    GroupNormalization)

from cagan.graph import CONVOLUTIONS, DECONVOLUTIONS, forward_nodes
from cagan.kernels.normalization import InstanceNormalization

#: Default ``rtol`` by the dtype compared. float32: about 170 units in the
#: last place (2**-24) of the scale; float64 the same number of its own
#: units; float16 a few of its units of 2**-11.
RTOL = {numpy.dtype(numpy.float16): 1e-2,
        numpy.dtype(numpy.float32): 1e-5,
        numpy.dtype(numpy.float64): 2e-14}

#: Whole networks in float32, in units of each array's largest value. Their
#: rounding is carried through several layers, and instance norm divides by
#: a standard deviation of rounded sums: measured across seven OpenBLAS
#: kernels, outputs differ by at most 3e-6 of their largest value, and
#: gradients (sums over the batch and the image of products of those) by
#: 7e-5: about 30 and 14 times below these.
NETWORK_OUTPUT_RTOL = 1e-4
NETWORK_GRADIENT_RTOL = 1e-3


def _host(a):
    """A NumPy array of ``a`` (a NumPy or CuPy array, a Variable, a number)."""
    a = getattr(a, 'array', a)
    if hasattr(a, 'get'):  # CuPy: kept out of this module's imports
        a = a.get()
    return numpy.asarray(a)


def error(actual, expected, scale=None):
    """The largest ``|actual - expected|`` in units of ``scale``.

    Args:
        actual, expected (array-like): same shape; NumPy or CuPy arrays,
            Variables or numbers.
        scale (array-like or float or None): the magnitude of what was
            summed: an array broadcastable to ``expected`` (the sum of
            ``|terms|`` of each element), one number, or ``None`` for the
            largest ``|expected|``.

    Returns:
        float: 0 for equal arrays; ``inf`` where they differ and the scale is
        0, or where one is NaN or infinite and the other not.
    """
    actual, expected = _host(actual), _host(expected)
    if actual.shape != expected.shape:
        raise AssertionError('shapes differ: {} and {}'.format(
            actual.shape, expected.shape))
    if actual.size == 0:
        return 0.0
    a, e = actual.astype(numpy.float64), expected.astype(numpy.float64)
    same = (a == e) | (numpy.isnan(a) & numpy.isnan(e))
    if scale is None:
        finite = e[numpy.isfinite(e)]
        scale = numpy.abs(finite).max() if finite.size else 0.0
    scale = numpy.broadcast_to(_host(scale).astype(numpy.float64), e.shape)
    with numpy.errstate(divide='ignore', invalid='ignore'):
        scaled = numpy.where(same, 0.0, numpy.abs(a - e) / scale)
    scaled[~same & ~numpy.isfinite(scaled)] = numpy.inf
    return float(scaled.max())


def assert_allclose(actual, expected, rtol=None, scale=None, err_msg=''):
    """Assert ``|actual - expected| <= rtol * scale`` element-wise.

    Args:
        actual, expected (array-like): same shape (see :func:`error`).
        rtol (float or None): tolerance in units of ``scale``; ``None`` for
            :data:`RTOL` of ``expected``'s dtype.
        scale: see :func:`error`.
        err_msg (str): prefix of the failure message.

    Raises:
        AssertionError: naming the error, the tolerance and the scale used.
    """
    expected_dtype = _host(expected).dtype
    if rtol is None:
        rtol = RTOL.get(expected_dtype, RTOL[numpy.dtype(numpy.float32)])
    found = error(actual, expected, scale)
    if not found <= rtol:
        raise AssertionError(
            '{}{} differs from the expected by {:.3g} of {}, more than the '
            'tolerance {:.3g}'.format(
                err_msg + ': ' if err_msg else '', expected_dtype, found,
                'its largest |expected|' if scale is None
                else 'the given scale', rtol))


def _is_instance_norm(node):
    """Whether a function node normalises each channel of each sample:
    the kernels' instance norm, or Chainer's group norm with one group per
    channel."""
    if isinstance(node, InstanceNormalization):
        return True
    return (isinstance(node, GroupNormalization) and
            node.groups == node.inputs[0].shape[1])


def parameter_roles(link, x=None):
    """Which of ``link``'s parameters its forward pass uses, and which of
    those are biases that instance norm cancels, from the graph of one
    forward pass.

    A bias is cancelled when it is the ``b`` of a convolution (or
    deconvolution) node whose output goes straight into an instance norm:
    the norm subtracts each channel's mean over each sample, so a constant
    per-channel shift leaves its output unchanged and the bias's gradient is
    zero in exact arithmetic. In floats it is rounding noise, exactly zero
    on some CPUs and not on others.

    Args:
        link (chainer.Link): a network.
        x: its input, or None (see :func:`cagan.graph.forward_nodes`,
            which leaves the link as it was).

    Returns:
        tuple: ``(used, cancelled)``, two sets of parameter names as
        ``link.namedparams()`` gives them (``'/c1/b'``); ``cancelled`` is a
        subset of ``used``.
    """
    names = {id(p.node): name for name, p in link.namedparams()}
    used, cancelled = set(), set()
    convolutions = CONVOLUTIONS + DECONVOLUTIONS
    for node in forward_nodes(link, x):
        used.update(names[id(v)] for v in node.inputs if id(v) in names)
        if not _is_instance_norm(node):
            continue
        conv = node.inputs[0].creator_node
        if (isinstance(conv, convolutions) and len(conv.inputs) == 3
                and id(conv.inputs[2]) in names):
            cancelled.add(names[id(conv.inputs[2])])
    return used, cancelled


def cancelled_biases(link, x=None, prefix=''):
    """The names of ``link``'s biases that instance norm cancels (see
    :func:`parameter_roles`), each after ``prefix`` (``'gen'`` gives
    ``'gen/c1/b'``)."""
    return {prefix + name for name in parameter_roles(link, x)[1]}


def assert_gradients_as_the_maths_says(link, x=None, rtol=NETWORK_GRADIENT_RTOL):
    """After a backward pass through ``link``: every parameter its forward
    pass uses has a gradient, nonzero unless instance norm cancels it; a
    cancelled bias's gradient is zero to ``rtol`` of the largest gradient
    of its layer's weight ``W`` (the same sum over the batch and the
    image, weighted by the layer's inputs); unused parameters have none.

    Args:
        link (chainer.Link): a network whose parameters hold the gradients.
        x: an input of ``link`` (see :func:`parameter_roles`).
        rtol (float): the cancelled biases' tolerance.
    """
    used, cancelled = parameter_roles(link, x)
    params = dict(link.namedparams())
    for name, param in sorted(params.items()):
        grad = param.grad
        if name not in used:
            assert grad is None, '{} is unused but has a gradient'.format(name)
            continue
        assert grad is not None, '{} has no gradient'.format(name)
        largest = float(numpy.abs(_host(grad)).max())
        if name in cancelled:
            weight = params[name[:-len('b')] + 'W'].grad
            assert_allclose(grad, numpy.zeros_like(_host(grad)), rtol,
                            scale=numpy.abs(_host(weight)).max(),
                            err_msg=name + ' (cancelled by instance norm)')
        else:
            assert largest > 0, '{}: its gradient is zero'.format(name)


def assert_gradients_close(ours, theirs, cancelled,
                           rtol=NETWORK_GRADIENT_RTOL):
    """Two routes' parameter gradients of one network agree to rounding.

    Each array is held to its own largest value, except the ``cancelled``
    biases (:func:`cancelled_biases`), which are rounding noise in both
    routes: they are held to the network's largest gradient.

    Args:
        ours, theirs (dict): parameter name -> gradient array, same names.
        cancelled (set): the names among them that instance norm cancels.
        rtol (float): see :func:`assert_allclose`.
    """
    assert sorted(ours) == sorted(theirs) and theirs, (sorted(ours),
                                                        sorted(theirs))
    largest = max(numpy.abs(_host(g)).max() for g in theirs.values())
    noise = set(cancelled) & set(theirs)
    for name in sorted(theirs):
        assert_allclose(ours[name], theirs[name], rtol, err_msg=name,
                        scale=largest if name in noise else None)
