"""/healthz (no login, no secrets, 503 when unhealthy) and /metrics (protected)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from connections.models import Connection, SyncState
from dashboard.metrics import observe_request
from jobs.models import Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection(tmp_path) -> Connection:
    return Connection.objects.create(
        name="alice", url="https://10.0.0.5:8082", cert_dir=str(tmp_path / "secret-certs")
    )


def user_with(role: str) -> User:
    user = User.objects.create_user(f"u-{role}", password="x")
    user.groups.add(Group.objects.get(name=role))
    return user


def test_healthz_needs_no_login_and_reports_sync_age(client, connection):
    SyncState.objects.create(
        connection=connection, last_success=timezone.now() - timedelta(seconds=12)
    )
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] and body["broker"]["ok"]
    (row,) = body["sync"]
    assert row["connection"] == "alice" and 11 <= row["age_seconds"] < 60 and not row["stale"]
    # No addresses, paths or secrets.
    text = response.content.decode()
    assert "10.0.0.5" not in text and "secret-certs" not in text


def test_stale_sync_is_degraded_and_strict_makes_it_503(client, connection, settings):
    settings.KC_HEALTH_MAX_SYNC_AGE = 60
    SyncState.objects.create(
        connection=connection,
        last_success=timezone.now() - timedelta(minutes=10),
        last_error_kind="connect_refused",
        consecutive_failures=4,
    )
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["sync"][0]["stale"] and body["sync"][0]["error_kind"] == "connect_refused"
    assert client.get("/healthz?strict=1").status_code == 503


def test_never_synced_connection_is_stale(client, connection):
    body = client.get("/healthz").json()
    assert body["sync"][0]["last_success"] is None and body["sync"][0]["stale"]


def test_disabled_connections_are_not_reported(client, connection):
    connection.enabled = False
    connection.save()
    assert client.get("/healthz").json()["sync"] == []


def test_unreachable_broker_gives_503(client, connection):
    from dashboard.celery import app

    old = app.conf.broker_url, app.conf.broker_transport_options
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    app.conf.broker_transport_options = {}
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url, app.conf.broker_transport_options = old
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy" and body["broker"]["ok"] is False
    assert "127.0.0.1:1" not in response.content.decode()


def test_healthz_is_get_only(client):
    assert client.post("/healthz").status_code == 405


def test_metrics_needs_admin_or_bearer(client, connection, monkeypatch):
    response = client.get("/metrics")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    client.force_login(user_with("operator"))
    assert client.get("/metrics").status_code == 403
    client.logout()
    monkeypatch.setenv("METRICS_TOKEN", "s3cret-metrics-token")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token")
    assert ok.status_code == 200 and ok["Content-Type"].startswith("text/plain")
    monkeypatch.delenv("METRICS_TOKEN")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_metrics_content(client, connection):
    Job.objects.create(connection=connection, job_id="j1", state="Running", source="added")
    Job.objects.create(connection=connection, job_id="j2", state="Running", source="added")
    Job.objects.create(connection=connection, job_id="j3", state="Failed", source="added")
    SyncState.objects.create(
        connection=connection,
        last_success=timezone.now() - timedelta(seconds=30),
        consecutive_failures=2,
    )
    observe_request("/api/v1/job/query", 0.05)
    observe_request("/api/v1/job/query", 0.2, "unauthorized")
    client.force_login(user_with("admin"))
    text = client.get("/metrics").content.decode()
    assert 'kuscia_console_jobs{connection="alice",state="Running"} 2.0' in text
    assert 'kuscia_console_jobs{connection="alice",state="Failed"} 1.0' in text
    assert 'kuscia_console_sync_consecutive_failures{connection="alice"} 2.0' in text
    lag = [line for line in text.splitlines() if line.startswith("kuscia_console_sync_lag")]
    assert lag and 29 <= float(lag[0].split()[-1]) < 120
    assert 'kuscia_requests_total{outcome="unauthorized",route="/api/v1/job/query"}' in text
    assert 'kuscia_request_errors_total{kind="unauthorized"}' in text
    assert 'kuscia_request_duration_seconds_bucket{le="0.1",route="/api/v1/job/query"}' in text


def test_metrics_aggregates_processes_with_multiproc_dir(client, connection, tmp_path, monkeypatch):
    """With PROMETHEUS_MULTIPROC_DIR, counters written by other processes (the Celery worker)
    show up in the web process's /metrics."""
    import subprocess
    import sys

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE','dashboard.settings');"
        "django.setup();"
        "from dashboard.metrics import observe_request;"
        "observe_request('/api/v1/job/watch', 0.3, 'timeout')"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**__import__("os").environ})
    client.force_login(user_with("admin"))
    text = client.get("/metrics").content.decode()
    assert 'kuscia_requests_total{outcome="timeout",route="/api/v1/job/watch"} 1.0' in text
    assert "kuscia_console_jobs" in text
