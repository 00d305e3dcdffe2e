"""The on-disk layout of a paired dataset: reading and writing its pairs file.

Our layout (documented in ``data/README.md``)::

    DIR/humans/     photos of people, each wearing one article (x_i)
    DIR/articles/   product photos of articles on a plain background (y_i)
    DIR/pairs.txt   one pair per line: "HUMAN ARTICLE [FLAGS]"

``HUMAN`` and ``ARTICLE`` are file names inside ``humans/`` and ``articles/``.
``FLAGS``, optional, is a comma-separated list without spaces:

* ``back_view``: the human is turned away;
* ``extra_garment``: the human wears something that is not the article;
* ``bottoms_only``: the article is only a bottom, the human wears more;
* ``dup_of=ARTICLE``: the article is a (near-)duplicate of that article.

Lines starting with ``#`` and blank lines are ignored. Names must stay
inside their folders (no ``..``, no absolute path, no symbolic link to a
file elsewhere): see :func:`check_names`.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

from cagan.atomic import write_text_atomic
from cagan.errors import DataError

#: Flags that make a pair unusable for training (the reference article removed these).
EXCLUDING_FLAGS = ('back_view', 'extra_garment', 'bottoms_only')
DUP_PREFIX = 'dup_of='
#: The folders of a dataset: photos of people, product photos of articles.
HUMANS, ARTICLES = 'humans', 'articles'


@dataclass(frozen=True)
class Pair:
    """One line of a pairs file."""

    human: str
    article: str
    flags: frozenset = field(default_factory=frozenset)
    dup_of: str = None
    line: int = 0

    @property
    def excluded(self):
        """True if a flag says the reference article would have dropped this pair."""
        return bool(self.flags & set(EXCLUDING_FLAGS))

    def to_line(self):
        tokens = sorted(self.flags)
        if self.dup_of:
            tokens.append(DUP_PREFIX + self.dup_of)
        return ' '.join([self.human, self.article] + ([','.join(tokens)]
                                                      if tokens else []))


def read_pairs(path):
    """Parse a pairs file.

    Args:
        path (str or pathlib.Path): the ``pairs.txt`` file.

    Returns:
        list of Pair: in file order.

    Raises:
        cagan.errors.DataError: the file is missing or unreadable, or has
            malformed lines (each named with its line number), or no pairs.
    """
    try:
        with open(path, encoding='utf-8') as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        raise DataError(['{}: no such pairs file'.format(path)]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(['{}: cannot read the pairs file ({})'.format(
            path, e)]) from None
    pairs, problems = [], []
    for number, text in enumerate(lines, 1):
        tokens = text.split()
        if not tokens or tokens[0].startswith('#'):
            continue
        if len(tokens) not in (2, 3):
            problems.append('{}:{}: expected "HUMAN ARTICLE [FLAGS]", got {!r}'
                            .format(path, number, text))
            continue
        flags, dup_of = set(), None
        for flag in tokens[2].split(',') if len(tokens) == 3 else []:
            if flag.startswith(DUP_PREFIX) and len(flag) > len(DUP_PREFIX):
                dup_of = flag[len(DUP_PREFIX):]
            elif flag in EXCLUDING_FLAGS:
                flags.add(flag)
            else:
                problems.append('{}:{}: unknown flag {!r} (known: {}, {}NAME)'
                                .format(path, number, flag,
                                        ', '.join(EXCLUDING_FLAGS), DUP_PREFIX))
        pairs.append(Pair(tokens[0], tokens[1], frozenset(flags), dup_of,
                          number))
    if problems:
        raise DataError(problems)
    if not pairs:
        raise DataError(['{}: no pairs in the file'.format(path)])
    return pairs


def check_names(pairs_file, entries, folders=None):
    """Check that every name of a pairs file is a file inside its folder.

    A name is joined to its folder and resolved (``..``, an absolute path
    and symbolic links followed, as opening it would); the result must lie
    strictly inside the resolved folder. A link to another file of the same
    folder is fine; ``../../etc/hostname``, ``/etc/hostname`` or a link out
    of the folder are not: a pairs file must not make a tool read (or
    copy) files from elsewhere. Nothing is opened; whether the files exist
    is for the caller to check.

    Args:
        pairs_file (str or os.PathLike): the pairs file, named in messages;
            folders are named relative to its folder.
        entries (iterable of tuple): ``(line, name, folder)``: ``name``,
            written on line ``line``, is a file inside ``folder``.
        folders (list or None): the folders the messages say names belong
            in (default: those of ``entries``).

    Returns:
        list of pathlib.Path: ``folder / name`` for each entry, in order, as
        written (not resolved).

    Raises:
        cagan.errors.DataError: one line per entry whose name leaves its
            folder, naming the pairs file and the line.
    """
    pairs_file = Path(pairs_file)
    entries = [(line, name, Path(folder)) for line, name, folder in entries]
    if folders is None:
        folders = dict.fromkeys(folder for _, _, folder in entries)

    def label(folder):
        try:
            rel = folder.relative_to(pairs_file.parent)
        except ValueError:
            rel = folder
        return '{}/'.format(folder if rel == Path('.') else rel)

    hint = 'names in {} are files inside {}'.format(
        pairs_file.name, ' and '.join(label(Path(f)) for f in folders))
    real, paths, problems = {}, [], []
    for line, name, folder in entries:
        path = folder / name
        paths.append(path)
        try:
            if folder not in real:
                real[folder] = folder.resolve()
            target = path.resolve()
        except (OSError, RuntimeError) as e:  # a symlink loop, ...
            problems.append('{}:{}: {!r} cannot be resolved inside {} ({}); {}'
                            .format(pairs_file, line, name, label(folder),
                                    e, hint))
            continue
        if real[folder] not in target.parents:
            # Written inside the folder, resolved outside: a symbolic link.
            written = Path(os.path.normpath(real[folder] / name))
            link = (' (a link to {})'.format(target)
                    if real[folder] in written.parents else '')
            problems.append('{}:{}: {!r} leaves {}{}; {}'.format(
                pairs_file, line, name, label(folder), link, hint))
    if problems:
        raise DataError(problems)
    return paths


def write_pairs(path, pairs, header='human article [flags]'):
    """Write ``pairs`` (iterable of Pair) as a pairs file, atomically."""
    lines = ['# ' + header] + [p.to_line() for p in pairs]
    write_text_atomic(path, '\n'.join(lines) + '\n')
