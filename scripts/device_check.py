"""Check and time CAGAN training steps on a device against the CPU.

    python scripts/device_check.py --device @cupy:0          # the GPU check
    python scripts/device_check.py --device @numpy --config 64x64,32,4 --steps 3

For each configuration (HxW, ch, batch): builds seeded networks with the
discriminator's noise off, runs the first training step on the CPU and on
``--device`` from the same weights and batch, prints the nine reported values
of both and whether they agree, then times ``--steps`` more steps on the
device (median after the first, which compiles kernels). One JSON line per
configuration follows the table, for scripts.
"""

import argparse
import json
import statistics
import time

import cagan  # first: it readies chainer for this Python and NumPy
import chainer
import numpy
from chainer import iterators

from cagan.optimizers import make_adam
from cagan.updater import CAGANUpdater

SEED = (256, 256, 512, 16)   # the seed article's setup
PAPER = (128, 96, 512, 16)   # the paper's reimplementations' image size


def parse_config(text):
    size, ch, batch = text.split(',')
    height, width = size.lower().split('x')
    return int(height), int(width), int(ch), int(batch)


def networks(height, width, ch):
    gen = cagan.Generator(ch=ch, size=(height, width), seed=0)
    dis = cagan.Discriminator(ch=ch, size=(height, width), noise_sigma=0,
                              seed=1)
    return gen, dis


def make_updater(gen, dis, batch, device):
    rng = numpy.random.default_rng(2)
    shape = (3,) + gen.size
    data = [tuple(rng.random(shape, dtype=numpy.float32) for _ in range(3))
            for _ in range(batch)]
    iterator = iterators.SerialIterator(data, batch, shuffle=False)
    return CAGANUpdater(iterator, {'gen': make_adam(gen), 'dis': make_adam(dis)},
                        device=device)


def step(updater):
    reporter = chainer.Reporter()
    reporter.add_observer('gen', updater.get_optimizer('gen').target)
    reporter.add_observer('dis', updater.get_optimizer('dis').target)
    observation = {}
    start = time.perf_counter()
    with reporter.scope(observation):
        updater.update()  # ends with a host read of each loss: synchronised
    seconds = time.perf_counter() - start
    return seconds, {k: float(v.array) for k, v in sorted(observation.items())}


def check(config, device, steps, compare, rtol):
    height, width, ch, batch = config
    gen, dis = networks(height, width, ch)
    result = {'size': '{}x{}'.format(height, width), 'ch': ch, 'batch': batch,
              'device': str(device)}
    if compare:
        cpu_gen, cpu_dis = gen.copy(mode='copy'), dis.copy(mode='copy')
        seconds, cpu_values = step(make_updater(cpu_gen, cpu_dis, batch,
                                                '@numpy'))
        result['cpu_first_step_s'] = round(seconds, 3)
    updater = make_updater(gen, dis, batch, device)
    seconds, values = step(updater)
    result['first_step_s'] = round(seconds, 3)
    result['values'] = values
    if compare:
        diffs = {k: abs(values[k] - cpu_values[k]) / max(abs(cpu_values[k]),
                                                          1e-6)
                 for k in values}
        result['cpu_values'] = cpu_values
        result['max_rel_diff'] = max(diffs.values())
        result['match'] = result['max_rel_diff'] <= rtol
    timed = [step(updater) for _ in range(steps)]
    times = [seconds for seconds, _ in timed]
    finite = [numpy.isfinite(v) for _, vs in [(0, values)] + timed
              for v in vs.values()]
    if times:
        median = statistics.median(times)
        result.update(steps=len(times), median_step_s=round(median, 4),
                      images_per_s=round(batch / median, 2))
    result['all_finite'] = bool(all(finite))
    if timed:
        result['last_values'] = timed[-1][1]
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='@cupy:0',
                        help="chainer device: '@cupy:0' (0) or '@numpy' (-1)")
    parser.add_argument('--config', action='append', type=parse_config,
                        help='HxW,ch,batch; repeatable (default: the seed\'s '
                             '256x256,512,16 and the paper\'s 128x96,512,16)')
    parser.add_argument('--steps', type=int, default=5,
                        help='timed steps after the first')
    parser.add_argument('--no-compare', action='store_true',
                        help='skip the CPU run of the first step')
    parser.add_argument('--rtol', type=float, default=1e-3,
                        help='largest relative difference counted as a match')
    args = parser.parse_args()
    device = chainer.get_device(args.device)
    device.use()
    compare = not args.no_compare
    results = []
    for config in args.config or [SEED, PAPER]:
        result = check(config, device, args.steps, compare, args.rtol)
        results.append(result)
        line = '{size} ch {ch} batch {batch} on {device}: first step {first_step_s}s'
        if 'steps' in result:
            line += (', median {median_step_s}s/step over {steps} steps '
                     '({images_per_s} images/s)')
        if compare:
            line += (', CPU first step {cpu_first_step_s}s, max relative '
                     'difference {max_rel_diff:.2e}: ')
            line += 'MATCH' if result['match'] else 'DIFFER'
        print(line.format(**result))
        last = result.get('last_values', {})
        for key, value in result['values'].items():
            print('    {:16s} step 1 {:10.5f}{}{}'.format(
                key, value, '   cpu {:10.5f}'.format(result['cpu_values'][key])
                if compare else '', '   last step {:10.5f}'.format(last[key])
                if last else ''))
    for result in results:
        print(json.dumps(result, sort_keys=True))
    ok = all(r['all_finite'] and r.get('match', True) for r in results)
    raise SystemExit(0 if ok else 1)


if __name__ == '__main__':
    main()
