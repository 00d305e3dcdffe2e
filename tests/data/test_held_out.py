"""Held-out data (cagan/data/held_out.py): the held-out pairs and their
two pickers, ground truth."""

import numpy
import pytest

from cagan.data import held_out, images
from cagan.errors import DataError
from tests.data.test_dataset import SIZE, make_ours


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
