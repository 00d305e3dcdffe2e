"""Data-parallel training (cagan.distributed): the pieces without MPI, then
2-rank CPU runs under mpiexec (skipped, with the reason, without MPI)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import importlib.util
from pathlib import Path

import numpy
import pytest

from cagan import config, distributed, run, testing
from cagan.data import synthetic
from cagan.data.dataset import Record
from cagan.errors import (CaganError, ConfigError, DataError,
                          RunFolderInUseError)
from tests.helpers import tiny_config as training_config

ROOT = Path(__file__).resolve().parent.parent
RANKS = 2

MPIEXEC = shutil.which('mpiexec')
HAVE_MPI4PY = importlib.util.find_spec('mpi4py') is not None
needs_mpi = pytest.mark.skipif(
    not (MPIEXEC and HAVE_MPI4PY),
    reason='needs mpiexec ({}) and mpi4py in {} ({}): apt-get install '
    'openmpi-bin libopenmpi-dev; pip install mpi4py (.ci/run does)'.format(
        'found' if MPIEXEC else 'missing', sys.executable,
        'found' if HAVE_MPI4PY else 'missing'))


def tiny_config(root, **train):
    """tests/test_training.py's tiny run, at batch 2 per rank."""
    settings = {'batch': 2, 'epochs': 2, 'log_every': 3}
    settings.update(train)
    return config.resolve({'preview': {'every': 100},
                           'evaluate': {'swaps': 4}}, 'test',
                          training_config(root, **settings))


def records(groups):
    return [Record(Path('h{}.png'.format(k)), Path('a{}.png'.format(k)), g)
            for k, g in enumerate(groups)]


# Without MPI -----------------------------------------------------------------

def test_shards_are_equal_disjoint_and_deterministic():
    pairs = records('abcdefghijk')  # 11 pairs
    shards = [distributed.shard(pairs, r, 3) for r in range(3)]
    assert [len(s) for s in shards] == [3, 3, 3]
    assert shards[1] == [pairs[1], pairs[4], pairs[7]]
    flat = [p for s in shards for p in s]
    assert len(set(flat)) == 9 and set(flat) <= set(pairs)
    assert distributed.shard(pairs, 1, 3) == shards[1]
    assert distributed.shard(pairs, 0, 1) == pairs[:11]


def test_a_shard_with_a_single_article_is_refused_on_every_rank():
    pairs = records('aabbaa')  # rank 0 gets a, b, a; rank 1 a, b, a
    assert len(distributed.shard(pairs, 1, 2)) == 3
    pairs = records('ababab')  # rank 0 gets only a, rank 1 only b
    for rank in (0, 1):
        with pytest.raises(DataError, match='leave rank 0 fewer than two '
                           'different articles') as caught:
            distributed.shard(pairs, rank, 2)
        assert len(str(caught.value).splitlines()) == 1


def test_rank_seeds_share_the_weights_not_the_data():
    from cagan.training import child_seeds
    seeds = child_seeds(0)
    per_rank = [distributed.rank_seeds(seeds, r) for r in range(3)]
    for name in ('gen', 'dis', 'preview'):
        assert len({s[name] for s in per_rank}) == 1
    for name in ('data', 'order', 'noise'):
        assert len({s[name] for s in per_rank}) == 3
    assert distributed.rank_seeds(seeds, 1) == per_rank[1]
    assert seeds == child_seeds(0)  # not changed in place


def test_ranks_resume_from_their_newest_common_snapshot(tmp_path):
    for name in ('snapshot_rank0_iter_4', 'snapshot_rank0_iter_6',
                 'snapshot_rank1_iter_2', 'snapshot_rank1_iter_4',
                 'snapshot_rank10_iter_6', 'tmpsnapshot_rank1_iter_6abc'):
        (tmp_path / name).write_text('x')
    found = [distributed.snapshot_iterations(tmp_path, r) for r in (0, 1)]
    assert found == [{4, 6}, {2, 4}]
    assert distributed.common_iteration(found) == 4
    assert distributed.common_iteration([set(), set()]) is None
    with pytest.raises(ConfigError, match='share no iteration'):
        distributed.common_iteration([{6}, {4}])


def test_a_folder_of_another_number_of_ranks_is_refused(tmp_path):
    distributed.check_ranks(tmp_path, None)
    distributed.check_ranks(tmp_path, 2)
    (tmp_path / 'snapshot_iter_4').write_text('x')
    with pytest.raises(ConfigError, match='single-process run'):
        distributed.check_ranks(tmp_path, 2)
    (tmp_path / run.RANKS_NAME).write_text(json.dumps({'ranks': 2}))
    distributed.check_ranks(tmp_path, 2)
    with pytest.raises(ConfigError, match='run of 2 ranks, not 3'):
        distributed.check_ranks(tmp_path, 3)
    with pytest.raises(ConfigError, match='run of 2 ranks'):
        distributed.check_ranks(tmp_path, None)


def test_connect_refuses_in_one_line_before_touching_mpi(monkeypatch):
    import chainer
    cpu = chainer.get_device('@numpy')
    assert distributed.connect(None, cpu) == (None, cpu)
    with pytest.raises(CaganError, match='needs GPUs'):
        distributed.connect('pure_nccl', cpu)
    with pytest.raises(CaganError, match='unknown communicator'):
        distributed.connect('fast', cpu)
    monkeypatch.setenv('OMPI_COMM_WORLD_SIZE', '2')
    monkeypatch.setenv('OMPI_COMM_WORLD_RANK', '1')
    with pytest.raises(CaganError, match='no --communicator'):
        distributed.connect(None, cpu)
    assert distributed.rank_of(None) == 1


def test_a_plain_run_imports_neither_chainermn_nor_mpi4py(tmp_path,
                                                           data_root):
    config.save(tiny_config(data_root), tmp_path / run.CONFIG_NAME)
    code = (
        'import runpy, sys\n'
        'train = runpy.run_path({script!r})\n'
        'from cagan import config, training\n'
        'training.make_trainer(config.load({cfg!r}), {out!r})\n'
        'bad = [m for m in ("chainermn", "mpi4py") if m in sys.modules]\n'
        'assert not bad, bad\n').format(
            script=str(ROOT / 'scripts' / 'train.py'),
            cfg=str(tmp_path / 'config.yaml'), out=str(tmp_path / 'run'))
    done = subprocess.run([sys.executable, '-W', 'error', '-c', code],
                          cwd=str(ROOT), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    assert done.returncode == 0, done.stderr


# Under mpiexec ---------------------------------------------------------------

def mpiexec(*args, ranks=RANKS):
    """The command running ``python ARGS`` as ``ranks`` MPI ranks on this
    machine (Open MPI: as root, and with more ranks than cores if need be),
    each with one BLAS thread so that the ranks share the cores."""
    return [MPIEXEC, '--allow-run-as-root', '--oversubscribe', '-n',
            str(ranks), '-x', 'OMP_NUM_THREADS=1', '-x',
            'OPENBLAS_NUM_THREADS=1', sys.executable] + [str(a) for a in args]


def load(path):
    with numpy.load(str(path)) as f:
        return {k: f[k] for k in f.files}


@pytest.mark.numerics
@needs_mpi
def test_two_ranks_at_batch_b_step_like_one_at_batch_2b(tmp_path, data_root):
    sys.path.insert(0, str(ROOT / 'tests'))
    try:
        import mpi_step
    finally:
        sys.path.remove(str(ROOT / 'tests'))
    batch, steps = 2, 2
    done = subprocess.run(
        mpiexec(ROOT / 'tests' / 'mpi_step.py', data_root, tmp_path, batch,
                steps), cwd=str(ROOT), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    ranks = [load(tmp_path / 'rank{}.npz'.format(r)) for r in range(RANKS)]
    # After every step both ranks hold the same weights, bit for bit.
    assert ranks[0].keys() == ranks[1].keys()
    for key in ranks[0]:
        numpy.testing.assert_array_equal(ranks[0][key], ranks[1][key],
                                         err_msg=key)
    whole = mpi_step.fixed_batch(data_root, RANKS * batch)
    single = mpi_step.make_updater(whole)
    initial = mpi_step.state(single)
    for _ in range(steps):
        single.update()
    expected = mpi_step.state(single)
    assert expected.keys() == ranks[0].keys()
    # Biases of convolutions followed by instance normalization, which
    # removes them: their gradient is 0 but for rounding.
    networks = {n: single.get_optimizer(n).target for n in ('gen', 'dis')}
    cancelled = set().union(*(testing.cancelled_biases(link, prefix=n)
                              for n, link in networks.items()))
    # After two steps a channel can be nearly constant, and instance norm's
    # backward then divides by its small deviation: the rounding noise of
    # its bias is held to the network's largest gradient, as
    # testing.assert_gradients_close holds it.
    largest = {n: max(numpy.abs(v).max() for k, v in expected.items()
                      if k.startswith('grad:' + n + '/'))
               for n in networks}
    for key, value in expected.items():
        name = key.split(':')[-1]
        if name in cancelled:
            # Zero in exact arithmetic: only rounding noise, which Adam
            # (a step of +-alpha whatever the gradient's size) amplifies.
            if key.startswith('grad'):
                for got in (value, ranks[0][key]):
                    testing.assert_allclose(
                        got, numpy.zeros_like(got),
                        testing.NETWORK_GRADIENT_RTOL, err_msg=key,
                        scale=largest[name.split('/')[0]])
            continue
        # The averaged gradients are the whole batch's (the mean of the
        # halves' means), to float32 rounding; so are the weights, up to
        # Adam's normalised step turning rounding into ~1e-4 of a step
        # (alpha 2e-4) for parameters with tiny gradients: each array to
        # its largest value (gradients as in any whole-network comparison,
        # measured at most 1.1e-5 of it), and to no less than 1e-7 (a
        # thousandth of a step) where all its values are tiny.
        testing.assert_allclose(ranks[0][key], value, rtol=1e-4, err_msg=key,
                                scale=max(numpy.abs(value).max(), 1e-3))
    # The first step already moved the weights (ChainerMN's first update
    # would only have broadcast them).
    assert not numpy.array_equal(ranks[0]['gen/c0/W'], initial['gen/c0/W'])


@needs_mpi
def test_the_benchmark_times_the_two_rank_step(tmp_path):
    from cagan.experiments import flops
    cfg = tmp_path / 'tiny.yaml'
    cfg.write_text('data:\n  size: 64x32\nmodel:\n  ch: 8\n'
                   'train:\n  batch: 4\n')
    done = subprocess.run(
        mpiexec(ROOT / 'scripts' / 'benchmark.py', '--communicator', 'naive',
                '--config', cfg, '--steps', '1'), cwd=str(ROOT),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    figures = [json.loads(line) for line in done.stdout.splitlines()
               if line.startswith('{')]
    # Rank 0 alone prints; the job measures the ceiling and the step only.
    assert [f['figure'] for f in figures] == ['gemm_ceiling', 'training_step']
    step = figures[1]
    assert step['ranks'] == 2 and step['batch'] == 4
    assert step['gflop'] == round(flops.step_gflop(config.load(cfg)), 2)
    # The JSON rounds the ratio to 3 decimals and the GFLOP/s to 1.
    assert step['ratio'] == pytest.approx(
        step['gflops'] / step['ceiling_gflops'], abs=2e-3)
    assert 'ranks' in done.stdout.splitlines()[-2]  # the table's header
    # A batch that does not split: one line, before anything is measured.
    cfg.write_text(cfg.read_text().replace('batch: 4', 'batch: 3'))
    done = subprocess.run(
        mpiexec(ROOT / 'scripts' / 'benchmark.py', '--communicator', 'naive',
                '--config', cfg, '--steps', '1'), cwd=str(ROOT),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        timeout=300)
    assert done.returncode != 0 and done.stdout == ''
    errors = [line for line in done.stderr.splitlines()
              if line.startswith('error:')]
    assert errors == ['error: train.batch 3 does not split evenly over 2 '
                      'ranks: choose a multiple of 2']
    assert 'Traceback' not in done.stderr


def start_run(cfg_path, out, **popen):
    return subprocess.Popen(
        mpiexec(ROOT / 'scripts' / 'train.py', '--config', cfg_path, '--out',
                out, '--communicator', 'naive'),
        cwd=str(ROOT), start_new_session=True, **popen)


def kill_session(leader):
    """SIGKILL mpiexec and its ranks: they share its session, not its
    process group."""
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/{}/stat'.format(entry)) as f:
                session = int(f.read().rsplit(')', 1)[1].split()[3])
        except (OSError, IndexError, ValueError):
            continue
        if session == leader:
            try:
                os.kill(int(entry), signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture(scope='module')
def two_rank_run(tmp_path_factory, data_root):
    """An uninterrupted 2-rank run of :func:`tiny_config`: its folder, its
    config file and what it printed."""
    folder = tmp_path_factory.mktemp('mpi')
    cfg_path = config.save(tiny_config(data_root), folder / 'exp.yaml')
    out = folder / 'run'
    process = start_run(cfg_path, out, stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = process.communicate(timeout=300)
    finally:
        kill_session(process.pid)
    assert process.returncode == 0, stdout + stderr
    return out, cfg_path, stdout


def end_iteration(data_root, epochs=2, batch=2):
    from cagan.data.dataset import read_pairs_of
    per_rank = len(read_pairs_of(data_root)) // RANKS
    return -(-epochs * per_rank // batch)


@needs_mpi
def test_a_two_rank_run_writes_once_and_ends_with_one_model(two_rank_run,
                                                            data_root):
    out, _, stdout = two_rank_run
    end = end_iteration(data_root)
    names = set(os.listdir(out))
    assert {'config.yaml', 'distributed.json', 'log', 'loss.png', 'alpha.png',
            'eval.png', 'gen_epoch_1.npz', 'gen_epoch_2.npz',
            'dis_epoch_2.npz', 'gen_best.npz', 'preview'} <= names
    snapshots = {n for n in names if n.startswith('snapshot')}
    assert snapshots == {'snapshot_rank{}_iter_{}'.format(r, i)
                         for r in range(RANKS) for i in (end - 1, end)}
    assert not [n for n in names if n.startswith(('.tmp-', 'tmp'))]
    info = json.loads((out / 'distributed.json').read_text())
    assert info == {'ranks': 2, 'communicator': 'NaiveCommunicator',
                    'batch_per_rank': 2, 'effective_batch': 4,
                    'lr': 2e-4, 'dis_lr': 2e-4}
    # Rank 0 alone prints.
    assert stdout.count('training ') == 1
    assert stdout.count('2 ranks (NaiveCommunicator): batch 2 per rank, '
                        'effective batch 4; learning rate 0.0002') == 1
    log = json.loads((out / 'log').read_text())
    assert [e['iteration'] for e in log] == list(range(3, end + 1, 3))
    assert all(e['ranks'] == 2 and e['batch_per_rank'] == 2 and
               e['effective_batch'] == 4 for e in log)
    # Both ranks end with the same weights and optimizer states, and they
    # are the weights rank 0 saved.
    last = [load(out / 'snapshot_rank{}_iter_{}'.format(r, end))
            for r in range(RANKS)]
    shared = [k for k in last[0] if k.startswith(('updater/model:',
                                                  'updater/optimizer:'))]
    assert len(shared) > 20
    for key in shared:
        numpy.testing.assert_array_equal(last[0][key], last[1][key],
                                         err_msg=key)
    gen = load(out / 'gen_epoch_2.npz')
    for key, value in gen.items():
        numpy.testing.assert_array_equal(
            value, last[0]['updater/model:gen/' + key], err_msg=key)


@needs_mpi
def test_a_killed_two_rank_run_resumes_to_the_same_weights(
        tmp_path, two_rank_run, data_root):
    whole, cfg_path, _ = two_rank_run
    out = tmp_path / 'run'
    process = start_run(cfg_path, out, stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while not all((out / 'snapshot_rank{}_iter_4'.format(r)).exists()
                      for r in range(RANKS)):
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # Rank 0 holds the folder: a second training stops at once.
        with pytest.raises(RunFolderInUseError, match='in use by another'):
            run.RunLock(out).acquire()
        time.sleep(0.3)  # mid-step, mid-write: anywhere
    finally:
        kill_session(process.pid)
        process.wait()
        process.stderr.close()
    # Make rank 1 a snapshot behind rank 0, as a kill between the two
    # ranks' writes does (unless the kill did): both must resume from rank
    # 1's newest.
    behind = sorted(distributed.snapshot_iterations(out, 1))
    ahead = sorted(distributed.snapshot_iterations(out, 0))
    if len(behind) > 1 and behind[-1] == ahead[-1]:
        os.unlink(out / 'snapshot_rank1_iter_{}'.format(behind[-1]))
    done = subprocess.run(
        mpiexec(ROOT / 'scripts' / 'train.py', '--config', cfg_path, '--out',
                out, '--communicator', 'naive'),
        cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for name in ('gen_epoch_2.npz', 'dis_epoch_2.npz'):
        a, b = load(whole / name), load(out / name)
        for key in a:
            numpy.testing.assert_array_equal(a[key], b[key], err_msg=key)
    log = json.loads((out / 'log').read_text())
    whole_log = json.loads((whole / 'log').read_text())
    assert [e['iteration'] for e in log] == [e['iteration']
                                             for e in whole_log]
    for a, b in zip(log, whole_log):
        assert a['gen/loss'] == pytest.approx(b['gen/loss'], rel=1e-6)
    assert not [n for n in os.listdir(out) if n.startswith(('.tmp-', 'tmp'))]


@needs_mpi
def test_a_data_error_is_said_once_and_every_rank_stops(tmp_path):
    root = tmp_path / 'data'
    synthetic.write_dataset(root, 4, size=(40, 30), seed=0, test_pairs=2)
    config.save(tiny_config(root), tmp_path / run.CONFIG_NAME)
    done = subprocess.run(
        mpiexec(ROOT / 'scripts' / 'train.py', '--config',
                tmp_path / 'config.yaml', '--out', tmp_path / 'run',
                '--communicator', 'naive'),
        cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, timeout=120)
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines()
              if line.startswith('error:')]
    assert len(errors) == 1, done.stderr
    assert 'fewer than two different articles' in errors[0]


@needs_mpi
def test_a_rank_that_fails_mid_run_ends_every_rank():
    # Rank 1 stops (as on a NaN loss of its shard) while rank 0 waits for
    # it in a collective step: the job must end, saying why, not hang.
    code = (
        'import cagan, chainer\n'
        'from cagan import distributed\n'
        'from cagan.errors import NonFiniteLossError\n'
        'cpu = chainer.get_device("@numpy")\n'
        'comm, _ = distributed.connect("naive", cpu)\n'
        'class Trainer:\n'
        '    def run(self):\n'
        '        if comm.rank == 1:\n'
        '            raise NonFiniteLossError("gen/loss is nan")\n'
        '        comm.mpi_comm.Barrier()\n'
        'distributed.run(Trainer(), comm)\n')
    done = subprocess.run(mpiexec('-c', code), cwd=str(ROOT),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=120)
    assert done.returncode != 0
    assert 'error: rank 1: gen/loss is nan' in done.stderr
