"""Plain helpers and constants that several top-level test modules share
(the shared fixtures are in conftest.py): no test module imports another."""

import pathlib
import subprocess
import sys

import chainer
import numpy
from chainer import iterators

import cagan.precision
from cagan import Discriminator, Generator, config
from cagan.optimizers import make_adam
from cagan.updater import CAGANUpdater

#: The repository's root.
ROOT = pathlib.Path(__file__).resolve().parents[1]


# ------------------------------------------------- the modules (test_imports)

def modules(root=ROOT):
    """Dotted name -> path of every module of the ``cagan`` package."""
    found = {}
    for path in sorted((root / 'cagan').rglob('*.py')):
        parts = path.relative_to(root).with_suffix('').parts
        if parts[-1] == '__init__':
            parts = parts[:-1]
        found['.'.join(parts)] = path
    return found


# -------------------------------------------- a tiny run (test_training)

#: A tiny run's frame (data.size).
TRAINING_SIZE = (64, 32)


def tiny_config(root, more=None, **train):
    """A tiny run's config; ``more``: other sections' keys to set."""
    settings = {'batch': 4, 'epochs': 1, 'log_every': 1,
                'snapshot_every': 2, 'keep_snapshots': 2}
    settings.update(train)
    resolved = config.resolve({
        'data': {'root': str(root), 'size': list(TRAINING_SIZE)},
        'model': {'ch': 8},
        'train': settings,
        'preview': {'every': 2, 'humans': 2, 'articles': 3},
    }, 'test')
    return config.resolve(more, 'test', resolved) if more else resolved


# ------------------------------------------- one CAGAN step (test_updater)

#: The networks' size in make_updater and the images' in triplets.
UPDATER_SIZE = 64
KEYS = ['dis/loss', 'dis/loss_fake', 'dis/loss_real', 'dis/loss_wrong',
        'gen/alpha', 'gen/loss', 'gen/loss_adv', 'gen/loss_cyc',
        'gen/loss_id']


def triplets(seed=0, n=8, size=UPDATER_SIZE):
    rng = numpy.random.default_rng(seed)
    return [tuple(rng.random((3, size, size), dtype=numpy.float32)
                  for _ in range(3)) for _ in range(n)]


def make_updater(seed=0, noise_sigma=0.2, batch=4, data=None,
                 precision='float32', gen_options=None, **kwargs):
    with cagan.precision.building(precision):
        gen = Generator(ch=16, size=UPDATER_SIZE, seed=seed,
                        **(gen_options or {}))
        dis = Discriminator(ch=16, size=UPDATER_SIZE, noise_sigma=noise_sigma,
                            seed=seed + 1)
    iterator = iterators.SerialIterator(
        data or triplets(seed), batch, shuffle=None,
        order_sampler=iterators.ShuffleOrderSampler(
            numpy.random.RandomState(seed)))
    optimizers = {name: make_adam(link, precision=precision)
                  for name, link in (('gen', gen), ('dis', dis))}
    return CAGANUpdater(iterator, optimizers, **kwargs)


def step(updater):
    """One update under a reporter that observes gen and dis, as a Trainer."""
    reporter = chainer.Reporter()
    reporter.add_observer('gen', updater.get_optimizer('gen').target)
    reporter.add_observer('dis', updater.get_optimizer('dis').target)
    observation = {}
    with reporter.scope(observation):
        updater.update()
    return {k: float(getattr(v, 'array', v)) for k, v in observation.items()}


def params(link):
    return {name: p.array.copy() for name, p in link.namedparams()}


# ------------------------------------------------ refusals (test_precision)

def refusal(script, out, *args):
    """What ``script`` (train.py or benchmark.py) says on the demo's config
    with ``args`` when it refuses them: exit 1, nothing written."""
    done = subprocess.run(
        [sys.executable, 'scripts/' + script, '--config', 'configs/demo.yaml']
        + list(args) + (['--out', str(out)] if script == 'train.py' else []),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert done.returncode == 1
    assert not out.exists()
    return done.stderr.splitlines()


# ---------------------------------- photos and a run folder (test_inference)

#: The frame of the run folder of conftest.py's ``model`` fixture.
INFERENCE_SIZE = (64, 32)


def photo(shape, seed=0):
    return numpy.random.default_rng(seed).integers(
        0, 256, shape + (3,), dtype=numpy.uint8)


# ---------------------------------------------------- scripts (test_swap)

def run_script(script, *args):
    return subprocess.run([sys.executable, '-W', 'error',
                           str(ROOT / 'scripts' / script)] +
                          [str(a) for a in args],
                          capture_output=True, text=True, cwd=str(ROOT))
