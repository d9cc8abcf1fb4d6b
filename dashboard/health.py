"""/healthz for load balancers and /metrics for Prometheus.

/healthz needs no login and shows no secrets: database, broker, and the age of the last
successful sync per enabled connection (by name). Its status is `degraded` while a connection's
sync is failing (its last attempt failed: `failing`, with the `error_kind`, gone once a sync
succeeds) or its data is older than `max_age_seconds` (`stale`: KC_HEALTH_MAX_SYNC_AGE, or by
default KC_HEALTH_STALE_POLLS times the longest poll interval). It answers 503 when the
database or the broker is unreachable; with `?strict=1` also when a connection is degraded.

/metrics needs a signed-in staff/admin user or `Authorization: Bearer <METRICS_TOKEN>`.
"""

from __future__ import annotations

import hmac
import os
import time
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection as db_connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.roles import is_admin
from dashboard.metrics import render_latest

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _check_database() -> dict[str, Any]:
    started = time.monotonic()
    try:
        with db_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


def _check_broker() -> dict[str, Any]:
    from dashboard.celery import app

    started = time.monotonic()
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
            transport = conn.transport_cls
    except Exception as exc:  # kombu raises many kinds; all mean "unreachable"
        return {"ok": False, "error": type(exc).__name__}
    return {
        "ok": True,
        "transport": str(transport),
        "ms": round((time.monotonic() - started) * 1000, 1),
    }


def max_sync_age() -> float:
    """Seconds after which a connection's data is stale: a few of the longest poll interval
    (with nothing active the poller waits KUSCIA_IDLE_POLL_SECONDS between cycles)."""
    explicit = float(getattr(settings, "KC_HEALTH_MAX_SYNC_AGE", 0) or 0)
    if explicit > 0:
        return explicit
    interval = max(
        float(getattr(settings, "KUSCIA_POLL_SECONDS", 5)),
        float(getattr(settings, "KUSCIA_IDLE_POLL_SECONDS", 30)),
    )
    return float(getattr(settings, "KC_HEALTH_STALE_POLLS", 3)) * interval


def _sync_ages() -> list[dict[str, Any]]:
    from connections.models import Connection

    max_age = max_sync_age()
    now = timezone.now()
    rows: list[dict[str, Any]] = []
    for conn in Connection.objects.job_sources().select_related("sync").order_by("name"):
        state = getattr(conn, "sync", None)
        last = state.last_success if state else None
        age = (now - last).total_seconds() if last else None
        failing = bool(
            state
            and (
                state.consecutive_failures > 0
                or (state.last_error_at and (last is None or state.last_error_at >= last))
            )
        )
        rows.append(
            {
                "connection": conn.name,
                "last_success": last.isoformat() if last else None,
                "age_seconds": round(age, 1) if age is not None else None,
                "max_age_seconds": round(max_age, 1),
                "stale": age is None or age > max_age,
                "failing": failing,
                # The error of a failing sync only: a recovered connection has none.
                "error_kind": (state.last_error_kind or None) if state and failing else None,
            }
        )
    return rows


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    database = _check_database()
    broker = _check_broker()
    sync = _sync_ages() if database["ok"] else []
    healthy = database["ok"] and broker["ok"]
    degraded = any(row["stale"] or row["failing"] for row in sync)
    if request.GET.get("strict") == "1" and degraded:
        healthy = False
    body = {
        "status": "ok" if healthy and not degraded else ("degraded" if healthy else "unhealthy"),
        "database": database,
        "broker": broker,
        "sync": sync,
        "time": timezone.now().isoformat(),
    }
    return JsonResponse(body, status=200 if healthy else 503)


def _bearer_ok(request: HttpRequest) -> bool:
    expected = os.environ.get("METRICS_TOKEN", "")
    header = request.headers.get("Authorization", "")
    if not expected or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[len("Bearer ") :].encode(), expected.encode())


@login_not_required
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    user = request.user
    allowed = _bearer_ok(request) or (
        user.is_authenticated and (bool(getattr(user, "is_staff", False)) or is_admin(user))
    )
    if not allowed:
        status = 403 if user.is_authenticated else 401
        response = HttpResponse(
            _("Metrics need an admin login or a bearer token.") + "\n", status=status
        )
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(render_latest(), content_type=PROMETHEUS_CONTENT_TYPE)


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
]
