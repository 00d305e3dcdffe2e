"""Contact sheets (cagan/data/curation/sheets.py); the curation's own
sheets are checked with its output in test_curation.py."""

import numpy
import pytest

from cagan.data import curation
from cagan.data.curation import sheets
from tests.data.curation_images import BLUE, GREEN, ORANGE, RED, article, human


def test_contact_sheet_draws_groups_and_placeholders():
    rows = [[human((90, 90, 200), (200, 150, 120), RED), article(RED)],
            [article(BLUE).convert('RGBA'), 'missing'],
            [article(GREEN).convert('P'), article(ORANGE)]]
    sheet = curation.contact_sheet(rows, ['one', 'two\nwhy', 'three'], cell_size=(40, 30),
                                   columns=2, title='t')
    assert sheet.mode == 'RGB'
    assert sheet.width == 6 + 2 * (2 * 30 + 2 + 6)
    a = numpy.asarray(sheet)
    assert (a < 250).any() and (a == 255).any()
    with pytest.raises(ValueError):
        curation.contact_sheet(rows, ['one'])


def test_a_sheet_shows_any_size_and_words_for_what_it_cannot_show(tmp_path):
    (tmp_path / 'articles').mkdir()
    article(RED, size=(6, 5)).save(tmp_path / 'articles' / 'tiny.png')
    (tmp_path / 'articles' / 'junk.png').write_bytes(b'not a png')
    bad = {('articles', 'tiny.png'): 'too small (6x5 < 32x32)',
           ('articles', 'gone.png'): 'missing',
           ('articles', 'junk.png'): 'not a colour image (mode L)'}
    tiny = sheets._sheet_image(tmp_path, 'articles', 'tiny.png', bad)
    assert tiny.mode == 'RGB' and tiny.size == (5, 6)
    assert sheets._sheet_image(tmp_path, 'articles', 'gone.png', bad) == 'missing'
    assert sheets._sheet_image(tmp_path, 'articles', 'junk.png', bad) == 'unreadable'
