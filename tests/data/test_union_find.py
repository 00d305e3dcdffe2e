from cagan.data.union_find import UnionFind


def test_an_item_never_joined_is_its_own_set():
    sets = UnionFind()
    assert sets.find('a') == 'a' and sets.parent == {}


def test_union_keeps_the_second_items_root():
    sets = UnionFind()
    assert sets.union('b', 'a') == 'a'
    assert sets.union('c', 'b') == 'a'       # c joins a's set through b
    assert sets.union('d', 'e') == 'e'
    assert sets.union('a', 'd') == 'e'       # the whole of a's set moves
    assert {x: sets.find(x) for x in 'abcdef'} == {
        'a': 'e', 'b': 'e', 'c': 'e', 'd': 'e', 'e': 'e', 'f': 'f'}
    assert sets.union('c', 'e') == 'e'       # already one set: unchanged


def test_path_compression_changes_no_answer():
    sets = UnionFind()
    for k in range(49):
        sets.union(k, k + 1)                 # a chain 0 -> 1 -> ... -> 49
    assert sets.parent[0] == 1
    assert sets.find(0) == 49
    assert all(sets.parent[k] == 49 for k in range(49))
    assert [sets.find(k) for k in range(50)] == [49] * 50
