"""The serving package never imports Chainer: a shop's server installs the
serve extra, not the training stack."""

import subprocess
import sys
from pathlib import Path

from tests.helpers import modules

ROOT = Path(__file__).resolve().parents[2]

# Importing Chainer (or what needs it) fails, as where it is not installed.
BLOCK = '''
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in ('chainer', 'chainermn', 'onnx_chainer'):
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
'''


def serving_modules():
    return sorted(name for name in modules(ROOT)
                  if name.split('.')[:2] == ['cagan', 'serving'])


def test_the_serving_package_imports_with_chainer_blocked():
    names = serving_modules()
    assert {'cagan.serving', 'cagan.serving.tryon',
            'cagan.serving.onnx_model', 'cagan.serving.app'} <= set(names)
    # (cagan._compat leaves a stub of chainer._environment_check, no more.)
    code = BLOCK + ''.join('import {}\n'.format(n) for n in names) + (
        "assert 'chainer' not in sys.modules and 'cupy' not in sys.modules\n")
    done = subprocess.run([sys.executable, '-c', code], cwd=str(ROOT),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_block_blocks():
    done = subprocess.run([sys.executable, '-c', BLOCK + 'import chainer'],
                          cwd=str(ROOT), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0 and 'blocked: chainer' in done.stderr
