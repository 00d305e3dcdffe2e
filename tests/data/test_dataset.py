import chainer
import numpy
import pytest

from cagan.data import dataset
from cagan.errors import DataError
from tests.data.helpers import (ESCAPES, SIZE, distinct, make_ours, outside,
                                save, with_escape)


def cached_images(ds):
    """Each pair's fitted x_i and y_i as CHW floats, unflipped."""
    return ([dataset.images.to_chw(ds._humans[h]) for h in ds._pair_human],
            [dataset.images.to_chw(ds._articles[a]) for a in ds._pair_article])


def test_triplets_have_the_conventions(tmp_path):
    ds = dataset.TripletDataset(dataset.read_pairs_of(make_ours(tmp_path)),
                                SIZE, seed=0)
    assert len(ds) == 6
    for triplet in (ds[0], ds[17]):
        assert len(triplet) == 3
        for a in triplet:
            assert a.shape == (3,) + SIZE and a.dtype == numpy.float32
            assert 0 <= a.min() and a.max() <= 1


def test_y_j_is_never_y_i_nor_a_known_duplicate(tmp_path):
    lines = ['h0.png a0.png', 'h1.png a1.png dup_of=a0.png', 'h2.png a0.png',
             'h3.png a3.png', 'h4.png a4.png dup_of=a3.png', 'h5.png a5.png']
    ds = dataset.TripletDataset(
        dataset.read_pairs_of(make_ours(tmp_path, lines=lines)), SIZE, seed=0,
        flip=False)
    _, articles = cached_images(ds)
    group_of = {0: 'A', 1: 'A', 2: 'A', 3: 'B', 4: 'B', 5: 'C'}
    seen = set()
    for index in range(600):
        i = index % 6
        y_j = ds[index][2]
        matches = [k for k in range(6) if numpy.array_equal(articles[k], y_j)]
        assert matches, 'y_j is not one of the articles'
        assert all(group_of[k] != group_of[i] for k in matches)
        seen.update(group_of[k] for k in matches)
    assert seen == {'A', 'B', 'C'}


def test_flip_is_joint_for_x_i_and_y_i(tmp_path):
    ds = dataset.TripletDataset(dataset.read_pairs_of(make_ours(tmp_path)),
                                SIZE, seed=3, flip=True)
    humans, articles = cached_images(ds)
    flipped = 0
    for index in range(120):
        i = index % 6
        x_i, y_i, _ = ds[index]
        if numpy.array_equal(x_i, humans[i]):
            numpy.testing.assert_array_equal(y_i, articles[i])
        else:
            numpy.testing.assert_array_equal(x_i, humans[i][:, :, ::-1])
            numpy.testing.assert_array_equal(y_i, articles[i][:, :, ::-1])
            flipped += 1
    assert 30 < flipped < 90


def test_deterministic_given_the_seed(tmp_path):
    records = dataset.read_pairs_of(make_ours(tmp_path))
    a, b, c = (dataset.TripletDataset(records, SIZE, seed=s) for s in (1, 1, 2))
    for index in range(12):
        for x, y in zip(a[index], b[index]):
            numpy.testing.assert_array_equal(x, y)
    assert any(not numpy.array_equal(a[k][2], c[k][2]) for k in range(12))


def test_flagged_pairs_are_skipped_unless_asked(tmp_path):
    lines = ['h0.png a0.png', 'h1.png a1.png back_view',
             'h2.png a2.png extra_garment,bottoms_only', 'h3.png a3.png']
    root = make_ours(tmp_path, n=4, lines=lines)
    assert [r.human.name for r in dataset.read_pairs_of(root)] == \
        ['h0.png', 'h3.png']
    assert len(dataset.read_pairs_of(root, skip_flagged=False)) == 4


def test_test_split_of_our_layout(tmp_path):
    make_ours(tmp_path)
    make_ours(tmp_path / 'test', n=3)
    assert len(dataset.read_pairs_of(tmp_path, split='test')) == 3


def make_viton_hd(root):
    """VITON-HD as it is distributed: test pairs are unpaired on purpose."""
    for split, n in (('train', 4), ('test', 3)):
        names = ['{:05d}_00.jpg'.format(k) for k in range(n)]
        for k, name in enumerate(names):
            save(root / split / 'image' / name, distinct(10 * k))
            save(root / split / 'cloth' / name, distinct(10 * k + 1))
        pairs = [(names[k], names[k] if split == 'train' else
                  names[(k + 1) % n]) for k in range(n)]
        (root / '{}_pairs.txt'.format(split)).write_text(
            ''.join('{} {}\n'.format(*p) for p in pairs))
    return root


def test_viton_hd_layout_is_read_as_it_is(tmp_path):
    root = make_viton_hd(tmp_path)
    assert dataset.detect_layout(root) == 'viton'
    train = dataset.read_pairs_of(root)
    assert [(r.human.name, r.article.name) for r in train] == \
        [('{:05d}_00.jpg'.format(k),) * 2 for k in range(4)]
    assert train[0].human.parent == root / 'train' / 'image'
    assert train[0].article.parent == root / 'train' / 'cloth'
    # Unpaired test lines: the worn article is still the person's own cloth.
    test = dataset.read_pairs_of(root, split='test')
    assert all(r.human.name == r.article.name for r in test)
    ds = dataset.TripletDataset(train, SIZE)
    assert ds[0][0].shape == (3,) + SIZE


def test_original_viton_naming_uses_the_listed_cloth(tmp_path):
    for k in range(3):
        save(tmp_path / 'train' / 'image' / '{:06d}_0.jpg'.format(k),
             distinct(k))
        save(tmp_path / 'train' / 'cloth' / '{:06d}_1.jpg'.format(k),
             distinct(k + 5))
    (tmp_path / 'train_pairs.txt').write_text(''.join(
        '{0:06d}_0.jpg {0:06d}_1.jpg\n'.format(k) for k in range(3)))
    records = dataset.read_pairs_of(tmp_path)
    assert [r.article.name for r in records] == \
        ['{:06d}_1.jpg'.format(k) for k in range(3)]


def with_pairs(text):
    def breakage(root):
        (root / 'pairs.txt').write_text(text)
        return root
    return breakage


def without_pairs(root):
    (root / 'pairs.txt').unlink()
    return root


@pytest.mark.parametrize('breakage, words', [
    (lambda r: r / 'nothing', ['no such dataset folder']),
    (without_pairs, ['neither our layout']),
    (with_pairs('# only a comment\n'), ['no pairs in the file']),
    (with_pairs('h0.png a0.png\nh9.png a0.png\nh1.png a8.png\n'),
     ['a8.png: missing (article', 'h9.png: missing (human']),
    (with_pairs('h0.png a0.png\nh1.png a0.png\n'), ['same article']),
    (with_pairs('h0.png a0.png back_view\nh1.png a1.png bottoms_only\n'),
     ['all are flagged']),
    (with_pairs('h0.png a0.png\nh1.png\n'), ['pairs.txt:2: expected']),
])
def test_bad_data_is_reported_one_line_per_problem(tmp_path, breakage, words):
    root = breakage(make_ours(tmp_path))
    with pytest.raises(DataError) as info:
        dataset.read_pairs_of(root)
    assert len(info.value.problems) == len(words)
    for problem, word in zip(info.value.problems, words):
        assert word in problem and '\n' not in problem


def test_unreadable_images_are_all_named_before_training(tmp_path):
    root = make_ours(tmp_path)
    (root / 'humans' / 'h2.png').write_bytes(b'not a png')
    (root / 'articles' / 'a4.png').write_bytes(b'')
    with pytest.raises(DataError) as info:
        dataset.TripletDataset(dataset.read_pairs_of(root), SIZE)
    assert len(info.value.problems) == 2
    assert 'h2.png' in info.value.problems[1] or 'h2.png' in info.value.problems[0]


def batches(iterator, k):
    return [iterator.next() for _ in range(k)]


def assert_same_batches(a, b):
    assert len(a) == len(b)
    for batch_a, batch_b in zip(a, b):
        for ta, tb in zip(batch_a, batch_b):
            for x, y in zip(ta, tb):
                numpy.testing.assert_array_equal(x, y)


def test_orders_change_every_epoch_and_resume_exactly(tmp_path):
    ds = dataset.TripletDataset(dataset.read_pairs_of(make_ours(tmp_path)),
                                SIZE, seed=0)
    full = batches(dataset.make_iterator(ds, 4, seed=7), 9)  # 6 epochs
    first = dataset.make_iterator(ds, 4, seed=7)
    head = batches(first, 4)
    saved = {}
    chainer.serializers.DictionarySerializer(saved).save(first)
    resumed = dataset.make_iterator(ds, 4, seed=7)
    chainer.serializers.NpzDeserializer(saved).load(resumed)
    assert_same_batches(head + batches(resumed, 5), full)
    epoch1 = dataset.EpochOrderSampler(7)(numpy.arange(6), 0)
    epoch2 = dataset.EpochOrderSampler(7)(epoch1, 6)
    assert sorted(epoch1 % 6) == sorted(epoch2 % 6) == list(range(6))
    assert list(epoch1 // 6) == [1] * 6 and list(epoch2 // 6) == [2] * 6


def test_multiprocess_iterator_gives_the_same_batches(tmp_path):
    ds = dataset.TripletDataset(dataset.read_pairs_of(make_ours(tmp_path)),
                                SIZE, seed=0)
    serial = batches(dataset.make_iterator(ds, 4, seed=1), 4)
    iterator = dataset.make_iterator(ds, 4, seed=1, n_processes=2)
    try:
        parallel = batches(iterator, 4)
    finally:
        iterator.finalize()
    assert_same_batches(parallel, serial)


def test_worn_article_dropout_flags_examples_deterministically(tmp_path):
    records = dataset.read_pairs_of(make_ours(tmp_path, n=6))
    plain = dataset.TripletDataset(records, SIZE, seed=3)
    dropped = dataset.TripletDataset(records, SIZE, seed=3, worn_dropout=0.5)
    flags = []
    for index in range(60):
        a, b = plain[index], dropped[index]
        assert len(a) == 3 and len(b) == 4
        for u, v in zip(a, b):  # the triplet itself is unchanged
            numpy.testing.assert_array_equal(u, v)
        assert b[3].dtype == numpy.float32 and b[3].shape == ()
        flags.append(float(b[3]))
        numpy.testing.assert_array_equal(dropped[index][3], b[3])
    assert set(flags) == {0.0, 1.0} and 15 < flags.count(0.0) < 45
    assert all(len(dataset.TripletDataset(records, SIZE, worn_dropout=1.0)[k])
               == 4 and float(dataset.TripletDataset(
                   records, SIZE, worn_dropout=1.0)[k][3]) == 0
               for k in range(3))


# ------------------------------------------- names that leave their folder

@pytest.mark.parametrize('folder', ['humans', 'articles'])
@pytest.mark.parametrize('how', sorted(ESCAPES))
def test_names_that_leave_their_folder_are_refused(tmp_path, how, folder):
    root, name = with_escape(tmp_path, how, folder)
    with pytest.raises(DataError) as info:
        dataset.read_pairs_of(root)
    link = (' (a link to {})'.format(outside(root)) if how == 'symlink'
            else '')
    assert info.value.problems == [
        '{}:3: {!r} leaves {}/{}; names in pairs.txt are files inside '
        'humans/ and articles/'.format(root / 'pairs.txt', name, folder, link)]


def test_a_flagged_line_may_not_leave_either(tmp_path):
    root, _ = with_escape(tmp_path, '..', flags='back_view')
    with pytest.raises(DataError, match='pairs.txt:3:'):
        dataset.read_pairs_of(root)


def test_every_line_that_leaves_is_named(tmp_path):
    root = make_ours(tmp_path / 'data')
    outside(root)
    (root / 'pairs.txt').write_text(
        'h0.png a0.png\n../../secret.png a1.png\nh2.png /etc/hostname\n'
        'h3.png ../humans/h3.png\n')
    with pytest.raises(DataError) as info:
        dataset.read_pairs_of(root)
    assert [p.split(': ')[0] for p in info.value.problems] == [
        '{}:{}'.format(root / 'pairs.txt', n) for n in (2, 3, 4)]
    assert all('\n' not in p for p in info.value.problems)


def test_links_inside_the_folder_are_fine(tmp_path):
    root = make_ours(tmp_path / 'data')
    (root / 'humans' / 'again.png').symlink_to('h0.png')
    (root / 'humans' / 'sub').mkdir()
    (root / 'humans' / 'sub' / 'deep.png').symlink_to(
        (root / 'humans' / 'h1.png').resolve())
    # A folder that is itself a link: its files are inside it.
    (root / 'articles').rename(tmp_path / 'elsewhere')
    (root / 'articles').symlink_to(tmp_path / 'elsewhere')
    (root / 'pairs.txt').write_text('again.png a0.png\n'
                                    'sub/deep.png a1.png\nh2.png a2.png\n')
    records = dataset.read_pairs_of(root)
    # Paths as written, not resolved.
    assert [r.human for r in records] == [
        root / 'humans' / 'again.png', root / 'humans' / 'sub' / 'deep.png',
        root / 'humans' / 'h2.png']
    ds = dataset.TripletDataset(records, SIZE, flip=False)
    assert len(ds) == 3
    humans, _ = cached_images(ds)
    again = dataset.TripletDataset(
        dataset.read_pairs_of(make_ours(tmp_path / 'plain', n=3)), SIZE,
        flip=False)
    # again.png is h0.png, deep.png is h1.png.
    for mine, plain in zip(humans, cached_images(again)[0]):
        numpy.testing.assert_array_equal(mine, plain)


@pytest.mark.parametrize('how', sorted(ESCAPES))
@pytest.mark.parametrize('column', ['image', 'cloth'])
def test_viton_names_that_leave_their_folder_are_refused(tmp_path, how,
                                                         column):
    root = make_viton_hd(tmp_path / 'data')
    name = ESCAPES[how](root, 'train/' + column)
    pair = (name, '00001_00.jpg') if column == 'image' else (
        '00001_00.jpg', name)
    if column == 'cloth':
        # The person's own cloth would be taken instead of the listed one.
        (root / 'train' / 'cloth' / '00001_00.jpg').unlink()
    (root / 'train_pairs.txt').write_text(
        '00000_00.jpg 00000_00.jpg\n\n{} {}\n'.format(*pair))
    with pytest.raises(DataError) as info:
        dataset.read_pairs_of(root)
    problem, = info.value.problems
    assert problem.startswith('{}:3: {!r} leaves train/{}/'.format(
        root / 'train_pairs.txt', name, column))
    assert problem.endswith('names in train_pairs.txt are files inside '
                            'train/image/ and train/cloth/')


def test_viton_own_cloth_that_leaves_is_refused(tmp_path):
    root = make_viton_hd(tmp_path / 'data')
    own = root / 'train' / 'cloth' / '00001_00.jpg'
    own.unlink()
    own.symlink_to(outside(root))
    with pytest.raises(DataError) as info:
        dataset.read_pairs_of(root)
    problem, = info.value.problems
    assert problem.startswith("{}:2: '00001_00.jpg' leaves train/cloth/ "
                              "(a link to".format(root / 'train_pairs.txt'))


def test_images_over_the_pixel_limit_are_named_before_training(
        tmp_path, monkeypatch):
    root = make_ours(tmp_path)
    save(root / 'humans' / 'h1.png', distinct(2, (60, 50)))
    save(root / 'articles' / 'a4.png', distinct(9, (50, 60)))
    monkeypatch.setenv('CAGAN_MAX_PIXELS', '2999')
    with pytest.raises(DataError) as info:
        dataset.TripletDataset(dataset.read_pairs_of(root), SIZE)
    assert sorted(info.value.problems) == sorted(
        '{}: {} pixels (3000) is over the limit of 2999 pixels; set '
        'CAGAN_MAX_PIXELS to a larger number to read it'.format(path, size)
        for path, size in ((root / 'humans' / 'h1.png', '60x50'),
                           (root / 'articles' / 'a4.png', '50x60')))
    monkeypatch.setenv('CAGAN_MAX_PIXELS', '3000')
    assert len(dataset.TripletDataset(dataset.read_pairs_of(root), SIZE)) == 6


def truth_rows(root):
    """Three swaps over make_ours's images (any image stands for x_ij),
    as read_truth_rows gives them (masks unused here)."""
    make_ours(root)
    return [tuple(root / p for p in row) for row in (
        ('humans/h0.png', 'articles/a0.png', 'articles/a1.png',
         'humans/h1.png', 'articles/a0.png', 'articles/a1.png'),
        ('humans/h2.png', 'articles/a2.png', 'articles/a0.png',
         'humans/h3.png', 'articles/a2.png', 'articles/a0.png'),
        ('humans/h4.png', 'articles/a4.png', 'articles/a5.png',
         'humans/h5.png', 'articles/a4.png', 'articles/a5.png'))]


def test_truth_dataset_gives_the_four_images_fitted(tmp_path):
    rows = truth_rows(tmp_path)
    ds = dataset.TruthDataset(rows, SIZE, flip=False, decode_threads=1)
    assert len(ds) == 3
    for index in (1, 4):          # the same row in epochs 0 and 1
        example = ds[index]
        assert len(example) == 4
        for got, path in zip(example, rows[1]):
            assert got.shape == (3,) + SIZE and got.dtype == numpy.float32
            assert 0 <= got.min() and got.max() <= 1
            numpy.testing.assert_array_equal(got, dataset.images.to_chw(
                dataset.images.fit(dataset.images.load_rgb(path), SIZE)[0]))


def test_truth_dataset_flips_all_four_together(tmp_path):
    rows = truth_rows(tmp_path)
    plain = dataset.TruthDataset(rows, SIZE, flip=False)
    ds = dataset.TruthDataset(rows, SIZE, seed=5, flip=True)
    again = dataset.TruthDataset(rows, SIZE, seed=5, flip=True)
    flipped = 0
    for index in range(60):
        want = plain[index % 3]
        got = ds[index]
        if numpy.array_equal(got[0], want[0]):
            for g, w in zip(got, want):
                numpy.testing.assert_array_equal(g, w)
        else:
            for g, w in zip(got, want):
                numpy.testing.assert_array_equal(g, w[:, :, ::-1])
            flipped += 1
        # Deterministic: the same seed gives the same flips.
        for g, a in zip(got, again[index]):
            numpy.testing.assert_array_equal(g, a)
    assert 15 < flipped < 45
    other = dataset.TruthDataset(rows, SIZE, seed=6)
    assert any(not numpy.array_equal(ds[k][0], other[k][0])
               for k in range(30))


def test_truth_dataset_refuses_nothing_and_unreadable_images(tmp_path):
    rows = truth_rows(tmp_path)
    with pytest.raises(DataError, match='no ground-truth swaps'):
        dataset.TruthDataset([], SIZE)
    (tmp_path / 'humans' / 'h3.png').write_bytes(b'broken')
    with pytest.raises(DataError) as info:
        dataset.TruthDataset(rows, SIZE)
    assert len(info.value.problems) == 1 and 'h3.png' in info.value.problems[0]


def test_val_split_of_our_layout_and_bad_splits(tmp_path):
    make_ours(tmp_path)
    make_ours(tmp_path / 'val', n=4)
    assert len(dataset.read_pairs_of(tmp_path, split='val')) == 4
    with pytest.raises(ValueError, match='split must be one of train, val, '
                       'test'):
        dataset.read_pairs_of(tmp_path, split='dev')
