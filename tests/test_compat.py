"""``import cagan`` readies Chainer 7.8.1 silently on both supported stacks.

(a) this interpreter (CI: Python 3.11, NumPy 1.26);
(b) Python 3.12 + NumPy 2 + the newest setuptools, the GPU machines' stack,
    in its own virtual environment ``.venv-py312``, when a Python 3.12
    interpreter is found; its tests run under each OpenBLAS kernel this CPU
    can run (``tests/blas_kernels.py``), as ``make test-kernels`` runs the
    numerics tests of (a).
"""

import glob
import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys

import numpy
import pytest

from tests.blas_kernels import runnable

ROOT = pathlib.Path(__file__).resolve().parents[1]
VENV = ROOT / '.venv-py312'
# Bump to rebuild the venv when what it holds changes.
VENV_RECIPE = ('numpy>=2,<3 setuptools>=82 pytest pyyaml chainer==7.8.1 '
               'threadpoolctl==3.8.0 v3')
# Run there on NumPy 2, with warnings as errors (pytest.ini): the networks,
# the kernels and the float comparisons, under each OpenBLAS kernel this
# CPU can run (NumPy 2 bundles an OpenBLAS of its own, which sums in other
# orders than NumPy 1's).
STACK_B_TESTS = ['tests/links/', 'tests/kernels/', 'tests/test_testing.py',
                 'tests/test_serialization.py', 'tests/test_losses.py',
                 'tests/test_updater.py']
#: None: the kernel OpenBLAS picks for this CPU; then each one it can run.
STACK_B_KERNELS = [None] + runnable()
#: What NumPy 2's OpenBLAS (0.3.3x) calls a kernel that it names otherwise
#: (Prescott's SSE3 generation is Katmai there) or runs as another's (Zen's
#: code is Haswell's).
STACK_B_REPORTS = {'Zen': 'Haswell', 'Prescott': 'Katmai'}
BLAS_ARCHITECTURE = ('import threadpoolctl, numpy; print(*[i["architecture"] '
                     'for i in threadpoolctl.threadpool_info() '
                     'if i["internal_api"] == "openblas"])')
SMOKE = '''
import sys, warnings
import cagan, chainer, numpy
import chainer.functions as F
x = numpy.linspace(0, 1, 2 * 3 * 8 * 8, dtype=numpy.float32).reshape(2, 3, 8, 8)
assert F.resize_images(x, (16, 16)).shape == (2, 3, 16, 16)   # numpy.float
assert F.as_strided(x.ravel(), (4,), (4,)).shape == (4,)       # numpy.sctypes
print(sys.version_info[:2], numpy.__version__, chainer.__version__)
'''


def run(python, *args, env=None, timeout=600):
    return subprocess.run([str(python)] + list(args), cwd=str(ROOT), env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_import_is_silent_under_warnings_as_errors():
    result = run(sys.executable, '-W', 'error', '-c', 'import cagan')
    assert result.returncode == 0, result.stderr
    assert result.stdout == '' and result.stderr == ''


def test_chainer_functions_that_numpy_broke_work():
    result = run(sys.executable, '-W', 'error', '-c', SMOKE)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ''


@pytest.mark.skipif(importlib.util.find_spec('cupy') is not None,
                    reason='CuPy is installed here, and Chainer imports it')
def test_a_cpu_run_never_imports_cupy():
    result = run(sys.executable, '-c',
                 'import sys, cagan; assert "cupy" not in sys.modules')
    assert result.returncode == 0, result.stderr


def test_apply_is_idempotent_and_keeps_chainer_working():
    from cagan import _compat
    _compat.apply()
    _compat.apply()
    assert numpy.float is float and 'float' in numpy.sctypes


def test_double_backprop_with_the_input_gradient_alone():
    # A penalty on the input's gradient alone (R1): Chainer 7.8.1 raised
    # in group norm's and the convolution's double backward. Fixed, the
    # weights' gradients are those of a route where Chainer did not raise
    # (every first-order gradient read; a gradient that is not constant).
    import chainer
    import chainer.functions as F
    from cagan import _compat
    _compat.fix_double_backprop()
    _compat.fix_double_backprop()
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((2, 3, 4, 4))
    gamma = chainer.Parameter(rng.standard_normal(3))
    beta = chainer.Parameter(rng.standard_normal(3))
    W = chainer.Parameter(rng.standard_normal((1, 3, 3, 3)))

    def weight_grads(read_all):
        xv = chainer.Variable(x)
        h = F.group_normalization(xv, 3, gamma, beta)
        # A constant: the convolution's output gradient is one.
        ones = chainer.Variable(numpy.ones((2, 1, 4, 4)),
                                requires_grad=read_all)
        y = F.sum(F.convolution_2d(h ** 3, W, pad=1) * ones)
        wanted = [xv, gamma, beta, ones] if read_all else [xv]
        firsts = chainer.grad([y], wanted, enable_double_backprop=True)
        loss = F.sum(firsts[0] ** 2)
        if read_all:
            loss += sum(0 * F.sum(g) for g in firsts[1:])
        for p in (gamma, beta, W):
            p.cleargrad()
        loss.backward()
        return [p.grad for p in (gamma, beta, W)]

    for ours, theirs in zip(weight_grads(False), weight_grads(True)):
        numpy.testing.assert_allclose(ours, theirs, rtol=1e-12)


def find_python312():
    """A working Python 3.12 interpreter, or None.

    ``python3.12`` on the PATH first (the GPU machines); a pyenv shim there
    can exist and still fail, so each candidate is run once.
    """
    pyenv_root = os.environ.get('PYENV_ROOT', os.path.expanduser('~/.pyenv'))
    candidates = [os.environ.get('CAGAN_PYTHON312'), shutil.which('python3.12')]
    candidates += sorted(glob.glob(
        os.path.join(pyenv_root, 'versions', '3.12*', 'bin', 'python3.12')))
    for python in filter(None, candidates):
        try:
            result = run(python, '-c', 'import sys; print(sys.version_info[:2])',
                         timeout=60)
        except OSError:
            continue
        if result.returncode == 0 and result.stdout.strip() == '(3, 12)':
            return python
    return None


def build_stack_b(python):
    """Make ``.venv-py312``; reuse it while the recipe is unchanged."""
    stamp = VENV / 'recipe.txt'
    if stamp.exists() and stamp.read_text() == VENV_RECIPE:
        return VENV / 'bin' / 'python'
    shutil.rmtree(str(VENV), ignore_errors=True)
    subprocess.run([python, '-m', 'venv', str(VENV)], check=True)
    vpython = VENV / 'bin' / 'python'
    pip = [str(vpython), '-m', 'pip', '--disable-pip-version-check', 'install',
           '--quiet']
    env = {k: v for k, v in os.environ.items()
           if k not in ('PIP_CONSTRAINT', 'PIP_BUILD_CONSTRAINT')}
    build_env = dict(env, PIP_CONSTRAINT=str(ROOT / 'constraints.txt'),
                     PIP_BUILD_CONSTRAINT=str(ROOT / 'constraints.txt'))
    wheels = VENV / 'wheels'
    # Chainer's sdist builds only with setuptools<74; its wheel then runs on
    # the newest setuptools, which has no pkg_resources (as on the GPU).
    subprocess.run([str(vpython), '-m', 'pip', 'wheel', '--quiet', '--no-deps',
                    '-w', str(wheels), 'chainer==7.8.1'],
                   env=build_env, check=True)
    # Carried to the GPU machines too (scripts/gpu_check.sh).
    subprocess.run([str(vpython), '-m', 'pip', 'download', '--quiet',
                    '--no-deps', '-d', str(wheels), 'threadpoolctl==3.8.0'],
                   env=env, check=True)
    subprocess.run(pip + ['--upgrade', 'numpy>=2,<3', 'setuptools>=82',
                          'pytest', 'pyyaml'] + [str(w) for w in wheels.glob('*.whl')],
                   env=env, check=True)
    stamp.write_text(VENV_RECIPE)
    return vpython


@pytest.mark.slow
@pytest.mark.parametrize('kernel', STACK_B_KERNELS)
def test_stack_b_python312_numpy2(kernel):
    if sys.version_info >= (3, 12) and numpy.__version__ >= '2':
        pytest.skip('this interpreter is stack (b) itself: the tests above '
                    'covered it')
    python = find_python312()
    if python is None:
        pytest.skip('no Python 3.12 found (python3.12 on PATH, '
                    '$CAGAN_PYTHON312, pyenv versions): stack (b) not checked')
    vpython = build_stack_b(python)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop('OPENBLAS_CORETYPE', None)
    if kernel is not None:
        named = STACK_B_REPORTS.get(kernel, kernel)
        if named != kernel and named in STACK_B_KERNELS:
            pytest.skip('NumPy 2\'s OpenBLAS runs {} as {}, tested on its '
                        'own'.format(kernel, named))
        env['OPENBLAS_CORETYPE'] = named
        # NumPy 2's own OpenBLAS takes the variable: threadpoolctl says so.
        result = run(vpython, '-c', BLAS_ARCHITECTURE, env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == [named], result.stdout
    result = run(vpython, '-W', 'error', '-c', 'import cagan', env=env)
    assert result.returncode == 0 and result.stderr == '', result.stderr
    result = run(vpython, '-W', 'error', '-c', SMOKE, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('(3, 12) 2.'), result.stdout
    result = run(vpython, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
                 *STACK_B_TESTS, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
