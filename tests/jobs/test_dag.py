import itertools

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


def _walk(d: str) -> tuple[list[tuple[float, float]], list[float]]:
    """The corner points of a path dag writes (M, L, H, V, Q with absolute coordinates) and the
    x of each of its vertical runs."""
    import re

    points: list[tuple[float, float]] = []
    verticals: list[float] = []
    x = y = 0.0
    for cmd, args in re.findall(r"([MLHVQC])([^MLHVQC]*)", d):
        nums = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", args)]
        if cmd == "H":
            x = nums[0]
        elif cmd == "V":
            y = nums[0]
            verticals.append(x)
        else:
            x, y = nums[-2], nums[-1]
        points.append((x, y))
    return points, verticals


def _ends(d: str) -> tuple[tuple[float, float], tuple[float, float]]:
    points, _ = _walk(d)
    return points[0], points[-1]


FAN = (
    [("src", [])]
    + [(f"mid{i}", ["src"]) for i in range(5)]
    + [("sink", [f"mid{i}" for i in range(5)])]
)


def test_fan_out_and_fan_in_use_ports_spread_along_the_node_sides():
    """Issue 19, defect 5: edges of one node leave from (and arrive at) points of their own,
    not one point where every line and arrowhead piles up."""
    lay = dag.layout(FAN)
    out_of_src = [_ends(e.d)[0] for e in lay.edges if e.source == "src"]
    into_sink = [_ends(e.d)[1] for e in lay.edges if e.target == "sink"]
    assert len(set(out_of_src)) == 5 and len(set(into_sink)) == 5
    src, sink = lay.node("src"), lay.node("sink")
    for x, y in out_of_src:
        assert x == src.x + lay.node_w and src.y < y < src.y + dag.NODE_H
    for x, y in into_sink:
        assert x == sink.x and sink.y < y < sink.y + dag.NODE_H


def test_edges_between_two_layers_turn_in_channels_of_their_own():
    """The vertical runs of edges that cross the same gap are spread across it (routed), so
    they do not draw over each other as one thick bundle."""
    lay = dag.layout(FAN)
    for end in ("sink", "src"):
        runs = [x for e in lay.edges if end in (e.source, e.target) for x in _walk(e.d)[1]]
        assert len(runs) == 4 and len(set(runs)) == 4  # the fifth goes straight across


def test_an_edge_that_skips_layers_runs_clear_of_the_nodes_between():
    spec = [("a", []), ("b", ["a"]), ("c", ["b"]), ("d", ["a", "c"])]
    lay = dag.layout(spec)
    skip = next(e for e in lay.edges if (e.source, e.target) == ("a", "d"))
    points, _ = _walk(skip.d)
    for name in ("b", "c"):
        n = lay.node(name)
        for (x1, y1), (x2, y2) in itertools.pairwise(points):
            if y1 == y2 and min(x1, x2) < n.x + lay.node_w and max(x1, x2) > n.x:
                assert not n.y <= y1 <= n.y + dag.NODE_H, f"runs through {name}: {skip.d}"


def test_long_task_names_widen_the_nodes_instead_of_being_cut():
    name = "psi-intersection-of-alice-and-bob"
    lay = dag.layout([(name, []), ("train", [name])])
    assert lay.node_w >= 8 * len(name) > dag.NODE_W
    assert lay.width == dag.MARGIN * 2 + 2 * lay.node_w + dag.GAP_X
