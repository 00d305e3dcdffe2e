"""Contact sheets: images side by side with captions under them
(:func:`contact_sheet`), and the curation's sheets of the pairs it kept
(:func:`kept_sheet`) and of those it dropped, with why
(:func:`dropped_sheet`).
"""

import math
import os

from PIL import Image, ImageDraw, ImageFont, ImageOps

from cagan.data import images
from cagan.data.layout import ARTICLES, EXCLUDING_FLAGS, HUMANS

#: Pairs drawn on the contact sheets.
DEFAULT_SHEET_PAIRS = 48


def _font(size):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):  # Pillow without FreeType
        return ImageFont.load_default()


def _fit_text(draw, text, font, width):
    """``text`` shortened with '...' until it is at most ``width`` px wide."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + '...', font=font) > width:
        text = text[:-1]
    return text + '...'


def _wrap(draw, text, font, width, max_lines):
    """Break ``text`` at spaces into at most ``max_lines`` lines of at most
    ``width`` px (the last one shortened with '...' if needed)."""
    lines = []
    for word in text.split(' '):
        if lines and draw.textlength(lines[-1] + ' ' + word, font=font) <= width:
            lines[-1] += ' ' + word
        else:
            lines.append(word)
    if len(lines) > max_lines:
        lines = lines[:max_lines - 1] + [' '.join(lines[max_lines - 1:])]
    return [_fit_text(draw, line, font, width) for line in lines]


def _placeholder(cell_size, text):
    """A grey (H, W) cell with a cross and a word, for a missing image."""
    h, w = cell_size
    im = Image.new('RGB', (w, h), (200, 200, 200))
    d = ImageDraw.Draw(im)
    d.line([(0, 0), (w - 1, h - 1)], fill=(150, 150, 150), width=2)
    d.line([(0, h - 1), (w - 1, 0)], fill=(150, 150, 150), width=2)
    font = _font(11)
    text = _fit_text(d, text, font, w - 4)
    d.text((w // 2, h // 2), text, fill=(160, 0, 0), font=font, anchor='mm')
    return im


def contact_sheet(rows, labels, cell_size=(128, 96), columns=4, title=None,
                  text_size=11, max_lines=4):
    """Draw groups of images side by side with a caption under each group.

    Args:
        rows (list of list): one entry per group (e.g. ``[human, article]``),
            each a list of PIL images (any mode, any size: each is fitted into
            its cell keeping its aspect ratio) or of str (drawn as a grey
            placeholder with that word, e.g. ``'missing'``).
        labels (list of str): one caption per group; ``'\\n'`` separates
            paragraphs, which are wrapped at spaces to the group's width;
            the first paragraph is black, the others dark red.
        cell_size (tuple of int): (height, width) of one image cell, pixels.
        columns (int): groups per line of the sheet.
        title (str or None): a line of text on top of the sheet.
        text_size (int): font size in pixels.
        max_lines (int): caption lines per group at most; the rest is cut
            with '...'.

    Returns:
        PIL.Image.Image: the sheet, mode RGB, white background.
    """
    if len(rows) != len(labels):
        raise ValueError('{} groups but {} labels'.format(len(rows), len(labels)))
    ch, cw = cell_size
    pad, font = 6, _font(text_size)
    line_h = text_size + 3
    per_group = max((len(r) for r in rows), default=1)
    group_w = per_group * cw + (per_group - 1) * 2
    measure = ImageDraw.Draw(Image.new('RGB', (1, 1)))
    captions = []  # per group: [(text, paragraph number)]
    for label in labels:
        lines = [(line, k) for k, para in enumerate(label.split('\n'))
                 for line in _wrap(measure, para, font, group_w, max_lines)]
        if len(lines) > max_lines:
            lines[max_lines - 1] = (_fit_text(measure, ' '.join(
                t for t, _ in lines[max_lines - 1:]), font, group_w), lines[max_lines - 1][1])
        captions.append(lines[:max_lines])
    n_lines = max((len(c) for c in captions), default=1)
    group_h = ch + 4 + n_lines * line_h
    columns = max(1, min(columns, len(rows) or 1))
    grid_rows = max(1, math.ceil(len(rows) / columns))
    top = pad + (line_h + pad if title else 0)
    sheet = Image.new('RGB', (pad + columns * (group_w + pad),
                              top + grid_rows * (group_h + pad)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((pad, pad), _fit_text(draw, title, font, sheet.width - 2 * pad),
                  fill=(0, 0, 0), font=font)
    for k, (cells, caption) in enumerate(zip(rows, captions)):
        x0 = pad + (k % columns) * (group_w + pad)
        y0 = top + (k // columns) * (group_h + pad)
        for m, im in enumerate(cells):
            if isinstance(im, str):
                cell = _placeholder(cell_size, im)
            else:
                cell = Image.new('RGB', (cw, ch), (255, 255, 255))
                fitted = ImageOps.contain(images.to_rgb(im), (cw, ch), Image.Resampling.LANCZOS)
                cell.paste(fitted, ((cw - fitted.width) // 2, (ch - fitted.height) // 2))
            x = x0 + m * (cw + 2)
            sheet.paste(cell, (x, y0))
            draw.rectangle([x, y0, x + cw - 1, y0 + ch - 1], outline=(210, 210, 210))
        for i, (text, para) in enumerate(caption):
            draw.text((x0, y0 + ch + 2 + i * line_h), text,
                      fill=(0, 0, 0) if para == 0 else (150, 0, 0), font=font)
    return sheet


def _sheet_rgb(path):
    """An image file as an RGB Pillow image for a sheet: any size (the
    sheets show what ``--min-size`` dropped), transparency on white, quiet
    (see :func:`cagan.data.images.load_rgb`)."""
    return Image.fromarray(images.load_rgb(path, min_side=0, quiet=True))


def _sheet_image(src, folder, name, bad_files):
    """The image of one file for a sheet, or a placeholder word if unusable."""
    reason = bad_files.get((folder, name))
    if reason is not None and not reason.startswith(('not a colour', 'too small')):
        return reason.split(' (')[0]
    try:
        return _sheet_rgb(os.path.join(src, folder, name))
    except Exception:  # noqa: BLE001  (already reported as bad; draw a placeholder)
        return 'unreadable'


def kept_sheet(cur, limit=DEFAULT_SHEET_PAIRS, cell_size=(128, 96), columns=6):
    """The contact sheet of the first ``limit`` kept pairs (human, article)
    of ``cur``, a :class:`~cagan.data.curation.curating.Curation`."""
    shown = cur.kept[:limit]
    rows = [[_sheet_rgb(os.path.join(cur.src, HUMANS, p.human)),
             _sheet_rgb(os.path.join(cur.src, ARTICLES, p.article))] for p in shown]
    labels = ['{} {}'.format(p.human, p.article) for p in shown]
    title = 'kept pairs: {} of {} shown (human, article)'.format(len(shown), len(cur.kept))
    return contact_sheet(rows, labels, cell_size, columns, title=title)


def dropped_sheet(cur, limit=2 * DEFAULT_SHEET_PAIRS, cell_size=(128, 96), columns=5):
    """The sheet of up to ``limit`` dropped pairs, reasons under them.

    Pairs dropped for a file or as a duplicate come first, then the flagged
    ones; a pair dropped as a duplicate shows, third, the kept file it
    duplicates.
    """
    # What was decided by looking (files, duplicates) first: that is what a
    # person should check; then what the flags said.
    order = {kind: k for k, kind in enumerate(
        ('bad_human', 'bad_article', 'duplicate_article', 'duplicate_human', 'repeated_pair')
        + EXCLUDING_FLAGS)}
    shown = sorted(cur.dropped, key=lambda d: (order[d[1][0].kind], d[0].line))[:limit]
    rows, labels = [], []
    for p, reasons in shown:
        row = [_sheet_image(cur.src, HUMANS, p.human, cur.bad_files),
               _sheet_image(cur.src, ARTICLES, p.article, cur.bad_files)]
        for r in reasons:
            if r.original:
                folder = ARTICLES if r.kind == 'duplicate_article' else HUMANS
                row.append(_sheet_rgb(os.path.join(cur.src, folder, r.original)))
                break
        rows.append(row)
        labels.append('{} {}\n{}'.format(p.human, p.article,
                                         '; '.join(str(r) for r in reasons)))
    title = ('dropped pairs: {} of {} shown, with why; files and duplicates first (a '
             'duplicate shows the kept original third)'.format(len(shown), len(cur.dropped)))
    return contact_sheet(rows, labels, cell_size, columns, title=title)
