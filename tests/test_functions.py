"""cagan.functions: the fast CPU layers agree with Chainer's own functions."""

import chainer
import chainer.functions as F
import numpy
import pytest

from cagan import Discriminator, Generator, InstanceNormalization
from cagan import functions, testing
from cagan.links import discriminator, generator

pytestmark = pytest.mark.numerics

# (batch, in channels, out channels, height, width) of the convolution's
# input; the deconvolution takes the same numbers as (B, C_in, C_out, h, w).
SHAPES = [(1, 3, 5, 8, 6), (3, 4, 2, 6, 8), (2, 9, 8, 16, 16),
          (3, 1, 1, 2, 2), (1, 7, 33, 4, 10)]


def values(rng, shape, dtype=numpy.float32):
    return rng.standard_normal(shape).astype(dtype)


def forward_backward(fn, x, W, b, gy, **kwargs):
    """Output and the gradients of x, W (and b) for output gradient gy."""
    xv, Wv = chainer.Variable(x.copy()), chainer.Variable(W.copy())
    bv = None if b is None else chainer.Variable(b.copy())
    y = fn(xv, Wv, bv, 2, 1, **kwargs)
    y.grad = gy.copy()
    y.backward()
    return [y.array, xv.grad, Wv.grad] + ([] if b is None else [bv.grad])


def magnitudes(fn, x, W, b, gy, **kwargs):
    """What :func:`forward_backward` sums, per element of each result: the
    same products of absolute values, in float64 (a convolution of |x| and
    |W| plus |b|, and so on for the gradients)."""
    return forward_backward(fn, *(None if a is None else
                                  numpy.abs(a).astype(numpy.float64)
                                  for a in (x, W, b, gy)), **kwargs)


def assert_close(ours, theirs, scales=None):
    """Each array of ``ours`` is ``theirs`` to rounding: within a tolerance
    of the magnitude of what was summed (``scales``, from
    :func:`magnitudes`) or, without them, of its largest value."""
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        assert a.shape == b.shape and a.dtype == b.dtype
        testing.assert_allclose(a, b, scale=None if scales is None
                                else scales[k], err_msg='result {}'.format(k))


def assert_matches(ours, theirs, x, W, b, gy, **kwargs):
    """``ours`` and ``theirs`` (two convolutions) agree in output and
    gradients, to the rounding of the terms each element sums."""
    assert_close(forward_backward(ours, x, W, b, gy, **kwargs),
                 forward_backward(theirs, x, W, b, gy, **kwargs),
                 magnitudes(theirs, x, W, b, gy, **kwargs))


@pytest.fixture(params=['phases', 'col2im'])
def form(request, monkeypatch):
    """Run a test with each form of the gradients (see _GradX)."""
    monkeypatch.setattr(functions, '_use_phases',
                        lambda *args: request.param == 'phases')
    return request.param


@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('bias', [True, False])
@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_convolution_matches_chainer(rng, form, shape, bias, dtype):
    B, C, O, H, W = shape
    x, w = values(rng, (B, C, H, W), dtype), values(rng, (O, C, 4, 4), dtype)
    b = values(rng, (O,), dtype) if bias else None
    gy = values(rng, (B, O, H // 2, W // 2), dtype)
    assert_matches(functions.convolution_2d, F.convolution_2d, x, w, b, gy)


@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('bias', [True, False])
@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_deconvolution_matches_chainer(rng, form, shape, bias, dtype):
    B, C, O, h, w = shape
    x, W = values(rng, (B, C, h, w), dtype), values(rng, (C, O, 4, 4), dtype)
    b = values(rng, (O,), dtype) if bias else None
    gy = values(rng, (B, O, 2 * h, 2 * w), dtype)
    assert_matches(functions.deconvolution_2d, F.deconvolution_2d, x, W, b, gy)


@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('name', ['convolution_2d', 'deconvolution_2d'])
def test_weight_gradient_alone_matches_chainer(rng, form, shape, name):
    # An input that needs no gradient (a network's data) takes the paths
    # that compute the weight gradient alone.
    B, C, O, H, W = shape
    x = values(rng, (B, C, H, W))
    if name == 'convolution_2d':
        w, gy = values(rng, (O, C, 4, 4)), values(rng, (B, O, H // 2, W // 2))
    else:
        w, gy = values(rng, (C, O, 4, 4)), values(rng, (B, O, 2 * H, 2 * W))

    def run(fn, x, w, gy):
        wv = chainer.Variable(w.copy())
        y = fn(x, wv, None, 2, 1)
        y.grad = gy.copy()
        y.backward()
        return [y.array, wv.grad]
    # Chainer's own deconvolution fails to give W's gradient alone (its
    # backward passes arrays where it unpacks shapes): its reference
    # computes x's gradient too, which changes nothing in W's.
    ref = getattr(F, name)
    y_scale, _, gw_scale = magnitudes(ref, x, w, None, gy)
    assert_close(run(getattr(functions, name), x, w, gy),
                 run(ref, chainer.Variable(x), w, gy), [y_scale, gw_scale])


def test_deconvolution_with_its_own_outsize(rng):
    x, W = values(rng, (2, 3, 4, 5)), values(rng, (3, 2, 4, 4))
    gy = values(rng, (2, 2, 8, 10))
    assert_close(
        forward_backward(functions.deconvolution_2d, x, W, None, gy,
                         outsize=(8, 10)),
        forward_backward(F.deconvolution_2d, x, W, None, gy),
        magnitudes(F.deconvolution_2d, x, W, None, gy))


def test_chunks_cover_the_batch(rng, monkeypatch, form):
    # Tiny chunks: every array goes through several batch slices.
    monkeypatch.setattr(functions, '_CHUNK_BYTES', 1)
    monkeypatch.setattr(functions, '_MIN_ROWS', 1)
    x, W = values(rng, (5, 3, 8, 6)), values(rng, (4, 3, 4, 4))
    b, gy = values(rng, (4,)), values(rng, (5, 4, 4, 3))
    assert_matches(functions.convolution_2d, F.convolution_2d, x, W, b, gy)
    Wd, gyd = values(rng, (3, 4, 4, 4)), values(rng, (5, 4, 16, 12))
    assert_matches(functions.deconvolution_2d, F.deconvolution_2d,
                   x, Wd, b, gyd)


@pytest.mark.parametrize('case', [
    dict(stride=1, pad=1),                       # other stride
    dict(stride=2, pad=0),                       # other pad
    dict(stride=2, pad=1, ksize=3),              # other kernel
    dict(stride=2, pad=1, size=(7, 6)),          # odd height
    dict(stride=2, pad=1, dtype=numpy.float16),  # other dtype
])
def test_other_cases_are_chainers(rng, monkeypatch, case):
    def refuse(*args, **kwargs):
        raise AssertionError('the fast path was taken')
    monkeypatch.setattr(functions.Convolution4x4S2, 'forward', refuse)
    dtype = case.get('dtype', numpy.float32)
    k = case.get('ksize', 4)
    x = values(rng, (2, 3) + case.get('size', (8, 6)), dtype)
    W, b = values(rng, (4, 3, k, k), dtype), values(rng, (4,), dtype)
    ours = functions.convolution_2d(x, W, b, case['stride'], case['pad'])
    theirs = F.convolution_2d(x, W, b, case['stride'], case['pad'])
    numpy.testing.assert_array_equal(ours.array, theirs.array)


def test_double_backward_matches_chainer(rng, form):
    # Second-order gradients run through the nodes' own backward graphs.
    x, W = values(rng, (2, 3, 8, 6), numpy.float64), \
        values(rng, (4, 3, 4, 4), numpy.float64)
    Wd = values(rng, (3, 4, 4, 4), numpy.float64)
    for fn, ref, w in ((functions.convolution_2d, F.convolution_2d, W),
                       (functions.deconvolution_2d, F.deconvolution_2d, Wd)):
        grads = []
        for f in (fn, ref):
            xv, wv = chainer.Variable(x.copy()), chainer.Variable(w.copy())
            y = f(xv, wv, None, 2, 1)
            gx, gw = chainer.grad([F.sum(y * y)], [xv, wv],
                                  enable_double_backprop=True)
            xv.cleargrad()
            wv.cleargrad()
            (F.sum(gx * gx) + F.sum(F.sin(gw))).backward()
            grads.append([gx.array, gw.array, xv.grad, wv.grad])
        assert_close(grads[0], grads[1])


def group_norm(link):
    """Chainer's own function for what ``link`` computes."""
    return lambda x: F.group_normalization(x, link.gamma.shape[0], link.gamma,
                                           link.beta, eps=link.eps)


@pytest.mark.parametrize('shape', [(1, 3, 4, 4), (4, 5, 6, 3),
                                   (3, 8, 8, 6), (2, 1, 1, 1)])
@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_instance_normalization_matches_chainer(rng, shape, dtype):
    link = InstanceNormalization(shape[1], dtype=dtype)
    link.gamma.array[...] = rng.uniform(0.5, 1.5, shape[1])
    link.beta.array[...] = rng.uniform(-0.5, 0.5, shape[1])
    x = (values(rng, shape) * 3 + 1).astype(dtype)
    gy = values(rng, shape, dtype)
    results = []
    for apply in (group_norm(link), link):
        link.cleargrads()
        xv = chainer.Variable(x.copy())
        y = apply(xv)
        y.grad = gy.copy()
        y.backward()
        results.append([y.array, xv.grad, link.gamma.grad, link.beta.grad])
    assert_close(results[1], results[0])


def test_instance_normalization_double_backward(rng):
    link = InstanceNormalization(3, dtype=numpy.float64)
    link.gamma.array[...] = rng.uniform(0.5, 1.5, 3)
    x = values(rng, (2, 3, 4, 5), numpy.float64)
    grads = []
    for apply in (group_norm(link), link):
        xv = chainer.Variable(x.copy())
        # All three first-order gradients feed the second-order loss:
        # Chainer's own double backward needs each of them.
        firsts = chainer.grad([F.sum(apply(xv) ** 3)],
                              [xv, link.gamma, link.beta],
                              enable_double_backprop=True)
        link.cleargrads()
        sum(F.sum(g * g) for g in firsts).backward()
        grads.append([g.array for g in firsts]
                     + [xv.grad, link.gamma.grad, link.beta.grad])
    assert_close(grads[1], grads[0])


def assert_exactly_chainers(theirs, ours, rng, dtype):
    """``ours`` gives the same floats as ``theirs`` (an activation), output
    and gradient, signed zeros, NaN and infinities included."""
    x = values(rng, (3, 5, 7, 11), dtype)
    x.flat[:6] = [0.0, -0.0, numpy.nan, -numpy.inf, numpy.inf, -1e-30]
    gy = values(rng, x.shape, dtype)
    gy.flat[6:8] = [numpy.inf, numpy.nan]
    results = []
    for fn in (theirs, ours):
        xv = chainer.Variable(x.copy())
        with numpy.errstate(invalid='ignore'):  # Chainer's inf * 0
            y = fn(xv)
            y.grad = gy.copy()
            y.backward()
        results.append((y.array, xv.grad))
    (y0, g0), (y1, g1) = results
    for a, b in ((y1, y0), (g1, g0)):
        numpy.testing.assert_array_equal(a, b)
        numpy.testing.assert_array_equal(numpy.signbit(a), numpy.signbit(b))


@pytest.mark.parametrize('slope', [0.2, 0.37, 1.0, 0.0])
@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_leaky_relu_is_chainers_exactly(rng, slope, dtype):
    assert_exactly_chainers(lambda x: F.leaky_relu(x, slope),
                            lambda x: functions.leaky_relu(x, slope),
                            rng, dtype)


@pytest.mark.parametrize('dtype', [numpy.float32, numpy.float64])
def test_relu_is_chainers_exactly(rng, dtype):
    assert_exactly_chainers(F.relu, functions.relu, rng, dtype)


def test_relu_double_backward_matches_chainer(rng):
    x = values(rng, (2, 3, 4, 5), numpy.float64)
    grads = []
    for fn in (F.relu, functions.relu):
        xv = chainer.Variable(x.copy())
        g, = chainer.grad([F.sum(fn(xv) ** 3)], [xv],
                          enable_double_backprop=True)
        F.sum(g * g).backward()
        grads.append((g.array, xv.grad))
    assert_close(grads[1], grads[0])


def chainer_layers(monkeypatch):
    """Route the networks' layer calls to Chainer's own functions."""
    for module in (generator, discriminator):
        for name in ('convolution', 'deconvolution'):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, lambda link, x: link(x))
    monkeypatch.setattr(discriminator, 'leaky_relu', F.leaky_relu)
    monkeypatch.setattr(generator, 'relu', F.relu)
    monkeypatch.setattr(
        functions, 'instance_normalization',
        lambda x, gamma, beta, eps: F.group_normalization(
            x, gamma.shape[0], gamma, beta, eps=eps))


def gradients(link, x, weights):
    """Output and all parameter gradients for sum(output * weights)."""
    link.cleargrads()
    y = link(x)
    F.sum(y * weights).backward()
    return y.array, {name: p.grad.copy() for name, p in link.namedparams()
                     if p.grad is not None}


def assert_same_network_gradients(make, x, rng, monkeypatch):
    link = make()
    weights = None
    results = []
    for route in ('ours', 'chainer'):
        if route == 'chainer':
            chainer_layers(monkeypatch)
        y, grads = gradients(link.copy(mode='copy'), x,
                             weights if weights is not None else 1)
        if weights is None:
            weights = values(rng, y.shape)
            y, grads = gradients(link.copy(mode='copy'), x, weights)
        results.append((y, grads))
    (y0, g0), (y1, g1) = results
    testing.assert_allclose(y0, y1, rtol=testing.NETWORK_OUTPUT_RTOL,
                            err_msg='output')
    testing.assert_gradients_close(g0, g1)


@pytest.mark.parametrize('size', [(32, 32), (64, 48)])
def test_generator_matches_chainers_layers(rng, monkeypatch, size):
    x = rng.random((3, 9) + size, dtype=numpy.float32)
    assert_same_network_gradients(
        lambda: Generator(ch=16, size=size, seed=0), x, rng, monkeypatch)


@pytest.mark.parametrize('head', ['linear', 'patch'])
def test_discriminator_matches_chainers_layers(rng, monkeypatch, head):
    x = rng.random((3, 6, 64, 32), dtype=numpy.float32)
    # No noise: both routes must see the same input.
    assert_same_network_gradients(
        lambda: Discriminator(ch=16, size=(64, 32), head=head,
                              noise_sigma=0, seed=0),
        x, rng, monkeypatch)


def test_the_links_use_the_fast_functions(rng, monkeypatch):
    calls = []
    for cls in (functions.Convolution4x4S2, functions.Deconvolution4x4S2,
                functions.InstanceNormalization, functions.LeakyReLU,
                functions.ReLU):
        forward = cls.forward

        def counting(self, inputs, forward=forward, name=cls.__name__):
            calls.append(name)
            return forward(self, inputs)
        monkeypatch.setattr(cls, 'forward', counting)
    Generator(ch=8, size=32, seed=0)(rng.random((1, 9, 32, 32),
                                               dtype=numpy.float32))
    Discriminator(ch=8, size=64, seed=0)(rng.random((1, 6, 64, 64),
                                                   dtype=numpy.float32))
    assert calls.count('Convolution4x4S2') == 4 + 5
    assert calls.count('Deconvolution4x4S2') == 4
    assert calls.count('InstanceNormalization') == 6 + 4
    assert calls.count('LeakyReLU') == 5
    assert calls.count('ReLU') == 7
