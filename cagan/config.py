"""Experiments as YAML: the defaults, loading with validation, saving.

A config file holds the *experiment* (data, networks, losses, optimiser,
schedule); the command line holds the *machine* (``--device``, ``--out``).
Every key a file may set is in :data:`DEFAULTS`, which is the reference article's setup:
a file lists only what it changes. Loading checks every key and type and
names the file and the key of any mistake; the resolved config (defaults
filled in) is written next to the snapshots, so a trained model is usable
with nothing but its folder.
"""

import copy
import math
from pathlib import Path

import yaml

from cagan.errors import ConfigError
from cagan.atomic import write_text_atomic
from cagan.sizes import parse_size

# Each key: (default, kind). Kinds: 'int', 'float', 'bool', 'str', 'size'
# ('HxW' or [H, W]), 'prob' (float in [0, 1]), a tuple of allowed strings,
# or a kind followed by '?' when null is allowed.
SCHEMA = {
    'data': {
        # Our layout or VITON's (data/README.md).
        'root': ('data/swimwear', 'str'),
        'size': ((256, 256), 'size'),
        # x_i and y_i flip together, y_j on its own (the reference article).
        'flip': (True, 'bool'),
        # Worn-article dropout (not in the reference article): with this probability a
        # triplet's y_i is replaced by a plain grey image, so that the
        # generator also works when the worn article is not given.
        'worn_dropout': (0.0, 'prob'),
        # Loader processes of the data iterator (0: in the training process).
        'loaders': (0, 'int'),
    },
    'model': {
        # What both networks share: the base width (layers have ch/8 to ch
        # channels) and the standard deviation of the initial weights.
        'ch': (512, 'int'),
        'wscale': (0.02, 'float'),
        # The generator's options: keyword arguments of cagan.Generator.
        'gen': {
            # Downsampled copies of G's inputs (x_i, y_i, y_j) beside every
            # intermediate layer (the paper, section 3: "we use always the
            # last 6 channels of any intermediate layer (in both G and D)
            # to store downsampled copies of the inputs"); concatenated
            # here, so no learned channel is given up at small widths. Off
            # in the reference article.
            'inject': (False, 'bool'),
            # Upsampling: 'deconv' (the reference article: 4x4 stride-2
            # deconvolutions) or 'resize' (nearest x2, then a 3x3
            # convolution: no checkerboard; Odena, Dumoulin and Olah,
            # Distill 2016).
            'upsample': ('deconv', ('deconv', 'resize')),
            # The article warped onto the person (not CAGAN: the try-on
            # methods after it, CP-VTON, WUTON, PF-AFN; cagan/links/warp.py):
            # 'none' (the reference article), 'affine' or 'grid' (affine
            # plus a 6x6 grid of offsets). G composites the warped product
            # photo inside its warped silhouette.
            'warp': ('none', ('none', 'affine', 'grid')),
        },
        # The discriminator's options: keyword arguments of
        # cagan.Discriminator.
        'dis': {
            # The head: 'linear' (the reference article: one logit per
            # pair), 'patch' (a 3x3 convolution on the stride-32 map, one
            # logit per 32x32 patch), 'patch16' (the paper's patch
            # discriminator as its reimplementations read it: the same
            # convolution on the stride-16 map, 8x6 logits at 128x96; c4
            # and bn4 are not built).
            'head': ('linear', ('linear', 'patch', 'patch16')),
            # Standard deviation of D's Gaussian noise (the reference
            # article: on the input and after every convolution).
            'noise_sigma': (0.2, 'float'),
            # Downsampled copies of D's pair beside every layer (the
            # paper, as model.gen.inject). Off in the reference article.
            'inject': (False, 'bool'),
            # Spectral normalisation of D's weights (Miyato et al. 2018;
            # chainer.link_hooks.SpectralNormalization); off in the
            # reference article.
            'spectral_norm': (False, 'bool'),
            # A projection term (Miyato and Koyama 2018, "cGANs with
            # Projection Discriminator"; pfnet-research/sngan_projection):
            # an article encoder's pooled embedding times the features
            # the head reads, at every patch ("does this person wear this
            # article"). Off in the reference article.
            'projection': (False, 'bool'),
        },
    },
    'loss': {
        'gamma_adv': (1.0, 'float'),
        'gamma_cyc': (1.0, 'float'),
        'gamma_id': (0.1, 'float'),
        # The warp's matching term on the true pair (model.gen.warp only):
        # CP-VTON's geometric matching loss (Wang et al. 2018, eq. 1), L1
        # between the warped worn article and the person inside the warped
        # silhouette, with the product photo's own mask instead of a
        # human parser's (cagan/losses.py). 0: off (CAGAN's losses alone).
        'gamma_match': (0.0, 'float'),
        # R1, a gradient penalty on D's real pairs (Mescheder, Geiger and
        # Nowozin 2018, "Which Training Methods for GANs do actually
        # Converge?", eq. 9): gamma_r1 / 2 E ||grad D(x_i, y_i)||^2 added
        # to D's loss. 0: off (the reference article).
        'gamma_r1': (0.0, 'float'),
        # R1 lazily, on one D step in r1_every, weighted by r1_every there
        # (StyleGAN2's lazy regularisation, Karras et al. 2020, which
        # uses 16); 1: every step.
        'r1_every': (16, 'int'),
    },
    # What changes during a run, in epochs of the run's data; the step
    # reads each at its iteration (cagan/updater.py).
    'schedule': {
        # Epochs over which gamma_id rises linearly from 0 to its value
        # (0: from the start, as the reference article). The id loss pulls
        # alpha to 0 before D can tell which article a person wears.
        'id_warmup': (0.0, 'float'),
        # Epoch at which D's noise has fallen linearly to 0 (annealed
        # instance noise, Sonderby et al. 2017; null: constant, as the
        # reference article).
        'noise_until': (None, 'int?'),
        # Epoch from which Adam's rate falls linearly to 0 at the end (null:
        # constant, as the reference article).
        'decay_from': (None, 'int?'),
    },
    'optimizer': {
        # Adam's learning rate (Chainer calls it alpha; in CAGAN alpha is
        # the generator's mask).
        'lr': (2e-4, 'float'),
        # The discriminator's own rate (null: lr, as the reference article).
        'dis_lr': (None, 'float?'),
        'beta1': (0.5, 'prob'),
        'beta2': (0.999, 'prob'),
        # Decay of an exponential moving average of G's weights (null: none,
        # as the reference article; e.g. 0.999). When set, the average is
        # what previews, evaluation, the best-epoch choice, gen_*.npz and
        # swap.py use; snapshots keep it, so a resumed run goes on exactly.
        # Early steps use min(ema, (1 + t) / (10 + t)) so a short run's
        # average does not remember its random start.
        'ema': (None, 'prob?'),
    },
    'train': {
        # 'cagan' (the method) or 'supervised': the same generator trained
        # with L1 to the true swap (data with training ground truth, such
        # as the synthetic set's truth.txt). Not CAGAN: an upper bound of
        # what the generator learns at a size and budget.
        'mode': ('cagan', ('cagan', 'supervised')),
        'batch': (16, 'int'),
        'epochs': (50, 'int'),
        'seed': (0, 'int'),
        'log_every': (10, 'int'),
        'snapshot_every': (200, 'int'),
        'keep_snapshots': (2, 'int'),
    },
    'preview': {
        'every': (200, 'int'),
        'humans': (4, 'int'),
        'articles': (4, 'int'),
    },
    'evaluate': {
        # Validation swaps (the dataset's val/ split) scored at the end of
        # every epoch (0: none); the best epoch's generator is kept as
        # gen_best.npz. The test split is left to scripts/evaluate.py.
        'swaps': (64, 'int'),
        # Keep the best epoch's generator (gen_best.npz, which swap.py and
        # evaluate.py then use); false: none is kept and the last epoch's
        # generator is the model, as usual once the rate has decayed to 0.
        'keep_best': (True, 'bool'),
    },
}

def _defaults(schema):
    return {key: _defaults(spec) if isinstance(spec, dict)
            else copy.copy(spec[0]) for key, spec in schema.items()}


#: The defaults as a plain nested dict (the reference article's setup).
DEFAULTS = _defaults(SCHEMA)

# Smallest value of whole-number keys (all are counts or sizes but the seed).
_MINIMUM = {'data.loaders': 0, 'train.seed': 0, 'schedule.decay_from': 0,
            'evaluate.swaps': 0, 'schedule.noise_until': 0}


def load(path, overrides=None, saved=False):
    """Read a YAML experiment and resolve it against :data:`DEFAULTS`.

    Args:
        path (str or pathlib.Path): the YAML file.
        overrides (dict or None): ``{section: {key: value}}`` applied after
            the file (e.g. ``--seed`` from the command line), validated the
            same way.
        saved (bool): the file is a run's resolved config
            (:data:`cagan.run.CONFIG_NAME`), which may be of the layout
            before the options were grouped by network: read as it was
            meant (:func:`upgrade`). A file a user writes is held to
            today's keys.

    Returns:
        dict: ``{section: {key: value}}`` with every key of
        :data:`DEFAULTS`; sizes are ``(height, width)`` tuples.

    Raises:
        cagan.errors.ConfigError: one line naming the file and the key: a
            missing or unreadable file, bad YAML, an unknown section or key,
            a value of the wrong type or range.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding='utf-8')
    except FileNotFoundError:
        raise ConfigError('{}: no such config file (see configs/)'
                          .format(path)) from None
    except IsADirectoryError:
        raise ConfigError('{}: is a directory, not a config file'
                          .format(path)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError('{}: cannot read it ({})'.format(
            path, getattr(e, 'strerror', None) or e)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, 'problem_mark', None)
        where = ' (line {})'.format(mark.line + 1) if mark else ''
        raise ConfigError('{}: not valid YAML{}: {}'.format(
            path, where, getattr(e, 'problem', None) or e)) from None
    if saved:
        data = upgrade(data)
    config = resolve(data or {}, str(path))
    if overrides:
        config = resolve(overrides, 'the command line', base=config)
    return config


#: Keys that moved when the options were grouped by network: old dotted
#: key -> new dotted key. ``model.inject`` ('none', 'gen' or 'both') became
#: the two booleans ``model.gen.inject`` and ``model.dis.inject``.
MOVED = {
    'model.upsample': 'model.gen.upsample',
    'model.head': 'model.dis.head',
    'model.noise_sigma': 'model.dis.noise_sigma',
    'model.spectral_norm': 'model.dis.spectral_norm',
    'model.noise_until': 'schedule.noise_until',
    'loss.id_warmup': 'schedule.id_warmup',
    'optimizer.decay_from': 'schedule.decay_from',
}
_WHY = {'model.gen.': "the generator's option",
        'model.dis.': "the discriminator's option", 'schedule.': 'a schedule'}

#: Keys of older configs: old dotted key -> (its new spelling, why).
RENAMED = dict({
    'optimizer.alpha': ('optimizer.lr', "Adam's learning rate; alpha is the "
                        "generator's mask"),
    'optimizer.dis_alpha': ('optimizer.dis_lr', "the discriminator's "
                            "learning rate"),
    'model.inject': ('model.gen.inject and model.dis.inject',
                     "true or false for each network; 'gen' was "
                     "gen.inject: true, 'both' both of them"),
}, **{old: (new, next(why for start, why in _WHY.items()
                      if new.startswith(start)))
      for old, new in MOVED.items()})


def upgrade(data):
    """A resolved config saved before the options were grouped by network
    (flat ``model.head``, ``model.inject: gen``...), in today's layout
    (:data:`MOVED`); any other data as it is.

    Args:
        data: a parsed config file.

    Returns:
        a new dict (or ``data`` itself when there is nothing to upgrade).
    """
    if not isinstance(data, dict):
        return data
    flat = flatten(data)
    if not set(flat) & (set(MOVED) | {'model.inject'}):
        return data
    if 'model.inject' in flat:
        inject = flat.pop('model.inject')
        flat['model.gen.inject'] = inject in ('gen', 'both')
        flat['model.dis.inject'] = inject == 'both'
    upgraded = {}
    for name, value in flat.items():
        *sections, key = MOVED.get(name, name).split('.')
        into = upgraded
        for section in sections:
            into = into.setdefault(section, {})
        into[key] = value
    return upgraded


def resolve(data, source, base=None):
    """Validate ``data`` (a parsed config) and fill in ``base``.

    Args:
        data (dict): ``{section: {key: value}}``, any subset; the model's
            options are ``model: {gen: {...}, dis: {...}}``.
        source (str): what to call ``data`` in error messages.
        base (dict or None): values for keys ``data`` leaves out
            (default :data:`DEFAULTS`).

    Returns:
        dict: a new resolved config.
    """
    config = copy.deepcopy(base if base is not None else DEFAULTS)
    if not isinstance(data, dict):
        raise ConfigError('{}: expected sections such as "data:" and '
                          '"model:", got {}'.format(source, _name(data)))
    for section, values in data.items():
        if section not in SCHEMA:
            raise ConfigError('{}: unknown section {!r} (known: {})'.format(
                source, section, ', '.join(SCHEMA)))
        _resolve_keys(values, SCHEMA[section], config[section], section,
                      source)
    _check_together(config, source)
    return config


def _check_together(config, source):
    """Keys that are valid alone but not together."""
    if config['loss']['gamma_match'] and config['model']['gen']['warp'] == \
            'none':
        raise ConfigError('{}: loss.gamma_match is the warp\'s matching term '
                          'and needs model.gen.warp (affine or grid); set '
                          'one, or gamma_match to 0'.format(source))


def _resolve_keys(values, schema, into, where, source):
    """Check ``values`` (a section or subsection) against ``schema`` and
    write them into ``into``; ``where`` is its dotted name."""
    if not isinstance(values, dict):
        raise ConfigError('{}: {}: expected keys such as "{}:", got {}'
                          .format(source, where, next(iter(schema)),
                                  _name(values)))
    for key, value in values.items():
        name = '{}.{}'.format(where, key)
        if name in RENAMED:
            raise ConfigError('{}: {} is now {} ({})'.format(
                source, name, *RENAMED[name]))
        if key not in schema:
            raise ConfigError('{}: unknown key {} (known in {}: {})'.format(
                source, name, where, ', '.join(schema)))
        if isinstance(schema[key], dict):
            _resolve_keys(value, schema[key], into[key], name, source)
            continue
        try:
            into[key] = _check(value, schema[key][1],
                               _MINIMUM.get(name, 1))
        except ValueError as e:
            raise ConfigError('{}: {}: {}'.format(source, name, e)) from None


def _check(value, kind, minimum):
    if isinstance(kind, tuple):
        if value not in kind:
            raise ValueError('expected one of {}, got {!r}'.format(
                ', '.join(kind), value))
        return value
    if kind.endswith('?'):
        if value is None:
            return None
        kind = kind[:-1]
    if kind == 'bool':
        if not isinstance(value, bool):
            raise ValueError('expected true or false, got {}'.format(
                _name(value)))
        return value
    if kind == 'str':
        if not isinstance(value, str) or not value:
            raise ValueError('expected a text, got {}'.format(_name(value)))
        return value
    if kind == 'int':
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError('expected a whole number, got {}'.format(
                _name(value)))
        if value < minimum:
            raise ValueError('must be at least {}, got {}'.format(
                minimum, value))
        return value
    if kind in ('float', 'prob'):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError('expected a number, got {}'.format(_name(value)))
        value = float(value)
        if not math.isfinite(value) or value < 0:
            raise ValueError('expected a finite number >= 0, got {}'
                             .format(value))
        if kind == 'prob' and value > 1:
            raise ValueError('expected a probability in [0, 1], got {}'
                             .format(value))
        return value
    if kind == 'size':
        if isinstance(value, str):
            return parse_size(value)
        if (isinstance(value, (list, tuple)) and len(value) == 2 and
                all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                    for v in value)):
            return tuple(value)
        raise ValueError('expected HxW (e.g. 128x96) or [H, W], got {}'
                         .format(_name(value)))
    raise AssertionError(kind)


def _name(value):
    if value is None:
        return 'nothing (null)'
    return '{} {!r}'.format(type(value).__name__, value)


def flatten(data, prefix=''):
    """``{'model.gen.inject': True, ...}``: the leaves of a (partial or
    resolved) config under their dotted names, in order."""
    flat = {}
    for key, value in data.items():
        name = prefix + str(key)
        if isinstance(value, dict):
            flat.update(flatten(value, name + '.'))
        else:
            flat[name] = value
    return flat


def differences(a, b):
    """The dotted keys whose values differ between two resolved configs."""
    a, b = flatten(a), flatten(b)
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def dump(config):
    """The YAML text of a resolved config (sizes written as ``HxW``)."""
    def plain(values, schema):
        return {key: plain(value, schema[key]) if isinstance(value, dict)
                else '{}x{}'.format(*value) if schema[key][1] == 'size'
                else value for key, value in values.items()}
    return yaml.safe_dump(plain(config, SCHEMA), sort_keys=False,
                          default_flow_style=False)


def save(config, path):
    """Write the resolved config to ``path`` (atomically; a run's folder
    keeps it as :data:`cagan.run.CONFIG_NAME`)."""
    write_text_atomic(path, dump(config))
    return Path(path)
