"""Network rows written through the write path (network.sync) from typed Kuscia values, as the
poll would: nodes, routes with history, domain data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.utils import timezone

from connections.models import Connection
from kuscia import types as kt
from network import sync

FAILED_REASON = (
    "LastUpdateAt=2025-04-16 10:02:11 +0000 UTC, Message=DestinationUnreachable, "
    "Reason:DestinationUnreachable"
)


def domain(
    domain_id: str,
    status: str = "Ready",
    *,
    role: str = "",
    cert_days: int | None = None,
    now: dt.datetime | None = None,
) -> kt.Domain:
    now = now or timezone.now()
    agents = ()
    if role == "":
        agents = (
            kt.NodeStatus(
                name=f"kuscia-lite-{domain_id}",
                status=status,
                version="v1.1.0b0",
                last_heartbeat_time=now - dt.timedelta(seconds=20),
                last_transition_time=now - dt.timedelta(hours=1),
            ),
        )
    cert = kt.CertInfo()
    if cert_days is not None:
        cert = kt.CertInfo(present=True, not_after=now + dt.timedelta(days=cert_days))
    return kt.Domain(domain_id=domain_id, role=role, cert=cert, node_statuses=agents)


def route(source: str, destination: str, up: bool = True) -> kt.RouteStatus:
    return kt.RouteStatus(
        source=source,
        destination=destination,
        status="Succeeded" if up else "Failed",
        reason="" if up else FAILED_REASON,
    )


def populate(
    conn: Connection,
    domains: Sequence[str] = ("alice", "bob"),
    *,
    down: Sequence[tuple[str, str]] = (),
    hours: int = 0,
    at: dt.datetime | None = None,
) -> None:
    """Nodes for `domains`, a route for every ordered pair (the `down` ones Failed). With
    hours > 0, the first `down` route flips every hour over the last `hours` hours first."""
    now = at or timezone.now()
    start = now - dt.timedelta(hours=hours)
    sync.apply_domains(conn, [domain(d, now=start) for d in domains], observed_at=start)
    pairs = [(s, d) for s in domains for d in domains if s != d]
    sync.apply_route_statuses(conn, [route(s, d) for s, d in pairs], observed_at=start)
    if down and hours:
        flip = down[0]
        for h in range(1, hours):
            at_h = start + dt.timedelta(hours=h)
            sync.apply_route_statuses(conn, [route(*flip, up=bool(h % 2 == 0))], observed_at=at_h)
    sync.apply_route_statuses(
        conn, [route(s, d, up=(s, d) not in down) for s, d in pairs], observed_at=now
    )


def data_item(
    domain_id: str, item_id: str, *, type_: str = "table", columns: int = 3
) -> kt.DomainData:
    return kt.DomainData(
        domaindata_id=item_id,
        domain_id=domain_id,
        name=f"{item_id}.csv",
        type=type_,
        relative_uri=f"{item_id}.csv",
        datasource_id="default-data-source",
        vendor="manual",
        author=domain_id,
        columns=tuple(kt.DataColumn(f"c{i}", "float" if i else "str") for i in range(columns)),
        status="Available",
        file_format="UNKNOWN",
    )
