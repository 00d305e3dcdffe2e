"""Serving a trained generator without Chainer: a photo dressed by any
model (:mod:`~cagan.serving.tryon`), an exported ONNX generator run by
onnxruntime (:mod:`~cagan.serving.onnx_model`) and the try-on page with its
HTTP API (:mod:`~cagan.serving.app`, ``scripts/serve.py``).

Nothing here imports Chainer (``tests/serving/test_boundary.py`` holds it
to that): a shop's server installs the serve extra, not the training
stack. The export itself (:mod:`cagan.export`) needs Chainer and lives in
the research core.
"""
