"""The written synthetic dataset: layout, planted cases, splits, ground
truth, styles, determinism (cagan/data/synthetic/writing.py, params.py,
near_duplicates.py, png.py) and scripts/make_synthetic.py.

Tiny images (64x48) and a few hundred pairs keep the whole file fast.
"""

import colorsys
import dataclasses
import io
import os
import subprocess
import sys

import numpy
import pytest
from PIL import Image

from cagan.data import synthetic
from cagan.data.layout import read_pairs
from cagan.data.synthetic import near_duplicates, png, writing
from cagan.errors import CaganError

SIZE = (64, 48)
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def load(path):
    """An image file as a numpy array (its file closed)."""
    with Image.open(path) as im:
        return numpy.asarray(im).copy(), im.mode


def thumbnail(image):
    """An 8x8 colour thumbnail of the garment in a product photo, float32
    (192,), in units of the background's brightness and cropped to the
    garment: framing and exposure do not count."""
    background = image[0, 0].astype(numpy.float32)
    inked = (numpy.abs(image - background) > 8).any(axis=2)
    rows = numpy.flatnonzero(inked.any(axis=1))
    cols = numpy.flatnonzero(inked.any(axis=0))
    crop = Image.fromarray(image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
    small = numpy.asarray(crop.resize((8, 8), Image.BOX), numpy.float32)
    return (small * (255 / background)).ravel()


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp('synthetic') / 'set'
    result = synthetic.write_dataset(out, 300, SIZE, seed=3, test_pairs=12,
                                     val_pairs=6)
    return out, result


# --------------------------------------------------------------------------
# The written dataset


def test_layout_parses_and_images_are_the_renders(dataset):
    out, result = dataset
    pairs = read_pairs(out / 'pairs.txt')
    assert len(pairs) == 300
    assert [(p.human, p.article, p.flags, p.dup_of) for p in pairs] == [
        (p.human, p.article, p.flags, p.dup_of) for p, _, _ in result.train]
    for pair, human, article in result.train[::25]:
        x, mode = load(out / 'humans' / pair.human)
        y, _ = load(out / 'articles' / pair.article)
        assert mode == 'RGB' and x.shape == SIZE + (3,)
        assert numpy.array_equal(x, synthetic.render_human(human, article,
                                                           SIZE)[0])
        assert numpy.array_equal(y, synthetic.render_article(article, SIZE))
    names = set(os.listdir(out / 'humans')) | set(os.listdir(out / 'articles'))
    assert not [n for n in names if n.startswith('.')]   # no temporary files


def test_flags_are_planted_at_their_shares(dataset):
    out, result = dataset
    counts = result.flag_counts()
    for name, share in synthetic.SHARES:
        assert abs(counts[name] - share * 300) <= 3, (name, counts)
    for pair, human, article in result.train:
        assert human.back_view == ('back_view' in pair.flags)
        assert bool(human.extra_garment) == ('extra_garment' in pair.flags)
        assert article.bottoms_only == ('bottoms_only' in pair.flags)
        assert len(pair.flags) + bool(pair.dup_of) <= 1


def test_duplicates_are_reshots_of_an_earlier_plain_article(dataset):
    out, result = dataset
    by_article = {p.article: (i, p, h, a)
                  for i, (p, h, a) in enumerate(result.train)}
    dups = [(p, h, a) for p, h, a in result.train if p.dup_of]
    assert dups
    for pair, human, article in dups:
        i, original, o_human, o_article = by_article[pair.dup_of]
        assert i < by_article[pair.article][0]
        assert not original.flags and not original.dup_of
        assert human != o_human
        # The same product: everything but the photo's framing.
        assert dataclasses.replace(article, photo=o_article.photo) == o_article
        y, _ = load(out / 'articles' / pair.article)
        y0, _ = load(out / 'articles' / pair.dup_of)
        with open(out / 'articles' / pair.article, 'rb') as f, \
                open(out / 'articles' / pair.dup_of, 'rb') as g:
            assert f.read() != g.read()
        assert not numpy.array_equal(y, y0)
        # Near-identical: perceptual hashes a few bits apart, thumbnails of
        # the garment a few levels apart (distinct articles: see below).
        assert bin(synthetic.perceptual_hash(y) ^
                   synthetic.perceptual_hash(y0)).count('1') <= 4
        assert numpy.abs(thumbnail(y) - thumbnail(y0)).mean() < 16


def test_distinct_articles_are_clearly_different(dataset):
    """Apart from planted duplicates, no two articles are the same design
    in nearly the same colours, and no two product photos are nearly the
    same picture (thumbnails of the garment, framing and exposure aside)."""
    out, result = dataset
    # Re-shots of one original are duplicates of each other too.
    root = {p.article: p.dup_of or p.article for p, _, _ in result.train}
    names = [p.article for p, _, _ in result.train]
    articles = [a for _, _, a in result.train]
    designs = near_duplicates._Designs()
    for pair, _, article in result.test + result.val + result.train:
        if not pair.dup_of:
            assert designs.too_close(article) == 0, pair.article
            designs.add(article)
    # At 128x96, where prints are resolved.
    thumbs = numpy.array([thumbnail(synthetic.render_article(a, (128, 96)))
                          for a in articles])
    diff = numpy.abs(thumbs[:, None] - thumbs[None]).mean(axis=2)
    close = [(names[i], names[j]) for i, j in zip(*numpy.nonzero(diff < 4))
             if i < j and root[names[i]] != root[names[j]]]
    assert not close


@pytest.mark.parametrize('split, n', [('test', 12), ('val', 6)])
def test_held_out_splits_have_ground_truth(dataset, split, n):
    out, result = dataset
    folder = out / split
    items = getattr(result, split)
    pairs = read_pairs(folder / 'pairs.txt')
    assert len(pairs) == n and not any(p.flags or p.dup_of for p in pairs)
    assert all(not h.back_view and not h.extra_garment and not a.bottoms_only
               for _, h, a in items)
    with open(folder / 'truth.txt', encoding='utf-8') as f:
        rows = [line.split() for line in f if not line.startswith('#')]
    want = result.truth if split == 'test' else result.val_truth
    assert rows == [list(r) for r in want] and len(rows) == n
    check_truth(folder, rows, items, {'articles/' + p.article: a
                                      for p, _, a in items})


def check_truth(folder, rows, items, articles):
    """Every row of a truth.txt in ``folder``: its human (of ``items``, in
    order) wearing another article (of ``articles``, by path), rendered,
    with both masks; nothing changed outside them."""
    for (pair, human, article), row in zip(items, rows):
        x_i, y_i, y_j, x_ij, m_i, m_j = row
        for path in row:
            assert os.path.isfile(folder / path), path
        assert x_i == 'humans/' + pair.human
        assert y_i == 'articles/' + pair.article
        assert y_j != y_i
        other = articles[y_j]
        assert other != article
        want_x, want_m = synthetic.render_human(human, other, SIZE)
        got, _ = load(folder / x_ij)
        assert numpy.array_equal(got, want_x)
        mask_j, mode = load(folder / m_j)
        assert mode == 'L' and set(numpy.unique(mask_j)) <= {0, 255}
        assert numpy.array_equal(mask_j == 255, want_m)
        mask_i, _ = load(folder / m_i)
        assert numpy.array_equal(mask_i == 255,
                                 synthetic.render_human(human, article,
                                                        SIZE)[1])
        # The swap changes nothing outside the two masks.
        x, _ = load(folder / x_i)
        outside = (mask_i == 0) & (mask_j == 0)
        assert numpy.array_equal(x[outside], got[outside])


def test_people_and_articles_stay_in_their_split(dataset):
    out, result = dataset
    splits = {name: getattr(result, name) for name in ('train', 'val', 'test')}
    for a, b in (('train', 'val'), ('train', 'test'), ('val', 'test')):
        assert not {h for _, h, _ in splits[a]} & {h for _, h, _ in splits[b]}
        assert not {x for _, _, x in splits[a]} & {x for _, _, x in splits[b]}
    # Distinct images too: every file of every split, by content.
    digests = {}
    for name, folder in (('train', out), ('val', out / 'val'),
                         ('test', out / 'test')):
        for sub in ('humans', 'articles'):
            for f in os.listdir(folder / sub):
                digests.setdefault((folder / sub / f).read_bytes(),
                                   set()).add(name)
    assert all(len(names) == 1 for names in digests.values())


def test_training_pairs_have_ground_truth(dataset):
    """Every training pair without an excluding flag: its human in another
    such pair's article (never a re-shot of its own), rendered exactly."""
    out, result = dataset
    with open(out / 'truth.txt', encoding='utf-8') as f:
        rows = [line.split() for line in f if not line.startswith('#')]
    assert rows == [list(r) for r in result.train_truth]
    usable = [(p, h, a) for p, h, a in result.train if not p.excluded]
    assert [r[0] for r in rows] == ['humans/' + p.human for p, _, _ in usable]
    group = {'articles/' + p.article: p.dup_of or p.article
             for p, _, _ in result.train}
    flagged = {'articles/' + p.article for p, _, _ in result.train
               if p.excluded}
    assert all(group[r[2]] != group[r[1]] and r[2] not in flagged
               for r in rows)
    assert len({r[2] for r in rows}) > len(rows) // 3   # spread out
    articles = {'articles/' + p.article: a for p, _, a in result.train}
    picked = list(range(0, len(rows), 12))
    check_truth(out, [rows[k] for k in picked], [usable[k] for k in picked],
                articles)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    def files(folder):
        found = {}
        for base, _, names in os.walk(folder):
            for name in names:
                path = os.path.join(base, name)
                with open(path, 'rb') as f:
                    found[os.path.relpath(path, folder)] = f.read()
        return found

    for name, seed in (('a', 5), ('b', 5), ('c', 6)):
        synthetic.write_dataset(tmp_path / name, 30, (32, 32), seed=seed,
                                test_pairs=3, val_pairs=2)
    a, b, c = (files(tmp_path / n) for n in 'abc')
    assert a == b
    # Another seed: other images under the same names (truth files are
    # named after the swap, which the seed draws too).
    shared = [k for k in a if k in c and k.endswith('.png')]
    assert len(shared) >= 66
    assert sum(a[k] != c[k] for k in shared) > 0.9 * len(shared)


def test_files_do_not_depend_on_the_batching(tmp_path, monkeypatch):
    """Images wait in batches before they are written; the files are the
    same whatever the batch."""
    def files(folder):
        found = {}
        for base, _, names in os.walk(folder):
            for name in names:
                with open(os.path.join(base, name), 'rb') as f:
                    found[os.path.relpath(os.path.join(base, name),
                                          folder)] = f.read()
        return found

    result = synthetic.write_dataset(tmp_path / 'a', 12, (32, 32), seed=4,
                                     test_pairs=3, val_pairs=2)
    monkeypatch.setattr(writing, '_BATCH', 1)
    synthetic.write_dataset(tmp_path / 'b', 12, (32, 32), seed=4,
                            test_pairs=3, val_pairs=2)
    a, b = files(tmp_path / 'a'), files(tmp_path / 'b')
    # Training images, their truth (3 images a row), then test and val
    # (5 images a pair), and the lists (2 at the root, 2 a split).
    rows = len(result.train_truth)
    assert rows >= 6
    assert len(a) == 12 * 2 + 3 * rows + 3 * 5 + 2 * 5 + 2 + 2 * 2 and a == b


def test_thigh_framing_shows_the_same_people_larger(tmp_path):
    """The same seed draws the same people and articles in both framings;
    head-to-thigh framing makes the garment (its mask) about twice as
    large, and the articles' files are the same bytes."""
    for framing in synthetic.FRAMINGS:
        synthetic.write_dataset(tmp_path / framing, 4, (64, 48), seed=2,
                                test_pairs=12, framing=framing, val_pairs=0,
                                train_truth=False)
    full, thigh = tmp_path / 'full' / 'test', tmp_path / 'thigh' / 'test'
    names = sorted(os.listdir(full / 'articles'))
    assert names == sorted(os.listdir(thigh / 'articles'))
    for name in names:
        assert ((full / 'articles' / name).read_bytes()
                == (thigh / 'articles' / name).read_bytes())
    masks = [name for name in os.listdir(full / 'truth')
             if name.endswith('_mask.png')]
    area = {framing: sum((load(tmp_path / framing / 'test' / 'truth' / m)[0]
                          > 127).mean() for m in masks)
            for framing in synthetic.FRAMINGS}
    assert 1.6 < area["thigh"] / area["full"] < 2.6


def test_framing_keeps_the_person_and_refuses_unknown_ones():
    rng = numpy.random.default_rng(1)
    human = synthetic.sample_human(rng)
    assert synthetic.frame(human, 'full') == human
    thigh = synthetic.frame(human, 'thigh')
    assert thigh.scale > human.scale and thigh.top < human.top
    assert (dataclasses.replace(thigh, scale=human.scale, top=human.top)
            == human)
    for bad in ('waist', None, 3):
        with pytest.raises(CaganError, match='framing must be one of'):
            synthetic.frame(human, bad)
    with pytest.raises(CaganError, match='framing'):
        synthetic.write_dataset('/nonexistent/never', 2, framing='knee')


def within(value, low_high):
    return low_high[0] <= value <= low_high[1]


def test_catalogue_style_draws_within_its_ranges():
    """Studio photos: a light plain backdrop (at most a faint gradient), a
    centred standing model, arms down or at the hips, nearly the same zoom
    and placement; the default is the street look (the same draws as
    before styles existed)."""
    style = synthetic.STYLES['catalogue']
    rng = numpy.random.default_rng(7)
    humans = [synthetic.sample_human(rng, style='catalogue')
              for _ in range(200)]
    for h in humans:
        assert h.background in ('plain', 'vertical')
        top, bottom, _ = h.background_colours
        _, sat, val = colorsys.rgb_to_hsv(*top)
        assert within(sat, style.background_saturation)
        assert within(val, style.background_value)
        ratios = [b / t for b, t in zip(bottom, top)]
        assert max(ratios) - min(ratios) < 1e-9   # one faint darkening
        assert within(ratios[0], style.gradient)
        assert h.arm_pose in ('down', 'hips', 'hip-down')
        assert max(abs(j) for j in h.arm_jitter) <= style.arm_jitter
        assert within(h.stance, style.stance)
        assert within(h.scale, style.scale)
        assert abs(h.centre - 0.5) <= style.centre
        assert within(h.top, style.top)
    # Drawn over the whole range, not stuck at one value.
    assert {h.arm_pose for h in humans} == {'down', 'hips', 'hip-down'}
    assert {h.background for h in humans} == {'plain', 'vertical'}
    assert numpy.ptp([h.scale for h in humans]) > 0.8 * numpy.ptp(style.scale)
    # Flags are still drawn at their rates when not given.
    assert 0 < sum(h.back_view for h in humans) < 40
    street = [synthetic.sample_human(numpy.random.default_rng(k))
              for k in range(3)]
    assert street == [synthetic.sample_human(numpy.random.default_rng(k),
                                             style='street')
                      for k in range(3)]
    for bad in ('studio', None):
        with pytest.raises(CaganError, match='style must be one of'):
            synthetic.sample_human(rng, style=bad)


def test_catalogue_photos_have_a_light_even_backdrop(tmp_path):
    result = synthetic.write_dataset(tmp_path / 'set', 8, SIZE, seed=1,
                                     test_pairs=0, val_pairs=0,
                                     style='catalogue')
    for pair, _, _ in result.train:
        x, _ = load(tmp_path / 'set' / 'humans' / pair.human)
        # The two top corners: the backdrop, light and grey-ish.
        corners = numpy.concatenate([x[:4, :4], x[:4, -4:]]).reshape(-1, 3)
        assert corners.min() > 190
        assert numpy.ptp(corners.astype(int), axis=1).max() < 20
        # Centred: the figure's columns balance about the middle.
        figure = (numpy.abs(x.astype(int) - x[0, 0]).sum(axis=2) > 40)
        cols = numpy.flatnonzero(figure.any(axis=0))
        assert abs((cols[0] + cols[-1]) / 2 - SIZE[1] / 2) < 0.1 * SIZE[1]


def test_training_truth_can_be_left_out(tmp_path):
    out = tmp_path / 'set'
    with_truth = synthetic.write_dataset(out, 6, (32, 32), seed=1,
                                         test_pairs=2, val_pairs=2)
    assert (out / 'truth.txt').is_file()
    result = synthetic.write_dataset(out, 6, (32, 32), seed=1, test_pairs=2,
                                     val_pairs=2, train_truth=False)
    # The list goes (the images stay, named by nothing); the rest is the
    # same.
    assert not (out / 'truth.txt').exists() and result.train_truth == []
    assert result.train == with_truth.train and result.val == with_truth.val
    # One pair has no other article to wear: no swap, no list.
    one = synthetic.write_dataset(tmp_path / 'one', 1, (32, 32),
                                  test_pairs=0, val_pairs=0)
    assert one.train_truth == [] and not (tmp_path / 'one' /
                                          'truth.txt').exists()


def test_items_do_not_depend_on_the_count(tmp_path):
    """A longer run starts with the pairs of a shorter one."""
    short = synthetic.write_dataset(tmp_path / 's', 20, (32, 32), seed=2,
                                    test_pairs=2, val_pairs=2)
    long = synthetic.write_dataset(tmp_path / 'l', 40, (32, 32), seed=2,
                                   test_pairs=2, val_pairs=2)
    assert long.train[:20] == short.train


def test_interrupted_run_leaves_no_list(tmp_path, monkeypatch):
    out = tmp_path / 'set'
    synthetic.write_dataset(out, 10, (32, 32), seed=1, test_pairs=2,
                            val_pairs=2)
    assert (out / 'pairs.txt').exists() and (out / 'truth.txt').exists()
    calls = []
    real = writing._draw_human

    def failing(*args):
        calls.append(1)
        if len(calls) > 12:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(writing, '_draw_human', failing)
    with pytest.raises(KeyboardInterrupt):
        synthetic.write_dataset(out, 10, (32, 32), seed=9, test_pairs=2,
                                val_pairs=2)
    # The old lists are gone (they would name new images), no new one yet
    # (the held-out splits, written first, are whole), and no temporary
    # file is left behind.
    assert not (out / 'pairs.txt').exists()
    assert not (out / 'truth.txt').exists()
    left = [n for base, _, names in os.walk(out) for n in names
            if n.startswith('.')]
    assert not left


def test_bad_arguments_are_refused(tmp_path):
    (tmp_path / 'file').write_text('x')
    for kwargs in ({'pairs': 0}, {'pairs': -3}, {'pairs': 2.5},
                   {'pairs': 5, 'test_pairs': 1}, {'pairs': 5, 'seed': -1},
                   {'pairs': 5, 'val_pairs': 1}, {'pairs': 5, 'val_pairs': -2},
                   {'pairs': 5, 'style': 'studio'},
                   {'pairs': 5, 'size': (10, 10)}):
        with pytest.raises(CaganError):
            synthetic.write_dataset(tmp_path / 'x', **kwargs)
    with pytest.raises(CaganError, match='not a folder'):
        synthetic.write_dataset(tmp_path / 'file', 5)


def test_png_files_read_back_as_their_arrays(rng):
    image = rng.integers(0, 256, (7, 5, 3), dtype=numpy.uint8)
    mask = rng.random((7, 5)) < 0.5
    for array, mode, want in ((image, 'RGB', image),
                              (mask, 'L', mask * numpy.uint8(255))):
        with Image.open(io.BytesIO(png.png_bytes(array))) as im:
            assert im.format == 'PNG' and im.mode == mode
            assert numpy.array_equal(numpy.asarray(im), want)


# --------------------------------------------------------------------------
# The command line


def run_script(*args):
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, 'scripts', 'make_synthetic.py')] +
        list(args), capture_output=True, text=True, cwd=ROOT)


def test_script_writes_a_dataset(tmp_path):
    out = tmp_path / 'set'
    done = run_script('--out', str(out), '--pairs', '6', '--size', '32x32',
                      '--test', '2', '--val', '3', '--seed', '4',
                      '--style', 'catalogue')
    assert done.returncode == 0, done.stderr
    assert 'pairs/s' in done.stdout and str(out / 'pairs.txt') in done.stdout
    assert 'catalogue style' in done.stdout
    assert str(out / 'truth.txt') in done.stdout
    assert len(read_pairs(out / 'pairs.txt')) == 6
    assert len(read_pairs(out / 'test' / 'pairs.txt')) == 2
    assert len(read_pairs(out / 'val' / 'pairs.txt')) == 3
    done = run_script('--out', str(tmp_path / 'bare'), '--pairs', '4',
                      '--size', '32x32', '--test', '0', '--val', '0',
                      '--no-train-truth')
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(tmp_path / 'bare')) == ['articles', 'humans',
                                                     'pairs.txt']


@pytest.mark.parametrize('args', [
    ('--pairs', '5', '--size', '32'),
    ('--pairs', '5', '--size', 'axb'),
    ('--pairs', '0'),
    ('--pairs', '-2'),
    ('--pairs', 'many'),
    ('--pairs', '5', '--test', '1'),
    ('--pairs', '5', '--val', '1'),
    ('--pairs', '5', '--val', '-1'),
    ('--pairs', '5', '--style', 'studio'),
    ('--pairs', '5', '--seed', '-1'),
    ('--pairs', '5', '--out', 'FILE'),
    ('--pairs', '5', '--framing', 'waist'),
])
def test_script_bad_arguments_give_one_line(tmp_path, args):
    (tmp_path / 'file').write_text('x')
    args = [str(tmp_path / 'file') if a == 'FILE' else a for a in args]
    if '--out' not in args:
        args = ['--out', str(tmp_path / 'set')] + args
    done = run_script(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and 'error' in lines[0], done.stderr
    assert 'Traceback' not in done.stderr
