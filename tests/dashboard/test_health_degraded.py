"""/healthz reports `degraded` as soon as a connection's sync is failing, or once its data is
older than a few poll intervals (KC_HEALTH_STALE_POLLS x the longest poll interval, or
KC_HEALTH_MAX_SYNC_AGE), and drops the error once a sync succeeds again. The outage and the
recovery are real: the console's reconcile against the simulator, stopped and started again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from connections.models import Connection, SyncState
from jobs import sync
from simulator.demo import example_job

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]


@pytest.fixture
def defaults(settings):
    settings.KC_HEALTH_MAX_SYNC_AGE = 0.0  # derived from the poll intervals
    settings.KC_HEALTH_STALE_POLLS = 3
    settings.KUSCIA_POLL_SECONDS = 5.0
    settings.KUSCIA_IDLE_POLL_SECONDS = 30.0
    settings.KUSCIA_DEFAULT_CONNECTION = False


def health(client) -> dict:
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    return response.json()


def test_data_older_than_a_few_poll_intervals_is_degraded(client, defaults) -> None:
    conn = Connection.objects.create(name="alice", url="https://127.0.0.1:1")
    state = SyncState.objects.create(
        connection=conn, last_success=timezone.now() - timedelta(seconds=60)
    )
    body = health(client)
    assert body["status"] == "ok" and not body["sync"][0]["stale"]  # within 3 x 30 s
    state.last_success = timezone.now() - timedelta(seconds=100)
    state.save()
    body = health(client)
    assert body["status"] == "degraded" and body["sync"][0]["stale"], body
    assert body["sync"][0]["max_age_seconds"] == 90
    assert client.get("/healthz?strict=1").status_code == 503


def test_an_outage_degrades_at_once_and_recovery_clears_the_error(
    client, defaults, kuscia_sim_factory
) -> None:
    sim = kuscia_sim_factory()
    port = sim.port
    job = example_job("job-health", prefix="health")
    job["custom_fields"] = {"sim-task-seconds": "3600"}  # active for the whole test
    sim.world.create_job(job)
    conn = Connection.objects.create(name="sim", url=sim.url, cert_dir=str(sim.cert_dir))
    sync.track_job(conn, "job-health")
    first = sync.poll_connection(conn, force=True)
    assert first.requests and not first.error, first
    body = health(client)
    assert body["status"] == "ok" and body["sync"][0]["error_kind"] is None, body

    sim.stop()  # Kuscia goes away: the next cycle fails, seconds after the last success
    assert sync.poll_connection(conn, force=True).error
    body = health(client)
    row = body["sync"][0]
    assert body["status"] == "degraded", body
    assert row["failing"] and row["error_kind"] == "connect_refused" and not row["stale"], row
    assert client.get("/healthz?strict=1").status_code == 503

    back = kuscia_sim_factory(port=port)  # back on the same address
    back.world.create_job(job)
    assert not sync.poll_connection(conn, force=True).error
    body = health(client)
    row = body["sync"][0]
    assert body["status"] == "ok", body
    assert not row["failing"] and row["error_kind"] is None, row
    assert client.get("/healthz?strict=1").status_code == 200
