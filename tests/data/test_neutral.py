import numpy

from cagan.data import neutral


def test_the_neutral_article_is_grey():
    grey = neutral.neutral_article((5, 4))
    assert grey.shape == (3, 5, 4) and grey.dtype == numpy.float32
    assert (grey == neutral.NEUTRAL_GREY).all()
