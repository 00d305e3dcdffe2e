"""Exporting a generator to ONNX (cagan/export.py, scripts/export.py) and
running it without Chainer (cagan/serving/onnx_model.py, scripts/swap.py)."""

import json
import pathlib
import subprocess
import sys

import chainer
import numpy
import pytest
import yaml
from PIL import Image

from cagan import config, inference, run
from tests.helpers import photo

onnx = pytest.importorskip('onnx', reason='the serve extra (onnx) is not '
                           'installed: pip install -e .[serve]')
pytest.importorskip('onnxruntime', reason='the serve extra (onnxruntime) '
                    'is not installed: pip install -e .[serve]')
from cagan import export  # noqa: E402  (needs onnx)
from cagan.serving.onnx_model import CONFIG_KEY, CONTRACT_KEY, OnnxGenerator  # noqa: E402,E501

ROOT = pathlib.Path(__file__).resolve().parents[1]
SIZE = (32, 16)
#: Every option that changes the generator's graph.
OPTIONS = {'reference': {},
           'inject and resize': {'inject': True, 'upsample': 'resize'},
           'inject': {'inject': True},
           'resize': {'upsample': 'resize'},
           # configs/demo.yaml's options, with each warp.
           'affine warp': {'inject': True, 'upsample': 'resize',
                           'warp': 'affine'},
           'grid warp': {'inject': True, 'upsample': 'resize',
                         'warp': 'grid'}}


def tiny(gen_options):
    return config.resolve({'data': {'size': list(SIZE)},
                           'model': {'ch': 16, 'gen': gen_options}}, 'test')


def trained_like(gen, seed=1):
    """Weights away from their initial values (instance norm's gamma and
    beta included), so that every parameter shows in the output."""
    rng = numpy.random.default_rng(seed)
    for _, param in sorted(gen.namedparams()):
        param.array += 0.05 * rng.standard_normal(param.shape).astype(
            param.dtype)
    return gen


def generator(options):
    """The generator of ``options`` (weights away from their initial values)
    and its config. A warp's last layer, which starts at zero, is drawn at
    random: the warp is no identity, and leaves the photo."""
    resolved = tiny(options)
    gen = trained_like(run.make_generator(resolved, seed=0))
    if options.get('warp', 'none') == 'none':
        return gen, resolved
    l4 = gen.warp.l4
    rng = numpy.random.default_rng(2)
    l4.W.array[...] = 0.5 * rng.standard_normal(l4.W.shape)
    l4.b.array[...] = 0.1 * rng.standard_normal(l4.b.shape)
    x = numpy.random.default_rng(3).random((2, 3) + SIZE, dtype=numpy.float32)
    with chainer.using_config('train', False):
        grid = gen.warp.grid(x, x[::-1]).array
    identity = gen.warp.basis[:2].reshape((2,) + SIZE)
    assert abs(grid - identity).max() > 0.2
    assert abs(grid).max() > 1
    return gen, resolved


@pytest.mark.parametrize('name', sorted(OPTIONS))
def test_onnxruntime_computes_what_chainer_does(tmp_path, name):
    gen, resolved = generator(OPTIONS[name])
    path = tmp_path / 'gen.onnx'
    model = export.export_generator(gen, resolved, path)
    ops = {node.op_type for node in model.graph.node}
    assert 'InstanceNormalization' in ops
    assert not {'ReduceMean', 'BatchNormalization'} & ops
    domains = {o.domain for o in model.opset_import}
    # onnxruntime's GridSample at opset 11 (cagan.export's text): only a
    # warping generator's file imports its domain.
    if 'warp' in OPTIONS[name]:
        assert 'GridSample' in ops and domains == {'', export.MICROSOFT}
    else:
        assert 'GridSample' not in ops and domains == {''}
    assert [o.version for o in model.opset_import if not o.domain] == [
        export.OPSET]
    onnx.checker.check_model(onnx.load(str(path)))
    exported = OnnxGenerator(path)
    assert exported.size == SIZE
    assert config.resolve(yaml.safe_load(exported.config),
                          'metadata') == resolved
    rng = numpy.random.default_rng(0)
    # A batch other than the export's 1: the batch axis is free.
    triplets = [rng.random((3, 3) + SIZE, dtype=numpy.float32)
                for _ in range(3)]
    ours = inference.swap_arrays(gen, *triplets)
    theirs = exported.swap(*triplets)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        assert float(abs(a - b).max()) < export.TOLERANCE
    # What export.py checks before it says the file may be served.
    assert export.compare_with_chainer(gen, path) < export.TOLERANCE
    gen.dc3.b.array += 0.5  # another generator than the file's
    assert export.compare_with_chainer(gen, path) > export.TOLERANCE


def test_the_metadata_says_how_to_feed_the_model(tmp_path):
    resolved = tiny({})
    export.export_generator(run.make_generator(resolved, seed=0), resolved,
                            tmp_path / 'gen.onnx')
    model = onnx.load(str(tmp_path / 'gen.onnx'))
    meta = {p.key: p.value for p in model.metadata_props}
    contract = json.loads(meta[CONTRACT_KEY])
    assert contract['size'] == list(SIZE)
    assert set(contract['inputs']) == {'x_i', 'y_i', 'y_j'}
    assert set(contract['outputs']) == {'x_ij', 'alpha'}
    assert '[0, 1]' in contract['inputs']['x_i']
    assert 'RGB' in contract['inputs']['x_i']
    assert 'model:' in meta[CONFIG_KEY]
    assert [i.name for i in model.graph.input] == ['x_i', 'y_i', 'y_j']


def run_script(script, *args, code=None):
    command = [sys.executable, '-W', 'error']
    command += (['-c', code] if code else [str(ROOT / 'scripts' / script)])
    return subprocess.run(command + [str(a) for a in args],
                          capture_output=True, text=True, cwd=str(ROOT))


#: scripts/swap.py run in a process that then says what it imported.
SWAP_AND_LIST = '''
import runpy, sys
sys.argv = ['swap.py'] + sys.argv[1:]
try:
    runpy.run_path('scripts/swap.py', run_name='__main__')
finally:
    print('IMPORTED', ' '.join(sorted(sys.modules)))
'''


@pytest.fixture(scope='module')
def run_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp('run')
    resolved = tiny({'inject': True, 'upsample': 'resize'})
    config.save(resolved, folder / run.CONFIG_NAME)
    chainer.serializers.save_npz(
        str(folder / 'gen_epoch_1.npz'),
        trained_like(run.make_generator(resolved, seed=0)))
    return folder


def test_export_then_swap_without_chainer(tmp_path, run_folder):
    onnx_file = tmp_path / 'gen.onnx'
    done = run_script('export.py', '--model', run_folder, '--out', onnx_file)
    assert done.returncode == 0, done.stderr
    assert 'matches Chainer' in done.stdout
    human, article = tmp_path / 'me.jpg', tmp_path / 'red.png'
    Image.fromarray(photo((120, 90))).save(human)
    Image.fromarray(photo((40, 30), 1)).save(article)
    done = run_script(None, human, article, '--model', onnx_file, '--out',
                      tmp_path / 'onnx' / 'look.png', code=SWAP_AND_LIST)
    assert done.returncode == 0, done.stderr
    imported = done.stdout.split('IMPORTED')[1].split()
    # (cagan._compat's stand-in for chainer._environment_check is no
    # import of Chainer.)
    assert 'onnxruntime' in imported and 'chainer' not in imported
    assert not [m for m in imported if m.startswith('chainer.')
                and m != 'chainer._environment_check']
    done = run_script('swap.py', human, article, '--model', run_folder,
                      '--out', tmp_path / 'chainer' / 'look.png')
    assert done.returncode == 0, done.stderr
    for name in ('look.png', 'look-alpha.png', 'look-side.png'):
        with Image.open(tmp_path / 'onnx' / name) as a, \
                Image.open(tmp_path / 'chainer' / name) as b:
            # 8-bit images of values that agree to 1e-4: one level at most.
            gap = numpy.abs(numpy.asarray(a, numpy.int16)
                            - numpy.asarray(b, numpy.int16)).max()
            assert gap <= 1, name


@pytest.mark.parametrize('content, words', [
    (None, 'cannot load it as an ONNX model'),
    (b'not a model', 'cannot load it as an ONNX model'),
    ('no metadata', "without cagan's metadata")])
def test_a_bad_onnx_file_is_one_line(tmp_path, content, words):
    path = tmp_path / 'gen.onnx'
    if content == 'no metadata':
        x = onnx.helper.make_tensor_value_info('x', onnx.TensorProto.FLOAT,
                                               [1])
        graph = onnx.helper.make_graph(
            [onnx.helper.make_node('Identity', ['x'], ['y'])], 'g', [x],
            [onnx.helper.make_tensor_value_info('y', onnx.TensorProto.FLOAT,
                                                [1])])
        onnx.save(onnx.helper.make_model(graph), str(path))
    elif content is not None:
        path.write_bytes(content)
    human = tmp_path / 'me.png'
    Image.fromarray(photo((40, 30))).save(human)
    done = run_script('swap.py', human, human, '--model', path, '--out',
                      tmp_path / 'out.png')
    assert done.returncode == 1
    assert done.stderr.count('\n') == 1 and words in done.stderr, done.stderr
    assert 'Traceback' not in done.stderr
    assert not (tmp_path / 'out.png').exists()


MISSING = '''
import sys
sys.modules[{name!r}] = None  # as if it were not installed
import runpy
sys.argv = [{script!r}] + sys.argv[1:]
runpy.run_path('scripts/' + {script!r}, run_name='__main__')
'''


def test_without_the_serve_extra_the_error_says_what_to_install(
        tmp_path, run_folder):
    done = run_script(None, '--model', run_folder, '--out',
                      tmp_path / 'gen.onnx',
                      code=MISSING.format(name='onnx', script='export.py'))
    assert done.returncode == 1 and done.stderr.count('\n') == 1
    assert 'needs the onnx package: pip install -e .[serve]' in done.stderr
    human = tmp_path / 'me.png'
    Image.fromarray(photo((40, 30))).save(human)
    done = run_script(None, human, human, '--model', tmp_path / 'gen.onnx',
                      code=MISSING.format(name='onnxruntime',
                                          script='swap.py'))
    assert done.returncode == 1 and done.stderr.count('\n') == 1
    assert 'needs onnxruntime: pip install -e .[serve]' in done.stderr


def test_export_makes_the_folder_and_says_when_it_cannot_write(tmp_path,
                                                               run_folder):
    out = tmp_path / 'new' / 'deeper' / 'gen.onnx'
    done = run_script('export.py', '--model', run_folder, '--out', out)
    assert done.returncode == 0, done.stderr
    assert out.is_file()
    blocker = tmp_path / 'a-file'
    blocker.write_text('')
    done = run_script('export.py', '--model', run_folder, '--out',
                      blocker / 'gen.onnx')
    assert done.returncode == 1 and done.stderr.count('\n') == 1
    assert 'cannot write it' in done.stderr and 'Traceback' not in done.stderr


def test_swap_names_the_same_default_model_as_the_run_module():
    import runpy
    names = runpy.run_path(str(ROOT / 'scripts' / 'swap.py'))
    assert names['DEFAULT_MODEL'] == str(run.DEFAULT_MODEL)
