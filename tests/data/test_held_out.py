"""Held-out data (cagan/data/held_out.py): the held-out pairs and their
two pickers, ground truth."""

import numpy
import pytest

from cagan.data import held_out, images
from cagan.errors import DataError
from tests.data.helpers import SIZE, make_ours


def fitted(path):
    return images.to_chw(images.fit(images.load_rgb(path), SIZE)[0])


def with_test_split(root):
    """Six training pairs and, in test/, five pairs of which a1 and a2 are
    one product (a1 dup_of a2)."""
    make_ours(root)
    make_ours(root / 'test', 5, ['h0.png a0.png', 'h1.png a1.png dup_of=a2.png',
                                 'h2.png a2.png', 'h3.png a3.png',
                                 'h4.png a4.png'])
    return root


def test_held_out_records_are_the_test_split_else_the_training_pairs(tmp_path):
    root = make_ours(tmp_path / 'set')
    records, order = held_out.held_out_records(root, 3)
    assert [r.human for r in records] == [root / 'humans' / 'h{}.png'.format(k)
                                          for k in range(6)]
    assert order.tolist() == numpy.random.default_rng(3).permutation(6).tolist()
    with_test_split(root)
    records, order = held_out.held_out_records(root, 3)
    assert [r.human for r in records] == [
        root / 'test' / 'humans' / 'h{}.png'.format(k) for k in range(5)]
    assert order.tolist() == numpy.random.default_rng(3).permutation(5).tolist()


@pytest.mark.parametrize('seed', [0, 1, 2, 3])
def test_preview_shows_the_first_people_in_other_articles(tmp_path, seed):
    root = with_test_split(tmp_path / 'set')
    config = {'data': {'root': root, 'size': SIZE},
              'preview': {'humans': 2, 'articles': 3}}
    x_i, y_i, y_j = held_out.preview_batch(config, seed)
    records, order = held_out.held_out_records(root, seed)
    shown = [records[k] for k in order[:2]]
    assert numpy.array_equal(x_i, [fitted(r.human) for r in shown])
    assert numpy.array_equal(y_i, [fitted(r.article) for r in shown])
    worn = {r.group for r in shown}
    others = [fitted(r.article) for r in records if r.group not in worn]
    assert len(y_j) == min(3, len(others))
    assert all(any(numpy.array_equal(y, o) for o in others) for y in y_j)


def test_held_out_triplets_are_chosen_pairs_in_file_order_unflipped(tmp_path):
    root = with_test_split(tmp_path / 'set')
    x_i, y_i, y_j = held_out.held_out_triplets(root, SIZE, seed=4, limit=3)
    records, order = held_out.held_out_records(root, 4)
    chosen = [records[k] for k in sorted(order[:3])]
    assert numpy.array_equal(x_i, [fitted(r.human) for r in chosen])
    assert numpy.array_equal(y_i, [fitted(r.article) for r in chosen])
    assert y_j.shape == x_i.shape


@pytest.mark.parametrize('name', ['../../outside.png', '/etc/hostname', 'link'])
def test_truth_names_stay_inside_the_test_folder(tmp_path, name):
    test = tmp_path / 'set' / 'test'
    test.mkdir(parents=True)
    (tmp_path / 'outside.png').write_bytes(b'')
    (test / 'link').symlink_to(tmp_path / 'outside.png')
    (test / 'truth.txt').write_text('a.png b.png c.png {} m.png n.png\n'
                                    .format(name))
    with pytest.raises(DataError) as info:
        held_out.read_truth(test / 'truth.txt', SIZE)
    assert info.value.problems == ['{}:1: {!r} leaves {}/{}; names in '
                                   'truth.txt are files inside {}/'.format(
                                       test / 'truth.txt', name, test,
                                       ' (a link to {})'.format(
                                           tmp_path / 'outside.png')
                                       if name == 'link' else '', test)]


def with_val_split(root):
    """:func:`with_test_split` and, in val/, four pairs of their own."""
    with_test_split(root)
    make_ours(root / 'val', 4)
    return root


def test_held_out_records_prefer_val_then_test_then_train(tmp_path):
    root = with_val_split(tmp_path / 'set')
    for split, folder, n in (('val', root / 'val', 4),
                             ('test', root / 'test', 5),
                             ('train', root, 6)):
        records, order = held_out.held_out_records(root, 2, split)
        assert [r.human for r in records] == [
            folder / 'humans' / 'h{}.png'.format(k) for k in range(n)]
        assert sorted(order.tolist()) == list(range(n))
    # The default is val; without val/, test; a split present but broken
    # is reported, not skipped.
    assert held_out.held_out_records(root, 2)[0][0].human.parent.parent.name \
        == 'val'
    (root / 'val' / 'humans' / 'h1.png').unlink()
    with pytest.raises(DataError, match='h1.png: missing'):
        held_out.held_out_records(root, 2)
    (root / 'val' / 'pairs.txt').unlink()
    records, _ = held_out.held_out_records(root, 2)
    assert records[0].human.parent.parent.name == 'test'
    with pytest.raises(ValueError, match='split must be one of'):
        held_out.held_out_records(root, 2, 'valid')


def test_previews_and_triplets_come_from_val(tmp_path):
    root = with_val_split(tmp_path / 'set')
    config = {'data': {'root': root, 'size': SIZE},
              'preview': {'humans': 2, 'articles': 2}}
    val = [fitted(root / 'val' / 'humans' / 'h{}.png'.format(k))
           for k in range(4)]
    for x_i in (held_out.preview_batch(config, 1)[0],
                held_out.held_out_triplets(root, SIZE, seed=1, limit=3)[0]):
        assert all(any(numpy.array_equal(x, v) for v in val) for x in x_i)
    x_i = held_out.held_out_triplets(root, SIZE, seed=1, limit=5,
                                     split='test')[0]
    assert len(x_i) == 5


def write_truth(folder, lines):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / 'truth.txt').write_text('# X_I Y_I Y_J X_IJ MASK_I MASK_J\n' +
                                      ''.join(line + '\n' for line in lines))
    return folder / 'truth.txt'


def test_truth_file_per_split(tmp_path):
    root = with_val_split(tmp_path / 'set')
    for split in ('train', 'val', 'test'):
        assert held_out.truth_file(root, split) is None
    train = write_truth(root, [])
    # A dataset's own truth.txt is its training ground truth: never
    # mistaken for a held-out split's.
    assert held_out.truth_file(root, 'train') == train
    assert held_out.truth_file(root) is None
    assert held_out.truth_file(root, 'val') is None
    val, test = write_truth(root / 'val', []), write_truth(root / 'test', [])
    assert held_out.truth_file(root) == test
    assert held_out.truth_file(root, 'test') == test
    assert held_out.truth_file(root, 'val') == val
    # A held-out split's own folder.
    assert held_out.truth_file(root / 'test') == test
    assert held_out.truth_file(str(root / 'val'), 'val') == val
    with pytest.raises(ValueError, match='split must be one of'):
        held_out.truth_file(root, 'training')


def truth_set(root):
    """Two swaps over make_ours's images, the truth images and masks
    being copies of them (any existing images do for reading)."""
    make_ours(root)
    return write_truth(root, [
        'humans/h0.png articles/a0.png articles/a1.png humans/h1.png '
        'articles/a2.png articles/a3.png',
        'humans/h2.png articles/a2.png articles/a0.png humans/h3.png '
        'articles/a4.png articles/a5.png'])


def test_read_truth_rows_checks_without_loading(tmp_path):
    path = truth_set(tmp_path / 'set')
    root = (tmp_path / 'set').absolute()
    rows = held_out.read_truth_rows(path)
    assert rows[1] == tuple(root / p for p in (
        'humans/h2.png', 'articles/a2.png', 'articles/a0.png',
        'humans/h3.png', 'articles/a4.png', 'articles/a5.png'))
    assert held_out.read_truth_rows(path, limit=1) == rows[:1]
    truth = held_out.read_truth(path, SIZE)
    assert len(truth) == 2 and truth.mask_i.dtype == bool
    assert numpy.array_equal(truth.truth[1], fitted(root / 'humans' / 'h3.png'))
    # Not an image: the rows are still fine, reading the images is not.
    (root / 'articles' / 'a5.png').write_bytes(b'not a png')
    assert held_out.read_truth_rows(path) == rows
    with pytest.raises(DataError, match='a5.png'):
        held_out.read_truth(path, SIZE)


@pytest.mark.parametrize('line, message', [
    ('humans/h0.png articles/a0.png', 'expected X_I Y_I Y_J X_IJ MASK_I '
     'MASK_J'),
    ('humans/h0.png articles/a0.png articles/a1.png humans/h9.png '
     'articles/a2.png articles/a3.png', 'no such file .*h9.png'),
])
def test_bad_truth_rows_give_one_line_each(tmp_path, line, message):
    make_ours(tmp_path / 'set')
    path = write_truth(tmp_path / 'set', [line, line])
    with pytest.raises(DataError, match=message) as info:
        held_out.read_truth_rows(path)
    assert len(info.value.problems) == 2
    assert all('\n' not in p and str(path) in p for p in info.value.problems)
    write_truth(tmp_path / 'set', [])
    with pytest.raises(DataError, match='no swaps listed'):
        held_out.read_truth_rows(path)


def test_read_truth_of_names_what_is_missing(tmp_path):
    root = make_ours(tmp_path / 'set')
    with pytest.raises(DataError) as info:
        held_out.read_truth_of(root)
    assert info.value.problems == [
        '{}: has no training ground truth (truth.txt); the supervised mode '
        'needs data made by scripts/make_synthetic.py'.format(root)]
    with pytest.raises(DataError, match='no ground truth for its val split'):
        held_out.read_truth_of(root, 'val')
    truth_set(tmp_path / 'other')
    assert len(held_out.read_truth_of(tmp_path / 'other')) == 2
