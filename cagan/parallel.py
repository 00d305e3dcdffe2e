"""One training step shared by the processes of one machine.

At the demo's size (64x64, ch 64, batch 16) a CAGAN step is about 480
small function nodes, and most of its time is Python's and NumPy's work
per node, which holds the GIL: threads cannot share it, and the kernels'
threads (:mod:`cagan.kernels.threads`) find little to split. Processes
can. :class:`SharedStep` splits each batch into equal shares, one per
process: the trainer's process computes the first share's gradients while
helper processes, forked from it, compute the others'; the mean of the
shares' gradients is what the trainer's optimizers then apply, once, in the
trainer's process. On a 2-core machine two processes take the demo's step
from about 0.12 s to about 0.075 s.

The maths is the whole batch's: every loss is a mean over the batch's
samples (and instance norm is per sample), so the mean of equal shares'
gradients is the whole batch's gradient, to float rounding (the sums run
in another order). The reported values are the shares' means the same
way. Only randomness drawn per pass differs: each process draws the
discriminator's noise for its share from a stream of its own.

The networks' weights live in memory shared with the helpers (the
optimizers update them in place, once, in the trainer's process); each
step the trainer's process writes the batch and the step's schedule there,
and reads the helpers' gradients back. The helpers keep no state of their
own between steps (they hold no optimizer), so extensions, snapshots and
resuming see one process.
A helper that fails or dies stops the run with one line.

Speed code, apart from the research code: :mod:`cagan.updater` calls it
with its own per-share step, unchanged.
"""

import mmap
import multiprocessing
import os
import signal

import numpy

from cagan.errors import CaganError
from cagan.kernels import threads

#: Report values a share may return (a fixed slot in shared memory).
MAX_VALUES = 32
_ERROR_BYTES = 1024
# Control block: [command, schedule values...].
_STOP, _STEP = 0.0, 1.0
#: Seconds between checks that the other side is still alive.
_POLL_S = 1.0


def resolve(processes, batch):
    """The number of processes for ``--processes``.

    Args:
        processes (int or str): a positive int, or ``'auto'``: the usable
            cores (:func:`cagan.kernels.threads.usable_cores`), lowered to
            the largest count that splits ``batch`` evenly (1 where
            processes cannot be forked, as on Windows).
        batch (int): the training batch.

    Returns:
        int: >= 1.

    Raises:
        cagan.errors.CaganError: a count that does not split ``batch`` into
            equal shares, or more than one without fork.
    """
    forks = 'fork' in multiprocessing.get_all_start_methods()
    if processes == 'auto':
        count = min(threads.usable_cores(), batch) if forks else 1
        while batch % count:
            count -= 1
        return count
    if not isinstance(processes, int) or processes < 1:
        raise CaganError('--processes must be a positive integer or auto, '
                         'got {!r}'.format(processes))
    if processes > 1 and not forks:
        raise CaganError('--processes {} needs processes started by fork, '
                         'which this system lacks: leave it out'.format(
                             processes))
    if batch % processes:
        raise CaganError(
            '--processes {} does not split train.batch {} into equal shares:'
            ' choose a divisor of the batch, or auto'.format(processes,
                                                            batch))
    return processes


def _shared(count, dtype):
    """A zeroed array of ``count`` items in anonymous memory shared with
    processes forked later."""
    dtype = numpy.dtype(dtype)
    buffer = mmap.mmap(-1, max(1, count * dtype.itemsize))
    return numpy.frombuffer(buffer, dtype, count)


class SharedStep(object):
    """Compute a step's gradients in ``processes`` processes, on equal
    shares of its batch.

    Args:
        processes (int): processes in all, the trainer's included (>= 2).
        links (list of chainer.Link): the links whose parameters' gradients
            ``work`` computes; float32 parameters on the CPU.
        work (callable): ``work(arrays, schedule, share)`` computes one
            share's gradients into the links' parameters (``grad``; None
            where a parameter has none) and returns a dict of at most
            :data:`MAX_VALUES` float report values (the same keys in
            every share of a step, which may follow the schedule, as
            ``dis/loss_r1``). ``arrays``: the share's rows of the batch's arrays;
            ``schedule``: the dict given to :meth:`__call__`; ``share``:
            0 in the trainer's process, 1.. in the helpers.

    The helpers are forked at the first call, after the parameters' arrays
    are moved into shared memory (they stay there: the same values, in
    place), and stopped by :meth:`close`.
    """

    def __init__(self, processes, links, work):
        if processes < 2:
            raise ValueError('SharedStep needs at least 2 processes, got '
                             '{}'.format(processes))
        self.processes = processes
        self.work = work
        self._params = [p for link in links for _, p in
                        sorted(link.namedparams())]
        if any(not isinstance(p.array, numpy.ndarray)
               or p.array.dtype != numpy.float32 for p in self._params):
            raise CaganError('--processes needs float32 weights on the CPU '
                             '(--device @numpy, --precision float32)')
        self._helpers = []
        self._shapes = None
        # Cores each process's kernels and BLAS use.
        self._cores = max(1, threads.usable_cores() // processes)

    # -- the trainer's side -------------------------------------------------

    def __call__(self, arrays, schedule):
        """One step's gradients, the mean of the shares'.

        Args:
            arrays (tuple of numpy.ndarray): the batch, each ``(B, ...)``
                with ``B`` a multiple of the processes.
            schedule (dict): float values the shares' work needs (the same
                keys every call).

        Returns:
            dict: the mean over the shares of ``work``'s report values.
            The links' parameters hold the mean gradients.
        """
        shapes = [(a.shape, a.dtype) for a in arrays]
        if shapes != self._shapes:
            self.close()
            self._start(arrays, schedule)
        n = arrays[0].shape[0] // self.processes
        # The helpers' rows only: this process reads its share in place.
        for array, shared in zip(arrays, self._batch):
            shared[n:] = array[n:]
        self._share_weights()
        self._control[1:1 + len(schedule)] = [schedule[k] for k in
                                             self._schedule_keys]
        self._control[0] = _STEP
        for go in self._go:
            go.release()
        with threads.using_cores(self._cores):
            values = self.work(tuple(a[:n] for a in arrays), schedule, 0)
        self._wait()
        failed = [k for k in range(1, self.processes) if self._failed[k]]
        if failed:
            message = bytes(self._errors[failed[0]]).rstrip(b'\0').decode(
                'utf-8', 'replace')
            self.close()
            raise CaganError('training process {} of {} failed: {}'.format(
                failed[0] + 1, self.processes, message))
        self._reduce()
        keys = sorted(values)
        if len(keys) > MAX_VALUES:
            raise ValueError('a share reports at most {} values'.format(
                MAX_VALUES))
        total = numpy.array([values[k] for k in keys], numpy.float64)
        for k in range(1, self.processes):
            total += self._values[k, :len(keys)]
        return dict(zip(keys, (total / self.processes).tolist()))

    def _share_weights(self):
        """Keep every parameter's array in the shared memory, where the
        helpers read it: the optimizers update it in place, so no copy is
        made, except of an array something replaced (a copy is put back)."""
        for param, view in zip(self._params, self._views):
            if param.array is not view:
                view[...] = param.array
                param.array = view

    def _reduce(self):
        """Mean gradients, the shares added in order (the same sums in
        every run)."""
        scale = numpy.float32(1.0 / self.processes)
        for param, (start, stop) in zip(self._params, self._spans):
            if param.grad is None:
                continue
            # Some gradients come out of a transpose: add in place into a
            # contiguous array (ravel would add into a copy).
            grad = numpy.ascontiguousarray(param.grad)
            flat = grad.reshape(-1)
            for k in range(1, self.processes):
                flat += self._grads[k, start:stop]
            flat *= scale
            param.grad = grad

    def _wait(self):
        for _ in range(self.processes - 1):
            while not self._done.acquire(timeout=_POLL_S):
                dead = [k for k, h in enumerate(self._helpers, 1)
                        if not h.is_alive()]
                if dead:
                    self.close()
                    raise CaganError(
                        'training process {} of {} died (killed for memory?)'
                        ': try fewer --processes'.format(dead[0] + 1,
                                                        self.processes))

    def _start(self, arrays, schedule):
        self._shapes = [(a.shape, a.dtype) for a in arrays]
        self._schedule_keys = sorted(schedule)
        self._control = _shared(1 + len(schedule), numpy.float64)
        self._batch = [_shared(a.size, a.dtype).reshape(a.shape)
                       for a in arrays]
        sizes = [p.array.size for p in self._params]
        ends = numpy.cumsum([0] + sizes)
        self._spans = list(zip(ends[:-1].tolist(), ends[1:].tolist()))
        total = int(ends[-1])
        weights = _shared(total, numpy.float32)
        self._views = [weights[start:stop].reshape(p.array.shape)
                       for p, (start, stop) in zip(self._params, self._spans)]
        self._share_weights()
        # Row k: helper k's (row 0 unused, so that rows are shares).
        self._grads = _shared(self.processes * total,
                              numpy.float32).reshape(self.processes, total)
        self._values = _shared(self.processes * MAX_VALUES,
                               numpy.float64).reshape(self.processes, -1)
        self._failed = _shared(self.processes, numpy.uint8)
        self._errors = _shared(self.processes * _ERROR_BYTES,
                               numpy.uint8).reshape(self.processes, -1)
        context = multiprocessing.get_context('fork')
        self._go = [context.Semaphore(0) for _ in range(1, self.processes)]
        self._done = context.Semaphore(0)
        parent = os.getpid()
        for share in range(1, self.processes):
            helper = context.Process(target=self._serve, args=(share, parent),
                                     daemon=True)
            helper.start()
            self._helpers.append(helper)

    def close(self):
        """Stop the helpers (they exit at once; a step is not interrupted
        midway, as none runs while the trainer's process is here)."""
        helpers, self._helpers = self._helpers, []
        if not helpers:
            return
        self._control[0] = _STOP
        for go in self._go:
            go.release()
        for helper in helpers:
            helper.join(timeout=10)
            if helper.is_alive():
                helper.kill()
                helper.join()
        self._shapes = None

    # -- a helper's side ------------------------------------------------------

    def _serve(self, share, parent):
        """A helper's loop: wait for a step, compute its share, report."""
        # Ctrl-C is the trainer's to handle: it stops the helpers.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        go = self._go[share - 1]
        n = self._shapes[0][0][0] // self.processes
        rows = slice(share * n, (share + 1) * n)
        with threads.using_cores(self._cores):
            while True:
                while not go.acquire(timeout=_POLL_S):
                    if os.getppid() != parent:
                        # The trainer's process is gone.
                        return
                if self._control[0] == _STOP:
                    return
                try:
                    self._step(share, rows)
                except BaseException as error:  # reported, not raised
                    message = ' '.join('{}: {}'.format(
                        type(error).__name__, error).split())
                    raw = message.encode('utf-8')[:_ERROR_BYTES - 1]
                    self._errors[share, :len(raw)] = numpy.frombuffer(
                        raw, numpy.uint8)
                    self._failed[share] = 1
                    self._done.release()
                    return
                self._done.release()

    def _step(self, share, rows):
        # The weights are the trainer's, in shared memory (_share_weights).
        schedule = dict(zip(self._schedule_keys,
                            self._control[1:].tolist()))
        values = self.work(tuple(b[rows] for b in self._batch), schedule,
                           share)
        for param, (start, stop) in zip(self._params, self._spans):
            if param.grad is not None:
                self._grads[share, start:stop] = param.grad.ravel()
            else:
                self._grads[share, start:stop] = 0
        keys = sorted(values)
        self._values[share, :len(keys)] = [values[k] for k in keys]
