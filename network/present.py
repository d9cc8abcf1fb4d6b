"""What the network and data pages show, built from the named reads (network.querysets):
node cards merged across connections, the route matrix with 24 h strips, item uses. Pure
Python over rows already loaded, so each page costs a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from network import derive
from network.models import (
    DEGRADED,
    GONE,
    NO_AGENT,
    NOT_READY,
    READY,
    ROUTE_DOWN,
    ROUTE_UP,
    DataItem,
    DataUse,
    NetworkSync,
    Node,
    Route,
)
from network.querysets import HISTORY_PAGE, SourceCount

CERT_WARN = dt.timedelta(days=30)
HEARTBEAT_STALE = dt.timedelta(minutes=2)
WINDOW = dt.timedelta(hours=24)


# ---------------------------------------------------------------------- nodes


@dataclass
class NodeView:
    node: Node
    cert_state: str  # "", "ok", "soon" (< 30 days), "expired"
    cert_days: int | None
    heartbeat_stale: bool
    tokens: str  # e.g. "1 used, 1 unused"

    @property
    def status(self) -> str:
        return GONE if self.node.gone_at is not None else self.node.status


def node_view(node: Node, now: dt.datetime) -> NodeView:
    cert_state, days = "", None
    if node.cert_not_after is not None:
        left = node.cert_not_after - now
        days = left.days
        expired = left.total_seconds() <= 0
        cert_state = "expired" if expired else "soon" if left < CERT_WARN else "ok"
    counts: dict[str, int] = defaultdict(int)
    for t in node.deploy_tokens or ():
        counts[t.get("state", "")] += 1
    tokens = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()) if state)
    stale = bool(
        node.last_heartbeat is not None
        and node.status != NO_AGENT
        and now - node.last_heartbeat > HEARTBEAT_STALE
    )
    return NodeView(node, cert_state, days, stale, tokens)


@dataclass
class NodeCard:
    domain_id: str
    views: list[NodeView]

    @property
    def statuses(self) -> set[str]:
        return {v.status for v in self.views}

    @property
    def status(self) -> str:
        """The one status the card shows; with disagreeing connections the worst of theirs."""
        order = (NOT_READY, DEGRADED, GONE, NO_AGENT, READY)
        present = self.statuses
        return next((s for s in order if s in present), "")

    @property
    def disagree(self) -> bool:
        live = {v.status for v in self.views if v.status not in (GONE, NO_AGENT)}
        return len(live) > 1


def node_cards(nodes: Iterable[Node], now: dt.datetime) -> list[NodeCard]:
    """One card per domain; a domain several connections report shows each one's view."""
    cards: dict[str, NodeCard] = {}
    for node in nodes:
        card = cards.setdefault(node.domain_id, NodeCard(node.domain_id, []))
        card.views.append(node_view(node, now))
    # problems first, then by domain
    rank = {NOT_READY: 0, DEGRADED: 1, GONE: 3, NO_AGENT: 2, READY: 4}
    return sorted(cards.values(), key=lambda c: (rank.get(c.status, 5), c.domain_id))


CARDS_MAX = 24  # nodes shown as full cards; beyond, the healthy ones are listed compactly


def healthy(card: NodeCard) -> bool:
    return (
        card.status == READY
        and not card.disagree
        and all(v.cert_state in ("", "ok") and not v.heartbeat_stale for v in card.views)
    )


def split_cards(cards: list[NodeCard]) -> tuple[list[NodeCard], list[NodeCard]]:
    """(full cards, compact ones): every card while there are few; else the healthy nodes
    (Ready, certificate fine, fresh heartbeat, connections agreeing) compactly."""
    if len(cards) <= CARDS_MAX:
        return cards, []
    return [c for c in cards if not healthy(c)], [c for c in cards if healthy(c)]


def cap_cards(cards: list[NodeCard]) -> tuple[list[NodeCard], list[NodeCard]]:
    """(full cards, the rest as chips): at most CARDS_MAX full cards, the worst first (when a
    poll stalls every heartbeat looks old, and a hundred full cards help nobody)."""
    return cards[:CARDS_MAX], cards[CARDS_MAX:]


# ---------------------------------------------------------------------- routes


@dataclass
class RouteView:
    route: Route
    segments: list[derive.Segment]
    down_percent: float

    @property
    def status(self) -> str:
        return GONE if self.route.gone_at is not None else self.route.status


@dataclass
class Cell:
    source: str
    destination: str
    views: list[RouteView] = field(default_factory=list)

    @property
    def status(self) -> str:
        statuses = {v.status for v in self.views}
        if not statuses:
            return ""
        if ROUTE_DOWN in statuses:
            return ROUTE_DOWN
        if statuses == {GONE}:
            return GONE
        return ROUTE_UP if ROUTE_UP in statuses else next(iter(statuses))

    @property
    def disagree(self) -> bool:
        return len({v.status for v in self.views if v.status != GONE}) > 1

    @property
    def first(self) -> RouteView | None:
        return self.views[0] if self.views else None


def route_views(
    routes: Sequence[Route], window: Sequence[tuple[int, str, str, Any]], now: dt.datetime
) -> list[RouteView]:
    changes: dict[int, list[tuple[str, str, dt.datetime]]] = defaultdict(list)
    for route_id, old, new, at in window:
        changes[route_id].append((old, new, at))
    out = []
    for r in routes:
        segs = derive.strip(
            current=GONE if r.gone_at is not None else r.status,
            first_seen=r.first_seen,
            changes=changes.get(r.pk, []),
            now=now,
            window=WINDOW,
        )
        out.append(RouteView(r, segs, derive.down_share(segs)))
    return out


@dataclass
class Matrix:
    domains: list[str]
    rows: list[tuple[str, list[Cell | None]]]  # None on the diagonal

    @property
    def empty(self) -> bool:
        return not self.domains


def matrix(views: Sequence[RouteView], domains: Iterable[str]) -> Matrix:
    ends = {v.route.source for v in views} | {v.route.destination for v in views}
    names = sorted(set(domains) | ends)
    cells: dict[tuple[str, str], Cell] = {}
    for v in views:
        key = (v.route.source, v.route.destination)
        cells.setdefault(key, Cell(*key)).views.append(v)
    rows = []
    for s in names:
        rows.append((s, [None if s == d else cells.get((s, d)) or Cell(s, d) for d in names]))
    return Matrix(names, rows)


def route_problems_first(views: Sequence[RouteView]) -> list[RouteView]:
    rank = {ROUTE_DOWN: 0, GONE: 2, ROUTE_UP: 3}
    return sorted(
        views,
        key=lambda v: (rank.get(v.status, 1), v.route.source, v.route.destination),
    )


MATRIX_MAX = 30  # domains up to which the route matrix is drawn (a 30 x 30 grid)
LIST_MAX = 200  # routes listed one by one without asking; beyond, the problems only
PROBLEMS_MAX = 25  # problem routes listed when there are many (newest first); rest per source


@dataclass
class RoutePlan:
    """What /network/ draws, decided from the routes counted per source domain (bounded
    whatever the number of routes): the matrix up to MATRIX_MAX domains (else a table of
    routes per source domain), the list of every route up to LIST_MAX or when asked (one
    source domain's, or ?routes=all), else the first PROBLEMS_MAX routes not Succeeded."""

    names: list[str]
    draw_matrix: bool
    everything: bool  # list every route chosen (else the problems only)
    hidden_up: int  # Succeeded routes not listed (ask ?routes=all)
    down: int  # routes not Succeeded (not gone) among those chosen
    sources: list[tuple[str, int, int, int]]  # (domain, up, down, gone) when no matrix
    source: str  # the ?source= filter
    total: int

    @property
    def sources_with_problems(self) -> list[tuple[str, int, int, int]]:
        """The per-source table's rows: sources with a route down or gone, the most routes
        down first."""
        rows = [s for s in self.sources if s[2] or s[3]]
        return sorted(rows, key=lambda s: (-s[2], -s[3], s[0]))

    @property
    def sources_all_up(self) -> list[str]:
        """Sources whose every route is Succeeded (one line of links, not a table row each)."""
        return [s[0] for s in self.sources if not (s[2] or s[3])]

    @property
    def problems_only(self) -> int | None:
        """How many problem routes to read (None: not problems only)."""
        return None if self.everything else PROBLEMS_MAX


def plan_routes(
    counts: Sequence[SourceCount],
    domains: Iterable[str],
    *,
    show_all: bool = False,
    source: str = "",
) -> RoutePlan:
    # a route's destination is a domain the poll asks about, so it has a node: the names are
    # the nodes' domains and the routes' sources (the matrix adds any other end it draws)
    names = sorted(set(domains) | {c.source for c in counts})
    draw_matrix = len(names) <= MATRIX_MAX
    chosen = [c for c in counts if not source or c.source == source]
    routes = sum(c.up + c.down + c.gone for c in chosen)
    everything = show_all or bool(source) or routes <= LIST_MAX
    up = sum(c.up for c in chosen)
    return RoutePlan(
        names=names,
        draw_matrix=draw_matrix,
        everything=everything,
        hidden_up=0 if everything else up,
        down=sum(c.down for c in chosen),
        sources=[] if draw_matrix else [(c.source, c.up, c.down, c.gone) for c in counts],
        source=source,
        total=sum(c.up + c.down + c.gone for c in counts),
    )


@dataclass
class RouteListing:
    plan: RoutePlan
    matrix: Matrix | None
    listed: list[RouteView]

    @property
    def hidden_problems(self) -> int:
        """Problem routes not listed (beyond PROBLEMS_MAX)."""
        if self.plan.everything:
            return 0
        shown = sum(1 for v in self.listed if v.route.gone_at is None)
        return max(self.plan.down - shown, 0)


def route_listing(plan: RoutePlan, views: Sequence[RouteView]) -> RouteListing:
    chosen = [v for v in views if not plan.source or v.route.source == plan.source]
    if not plan.everything:
        chosen = [v for v in chosen if v.status != ROUTE_UP][:PROBLEMS_MAX]
    return RouteListing(
        plan=plan,
        matrix=matrix(views, plan.names) if plan.draw_matrix else None,
        listed=route_problems_first(chosen),
    )


# ---------------------------------------------------------------------- history pages


@dataclass
class History:
    rows: list[Any]
    older: int | None  # the `before` id of the next (older) page


def history(rows: list[Any]) -> History:
    more = len(rows) > HISTORY_PAGE
    rows = rows[:HISTORY_PAGE]
    return History(rows, rows[-1].pk if more and rows else None)


# ---------------------------------------------------------------------- sync state


@dataclass
class PollHealth:
    connection: str
    facets: dict[str, list[str]]
    last_success: dt.datetime | None
    failing: bool
    kind: str
    message: str
    hint: str
    last_inventory: dt.datetime | None


def poll_health(states: Iterable[NetworkSync]) -> list[PollHealth]:
    out = []
    for s in states:
        failing = bool(
            s.last_error_at and (s.last_success is None or s.last_error_at >= s.last_success)
        )
        out.append(
            PollHealth(
                connection=s.connection.name,
                facets=s.data_facets or {},
                last_success=s.last_success,
                failing=failing,
                kind=s.last_error_kind,
                message=s.last_error_message,
                hint=s.last_error_hint,
                last_inventory=s.last_inventory,
            )
        )
    return out


# ---------------------------------------------------------------------- data


def merged_facets(polls: Iterable[PollHealth]) -> dict[str, list[str]]:
    """The /data/ filter's choices over the connections shown."""
    domains: set[str] = set()
    types: set[str] = set()
    for p in polls:
        domains.update(p.facets.get("domains", ()))
        types.update(p.facets.get("types", ()))
    return {"domains": sorted(domains), "types": sorted(types)}


def uses_of(item: DataItem, uses: Iterable[DataUse], limit: int = 100) -> list[DataUse]:
    """The uses of an id that concern this item: tasks with this item's domain as a party
    (the same id can name other domains' data), or with no party list known."""
    out = [u for u in uses if not u.parties or item.domain_id in u.parties]
    return out[:limit]


def column_types(item: DataItem) -> list[tuple[str, int]]:
    counts: dict[str, int] = defaultdict(int)
    for c in item.columns or ():
        counts[str(c.get("type", ""))] += 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
