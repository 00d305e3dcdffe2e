"""CAGAN steps as one rank of an MPI job, for tests/test_distributed.py.

    mpiexec -n 2 python tests/mpi_step.py DATA_ROOT OUT BATCH STEPS

Every rank builds the same seeded networks (discriminator noise off, so a
step depends only on the weights and the batch), takes its part of one
fixed batch of ``ranks * BATCH`` triplets (rank r: the r-th ``BATCH``), and
runs ``STEPS`` updates with ChainerMN's optimizers. Each rank then writes
its weights and last gradients to ``OUT/rank{r}.npz``; the test compares
them with one process stepping on the whole batch (:func:`make_updater`
without a communicator).
"""

import os
import sys

import cagan  # noqa: F401  (first: it readies chainer)
import chainer
import numpy
from chainer import iterators

from cagan import distributed
from cagan.data import dataset
from cagan.optimizers import make_adam
from cagan.updater import CAGANUpdater

SIZE = (64, 32)
CH = 8


def fixed_batch(root, n):
    """The first ``n`` triplets of the pairs in ``root`` (a list of tuples
    of float32 ``(3, H, W)``), the same in every process."""
    triplets = dataset.TripletDataset(dataset.read_pairs_of(root), SIZE,
                                      seed=0, decode_threads=1)
    return [triplets[k] for k in range(n)]


def make_updater(batch, comm=None):
    """An updater stepping on ``batch`` (a list of triplets) every time,
    from seeded networks, with gradients averaged over ``comm``'s ranks."""
    gen = cagan.Generator(ch=CH, size=SIZE, seed=1)
    dis = cagan.Discriminator(ch=CH, size=SIZE, noise_sigma=0.0, seed=2)
    optimizers = {'gen': make_adam(gen), 'dis': make_adam(dis)}
    if comm is not None:
        optimizers = {name: distributed.multi_node_optimizer(o, comm)
                      for name, o in optimizers.items()}
    iterator = iterators.SerialIterator(batch, len(batch), shuffle=False)
    return CAGANUpdater(iterator, optimizers, device='@numpy')


def state(updater):
    """Weights (``gen/c0/W``...) and gradients (``grad:gen/c0/W``...) of
    both networks, as a flat dict of arrays."""
    out = {}
    for name in ('gen', 'dis'):
        for path, param in updater.get_optimizer(name).target.namedparams():
            out[name + path] = param.array.copy()
            if param.grad is not None:
                out['grad:' + name + path] = param.grad.copy()
    return out


def main(root, out, batch, steps):
    comm, _ = distributed.connect('naive', chainer.get_device('@numpy'))
    part = fixed_batch(root, comm.size * batch)[
        comm.rank * batch:(comm.rank + 1) * batch]
    updater = make_updater(part, comm)
    for _ in range(steps):
        updater.update()
    numpy.savez(os.path.join(out, 'rank{}.npz'.format(comm.rank)),
                **state(updater))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
