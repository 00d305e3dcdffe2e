"""A generator exported by ``scripts/export.py``, run by onnxruntime.

Nothing here imports Chainer: a server, or ``scripts/swap.py --model
gen.onnx``, needs NumPy, onnxruntime and this file. The model's metadata
holds the run's config (``cagan.config``, YAML) and the contract below
(``cagan.contract``, JSON), so a caller needs nothing else to feed it.
"""

import json

import numpy

from cagan.errors import CaganError, ModelFileError

#: Metadata keys of an exported model.
CONFIG_KEY = 'cagan.config'
CONTRACT_KEY = 'cagan.contract'
#: What the exported graph takes and gives (``size`` is added per model:
#: ``[H, W]``, the generator's input size).
CONTRACT = {
    'inputs': {
        'x_i': 'the person, (N, 3, H, W) float32 RGB in [0, 1], NCHW',
        'y_i': 'the article worn (or the neutral image), same layout',
        'y_j': 'the article to put on, same layout'},
    'outputs': {
        'x_ij': 'the person in y_j, (N, 3, H, W) float32 RGB in [0, 1]',
        'alpha': 'the repainted region, (N, 1, H, W) float32 in [0, 1]'},
    'fit': 'each photo scaled to fit H x W, aspect ratio kept, centred on '
           'white (cagan.data.images.fit); results pasted back at the '
           "photo's size (cagan.data.images.paste_back)",
}


def _onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise CaganError('an .onnx model needs onnxruntime: pip install -e '
                         '.[serve] (or pip install -r '
                         'requirements-serve.txt)') from None
    return onnxruntime


class OnnxGenerator(object):
    """An exported generator: :meth:`swap` as ``Generator.swap`` computes it.

    Args:
        path (str or pathlib.Path): a ``.onnx`` file from ``scripts/export.py``.
        threads (int or None): onnxruntime's intra-op threads (None: its
            default, the cores).

    Attributes:
        size (tuple): ``(H, W)``, the input size.
        config (str): the run's resolved config, as YAML text.
        path (str): the file.

    Raises:
        cagan.errors.CaganError: onnxruntime is not installed.
        cagan.errors.ModelFileError: the file is missing, not an ONNX model
            or not one ``scripts/export.py`` wrote.
    """

    def __init__(self, path, threads=None):
        runtime = _onnxruntime()
        self.path = str(path)
        options = runtime.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        try:
            self.session = runtime.InferenceSession(
                self.path, options, providers=['CPUExecutionProvider'])
        except Exception as error:  # onnxruntime raises its own types
            raise ModelFileError('{}: cannot load it as an ONNX model ({}): '
                                 'export one with scripts/export.py'.format(
                                     self.path, _first_line(error))) from None
        meta = self.session.get_modelmeta().custom_metadata_map
        if CONTRACT_KEY not in meta:
            raise ModelFileError('{}: an ONNX model without cagan\'s '
                                 'metadata: export it with scripts/export.py'
                                 .format(self.path))
        contract = json.loads(meta[CONTRACT_KEY])
        self.size = tuple(contract['size'])
        self.config = meta.get(CONFIG_KEY, '')

    def swap(self, x_i, y_i, y_j):
        """``x_ij`` ``(N, 3, H, W)`` and ``alpha`` ``(N, H, W)``, float32 in
        [0, 1], for float32 ``(N, 3, H, W)`` inputs in [0, 1]."""
        feed = {'x_i': x_i, 'y_i': y_i, 'y_j': y_j}
        feed = {k: numpy.ascontiguousarray(v, numpy.float32)
                for k, v in feed.items()}
        x_ij, alpha = self.session.run(['x_ij', 'alpha'], feed)
        return x_ij, alpha[:, 0]


def _first_line(error):
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
