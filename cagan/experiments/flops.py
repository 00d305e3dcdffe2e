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

import math

from chainer.functions.connection import linear

from cagan import run
from cagan.graph import CONVOLUTIONS, DECONVOLUTIONS, forward_nodes


def _macs(node):
    """Multiply-adds of one function node (0 for other nodes)."""
    x, W = node.inputs[:2] if len(node.inputs) >= 2 else (None, None)
    if isinstance(node, CONVOLUTIONS):
        return math.prod(node.outputs[0]().shape) * math.prod(W.shape[1:])
    if isinstance(node, DECONVOLUTIONS):
        return math.prod(x.shape) * math.prod(W.shape[1:])
    if isinstance(node, linear.LinearFunction):
        return math.prod(node.outputs[0]().shape) * W.shape[1]
    return 0


def layer_macs(link, x=None):
    """``[(macs, input_needs_grad)]`` of each weighted layer in one forward
    pass of ``link`` on ``x`` (:func:`cagan.graph.forward_nodes`: test
    mode, a zero sample when ``x`` is None).

    ``input_needs_grad`` is False for a layer that reads only data (a
    network's first layer): its backward computes no input gradient when
    the network's input needs none.
    """
    return [(macs, node.inputs[0].requires_grad)
            for node in forward_nodes(link, x) for macs in [_macs(node)]
            if macs]


def step_gflop(config, gen=None, dis=None):
    """GFLOP of one CAGAN training step of a resolved config
    (``train.batch`` images).

    2 flops per multiply-add; a backward pass costs its forward once for
    the input gradients (not for a layer that reads only data, when the
    network's input needs none) and once for the weight gradients. A step
    is G(x_i, y_i, y_j) and G(x_ij, y_j, y_i) forward and backward, D(x_ij,
    y_j) forward and back to its input only (G's update needs no D weight
    gradient), then D on 3 pairs forward and backward.

    Args:
        config (dict): a resolved config.
        gen, dis: its networks, when built already; None: built here.

    Returns:
        float: GFLOP per step.
    """
    g = layer_macs(run.make_generator(config, seed=0) if gen is None else gen)
    d = layer_macs(run.make_discriminator(config, seed=0) if dis is None
                   else dis)

    def passes(layers, input_grad, weight_grad=True):
        return sum(m * (1 + (input_grad or needs) + weight_grad)
                   for m, needs in layers)
    total = config['train']['batch'] * (passes(g, False) + passes(g, True)
                     + passes(d, True, False) + 3 * passes(d, False))
    return 2 * total / 1e9
