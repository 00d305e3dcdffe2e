"""The synthetic set's people and articles: sampling and rendering
(cagan/data/synthetic/params.py ... render.py).

Tiny images (64x48) keep the whole file fast.
"""

import dataclasses

import numpy
import pytest

from cagan.data import synthetic
from cagan.data.synthetic import render
from cagan.errors import SizeError

SIZE = (64, 48)


def triples(n, seed=7):
    """(human, article_i, article_j), with back views, extra garments and
    bottoms-only articles well represented."""
    for i in range(n):
        rng = numpy.random.default_rng([seed, i])
        human = synthetic.sample_human(rng, back_view=bool(i % 4 == 1),
                                       extra_garment=bool(i % 5 == 2))
        yield (human, synthetic.sample_article(rng),
               synthetic.sample_article(rng, bottoms_only=bool(i % 6 == 3)))


# --------------------------------------------------------------------------
# Sampling and rendering


def test_samples_are_frozen_and_seeded():
    a = synthetic.sample_human(numpy.random.default_rng(1))
    b = synthetic.sample_human(numpy.random.default_rng(1))
    assert a == b and a != synthetic.sample_human(numpy.random.default_rng(2))
    article = synthetic.sample_article(numpy.random.default_rng(1))
    assert article == synthetic.sample_article(numpy.random.default_rng(1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.skin = (0.0, 0.0, 0.0)
    assert all(isinstance(v, float) and 0 <= v <= 1 for v in a.skin)
    assert synthetic.sample_article(numpy.random.default_rng(3),
                                    bottoms_only=True).bottoms_only


@pytest.mark.parametrize('size', [(64, 48), (32, 32), (48, 64)])
def test_shapes_dtypes_and_ranges(size):
    for human, article, _ in triples(4):
        image, mask = synthetic.render_human(human, article, size)
        assert image.shape == size + (3,) and image.dtype == numpy.uint8
        assert mask.shape == size and mask.dtype == numpy.bool_
        photo = synthetic.render_article(article, size)
        assert photo.shape == size + (3,) and photo.dtype == numpy.uint8
        # A product photo: white around the garment, the garment not white.
        assert (photo[0] == 255).all() and (photo[-1] == 255).all()
        assert (photo.min(axis=2) < 200).any()


def test_bad_sizes_are_refused():
    human, article, _ = next(triples(1))
    for size in [(8, 48), (64,), (64.5, 48), 'big']:
        with pytest.raises(SizeError):
            synthetic.render_human(human, article, size)


def test_rendering_is_deterministic():
    for human, article, _ in triples(5):
        a = synthetic.render_human(human, article, SIZE)
        b = synthetic.render_human(human, article, SIZE)
        assert numpy.array_equal(a[0], b[0]) and numpy.array_equal(a[1], b[1])
        assert numpy.array_equal(synthetic.render_article(article, SIZE),
                                 synthetic.render_article(article, SIZE))


@pytest.mark.parametrize('size', [(64, 48), (96, 96)])
def test_a_garment_changes_only_the_pixels_it_covers(size):
    for human, a_i, a_j in triples(60 if size == SIZE else 15):
        x_i, m_i = synthetic.render_human(human, a_i, size)
        x_j, m_j = synthetic.render_human(human, a_j, size)
        assert m_i.any() and m_j.any()
        outside = ~(m_i | m_j)
        assert numpy.array_equal(x_i[outside], x_j[outside])
        # ... and the masks are where the garments are: each article
        # changes something inside its own mask.
        assert (x_i != x_j).any()


def test_the_same_article_looks_the_same_on_any_body():
    """Garment pixels follow the article, not the human: two bodies that
    differ only in skin tone show the same garment colours."""
    rng = numpy.random.default_rng(11)
    human = synthetic.sample_human(rng, back_view=False, extra_garment=False)
    article = dataclasses.replace(synthetic.sample_article(rng),
                                  print='solid')
    dark = dataclasses.replace(human, skin=(0.3, 0.2, 0.15))
    light = dataclasses.replace(human, skin=(0.95, 0.85, 0.8))
    x_d, m_d = synthetic.render_human(dark, article, SIZE)
    x_l, m_l = synthetic.render_human(light, article, SIZE)
    assert numpy.array_equal(m_d, m_l)
    # Fully covered garment pixels away from the arms: the same.
    inner = m_d & numpy.roll(m_d, 1, 0) & numpy.roll(m_d, -1, 0) & \
        numpy.roll(m_d, 1, 1) & numpy.roll(m_d, -1, 1)
    same = (x_d[inner] == x_l[inner]).all(axis=1)
    assert same.mean() > 0.8


def test_bottoms_only_product_shows_only_the_bottom():
    rng = numpy.random.default_rng(5)
    article = synthetic.sample_article(rng, bottoms_only=True)
    whole = dataclasses.replace(article, bottoms_only=False)
    human = synthetic.sample_human(rng, back_view=False, extra_garment=False)
    # The human wears the same set either way ...
    assert numpy.array_equal(synthetic.render_human(human, article, SIZE)[0],
                             synthetic.render_human(human, whole, SIZE)[0])
    # ... the product photo differs.
    assert not numpy.array_equal(synthetic.render_article(article, SIZE),
                                 synthetic.render_article(whole, SIZE))


def test_a_human_drawn_once_is_dressed_like_a_fresh_drawing():
    """The test split draws each human once and dresses it twice (a
    _Figure): the same image and mask as drawing the human afresh, and
    dressing does not change the figure."""
    for size in (SIZE, (128, 96)):
        for human, a_i, a_j in triples(10):
            figure = render._Figure(human, size)
            for article in (a_i, a_j, a_i):
                got = render._draw_human(human, article, size, figure)
                want = synthetic.render_human(human, article, size)
                assert numpy.array_equal(got[0], want[0])
                assert numpy.array_equal(got[1], want[1])


