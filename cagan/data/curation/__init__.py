"""The reference article's data curation, as code: check, de-duplicate and filter a dataset.

The reference article (a 2017 CAGAN reimplementation on 940 swimwear Article/Human pairs)
curated its data by hand. It removed pairs whose article was only a bikini
bottom, whose human was turned away or wore an extra garment, and duplicate
products found with a duplicate-photo tool. :func:`curate` does the same to a
dataset in our layout (``data/README.md``) and :func:`write_curated` writes the
result as a new dataset, leaving the source untouched:

1. every image that ``pairs.txt`` names is checked (it exists, Pillow decodes
   all of it, it is a colour image, it is at least ``min_size``); files in
   ``humans/`` or ``articles/`` that no pair names are reported as unused.
   Two things stop the curation instead of dropping a pair: a name that
   leaves its folder (``..``, an absolute path, a link to elsewhere) and an
   image of more pixels than :func:`cagan.data.images.max_pixels`;
2. near-duplicate articles, and separately near-duplicate humans, are found by
   content (:func:`image_signature`, :func:`find_duplicates`); the ``dup_of=``
   flags are ground truth from the generator and are only used to score the
   detection, never to decide;
3. pairs flagged ``back_view``, ``extra_garment`` or ``bottoms_only`` are
   dropped.

Modules:

* :mod:`~cagan.data.curation.signatures`: what an image is reduced to and
  how near-duplicates are found (:func:`image_signature`,
  :func:`distances`, :func:`find_duplicates`; how and why: there);
* :mod:`~cagan.data.curation.curating`: the options, the check of one
  image, the decisions (:func:`curate`), the reports and the writing of the
  curated dataset (:func:`write_curated`);
* :mod:`~cagan.data.curation.sheets`: contact sheets
  (:func:`contact_sheet`, :func:`kept_sheet`, :func:`dropped_sheet`).
"""

from cagan.data.curation.curating import (COLOUR_MODES, DEFAULT_MIN_SIZE,
                                          REASON_KINDS, Curation, ImageCheck,
                                          Options, Reason, check_image,
                                          check_output, curate, report_dict,
                                          report_text, summary_lines,
                                          write_curated)
from cagan.data.curation.sheets import (DEFAULT_SHEET_PAIRS, contact_sheet,
                                        dropped_sheet, kept_sheet)
from cagan.data.curation.signatures import (DEFAULT_COLOUR_DISTANCE,
                                            DEFAULT_MAX_GAIN,
                                            DEFAULT_SHAPE_DISTANCE, Link,
                                            Signature, distances,
                                            find_duplicates, image_signature)

__all__ = ['COLOUR_MODES', 'DEFAULT_COLOUR_DISTANCE', 'DEFAULT_MAX_GAIN',
           'DEFAULT_MIN_SIZE', 'DEFAULT_SHAPE_DISTANCE', 'DEFAULT_SHEET_PAIRS',
           'REASON_KINDS', 'Curation', 'ImageCheck', 'Link', 'Options',
           'Reason', 'Signature', 'check_image', 'check_output',
           'contact_sheet', 'curate', 'distances', 'dropped_sheet',
           'find_duplicates', 'image_signature', 'kept_sheet', 'report_dict',
           'report_text', 'summary_lines', 'write_curated']
