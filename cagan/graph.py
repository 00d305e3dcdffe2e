"""The function nodes of a Chainer graph, for counting and checking what a
network computes (:mod:`cagan.experiments.flops`, :mod:`cagan.testing`)."""


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
