"""The sync engine against the simulator over mTLS and PostgreSQL, without Celery: management
commands, concurrent writers, the batch 11203 path and the watch's silence detection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections
from django.test import override_settings
from django.utils import timezone

from connections.models import Connection, SyncState
from jobs import sync
from jobs.models import Job, Transition
from kuscia import types as kt
from kuscia.client import KusciaClient
from kuscia.wire import parse_batch_job_status
from simulator import ManualClock, Simulator
from simulator.demo import example_job

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def connect(sim: Simulator) -> Connection:
    return Connection.objects.create(
        name="sim", url=sim.url, protocol="MTLS", cert_dir=str(sim.cert_dir)
    )


def create(sim: Simulator, job_id: str, seconds: float = 100.0) -> None:
    job = example_job(job_id, prefix=job_id)  # task ids are cluster-wide: one set per job
    job["custom_fields"] = {"sim-task-seconds": str(seconds)}
    sim.world.create_job(job)


@pytest.mark.django_db
@override_settings(KUSCIA_DEFAULT_CONNECTION=False)
def test_track_job_and_sync_jobs_commands(kuscia_sim_factory: Callable[..., Simulator]) -> None:
    sim = kuscia_sim_factory(clock=ManualClock(), speed=1)
    conn = connect(sim)
    create(sim, "job-cmd")
    create(sim, "job-other")
    sim.world.advance(5)
    out = StringIO()
    call_command("track_job", "sim", "job-cmd", stdout=out)
    assert "sim/job-cmd: Running, 2 tasks, parties alice, bob" in out.getvalue()
    job = Job.objects.get(connection=conn, job_id="job-cmd")
    assert job.source == Job.Source.ADDED and job.spec_fetched
    with pytest.raises(CommandError, match="not_found"):
        call_command("track_job", "sim", "no-such-job", stdout=StringIO())
    sim.world.run_until_idle()
    out = StringIO()
    call_command("sync_jobs", "--connection", "sim", stdout=out)
    assert "polled 1 jobs" in out.getvalue() and "0 gone" in out.getvalue()
    job.refresh_from_db()
    assert job.state == kt.SUCCEEDED and job.progress == 1.0
    assert not Job.objects.filter(job_id="job-other").exists()  # never tracked, never polled
    # Deleted on Kuscia: the batch fails with 11203, the job is isolated and marked gone.
    create(sim, "job-gone")
    create(sim, "job-stays", 1000)
    sim.world.advance(5)
    call_command("track_job", "sim", "job-gone", stdout=StringIO())
    call_command("track_job", "sim", "job-stays", stdout=StringIO())
    sim.world.delete_job("job-gone")
    sim.world.advance(600)  # job-stays' first task is past half-way
    out = StringIO()
    call_command("sync_jobs", stdout=out)
    assert "1 gone" in out.getvalue()
    assert Job.objects.get(job_id="job-gone").gone_reason == "not-found"
    stays = Job.objects.get(job_id="job-stays")
    assert stays.gone_at is None and 0 < stays.progress < 1
    assert SyncState.objects.get(connection=conn).consecutive_failures == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_record_each_transition_once(
    kuscia_sim_factory: Callable[..., Simulator],
) -> None:
    """Eight threads apply the same observations at once (no lease): row locks and the
    comparison under lock leave exactly one transition per change."""
    sim = kuscia_sim_factory(clock=ManualClock(), speed=1)
    conn = connect(sim)
    ids = [f"job-{i}" for i in range(20)]
    for job_id in ids:
        create(sim, job_id)
    sim.world.advance(5)
    steps = []
    for _ in range(4):
        steps.append(parse_batch_job_status({"jobs": sim.world.batch_query_status(ids)}))
        sim.world.advance(60)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for statuses in steps:
                sync.apply_job_statuses(
                    conn, statuses, source="poll", observed_at=timezone.now(), create_missing=True
                )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    for job in Job.objects.filter(connection=conn):
        seen = list(
            Transition.objects.filter(job=job)
            .order_by("id")
            .values_list("kind", "task_id", "domain_id", "old_state", "new_state")
        )
        assert len(seen) == len(set(seen)), seen
        assert ("job", "", "", "", "Running") in seen


@pytest.mark.django_db
def test_watch_silence_ends_the_watch_with_a_timeout(
    kuscia_sim_factory: Callable[..., Simulator],
) -> None:
    sim = kuscia_sim_factory(heartbeat_interval=60.0)
    conn = connect(sim)
    create(sim, "job-w")
    client = KusciaClient(conn.client_config(), watch_silence_timeout=1.0)
    started = timezone.now()
    summary = sync.watch_connection(conn.pk, timeout_seconds=30, client=client)
    client.close()
    assert summary.error.startswith("timeout:")
    assert summary.relaunch_after == 5.0
    assert summary.discovered == 1
    state = SyncState.objects.get(connection=conn)
    assert state.watch_last_error.startswith("timeout:") and state.watch_connected_since is None
    assert timezone.now() - started < timedelta(seconds=20)
    # The lease was released: another watcher may start at once.
    assert sync.watch_is_free(conn.pk)


@pytest.mark.django_db
@override_settings(KUSCIA_DEFAULT_CONNECTION=False)
def test_job_recreated_on_the_simulator_reads_as_a_new_run(
    kuscia_sim_factory: Callable[..., Simulator],
) -> None:
    sim = kuscia_sim_factory(clock=ManualClock(), speed=1)
    conn = connect(sim)
    create(sim, "job-again", seconds=10)
    sim.world.run_until_idle()
    job = sync.track_job(conn, "job-again")
    assert job.state == kt.SUCCEEDED and job.tasks_succeeded == 2
    first_create = job.create_time
    # Deleted and created again on Kuscia with the same id, a minute later.
    sim.world.delete_job("job-again")
    sim.world.advance(60)
    create(sim, "job-again", seconds=1000)
    sim.world.advance(5)
    job = sync.refresh_job(job, source=Transition.Source.POLL)
    assert job.create_time is not None and first_create is not None
    assert job.create_time > first_create and job.state == kt.RUNNING
    assert job.spec_fetched and job.gone_at is None  # QueryJob's reply carried the spec
    assert job.task_count == 2 and job.tasks_succeeded == 0
    rows = list(Transition.objects.filter(job=job).order_by("id"))
    reborn = [t for t in rows if t.message.startswith("job re-created in Kuscia")]
    assert len(reborn) == 1 and (reborn[0].old_state, reborn[0].new_state) == (
        kt.SUCCEEDED,
        kt.RUNNING,
    )
    after = [t for t in rows if t.id > reborn[0].id and t.kind == Transition.Kind.TASK]
    assert after and all(t.old_state in ("", kt.PENDING) for t in after), [
        (t.task_id, t.old_state, t.new_state) for t in after
    ]
    assert not [t for t in after if t.old_state == kt.SUCCEEDED]
