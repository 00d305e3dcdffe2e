import os

import pytest

from cagan import layout
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


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / 'pairs.txt'
    target.write_text('old\n')

    with pytest.raises(TypeError):  # fails after the temporary file exists
        layout.write_text_atomic(target, 12345)
    assert target.read_text() == 'old\n'
    assert os.listdir(tmp_path) == ['pairs.txt']
