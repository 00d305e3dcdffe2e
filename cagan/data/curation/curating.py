"""The curation itself: the options, the check of one image, the decisions
pair by pair (:func:`curate`), the reports, and the writing of the curated
dataset (:func:`write_curated`).
"""

import json
import os
import shutil
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from cagan.data import images
from cagan.data.curation.sheets import (DEFAULT_SHEET_PAIRS, dropped_sheet,
                                        kept_sheet)
from cagan.data.curation.signatures import (DEFAULT_COLOUR_DISTANCE,
                                            DEFAULT_MAX_GAIN,
                                            DEFAULT_SHAPE_DISTANCE, Signature,
                                            distances, find_duplicates,
                                            image_signature)
from cagan.data.held_out import (HELD_OUT, TRUTH_NAME, read_truth_rows,
                                 truth_file)
from cagan.atomic import replacing, write_text_atomic
from cagan.data.layout import (ARTICLES, EXCLUDING_FLAGS, HUMANS, Pair,
                               check_names, read_pairs, write_pairs)
from cagan.data.union_find import UnionFind
from cagan.errors import CaganError, DataError, PixelLimitError

#: Modes of colour photos; anything else (1, L, LA, I, F, I;16, ...) is not.
COLOUR_MODES = frozenset({'RGB', 'RGBA', 'RGBX', 'RGBa', 'P', 'PA', 'CMYK', 'YCbCr'})
#: Smallest usable image, (height, width) in pixels.
DEFAULT_MIN_SIZE = (32, 32)
# Why a pair can be dropped, in the order reasons are listed and counted.
REASON_KINDS = ('bad_human', 'bad_article') + EXCLUDING_FLAGS + (
    'repeated_pair', 'duplicate_article', 'duplicate_human')


@dataclass(frozen=True)
class Options:
    """Thresholds of :func:`curate`.

    Attributes:
        min_size (tuple of int): smallest usable (height, width) in pixels.
        shape_distance (float): largest shape distance (0..2) between
            duplicates.
        colour_distance (float): largest colour distance (>= 0) between
            duplicates.
        human_shape_distance, human_colour_distance: the same for humans;
            ``None`` uses the article thresholds.
        max_gain (float): largest brightness factor (>= 1) between
            duplicates (see :func:`distances`).
    """

    min_size: tuple = DEFAULT_MIN_SIZE
    shape_distance: float = DEFAULT_SHAPE_DISTANCE
    colour_distance: float = DEFAULT_COLOUR_DISTANCE
    human_shape_distance: float = None
    human_colour_distance: float = None
    max_gain: float = DEFAULT_MAX_GAIN

    def thresholds(self, kind):
        """``(shape_distance, colour_distance)`` for ``'articles'`` or ``'humans'``."""
        if kind == HUMANS:
            return (self.shape_distance if self.human_shape_distance is None
                    else self.human_shape_distance,
                    self.colour_distance if self.human_colour_distance is None
                    else self.human_colour_distance)
        return self.shape_distance, self.colour_distance


@dataclass(frozen=True)
class ImageCheck:
    """The verdict on one file.

    Attributes:
        reason (str or None): why the file is unusable, ``None`` if it is fine.
        size (tuple of int or None): (height, width) after EXIF rotation.
        mode (str or None): the Pillow mode of the file.
        signature (Signature or None): for a usable file.
    """

    reason: str = None
    size: tuple = None
    mode: str = None
    signature: Signature = None


def check_image(path, min_size=DEFAULT_MIN_SIZE):
    """Check that ``path`` is a usable colour photo and compute its signature.

    The file is opened and decoded completely with Pillow (a truncated or
    corrupt file is unusable), its mode must be one of :data:`COLOUR_MODES`
    and its size, after EXIF rotation, at least ``min_size``. A file of more
    pixels than :func:`cagan.data.images.max_pixels` is not decoded: it raises,
    since the user may want to raise the limit rather than lose the file.

    Args:
        path (str): the image file.
        min_size (tuple of int): smallest (height, width).

    Returns:
        ImageCheck: ``reason`` is ``None`` and ``signature`` set when usable.

    Raises:
        cagan.errors.PixelLimitError: too many pixels, one line.
        cagan.errors.CaganError: a bad ``CAGAN_MAX_PIXELS``.
    """
    if not os.path.exists(path):
        return ImageCheck(reason='missing (a broken link)' if os.path.islink(path)
                          else 'missing')
    if not os.path.isfile(path):
        return ImageCheck(reason='not a regular file')
    with warnings.catch_warnings():
        # A CLI tool that reads thousands of photos must not print Pillow's
        # remarks on odd EXIF blocks; real decoding failures still raise.
        warnings.simplefilter('ignore')
        try:
            upright, mode = images.read_image(path)
            rgb = images.to_rgb(upright) if mode in COLOUR_MODES else None
        except (MemoryError, CaganError):
            # Not a verdict on the file: out of memory, over the pixel limit
            # (the user may raise it) or a bad CAGAN_MAX_PIXELS.
            raise
        except PermissionError as e:
            return ImageCheck(reason='unreadable ({})'.format(e.strerror))
        except Image.UnidentifiedImageError:
            return ImageCheck(reason='not an image Pillow can read')
        except Exception as e:  # noqa: BLE001
            # Pillow's decoders report corrupt data as OSError, SyntaxError,
            # ValueError, EOFError, zlib.error, struct.error, ...: all mean
            # "this file cannot be decoded".
            return ImageCheck(reason='cannot decode ({})'.format(
                str(e) or type(e).__name__))
    size = (upright.height, upright.width)
    if mode not in COLOUR_MODES:
        return ImageCheck(reason='not a colour image (mode {})'.format(mode),
                          size=size, mode=mode)
    if size[0] < min_size[0] or size[1] < min_size[1]:
        return ImageCheck(reason='too small ({}x{} < {}x{})'.format(
            size[0], size[1], min_size[0], min_size[1]), size=size, mode=mode)
    return ImageCheck(size=size, mode=mode, signature=image_signature(rgb))


@dataclass(frozen=True)
class Reason:
    """Why a pair is dropped: ``kind`` is one of :data:`REASON_KINDS`."""

    kind: str
    detail: str = ''
    original: str = None  # for a duplicate: the kept file it duplicates

    def __str__(self):
        return self.kind + (': ' + self.detail if self.detail else '')


@dataclass
class Curation:
    """What :func:`curate` decided; :func:`write_curated` writes it.

    Attributes:
        src (str): the source dataset folder.
        options (Options): the thresholds used.
        pairs (list of Pair): every pair of the source, in file order.
        kept (list of Pair): the pairs to keep, flags removed, in file order.
        dropped (list of tuple): ``(Pair, [Reason, ...])`` in file order.
        bad_files (dict): ``(folder, name) -> reason`` for referenced files
            that cannot be used.
        unused_files (list of tuple): ``(folder, name)`` of files no pair names.
        duplicates (dict): per folder (``'articles'``, ``'humans'``) a dict
            with ``groups``, ``links`` and ``near`` (see :func:`find_duplicates`).
        planted (dict or None): detection scored against the ``dup_of=``
            flags: ``planted`` (a count), ``found``, ``missed``, ``extra``
            (lists of files) and ``kept`` (flagged pairs kept because no
            earlier pair of their group was); ``None`` when no pair has such
            a flag.
        truth (dict or None): the training ground truth (``truth.txt``):
            ``lines`` (swaps in the source), ``kept`` (the rows whose human
            and both articles are kept, tuples of six '/'-joined paths
            relative to the dataset) and ``dropped`` (how many are not);
            ``None`` when the source has none.
    """

    src: str
    options: Options
    pairs: list
    kept: list = field(default_factory=list)
    dropped: list = field(default_factory=list)
    bad_files: dict = field(default_factory=dict)
    unused_files: list = field(default_factory=list)
    duplicates: dict = field(default_factory=dict)
    planted: dict = None
    truth: dict = None

    def dropped_by_reason(self):
        """``{kind: number of dropped pairs}``, counting each pair once, under
        its first reason, in :data:`REASON_KINDS` order."""
        counts = {}
        for _, reasons in self.dropped:
            counts[reasons[0].kind] = counts.get(reasons[0].kind, 0) + 1
        return {k: counts[k] for k in REASON_KINDS if k in counts}


def _list_files(folder):
    """Relative '/'-joined paths of the regular files under ``folder``, sorted."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        rel = os.path.relpath(root, folder)
        for f in files:
            path = f if rel == '.' else os.path.join(rel, f).replace(os.sep, '/')
            found.append(path)
    return sorted(found)


def _score_planted(pairs, groups, bad):
    """Compare detected article groups with the ``dup_of=`` flags.

    A planted duplicate (``ARTICLE dup_of=ORIGINAL``) is found when the two
    files are in one detected group; an extra is a file in a detected group
    that the flags do not tie to the group's first file.
    """
    planted = [(p.article, p.dup_of) for p in pairs if p.dup_of and p.dup_of != p.article]
    if not planted:
        return None
    planted = list(dict.fromkeys(planted))
    truth = UnionFind()
    for a, b in planted:
        truth.union(a, b)
    group_of = {n: gi for gi, g in enumerate(groups) for n in g}
    found, missed = [], []
    for a, b in planted:
        hit = a in group_of and group_of.get(b) == group_of[a]
        entry = {'file': a, 'dup_of': b}
        if not hit and (a in bad or b in bad):
            entry['note'] = 'unusable file: {}'.format(bad.get(a) or bad.get(b))
        (found if hit else missed).append(entry)
    extra = []
    for g in groups:
        first = truth.find(g[0])
        extra += [{'file': n, 'grouped_with': g[0]} for n in g[1:]
                  if truth.find(n) != first]
    return {'planted': len(planted), 'found': found, 'missed': missed, 'extra': extra}


def curate(src, options=Options()):
    """Decide which pairs of a dataset to keep, without writing anything.

    Args:
        src (str or os.PathLike): a dataset folder in our layout (``humans/``,
            ``articles/``, ``pairs.txt``; ``test/`` is ignored).
        options (Options): thresholds.

    Returns:
        Curation: the decisions. A pair is dropped, with every reason that
        applies, when one of its files is unusable, when it has an
        excluding flag, when it repeats an earlier line, or when its article
        (or human) is a different file with the same content as the article
        (human) of an earlier kept pair.

    Raises:
        cagan.errors.DataError: ``src`` is not a folder, ``pairs.txt`` is
            missing, unreadable, malformed or empty, names a file outside
            ``humans/`` or ``articles/`` (:func:`cagan.data.layout.check_names`),
            or names images of more pixels than
            :func:`cagan.data.images.max_pixels` (one line each, all of them:
            unlike a corrupt file, such a file is not dropped, since the
            limit may be what should change).
    """
    src = os.fspath(src)
    if not os.path.isdir(src):
        raise DataError(['{}: no such dataset folder'.format(src)
                         if not os.path.exists(src) else
                         '{}: not a folder'.format(src)])
    pairs = read_pairs(os.path.join(src, 'pairs.txt'))
    problems = ['{}: no such folder (expected {}/ next to pairs.txt)'.format(
        os.path.join(src, folder), folder) for folder in (HUMANS, ARTICLES)
        if not os.path.isdir(os.path.join(src, folder))]
    if problems:
        raise DataError(problems)
    # A name that leaves its folder is refused, not dropped: nothing from
    # outside the dataset is read, let alone copied into the output.
    check_names(os.path.join(src, 'pairs.txt'), [
        entry for p in pairs for entry in ((p.line, p.human, os.path.join(src, HUMANS)),
                                           (p.line, p.article, os.path.join(src, ARTICLES)))])
    # The training ground truth's names too (and whether its files exist).
    found = truth_file(src, 'train')
    truth_rows = read_truth_rows(found) if found else None
    cur = Curation(src=src, options=options, pairs=pairs)

    # 1. Check every referenced file once, in pairs order.
    referenced = {HUMANS: list(dict.fromkeys(p.human for p in pairs)),
                  ARTICLES: list(dict.fromkeys(p.article for p in pairs))}
    signatures = {HUMANS: {}, ARTICLES: {}}
    too_large = []
    for folder, names in referenced.items():
        for name in names:
            try:
                check = check_image(os.path.join(src, folder, name), options.min_size)
            except PixelLimitError as e:
                # Not dropped like a corrupt file: the limit may be what is
                # wrong. All are listed, then curate refuses.
                too_large.append(str(e))
                continue
            if check.reason:
                cur.bad_files[(folder, name)] = check.reason
            else:
                signatures[folder][name] = check.signature
        used = set(names)
        cur.unused_files += [(folder, n) for n in _list_files(os.path.join(src, folder))
                             if n not in used]
    if too_large:
        raise DataError(too_large)

    # 2. Near-duplicates by content, per folder, over every usable file.
    group_of = {}
    for folder in (ARTICLES, HUMANS):
        names = [n for n in referenced[folder] if n in signatures[folder]]
        max_shape, max_colour = options.thresholds(folder)
        groups, links, near = find_duplicates(
            names, [signatures[folder][n] for n in names], max_shape, max_colour,
            options.max_gain)
        cur.duplicates[folder] = {'groups': groups, 'links': links, 'near': near[:20]}
        group_of[folder] = {n: gi for gi, g in enumerate(groups) for n in g}

    # 3. Decide pair by pair, in file order, so "earlier" means what it says.
    kept_in_group = {ARTICLES: {}, HUMANS: {}}  # group -> (file, line) kept
    seen_lines = {}
    for p in pairs:
        reasons = []
        for folder, name, kind in ((HUMANS, p.human, 'bad_human'),
                                   (ARTICLES, p.article, 'bad_article')):
            if (folder, name) in cur.bad_files:
                reasons.append(Reason(kind, '{} {}'.format(name,
                                                           cur.bad_files[(folder, name)])))
        reasons += [Reason(flag) for flag in EXCLUDING_FLAGS if flag in p.flags]
        if not reasons and (p.human, p.article) in seen_lines:
            reasons.append(Reason('repeated_pair', 'same as line {}'.format(
                seen_lines[(p.human, p.article)])))
        if not reasons:
            for folder, name, kind in ((ARTICLES, p.article, 'duplicate_article'),
                                       (HUMANS, p.human, 'duplicate_human')):
                group = group_of[folder].get(name)
                first = kept_in_group[folder].get(group)
                if group is not None and first is not None and first[0] != name:
                    shape, colour = distances(signatures[folder][name],
                                              signatures[folder][first[0]], options.max_gain)
                    reasons.append(Reason(kind, '{} duplicates {} (kept with line {}; shape '
                                          '{:.3f}, colour {:.3f})'.format(
                                              name, first[0], first[1], shape, colour),
                                          original=first[0]))
        if reasons:
            cur.dropped.append((p, reasons))
            continue
        seen_lines[(p.human, p.article)] = p.line
        for folder, name in ((ARTICLES, p.article), (HUMANS, p.human)):
            group = group_of[folder].get(name)
            if group is not None:
                kept_in_group[folder].setdefault(group, (name, p.line))
        cur.kept.append(Pair(p.human, p.article, line=p.line))

    bad_articles = {n: r for (f, n), r in cur.bad_files.items() if f == ARTICLES}
    cur.planted = _score_planted(pairs, cur.duplicates[ARTICLES]['groups'], bad_articles)
    if cur.planted is not None:
        # A flagged duplicate whose original was dropped for another reason
        # stays: no kept pair has its article.
        kept_lines = {k.line for k in cur.kept}
        cur.planted['kept'] = [{'line': p.line, 'file': p.article, 'dup_of': p.dup_of}
                               for p in pairs if p.dup_of and p.line in kept_lines]
    if truth_rows is not None:
        cur.truth = _kept_truth(src, truth_rows, cur.kept)
    return cur


def _kept_truth(src, rows, kept):
    """The ground-truth rows (absolute paths, from
    :func:`cagan.data.held_out.read_truth_rows`) whose human and both
    articles are files of kept pairs: see :attr:`Curation.truth`."""
    root = Path(src).absolute()
    names = {HUMANS: {p.human for p in kept}, ARTICLES: {p.article for p in kept}}

    def survives(rel, folder):
        return rel.parts[0] == folder and '/'.join(rel.parts[1:]) in names[folder]

    chosen = []
    for row in rows:
        rel = [path.relative_to(root) for path in row]
        if (survives(rel[0], HUMANS) and survives(rel[1], ARTICLES)
                and survives(rel[2], ARTICLES)):
            chosen.append(tuple(r.as_posix() for r in rel))
    return {'lines': len(rows), 'kept': chosen, 'dropped': len(rows) - len(chosen)}


def report_dict(cur):
    """The curation as JSON-ready data (what ``report.json`` holds)."""
    def link(l):
        return {'a': l.a, 'b': l.b, 'shape': round(l.shape, 4), 'colour': round(l.colour, 4)}

    o = cur.options
    return {
        'src': os.path.abspath(cur.src),
        'options': {'min_size': list(o.min_size), 'max_gain': o.max_gain,
                    'articles': dict(zip(('shape_distance', 'colour_distance'),
                                         o.thresholds(ARTICLES))),
                    'humans': dict(zip(('shape_distance', 'colour_distance'),
                                       o.thresholds(HUMANS)))},
        'counts': {'pairs': len(cur.pairs), 'kept': len(cur.kept),
                   'dropped': len(cur.dropped),
                   'dropped_by_reason': cur.dropped_by_reason(),
                   'bad_files': len(cur.bad_files),
                   'unused_files': len(cur.unused_files),
                   'duplicate_groups': {f: len(d['groups'])
                                        for f, d in cur.duplicates.items()}},
        'kept': [{'line': p.line, 'human': p.human, 'article': p.article} for p in cur.kept],
        'dropped': [{'line': p.line, 'human': p.human, 'article': p.article,
                     'reasons': [{'kind': r.kind, 'detail': r.detail} for r in reasons]}
                    for p, reasons in cur.dropped],
        'bad_files': [{'folder': f, 'name': n, 'reason': r}
                      for (f, n), r in cur.bad_files.items()],
        'unused_files': [{'folder': f, 'name': n} for f, n in cur.unused_files],
        'duplicates': {f: {'groups': d['groups'], 'links': [link(x) for x in d['links']],
                           'near_misses': [link(x) for x in d['near']]}
                       for f, d in cur.duplicates.items()},
        'planted': cur.planted,
        'truth': (None if cur.truth is None else
                  {k: cur.truth[k] if k != 'kept' else len(cur.truth[k])
                   for k in ('lines', 'kept', 'dropped')}),
    }


def _planted_line(planted):
    return 'dup_of flags: {} planted, {} found, {} missed, {} extra'.format(
        planted['planted'], len(planted['found']), len(planted['missed']),
        len(planted['extra']))


def summary_lines(cur):
    """A short summary for a terminal, list of str."""
    lines = ['kept {} of {} pairs, dropped {}'.format(len(cur.kept), len(cur.pairs),
                                                       len(cur.dropped))]
    by = cur.dropped_by_reason()
    if by:
        lines.append('  dropped by reason: ' + ', '.join('{} {}'.format(k, v)
                                                         for k, v in by.items()))
    dup = ', '.join('{} {} in {} groups'.format(
        f, sum(len(g) - 1 for g in cur.duplicates[f]['groups']),
        len(cur.duplicates[f]['groups']))
        for f in (ARTICLES, HUMANS))
    lines.append('  duplicate files found: ' + dup)
    if cur.planted:
        lines.append('  ' + _planted_line(cur.planted))
    if cur.truth:
        lines.append('  training ground truth: kept {} of {} swaps, dropped {} (their human '
                     'or an article was dropped)'.format(len(cur.truth['kept']),
                                                         cur.truth['lines'],
                                                         cur.truth['dropped']))
    if cur.bad_files or cur.unused_files:
        lines.append('  bad files {}, unused files {}'.format(len(cur.bad_files),
                                                               len(cur.unused_files)))
    return lines


def report_text(cur):
    """The curation for people (what ``report.txt`` holds), one str."""
    o = cur.options
    out = ['# curation of {}'.format(os.path.abspath(cur.src))] + summary_lines(cur)
    out.append('options: min size {}x{}; articles: shape <= {}, colour <= {}; '
               'humans: shape <= {}, colour <= {}; brightness factor <= {}'.format(
                   o.min_size[0], o.min_size[1], *o.thresholds(ARTICLES),
                   *o.thresholds(HUMANS), o.max_gain))
    out += ['', 'dropped pairs ({}):'.format(len(cur.dropped))]
    out += ['  line {}: {} {}: {}'.format(p.line, p.human, p.article,
                                          '; '.join(str(r) for r in reasons))
            for p, reasons in cur.dropped] or ['  none']
    out += ['', 'bad files ({}):'.format(len(cur.bad_files))]
    out += ['  {}/{}: {}'.format(f, n, r) for (f, n), r in cur.bad_files.items()] or ['  none']
    out += ['', 'unused files, named by no pair, not copied ({}):'.format(
        len(cur.unused_files))]
    out += ['  {}/{}'.format(f, n) for f, n in cur.unused_files] or ['  none']
    for folder in (ARTICLES, HUMANS):
        d = cur.duplicates[folder]
        out += ['', 'duplicate {} ({} groups; first file of each group first):'.format(
            folder, len(d['groups']))]
        out += ['  ' + ' = '.join(g) for g in d['groups']] or ['  none']
        if d['links']:
            out.append('  links (shape distance, colour distance):')
            out += ['    {} ~ {}: {:.3f}, {:.3f}'.format(l.a, l.b, l.shape, l.colour)
                    for l in d['links']]
        if d['near']:
            out.append('  closest pairs that are NOT duplicates (check these by eye):')
            out += ['    {} ~ {}: {:.3f}, {:.3f}'.format(l.a, l.b, l.shape, l.colour)
                    for l in d['near'][:10]]
    if cur.planted:
        p = cur.planted
        out += ['', _planted_line(p)]
        out += ['  missed: {} dup_of {}{}'.format(
            m['file'], m['dup_of'], ' ({})'.format(m['note']) if 'note' in m else '')
            for m in p['missed']]
        out += ['  extra: {} grouped with {}'.format(e['file'], e['grouped_with'])
                for e in p['extra']]
        out += ['  kept: line {} {} (dup_of {}): no earlier pair of its group was kept'
                .format(k['line'], k['file'], k['dup_of']) for k in p.get('kept', [])]
    return '\n'.join(out) + '\n'


def _place(src_file, dst_file):
    """Hard-link ``src_file`` to ``dst_file`` (a copy across filesystems),
    atomically. Returns ``'linked'`` or ``'copied'``."""
    os.makedirs(os.path.dirname(dst_file), exist_ok=True)
    with replacing(dst_file) as tmp:
        os.unlink(tmp)  # os.link needs a free name
        try:
            os.link(src_file, tmp)
            return 'linked'
        except OSError:  # another filesystem, or links not allowed there
            shutil.copy2(src_file, tmp)
            return 'copied'


def _inside(path, folder):
    """True if real path ``path`` is ``folder`` or inside it."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_output(src, out, force=False):
    """Refuse an output folder that would touch the source or lose data.

    Raises:
        cagan.errors.CaganError: ``out`` is ``src`` or inside it, exists and
            is not a folder, is not empty (without ``force``), or holds
            ``src`` (with ``force``, rebuilding it would delete ``src``).
    """
    real_src, real_out = os.path.realpath(src), os.path.realpath(out)
    if _inside(real_out, real_src):
        raise CaganError('{}: the output folder must not be the source or inside it ({})'
                         .format(out, src))
    if os.path.lexists(out):
        if not os.path.isdir(out):
            raise CaganError('{}: exists and is not a folder'.format(out))
        if os.listdir(out):
            if not force:
                raise CaganError('{}: exists and is not empty; pass --force to rebuild it'
                                 .format(out))
            if _inside(real_src, real_out):
                raise CaganError('{}: holds the source {}; rebuilding it would delete it'
                                 .format(out, src))


def write_curated(cur, out, force=False, sheet_pairs=DEFAULT_SHEET_PAIRS):
    """Write the kept pairs as a new dataset in our layout.

    ``out`` gets ``humans/`` and ``articles/`` (hard links to the source
    files, copies across filesystems), ``report.txt``, ``report.json``,
    ``contact_sheet.png``, ``dropped_sheet.png`` (when pairs were dropped), the
    source's held-out ``val/`` and ``test/`` splits unchanged (those it
    has), the training ground truth's kept swaps (``truth.txt`` and the
    files it names, when any is kept) and, last, ``pairs.txt``. All of it
    is built in a new folder next to ``out`` that then takes its place, so
    ``out`` is either the old or the new one. The source is only read.

    Args:
        cur (Curation): from :func:`curate`.
        out (str or os.PathLike): the output folder.
        force (bool): replace a non-empty ``out``.
        sheet_pairs (int): pairs drawn on the kept sheet (twice as many on
            the dropped sheet).

    Returns:
        dict: ``{'written': [paths], 'linked': n, 'copied': n}``.

    Raises:
        cagan.errors.CaganError: see :func:`check_output`; every pair was
            dropped, or a file of ``val/`` or ``test/`` is a link out of
            the source (:class:`~cagan.errors.DataError`; nothing is
            written).
    """
    out = os.fspath(out)
    check_output(cur.src, out, force)
    if not cur.kept:
        by = ', '.join('{} {}'.format(k, v) for k, v in cur.dropped_by_reason().items())
        raise DataError(['{}: every one of the {} pairs was dropped ({}); nothing written'
                         .format(cur.src, len(cur.pairs), by)])
    held_out = [(split, _split_files(cur.src, split)) for split in HELD_OUT]
    real_out = os.path.realpath(out)
    parent, base = os.path.split(real_out)
    os.makedirs(parent, exist_ok=True)
    build = os.path.join(parent, '.{}.curate-{}'.format(base, uuid.uuid4().hex[:8]))
    os.mkdir(build)
    counts = {'linked': 0, 'copied': 0}
    try:
        for folder, names in ((HUMANS, [p.human for p in cur.kept]),
                              (ARTICLES, [p.article for p in cur.kept])):
            os.mkdir(os.path.join(build, folder))
            for name in dict.fromkeys(names):
                how = _place(os.path.join(cur.src, folder, name),
                             os.path.join(build, folder, name))
                counts[how] += 1
        files = ['report.txt', 'report.json', 'contact_sheet.png']
        with replacing(os.path.join(build, 'contact_sheet.png')) as tmp:
            kept_sheet(cur, sheet_pairs).save(tmp, format='PNG')
        if cur.dropped:
            files.append('dropped_sheet.png')
            with replacing(os.path.join(build, 'dropped_sheet.png')) as tmp:
                dropped_sheet(cur, 2 * sheet_pairs).save(tmp, format='PNG')
        notes = []
        if counts['linked']:
            notes.append('note: {} images are hard links to the files of the source: replace '
                         'them, do not edit them in place'.format(counts['linked']))
        for split, split_files in held_out:
            if split_files:
                # Held out (and, in synthetic data, free of flagged cases):
                # carried over as it is, for choosing epochs and scoring.
                for rel in split_files:
                    counts[_place(os.path.join(cur.src, rel), os.path.join(build, rel))] += 1
                notes.append('note: the source\'s {}/ split is carried over as it is '
                             '(held out: not curated)'.format(split))
        if cur.truth and cur.truth['kept']:
            # The true images and masks of the kept swaps: the humans and
            # articles they name are in place already.
            for rel in dict.fromkeys(r for row in cur.truth['kept'] for r in row[3:]):
                counts[_place(os.path.join(cur.src, rel), os.path.join(build, rel))] += 1
            write_text_atomic(os.path.join(build, TRUTH_NAME),
                              '# X_I Y_I Y_J X_IJ MASK_I MASK_J (paths relative to this '
                              'folder; curated from {})\n'.format(os.path.abspath(cur.src)) +
                              ''.join(' '.join(row) + '\n' for row in cur.truth['kept']))
            files.append(TRUTH_NAME)
        if cur.truth:
            notes.append('note: the training ground truth ({}) keeps the {} of {} swaps whose '
                         'human and both articles are kept; {} dropped'.format(
                             TRUTH_NAME, len(cur.truth['kept']), cur.truth['lines'],
                             cur.truth['dropped']))
        text = report_text(cur) + ''.join('\n' + n for n in notes) + '\n' * bool(notes)
        write_text_atomic(os.path.join(build, 'report.txt'), text)
        data = report_dict(cur)
        data['out'] = real_out
        data['files'] = dict(counts)
        write_text_atomic(os.path.join(build, 'report.json'),
                          json.dumps(data, indent=1) + '\n')
        # Last, so that a folder with a pairs file is a finished one.
        write_pairs(os.path.join(build, 'pairs.txt'), cur.kept,
                    header='human article (curated from {})'.format(os.path.abspath(cur.src)))
        files.append('pairs.txt')
        _swap_in(build, real_out)
    except BaseException:
        if os.path.isdir(build):
            shutil.rmtree(build)
        raise
    counts['written'] = [os.path.join(out, HUMANS), os.path.join(out, ARTICLES)] + [
        os.path.join(out, f) for f in files]
    return counts


def _split_files(src, split):
    """The files of the held-out ``src/<split>/`` to carry over, relative
    to ``src``.

    Raises:
        cagan.errors.DataError: files that resolve outside ``src`` (links
            out of the dataset), one line each: linking or copying them
            would put files from elsewhere into the output.
    """
    split_src = os.path.join(src, split)
    if not os.path.isdir(split_src):
        return []
    real_src = os.path.realpath(src)
    files, problems = [], []
    for folder, _, names in os.walk(split_src):
        for name in sorted(names):
            path = os.path.join(folder, name)
            target = os.path.realpath(path)
            if target == real_src or not _inside(target, real_src):
                problems.append('{}: a link to {}, outside the source; {}/ is carried '
                                'over only with files of the source'.format(path, target,
                                                                            split))
            files.append(os.path.relpath(path, src))
    if problems:
        raise DataError(problems)
    return files


def _swap_in(build, out):
    """Put the finished folder ``build`` in the place of ``out``."""
    if os.path.isdir(out) and os.listdir(out):
        trash = os.path.join(os.path.dirname(out), '.{}.old-{}'.format(
            os.path.basename(out), uuid.uuid4().hex[:8]))
        os.rename(out, trash)
        os.rename(build, out)
        shutil.rmtree(trash)  # only unlinks: hard links keep the source's files intact
    else:
        os.replace(build, out)  # rename(2) may replace an empty folder
