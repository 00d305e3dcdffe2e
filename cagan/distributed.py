"""Data-parallel training over MPI with ChainerMN: one process per CPU or GPU.

``mpiexec -n N python scripts/train.py --config FILE --communicator NAME``
starts N copies of the same run (ranks). Each rank:

* trains on its own shard of the training pairs (:func:`shard`), with its
  own triplet, epoch-order and discriminator-noise seeds
  (:func:`rank_seeds`), from the same initial weights;
* averages the generator's and the discriminator's gradients with every
  other rank before each update (:func:`multi_node_optimizer`), so all ranks
  hold the same weights after every step, and one step of N ranks at batch
  ``b`` is one step at batch ``N * b``;
* writes its own snapshots, ``snapshot_rank{r}_iter_{N}``
  (:class:`RankSnapshot`); a restarted run resumes every rank from the
  newest iteration that every rank has.

Rank 0 alone writes the log, plots, previews, evaluation and weights, and
prints; ``distributed.json`` in the run's folder records the ranks and the
batch sizes.

``chainermn`` and ``mpi4py`` are imported only by :func:`connect`, so that a
run without ``--communicator`` needs neither MPI nor mpi4py.
"""

import json
import multiprocessing
import os
import shutil
import sys
import traceback
from pathlib import Path

import chainer
import numpy
from chainer.serializers import npz
# Chainer's snapshot extension class (private, but 7.8.1 is the last
# release): RankSnapshot keeps its writer, pruning and trigger.
from chainer.training.extensions import _snapshot

from cagan.kernels import threads
from cagan.errors import CaganError, ConfigError, DataError
from cagan.atomic import write_text_atomic
from cagan.run import (RANK_SNAPSHOT_NAME, RANK_SNAPSHOT_PATTERN, RANKS_NAME,
                       SNAPSHOT_PATTERN)
from cagan.run import RunLock, prepare as prepare_folder

#: ``--communicator`` names (chainermn.create_communicator); the first runs
#: on CPUs, the others need one GPU per rank.
COMMUNICATORS = ('naive', 'pure_nccl', 'flat', 'non_cuda_aware')
CPU_COMMUNICATORS = ('naive',)

# Variables by which mpiexec (Open MPI; MPICH, Intel MPI) tells a process
# its place; read without importing MPI.
_SIZE_VARS = ('OMPI_COMM_WORLD_SIZE', 'PMI_SIZE')
_RANK_VARS = ('OMPI_COMM_WORLD_RANK', 'PMI_RANK')


def _environ_int(names, default):
    for name in names:
        if os.environ.get(name, '').isdigit():
            return int(os.environ[name])
    return default


def launched_size():
    """How many processes ``mpiexec`` started (1 when not started by it)."""
    return _environ_int(_SIZE_VARS, 1)


def rank_of(comm):
    """``comm.rank``; without a communicator, the rank ``mpiexec`` gave this
    process (0 when not started by it). Only rank 0 reports errors that
    every rank meets alike."""
    return comm.rank if comm is not None else _environ_int(_RANK_VARS, 0)


def connect(name, device, forkserver=False):
    """Join the other ranks through a ChainerMN communicator.

    Args:
        name (str or None): one of :data:`COMMUNICATORS`, or None for a
            single-process run.
        device (chainer.backend.Device): the ``--device`` given; a GPU
            becomes GPU ``comm.intra_rank`` (each rank on a GPU of its own
            node).
        forkserver (bool): the data iterator uses loader processes: they
            must not be forked from a process that has started MPI, so
            start them from a fork server started before MPI.

    Returns:
        tuple: ``(comm, device)``; ``comm`` is None when ``name`` is None.

    Raises:
        cagan.errors.CaganError: one line: several processes but no
            communicator, a GPU communicator on the CPU, mpi4py or MPI
            missing, an unknown communicator.
    """
    if name is None:
        if launched_size() > 1:
            raise CaganError(
                'mpiexec started {} processes but no --communicator was '
                'given: add --communicator naive (CPUs) or pure_nccl (GPUs), '
                'or run one process'.format(launched_size()))
        return None, device
    if name not in COMMUNICATORS:
        raise CaganError('unknown communicator {!r}; choose one of {}'.format(
            name, ', '.join(COMMUNICATORS)))
    on_gpu = isinstance(device, chainer.backend.GpuDevice)
    if not on_gpu and name not in CPU_COMMUNICATORS:
        raise CaganError(
            'communicator {!r} needs GPUs (--device @cupy:0); on CPUs use '
            '--communicator naive'.format(name))
    if forkserver:
        # ChainerMN's advice: start the fork server now, before MPI exists.
        multiprocessing.set_start_method('forkserver', force=True)
        process = multiprocessing.Process()
        process.start()
        process.join()
    try:
        import chainermn
        import mpi4py.MPI  # noqa: F401  (starts MPI)
    except (ImportError, RuntimeError, OSError) as e:
        raise CaganError(
            '--communicator needs MPI and mpi4py ({}): apt-get install '
            'openmpi-bin libopenmpi-dev, then pip install mpi4py'.format(
                str(e).splitlines()[0] if str(e) else type(e).__name__)
        ) from None
    try:
        comm = chainermn.create_communicator(name)
    except Exception as e:  # chainermn raises several kinds (NCCL, CUDA)
        raise CaganError('communicator {!r} cannot be used ({})'.format(
            name, str(e).splitlines()[0] if str(e) else type(e).__name__)
        ) from None
    if comm.size > 1:
        _abort_on_uncaught(comm)
    if on_gpu:
        device = chainer.get_device('@cupy:{}'.format(comm.intra_rank))
    # The ranks on one machine share its cores (cagan.kernels.threads).
    threads.set_workers(max(1, threads.usable_cores() // comm.intra_size))
    return comm, device


def _abort_on_uncaught(comm):
    """After an uncaught exception (a bug) on this rank, end every rank:
    the others would wait for it forever in their next collective step."""
    previous = sys.excepthook

    def hook(kind, value, tb):
        previous(kind, value, tb)
        sys.stderr.flush()
        comm.mpi_comm.Abort(1)

    sys.excepthook = hook


def shard(records, rank, size):
    """Rank ``rank``'s share of the training pairs: every ``size``-th one.

    All shards have the same length (the last ``len(records) % size`` pairs
    are left out), so every rank runs the same number of iterations per
    epoch and they stop together.

    Args:
        records (list of cagan.data.dataset.Record): every training pair.
        rank, size (int): this rank and the number of ranks.

    Returns:
        list of Record: ``len(records) // size`` pairs.

    Raises:
        cagan.errors.DataError: some shard has fewer than two article groups
            (y_j must come from another article): the same on every rank.
    """
    usable = len(records) - len(records) % size
    shards = [records[r:usable:size] for r in range(size)]
    # Every rank checks every shard, so all ranks stop on the same error.
    poor = [r for r, part in enumerate(shards)
            if len({p.group for p in part}) < 2]
    if poor:
        raise DataError(['{} pairs split over {} ranks leave rank {} fewer '
                         'than two different articles; use fewer ranks or '
                         'more pairs'.format(len(records), size, poor[0])])
    return shards[rank]


def rank_seeds(seeds, rank):
    """Seeds of one rank, from :func:`cagan.training.child_seeds`' ones.

    The triplets' (``data``), the epoch orders' (``order``) and the
    discriminator's noise (``noise``, new) are the rank's own; ``gen`` and
    ``dis`` (initial weights) and ``preview`` stay shared.

    Returns:
        dict: name -> int.
    """
    def own(seed):
        sequence = numpy.random.SeedSequence([seed, rank])
        return int(sequence.generate_state(1)[0])

    out = dict(seeds)
    out.update(data=own(seeds['data']), order=own(seeds['order']),
               noise=own(seeds['dis']))
    return out


def agree(comm, make, *args, **kwargs):
    """``make(*args, **kwargs)`` on every rank; if it fails on any rank,
    the same :class:`~cagan.errors.DataError` is raised on all of them.

    For steps that can fail on one rank only (decoding its own shard):
    without this, the other ranks would wait for it forever in the next
    collective step. Without a communicator, just ``make(...)``.
    """
    if comm is None:
        return make(*args, **kwargs)
    try:
        result, problems = make(*args, **kwargs), []
    except CaganError as e:
        result, problems = None, str(e).splitlines()
    # Other exceptions are bugs: they keep their traceback (and the run its
    # hang); agreeing on them would hide where they came from.
    every = comm.bcast_obj(comm.gather_obj(problems))
    if any(every):
        raise DataError(['rank {}: {}'.format(r, line)
                         for r, lines in enumerate(every) for line in lines])
    return result


def multi_node_optimizer(optimizer, comm):
    """``chainermn.create_multi_node_optimizer(optimizer, comm)``, whose
    first ``update()`` is already a real one.

    ChainerMN's optimizer spends its first ``update()`` broadcasting rank
    0's weights instead of updating them, which would drop the first step
    of every run and of every resumed run (so a resumed run would no longer
    match an uninterrupted one). Here the weights are broadcast now, and the
    optimizer is told that they are, so every ``update()`` averages the
    gradients over the ranks (an allreduce) and then steps.

    Args:
        optimizer (chainer.Optimizer): set up on its link, on its device.
        comm: a ChainerMN communicator.
    """
    import chainermn

    multi = chainermn.create_multi_node_optimizer(optimizer, comm)
    comm.bcast_data(optimizer.target)
    # Records the parameters as "seen": update() broadcasts only when they
    # change (chainermn.optimizers._MultiNodeOptimizer.is_changed).
    multi.is_changed(optimizer.target)
    return multi


def describe(comm, config):
    """What rank 0 says and writes about the ranks.

    Returns:
        dict: ``ranks``, ``communicator``, ``batch_per_rank``,
        ``effective_batch``, ``lr`` and ``dis_lr`` (as configured:
        the learning rates are not scaled with the batch).
    """
    opt, batch = config['optimizer'], config['train']['batch']
    return {'ranks': comm.size, 'communicator': type(comm).__name__,
            'batch_per_rank': batch, 'effective_batch': batch * comm.size,
            'lr': opt['lr'],
            'dis_lr': opt['lr'] if opt['dis_lr'] is None else opt['dis_lr']}


def describe_line(info):
    """:func:`describe` as the line rank 0 prints."""
    return ('{ranks} ranks ({communicator}): batch {batch_per_rank} per rank, '
            'effective batch {effective_batch}; learning rate {lr:g} '
            '(discriminator {dis_lr:g}), not scaled with the batch'
            .format(**info))


def check_ranks(out, size):
    """Refuse a run folder that holds a run with another number of ranks.

    Args:
        out (str or pathlib.Path): the run's folder.
        size (int or None): the ranks of this run; None for a single-process
            run (no communicator).

    Raises:
        cagan.errors.ConfigError: the folder's snapshots were written by
            another number of processes (they cannot be resumed).
    """
    out = Path(out)
    names = os.listdir(out) if out.is_dir() else []
    saved = None
    if RANKS_NAME in names:
        saved = json.loads((out / RANKS_NAME).read_text())['ranks']
    if size is None and saved is not None:
        raise ConfigError('{} holds a run of {} ranks: start it again with '
                          'mpiexec -n {} ... --communicator, or give another '
                          '--out'.format(out, saved, saved))
    if size is not None:
        if saved is not None and saved != size:
            raise ConfigError('{} holds a run of {} ranks, not {}: its '
                              'snapshots cannot be resumed; use -n {} or '
                              'another --out'.format(out, saved, size, saved))
        if saved is None and any(SNAPSHOT_PATTERN.match(n) for n in names):
            raise ConfigError('{} holds a single-process run: continue it '
                              'without --communicator, or give another --out'
                              .format(out))


def prepare(comm, config, out):
    """Rank 0 prepares the run's folder; every rank learns the outcome.

    Rank 0 runs :func:`cagan.run.prepare` (the folder's lock, config
    check, ``config.yaml``, clearing half-written files), checks the
    number of ranks (:func:`check_ranks`) and writes ``distributed.json``;
    then the other ranks make ``out`` (it may be a disk of their own node)
    and clear their own half-written snapshots, never at the same time as
    rank 0.

    Returns:
        cagan.run.RunLock or None: rank 0's lock on ``out``, held (the
        other ranks: None).

    Raises:
        cagan.errors.ConfigError: on every rank, when rank 0's check fails
            (another training holding ``out`` among the reasons).
    """
    error, lock = None, None
    if comm.rank == 0:
        try:
            lock = RunLock(out)
            prepare_folder(config, out, lock)
            check_ranks(out, comm.size)
            path = Path(out) / RANKS_NAME
            write_text_atomic(path, json.dumps(describe(comm, config),
                                               indent=1) + '\n')
        except CaganError as e:
            error = str(e)
    # chainermn's bcast_obj takes an object on rank 0 only, never None.
    error = comm.bcast_obj([error] if comm.rank == 0 else None)[0]
    if error is not None:
        if lock is not None:
            lock.release()
        raise ConfigError(error)
    if comm.rank != 0:
        os.makedirs(out, exist_ok=True)
        prefix = 'tmp' + RANK_SNAPSHOT_NAME.format(comm.rank).split('{')[0]
        for name in os.listdir(out):
            if name.startswith(prefix):
                shutil.rmtree(os.path.join(out, name), ignore_errors=True)
    return lock


def snapshot_iterations(out, rank):
    """Iterations of rank ``rank``'s snapshots in ``out`` (a set of int)."""
    found = set()
    if os.path.isdir(out):
        for name in os.listdir(out):
            match = RANK_SNAPSHOT_PATTERN.match(name)
            if match and int(match.group(1)) == rank:
                found.add(int(match.group(2)))
    return found


def common_iteration(per_rank, out='the run folder'):
    """The newest iteration that every rank has a snapshot of.

    Args:
        per_rank (list of set of int): each rank's snapshot iterations.

    Returns:
        int or None: None when no rank has a snapshot (a new run).

    Raises:
        cagan.errors.ConfigError: some rank has snapshots but no iteration
            is common to all (snapshots were deleted by hand).
    """
    common = set.intersection(*map(set, per_rank)) if per_rank else set()
    if common:
        return max(common)
    if any(per_rank):
        raise ConfigError(
            '{}: the ranks\' snapshots share no iteration ({}); delete the '
            'snapshot_rank* files to start over, or give another --out'
            .format(out, '; '.join('rank {}: {}'.format(
                r, ', '.join(map(str, sorted(s))) or 'none')
                for r, s in enumerate(per_rank))))
    return None


class RankSnapshot(_snapshot._Snapshot):
    """The trainer's snapshot of one rank, resumed in step with the others.

    Rank ``r`` writes ``snapshot_rank{r}_iter_{N}`` (through Chainer's
    writer: to a temporary folder, then moved into place) and keeps the
    newest ``n_retains``. Made on every rank at the same point (it is a
    collective step): the ranks agree on the newest iteration they all have
    (a kill can leave one rank a snapshot ahead), and each rank loads its
    own snapshot of that iteration when the trainer starts, where Chainer's
    ``autoload`` would load its newest.

    Args:
        comm: a ChainerMN communicator.
        out (str or pathlib.Path): the run's folder.
        n_retains (int): snapshots kept per rank; at least 2, so that the
            ranks always share one after a kill.
    """

    def __init__(self, comm, out, n_retains):
        super().__init__(filename=RANK_SNAPSHOT_NAME.format(comm.rank),
                         n_retains=max(int(n_retains), 2), autoload=False)
        every = comm.bcast_obj(comm.gather_obj(
            snapshot_iterations(out, comm.rank)))
        #: The iteration this rank resumes from (None: a new run).
        self.resume_iteration = common_iteration(every, out)
        self.resume_name = 'snapshot_rank{}_iter_{}'.format(
            comm.rank, self.resume_iteration)

    def initialize(self, trainer):
        if self.resume_iteration is not None:
            # Chainer's own loader, as its autoload (our own snapshots).
            npz.load_npz(os.path.join(trainer.out, self.resume_name), trainer)
        super().initialize(trainer)


def run(trainer, comm):
    """``trainer.run()`` on one rank; a failure ends every rank.

    When one rank fails (a non-finite loss on its shard, a bug, Ctrl-C),
    the others would wait for it forever in the next allreduce: it says
    what happened (prefixed with its rank), then aborts the MPI job.
    """
    try:
        trainer.run()
    except BaseException as e:
        if comm.size == 1:
            raise
        if isinstance(e, CaganError):
            for line in str(e).splitlines() or [type(e).__name__]:
                print('error: rank {}: {}'.format(comm.rank, line),
                      file=sys.stderr)
        elif isinstance(e, KeyboardInterrupt):
            print('rank {}: interrupted'.format(comm.rank), file=sys.stderr)
        else:
            print('rank {}:'.format(comm.rank), file=sys.stderr)
            traceback.print_exc()
        sys.stdout.flush()
        sys.stderr.flush()
        comm.mpi_comm.Abort(1)
