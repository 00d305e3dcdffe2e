"""How the data modules depend on the rest: training never loads the tools
that make or curate datasets, a training step never needs Pillow."""

import subprocess
import sys

CODE = '''
import sys
import {}
print(' '.join(sorted(sys.modules)))
'''


def loaded_by(module):
    """The modules that importing ``module`` loads, in a fresh interpreter
    (this one has imported every module already)."""
    result = subprocess.run([sys.executable, '-c', CODE.format(module)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_training_imports_neither_synthetic_nor_curation():
    loaded = loaded_by('cagan.training')
    assert 'cagan.data.dataset' in loaded
    assert not [m for m in loaded
                if m.startswith(('cagan.data.synthetic', 'cagan.data.curation'))]


def test_the_updater_runs_without_pillow():
    # Stack (b) of tests/test_compat.py, the GPU machines', has no Pillow;
    # of the data modules, the updater loads only the one on NumPy alone
    # (Chainer itself tries Pillow, so 'PIL' may be loaded here anyway).
    loaded = loaded_by('cagan.updater')
    assert [m for m in loaded if m.startswith('cagan.data')] == [
        'cagan.data', 'cagan.data.neutral']
