"""The planner's bookkeeping (a row per party and run, a task that runs again, the bound on
logs handed out, lite connections are not job sources) and retention (old logs and logs of
forgotten jobs go, storage objects first)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from connections.models import Connection
from jobs.models import Task
from kuscia import types as kt
from logs import plan, retention, storage
from logs.archive import Archive, claim
from logs.models import TaskLog
from tests.fixtures.data import make_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(log_storage):
    master = Connection.objects.create(
        name="master", url="https://m:1", role="master", domains=["alice", "bob"]
    )
    Connection.objects.create(name="lite-a", url="https://a:1", role="lite", domains=["alice"])
    return make_job(
        master,
        "job-p",
        tasks=[("psi", []), ("split", ["psi"])],
        task_states=[kt.RUNNING, kt.PENDING],
    )


def test_a_row_per_party_of_each_started_run(job):
    now = timezone.now()
    assert plan.ensure_logs(now) == 2  # psi started (alice, bob); split is still Pending
    assert plan.ensure_logs(now) == 0  # nothing twice
    rows = TaskLog.objects.filter(job=job).order_by("domain_id")
    assert [(r.task_id, r.domain_id, r.attempt) for r in rows] == [
        ("job-p-psi", "alice", 1),
        ("job-p-psi", "bob", 1),
    ]
    # the task runs again (restart): a new start time is a new run, the old rows stay
    Task.objects.filter(job=job, task_id="job-p-psi").update(
        start_time=timezone.now() + dt.timedelta(seconds=5)
    )
    assert plan.ensure_logs(now) == 2
    assert sorted(TaskLog.objects.filter(job=job).values_list("attempt", flat=True)) == [1, 1, 2, 2]


def test_hand_out_is_bounded(job, settings):
    settings.KC_LOG_FOLLOWERS = 1
    now = timezone.now()
    plan.ensure_logs(now)
    queued: list[int] = []
    assert len(plan.hand_out(queued.append, now)) == 1
    assert plan.hand_out(queued.append, now) == []  # one in flight already
    later = now + plan.REQUEUE_AFTER + dt.timedelta(seconds=1)
    assert len(plan.hand_out(queued.append, later)) == 1  # never started: handed out again


def test_retention_removes_old_and_forgotten_logs_with_their_objects(job, settings):
    settings.KC_LOG_RETENTION_DAYS = 90
    plan.ensure_logs(timezone.now())
    old, fresh = TaskLog.objects.filter(job=job).order_by("domain_id")
    for row in (old, fresh):
        claim(row)
        archive = Archive(row)
        archive.feed([f"line of {row.domain_id}"])
        archive.finish(authoritative=True, state=TaskLog.State.COMPLETE)
    TaskLog.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=91))
    assert retention.clean() == 1
    assert not TaskLog.objects.filter(pk=old.pk).exists()
    assert storage.names_under(old.prefix) == []
    assert storage.names_under(fresh.prefix)
    job.delete()  # forgotten here: its logs go at the next clean
    assert retention.clean() == 1
    assert storage.names_under(fresh.prefix) == []


def test_p2p_a_party_log_is_stored_once_and_shown_from_every_job_row(log_storage):
    """P2P: each autonomy connection has its own row of the job; each party's log is made
    (and so fetched) once, under the row of the connection serving that party, and both job
    rows' viewers and failure cards show both parties."""
    rows = {}
    for domain in ("alice", "bob"):
        node = Connection.objects.create(
            name=f"auto-{domain}",
            url=f"https://{domain}:1",
            mode=Connection.Mode.P2P,
            local_domain=domain,
            role="autonomy",
            domains=[domain],
        )
        rows[domain] = make_job(node, "job-x", tasks=[("psi", [])], task_states=[kt.RUNNING])
    assert plan.ensure_logs(timezone.now()) == 2
    assert plan.ensure_logs(timezone.now()) == 0
    stored = TaskLog.objects.order_by("domain_id").values_list("job__connection__name", "domain_id")
    assert list(stored) == [("auto-alice", "alice"), ("auto-bob", "bob")]
    for job in rows.values():
        assert [t.domain_id for t in TaskLog.objects.tabs(job, "job-x-psi")] == ["alice", "bob"]
        for domain in ("alice", "bob"):
            found = TaskLog.objects.of_party(job, "job-x-psi", domain)
            assert found is not None and found.domain_id == domain
