"""Procedural synthetic swimwear data with ground truth.

No real try-on photos ship with cagan, so its default data is drawn here:
stylised front-facing (or turned-away) people wearing bikinis and one-piece
swimsuits, and flat product photos of the same articles.  Because every image
is rendered from a few parameters, the true image of ANY human wearing ANY
article is known, which gives the validation and test splits, and the
training pairs, their ground truth.

* :func:`sample_human` / :func:`sample_article` draw small frozen dataclasses
  (:class:`Human`, :class:`Article`) from a ``numpy.random.Generator``;
  the people in one of :data:`STYLES` (``'street'``: anywhere, any pose;
  ``'catalogue'``: a shop's studio photos).
* :func:`render_article` draws an article flat on white (the product photo,
  ``y``); :func:`render_human` draws a human wearing an article (``x``) and the
  mask of the visible garment.
* :func:`write_dataset` writes the layout of ``data/README.md``, planting the
  cases the reference article's data had to filter (flagged in ``pairs.txt``), with the
  figures framed head to feet or, as in the CAGAN paper's shop photos, head
  to mid-thigh (:data:`FRAMINGS`).

How the ground truth stays exact: a human is painted in layers (background,
hair behind, skin, garment, then arms, hair and extra clothes on top).  The
body under the garment and every layer above it depend only on the human, and
each layer is blended as ``old * (1 - a) + new * a``, which leaves a pixel
bit-for-bit unchanged where ``a == 0`` and replaces it exactly where
``a == 1``.  So a garment changes only pixels where its visible coverage is
non-zero, which is its mask.  Garments are defined in body coordinates
(``U`` across the torso, 0 at the centre line and +-1 at the body's outline;
``V`` down it, 0 at the shoulder line and 1 at the crotch) and their prints
in garment coordinates, so the same article looks the same on any body.

Determinism: every random draw comes from a generator made for one item
(``numpy.random.default_rng([seed, stream, index])``), pixels are computed in
float32 with plain arithmetic, and PNGs are written with fixed options and no
timestamps, so the same seed gives byte-identical files (with the same NumPy
and Pillow).

Speed: NumPy's cost per call, not per pixel, dominates at 128x96, so shapes
are evaluated over their own small boxes, from row and column vectors, with
few array operations each (symmetric pairs, both arms and all the flowers
of a print in one pass, body and legs as bands around centre lines); and
past a thousand pixels, where broadcasting through NumPy's buffers costs
more than a call, colours go channel by channel.  A test human is drawn
once and dressed twice for its ground truth
(:class:`~cagan.data.synthetic.render._Figure`),
and images are drawn in batches between their PNG files (see
:data:`cagan.data.synthetic.writing._BATCH`).

Modules, each importing only those above it:

* :mod:`~cagan.data.synthetic.params`: :class:`Human`, :class:`Article` and
  their random draws;
* :mod:`~cagan.data.synthetic.fields`: distance fields, boxes, array helpers;
* :mod:`~cagan.data.synthetic.painter`: the layered canvas, backgrounds;
* :mod:`~cagan.data.synthetic.body`: body geometry, :data:`FRAMINGS`;
* :mod:`~cagan.data.synthetic.garments`: cuts and prints of the garments;
* :mod:`~cagan.data.synthetic.render`: :func:`render_human`,
  :func:`render_article`;
* :mod:`~cagan.data.synthetic.near_duplicates`: perceptual hashes, distinct
  designs;
* :mod:`~cagan.data.synthetic.png`: the PNG encoder (why not Pillow's: there);
* :mod:`~cagan.data.synthetic.writing`: :func:`write_dataset`.

Names with a leading underscore are the package's own, shared between its
modules; callers use what this package exports.
"""

from cagan.data.synthetic.body import FRAMINGS, frame
from cagan.data.synthetic.near_duplicates import (difference_hash,
                                                  perceptual_hash)
from cagan.data.synthetic.params import (STYLES, Article, Human, Style,
                                         sample_article, sample_human)
from cagan.data.synthetic.render import render_article, render_human
from cagan.data.synthetic.writing import SHARES, SyntheticSet, write_dataset

__all__ = ['Human', 'Article', 'Style', 'SyntheticSet', 'SHARES', 'FRAMINGS',
           'STYLES',
           'sample_human', 'frame', 'sample_article', 'render_human',
           'render_article', 'write_dataset', 'perceptual_hash',
           'difference_hash']
