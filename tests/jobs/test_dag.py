from jobs import dag


def test_single_task_is_one_node_without_edges():
    lay = dag.layout([("psi", [])])
    assert len(lay.nodes) == 1 and lay.edges == ()
    assert lay.width == dag.MARGIN * 2 + dag.NODE_W
    assert lay.height == dag.MARGIN * 2 + dag.NODE_H


def test_layers_follow_longest_dependency_path():
    spec = [("a", []), ("b", ["a"]), ("c", ["a"]), ("d", ["b", "c"]), ("e", ["a", "d"])]
    lay = dag.layout(spec)
    layers = {n.alias: n.layer for n in lay.nodes}
    assert layers == {"a": 0, "b": 1, "c": 1, "d": 2, "e": 3}
    assert {(e.source, e.target) for e in lay.edges} == {
        ("a", "b"),
        ("a", "c"),
        ("b", "d"),
        ("c", "d"),
        ("a", "e"),
        ("d", "e"),
    }
    # every edge goes left to right
    for e in lay.edges:
        assert lay.node(e.source).x < lay.node(e.target).x


def test_nodes_never_overlap():
    spec = [(f"t{i}", [f"t{i // 3}"] if i else []) for i in range(40)]
    lay = dag.layout(spec)
    boxes = {(n.x, n.y) for n in lay.nodes}
    assert len(boxes) == 40
    for n in lay.nodes:
        assert n.x >= 0 and n.x + dag.NODE_W <= lay.width
        assert n.y >= 0 and n.y + dag.NODE_H <= lay.height


def test_128_task_chain_is_laid_out_without_recursion_limits():
    spec = [(f"t{i}", [f"t{i - 1}"] if i else []) for i in range(128)]
    lay = dag.layout(spec)
    assert [n.layer for n in lay.nodes] == list(range(128))
    assert lay.height == dag.MARGIN * 2 + dag.NODE_H


def test_128_independent_tasks_stack_in_one_layer():
    lay = dag.layout([(f"t{i}", []) for i in range(128)])
    assert {n.layer for n in lay.nodes} == {0}
    assert len({n.y for n in lay.nodes}) == 128


def test_unknown_dependencies_self_loops_and_cycles_do_not_break_layout():
    lay = dag.layout([("a", ["zzz", "a"]), ("b", ["c"]), ("c", ["b"])])
    assert {n.alias for n in lay.nodes} == {"a", "b", "c"}
    assert all(e.source != e.target for e in lay.edges)


def test_barycenter_ordering_avoids_crossings():
    # x1 -> y2 and x2 -> y1 in spec order would cross; ordering should untangle them.
    spec = [("x1", []), ("x2", []), ("y1", ["x2"]), ("y2", ["x1"])]
    lay = dag.layout(spec)
    assert (lay.node("y2").y < lay.node("y1").y) == (lay.node("x1").y < lay.node("x2").y)


def test_layout_is_cached_per_spec():
    dag._layout.cache_clear()
    spec = [("a", []), ("b", ["a"])]
    first = dag.layout(spec)
    again = dag.layout([("a", ()), ("b", ("a",))])
    assert first is again
    assert dag._layout.cache_info().hits == 1
