"""Prometheus metrics of the Kuscia client, and the scrape-time collector of local state.

Kuscia requests are made by Celery workers and web processes alike, so when the environment
variable PROMETHEUS_MULTIPROC_DIR names a shared directory (`make run` and the deploy examples
set it) every process writes its counters there and /metrics aggregates them. Without it, only
the scraping process's own counters are visible.

The client records every request with `observe_request(route, seconds, error_kind)`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

KUSCIA_REQUESTS = Counter(
    "kuscia_requests_total",
    "Requests sent to the Kuscia API, by route and outcome (ok or an error kind).",
    ["route", "outcome"],
)
KUSCIA_REQUEST_SECONDS = Histogram(
    "kuscia_request_duration_seconds",
    "Time until the Kuscia API answered (headers for streams), by route.",
    ["route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
KUSCIA_ERRORS = Counter(
    "kuscia_request_errors_total",
    "Failed Kuscia API requests by error class (KusciaError.kind).",
    ["kind"],
)


def observe_request(route: str, seconds: float, error_kind: str | None = None) -> None:
    """Record one Kuscia API request. `route` is the path (e.g. /api/v1/job/query), never a URL
    with credentials; `error_kind` is the KusciaError kind or None on success."""
    KUSCIA_REQUESTS.labels(route=route, outcome=error_kind or "ok").inc()
    KUSCIA_REQUEST_SECONDS.labels(route=route).observe(seconds)
    if error_kind:
        KUSCIA_ERRORS.labels(kind=error_kind).inc()


class LocalStateCollector(Collector):
    """Jobs per state and connection, and sync lag, read from the database at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.db.models import Count
        from django.utils import timezone

        from connections.models import Connection
        from jobs.models import Job

        jobs = GaugeMetricFamily(
            "kuscia_console_jobs",
            "Jobs known to the console, by connection and state.",
            labels=["connection", "state"],
        )
        rows = (
            Job.objects.filter(gone_at__isnull=True)
            .values_list("connection__name", "state")
            .annotate(n=Count("id"))
            .order_by()
        )
        for name, state, n in rows:
            jobs.add_metric([name, state], n)
        yield jobs

        lag = GaugeMetricFamily(
            "kuscia_console_sync_lag_seconds",
            "Seconds since the last successful sync of a connection (-1: never).",
            labels=["connection"],
        )
        failures = GaugeMetricFamily(
            "kuscia_console_sync_consecutive_failures",
            "Consecutive failed sync attempts of a connection.",
            labels=["connection"],
        )
        enabled = GaugeMetricFamily(
            "kuscia_console_connection_enabled",
            "1 if the connection is enabled.",
            labels=["connection"],
        )
        now = timezone.now()
        for conn in Connection.objects.select_related("sync").order_by("name"):
            state = getattr(conn, "sync", None)
            last = state.last_success if state else None
            lag.add_metric([conn.name], (now - last).total_seconds() if last else -1.0)
            failures.add_metric([conn.name], state.consecutive_failures if state else 0)
            enabled.add_metric([conn.name], 1.0 if conn.enabled else 0.0)
        yield lag
        yield failures
        yield enabled


def render_latest() -> bytes:
    """The text exposition of every metric this deployment has."""
    registry = CollectorRegistry()
    multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if multiproc_dir and os.path.isdir(multiproc_dir):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=multiproc_dir)
        registry.register(LocalStateCollector())
        return generate_latest(registry)
    registry.register(LocalStateCollector())
    return generate_latest(registry) + generate_latest(REGISTRY)
