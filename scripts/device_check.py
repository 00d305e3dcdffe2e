"""Check and time CAGAN training steps on a device against the CPU.

    python scripts/device_check.py --device @cupy:0          # the GPU check
    python scripts/device_check.py --device @numpy --config configs/demo.yaml --steps 3

    python scripts/device_check.py --device @cupy:0 --precision mixed16 \
        --size 128x96 --ch 64 --compare-steps 10

For each config (a YAML experiment, at each ``--size``, with ``--ch`` and
``--batch`` when given): builds its seeded networks with the
discriminator's noise off and its training step (the one training wires,
:func:`cagan.training.make_step`), runs the first ``--compare-steps``
steps (default 1) on the CPU in float32 and on ``--device`` in
``--precision`` from the same weights and batch, prints the nine reported
values of both and their largest relative difference over those steps (in
float32 they must agree: the device computes what the CPU does; in tf32 or
mixed16 the difference is the precision's effect on the losses), then
times ``--steps`` more steps on the device (median; the first step
compiles kernels). One JSON line per check follows the table, for scripts.
"""

import json
import statistics
import time

import cagan  # first: it readies chainer for this Python and NumPy
import cagan.precision
import chainer
import numpy

from cagan import cli, config as config_module, testing
from cagan.experiments import benchmark

#: The reference article's setup, checked at its 256x256 and at the
#: paper's 128x96 when no --config or --size is given.
REFERENCE = 'configs/swimwear.yaml'
PAPER_SIZE = (128, 96)


def make_updater(config, device, precision='float32'):
    """The config's training step on ``device``: seeded networks (D's noise
    off, so that CPU and device draw nothing different) and one fixed
    batch of random triplets."""
    config = config_module.resolve({'model': {'dis': {'noise_sigma': 0.0}}},
                                   'the device check', base=config)
    return benchmark.random_step(config, chainer.get_device(device),
                                 precision, seed=2)


def step(updater):
    reporter = chainer.Reporter()
    reporter.add_observer('gen', updater.get_optimizer('gen').target)
    reporter.add_observer('dis', updater.get_optimizer('dis').target)
    observation = {}
    start = time.perf_counter()
    with reporter.scope(observation):
        updater.update()  # ends with a host read of each loss: synchronised
    seconds = time.perf_counter() - start
    return seconds, {k: float(getattr(v, 'array', v))
                     for k, v in sorted(observation.items())}


def check(config, device, steps, compare, rtol, precision='float32',
          compare_steps=1):
    batch = config['train']['batch']
    result = {'size': '{}x{}'.format(*config['data']['size']),
              'ch': config['model']['ch'], 'batch': batch,
              'device': str(device), 'precision': precision}
    compared = compare_steps if compare else 1
    if compare:
        # The reference: the same seeds, float32, on the CPU.
        cpu = make_updater(config, '@numpy')
        cpu_steps = [step(cpu) for _ in range(compared)]
        result['cpu_first_step_s'] = round(cpu_steps[0][0], 3)
    updater = make_updater(config, device, precision)
    ran = [step(updater) for _ in range(compared)]
    result['first_step_s'] = round(ran[0][0], 3)
    values = ran[0][1]
    result['values'] = values
    if compare:
        cpu_values = cpu_steps[0][1]
        result['cpu_values'] = cpu_values
        result['compared_steps'] = compared
        # Largest relative difference of each value over the compared
        # steps. Each is a mean of non-negative terms (the losses, alpha's
        # mean), so its own size is the size of what was summed.
        result['rel_diff'] = {
            k: max(testing.error(mine[k], ref[k], max(abs(ref[k]), 1e-6))
                   for (_, mine), (_, ref) in zip(ran, cpu_steps))
            for k in values}
        result['max_rel_diff'] = max(result['rel_diff'].values())
        result['match'] = result['max_rel_diff'] <= rtol
    timed = [step(updater) for _ in range(steps)]
    times = [seconds for seconds, _ in timed]
    finite = [numpy.isfinite(v) for _, vs in ran + timed for v in vs.values()]
    if times:
        median = statistics.median(times)
        result.update(steps=len(times), median_step_s=round(median, 4),
                      images_per_s=round(batch / median, 2))
    result['all_finite'] = bool(all(finite))
    if timed or compared > 1:
        result['last_values'] = (timed or ran)[-1][1]
    return result


def main(argv=None):
    parser = cli.ArgumentParser(prog='device_check.py',
                                description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='@cupy:0',
                        help="chainer device: '@cupy:0' (0) or '@numpy' (-1)")
    parser.add_argument('--config', action='append',
                        help='YAML experiment; repeatable (default: {}, at '
                        'its 256x256 and at the paper\'s 128x96)'.format(
                            REFERENCE))
    parser.add_argument('--size', action='append', type=cli.size_arg,
                        help='HxW, instead of the config\'s; repeatable')
    parser.add_argument('--ch', type=cli.at_least(8), default=None,
                        help='network width, instead of the config\'s')
    parser.add_argument('--batch', type=cli.at_least(1), default=None,
                        help='batch, instead of the config\'s')
    parser.add_argument('--steps', type=cli.at_least(0), default=5,
                        help='timed steps after the first')
    parser.add_argument('--no-compare', action='store_true',
                        help='skip the CPU run of the first step')
    parser.add_argument('--rtol', type=float, default=1e-3,
                        help='largest relative difference counted as a match '
                        '(float32 only: other precisions report theirs)')
    parser.add_argument('--precision', default='float32',
                        choices=cagan.precision.PRECISIONS,
                        help='how the device computes (cagan/precision.py)')
    parser.add_argument('--compare-steps', type=cli.at_least(1), default=1,
                        help='steps compared with the CPU (default 1)')
    args = parser.parse_args(argv)
    device = chainer.get_device(args.device)
    cagan.precision.configure(args.precision, device)
    device.use()
    compare = not args.no_compare
    sizes = args.size or ([None, PAPER_SIZE] if not args.config else [None])
    configs = []
    for path in args.config or [REFERENCE]:
        for size in sizes:
            overrides = {'data': {} if size is None else {'size': list(size)},
                         'model': {} if args.ch is None else {'ch': args.ch},
                         'train': ({} if args.batch is None
                                   else {'batch': args.batch})}
            configs.append(config_module.load(path, overrides))
    results = []
    for config in configs:
        result = check(config, device, args.steps, compare, args.rtol,
                       args.precision, args.compare_steps)
        results.append(result)
        line = ('{size} ch {ch} batch {batch} on {device} in {precision}: '
                'first step {first_step_s}s')
        if 'steps' in result:
            line += (', median {median_step_s}s/step over {steps} steps '
                     '({images_per_s} images/s)')
        if compare:
            line += (', CPU first step {cpu_first_step_s}s, max relative '
                     'difference over {compared_steps} step(s) '
                     '{max_rel_diff:.2e}')
            if args.precision == 'float32':
                line += ': MATCH' if result['match'] else ': DIFFER'
        print(line.format(**result))
        last = result.get('last_values', {})
        for key, value in result['values'].items():
            print('    {:16s} step 1 {:10.5f}{}{}'.format(
                key, value, '   cpu {:10.5f}   rel. diff {:.1e}'.format(
                    result['cpu_values'][key], result['rel_diff'][key])
                if compare else '', '   last step {:10.5f}'.format(last[key])
                if last else ''))
    for result in results:
        print(json.dumps(result, sort_keys=True))
    # Only float32 must match the CPU; the others' difference is the figure.
    ok = all(r['all_finite'] and (r.get('match', True)
                                  or args.precision != 'float32')
             for r in results)
    return 0 if ok else 1


if __name__ == '__main__':
    cli.run(main)
