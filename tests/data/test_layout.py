
import pytest

from cagan.data import layout
from cagan.errors import DataError


def test_pairs_round_trip(tmp_path):
    pairs = [layout.Pair('h0.png', 'a0.png'),
             layout.Pair('h1.png', 'a1.png', frozenset({'back_view',
                                                        'extra_garment'})),
             layout.Pair('h2.png', 'a2.png', dup_of='a0.png')]
    layout.write_pairs(tmp_path / 'pairs.txt', pairs)
    text = (tmp_path / 'pairs.txt').read_text()
    assert 'h1.png a1.png back_view,extra_garment\n' in text
    assert 'h2.png a2.png dup_of=a0.png\n' in text
    again = layout.read_pairs(tmp_path / 'pairs.txt')
    assert [(p.human, p.article, p.flags, p.dup_of) for p in again] == \
        [(p.human, p.article, p.flags, p.dup_of) for p in pairs]
    assert [p.excluded for p in again] == [False, True, False]
    assert again[0].line == 2  # after the header comment


def test_every_malformed_line_is_named(tmp_path):
    (tmp_path / 'pairs.txt').write_text(
        'h0.png a0.png\nh1.png\n\n# comment\nh2.png a2.png sideways\n'
        'h3 a3 b c\n')
    with pytest.raises(DataError) as info:
        layout.read_pairs(tmp_path / 'pairs.txt')
    problems = info.value.problems
    assert len(problems) == 3
    assert problems[0].endswith("pairs.txt:2: expected \"HUMAN ARTICLE "
                                "[FLAGS]\", got 'h1.png'")
    assert "pairs.txt:5: unknown flag 'sideways'" in problems[1]
    assert 'pairs.txt:6:' in problems[2]


def test_missing_and_empty_pairs_files(tmp_path):
    with pytest.raises(DataError, match='no such pairs file'):
        layout.read_pairs(tmp_path / 'pairs.txt')
    (tmp_path / 'pairs.txt').write_text('\n# nothing\n')
    with pytest.raises(DataError, match='no pairs in the file'):
        layout.read_pairs(tmp_path / 'pairs.txt')


def test_check_names_keeps_names_inside_their_folders(tmp_path):
    for sub in ('humans', 'articles'):
        (tmp_path / sub).mkdir()
    (tmp_path / 'humans' / 'h.png').write_bytes(b'')
    (tmp_path / 'humans' / 'same.png').symlink_to('h.png')
    (tmp_path / 'humans' / 'out.png').symlink_to(tmp_path / 'pairs.txt')
    (tmp_path / 'humans' / 'across.png').symlink_to('../articles/a.png')
    pairs_file = tmp_path / 'pairs.txt'
    humans, articles = tmp_path / 'humans', tmp_path / 'articles'
    ok = [(1, 'h.png', humans), (1, 'a.png', articles),
          (2, 'same.png', humans), (2, 'not/yet/there.png', articles)]
    assert layout.check_names(pairs_file, ok) == [f / n for _, n, f in ok]
    with pytest.raises(DataError) as info:
        layout.check_names(pairs_file, ok + [
            (3, 'out.png', humans), (4, 'across.png', humans),
            (5, '..', articles), (6, '.', humans), (7, '/etc', articles)])
    hint = '; names in pairs.txt are files inside humans/ and articles/'
    assert info.value.problems == [
        "{}:3: 'out.png' leaves humans/ (a link to {}){}".format(
            pairs_file, pairs_file, hint),
        "{}:4: 'across.png' leaves humans/ (a link to {}){}".format(
            pairs_file, articles / 'a.png', hint),
        "{}:5: '..' leaves articles/{}".format(pairs_file, hint),
        "{}:6: '.' leaves humans/{}".format(pairs_file, hint),
        "{}:7: '/etc' leaves articles/{}".format(pairs_file, hint)]


def test_a_symlink_loop_is_one_line(tmp_path):
    from tests.data.helpers import make_ours
    from cagan.data import dataset

    root = make_ours(tmp_path)
    (root / 'humans' / 'loop.png').symlink_to('loop.png')
    (root / 'pairs.txt').write_text('h0.png a0.png\nloop.png a1.png\n')
    with pytest.raises(DataError) as info:
        dataset.read_pairs_of(root)
    problem, = info.value.problems
    # Python < 3.13 cannot resolve it; later ones resolve it to itself,
    # which is then missing.
    assert 'loop.png' in problem and '\n' not in problem
