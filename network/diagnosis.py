"""The network around a failed job: the state of its parties' nodes and of the routes between
them during the job's run window, from the recorded transitions ("route bob→alice was Failed
from 10:02:11 to 10:07:40: DestinationUnreachable"), plus what Kuscia's own task message
names (`cdr-check bob to alice failed with ...`, `resource-check no node status available for
domain bob`). Four queries whatever the number of parties."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from network.models import (
    DEGRADED,
    GONE,
    NOT_READY,
    ROUTE_DOWN,
    Node,
    NodeTransition,
    Route,
    RouteTransition,
)

MARGIN = dt.timedelta(days=7)  # how far around the window transitions are read
BAD = frozenset({ROUTE_DOWN, NOT_READY, DEGRADED, GONE})
CDR_CHECK = re.compile(r"cdr-check (\S+) to (\S+) failed with (\S+)")
RESOURCE_CHECK = re.compile(
    r"resource-check no node (?:status available for domain|cache to) (\S+)"
)


@dataclass
class Period:
    status: str
    start: dt.datetime
    end: dt.datetime
    reason: str = ""
    open_start: bool = False  # began before the window (or before the console saw it)
    open_end: bool = False  # still so when the window ended


@dataclass
class Finding:
    kind: str  # "route" or "node"
    name: str  # "bob → alice" or "bob"
    obj: Any  # the Route or Node row (for its page's link)
    bad: list[Period] = field(default_factory=list)
    unknown_before: dt.datetime | None = None  # the console first saw it inside the window
    named_by_kuscia: str = ""  # the task message's reason naming it

    @property
    def ok(self) -> bool:
        return not self.bad


@dataclass
class Diagnosis:
    start: dt.datetime
    end: dt.datetime
    findings: list[Finding]
    missing_routes: list[str]  # pairs among the parties with no route known to the console

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.bad or f.named_by_kuscia]

    @property
    def fine(self) -> list[Finding]:
        return [f for f in self.findings if not (f.bad or f.named_by_kuscia)]


def failure_messages(job: Any) -> list[str]:
    """The job's, its tasks' and its parties' error texts (two queries)."""
    from jobs.models import PartyStatus, Task

    texts = [job.err_msg]
    texts += Task.objects.filter(job=job).exclude(err_msg="").values_list("err_msg", flat=True)
    texts += (
        PartyStatus.objects.filter(task__job=job)
        .exclude(err_msg="")
        .values_list("err_msg", flat=True)
    )
    return [t for t in texts if t]


def window_of(job: Any, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start = job.start_time or job.create_time or job.first_seen
    end = job.end_time or (job.last_changed if job.is_terminal else now)
    return start, max(end, start)


def named_in(messages: Sequence[str]) -> tuple[dict[tuple[str, str], str], dict[str, str]]:
    """Routes and nodes Kuscia's task messages name: {(src, dst): reason}, {domain: text}."""
    routes: dict[tuple[str, str], str] = {}
    nodes: dict[str, str] = {}
    for text in messages:
        for src, dst, why in CDR_CHECK.findall(text or ""):
            routes[(src, dst)] = why.rstrip(";,.")
        for domain in RESOURCE_CHECK.findall(text or ""):
            nodes[domain.rstrip(";,.")] = "resource-check"
    return routes, nodes


def periods(
    *,
    current: str,
    since: dt.datetime,
    changes: Sequence[tuple[str, str, dt.datetime, str]],
    start: dt.datetime,
    end: dt.datetime,
) -> list[Period]:
    """The bad periods inside [start, end] from the changes (old, new, at, reason) read around
    the window, oldest first, and the current status (valid since `since`)."""
    before = [c for c in changes if c[2] < start]
    inside = [c for c in changes if start <= c[2] <= end]
    after = [c for c in changes if c[2] > end]
    if before:
        state, reason = before[-1][1], before[-1][3]
    elif inside:
        state, reason = inside[0][0], ""
    elif after:
        state, reason = after[0][0], ""
    else:
        state, reason = current, ""
    out: list[Period] = []
    at, opened = start, True
    for _old, new, when, why in inside:
        if state in BAD and when > at:
            out.append(Period(state, at, when, reason, open_start=opened))
        state, reason, at, opened = new, why, when, False
    if state in BAD and end >= at:
        out.append(Period(state, at, end, reason, open_start=opened, open_end=True))
    return out


def diagnose(job: Any, messages: Sequence[str] = (), now: dt.datetime | None = None) -> Diagnosis:
    now = now or timezone.now()
    start, end = window_of(job, now)
    parties = sorted(set(job.parties or ()))
    named_routes, named_nodes = named_in(messages)
    nodes = list(Node.objects.of_parties(job.connection_id, parties))
    routes = list(Route.objects.between(parties, job.connection_id))
    lo, hi = start - MARGIN, end + MARGIN
    node_changes: dict[int, list[tuple[str, str, dt.datetime, str]]] = defaultdict(list)
    for t in NodeTransition.objects.filter(
        node__in=nodes, observed_at__gte=lo, observed_at__lte=hi
    ).order_by("node_id", "observed_at", "id"):
        node_changes[t.node_id].append((t.old_status, t.new_status, t.observed_at, t.reason))
    route_changes: dict[int, list[tuple[str, str, dt.datetime, str]]] = defaultdict(list)
    for rt in RouteTransition.objects.filter(
        route__in=routes, observed_at__gte=lo, observed_at__lte=hi
    ).order_by("route_id", "observed_at", "id"):
        route_changes[rt.route_id].append(
            (rt.old_status, rt.new_status, rt.observed_at, rt.reason_code or rt.reason)
        )
    findings: list[Finding] = []
    for node in nodes:
        current = GONE if node.gone_at else node.status
        f = Finding("node", node.domain_id, node)
        f.bad = periods(
            current=current, since=node.since, changes=node_changes[node.pk], start=start, end=end
        )
        f.unknown_before = node.first_seen if node.first_seen > start else None
        f.named_by_kuscia = named_nodes.get(node.domain_id, "")
        findings.append(f)
    for r in routes:
        current = GONE if r.gone_at else r.status
        f = Finding("route", f"{r.source} → {r.destination}", r)
        f.bad = periods(
            current=current, since=r.since, changes=route_changes[r.pk], start=start, end=end
        )
        f.unknown_before = r.first_seen if r.first_seen > start else None
        f.named_by_kuscia = named_routes.get((r.source, r.destination), "")
        findings.append(f)
    have = {(r.source, r.destination) for r in routes}
    missing = [f"{s} → {d}" for s in parties for d in parties if s != d and (s, d) not in have]
    return Diagnosis(start, end, findings, missing)
