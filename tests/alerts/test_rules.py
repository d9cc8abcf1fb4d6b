"""Rules evaluated where state changes are written (the sync engine's hook) and by the sweep:
one incident per rule and subject, one firing and one resolved delivery per channel."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts import incidents, rules
from alerts.models import Channel, Delivery, Incident, Rule, Subscription
from alerts.secrets import seal
from connections.models import Connection, SyncState
from jobs.sync import apply_job_status
from kuscia import types as kt
from tests.fixtures.data import make_connection, make_job

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def status(
    job_id: str,
    state: str,
    *,
    party_err: str = "",
    end: dt.datetime | None = None,
    parties: tuple[str, ...] = ("alice", "bob"),
) -> kt.JobStatus:
    task_state = state if state in (kt.FAILED, kt.SUCCEEDED, kt.RUNNING) else kt.PENDING
    failing = parties[-1]
    task = kt.TaskStatus(
        task_id=f"{job_id}-t0",
        alias="t0",
        state=task_state,
        end_time=end,
        parties=tuple(
            kt.PartyStatus(
                p,
                task_state if (p == failing or task_state != kt.FAILED) else kt.SUCCEEDED,
                party_err if p == failing else "",
            )
            for p in parties
        ),
    )
    detail = kt.JobStatusDetail(
        state=state,
        create_time=NOW - dt.timedelta(hours=1),
        end_time=end,
        tasks=(task,),
        stage_status_list=tuple(kt.PartyStageStatus(p, "JobCreateStageSucceeded") for p in parties),
    )
    return kt.JobStatus(job_id, detail, {"job_id": job_id})


def observe(conn: Connection, st: kt.JobStatus, capture: Any) -> None:
    with capture(execute=True):
        apply_job_status(conn, st, source="poll")


def hook(name: str = "ops", kind: str = "webhook") -> Channel:
    return Channel.objects.create(
        name=name, kind=kind, target_encrypted=seal("http://127.0.0.1:9/x"), target_hint="x"
    )


def rule(name: str, kind: str, *channels: Channel, **scope: Any) -> Rule:
    r = Rule.objects.create(name=name, kind=kind, **scope)
    r.channels.set(channels)
    return r


@pytest.fixture
def conn() -> Connection:
    return make_connection("local")


@pytest.fixture
def no_window(settings: Any) -> None:
    settings.KC_ALERTS_GROUP_SECONDS = 0


def test_a_failing_job_opens_one_incident_with_party_and_reason(
    conn: Connection, queued: list[int], django_capture_on_commit_callbacks: Any, no_window: None
) -> None:
    ch = hook()
    rule("failed", Rule.Kind.JOB_FAILED, ch)
    observe(conn, status("job-1", kt.RUNNING), django_capture_on_commit_callbacks)
    assert not Incident.objects.exists()
    end = timezone.now()
    failed = status("job-1", kt.FAILED, party_err="exit code 137 (OOMKilled)", end=end)
    observe(conn, failed, django_capture_on_commit_callbacks)
    inc = Incident.objects.get()
    assert (inc.kind, inc.subject, inc.job_state, inc.party) == (
        "job_failed",
        "job-1",
        "Failed",
        "bob",
    )
    assert "OOMKilled" in inc.reason and inc.link == "/jobs/local/job-1/"
    d = Delivery.objects.get()
    assert (d.event, d.channel, d.status) == ("firing", ch, "pending")
    assert queued == [d.pk]
    # The same failure seen again (another poll, the watch) is no change: nothing more.
    observe(conn, failed, django_capture_on_commit_callbacks)
    assert Incident.objects.count() == 1 and Delivery.objects.count() == 1
    # Restarted: the incident resolves, with one "resolved" message to the same channel.
    observe(conn, status("job-1", kt.RUNNING), django_capture_on_commit_callbacks)
    inc.refresh_from_db()
    assert inc.state == "resolved" and inc.resolved_note == "now Running"
    assert list(Delivery.objects.order_by("pk").values_list("event", flat=True)) == [
        "firing",
        "resolved",
    ]
    assert len(queued) == 2


def test_scope_by_connection_party_and_initiator(
    conn: Connection, queued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    other = make_connection("other")
    ch = hook()
    rule("bob-only", Rule.Kind.JOB_FAILED, ch, party="bob")
    rule("carol-only", Rule.Kind.JOB_FAILED, ch, party="carol")
    rule("other-conn", Rule.Kind.JOB_FAILED, ch, connection=other)
    rule("alice-starts", Rule.Kind.JOB_FAILED, ch, initiator="alice")
    rule("bob-starts", Rule.Kind.JOB_FAILED, ch, initiator="bob")
    observe(conn, status("job-1", kt.RUNNING), django_capture_on_commit_callbacks)
    from jobs.models import Job

    Job.objects.filter(job_id="job-1").update(initiator="alice")
    observe(
        conn,
        status("job-1", kt.FAILED, end=timezone.now(), party_err="x"),
        django_capture_on_commit_callbacks,
    )
    fired = set(Incident.objects.values_list("rule_name", flat=True))
    assert fired == {"bob-only", "alice-starts"}


def test_job_ended_is_one_notice_without_resolution(
    conn: Connection, queued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    ch = hook()
    rule("ended", Rule.Kind.JOB_ENDED, ch)
    observe(conn, status("job-1", kt.RUNNING), django_capture_on_commit_callbacks)
    observe(
        conn, status("job-1", kt.SUCCEEDED, end=timezone.now()), django_capture_on_commit_callbacks
    )
    inc = Incident.objects.get()
    assert inc.notify_only and inc.state == "resolved" and inc.job_state == "Succeeded"
    assert list(Delivery.objects.values_list("event", flat=True)) == ["firing"]


def test_old_jobs_discovered_already_ended_do_not_alert(
    conn: Connection, queued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    rule("failed", Rule.Kind.JOB_FAILED, hook())
    long_ago = timezone.now() - dt.timedelta(days=2)
    observe(conn, status("old", kt.FAILED, end=long_ago), django_capture_on_commit_callbacks)
    assert not Incident.objects.exists()
    just_now = timezone.now() - dt.timedelta(seconds=20)
    observe(conn, status("new", kt.FAILED, end=just_now), django_capture_on_commit_callbacks)
    assert list(Incident.objects.values_list("subject", flat=True)) == ["new"]


def test_subscribers_get_one_email_when_the_job_ends(
    conn: Connection, queued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    observe(conn, status("job-1", kt.RUNNING), django_capture_on_commit_callbacks)
    from jobs.models import Job

    job = Job.objects.get(job_id="job-1")
    ann = User.objects.create_user("ann", "ann@example.org", "pw")
    nomail = User.objects.create_user("bo", "", "pw")
    Subscription.objects.create(user=ann, job=job)
    Subscription.objects.create(user=nomail, job=job)
    observe(
        conn, status("job-1", kt.SUCCEEDED, end=timezone.now()), django_capture_on_commit_callbacks
    )
    d = Delivery.objects.get()
    assert (d.user, d.kind, d.event, d.incident.rule_name) == (ann, "email", "firing", "notify-me")
    assert Subscription.objects.filter(notified_at__isnull=False).count() == 2
    # Restarted and ended again: the subscription was used up; nothing more.
    observe(conn, status("job-1", kt.RUNNING), django_capture_on_commit_callbacks)
    observe(
        conn, status("job-1", kt.FAILED, end=timezone.now()), django_capture_on_commit_callbacks
    )
    assert Delivery.objects.count() == 1


def test_a_chunk_with_no_final_state_costs_no_alert_query(
    conn: Connection, queued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    rule("failed", Rule.Kind.JOB_FAILED, hook())
    observe(conn, status("job-1", kt.PENDING), django_capture_on_commit_callbacks)
    from jobs.models import Transition

    moves = list(Transition.objects.all())
    with CaptureQueriesContext(db_connection) as ctx:
        rules.on_transitions(connection=conn, transitions=moves)
    assert len(ctx.captured_queries) == 0


def test_grouping_window_keeps_a_flapping_subject_in_one_incident(
    conn: Connection, queued: list[int], django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.KC_ALERTS_GROUP_SECONDS = 60
    rule("failed", Rule.Kind.JOB_FAILED, hook())
    end = timezone.now()
    for _ in range(3):  # fail, restart, fail, restart, ...
        observe(conn, status("job-1", kt.FAILED, end=end), django_capture_on_commit_callbacks)
        observe(conn, status("job-1", kt.RUNNING), django_capture_on_commit_callbacks)
    inc = Incident.objects.get()
    assert inc.state == "resolving" and inc.resolve_after is not None
    assert list(Delivery.objects.values_list("event", flat=True)) == ["firing"]
    assert incidents.finish_due(timezone.now()) == 0  # the window has not ended
    assert incidents.finish_due(inc.resolve_after + dt.timedelta(seconds=1)) == 1
    assert sorted(Delivery.objects.values_list("event", flat=True)) == ["firing", "resolved"]


def test_duration_rules_fire_and_clear_in_the_sweep(
    conn: Connection, queued: list[int], no_window: None
) -> None:
    ch = hook()
    rule("pending", Rule.Kind.PENDING_LONGER, ch, minutes=10)
    rule("approval", Rule.Kind.APPROVAL_LONGER, ch, minutes=10)
    rule("stuck", Rule.Kind.NO_PROGRESS, ch, minutes=30)
    make_job(conn, "waits", state=kt.PENDING, changed_ago=11 * 60)
    make_job(conn, "fresh", state=kt.PENDING, changed_ago=60)
    make_job(
        conn,
        "approve",
        state=kt.AWAITING_APPROVAL,
        changed_ago=20 * 60,
        approve_status=[{"domain_id": "alice", "state": "JobAccepted"}],
    )
    frozen = make_job(conn, "frozen", state=kt.RUNNING, changed_ago=31 * 60)
    make_job(conn, "moving", state=kt.RUNNING, changed_ago=60)
    summary = rules.sweep()
    got = {(i.rule_name, i.subject) for i in Incident.objects.all()}
    assert got == {("pending", "waits"), ("approval", "approve"), ("stuck", "frozen")}
    assert Incident.objects.get(subject="approve").party == "bob"
    assert summary.opened == 3 and Delivery.objects.count() == 3
    rules.sweep()  # nothing changed: nothing new
    assert Incident.objects.count() == 3 and Delivery.objects.count() == 3
    from jobs.models import Job

    Job.objects.filter(pk=frozen.pk).update(state=kt.SUCCEEDED)
    summary = rules.sweep()
    assert summary.cleared == 1
    assert Incident.objects.get(subject="frozen").state == "resolved"
    assert Delivery.objects.filter(event="resolved").count() == 1


def test_sync_failing_fires_from_the_health_hook_and_resolves(
    queued: list[int], no_window: None
) -> None:
    conn = make_connection("flaky", synced_ago=None, error=("connect_refused", "refused", "hint"))
    Connection.objects.filter(pk=conn.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=10)
    )
    rule("sync", Rule.Kind.SYNC_FAILING, hook(), minutes=5)
    rules.on_sync_health(connection=conn, ok=False)
    inc = Incident.objects.get()
    assert inc.subject == "flaky" and inc.reason == "connect_refused: refused"
    SyncState.objects.filter(connection=conn).update(
        consecutive_failures=0, last_success=timezone.now()
    )
    rules.on_sync_health(connection=conn, ok=True)
    inc.refresh_from_db()
    assert inc.state == "resolved" and inc.resolved_note == "syncing again"


def test_sync_stale_when_nothing_polls(queued: list[int]) -> None:
    conn = make_connection("quiet", synced_ago=3600)
    rule("sync", Rule.Kind.SYNC_FAILING, hook(), minutes=10)
    rules.sweep()
    inc = Incident.objects.get()
    assert inc.subject == conn.name and "no successful sync since" in inc.reason


def test_disabling_a_rule_closes_its_incidents_without_a_message(
    conn: Connection, queued: list[int]
) -> None:
    r = rule("pending", Rule.Kind.PENDING_LONGER, hook(), minutes=1)
    make_job(conn, "waits", state=kt.PENDING, changed_ago=300)
    rules.sweep()
    assert Incident.objects.open().count() == 1
    from alerts import changes

    changes.close_rule_incidents(r)
    assert Incident.objects.open().count() == 0
    assert not Delivery.objects.filter(event="resolved").exists()


def test_two_evaluations_of_the_same_subject_open_one_incident(
    conn: Connection, queued: list[int]
) -> None:
    r = rule("failed", Rule.Kind.JOB_FAILED, hook(), hook("second"))
    facts = incidents.Facts(subject="job-1")
    assert incidents.fire(r, "job:1", facts) is not None
    assert incidents.fire(r, "job:1", facts) is None
    assert Incident.objects.count() == 1 and Delivery.objects.count() == 2
