"""Duplicate detection (cagan/data/curation/signatures.py): re-shots are
duplicates, other products are not, groups come in order."""

import numpy
import pytest
from PIL import Image

from cagan.data import curation
from tests.data.curation_images import (BLACK, BLUE, GREEN, ORANGE, RED, article,
                                        brighter, rejpeg)


def two_tone(bottom=(246, 246, 246)):
    """A red top over a near-white bottom, on white."""
    im = article(RED, ('top',), bg=(255, 255, 255))
    bottom_only = article(bottom, ('bottom',), bg=(255, 255, 255))
    return Image.fromarray(numpy.minimum(numpy.asarray(im), numpy.asarray(bottom_only)))


@pytest.mark.parametrize('name, make_a, make_b', [
    ('exact', lambda: article(RED), lambda: article(RED)),
    ('shifted', lambda: article(RED), lambda: article(RED, shift=(5, -4))),
    ('zoomed, other canvas', lambda: article(RED),
     lambda: article(RED, size=(120, 110), scale=0.9)),
    ('smaller', lambda: article(RED), lambda: article(RED, scale=0.85, shift=(-3, 2))),
    ('resized photo', lambda: article(RED),
     lambda: article(RED).resize((100, 120), Image.Resampling.LANCZOS)),
    ('brighter', lambda: article(RED), lambda: brighter(article(RED), 1.1)),
    ('darker', lambda: article(RED), lambda: brighter(article(RED), 0.9)),
    ('jpeg', lambda: article(RED), lambda: rejpeg(article(RED), 60)),
    ('everything', lambda: article(RED),
     lambda: rejpeg(brighter(article(RED, shift=(3, 2), scale=1.1), 1.08), 75)),
    # A brighter re-shot on white: the near-white bottom fades away.
    ('light part fades', two_tone, lambda: brighter(two_tone(), 1.03)),
])
def test_reshots_are_duplicates(name, make_a, make_b):
    a, b = curation.image_signature(make_a()), curation.image_signature(make_b())
    shape, colour = curation.distances(a, b)
    assert shape <= curation.DEFAULT_SHAPE_DISTANCE / 2
    assert colour <= curation.DEFAULT_COLOUR_DISTANCE


@pytest.mark.parametrize('name, make', [
    ('blue', lambda: article(BLUE)),
    ('orange', lambda: article(ORANGE)),
    ('dark red', lambda: article((150, 22, 30))),
    ('black', lambda: article(BLACK)),
    ('stripes', lambda: article(RED, stripes=(255, 255, 255))),
    ('bikini', lambda: article(RED, ('top', 'bottom'))),
    ('halter', lambda: article(RED, ('halter',))),
])
def test_other_products_are_not_duplicates(name, make):
    a, b = curation.image_signature(article(RED)), curation.image_signature(make())
    shape, colour = curation.distances(a, b)
    assert shape > curation.DEFAULT_SHAPE_DISTANCE or colour > curation.DEFAULT_COLOUR_DISTANCE


def test_a_light_part_of_another_colour_is_another_product():
    a = curation.image_signature(two_tone())
    b = curation.image_signature(two_tone((200, 225, 250)))
    assert curation.distances(a, b)[1] > curation.DEFAULT_COLOUR_DISTANCE


def test_find_duplicates_groups_in_order():
    ims = [article(RED), article(BLUE), rejpeg(article(BLUE)), article(RED, shift=(3, 3)),
           article(GREEN, ('halter',))]
    names = ['r', 'b', 'b2', 'r2', 'g']
    groups, links, near = curation.find_duplicates(
        names, [curation.image_signature(i) for i in ims],
        curation.DEFAULT_SHAPE_DISTANCE, curation.DEFAULT_COLOUR_DISTANCE)
    assert groups == [['r', 'r2'], ['b', 'b2']]
    assert {(l.a, l.b) for l in links} == {('r', 'r2'), ('b', 'b2')}
    assert all(l.shape >= 0 and l.colour >= 0 for l in links + near)
