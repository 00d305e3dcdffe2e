"""cagan's modules import one way: no cycle, and each imports alone (what
the data modules may load: tests/data/test_imports.py)."""

import ast
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from tests.helpers import ROOT, modules

#: Modules run by an interpreter of their own, never imported by cagan:
#: the PyTorch peer needs torch, which is not a dependency.
STANDALONE = {'cagan.experiments.peer_torch'}


def imports_of(name, path, known):
    """The cagan modules that module ``name`` (file ``path``) imports, at
    any depth of its code (an import inside a function counts: a lazy
    import can hide a cycle)."""
    package = name if path.name == '__init__.py' else name.rpartition('.')[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                base = '.'.join(package.split('.')[:len(package.split('.'))
                                                   - node.level + 1]
                                + ([base] if base else []))
            # ``from a import b``: module a.b if there is one, else a.
            names = [base + '.' + alias.name
                     if base + '.' + alias.name in known else base
                     for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in known)
    return found


def graph(root=ROOT):
    known = modules(root)
    return {name: imports_of(name, path, known) - {name}
            for name, path in known.items()}


def cycles(edges):
    """Every elementary cycle's smallest rotation, found by a depth-first
    search from each module (the package is small)."""
    found = set()

    def walk(start, node, path):
        for nxt in sorted(edges.get(node, ())):
            if nxt == start:
                i = path.index(min(path))
                found.add(tuple(path[i:] + path[:i]))
            elif nxt not in path and nxt > start:
                walk(start, nxt, path + [nxt])

    for start in sorted(edges):
        walk(start, start, [start])
    return sorted(found)


def test_no_module_imports_a_standalone_one():
    assert not [name for name, found in graph().items() if found & STANDALONE]


def test_the_import_graph_has_no_cycle():
    found = cycles(graph())
    assert not found, 'import cycles: ' + '; '.join(
        ' -> '.join(c + c[:1]) for c in found)


def test_cycles_are_found():
    assert cycles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}) == [
        ('a', 'b', 'c')]
    assert cycles({'a': {'b'}, 'b': set()}) == []


def test_each_module_imports_alone_in_a_fresh_interpreter():
    # A cycle can pass when entered at one module and fail at another.
    def load(name):
        done = subprocess.run([sys.executable, '-W', 'error', '-c',
                               'import ' + name], cwd=str(ROOT),
                              capture_output=True, text=True)
        return name, done.returncode, done.stderr

    with ThreadPoolExecutor(2) as pool:
        failed = [(name, err.strip().splitlines()[-1:])
                  for name, code, err in pool.map(
                      load, sorted(set(modules()) - STANDALONE))
                  if code]
    assert not failed, failed
