"""The one write path of the network and data inventory: apply what Kuscia answered to the
local rows. Only changes are written (an unchanged node, route or data item costs no write);
every status change of a node or route is recorded as a transition (time, old -> new, reason);
what Kuscia no longer has is marked gone (gone_at), never deleted, and un-marked if it returns.

network.poll decides what to ask Kuscia and calls these; the data actions (network.actions)
call them too after a change so the pages show it at once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q

from connections.models import Connection
from kuscia import types as kt
from kuscia.wire_network import parse_route_reason
from network import derive
from network.models import (
    GONE,
    Absent,
    DataItem,
    DataSourceItem,
    GrantItem,
    Node,
    NodeTransition,
    Route,
    RouteTransition,
)
from network.signals import network_changed

log = logging.getLogger(__name__)


@dataclass
class NetWrites:
    """Rows written by one call of the write path."""

    nodes: int = 0
    node_transitions: int = 0
    routes: int = 0
    route_transitions: int = 0
    data: int = 0
    gone: int = 0
    absent: int = 0

    @property
    def rows(self) -> int:
        return sum(getattr(self, f.name) for f in dataclasses.fields(self))

    def add(self, other: NetWrites) -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, int]:
        return {**dataclasses.asdict(self), "rows": self.rows}


def _set(obj: Any, name: str, value: Any, changed: set[str]) -> None:
    if getattr(obj, name) != value:
        setattr(obj, name, value)
        changed.add(name)


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


# ====================================================================== nodes


def apply_domains(
    connection: Connection,
    domains: Sequence[kt.Domain],
    *,
    missing: Iterable[str] = (),
    observed_at: datetime,
) -> NetWrites:
    """A domain/batchQuery answer (and the ids Kuscia said it does not have)."""
    w = NetWrites()
    missing = sorted(set(missing))
    with transaction.atomic():
        ids = [d.domain_id for d in domains] + missing
        existing = {
            n.domain_id: n
            for n in Node.objects.select_for_update().filter(
                connection=connection, domain_id__in=ids
            )
        }
        for d in domains:
            _apply_domain(connection, existing.get(d.domain_id), d, observed_at, w)
        for domain_id in missing:
            node = existing.get(domain_id)
            if node is not None and node.gone_at is None:
                _node_transition(node, GONE, "", None, observed_at, w)
                node.gone_at = observed_at
                node.last_changed = observed_at
                node.save(update_fields=["gone_at", "last_changed"])
                w.gone += 1
        if domains:
            Absent.objects.filter(
                connection=connection,
                kind=Absent.Kind.DOMAIN,
                source__in=[d.domain_id for d in domains],
            ).delete()
        keys = [(i, "") for i in missing]
        w.absent += _record_absent(connection, Absent.Kind.DOMAIN, keys, observed_at)
    _announce(connection, w)
    return w


def _announce(connection: Connection, w: NetWrites) -> None:
    """Tell the apps above (alerts' node and route rules) that states changed, once the
    writes are committed; nothing when no transition was recorded."""
    if not (w.node_transitions or w.route_transitions):
        return
    nodes, routes = w.node_transitions, w.route_transitions
    transaction.on_commit(
        lambda: network_changed.send_robust(Node, connection=connection, nodes=nodes, routes=routes)
    )


def _apply_domain(
    connection: Connection, node: Node | None, d: kt.Domain, at: datetime, w: NetWrites
) -> None:
    status, reason = derive.node_status(d)
    fields: dict[str, Any] = {
        "role": d.role,
        "reason": reason,
        "agents": derive.agents_json(d),
        "version": derive.versions(d),
        "last_heartbeat": derive.newest(a.last_heartbeat_time for a in d.node_statuses),
        "kuscia_since": derive.newest(a.last_transition_time for a in d.node_statuses),
        "cert_present": d.cert.present,
        "cert_not_after": d.cert.not_after,
    }
    if node is None:
        node = Node.objects.create(
            connection=connection,
            domain_id=d.domain_id,
            status=status,
            since=at,
            first_seen=at,
            last_changed=at,
            **fields,
        )
        w.nodes += 1
        _node_transition(node, status, reason, fields["kuscia_since"], at, w, old="")
        return
    changed: set[str] = set()
    for name, value in fields.items():
        _set(node, name, value, changed)
    if node.gone_at is not None:
        _node_transition(node, status, reason, fields["kuscia_since"], at, w, old=GONE)
        node.gone_at = None
        changed |= {"gone_at", "since"}
        node.since = at
    elif node.status != status:
        _node_transition(node, status, reason, fields["kuscia_since"], at, w)
        node.since = at
        changed.add("since")
    _set(node, "status", status, changed)
    if changed:
        node.last_changed = at
        node.save(update_fields=sorted(changed | {"last_changed"}))
        w.nodes += 1


def _node_transition(
    node: Node,
    new: str,
    reason: str,
    kuscia_time: datetime | None,
    at: datetime,
    w: NetWrites,
    *,
    old: str | None = None,
) -> None:
    NodeTransition.objects.create(
        node=node,
        old_status=node.status if old is None else old,
        new_status=new,
        reason=reason,
        kuscia_time=kuscia_time,
        observed_at=at,
    )
    w.node_transitions += 1


def apply_domain_detail(connection: Connection, d: kt.Domain, *, observed_at: datetime) -> bool:
    """domain/query's extra fields (deploy token states, auth, master) on a known node; the
    status fields come from the batch. Returns whether the row changed."""
    with transaction.atomic():
        node = (
            Node.objects.select_for_update()
            .filter(connection=connection, domain_id=d.domain_id)
            .first()
        )
        if node is None:
            return False
        changed: set[str] = set()
        tokens = [
            {
                "state": t.state,
                "since": t.last_transition_time.isoformat() if t.last_transition_time else "",
            }
            for t in d.deploy_token_statuses
        ]
        _set(node, "deploy_tokens", tokens, changed)
        _set(node, "auth_type", d.auth_center.authentication_type if d.auth_center else "", changed)
        _set(node, "master_domain_id", d.master_domain_id, changed)
        node.detail_at = observed_at
        node.save(update_fields=sorted(changed | {"detail_at"}))
        return bool(changed)


# ====================================================================== routes


def apply_route_statuses(
    connection: Connection,
    statuses: Sequence[kt.RouteStatus],
    *,
    missing: Iterable[tuple[str, str]] = (),
    observed_at: datetime,
) -> NetWrites:
    """A route/status/batchQuery answer (and the pairs Kuscia said it does not have)."""
    w = NetWrites()
    missing = sorted(set(missing))
    keys = [(s.source, s.destination) for s in statuses] + missing
    with transaction.atomic():
        existing = {
            (r.source, r.destination): r
            for r in Route.objects.select_for_update().filter(
                connection=connection,
                source__in={k[0] for k in keys},
                destination__in={k[1] for k in keys},
            )
        }
        for s in statuses:
            _apply_route(connection, existing.get((s.source, s.destination)), s, observed_at, w)
        for pair in missing:
            route = existing.get(pair)
            if route is not None and route.gone_at is None:
                _route_transition(route, GONE, "", "", None, observed_at, w)
                route.gone_at = observed_at
                route.last_changed = observed_at
                route.save(update_fields=["gone_at", "last_changed"])
                w.gone += 1
        if statuses:
            found = Q()
            for s in statuses:
                found |= Q(source=s.source, destination=s.destination)
            Absent.objects.filter(connection=connection, kind=Absent.Kind.ROUTE).filter(
                found
            ).delete()
        w.absent += _record_absent(connection, Absent.Kind.ROUTE, missing, observed_at)
    _announce(connection, w)
    return w


def _apply_route(
    connection: Connection, route: Route | None, s: kt.RouteStatus, at: datetime, w: NetWrites
) -> None:
    why = parse_route_reason(s.reason) if s.reason else kt.RouteReason()
    code = why.reason or why.message
    fields: dict[str, Any] = {
        "reason": s.reason,
        "reason_code": code[:64],
        "kuscia_updated_at": why.updated_at,
    }
    if route is None:
        route = Route.objects.create(
            connection=connection,
            source=s.source,
            destination=s.destination,
            status=s.status,
            since=at,
            first_seen=at,
            last_changed=at,
            **fields,
        )
        w.routes += 1
        _route_transition(route, s.status, s.reason, code, why.updated_at, at, w, old="")
        return
    changed: set[str] = set()
    if route.gone_at is not None:
        _route_transition(route, s.status, s.reason, code, why.updated_at, at, w, old=GONE)
        route.gone_at = None
        route.since = at
        changed |= {"gone_at", "since"}
    elif route.status != s.status or (s.status != kt.ROUTE_SUCCEEDED and route.reason_code != code):
        # a Failed route whose reason changes (e.g. HeartBeatTimeout -> DestinationUnreachable)
        # is a transition too: the history says why it was down, not only that it was
        _route_transition(route, s.status, s.reason, code, why.updated_at, at, w)
        if route.status != s.status:
            route.since = at
            changed.add("since")
    _set(route, "status", s.status, changed)
    for name, value in fields.items():
        _set(route, name, value, changed)
    if changed:
        route.last_changed = at
        route.save(update_fields=sorted(changed | {"last_changed"}))
        w.routes += 1


def _route_transition(
    route: Route,
    new: str,
    reason: str,
    code: str,
    kuscia_time: datetime | None,
    at: datetime,
    w: NetWrites,
    *,
    old: str | None = None,
) -> None:
    RouteTransition.objects.create(
        route=route,
        old_status=route.status if old is None else old,
        new_status=new,
        reason=reason,
        reason_code=code[:64],
        kuscia_time=kuscia_time,
        observed_at=at,
    )
    w.route_transitions += 1


def apply_route_detail(
    connection: Connection, detail: kt.RouteDetail, *, observed_at: datetime
) -> bool:
    """route/query's endpoint and authentication on a known route (never secrets)."""
    with transaction.atomic():
        route = (
            Route.objects.select_for_update()
            .filter(connection=connection, source=detail.source, destination=detail.destination)
            .first()
        )
        if route is None:
            return False
        certs = []
        if detail.mtls_config is not None:
            certs = [
                c.not_after
                for c in (detail.mtls_config.tls_ca, detail.mtls_config.source_client_cert)
                if c.not_after is not None
            ]
        transit = ""
        if detail.transit is not None:
            transit = f"{detail.transit.transit_method} {detail.transit.domain_id}".strip()
        changed: set[str] = set()
        _set(route, "authentication_type", detail.authentication_type, changed)
        _set(route, "endpoint_host", detail.endpoint.host, changed)
        _set(
            route,
            "endpoint_ports",
            [dataclasses.asdict(p) for p in detail.endpoint.ports],
            changed,
        )
        _set(route, "transit", transit[:100], changed)
        _set(route, "cert_not_after", min(certs) if certs else None, changed)
        route.detail_at = observed_at
        route.save(update_fields=sorted(changed | {"detail_at"}))
        return bool(changed)


def _record_absent(
    connection: Connection, kind: str, keys: Sequence[tuple[str, str]], at: datetime
) -> int:
    written = 0
    for source, destination in keys:
        updated = Absent.objects.filter(
            connection=connection, kind=kind, source=source, destination=destination
        ).update(checked_at=at)
        if not updated:
            Absent.objects.create(
                connection=connection,
                kind=kind,
                source=source,
                destination=destination,
                checked_at=at,
            )
        written += 1
    return written


# ====================================================================== inventory


def _data_fields(d: kt.DomainData) -> dict[str, Any]:
    columns = [dataclasses.asdict(c) for c in d.columns]
    return {
        "name": d.name[:255],
        "type": d.type[:32],
        "relative_uri": d.relative_uri,
        "datasource_id": d.datasource_id[:253],
        "vendor": d.vendor[:64],
        "author": d.author[:63],
        "file_format": d.file_format[:16],
        "status": d.status[:32],
        "attributes": dict(d.attributes),
        "columns": columns,
        "column_count": len(columns),
    }


def apply_domaindata(
    connection: Connection,
    domain_id: str,
    items: Sequence[kt.DomainData],
    *,
    observed_at: datetime,
    complete: bool = True,
) -> NetWrites:
    """A domain's DomainData as Kuscia listed it. complete=True (a whole domaindata/list):
    the domain's items not in `items` are marked gone. complete=False (one item re-queried
    after an action): only the given items are written."""
    by_id = {d.domaindata_id: _data_fields(d) for d in items if d.domain_id in ("", domain_id)}
    return _apply_inventory(
        DataItem,
        connection,
        domain_id,
        "domaindata_id",
        by_id,
        observed_at=observed_at,
        complete=complete,
    )


def refresh_facets(connection: Connection) -> None:
    """Store the /data/ filter's domains and types for this connection."""
    from network.models import NetworkSync

    facets = DataItem.objects.facets_of(connection.pk)
    updated = NetworkSync.objects.filter(connection=connection).update(data_facets=facets)
    if not updated:
        NetworkSync.objects.get_or_create(connection=connection, defaults={"data_facets": facets})


def mark_data_gone(
    connection: Connection, domain_id: str, domaindata_id: str, *, observed_at: datetime
) -> NetWrites:
    """One item Kuscia no longer has (deleted here, or not found)."""
    w = NetWrites()
    w.gone = DataItem.objects.filter(
        connection=connection,
        domain_id=domain_id,
        domaindata_id=domaindata_id,
        gone_at__isnull=True,
    ).update(gone_at=observed_at, last_changed=observed_at)
    return w


def _location(info: kt.DataSourceInfo | None) -> str:
    if info is None:
        return ""
    parts = [info.path, info.endpoint, info.bucket, info.prefix, info.database, info.project]
    return " ".join(p for p in parts if p)


def apply_datasources(
    connection: Connection,
    domain_id: str,
    items: Sequence[kt.DomainDataSource],
    *,
    observed_at: datetime,
) -> NetWrites:
    by_id = {
        s.datasource_id: {
            "name": s.name[:255],
            "type": s.type[:32],
            "location": _location(s.info),
            "access_directly": s.access_directly,
        }
        for s in items
    }
    return _apply_inventory(
        DataSourceItem, connection, domain_id, "datasource_id", by_id, observed_at=observed_at
    )


def apply_grants(
    connection: Connection,
    domain_id: str,
    items: Sequence[kt.DomainDataGrant],
    *,
    observed_at: datetime,
    complete: bool = True,
) -> NetWrites:
    by_id = {
        g.domaindatagrant_id: {
            "domaindata_id": g.domaindata_id[:253],
            "grant_domain": g.grant_domain[:63],
            "author": g.author[:63],
            "phase": g.phase[:16],
            "message": g.message,
            "expires_at": g.limit.expiration_time if g.limit else None,
            "use_count": g.limit.use_count if g.limit else 0,
            "components": list(g.limit.components) if g.limit else [],
            "uses": len(g.records),
        }
        for g in items
    }
    return _apply_inventory(
        GrantItem,
        connection,
        domain_id,
        "grant_id",
        by_id,
        observed_at=observed_at,
        complete=complete,
    )


def mark_grant_gone(
    connection: Connection, domain_id: str, grant_id: str, *, observed_at: datetime
) -> int:
    return GrantItem.objects.filter(
        connection=connection, domain_id=domain_id, grant_id=grant_id, gone_at__isnull=True
    ).update(gone_at=observed_at, last_changed=observed_at)


def _apply_inventory(
    model: Any,
    connection: Connection,
    domain_id: str,
    key: str,
    by_id: dict[str, dict[str, Any]],
    *,
    observed_at: datetime,
    complete: bool = True,
) -> NetWrites:
    """Insert new items, update changed ones (by digest), mark missing ones gone (complete
    lists only) and bring back gone ones that reappear."""
    w = NetWrites()
    with transaction.atomic():
        rows = model.objects.filter(connection=connection, domain_id=domain_id)
        if not complete:
            rows = rows.filter(**{f"{key}__in": list(by_id)})
        rows = rows.select_for_update().only("id", key, "digest", "gone_at")
        stored = {getattr(r, key): r for r in rows}
        new = []
        for item_id, fields in by_id.items():
            digest = _digest(fields)
            row = stored.get(item_id)
            if row is None:
                new.append(
                    model(
                        connection=connection,
                        domain_id=domain_id,
                        digest=digest,
                        first_seen=observed_at,
                        last_changed=observed_at,
                        **{key: item_id},
                        **fields,
                    )
                )
            elif row.digest != digest or row.gone_at is not None:
                model.objects.filter(pk=row.pk).update(
                    digest=digest, gone_at=None, last_changed=observed_at, **fields
                )
                w.data += 1
        if new:
            model.objects.bulk_create(new, batch_size=500)
            w.data += len(new)
        if complete:
            gone = [r.pk for i, r in stored.items() if i not in by_id and r.gone_at is None]
            if gone:
                w.gone += model.objects.filter(pk__in=gone).update(
                    gone_at=observed_at, last_changed=observed_at
                )
    return w
