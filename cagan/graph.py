"""The function nodes of a Chainer graph, for counting and checking what a
network computes (:mod:`cagan.experiments.flops`, :mod:`cagan.testing`)."""

import chainer
from chainer.functions.connection import convolution_2d, deconvolution_2d

from cagan.kernels import connection

#: The nodes that convolve ``(x, W[, b])``: Chainer's and the kernels'.
CONVOLUTIONS = (convolution_2d.Convolution2DFunction,
                connection.Convolution4x4S2)
#: The nodes that deconvolve ``(x, W[, b])``: Chainer's and the kernels'.
DECONVOLUTIONS = (deconvolution_2d.Deconvolution2DFunction,
                  connection.Deconvolution4x4S2)


def function_nodes(output):
    """Every function node in the graph that made ``output``, each once.

    Args:
        output (chainer.Variable): the result of a forward pass with
            backprop enabled.

    Returns:
        list of chainer.FunctionNode: from the output backwards.
    """
    seen, nodes, stack = set(), [], [output.creator_node]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        nodes.append(node)
        stack.extend(x.creator_node for x in node.inputs)
    return nodes


def forward_nodes(link, x=None):
    """The function nodes of one forward pass of ``link`` on ``x``.

    The pass runs in test mode with backprop on, so that it leaves the link
    as it was (no noise drawn, no power iteration of spectral norm).

    Args:
        link (chainer.Link): a network.
        x: its input (array or Variable); None for a zero sample of the
            shape a CAGAN network takes (``link.in_channels``,
            ``link.size``) in its weights' dtype: the graph's shape does
            not depend on the values.

    Returns:
        list of chainer.FunctionNode.
    """
    if x is None:
        dtype = next(link.params()).dtype
        x = link.xp.zeros((1, link.in_channels) + tuple(link.size), dtype)
    with chainer.using_config('enable_backprop', True), \
            chainer.using_config('train', False):
        return function_nodes(link(x))
