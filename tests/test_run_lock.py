"""One run folder, one training: cagan.run.RunLock and train.py."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cagan import run
from cagan.data import synthetic
from cagan.errors import ConfigError, RunFolderInUseError

ROOT = Path(__file__).resolve().parents[1]


def test_a_second_lock_on_a_held_folder_is_refused_in_one_line(tmp_path):
    first = run.RunLock(tmp_path)
    first.acquire()
    first.acquire()  # held already: nothing
    before = (tmp_path / run.LOCK_NAME).stat()
    with pytest.raises(RunFolderInUseError) as refused:
        run.RunLock(tmp_path).acquire()
    assert str(refused.value) == (
        '{} is in use by another training (pid {}); wait for it or choose '
        'another --out'.format(tmp_path, os.getpid()))
    after = (tmp_path / run.LOCK_NAME).stat()
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns,
                                                  before.st_size)
    first.release()
    second = run.lock_if_exists(tmp_path)
    assert second.held
    second.release()


def test_a_new_folder_is_locked_when_prepared(tmp_path):
    out = tmp_path / 'new'
    lock = run.lock_if_exists(out)
    assert not lock.held and not out.exists()  # nothing written yet
    run.prepare(_config(tmp_path), out, lock)
    assert lock.held
    with pytest.raises(RunFolderInUseError, match='in use'):
        run.prepare(_config(tmp_path), out, run.RunLock(out))
    lock.release()


def test_a_forked_child_does_not_keep_the_lock(tmp_path):
    lock = run.RunLock(tmp_path)
    lock.acquire()
    read, write = os.pipe()
    ready_read, ready = os.pipe()
    child = os.fork()
    if child == 0:  # says it runs (fork's hooks have run), then waits
        os.close(write)
        os.write(ready, b'r')
        os.read(read, 1)
        os._exit(0)
    os.close(read)
    try:
        assert os.read(ready_read, 1) == b'r'
        lock.release()
        again = run.RunLock(tmp_path)
        again.acquire()  # the child still runs, and holds nothing
        again.release()
    finally:
        for fd in (write, ready, ready_read):
            os.close(fd)
        os.waitpid(child, 0)


def test_a_folder_that_cannot_hold_a_lock_says_so(tmp_path):
    (tmp_path / run.LOCK_NAME).mkdir()  # cannot be opened as a file
    with pytest.raises(ConfigError, match='cannot open the run folder'):
        run.RunLock(tmp_path).acquire()


def _config(tmp_path):
    from cagan import config
    return config.resolve({'data': {'root': str(tmp_path / 'data')}}, 'test')


# --- Two train.py processes on one folder ------------------------------------

CONFIG = '''\
data:
  root: {root}
  size: 64x32
model:
  ch: 8
train:
  batch: 4
  epochs: 40
  log_every: 1
  snapshot_every: 3
evaluate:
  swaps: 0
preview:
  every: 1000
'''


def train(cfg, out, log=None):
    """train.py on ``cfg`` into ``out``, its output piped, or written to
    the file ``log`` (for a process that is killed rather than read)."""
    output = subprocess.PIPE if log is None else log
    return subprocess.Popen(
        [sys.executable, str(ROOT / 'scripts' / 'train.py'), '--config',
         str(cfg), '--out', str(out)], cwd=str(ROOT), stdout=output,
        stderr=subprocess.STDOUT if log else subprocess.PIPE, text=True)


def folder_state(out):
    """Every file under ``out``: its size, mtime and bytes."""
    return {str(p.relative_to(out)): (p.stat().st_size, p.stat().st_mtime_ns,
                                      p.read_bytes())
            for p in sorted(out.rglob('*')) if p.is_file()}


def wait_for(condition, process, seconds=120):
    end = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, 'it stopped: {}'.format(
            process.returncode)
        assert time.monotonic() < end, 'timed out'
        time.sleep(0.1)


@pytest.mark.slow
def test_a_second_training_on_a_folder_in_use_stops_and_a_restart_resumes(
        tmp_path):
    root = tmp_path / 'data'
    synthetic.write_dataset(root, 16, size=(40, 30), seed=0, test_pairs=4)
    cfg = tmp_path / 'tiny.yaml'
    cfg.write_text(CONFIG.format(root=root))
    out = tmp_path / 'run'
    with open(str(tmp_path / 'first.txt'), 'w') as log:
        first = train(cfg, out, log)
    try:
        # Past epoch 1 (4 iterations) and its snapshot at iteration 6.
        wait_for(lambda: any(int(p.name.rsplit('_', 1)[1]) >= 6
                             for p in out.glob('snapshot_iter_*')), first)
        # Stopped, the first still holds the lock, and writes nothing more.
        first.send_signal(signal.SIGSTOP)
        time.sleep(0.5)  # let a write under way finish
        before = folder_state(out)
        second = train(cfg, out)
        stdout, stderr = second.communicate(timeout=120)
        assert second.returncode == 1
        assert stdout == ''
        assert stderr == (
            'error: {} is in use by another training (pid {}); wait for it '
            'or choose another --out\n'.format(out, first.pid))
        assert folder_state(out) == before
        # Readers take no lock: the run's config and snapshot load.
        assert run.find_weights(out) if list(out.glob('gen_*.npz')) else True
        first.kill()  # SIGKILL, as kill -9: the kernel drops the lock
        first.wait(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    epoch_1 = folder_state(out)['gen_epoch_1.npz']
    restart = train(cfg, out)
    stdout, stderr = restart.communicate(timeout=600)
    assert restart.returncode == 0, stderr
    # It resumed from a snapshot after epoch 1: that epoch's weights were
    # not written again.
    assert folder_state(out)['gen_epoch_1.npz'] == epoch_1
    assert (out / 'gen_epoch_40.npz').is_file()
