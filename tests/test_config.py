import pytest
import yaml

from cagan import config
from cagan.errors import ConfigError


def write(tmp_path, text, name='exp.yaml'):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_are_the_seeds_setup():
    d = config.DEFAULTS
    assert d['data']['size'] == (256, 256) and d['data']['flip'] is True
    assert d['model'] == {
        'ch': 512, 'wscale': 0.02,
        'gen': {'inject': False, 'upsample': 'deconv', 'warp': 'none'},
        'dis': {'head': 'linear', 'noise_sigma': 0.2, 'inject': False,
                'spectral_norm': False, 'projection': False}}
    assert d['loss'] == {'gamma_adv': 1.0, 'gamma_cyc': 1.0, 'gamma_id': 0.1,
                         'gamma_match': 0.0, 'gamma_r1': 0.0,
                         'r1_every': 16}
    assert d['schedule'] == {'id_warmup': 0.0, 'noise_until': None,
                             'decay_from': None}
    assert d['optimizer']['ema'] is None and d['train']['mode'] == 'cagan'
    assert d['optimizer']['lr'] == 2e-4 and d['optimizer']['beta1'] == 0.5
    assert d['train']['batch'] == 16 and d['train']['epochs'] == 50
    assert d['data']['worn_dropout'] == 0.0


def test_a_file_changes_only_what_it_lists(tmp_path):
    resolved = config.load(write(tmp_path, 'data:\n  size: 128x96\n'
                                 'model:\n  ch: 64\n  dis:\n    head: patch\n'
                                 'optimizer:\n  lr: 1\n'))
    assert resolved['data']['size'] == (128, 96)
    assert resolved['model']['ch'] == 64
    assert resolved['model']['dis'] == dict(config.DEFAULTS['model']['dis'],
                                            head='patch')
    assert resolved['model']['gen'] == config.DEFAULTS['model']['gen']
    assert resolved['optimizer']['lr'] == 1.0  # an int where a float goes
    assert resolved['train'] == config.DEFAULTS['train']


def test_empty_file_is_the_defaults(tmp_path):
    assert config.load(write(tmp_path, '')) == config.DEFAULTS


@pytest.mark.parametrize('text, words', [
    ('modle:\n  ch: 8\n', ["unknown section 'modle'"]),
    ('model:\n  chh: 8\n', ['unknown key model.chh']),
    ('model:\n  ch: eight\n', ['model.ch', 'whole number', "'eight'"]),
    ('model:\n  ch: 8.5\n', ['model.ch', 'whole number']),
    ('model:\n  ch: true\n', ['model.ch', 'whole number']),
    ('model:\n  ch: 0\n', ['model.ch', 'at least 1']),
    ('model:\n  dis:\n    head: dense\n', ['model.dis.head', 'linear, patch']),
    ('model:\n  gen:\n    injekt: true\n', ['unknown key model.gen.injekt',
                                            'known in model.gen: inject']),
    ('model:\n  gen: true\n', ['model.gen', 'expected keys such as "inject:"']),
    ('model:\n  gen:\n    inject: gen\n', ['model.gen.inject',
                                           'true or false']),
    ('schedule:\n  noise_until: -1\n', ['schedule.noise_until',
                                        'at least 0']),
    ('data:\n  flip: yes please\n', ['data.flip', 'true or false']),
    ('data:\n  size: 128\n', ['data.size', 'HxW']),
    ('data:\n  size: 12x\n', ['data.size', 'HxW']),
    ('data:\n  worn_dropout: 1.5\n', ['data.worn_dropout', 'probability']),
    ('loss:\n  gamma_id: .nan\n', ['loss.gamma_id', 'finite']),
    ('loss: 3\n', ['loss', 'expected keys']),
    ('- a\n- b\n', ['expected sections']),
    ('model:\n  ch: [8\n', ['not valid YAML', 'line']),
    ('model:\n  gen:\n    warp: tps\n', ['model.gen.warp',
                                         'none, affine, grid']),
    ('loss:\n  gamma_match: 1\n', ['loss.gamma_match', 'model.gen.warp']),
    ('loss:\n  r1_every: 0\n', ['loss.r1_every', 'at least 1']),
    ('loss:\n  gamma_r1: -1\n', ['loss.gamma_r1', '>= 0']),
])
def test_mistakes_name_the_file_and_the_key(tmp_path, text, words):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        config.load(path)
    message = str(e.value)
    assert message.startswith(str(path)) and '\n' not in message
    for word in words:
        assert word in message


def test_missing_and_directory(tmp_path):
    with pytest.raises(ConfigError, match='no such config file'):
        config.load(tmp_path / 'nope.yaml')
    with pytest.raises(ConfigError, match='is a directory'):
        config.load(tmp_path)


def test_overrides_are_validated_too(tmp_path):
    path = write(tmp_path, '')
    assert config.load(path, {'train': {'seed': 7}})['train']['seed'] == 7
    with pytest.raises(ConfigError, match='the command line: train.seed'):
        config.load(path, {'train': {'seed': 'x'}})


def test_saved_config_loads_back_identically(tmp_path):
    resolved = config.load(write(tmp_path, 'data:\n  size: [64, 32]\n'
                                 'schedule:\n  decay_from: 3\n'
                                 'model:\n  gen: {inject: true}\n'))
    saved = config.save(resolved, tmp_path / 'config.yaml')
    assert saved == tmp_path / 'config.yaml'
    assert yaml.safe_load(saved.read_text())['data']['size'] == '64x32'
    assert config.load(saved) == resolved


def test_shipped_configs_load():
    for name in ('swimwear', 'paper', 'demo', 'showcase'):
        resolved = config.load('configs/{}.yaml'.format(name))
        assert resolved['data']['size'][0] % 32 == 0
    reference = config.load('configs/swimwear.yaml')
    assert reference['data']['size'] == (256, 256)
    assert reference['model']['ch'] == 512
    assert reference['data']['worn_dropout'] == 0.0
    paper = config.load('configs/paper.yaml')['model']
    assert paper['dis']['head'] == 'patch16'
    assert paper['gen']['inject'] and paper['dis']['inject']


@pytest.mark.parametrize('old, new', [('alpha', 'lr'), ('dis_alpha', 'dis_lr')])
def test_an_old_learning_rate_key_is_refused_with_its_new_name(tmp_path, old,
                                                             new):
    path = write(tmp_path, 'optimizer:\n  {}: 1.0e-3\n'.format(old))
    with pytest.raises(ConfigError) as e:
        config.load(path)
    assert str(e.value).startswith('{}: optimizer.{} is now optimizer.{} ('
                                   .format(path, old, new))
    assert '\n' not in str(e.value)


@pytest.mark.parametrize('old, text, new', [
    ('model.head', 'model:\n  head: patch16\n', 'model.dis.head'),
    ('model.upsample', 'model:\n  upsample: resize\n', 'model.gen.upsample'),
    ('model.noise_sigma', 'model:\n  noise_sigma: 0\n',
     'model.dis.noise_sigma'),
    ('model.spectral_norm', 'model:\n  spectral_norm: true\n',
     'model.dis.spectral_norm'),
    ('model.inject', 'model:\n  inject: gen\n',
     'model.gen.inject and model.dis.inject'),
    ('model.noise_until', 'model:\n  noise_until: 3\n',
     'schedule.noise_until'),
    ('loss.id_warmup', 'loss:\n  id_warmup: 1\n', 'schedule.id_warmup'),
    ('optimizer.decay_from', 'optimizer:\n  decay_from: 3\n',
     'schedule.decay_from'),
])
def test_a_flat_key_is_refused_with_its_new_spelling(tmp_path, old, text,
                                                     new):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        config.load(path)
    assert str(e.value).startswith('{}: {} is now {} ('.format(path, old, new))
    assert '\n' not in str(e.value)


def test_a_runs_config_saved_flat_loads_as_it_was_meant(tmp_path):
    flat = {'data': {'size': '64x32'},
            'model': {'ch': 16, 'head': 'patch16', 'noise_sigma': 0.0,
                      'noise_until': 4, 'wscale': 0.02, 'inject': 'gen',
                      'upsample': 'resize', 'spectral_norm': False},
            'loss': {'gamma_adv': 1.0, 'gamma_cyc': 1.0, 'gamma_id': 0.1,
                     'id_warmup': 1.0},
            'optimizer': {'lr': 1e-3, 'decay_from': 7}}
    path = write(tmp_path, yaml.safe_dump(flat), name='config.yaml')
    with pytest.raises(ConfigError, match=' is now '):
        config.load(path)  # a user's file: today's keys only
    resolved = config.load(path, saved=True)
    assert resolved['model'] == {
        'ch': 16, 'wscale': 0.02,
        'gen': {'inject': True, 'upsample': 'resize', 'warp': 'none'},
        'dis': {'head': 'patch16', 'noise_sigma': 0.0, 'inject': False,
                'spectral_norm': False, 'projection': False}}
    assert resolved['schedule'] == {'id_warmup': 1.0, 'noise_until': 4,
                                    'decay_from': 7}
    assert resolved['optimizer']['lr'] == 1e-3
    both = dict(flat, model=dict(flat['model'], inject='both'))
    upgraded = config.upgrade(both)['model']
    assert upgraded['gen']['inject'] and upgraded['dis']['inject']
    assert config.upgrade({'model': {'ch': 8}}) == {'model': {'ch': 8}}


def test_each_network_option_is_an_argument_of_its_link():
    import inspect

    from cagan import Discriminator, Generator
    shared = set(config.SCHEMA['model']) - {'gen', 'dis'}
    for link, options in ((Generator, 'gen'), (Discriminator, 'dis')):
        arguments = set(inspect.signature(link).parameters)
        assert set(config.SCHEMA['model'][options]) | shared <= arguments
        assert not set(config.SCHEMA['model'][options]) & shared


def test_differences_name_the_leaves():
    a = config.DEFAULTS
    b = config.resolve({'model': {'gen': {'inject': True}},
                        'train': {'seed': 3}}, 'test')
    assert config.differences(a, b) == ['model.gen.inject', 'train.seed']
    assert config.flatten({'model': {'gen': {'inject': True}}}) == {
        'model.gen.inject': True}
