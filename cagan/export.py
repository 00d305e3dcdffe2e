"""A trained generator as an ONNX file, for serving without Chainer.

:func:`export_generator` writes the swap ``(x_i, y_i, y_j) -> (x_ij,
alpha)`` of a :class:`cagan.Generator` (its composition included) with
``onnx_chainer``, Chainer's own exporter, from Chainer's own layers (the
CPU kernels' switch at ``'never'``, see :mod:`cagan.kernels`), and stores
in the file's metadata what a server needs to feed it and read it back:
the run's resolved config and the contract of :data:`CONTRACT`
(:mod:`cagan.serving.onnx_model` reads both, with onnxruntime only).

onnx_chainer 7.8.1 predates today's onnx: it reads ``onnx.mapping``
(removed in onnx 1.15), which :func:`_ready_onnx` rebuilds from onnx's own
tables before the exporter is imported. cagan's own function nodes get
converters here: instance norm (Chainer's ``group_normalization`` with one
group per channel) becomes ONNX's ``InstanceNormalization``, the 2x2 sum
pooling of input re-injection an ``AveragePool`` times 4, and its nearest
x2 upsampling a ``Resize``.

A warping generator (``Generator(warp='affine'|'grid')``, see
:mod:`cagan.links.warp`) needs two more. Its sampler, Chainer's
``SpatialTransformerSampler`` (bilinear, zero outside the image, a
``(N, 2, H, W)`` grid with +-1 at the corner pixels' centres), which
onnx_chainer cannot convert, becomes ``GridSample`` (the grid transposed
to ``(N, H, W, 2)``, ``mode='bilinear'``, ``padding_mode='zeros'``,
``align_corners=1``). Its reshapes, which onnx_chainer writes with the
export's batch of 1, keep the batch axis free (their first axis is left
to ONNX). Its other functions (``ReduceMin``, ``Clip`` with min and max
inputs, ``MatMul`` by the constant basis, ``Gemm``, ``Tanh``, ``Split``,
``Expand``, ``Concat``) convert as onnx_chainer writes them at opset 11.

Opset: ``GridSample`` is standard only from opset 16, and onnx_chainer
7.8.1 writes opsets 7 to 11: from 13 on its converters write ops whose
signatures changed (``Split``'s sizes, ``Squeeze``'s and ``ReduceSum``'s
axes became inputs), and at 16 the checker refuses the ``Split`` of every
generator's swap, so raising the opset would mean rewriting converters
that the graphs without a warp rely on. Every file stays at opset 11
(:data:`OPSET`), and the sampler is onnxruntime's own ``GridSample`` of
the ``com.microsoft`` domain (:data:`MICROSOFT`, the same semantics),
which only a warping generator's file imports: files of generators
without a warp are byte for byte what they were. A warping generator's
file thus needs onnxruntime (as :mod:`cagan.serving` does), not just any
ONNX runtime.
"""

import json
import sys
import types
import warnings
from pathlib import Path

import chainer
import numpy
from chainer.functions.array.reshape import Reshape
from chainer.functions.array.spatial_transformer_sampler import (
    SpatialTransformerSampler)
from chainer.functions.math.tensordot import TensorDot
from chainer.functions.normalization.group_normalization import (
    GroupNormalization)

from cagan import config as config_module
from cagan import inference
from cagan.errors import CaganError
from cagan.links._resample import SumPool2, Upsample2
from cagan.links.warp import Warp
from cagan.serving.onnx_model import (CONFIG_KEY, CONTRACT, CONTRACT_KEY,
                                      OnnxGenerator)

#: onnx_chainer's newest opset (11): Resize with scales, InstanceNormalization.
OPSET = 11
#: The domain of onnxruntime's own operators, and its version that has
#: ``GridSample`` (a warping generator's sampler, see the module's text).
MICROSOFT = 'com.microsoft'
MICROSOFT_OPSET = 1


class _Swap(chainer.Chain):
    """The exported graph: ``gen.swap`` with ``alpha`` as ``(N, 1, H, W)``."""

    def __init__(self, gen):
        super().__init__()
        with self.init_scope():
            self.gen = gen

    def forward(self, x_i, y_i, y_j):
        return self.gen.swap(x_i, y_i, y_j)


def _ready_onnx():
    """Import onnx (and give it the ``onnx.mapping`` onnx_chainer reads).

    Raises:
        cagan.errors.CaganError: onnx is not installed.
    """
    try:
        import onnx
        import onnx._mapping
        import onnx.numpy_helper
    except ImportError:
        raise CaganError('exporting needs the onnx package: pip install -e '
                         '.[serve] (or pip install -r '
                         'requirements-serve.txt)') from None
    if 'onnx.mapping' not in sys.modules:
        tensor = onnx.TensorProto
        mapping = types.ModuleType('onnx.mapping')
        mapping.NP_TYPE_TO_TENSOR_TYPE = {}
        for code, entry in onnx._mapping.TENSOR_TYPE_MAP.items():
            mapping.NP_TYPE_TO_TENSOR_TYPE.setdefault(entry.np_dtype, code)
        # onnx 1.6's table: where each type's values go in a TensorProto.
        mapping.STORAGE_TENSOR_TYPE_TO_FIELD = {
            tensor.FLOAT: 'float_data', tensor.INT32: 'int32_data',
            tensor.INT64: 'int64_data', tensor.UINT16: 'int32_data',
            tensor.DOUBLE: 'double_data', tensor.COMPLEX64: 'float_data',
            tensor.COMPLEX128: 'double_data', tensor.UINT32: 'uint64_data',
            tensor.UINT64: 'uint64_data', tensor.STRING: 'string_data',
            tensor.BOOL: 'int32_data'}
        sys.modules['onnx.mapping'] = mapping
        onnx.mapping = mapping
    return onnx


def _converters(onnx):
    from onnx_chainer import onnx_helper

    def instance_norm(params):
        func = params.func
        channels = func.inputs[0].shape[1]
        if func.groups != channels:
            raise CaganError('only instance norm (one group per channel) is '
                             'exported, got {} groups of {} channels'.format(
                                 func.groups, channels))
        return onnx_helper.make_node(
            'InstanceNormalization', params.input_names, params.output_names,
            epsilon=float(func.eps)),

    def sum_pool(params):
        # AveragePool's mean of 4, times 4: the sum.
        gb = onnx_helper.GraphBuilder()
        mean = gb.op('AveragePool', params.input_names, kernel_shape=[2, 2],
                     strides=[2, 2])
        four = params.context.add_const(numpy.array(4, numpy.float32), 'four')
        gb.op('Mul', [mean, four])
        return gb.nodes(params.output_names)

    def upsample(params):
        context = params.context
        roi = context.add_const(numpy.array([], numpy.float32), 'roi')
        scales = context.add_const(
            numpy.array([1, 1, 2, 2], numpy.float32), 'scales')
        return onnx_helper.make_node(
            'Resize', [params.input_names[0], roi, scales],
            params.output_names, mode='nearest',
            coordinate_transformation_mode='asymmetric',
            nearest_mode='floor'),

    def tensordot(params):
        # Only of weights: the resize-convolution's 4x4 kernel from its 3x3
        # one (cagan.links.connection). Folded into a constant.
        func = params.func
        if not all(_of_weights(node) for node in func.inputs):
            raise CaganError('a tensordot of activations has no ONNX '
                             'converter (opset {})'.format(OPSET))
        a, b = (node.get_variable().array for node in func.inputs)
        value = numpy.tensordot(a, b, axes=func.axes)
        return onnx_helper.make_node(
            'Constant', [], params.output_names,
            value=onnx.numpy_helper.from_array(value.astype(a.dtype))),

    def reshape(params):
        # onnx_chainer writes Chainer's shape, the export's batch of 1
        # included; every reshape of cagan's graphs (a warp's) keeps the
        # batch in its first axis, alone or times the axes after it, so
        # that axis is left to ONNX (-1) and the batch stays free.
        func = params.func
        shape = list(_reshaped(func.inputs[0].shape, func.shape))
        shape[0] = -1
        target = params.context.add_const(numpy.array(shape, numpy.int64),
                                          'shape')
        return onnx_helper.make_node(
            'Reshape', [params.input_names[0], target], params.output_names),

    def sampler(params):
        # Chainer's grid is (N, 2, H, W), x first, +-1 at the corner
        # pixels' centres, zero outside the image: GridSample's is
        # (N, H, W, 2), align_corners=1 and padding 'zeros'.
        gb = onnx_helper.GraphBuilder()
        x, grid = params.input_names
        grid = gb.op('Transpose', [grid], perm=[0, 2, 3, 1])
        gb.op('GridSample', [x, grid], domain=MICROSOFT, mode='bilinear',
              padding_mode='zeros', align_corners=1)
        return gb.nodes(params.output_names)

    # Keyed by the node classes; onnx_chainer looks converters up by their
    # class names.
    by_class = {GroupNormalization: instance_norm, SumPool2: sum_pool,
                Upsample2: upsample, TensorDot: tensordot, Reshape: reshape,
                SpatialTransformerSampler: sampler}
    return {cls.__name__: convert for cls, convert in by_class.items()}


def _weights_as_constants(graph):
    """Weights are initializers only, not graph inputs as well (onnx_chainer
    lists them as both, which keeps onnxruntime from folding constants);
    those no node reads (the 3x3 kernels a folded tensordot replaced) or
    that a node makes (its value) are dropped."""
    weights = {tensor.name for tensor in graph.initializer}
    inputs = [i for i in graph.input if i.name not in weights]
    del graph.input[:]
    graph.input.extend(inputs)
    read = {name for node in graph.node for name in node.input}
    outputs = {o.name for o in graph.output}
    # A folded tensordot's first half is read by no node.
    nodes = [node for node in graph.node
             if node.op_type != 'Constant'
             or set(node.output) & (read | outputs)]
    del graph.node[:]
    graph.node.extend(nodes)
    made = {name for node in graph.node for name in node.output}
    kept = [tensor for tensor in graph.initializer
            if tensor.name in read and tensor.name not in made]
    del graph.initializer[:]
    graph.initializer.extend(kept)


def _reshaped(shape, target):
    """The shape ``numpy.reshape`` gives an array of ``shape`` for
    ``target`` (its -1 resolved)."""
    size = int(numpy.prod(shape))
    known = int(numpy.prod([n for n in target if n != -1]))
    return tuple(size // known if n == -1 else n for n in target)


def _of_weights(node):
    """Whether a graph node's value comes from weights and constants only:
    a Parameter, an array that needs no gradient, or a TensorDot of such."""
    creator = node.creator_node
    if creator is None:
        variable = node.get_variable_or_none()
        return (isinstance(variable, chainer.Parameter)
                or variable is not None and not variable.requires_grad)
    return (isinstance(creator, TensorDot)
            and all(_of_weights(n) for n in creator.inputs))


def export_generator(gen, config, path):
    """Write ``gen``'s swap to ``path`` as an ONNX model and check it.

    Args:
        gen (cagan.Generator): on the CPU, float32.
        config (dict): the run's resolved config (stored in the metadata).
        path (str or pathlib.Path): the ``.onnx`` file to write (its
            folder is made if missing).

    Returns:
        onnx.ModelProto: the checked model, as written. Its inputs are
        ``x_i``, ``y_i``, ``y_j`` and its outputs ``x_ij`` and ``alpha``
        (see :data:`cagan.serving.onnx_model.CONTRACT`), with a free batch axis.

    Raises:
        cagan.errors.CaganError: onnx is not installed, the exporter
            cannot convert the generator, or ``path`` cannot be written.
    """
    onnx = _ready_onnx()
    import onnx_chainer
    from cagan.atomic import replacing
    height, width = gen.size
    example = [numpy.full((1, 3, height, width), 0.5, numpy.float32)
               for _ in range(3)]
    shapes = [('batch', 3, height, width)] * 3
    # Only a warping generator's file imports onnxruntime's domain.
    warps = any(isinstance(link, Warp) for link in gen.links())
    imports = {MICROSOFT: MICROSOFT_OPSET} if warps else None
    with chainer.using_config('train', False), \
            chainer.using_config('cagan_cpu_kernels', 'never'), \
            warnings.catch_warnings():
        # onnx_chainer calls its converter and domain hooks experimental,
        # every time.
        warnings.filterwarnings('ignore', category=FutureWarning,
                                message='external_(converters|opset_imports)')
        model = onnx_chainer.export(
            _Swap(gen), example, input_names=list(CONTRACT['inputs']),
            output_names=list(CONTRACT['outputs']), opset_version=OPSET,
            input_shapes=shapes, external_converters=_converters(onnx),
            external_opset_imports=imports)
    _weights_as_constants(model.graph)
    contract = dict(CONTRACT, size=[height, width])
    for name, value in ((CONFIG_KEY, config_module.dump(config)),
                        (CONTRACT_KEY, json.dumps(contract))):
        entry = model.metadata_props.add()
        entry.key, entry.value = name, value
    model.producer_name = 'cagan'
    onnx.checker.check_model(model)
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with replacing(path) as tmp:
            onnx.save(model, str(tmp))
    except OSError as error:
        raise CaganError('{}: cannot write it ({})'.format(
            path, error.strerror or error)) from None
    return model


#: The largest difference from Chainer's output an export may show.
TOLERANCE = 1e-4


def compare_with_chainer(gen, path, seed=0):
    """The largest difference between ``gen``'s swap (Chainer) and the ONNX
    file ``path`` run by onnxruntime, on the same random triplets.

    Args:
        gen (cagan.Generator): the generator ``path`` was exported from.
        path (str or pathlib.Path): the ONNX file.
        seed (int): seed of the two random ``(2, 3, H, W)`` triplets.

    Returns:
        float: the largest absolute difference of ``x_ij`` or ``alpha``
        (values in [0, 1]); compare it with :data:`TOLERANCE`.

    Raises:
        cagan.errors.CaganError: onnxruntime cannot run the file.
    """
    rng = numpy.random.default_rng(seed)
    triplets = [rng.random((2, 3) + gen.size, dtype=numpy.float32)
                for _ in range(3)]
    ours = inference.swap_arrays(gen, *triplets)
    theirs = OnnxGenerator(path).swap(*triplets)
    return max(float(abs(a - b).max()) for a, b in zip(ours, theirs))

