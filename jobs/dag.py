"""Server-side layered layout of a job's task graph, for an inline SVG.

Nodes are tasks (by alias), edges go from a dependency to its dependent. Layers are the longest
path from a root (left to right); order within a layer comes from a few barycenter sweeps,
which keeps edges short and mostly uncrossed. The layout depends only on the job spec (aliases
and dependencies), so it is computed once per spec and cached.

Edges are routed, not drawn centre to centre (issue 19, defect 5): each edge leaves its source
from a port of its own along the right side and reaches its target at a port of its own on the
left side (ports ordered by where the other end is, so they do not cross at the node), and
turns in a vertical channel of its own within the gap between two layers. An edge that skips
layers runs along a lane that no node of the layers in between covers. Corners are rounded.
Nodes are as wide as the longest name needs (up to MAX_NAME characters; a longer one is cut
and named in full in the node's title).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

NODE_W = 200  # the narrowest node; longer names widen every node of the graph
NODE_H = 64
GAP_X = 64
GAP_Y = 20
MARGIN = 12
CENTRE_UP_TO = 6
MAX_NAME = 40  # characters a node shows of its name before cutting it
CHAR_W = 8  # width of a character of the node's monospaced name (13 px)
NAME_PAD = 40  # the state icon before the name and the space after it
CORNER = 6
ARROW_ROOM = 12  # the last straight run into a target, where the arrowhead sits

Spec = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class NodeBox:
    alias: str
    layer: int
    row: int
    x: int
    y: int


@dataclass(frozen=True)
class EdgePath:
    source: str
    target: str
    d: str  # SVG path data


@dataclass(frozen=True)
class Layout:
    nodes: tuple[NodeBox, ...]
    edges: tuple[EdgePath, ...]
    width: int
    height: int
    node_w: int = NODE_W

    def node(self, alias: str) -> NodeBox:
        return next(n for n in self.nodes if n.alias == alias)


def spec_key(tasks: Sequence[tuple[str, Sequence[str]]]) -> Spec:
    """A hashable key for a job spec: (alias, dependencies) in spec order."""
    return tuple((alias, tuple(deps)) for alias, deps in tasks)


def layout(tasks: Sequence[tuple[str, Sequence[str]]]) -> Layout:
    """Layout for (alias, dependencies) pairs in spec order (cached per spec)."""
    return _layout(spec_key(tasks))


@lru_cache(maxsize=512)
def _layout(spec: Spec) -> Layout:
    aliases = [a for a, _ in spec]
    known = set(aliases)
    index = {a: i for i, a in enumerate(aliases)}
    # Unknown dependencies are ignored; duplicates and self-loops dropped.
    deps = {a: [d for d in dict.fromkeys(ds) if d in known and d != a] for a, ds in spec}
    layer = _layers(aliases, deps, index)

    n_layers = max(layer.values(), default=-1) + 1
    layers: list[list[str]] = [[] for _ in range(n_layers)]
    for a in aliases:
        layers[layer[a]].append(a)
    children: dict[str, list[str]] = {a: [] for a in aliases}
    for a in aliases:
        for d in deps[a]:
            children[d].append(a)
    _order(layers, deps, children)

    pos = {a: (li, ri) for li, members in enumerate(layers) for ri, a in enumerate(members)}
    tallest = max((len(m) for m in layers), default=0)
    node_w = node_width(aliases)
    height = MARGIN * 2 + tallest * NODE_H + max(tallest - 1, 0) * GAP_Y
    width = MARGIN * 2 + n_layers * node_w + max(n_layers - 1, 0) * GAP_X

    def xy(alias: str) -> tuple[int, int]:
        li, ri = pos[alias]
        size = len(layers[li])
        # small graphs: centre each layer vertically; tall ones: top-align so the start of every
        # layer is visible without scrolling down
        offset = (tallest - size) * (NODE_H + GAP_Y) // 2 if tallest <= CENTRE_UP_TO else 0
        return MARGIN + li * (node_w + GAP_X), MARGIN + offset + ri * (NODE_H + GAP_Y)

    nodes = tuple(NodeBox(a, pos[a][0], pos[a][1], *xy(a)) for a in aliases)
    pairs = [(d, a) for a in aliases for d in deps[a]]
    edges = _route(pairs, {n.alias: n for n in nodes}, layer, node_w, height)
    return Layout(nodes, edges, width, height, node_w)


def node_width(aliases: Sequence[str]) -> int:
    """The nodes' width: room for the longest name (up to MAX_NAME characters)."""
    longest = min(max((len(a) for a in aliases), default=0), MAX_NAME)
    return max(NODE_W, NAME_PAD + CHAR_W * longest)


def _ports(ends: list[tuple[str, int]], top: int) -> dict[str, float]:
    """{other end: y} of a node's edges on one side, spread evenly along it in the order of
    the other ends' heights (so that they leave or arrive without crossing)."""
    ordered = sorted(ends, key=lambda e: e[1])
    n = len(ordered)
    return {other: top + NODE_H * (k + 1) / (n + 1) for k, (other, _) in enumerate(ordered)}


def _route(
    pairs: list[tuple[str, str]],
    box: dict[str, NodeBox],
    layer: dict[str, int],
    node_w: int,
    height: int,
) -> tuple[EdgePath, ...]:
    """Routed paths for (dependency, dependent) pairs: ports, channels, lanes (module doc)."""
    outs: dict[str, list[tuple[str, int]]] = {}
    ins: dict[str, list[tuple[str, int]]] = {}
    for d, a in pairs:
        outs.setdefault(d, []).append((a, box[a].y))
        ins.setdefault(a, []).append((d, box[d].y))
    out_y = {d: _ports(v, box[d].y) for d, v in outs.items()}
    in_y = {a: _ports(v, box[a].y) for a, v in ins.items()}
    by_layer: dict[int, list[NodeBox]] = {}
    for b in box.values():
        by_layer.setdefault(b.layer, []).append(b)

    # the turns each gap holds: (gap, sort key, edge index, which turn)
    turns: list[tuple[int, float, int, int]] = []
    plans: list[tuple[str, str, float, float, float | None]] = []
    for i, (d, a) in enumerate(pairs):
        y1, y2 = out_y[d][a], in_y[a][d]
        if layer[d] >= layer[a]:  # a back edge of a broken cycle: drawn plainly
            plans.append((d, a, y1, y2, None))
            continue
        lane = None
        if layer[a] - layer[d] > 1:
            between = [b for li in range(layer[d] + 1, layer[a]) for b in by_layer.get(li, [])]
            lane = _lane(y1, y2, between, height)
        plans.append((d, a, y1, y2, lane))
        first_to = y2 if lane is None else lane
        turns.append((layer[d], (y1 + first_to) / 2, i, 0))
        if lane is not None:
            turns.append((layer[a] - 1, (lane + y2) / 2, i, 1))
    channel: dict[tuple[int, int], float] = {}
    gaps: dict[int, list[tuple[float, int, int]]] = {}
    for gap, key, i, which in turns:
        gaps.setdefault(gap, []).append((key, i, which))
    for gap, members in gaps.items():
        start = MARGIN + (gap + 1) * node_w + gap * GAP_X + CORNER + 2
        room = GAP_X - ARROW_ROOM - 2 * CORNER - 4
        members.sort()
        n = len(members)
        for k, (_, i, which) in enumerate(members):
            channel[(i, which)] = round(start + room * (k + 1) / (n + 1), 1)

    edges: list[EdgePath] = []
    for i, (d, a, y1, y2, lane) in enumerate(plans):
        x1, x2 = box[d].x + node_w, box[a].x
        if (i, 0) not in channel:
            edges.append(EdgePath(d, a, f"M{x1},{_n(y1)} L{x2},{_n(y2)}"))
            continue
        c1 = channel[(i, 0)]
        if lane is None:
            points = [(x1, y1), (c1, y1), (c1, y2), (x2, y2)]
        else:
            c2 = channel[(i, 1)]
            points = [(x1, y1), (c1, y1), (c1, lane), (c2, lane), (c2, y2), (x2, y2)]
        edges.append(EdgePath(d, a, _rounded(points)))
    return tuple(edges)


def _lane(y1: float, y2: float, between: list[NodeBox], height: int) -> float:
    """The height at which an edge crosses the layers between its ends: one no node there
    covers, as near its ends as can be (above every node at worst)."""
    candidates = [y2, y1, MARGIN / 2, height - MARGIN / 2]
    for b in between:
        candidates += [b.y - GAP_Y / 2, b.y + NODE_H + GAP_Y / 2]

    def free(y: float) -> bool:
        return all(not (b.y - 3 <= y <= b.y + NODE_H + 3) for b in between)

    return min((y for y in candidates if free(y)), key=lambda y: abs(y - y1) + abs(y - y2))


def _n(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _rounded(points: list[tuple[float, float]]) -> str:
    """An orthogonal polyline (alternating horizontal and vertical runs) as path data with
    H and V runs and corners rounded by CORNER (less where a run is shorter)."""
    # drop zero-length runs (a turn where the two heights are the same)
    pts = [points[0]]
    for p in points[1:]:
        if p != pts[-1]:
            pts.append(p)
    clean = [pts[0]]
    for k in range(1, len(pts) - 1):
        a, b, c = clean[-1], pts[k], pts[k + 1]
        if (a[0] == b[0] == c[0]) or (a[1] == b[1] == c[1]):
            continue  # b is on a straight run
        clean.append(b)
    clean.append(pts[-1])
    out = [f"M{_n(clean[0][0])},{_n(clean[0][1])}"]
    for k in range(1, len(clean)):
        (px, py), (x, y) = clean[k - 1], clean[k]
        last = k == len(clean) - 1
        horizontal = py == y
        if last:
            out.append(f"H{_n(x)}" if horizontal else f"V{_n(y)}")
            continue
        nx, ny = clean[k + 1]
        r = min(CORNER, abs(x - px) / 2 or CORNER, abs(y - py) / 2 or CORNER)
        r = min(r, abs(nx - x) / 2 or CORNER, abs(ny - y) / 2 or CORNER)
        if horizontal:
            sx = 1 if x > px else -1
            sy = 1 if ny > y else -1
            out.append(f"H{_n(x - sx * r)} Q{_n(x)},{_n(y)} {_n(x)},{_n(y + sy * r)}")
        else:
            sy = 1 if y > py else -1
            sx = 1 if nx > x else -1
            out.append(f"V{_n(y - sy * r)} Q{_n(x)},{_n(y)} {_n(x + sx * r)},{_n(y)}")
    return " ".join(out)


def _layers(
    aliases: list[str], deps: dict[str, list[str]], index: dict[str, int]
) -> dict[str, int]:
    """Longest path from a root; cycles (invalid specs) are broken at the back edge."""
    layer: dict[str, int] = {}
    for a in sorted(aliases, key=index.__getitem__):
        _visit_iter(a, deps, layer)
    return layer


def _visit_iter(start: str, deps: dict[str, list[str]], layer: dict[str, int]) -> None:
    """Longest-path layer without recursion (a 128-task chain would be deep)."""
    stack: list[tuple[str, int]] = [(start, 0)]
    on_stack: set[str] = {start}
    while stack:
        a, i = stack[-1]
        if a in layer:
            stack.pop()
            on_stack.discard(a)
            continue
        ds = deps[a]
        if i < len(ds):
            stack[-1] = (a, i + 1)
            d = ds[i]
            if d not in layer and d not in on_stack:
                stack.append((d, 0))
                on_stack.add(d)
            continue
        layer[a] = max((layer[d] + 1 for d in ds if d in layer), default=0)
        stack.pop()
        on_stack.discard(a)


def _order(
    layers: list[list[str]], deps: dict[str, list[str]], children: dict[str, list[str]]
) -> None:
    """Barycenter sweeps down and up, in place; ties keep spec order (stable sort)."""
    for _ in range(4):
        for li in range(1, len(layers)):
            rank = {a: i for i, a in enumerate(layers[li - 1])}
            here = {a: i for i, a in enumerate(layers[li])}
            layers[li].sort(key=lambda a: _bary(deps[a], rank, here[a]))
        for li in range(len(layers) - 2, -1, -1):
            rank = {a: i for i, a in enumerate(layers[li + 1])}
            here = {a: i for i, a in enumerate(layers[li])}
            layers[li].sort(key=lambda a: _bary(children[a], rank, here[a]))


def _bary(neighbours: list[str], rank: dict[str, int], current: int) -> float:
    """Mean rank of the neighbours in the adjacent layer; a node without any keeps its place."""
    ranks = [rank[n] for n in neighbours if n in rank]
    return sum(ranks) / len(ranks) if ranks else float(current)
