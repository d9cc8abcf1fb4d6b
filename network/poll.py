"""The network poll of one connection: what to ask Kuscia, asking it, and handing the answers
to the write path (network.sync).

Kuscia has no call that lists domains or routes, so the keys come from what the console knows:
the connection's local domain, KUSCIA_NETWORK_DOMAINS, the parties of its jobs, the nodes it
already has, and for routes the pairs of those domains (P2P: only the local domain's outbound
routes, the only ones an autonomy node holds). domain/batchQuery and route/status/batchQuery
fail the whole batch on one unknown key (11305 / 11404, naming it): that key is dropped and
remembered as absent (network.models.Absent), and the batch is sent again. So a steady cycle
is one request per kind; keys never seen before cost one request each, once, at most
KUSCIA_NETWORK_PROBES new route pairs per cycle; absent keys are asked again on the slow cycle.

Every KUSCIA_NETWORK_INVENTORY_SECONDS the slow cycle also lists each local domain's data,
data sources and grants, and refreshes a few domain and route details.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from connections.models import Connection
from jobs.models import Job
from jobs.sync.health import WORKER_LOG_HINT
from jobs.sync.leases import Lease, make_lease
from jobs.sync.track import client_for
from kuscia import codes
from kuscia.client import KusciaClient
from kuscia.errors import KusciaAPIError, KusciaError, KusciaHTTPError
from network import sync, uses
from network.models import Absent, NetworkSync, Node, Route

log = logging.getLogger(__name__)
T = TypeVar("T")
K = TypeVar("K")

MASTER = "master"  # Kuscia's special id (root CA only), never a node
JOB_SCAN_LIMIT = 20_000  # jobs looked at for party domains in one cycle
DETAILS_PER_CYCLE = 20  # domain/query and route/query calls on a slow cycle


def poll_seconds() -> float:
    return float(getattr(settings, "KUSCIA_NETWORK_POLL_SECONDS", 15.0))


def inventory_seconds() -> float:
    return float(getattr(settings, "KUSCIA_NETWORK_INVENTORY_SECONDS", 300.0))


def probes_per_cycle() -> int:
    return int(getattr(settings, "KUSCIA_NETWORK_PROBES", 30))


@dataclass
class NetSummary:
    connection: str
    requests: int = 0
    domains: int = 0
    routes: int = 0
    new_domains: list[str] = field(default_factory=list)
    new_routes: int = 0
    missing_domains: list[str] = field(default_factory=list)
    missing_routes: list[str] = field(default_factory=list)
    writes: sync.NetWrites = field(default_factory=sync.NetWrites)
    inventory: bool = False
    data_items: int = 0
    inventory_errors: list[str] = field(default_factory=list)
    uses_indexed: int = 0
    seconds: float = 0.0
    error: str = ""
    skipped: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "connection": self.connection,
            "requests": self.requests,
            "domains": self.domains,
            "routes": self.routes,
            "new_domains": self.new_domains[:50],
            "new_routes": self.new_routes,
            "missing_domains": self.missing_domains[:50],
            "missing_routes": self.missing_routes[:50],
            "writes": self.writes.as_dict(),
            "inventory": self.inventory,
            "data_items": self.data_items,
            "inventory_errors": self.inventory_errors[:20],
            "uses_indexed": self.uses_indexed,
            "seconds": round(self.seconds, 4),
            "error": self.error,
            "skipped": self.skipped,
        }

    def __str__(self) -> str:
        if self.skipped:
            return f"{self.connection}: skipped ({self.skipped})"
        text = (
            f"{self.connection}: {self.domains} domains, {self.routes} routes in "
            f"{self.requests} requests, {self.writes.rows} rows written"
        )
        if self.inventory:
            text += f"; inventory {self.data_items} data items"
        if self.inventory_errors:
            text += f" ({len(self.inventory_errors)} errors)"
        return text + (f"; error {self.error}" if self.error else "")


def network_state(connection: Connection) -> NetworkSync:
    state, _ = NetworkSync.objects.get_or_create(connection=connection)
    return state


# ====================================================================== what to ask


def configured_domains() -> list[str]:
    raw = str(getattr(settings, "KUSCIA_NETWORK_DOMAINS", "") or "")
    return [d.strip() for d in raw.split(",") if d.strip()]


def party_domains(connection: Connection, since: datetime | None) -> set[str]:
    """Initiators and parties of the connection's jobs changed since `since` (all at first)."""
    qs = Job.objects.filter(connection=connection)
    if since is not None:
        qs = qs.filter(last_changed__gte=since)
    found: set[str] = set()
    rows = qs.order_by("-last_changed").values_list("initiator", "parties")[:JOB_SCAN_LIMIT]
    for initiator, parties in rows:
        if initiator:
            found.add(initiator)
        found.update(p for p in parties or () if isinstance(p, str) and p)
    return found


@dataclass
class Plan:
    domains: list[str]  # known nodes (not gone) first, then new candidates and re-probes
    new_domains: list[str]
    routes: list[tuple[str, str]]
    new_routes: list[tuple[str, str]]


def domain_plan(
    connection: Connection, state: NetworkSync, *, slow: bool, now: datetime
) -> tuple[list[str], list[str]]:
    known = list(
        Node.objects.filter(connection=connection, gone_at__isnull=True)
        .order_by("domain_id")
        .values_list("domain_id", flat=True)
    )
    absent = Absent.objects.filter(connection=connection, kind=Absent.Kind.DOMAIN)
    absent_ids = set(absent.values_list("source", flat=True))
    gone = set(
        Node.objects.filter(connection=connection, gone_at__isnull=False).values_list(
            "domain_id", flat=True
        )
    )
    candidates = {connection.local_domain, *configured_domains()}
    candidates |= party_domains(connection, state.jobs_scanned_until)
    new = sorted(
        d for d in candidates if d and d != MASTER and d not in known and d not in absent_ids
    )
    new = [d for d in new if d not in gone]
    if slow:  # ask again about what Kuscia did not have
        retry = absent.order_by("checked_at").values_list("source", flat=True)[: probes_per_cycle()]
        new += [d for d in retry if d not in new and d not in known]
    return known, new


def route_pairs(connection: Connection, nodes: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The routes a connection can have among its nodes ((domain_id, role) pairs). An
    autonomy node (P2P) holds only its own outbound routes; a master (or a lite, which asks
    its master) has every route of the cluster."""
    ids = [d for d, _ in nodes if d != MASTER]
    if connection.mode == Connection.Mode.P2P:
        local = [connection.local_domain] if connection.local_domain else []
        local = local or [d for d, role in nodes if role == ""]
        return [(s, d) for s in local for d in ids if s != d]
    return [(s, d) for s in ids for d in ids if s != d]


def route_plan(
    connection: Connection, *, slow: bool
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    nodes = list(
        Node.objects.filter(connection=connection, gone_at__isnull=True)
        .order_by("domain_id")
        .values_list("domain_id", "role")
    )
    known = list(
        Route.objects.filter(connection=connection, gone_at__isnull=True)
        .order_by("source", "destination")
        .values_list("source", "destination")
    )
    absent_rows = Absent.objects.filter(connection=connection, kind=Absent.Kind.ROUTE)
    absent = set(absent_rows.values_list("source", "destination"))
    have = set(known)
    gone = set(
        Route.objects.filter(connection=connection, gone_at__isnull=False).values_list(
            "source", "destination"
        )
    )
    budget = probes_per_cycle()
    skip = have | absent | gone
    new = [p for p in route_pairs(connection, nodes) if p not in skip][:budget]
    if slow:
        retry = absent_rows.order_by("checked_at").values_list("source", "destination")[:budget]
        new += [p for p in retry if p not in have and p not in new]
    return known, new


# ====================================================================== asking


def drop_and_retry(
    keys: Sequence[K],
    ask: Callable[[list[K]], list[T]],
    named: Callable[[KusciaError, list[K]], K | None],
    summary: NetSummary,
) -> tuple[list[T], list[K]]:
    """Ask for `keys` in one batch; when Kuscia fails the whole batch naming one key it does
    not have (named() finds it among the keys sent), drop that key and ask again. Returns
    (answers, missing keys); any other error is raised."""
    keys = list(dict.fromkeys(keys))
    missing: list[K] = []
    while keys:
        summary.requests += 1
        try:
            return ask(keys), missing
        except KusciaError as exc:
            key = named(exc, keys)
            if key is None:
                raise
            missing.append(key)
            keys.remove(key)
    return [], missing


def fetch_domains(
    client: KusciaClient, ids: Sequence[str], summary: NetSummary
) -> tuple[list[Any], list[str]]:
    """domain/batchQuery; an unknown id fails the whole batch (11305)."""
    return drop_and_retry(ids, client.batch_query_domains, codes.missing_domain, summary)


def fetch_routes(
    client: KusciaClient, pairs: Sequence[tuple[str, str]], summary: NetSummary
) -> tuple[list[Any], list[tuple[str, str]]]:
    """route/status/batchQuery; an unknown route fails the whole batch (11404)."""
    return drop_and_retry(pairs, client.batch_query_route_status, codes.missing_route, summary)


def _per_domain_error(exc: KusciaError) -> bool:
    """Errors that concern one domain's listing (not the connection): a refusal by Kuscia,
    or a route an older Kuscia does not have (domaindatasource/list before v0.9.0b0)."""
    return isinstance(exc, KusciaAPIError) or (
        isinstance(exc, KusciaHTTPError) and exc.kind == "wrong_path"
    )


def inventory_domains(connection: Connection) -> list[str]:
    """Domains whose data this connection can list: a lite only its own; otherwise the
    domains of this cluster (role "")."""
    if connection.mode == Connection.Mode.LITE and connection.local_domain:
        return [connection.local_domain]
    return list(
        Node.objects.filter(connection=connection, gone_at__isnull=True, role="")
        .exclude(domain_id=MASTER)
        .order_by("domain_id")
        .values_list("domain_id", flat=True)
    )


def poll_inventory(
    connection: Connection,
    client: KusciaClient,
    summary: NetSummary,
    now: datetime,
    renew: Callable[[], object] = lambda: None,
) -> None:
    """The slow cycle: each local domain's data, data sources and grants (one list each),
    then a few domain and route details. `renew` keeps the poller's lease between domains."""
    summary.inventory = True

    def listed(what: str, domain_id: str, call: Callable[[str], list[T]]) -> list[T] | None:
        summary.requests += 1
        try:
            return call(domain_id)
        except KusciaError as exc:
            if not _per_domain_error(exc):
                raise
            summary.inventory_errors.append(f"{domain_id} {what}: {exc.kind}: {exc.message}")
            return None

    for domain_id in inventory_domains(connection):
        renew()
        at = timezone.now()
        data = listed("data", domain_id, client.list_domaindata)
        if data is not None:
            summary.data_items += len(data)
            summary.writes.add(sync.apply_domaindata(connection, domain_id, data, observed_at=at))
        at = timezone.now()
        sources = listed("data sources", domain_id, client.list_datasources)
        if sources is not None:
            summary.writes.add(
                sync.apply_datasources(connection, domain_id, sources, observed_at=at)
            )
        at = timezone.now()
        grants = listed("grants", domain_id, client.list_grants)
        if grants is not None:
            summary.writes.add(sync.apply_grants(connection, domain_id, grants, observed_at=at))
    sync.refresh_facets(connection)
    stale = now - timedelta(seconds=inventory_seconds())
    for node in (
        Node.objects.filter(connection=connection, gone_at__isnull=True, role="")
        .exclude(detail_at__gte=stale)
        .order_by("detail_at", "domain_id")[:DETAILS_PER_CYCLE]
    ):
        summary.requests += 1
        try:
            detail = client.query_domain(node.domain_id)
        except KusciaError as exc:
            if not _per_domain_error(exc):
                raise
            summary.inventory_errors.append(f"{node.domain_id}: {exc.kind}: {exc.message}")
            continue
        sync.apply_domain_detail(connection, detail, observed_at=timezone.now())
    for route in (
        Route.objects.filter(connection=connection, gone_at__isnull=True)
        .exclude(detail_at__gte=stale)
        .order_by("detail_at", "source", "destination")[:DETAILS_PER_CYCLE]
    ):
        summary.requests += 1
        try:
            detail_r = client.query_route(route.source, route.destination)
        except KusciaError as exc:
            if not _per_domain_error(exc):
                raise
            summary.inventory_errors.append(
                f"{route.source}->{route.destination}: {exc.kind}: {exc.message}"
            )
            continue
        sync.apply_route_detail(connection, detail_r, observed_at=timezone.now())


# ====================================================================== the cycle


def poll_network(
    connection: Connection,
    *,
    client: KusciaClient | None = None,
    inventory: bool | None = None,
    lease: Lease | None = None,
) -> NetSummary:
    """One network poll of a connection: domains (one batch), routes (one batch), and on the
    slow cycle the inventory. Records success or the classified error on NetworkSync; never
    raises a KusciaError."""
    started = timezone.now()
    t0 = time.perf_counter()
    summary = NetSummary(connection=connection.name)
    state = network_state(connection)
    slow = inventory
    if slow is None:
        slow = (
            state.last_inventory is None
            or (started - state.last_inventory).total_seconds() >= inventory_seconds()
        )
    own = client is None
    try:
        if own:
            client = client_for(connection)
        assert client is not None
        known, new = domain_plan(connection, state, slow=slow, now=started)
        summary.new_domains = new
        observed_at = timezone.now()
        domains, missing = fetch_domains(client, known + new, summary)
        summary.domains = len(domains)
        summary.missing_domains = missing
        summary.writes.add(
            sync.apply_domains(connection, domains, missing=missing, observed_at=observed_at)
        )
        known_routes, new_routes = route_plan(connection, slow=slow)
        summary.new_routes = len(new_routes)
        observed_at = timezone.now()
        routes, missing_routes = fetch_routes(client, known_routes + new_routes, summary)
        summary.routes = len(routes)
        summary.missing_routes = [f"{s}->{d}" for s, d in missing_routes]
        summary.writes.add(
            sync.apply_route_statuses(
                connection, routes, missing=missing_routes, observed_at=observed_at
            )
        )
        if slow:

            def renew() -> object:
                return lease.renew() if lease is not None else None

            poll_inventory(connection, client, summary, started, renew)
        summary.uses_indexed = uses.index_data_uses()
    except Exception as exc:
        summary.seconds = time.perf_counter() - t0
        if not isinstance(exc, KusciaError):
            log.exception("network poll of %s failed", connection.name)
        record_failure(connection, exc, started, summary)
        return summary
    finally:
        if own and client is not None:
            client.close()
    summary.seconds = time.perf_counter() - t0
    record_success(connection, started, summary)
    return summary


def backoff_delay(failures: int) -> float:
    base = max(poll_seconds(), 0.5)
    cap = float(getattr(settings, "KUSCIA_BACKOFF_MAX_SECONDS", 60.0))
    return float(min(max(cap, base), base * 2 ** max(failures - 1, 0)))


def record_failure(
    connection: Connection, exc: BaseException, started: datetime, summary: NetSummary
) -> None:
    if isinstance(exc, KusciaError):
        kind, message, hint = exc.kind, exc.message, exc.hint
    else:
        kind, message, hint = "internal", f"{type(exc).__name__}: {exc}", WORKER_LOG_HINT
    summary.error = f"{kind}: {message}"
    with transaction.atomic():
        state = NetworkSync.objects.select_for_update().get(pk=network_state(connection).pk)
        state.consecutive_failures += 1
        now = timezone.now()
        state.last_attempt = started
        state.last_error_kind = kind
        state.last_error_message = message[:2000]
        state.last_error_hint = hint or ""
        state.last_error_at = now
        state.next_attempt = now + timedelta(seconds=backoff_delay(state.consecutive_failures))
        state.last_cycle = summary.as_dict()
        state.save()


def record_success(connection: Connection, started: datetime, summary: NetSummary) -> None:
    fields: dict[str, Any] = {
        "last_attempt": started,
        "last_success": timezone.now(),
        "consecutive_failures": 0,
        "next_attempt": None,
        "last_cycle": summary.as_dict(),
        "jobs_scanned_until": started,
    }
    if summary.inventory:
        fields["last_inventory"] = started
    NetworkSync.objects.filter(connection=connection).update(**fields)


def due_connections(now: datetime | None = None) -> list[int]:
    """Enabled connections not backing off after a failure (beat dispatches one task each)."""
    if getattr(settings, "KUSCIA_DEFAULT_CONNECTION", False):
        Connection.objects.ensure_default()
    now = now or timezone.now()
    ids = []
    for pk, next_attempt in (
        Connection.objects.filter(enabled=True)
        .order_by("pk")
        .values_list("pk", "network_sync__next_attempt")
    ):
        if next_attempt is None or next_attempt <= now:
            ids.append(pk)
    return ids


def poll_connection(connection_id: int, *, force: bool = False) -> NetSummary:
    """The per-connection task's body: one poller per connection across workers (lease)."""
    connection = Connection.objects.filter(pk=connection_id, enabled=True).first()
    if connection is None:
        return NetSummary(connection=str(connection_id), skipped="disabled")
    state = network_state(connection)
    if not force and state.next_attempt is not None and state.next_attempt > timezone.now():
        return NetSummary(connection=connection.name, skipped="waiting")
    ttl = max(poll_seconds() * 2, 30.0)
    lease = make_lease(f"netpoll:{connection.pk}", ttl)
    if not lease.acquire():
        return NetSummary(connection=connection.name, skipped="locked")
    try:
        return poll_network(connection, lease=lease)
    finally:
        lease.release()
