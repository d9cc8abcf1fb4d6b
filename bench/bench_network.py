"""Benchmark the network and data pages on PostgreSQL, and count the requests of a poll.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kc_network_bench \
        .venv/bin/python bench/bench_network.py [--domains 100] [--routes 2000] \
        [--data 100000] [--days 365] [--runs 40] [--reload]

Loads D domains (nodes), R routes among them with a year of history (each route changes every
few days, a tenth of them flap every few hours over the last day), N DomainData rows, and
prints the median and p95 server time (in-process Django test client: middleware, views,
queries, templates) of /network/ (page and fragment), a route page, /data/ (first page, a
search, a deep cursor page) and a data item, with the query count of each; then the requests
one network poll sends for those domains and routes (one per kind, whatever their number).
The data is re-used when the database already holds it (unless --reload).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kc_network_bench")

import django

django.setup()

import httpx  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection as db  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import *  # noqa: E402,F403 (the user model's app is loaded)
from connections.models import Connection  # noqa: E402
from kuscia.client import KusciaClient  # noqa: E402
from kuscia.config import ConnectionConfig  # noqa: E402
from network import poll  # noqa: E402
from network.models import (  # noqa: E402
    DataItem,
    NetworkSync,
    Node,
    Route,
    RouteTransition,
)

CONNECTION = "bench"


def trivial(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


# the pages, plus a view that does nothing behind the same middleware: the floor
urlpatterns = [path("bench-trivial/", trivial), path("", include("dashboard.urls"))]


def load(domains: int, routes: int, data: int, days: int, seed: int = 11) -> None:
    rnd = random.Random(seed)
    now = timezone.now()
    Connection.objects.filter(name=CONNECTION).delete()
    conn = Connection.objects.create(name=CONNECTION, url="https://127.0.0.1:1")
    NetworkSync.objects.create(connection=conn, last_success=now, last_inventory=now)
    start = now - dt.timedelta(days=days)
    ids = [f"domain-{i:03d}" for i in range(domains)]
    Node.objects.bulk_create(
        [
            Node(
                connection=conn,
                domain_id=d,
                status="Ready" if i % 17 else "NotReady",
                agents=[
                    {
                        "name": f"kuscia-lite-{d}",
                        "status": "Ready",
                        "version": "v1.1.0b0",
                        "last_heartbeat_time": now.isoformat(),
                        "last_transition_time": start.isoformat(),
                    }
                ],
                version="v1.1.0b0",
                last_heartbeat=now - dt.timedelta(seconds=rnd.randint(1, 30)),
                cert_present=True,
                cert_not_after=now + dt.timedelta(days=rnd.randint(-5, 900)),
                deploy_tokens=[{"state": "used", "since": ""}, {"state": "unused", "since": ""}],
                since=start,
                first_seen=start,
                last_changed=start,
            )
            for i, d in enumerate(ids)
        ]
    )
    pairs = [(s, d) for s in ids for d in ids if s != d]
    rnd.shuffle(pairs)
    pairs = sorted(pairs[:routes])
    Route.objects.bulk_create(
        [
            Route(
                connection=conn,
                source=s,
                destination=d,
                status="Succeeded" if i % 13 else "Failed",
                reason_code="" if i % 13 else "DestinationUnreachable",
                since=now - dt.timedelta(hours=rnd.randint(1, 72)),
                first_seen=start,
                last_changed=now,
            )
            for i, (s, d) in enumerate(pairs)
        ],
        batch_size=5000,
    )
    route_ids = list(Route.objects.filter(connection=conn).values_list("id", flat=True))
    t0 = time.perf_counter()
    batch: list[RouteTransition] = []
    for n, route_id in enumerate(route_ids):
        at, up = start, True
        flapping = n % 10 == 0
        while at < now:
            step = rnd.uniform(1, 6) if flapping and at > now - dt.timedelta(days=1) else None
            at += dt.timedelta(hours=step) if step else dt.timedelta(days=rnd.uniform(2, 5))
            if at >= now:
                break
            batch.append(
                RouteTransition(
                    route_id=route_id,
                    old_status="Succeeded" if up else "Failed",
                    new_status="Failed" if up else "Succeeded",
                    reason_code="HeartBeatTimeout" if up else "",
                    observed_at=at,
                )
            )
            up = not up
        if len(batch) > 20000:
            RouteTransition.objects.bulk_create(batch, batch_size=10000)
            batch = []
    RouteTransition.objects.bulk_create(batch, batch_size=10000)
    print(
        f"  route history: {RouteTransition.objects.count()} transitions "
        f"({time.perf_counter() - t0:.0f} s)",
        flush=True,
    )
    columns = [
        {"name": f"c{i}", "type": "float", "comment": "", "not_nullable": False} for i in range(25)
    ]
    items = []
    for i in range(data):
        d = ids[i % domains]
        items.append(
            DataItem(
                connection=conn,
                domain_id=d,
                domaindata_id=f"{('table', 'psi-output', 'model')[i % 3]}-{i:06d}",
                name=f"file-{i:06d}.csv",
                type=("table", "table", "model")[i % 3],
                relative_uri=f"data/{d}/file-{i:06d}.csv",
                datasource_id="default-data-source",
                vendor="manual",
                author=d,
                columns=columns,
                column_count=25,
                first_seen=start,
                last_changed=start,
            )
        )
        if len(items) >= 10000:
            DataItem.objects.bulk_create(items, batch_size=5000)
            items = []
    DataItem.objects.bulk_create(items, batch_size=5000)
    with db.cursor() as cur:
        cur.execute("VACUUM ANALYZE")


def loaded(domains: int, routes: int, data: int) -> bool:
    conn = Connection.objects.filter(name=CONNECTION).first()
    return bool(
        conn
        and Node.objects.filter(connection=conn).count() == domains
        and Route.objects.filter(connection=conn).count() == routes
        and DataItem.objects.filter(connection=conn).count() == data
    )


def p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * 0.95))]


def measure(client: Client, url: str, runs: int, **extra: str) -> tuple[float, ...]:
    """(median, p95 wall ms, median, p95 CPU ms of this process, queries, bytes). The CPU
    time leaves out the database's and other processes' share of a loaded machine."""
    times, cpu = [], []
    queries = 0
    size = 0
    client.get(url, **extra)  # warm: templates compiled, URL shapes reversed
    for i in range(runs):
        with CaptureQueriesContext(db) as ctx:
            c0, t0 = time.process_time(), time.perf_counter()
            response = client.get(url, **extra)
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        if i == 0:
            queries, size = len(ctx), len(response.content)
    return (
        statistics.median(times),
        p95(times),
        statistics.median(cpu),
        p95(cpu),
        queries,
        size,
    )


def check_pages(client: Client, domains: int, routes: int, data: int) -> None:
    """The pages measured really show the loaded rows (else the figures mean nothing): every
    domain (a card, or a chip for the healthy ones), the routes (the matrix or the table per
    source domain, and the problems listed), a full first page of data."""
    import re

    from network import present

    page = client.get("/network/").content.decode()
    down = Route.objects.filter(connection__name=CONNECTION).exclude(status="Succeeded").count()
    assert f"{domains} domains" in page, "the node count is not on /network/"
    shown = page.count('class="card node-card') + page.count('<li><a href="/network/nodes/')
    assert shown == domains, f"{shown} nodes drawn of {domains}"
    assert f"{routes} routes" in page, "the route count is not on /network/"
    listed = len(re.findall(r'class="route-name"', page))
    if domains <= present.MATRIX_MAX:
        assert "route-matrix" in page
        assert page.count('<td class="cell ') == routes, "not every route is in the matrix"
    else:
        sources = Route.objects.filter(connection__name=CONNECTION).values("source").distinct()
        assert page.count('<a href="?source=') == sources.count(), "not every source drawn"
    assert listed == min(down, present.PROBLEMS_MAX) or listed == routes, (listed, down)
    rows = client.get("/data/").content.decode().count('class="jobid" href="/data/')
    assert rows == min(data, 50), f"/data/ shows {rows} rows"


class CountingKuscia:
    """Answers domain/batchQuery and route/status/batchQuery for every key, counting calls."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls[path] = self.calls.get(path, 0) + 1
        body = json.loads(request.content)
        ok = {"code": 0, "message": "success", "details": []}
        if path.endswith("domain/batchQuery"):
            data = {
                "domains": [
                    {"domain_id": d, "role": "", "cert": "", "node_statuses": []}
                    for d in body["domain_ids"]
                ]
            }
        elif path.endswith("route/status/batchQuery"):
            data = {
                "routes": [
                    {
                        "name": f"{k['source']}-{k['destination']}",
                        **k,
                        "status": {"status": "Succeeded", "reason": ""},
                    }
                    for k in body["route_keys"]
                ]
            }
        else:
            return httpx.Response(404, text="404 page not found")
        return httpx.Response(200, json={"status": ok, "data": data})


def poll_requests(cert_dir: str) -> tuple[dict[str, int], int, int]:
    """One poll of the loaded domains and routes, rolled back afterwards (the counting
    Kuscia's answers would overwrite the loaded statuses)."""
    from django.db import transaction
    from django.test import override_settings

    conn = Connection.objects.get(name=CONNECTION)
    handler = CountingKuscia()
    config = ConnectionConfig.from_cert_dir("https://127.0.0.1:13082", cert_dir)
    with (
        transaction.atomic(),
        override_settings(KUSCIA_NETWORK_PROBES=0),
        KusciaClient(config, transport=httpx.MockTransport(handler)) as client,
    ):
        summary = poll.poll_network(conn, client=client, inventory=False)
        transaction.set_rollback(True)
    assert not summary.error, summary.error
    return handler.calls, summary.domains, summary.routes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--domains", type=int, default=100)
    ap.add_argument("--routes", type=int, default=2000)
    ap.add_argument("--data", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--reload", action="store_true")
    args = ap.parse_args()
    assert db.vendor == "postgresql", "the figures are for PostgreSQL: set DATABASE_URL"
    assert args.routes <= args.domains * (args.domains - 1), "more routes than domain pairs"
    call_command("migrate", verbosity=0)
    if args.reload or not loaded(args.domains, args.routes, args.data):
        print(
            f"loading {args.domains} domains, {args.routes} routes with {args.days} days of "
            f"history, {args.data} domain data rows ...",
            flush=True,
        )
        load(args.domains, args.routes, args.data, args.days)
    assert loaded(args.domains, args.routes, args.data), "the data is not what was asked for"
    # fresh heartbeats, as a running poll keeps them (the load took minutes)
    Node.objects.filter(connection__name=CONNECTION).update(last_heartbeat=timezone.now())
    history = RouteTransition.objects.filter(route__connection__name=CONNECTION).count()
    print(
        f"data: {args.domains} nodes, {args.routes} routes, {history} route transitions, "
        f"{args.data} domain data rows"
    )

    from django.contrib.auth.models import User

    user, _ = User.objects.get_or_create(username="bench-viewer")
    client = Client()
    client.force_login(user)
    item = DataItem.objects.filter(connection__name=CONNECTION).order_by("id").first()
    assert item is not None
    deep = DataItem.objects.filter(connection__name=CONNECTION).order_by(
        "domain_id", "domaindata_id", "id"
    )[args.data // 2]
    route = Route.objects.filter(connection__name=CONNECTION, reason_code__gt="").first()
    assert route is not None
    cases = [
        ("trivial view (floor)", "/bench-trivial/", {}),
        ("/network/", "/network/", {}),
        ("/network/ fragment", "/network/", {"HTTP_HX_REQUEST": "true"}),
        ("route page", f"/network/routes/{CONNECTION}/{route.source}/{route.destination}/", {}),
        ("/data/", "/data/", {}),
        ("/data/ search", "/data/?q=psi-output-0123&type=table", {}),
        ("/data/ domain+type", f"/data/?domain={item.domain_id}&type=model", {}),
        (
            "/data/ deep cursor",
            f"/data/?after={deep.domain_id}~{deep.domaindata_id}~{deep.pk}",
            {},
        ),
        ("data item", f"/data/{CONNECTION}/{item.domain_id}/{item.domaindata_id}/", {}),
    ]
    with override_settings(ROOT_URLCONF=__name__, DEBUG=False, ALLOWED_HOSTS=["*"]):
        check_pages(client, args.domains, args.routes, args.data)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(
        f"{'page':<22} {'median ms':>10} {'p95 ms':>9} {'cpu med':>8} {'cpu p95':>8} "
        f"{'queries':>8} {'KB':>7}"
    )
    with override_settings(ROOT_URLCONF=__name__, DEBUG=False, ALLOWED_HOSTS=["*"]):
        for name, url, extra in cases:
            med, high, cmed, chigh, queries, size = measure(client, url, args.runs, **extra)
            print(
                f"{name:<22} {med:>10.1f} {high:>9.1f} {cmed:>8.1f} {chigh:>8.1f} "
                f"{queries:>8} {size / 1024:>7.0f}"
            )

    from simulator import ensure_certs

    cert_dir = Path(os.environ.get("KC_VAR_DIR", "var")) / "bench-certs"
    ensure_certs(cert_dir)
    calls, n_domains, n_routes = poll_requests(str(cert_dir))
    print(
        f"one poll of {n_domains} domains and {n_routes} routes sent "
        f"{sum(calls.values())} requests: {calls}"
    )


if __name__ == "__main__":
    main()
