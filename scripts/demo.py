"""What `make demo` runs.

Today it builds the seed's networks, runs one swap on a toy batch and three
CAGAN training steps on toy images, and says what is missing: the synthetic
data, the training program and the swap command are later issues, and this
demo grows with them.
"""

import time

import cagan  # first: it readies chainer for this Python and NumPy
import chainer
import numpy
from chainer import iterators

from cagan.optimizers import make_adam
from cagan.updater import CAGANUpdater


def count_params(link):
    return sum(p.size for p in link.params())


def toy_batch(rng, size, batch=2):
    """Smooth random RGB images in [0, 1], (B, 3, H, W) float32."""
    h, w = size
    yy, xx = numpy.mgrid[0:1:h * 1j, 0:1:w * 1j].astype(numpy.float32)
    a = rng.random((batch, 3, 3, 1, 1), dtype=numpy.float32)
    return numpy.clip(a[:, :, 0] + a[:, :, 1] * yy + a[:, :, 2] * xx - 0.5, 0, 1)


def main():
    rng = numpy.random.default_rng(0)
    print('cagan {} on chainer {}, numpy {}'.format(
        cagan.__version__, chainer.__version__, numpy.__version__))
    for name, size in (('seed', (256, 256)), ('paper', (128, 96))):
        gen = cagan.Generator(ch=512, size=size)
        dis = cagan.Discriminator(ch=512, size=size, seed=0)
        x_i, y_i, y_j = (toy_batch(rng, size) for _ in range(3))
        start = time.perf_counter()
        with chainer.using_config('train', False), \
                chainer.no_backprop_mode():
            x_ij, alpha = gen.swap(x_i, y_i, y_j)
            logits = dis(numpy.concatenate((x_ij.array, y_j), axis=1))
        print('{:5s} {}x{}: G {:.1f}M params, D {:.1f}M params; one swap of '
              '2 images: x_ij {} in [{:.2f}, {:.2f}], mean alpha {:.2f}, '
              'D logits {}, {:.1f} s on CPU'.format(
                  name, size[0], size[1], count_params(gen) / 1e6,
                  count_params(dis) / 1e6, x_ij.shape,
                  float(x_ij.array.min()), float(x_ij.array.max()),
                  float(alpha.array.mean()), logits.shape,
                  time.perf_counter() - start))
    size = (64, 64)
    data = [tuple(toy_batch(rng, size, batch=3)) for _ in range(8)]
    gen = cagan.Generator(ch=32, size=size, seed=0)
    dis = cagan.Discriminator(ch=32, size=size, seed=1)
    updater = CAGANUpdater(
        iterators.SerialIterator(data, 4, shuffle=False),
        {'gen': make_adam(gen), 'dis': make_adam(dis)})
    reporter = chainer.Reporter()
    reporter.add_observer('gen', gen)
    reporter.add_observer('dis', dis)
    for _ in range(3):
        observation = {}
        with reporter.scope(observation):
            updater.update()
        print('training step {} (64x64, ch 32, batch 4, toy images): {}'.format(
            updater.iteration, ', '.join('{} {:.3f}'.format(k, float(v.array))
                                         for k, v in sorted(observation.items()))))
    print('The networks and the training step run. Not here yet: synthetic '
          'data (issue 4), the training program (issue 5), scripts/swap.py '
          '(issue 6); `make demo` will train and swap once they land.')


if __name__ == '__main__':
    main()
