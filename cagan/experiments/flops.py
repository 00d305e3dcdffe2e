"""Multiply-adds of the networks a config builds, counted from their graphs.

One forward pass of each built network, on one sample, gives the
multiply-adds of every convolution, deconvolution and linear node (what
runs, options included: re-injected inputs, resize-convolution, heads,
spectral norm's normalised weights), and whether the node's input needs a
gradient. No channel list is kept: a new option is counted as it is built.

* convolution: ``y.size * (C / groups) * kh * kw`` (one multiply-add per
  output element and filter tap);
* deconvolution: ``x.size * (O / groups) * kh * kw`` (the convolution it
  transposes); a resize-convolution runs as the 4x4 stride-2
  deconvolution with the same output, and is counted as that;
* linear: ``y.size * N``.

Spectral norm's power iteration and the element-wise layers (norms,
activations, noise) are left out: a few percent at most of the demo's.
"""

import chainer
from chainer.functions.connection import (convolution_2d, deconvolution_2d,
                                          linear)

from cagan import run
from cagan.graph import function_nodes
from cagan.kernels import connection


_CONVOLUTIONS = (convolution_2d.Convolution2DFunction,
                 connection.Convolution4x4S2)
_DECONVOLUTIONS = (deconvolution_2d.Deconvolution2DFunction,
                   connection.Deconvolution4x4S2)


def _macs(node):
    """Multiply-adds of one function node (0 for other nodes)."""
    x, W = node.inputs[:2] if len(node.inputs) >= 2 else (None, None)
    if isinstance(node, _CONVOLUTIONS):
        return _product(node.outputs[0]().shape) * _product(W.shape[1:])
    if isinstance(node, _DECONVOLUTIONS):
        return _product(x.shape) * _product(W.shape[1:])
    if isinstance(node, linear.LinearFunction):
        return _product(node.outputs[0]().shape) * W.shape[1]
    return 0


def _product(shape):
    n = 1
    for k in shape:
        n *= int(k)
    return n


def layer_macs(link, x):
    """``[(macs, input_needs_grad)]`` of each weighted layer in one forward
    pass of ``link`` on ``x`` (test mode: no noise, no power iteration).

    ``input_needs_grad`` is False for a layer that reads only data (a
    network's first layer): its backward computes no input gradient when
    the network's input needs none.
    """
    with chainer.using_config('train', False), \
            chainer.using_config('enable_backprop', True):
        y = link(x)
    return [(macs, node.inputs[0].requires_grad)
            for node in function_nodes(y) for macs in [_macs(node)] if macs]


def _one_sample(link):
    dtype = next(link.params()).dtype
    return link.xp.zeros((1, link.in_channels) + tuple(link.size), dtype)


def step_gflop(config, batch=None):
    """GFLOP of one CAGAN training step of a resolved config.

    2 flops per multiply-add; a backward pass costs its forward once for
    the input gradients (not for a layer that reads only data, when the
    network's input needs none) and once for the weight gradients. A step
    is G(x_i, y_i, y_j) and G(x_ij, y_j, y_i) forward and backward, D(x_ij,
    y_j) forward and back to its input only (G's update needs no D weight
    gradient), then D on 3 pairs forward and backward.

    Args:
        config (dict): a resolved config: the networks it builds.
        batch (int or None): images per step (default ``train.batch``).

    Returns:
        float: GFLOP per step.
    """
    batch = config['train']['batch'] if batch is None else batch
    gen = run.make_generator(config, seed=0)
    dis = run.make_discriminator(config, seed=0)
    g = layer_macs(gen, _one_sample(gen))
    d = layer_macs(dis, _one_sample(dis))

    def passes(layers, input_grad, weight_grad=True):
        return sum(m * (1 + (input_grad or needs) + weight_grad)
                   for m, needs in layers)
    total = batch * (passes(g, False) + passes(g, True)
                     + passes(d, True, False) + 3 * passes(d, False))
    return 2 * total / 1e9
