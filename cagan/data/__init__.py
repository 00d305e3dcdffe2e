"""Paired human/article data: on disk, decoded, held out, made and curated.

Modules:

* :mod:`cagan.data.layout`: our layout on disk (``humans/``, ``articles/``,
  ``pairs.txt``): reading and writing pairs files, keeping their names
  inside their folders, and the project's one atomic file writer.
* :mod:`cagan.data.images`: the one reader of image files (with the pixel
  limit), fitting photos to the networks' size and pasting results back.
* :mod:`cagan.data.union_find`: disjoint sets, for groups of duplicates.
* :mod:`cagan.data.dataset`: :class:`~cagan.data.dataset.Record` s from our
  layout or VITON's (training, validation and test splits), CAGAN's
  triplets, swaps with their true result, and their resumable iterators.
* :mod:`cagan.data.held_out`: the held-out pairs of previews and
  evaluation, and ground-truth swaps (``truth.txt``) of every split.
* :mod:`cagan.data.neutral`: the neutral article, shown where the worn one
  is unknown (NumPy alone: the updater needs it where Pillow is not).
* :mod:`cagan.data.synthetic`: the procedural synthetic swimwear set, with
  ground truth (``scripts/make_synthetic.py``).
* :mod:`cagan.data.curation`: the reference article's curation as code: checking images,
  near-duplicates, reports, contact sheets (``scripts/curate.py``).

Data flow, from disk to a training step::

    pairs.txt  --layout.read_pairs-->       Pair s (one per line)
               --dataset.read_pairs_of-->   Record s (files checked)
               --dataset.TripletDataset-->  (x_i, y_i, y_j), decoded once
               --dataset.make_iterator-->   batches for the updater

Training needs layout, images, union_find, dataset, held_out and neutral. The
synthetic set and the curation are tools that write datasets: nothing that
trains imports them. Importing this package imports none of its modules.
"""
