import pytest
from django.contrib.auth.models import Group, User
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditRecord
from connections.models import Connection
from jobs.models import Job
from kuscia import types as kt
from operate import actions


@pytest.fixture
def setup(db, tmp_path, client):
    conn = Connection.objects.create(
        name="broken", url="https://127.0.0.1:1", cert_dir=str(tmp_path / "missing")
    )
    job = Job.objects.create(connection=conn, job_id="j1", state=kt.RUNNING, source="added")
    op = User.objects.create_user("op", password="pw")
    op.groups.add(Group.objects.get(name="operator"))
    client.force_login(op)
    return conn, job, op, client


def test_unusable_connection_is_an_audited_error_not_a_crash(setup):
    _conn, job, op, _ = setup
    result = actions.act_on_job(action="stop", user=op, job=job, key="k1", reason="why")
    rec = result.record
    assert not result.ok and rec.outcome == "error"
    assert rec.error_kind and rec.kuscia_message and rec.hint
    assert (rec.username, rec.connection_name, rec.job_id, rec.reason) == (
        "op",
        "broken",
        "j1",
        "why",
    )
    again = actions.act_on_job(action="stop", user=op, job=job, key="k1", reason="why")
    assert again.duplicate and again.record.pk == rec.pk
    assert AuditRecord.objects.count() == 1


@pytest.mark.parametrize(
    ("service", "error"),
    [
        ("stop", RuntimeError),
        ("stop", SystemExit),  # a worker's time limit in the middle of a call
        ("delete", RuntimeError),
        ("track", RuntimeError),
    ],
)
def test_an_unexpected_error_finishes_the_audit_row_instead_of_leaving_it_in_progress(
    setup, monkeypatch, service, error
):
    conn, job, op, _ = setup

    def broken(*_args, **_kwargs):
        raise error("a bug, not a Kuscia error")

    monkeypatch.setattr(actions, "client_for", broken)
    monkeypatch.setattr(actions.sync, "track_job", broken)
    calls = {
        "stop": lambda: actions.act_on_job(action="stop", user=op, job=job, key="k-crash"),
        "delete": lambda: actions.delete_job(user=op, job=job, key="k-crash"),
        "track": lambda: actions.track_job(user=op, connection=conn, job_id="j9", key="k-crash"),
    }
    with pytest.raises(error):
        calls[service]()
    rec = AuditRecord.objects.get(idempotency_key="k-crash")
    assert rec.outcome == "error" and rec.error_kind == "internal" and rec.finished_at
    assert "may or may not" in rec.hint
    # A retry with the same key finds the finished row; it does not say "still in progress".
    assert calls[service]().duplicate


def test_forget_needs_a_deleted_job(setup):
    _conn, job, op, _ = setup
    result = actions.forget_job(user=op, job=job, key="f1")
    assert result.record.outcome == "error" and Job.objects.filter(pk=job.pk).exists()


def test_offered_actions_follow_the_state(setup):
    conn, _job, _op, _ = setup
    offered = {
        state: actions.offered_actions(
            Job(connection=conn, job_id="x", state=state, end_time=timezone.now())
        )
        for state in kt.JOB_STATES
    }
    assert offered[kt.RUNNING] == ["stop", "cancel", "suspend", "delete"]
    assert offered[kt.FAILED] == ["cancel", "restart", "delete"]
    assert offered[kt.SUSPENDED] == ["stop", "cancel", "restart", "delete"]
    assert offered[kt.AWAITING_APPROVAL] == ["stop", "cancel", "approve", "reject", "delete"]
    assert offered[kt.SUCCEEDED] == ["delete"]
    # Failed with no end time (a restart failing, tasks still running): Stop still acts (§8.3)
    ongoing = Job(connection=conn, job_id="x", state=kt.FAILED, end_time=None)
    assert actions.offered_actions(ongoing) == ["stop", "cancel", "restart", "delete"]


def test_audit_page_filters_and_query_count(setup):
    conn, _job, _op, client = setup
    for i in range(60):
        AuditRecord.objects.create(
            username="op" if i % 2 else "ann",
            connection=conn,
            connection_name="broken",
            job_id=f"job-{i}",
            action="stop" if i % 3 else "delete",
            outcome="ok",
        )
    with CaptureQueriesContext(db) as queries:
        r = client.get(reverse("audit:list"))
    assert r.status_code == 200 and r.content.decode().count("<tr data-action") == 50
    assert len(queries) <= 8
    r = client.get(reverse("audit:list"), {"user": "ann", "action": "delete"})
    body = r.content.decode()
    assert body.count("<tr data-action") == 10  # i even and divisible by 3: 0, 6, ... 54
    r = client.get(reverse("audit:list"), {"job": "job-5", "page": "1"})
    assert r.content.decode().count("<tr data-action") == 11  # job-5, job-50..59


def test_a_token_spent_on_another_action_is_refused_with_a_message(setup):
    _conn, job, op, client = setup
    actions.act_on_job(action="stop", user=op, job=job, key="k-once", reason="first")
    url = reverse(
        "jobs-actions:act", kwargs={"connection": "broken", "job_id": "j1", "action": "suspend"}
    )
    response = client.post(url, {"token": "k-once"}, follow=True)
    html = response.content.decode()
    assert "Not done: this form was already used for “Stop” of j1" in html
    assert "done=" not in response.redirect_chain[-1][0]
    assert AuditRecord.objects.count() == 1  # nothing else was attempted
    # the same form sent twice is still the same attempt (no message, the earlier result)
    again = client.post(
        reverse(
            "jobs-actions:act", kwargs={"connection": "broken", "job_id": "j1", "action": "stop"}
        ),
        {"token": "k-once"},
    )
    assert "done=" in again["Location"]


def test_a_token_spent_on_a_forget_is_refused_for_another_jobs_forget(setup):
    conn, job, op, client = setup
    other = Job.objects.create(connection=conn, job_id="j2", state=kt.FAILED, source="added")
    Job.objects.filter(pk__in=[job.pk, other.pk]).update(gone_at=timezone.now())
    job.refresh_from_db()
    assert actions.forget_job(user=op, job=job, key="k-f").ok
    url = reverse(
        "jobs-actions:act", kwargs={"connection": "broken", "job_id": "j2", "action": "forget"}
    )
    response = client.post(url, {"token": "k-f", "confirm_job_id": "j2"}, follow=True)
    assert "Not done: this form was already used for “Forget (local)” of j1" in (
        response.content.decode()
    )
    assert Job.objects.filter(pk=other.pk).exists()  # j2 was not forgotten


def test_the_no_effect_rules_judge_the_job_as_kuscia_has_it():
    def note(action: str, state: str, ended: bool = True) -> str:
        rule = actions.KUSCIA_ACTIONS[action].no_effect
        assert rule is not None
        status = kt.JobStatusDetail(state=state, end_time=timezone.now() if ended else None)
        return rule(kt.JobDetail("j", "alice", 1, (), status))

    for state in (kt.SUCCEEDED, kt.CANCELLED, kt.APPROVAL_REJECT):
        for action in ("stop", "cancel"):
            assert note(action, state) == (
                f"No effect: the job had already finished ({state}). Kuscia answers success anyway."
            )
    assert note("stop", kt.FAILED).startswith("No effect")  # its tasks have all ended
    assert note("stop", kt.FAILED, ended=False) == ""  # a restart's tasks may still run
    assert note("cancel", kt.FAILED) == "" and note("stop", kt.RUNNING) == ""
    for action in ("approve", "reject"):
        assert note(action, kt.AWAITING_APPROVAL) == ""
        assert note(action, kt.RUNNING) == "No effect: the job was not awaiting approval (Running)."
    assert actions.KUSCIA_ACTIONS["suspend"].no_effect is None  # Kuscia refuses instead (11210)


def test_an_unknown_action_is_a_404_and_attempts_nothing(setup):
    _conn, _job, _op, client = setup
    url = reverse(
        "jobs-actions:act", kwargs={"connection": "broken", "job_id": "j1", "action": "explode"}
    )
    assert client.post(url, {"token": "k-x"}).status_code == 404
    assert not AuditRecord.objects.exists()
