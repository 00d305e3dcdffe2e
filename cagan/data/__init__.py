"""Paired human/article data: on disk, decoded, held out, made and curated.

Modules:

* :mod:`cagan.data.layout`: our layout on disk (``humans/``, ``articles/``,
  ``pairs.txt``): reading and writing pairs files, checking their names,
  and the project's one atomic file writer.
* :mod:`cagan.data.images`: the one reader of image files (with the pixel
  limit), fitting photos to the networks' size and back.
* :mod:`cagan.data.dataset`: :class:`~cagan.data.dataset.Record` s from our
  layout or VITON's, CAGAN's triplets and their resumable iterators.
* :mod:`cagan.data.synthetic`: the procedural synthetic swimwear set, with
  ground truth (``scripts/make_synthetic.py``).
* :mod:`cagan.data.curation`: the seed's curation as code: checking images,
  near-duplicates, reports, contact sheets (``scripts/curate.py``).

Data flow, from disk to a training step::

    pairs.txt  --layout.read_pairs-->  Pair s
               --dataset.read_pairs_of-->  Record s (files checked)
               --dataset.TripletDataset-->  (x_i, y_i, y_j), decoded once
               --dataset.make_iterator-->  batches for the updater

Training needs only the first part (layout, images, dataset): the
synthetic set and the curation are tools that write datasets, and nothing
that trains imports them.
"""
