"""What `make demo` runs, after the Makefile has made and curated the data.

    python scripts/demo.py --data data/synthetic-clean

Today it builds the seed's networks, checks they run at the seed's and the
paper's sizes, and runs three CAGAN training steps on triplets of the curated
synthetic set. The training program and the swap command are later issues;
this demo grows with them.
"""

import time

import cagan  # first: it readies chainer for this Python and NumPy
import chainer
import numpy

from cagan import cli, dataset
from cagan.optimizers import make_adam
from cagan.updater import CAGANUpdater


def count_params(link):
    return sum(p.size for p in link.params())


def check_networks(rng):
    for name, size in (('seed', (256, 256)), ('paper', (128, 96))):
        gen = cagan.Generator(ch=512, size=size, seed=0)
        dis = cagan.Discriminator(ch=512, size=size, seed=1)
        x_i, y_i, y_j = (rng.random((2, 3) + size, dtype=numpy.float32)
                         for _ in range(3))
        start = time.perf_counter()
        with chainer.using_config('train', False), \
                chainer.no_backprop_mode():
            x_ij, alpha = gen.swap(x_i, y_i, y_j)
            logits = dis(numpy.concatenate((x_ij.array, y_j), axis=1))
        print('{:5s} {}x{}: G {:.1f}M params, D {:.1f}M; an untrained swap of '
              '2 images gives x_ij {}, mean alpha {:.2f}, D logits {} in '
              '{:.1f} s on the CPU'.format(
                  name, size[0], size[1], count_params(gen) / 1e6,
                  count_params(dis) / 1e6, x_ij.shape,
                  float(alpha.array.mean()), logits.shape,
                  time.perf_counter() - start))


def train_a_little(root, steps=3, size=(128, 96), ch=32, batch=8):
    records = dataset.read_pairs_of(root)
    triplets = dataset.TripletDataset(records, size, seed=0)
    gen = cagan.Generator(ch=ch, size=size, seed=0)
    dis = cagan.Discriminator(ch=ch, size=size, seed=1)
    updater = CAGANUpdater(dataset.make_iterator(triplets, batch, seed=0),
                           {'gen': make_adam(gen), 'dis': make_adam(dis)})
    reporter = chainer.Reporter()
    reporter.add_observer('gen', gen)
    reporter.add_observer('dis', dis)
    print('{}: {} training pairs'.format(root, len(triplets)))
    for _ in range(steps):
        observation = {}
        with reporter.scope(observation):
            updater.update()
        print('training step {} ({}x{}, ch {}, batch {}): {}'.format(
            updater.iteration, size[0], size[1], ch, batch,
            ', '.join('{} {:.3f}'.format(k, float(v.array))
                      for k, v in sorted(observation.items()))))


def main(argv=None):
    parser = cli.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', default='data/synthetic-clean',
                        help='a dataset folder (default: the curated '
                             'synthetic set that `make demo` writes)')
    args = parser.parse_args(argv)
    print('cagan {} on chainer {}, numpy {}'.format(
        cagan.__version__, chainer.__version__, numpy.__version__))
    check_networks(numpy.random.default_rng(0))
    train_a_little(args.data)
    print('The data, the networks and the training step run. Not here yet: '
          'the training program (issue 5) and scripts/swap.py (issue 6); '
          '`make demo` will train and swap once they land.')


if __name__ == '__main__':
    cli.run(main)
