"""Pure functions from Kuscia's typed replies and stored rows to what the console stores and
shows: a node's status from its agents, a route's history as a 24 h up/down strip."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kuscia import types as kt
from network.models import DEGRADED, GONE, NO_AGENT, NOT_READY, READY, ROUTE_UP


def node_status(domain: kt.Domain) -> tuple[str, str]:
    """(status, reason) of a domain from its agents: Ready when all are Ready, NotReady when
    none is, Degraded in between, NoAgent when Kuscia reports none (partner domains always:
    Kuscia does not report the health of a partner's node). The reason names the agents that
    are not Ready, as Kuscia does."""
    agents = domain.node_statuses
    if not agents:
        return NO_AGENT, ""
    bad = [a for a in agents if a.status != kt.NODE_READY]
    reason = "; ".join(f"{a.name} {a.status or '(no Ready condition)'}" for a in bad)
    if not bad:
        return READY, ""
    if len(bad) == len(agents):
        return NOT_READY, reason
    return DEGRADED, reason


def agents_json(domain: kt.Domain) -> list[dict[str, str]]:
    def iso(t: dt.datetime | None) -> str:
        return t.isoformat() if t else ""

    return [
        {
            "name": a.name,
            "status": a.status,
            "version": a.version,
            "last_heartbeat_time": iso(a.last_heartbeat_time),
            "last_transition_time": iso(a.last_transition_time),
        }
        for a in domain.node_statuses
    ]


def newest(times: Iterable[dt.datetime | None]) -> dt.datetime | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None


def versions(domain: kt.Domain) -> str:
    return ", ".join(sorted({a.version for a in domain.node_statuses if a.version}))[:200]


# ---------------------------------------------------------------------- the 24 h strip


@dataclass(frozen=True)
class Segment:
    start: float  # percent of the window
    width: float
    state: str  # "up", "down", "none" (not known / not there)
    since: dt.datetime
    until: dt.datetime


def _kind(status: str) -> str:
    if status in (ROUTE_UP, READY):
        return "up"
    if status in ("", GONE, NO_AGENT):
        return "none"
    return "down"


def strip(
    *,
    current: str,
    first_seen: dt.datetime,
    changes: Sequence[tuple[str, str, dt.datetime]],
    now: dt.datetime,
    window: dt.timedelta = dt.timedelta(hours=24),
) -> list[Segment]:
    """The window [now - window, now] as segments of up/down/none, from the current status and
    the changes (old, new, observed_at) inside the window, oldest first. Before the first
    change the status was that change's old status; with no change, the current one; before
    first_seen nothing is known."""
    start = now - window
    total = window.total_seconds()
    points: list[tuple[dt.datetime, str]] = []
    state = changes[0][0] if changes else current
    points.append((max(start, first_seen), state))
    for _old, new, at in changes:
        points.append((max(at, start), new))
    segments: list[Segment] = []
    if first_seen > start:
        segments.append(_segment(start, min(first_seen, now), "none", start, total))
    for i, (at, status) in enumerate(points):
        end = points[i + 1][0] if i + 1 < len(points) else now
        if end <= at:
            continue
        kind = _kind(status)
        if segments and segments[-1].state == kind:
            prev = segments.pop()
            segments.append(_segment(prev.since, end, kind, start, total))
        else:
            segments.append(_segment(at, end, kind, start, total))
    return segments


def _segment(
    since: dt.datetime, until: dt.datetime, state: str, start: dt.datetime, total: float
) -> Segment:
    return Segment(
        start=round((since - start).total_seconds() / total * 100, 3),
        width=round((until - since).total_seconds() / total * 100, 3),
        state=state,
        since=since,
        until=until,
    )


def down_share(segments: Sequence[Segment]) -> float:
    """Percent of the window a route was down (for the strip's text alternative)."""
    return round(sum(s.width for s in segments if s.state == "down"), 1)
