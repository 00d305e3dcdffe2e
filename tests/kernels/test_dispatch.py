"""The ``cagan_cpu_kernels`` switch (cagan/kernels/_dispatch.py): 'auto'
takes the kernels where they apply, 'never' Chainer's own functions, and
the networks agree either way."""

import collections
import os
import pathlib
import subprocess
import sys

import chainer
import chainer.functions as F
import numpy
import pytest
from chainer.functions.activation import leaky_relu as chainer_leaky_relu
from chainer.functions.activation import relu as chainer_relu
from chainer.functions.connection import convolution_2d as chainer_conv
from chainer.functions.connection import deconvolution_2d as chainer_deconv
from chainer.functions.normalization import group_normalization

from cagan import Discriminator, Generator, kernels, testing
from cagan.errors import CaganError
from cagan.graph import function_nodes
from cagan.kernels import activation, connection, noise, normalization
from tests.kernels.helpers import values

ROOT = pathlib.Path(__file__).resolve().parents[2]

# Each public function: its arguments, Chainer's function, and the node of
# each route.
CASES = {
    'convolution_2d': (
        lambda rng: (values(rng, (2, 3, 8, 6)), values(rng, (4, 3, 4, 4)),
                     values(rng, (4,)), 2, 1),
        F.convolution_2d, connection.Convolution4x4S2,
        chainer_conv.Convolution2DFunction),
    'deconvolution_2d': (
        lambda rng: (values(rng, (2, 3, 4, 6)), values(rng, (3, 4, 4, 4)),
                     values(rng, (4,)), 2, 1),
        F.deconvolution_2d, connection.Deconvolution4x4S2,
        chainer_deconv.Deconvolution2DFunction),
    'relu': (
        lambda rng: (values(rng, (2, 3, 4, 5)),),
        F.relu, activation.ReLU, chainer_relu.ReLU),
    'leaky_relu': (
        lambda rng: (values(rng, (2, 3, 4, 5)), 0.2),
        F.leaky_relu, activation.LeakyReLU, chainer_leaky_relu.LeakyReLU),
    'instance_normalization': (
        lambda rng: (values(rng, (2, 3, 4, 5)),
                     chainer.Variable(rng.uniform(0.5, 1.5, 3).astype('f')),
                     chainer.Variable(values(rng, (3,))), 2e-5),
        lambda x, gamma, beta, eps: F.group_normalization(
            x, gamma.shape[0], gamma, beta, eps=eps),
        normalization.InstanceNormalization,
        group_normalization.GroupNormalization),
}


def switch(value):
    """The switch at ``value`` inside a ``with`` block."""
    return chainer.using_config('cagan_cpu_kernels', value)


@pytest.mark.numerics
@pytest.mark.parametrize('name', sorted(CASES))
def test_never_is_chainers_own_function(rng, name):
    make_args, theirs, fast_node, chainer_node = CASES[name]
    args = make_args(rng)
    ours = getattr(kernels, name)
    with switch('auto'):
        assert type(ours(*args).creator) is fast_node
    with switch('never'):
        y = ours(*args)
    assert type(y.creator) is chainer_node
    numpy.testing.assert_array_equal(y.array, theirs(*args).array)


def test_another_value_is_refused(rng):
    with switch('always'):
        with pytest.raises(CaganError, match=r"cagan_cpu_kernels must be one "
                           r"of 'auto', 'never' .*CAGAN_CPU_KERNELS.*, got "
                           r"'always'"):
            kernels.relu(values(rng, (2, 3)))


PROBE = '''
import cagan, chainer, numpy
from cagan import kernels
y = kernels.relu(numpy.ones(3, numpy.float32))
print(chainer.global_config.cagan_cpu_kernels, type(y.creator).__module__)
'''


@pytest.mark.parametrize('value, module', [
    (None, 'cagan.kernels.activation'),
    ('never', 'chainer.functions.activation.relu')])
def test_the_default_comes_from_the_environment(value, module):
    env = {k: v for k, v in os.environ.items() if k != 'CAGAN_CPU_KERNELS'}
    if value is not None:
        env['CAGAN_CPU_KERNELS'] = value
    result = subprocess.run([sys.executable, '-W', 'error', '-c', PROBE],
                            cwd=str(ROOT), env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [value or 'auto', module]


def node_counts(*outputs):
    """The function nodes of the graphs that made ``outputs``, by class."""
    return collections.Counter(type(node) for y in outputs
                               for node in function_nodes(y))


def network_nodes(rng, value):
    """Node counts of a generator's and a discriminator's forward passes
    (noise on), the switch at ``value``."""
    with switch(value):
        dis = Discriminator(ch=8, size=64, seed=0)
        return node_counts(
            Generator(ch=8, size=32, seed=0)(
                rng.random((1, 9, 32, 32), dtype=numpy.float32)),
            dis(rng.random((1, 6, 64, 64), dtype=numpy.float32),
                noise=dis.noise(0)))


# Layers of both networks: convolutions 4 + 5, deconvolutions 4, instance
# norms 6 + 4, leaky ReLUs 5, ReLUs 7, each in its own node on Chainer's
# route; on the kernels', G's six ReLUs after a norm are in the norm's node
# (D's leaky ReLUs are not: its noise comes between).
LAYERS = [(connection.Convolution4x4S2, chainer_conv.Convolution2DFunction,
           9, 9),
          (connection.Deconvolution4x4S2,
           chainer_deconv.Deconvolution2DFunction, 4, 4),
          (normalization.InstanceNormalization,
           group_normalization.GroupNormalization, 10, 10),
          (activation.LeakyReLU, chainer_leaky_relu.LeakyReLU, 5, 5),
          (activation.ReLU, chainer_relu.ReLU, 1, 7)]


@pytest.mark.numerics
def test_the_links_use_the_fast_functions(rng):
    counts = network_nodes(rng, 'auto')
    for fast, chainers, n, _ in LAYERS:
        assert (counts[fast], counts[chainers]) == (n, 0), fast.__name__
    assert counts[noise.AddNoise] == 6  # the input and every convolution


@pytest.mark.numerics
def test_without_noise_the_leaky_relus_after_a_norm_are_in_its_node(rng):
    with switch('auto'):
        counts = node_counts(Discriminator(ch=8, size=64, seed=0,
                                           noise_sigma=0)(
            rng.random((1, 6, 64, 64), dtype=numpy.float32)))
    assert counts[normalization.InstanceNormalization] == 4
    assert counts[activation.LeakyReLU] == 1
    assert counts[chainer_leaky_relu.LeakyReLU] == 0


@pytest.mark.numerics
def test_never_runs_the_networks_through_chainers_functions(rng):
    counts = network_nodes(rng, 'never')
    for fast, chainers, _, n in LAYERS:
        assert (counts[fast], counts[chainers]) == (0, n), chainers.__name__
    # The noise is no function of Chainer's: the same in both routes.
    assert counts[noise.AddNoise] == 6


def gradients(link, x, weights):
    """Output and all parameter gradients for sum(output * weights)."""
    link.cleargrads()
    y = link(x)
    F.sum(y * weights).backward()
    return y.array, {name: p.grad.copy() for name, p in link.namedparams()
                     if p.grad is not None}


def assert_same_network_gradients(make, x, rng):
    """The kernels ('auto') and Chainer's functions ('never') give a
    network's output and parameter gradients to the same rounding."""
    link = make()
    weights = None
    results = []
    for setting in ('auto', 'never'):
        with switch(setting):
            y, grads = gradients(link.copy(mode='copy'), x,
                                 weights if weights is not None else 1)
            if weights is None:
                weights = values(rng, y.shape)
                y, grads = gradients(link.copy(mode='copy'), x, weights)
        results.append((y, grads))
    (y0, g0), (y1, g1) = results
    testing.assert_allclose(y0, y1, rtol=testing.NETWORK_OUTPUT_RTOL,
                            err_msg='output')
    testing.assert_gradients_close(g0, g1, testing.cancelled_biases(link))


@pytest.mark.numerics
@pytest.mark.parametrize('size', [(32, 32), (64, 48)])
def test_generator_matches_chainers_layers(rng, size):
    x = rng.random((3, 9) + size, dtype=numpy.float32)
    assert_same_network_gradients(
        lambda: Generator(ch=16, size=size, seed=0), x, rng)


@pytest.mark.numerics
@pytest.mark.parametrize('head', ['linear', 'patch'])
def test_discriminator_matches_chainers_layers(rng, head):
    x = rng.random((3, 6, 64, 32), dtype=numpy.float32)
    # No noise: both routes must see the same input.
    assert_same_network_gradients(
        lambda: Discriminator(ch=16, size=(64, 32), head=head,
                              noise_sigma=0, seed=0),
        x, rng)
