"""cagan.experiments.ablation and scripts/ablation.py: variants x seeds, trained,
scored, tabled, and not trained again."""

import json
import runpy

import pytest
import yaml
from PIL import Image

from cagan import cli, config, run, training
from cagan.experiments import ablation
from cagan.data import synthetic
from tests.helpers import ROOT

SIZE = (64, 32)


@pytest.fixture(scope='module')
def base(tmp_path_factory):
    """A tiny dataset and a base config of one short epoch on it."""
    folder = tmp_path_factory.mktemp('ablation')
    synthetic.write_dataset(folder / 'data', 8, size=(32, 32), seed=0,
                            test_pairs=4)
    path = folder / 'base.yaml'
    path.write_text(yaml.safe_dump({
        'data': {'root': str(folder / 'data'), 'size': '64x32'},
        'model': {'ch': 8, 'dis': {'head': 'patch'}},
        'train': {'batch': 4, 'epochs': 1},
        'preview': {'humans': 2, 'articles': 2},
        'evaluate': {'swaps': 4},
    }))
    return path


def write(folder, base, variants, seeds=(0, 1)):
    path = folder / 'ablation-tiny.yaml'
    path.write_text(yaml.safe_dump({'base': str(base), 'seeds': list(seeds),
                                    'variants': variants}, sort_keys=False))
    return path


def script(args, capsys):
    """scripts/ablation.py in this process: (exit status, stdout, stderr)."""
    main = runpy.run_path(str(ROOT / 'scripts' / 'ablation.py'))['main']
    with pytest.raises(SystemExit) as info:
        cli.run(main, [str(a) for a in args])
    out, err = capsys.readouterr()
    return info.value.code, out, err


def test_two_variants_at_two_seeds_end_to_end(tmp_path, base, capsys,
                                             monkeypatch):
    path = write(tmp_path, base, {'reference': {},
                                  'fast': {'optimizer': {'lr': 1.0e-3}}})
    out = tmp_path / 'out'
    code, printed, err = script([path, '--out', out, '--swaps', 3], capsys)
    assert code == 0, err
    for name in ('reference', 'fast'):
        for seed in (0, 1):
            folder = out / name / 'seed-{}'.format(seed)
            saved = config.load(folder / run.CONFIG_NAME)
            assert saved['train']['seed'] == seed
            assert saved['optimizer']['lr'] == (1e-3 if name == 'fast'
                                                else 2e-4)
            assert (folder / run.BEST_NAME).is_file()
            scores = json.loads((folder / 'scores.json').read_text())
            assert scores['swaps'] == 3 and scores['steps'] == 2
            assert scores['weights'] == str(folder / run.BEST_NAME)
            assert 0 < scores['ratio']['worn'] and scores['minutes'] > 0
        with Image.open(out / name / 'swap.png') as sheet:
            # 2 people x 2 articles at 64x32, each cell shown 3x.
            assert sheet.size == (3 * 3 * 32, 4 * 3 * 64)
    table = json.loads((out / 'table.json').read_text())
    assert list(table['variants']) == ['reference', 'fast']
    fast = table['variants']['fast']
    assert fast['changes'] == {'optimizer': {'lr': 1e-3}}
    ratios = [fast['runs'][s]['ratio']['worn'] for s in ('0', '1')]
    summary = fast['summary']
    assert summary['ratio']['min'] == min(ratios)
    assert summary['ratio']['max'] == max(ratios)
    assert summary['ratio']['mean'] == pytest.approx(sum(ratios) / 2)
    assert summary['ratio']['std'] == pytest.approx(
        abs(ratios[0] - ratios[1]) / 2 ** 0.5)
    assert summary['steps'] == 2
    md = (out / 'table.md').read_text(encoding='utf-8')
    row = next(line for line in md.splitlines() if line.startswith('| fast'))
    cells = [c.strip() for c in row.strip('|').split('|')]
    assert cells[1] == 'optimizer.lr=0.001'
    assert cells[2] == '{:.3f} ± {:.3f}'.format(summary['ratio']['mean'],
                                                summary['ratio']['std'])
    assert cells[-1] == '0, 1' and cells[-3] == '2'
    assert 'standard deviation over the seeds' in md

    # Again: nothing is trained or scored again, the tables are the same.
    def forbidden(*args, **kwargs):
        raise AssertionError('trained or scored again')

    monkeypatch.setattr(ablation, 'train', forbidden)
    monkeypatch.setattr(ablation, 'score', forbidden)
    before = (out / 'table.json').read_text()
    code, printed, err = script([path, '--out', out, '--swaps', 3], capsys)
    assert code == 0, err
    assert (out / 'table.json').read_text() == before
    assert printed.count('seed 0: scored; seed 1: scored') == 2

    # Scores lost, a finished run is scored again without training.
    monkeypatch.undo()
    monkeypatch.setattr(ablation, 'train', forbidden)
    (out / 'fast' / 'seed-1' / 'scores.json').unlink()
    code, printed, err = script([path, '--out', out, '--swaps', 3, '--only',
                                 'fast', '--dry-run'], capsys)
    assert code == 0, err
    assert 'seed 0: scored; seed 1: trained, to score' in printed
    code, printed, err = script([path, '--out', out, '--swaps', 3, '--only',
                                 'fast'], capsys)
    assert code == 0, err
    assert json.loads((out / 'table.json').read_text()) == json.loads(before)
    assert '| reference |' in (out / 'table.md').read_text(encoding='utf-8')  # kept


def test_a_finished_run_resumes_at_its_end_and_stops_at_once(tmp_path, base):
    resolved = config.load(base, {'train': {'seed': 5}})
    folder = tmp_path / 'run'
    training.make_trainer(resolved, folder).run()
    log = (folder / 'log').read_text()
    files = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    trainer = training.make_trainer(resolved, folder)
    trainer.run()
    assert trainer.updater.iteration == 2
    assert (folder / 'log').read_text() == log
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == files


@pytest.mark.parametrize('variants, words', [
    ({'good': {}, 'bad': {'model': {'gen': {'inject': 'everywhere'}}}},
     'variant bad: model.gen.inject: expected true or false'),
    ({'typo': {'modle': {'ch': 8}}}, 'variant typo: unknown section'),
    ({'a/b': {}}, "variant 'a/b': a name is"),
    ({}, 'variants: expected names'),
])
def test_bad_variants_are_one_line_before_anything_runs(tmp_path, base,
                                                        capsys, variants,
                                                        words):
    path = write(tmp_path, base, variants)
    code, printed, err = script([path, '--out', tmp_path / 'out'], capsys)
    assert code == 1 and err.count('\n') == 1, err
    assert err.startswith('error: {}: '.format(path)) and words in err, err
    assert not (tmp_path / 'out').exists()


def test_other_mistakes_are_one_line(tmp_path, base, capsys):
    path = write(tmp_path, base, {'reference': {}})
    for args, words in (
            (['--only', 'nope'], "no variant 'nope' (it has reference)"),
            (['--seeds', '1', '1'], 'lists a seed twice')):
        code, _, err = script([path, '--dry-run'] + args, capsys)
        assert code == 1 and err.count('\n') == 1 and words in err, err
    missing = tmp_path / 'missing.yaml'
    missing.write_text('base: {}\nvariants: {{a: {{}}}}\n'.format(
        tmp_path / 'nope.yaml'))
    code, _, err = script([missing], capsys)
    assert code == 1 and 'base {}: no such config file'.format(
        tmp_path / 'nope.yaml') in err
    # A folder holding a run of another config is refused up front.
    out = tmp_path / 'out'
    other = config.load(base, {'model': {'ch': 16}})
    (out / 'reference' / 'seed-0').mkdir(parents=True)
    config.save(other, out / 'reference' / 'seed-0' / run.CONFIG_NAME)
    code, _, err = script([path, '--out', out, '--dry-run'], capsys)
    assert code == 1 and err.count('\n') == 1
    assert 'holds a run of another config (differs in model.ch)' in err


# The demo's ablation trains each variant half the demo's length.
HALF_LENGTH = {'schedule': {'decay_from': 7}, 'train': {'epochs': 11},
               'evaluate': {'keep_best': True}}


def test_the_default_folder_and_the_shipped_files():
    main = runpy.run_path(str(ROOT / 'scripts' / 'ablation.py'))
    assert str(main['default_out']('configs/ablation-demo.yaml')) == \
        'results/ablation/demo'
    for name in ('demo', 'showcase'):
        plan = ablation.load(ROOT / 'configs' / 'ablation-{}.yaml'.format(name))
        assert plan.seeds == ([0, 1, 2] if name == 'demo' else [0, 1])
        assert len(plan.variants) == 16
        # `start` takes the shipped options out; `combined` (CAGAN's
        # options) or `combined_warp` (and the warp) is the shipped config
        # itself, the supervised runs its generators trained on truth.
        shipped = config.load(ROOT / 'configs' / '{}.yaml'.format(name),
                              HALF_LENGTH if name == 'demo' else None)
        combined = [n for n in ('combined', 'combined_warp')
                    if plan.variants[n][1] == shipped]
        assert len(combined) == 1
        reference = plan.variants['reference'][1]
        assert not reference['model']['gen']['inject']
        assert reference['optimizer']['ema'] is None
        supervised = plan.variants['supervised'][1]
        assert supervised['train']['mode'] == 'supervised'
        assert supervised['model']['gen'] == dict(
            shipped['model']['gen'], warp='none')
        supervised_warp = plan.variants['supervised_warp'][1]
        assert supervised_warp['model']['gen'] == dict(
            shipped['model']['gen'], warp='grid')
    showcase = yaml.safe_load((ROOT / 'configs' /
                               'ablation-showcase.yaml').read_text())
    demo = yaml.safe_load((ROOT / 'configs' / 'ablation-demo.yaml')
                          .read_text())
    assert set(showcase['variants']) == set(demo['variants'])
    # The same options taken out of both; the demo's `start` also halves
    # its length.
    demo_start = demo['start']
    for section, keys in HALF_LENGTH.items():
        for key in keys:
            del demo_start[section][key]
    demo_start = {k: v for k, v in demo_start.items() if v}
    assert showcase['start'] == demo_start
