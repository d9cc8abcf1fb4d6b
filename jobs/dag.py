"""Server-side layered layout of a job's task graph, for an inline SVG.

Nodes are tasks (by alias), edges go from a dependency to its dependent. Layers are the longest
path from a root (left to right); order within a layer comes from a few barycenter sweeps,
which keeps edges short and mostly uncrossed. The layout depends only on the job spec (aliases
and dependencies), so it is computed once per spec and cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

NODE_W = 200
NODE_H = 64
GAP_X = 56
GAP_Y = 20
MARGIN = 12
CENTRE_UP_TO = 6

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
    height = MARGIN * 2 + tallest * NODE_H + max(tallest - 1, 0) * GAP_Y
    width = MARGIN * 2 + n_layers * NODE_W + max(n_layers - 1, 0) * GAP_X

    def xy(alias: str) -> tuple[int, int]:
        li, ri = pos[alias]
        size = len(layers[li])
        # small graphs: centre each layer vertically; tall ones: top-align so the start of every
        # layer is visible without scrolling down
        offset = (tallest - size) * (NODE_H + GAP_Y) // 2 if tallest <= CENTRE_UP_TO else 0
        return MARGIN + li * (NODE_W + GAP_X), MARGIN + offset + ri * (NODE_H + GAP_Y)

    nodes = tuple(NodeBox(a, pos[a][0], pos[a][1], *xy(a)) for a in aliases)
    edges: list[EdgePath] = []
    for a in aliases:
        tx, ty = xy(a)
        for d in deps[a]:
            sx, sy = xy(d)
            x1, y1 = sx + NODE_W, sy + NODE_H // 2
            x2, y2 = tx, ty + NODE_H // 2
            if layer[d] >= layer[a]:  # a back edge of a broken cycle: route it plainly
                edges.append(EdgePath(d, a, f"M{x1},{y1} L{x2},{y2}"))
                continue
            mid = (x1 + x2) // 2
            edges.append(EdgePath(d, a, f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"))
    return Layout(nodes, tuple(edges), width, height)


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
