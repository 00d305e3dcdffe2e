"""Disjoint sets: the one union-find of the project.

Used for groups of duplicates: :mod:`cagan.data.dataset` joins articles
along ``dup_of=`` flags, :mod:`cagan.data.curation` joins files whose
images are near-duplicates and scores the flags against what it found.
"""


class UnionFind:
    """Disjoint sets of hashable items (file names, indices).

    An item never joined is a set of its own. Each set is named by one of
    its members, its root: :meth:`union` decides which one, so a caller can
    name a group after, say, the original of its duplicates.
    """

    def __init__(self):
        self.parent = {}

    def find(self, item):
        """The root of ``item``'s set (``item`` itself when alone)."""
        root = item
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        # Path compression: every item passed on the way now points at the
        # root (roots are unchanged, so is every answer).
        while item != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, item, other):
        """Join the sets of ``item`` and ``other``; the joined set keeps
        ``other``'s root. Returns that root."""
        root, into = self.find(item), self.find(other)
        if root != into:
            self.parent[root] = into
        return into
