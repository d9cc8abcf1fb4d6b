"""Acting on jobs through the views, against the simulator over real mTLS."""

from __future__ import annotations

import json
import re
import time

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from audit.models import AuditRecord
from connections.models import Connection
from jobs import sync
from jobs.models import Job
from kuscia import types as kt
from operate.forms import renamed_tasks, spec_to_data
from operate.job_templates import example_spec

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _user(name: str, group: str) -> Client:
    user = User.objects.create_user(name, password="pw")
    user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def env(kuscia_sim, db):
    conn = Connection.objects.create(
        name="sim", url=kuscia_sim.url, cert_dir=str(kuscia_sim.cert_dir)
    )
    return conn, _user("op", "operator"), kuscia_sim


def _create(client: Client, job_id: str, **custom: str) -> Job:
    spec = renamed_tasks(example_spec(job_id), job_id.rsplit("-", 1)[-1])
    spec = kt.JobSpec(**{**spec.__dict__, "custom_fields": dict(custom)})
    r = client.post(
        reverse("jobs-actions:create"), spec_to_data(spec, connection="sim", token=job_id)
    )
    assert r.status_code == 302, r.content.decode()[-2000:]
    assert r["Location"].startswith(f"/jobs/sim/{job_id}/")
    return Job.objects.get(job_id=job_id)


def _wait_state(job: Job, states: set[str], timeout: float = 15.0) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = sync.refresh_job(job)
        if job.state in states:
            return job
        time.sleep(0.05)
    raise AssertionError(f"{job.job_id} stayed {job.state}")


def _act(client: Client, job: Job, action: str, token: str, **extra: str):
    url = reverse(
        "jobs-actions:act",
        kwargs={"connection": job.connection.name, "job_id": job.job_id, "action": action},
    )
    return client.post(url, {"token": token, **extra})


def test_stop_restart_suspend_delete_forget(env):
    _conn, op, sim = env
    job = _create(op, "act-a1", **{"sim-task-seconds": "2000"})
    job = _wait_state(job, {kt.RUNNING})
    assert AuditRecord.objects.get(action="create", job_id="act-a1").outcome == "ok"

    buttons = reverse("jobs-actions:buttons", kwargs={"connection": "sim", "job_id": "act-a1"})
    assert op.get(buttons, {"state": kt.RUNNING}).status_code == 204  # nothing moved
    moved = op.get(buttons, {"state": kt.PENDING})
    assert moved.status_code == 200 and 'data-action="suspend"' in moved.content.decode()

    r = _act(op, job, "suspend", "t-suspend", reason="pause it")
    assert r.status_code == 302 and "done=" in r["Location"]
    rec = AuditRecord.objects.get(idempotency_key="t-suspend")
    assert (rec.outcome, rec.kuscia_code, rec.reason) == ("ok", 0, "pause it")
    job = _wait_state(job, {kt.SUSPENDED})

    page = op.get(r["Location"]).content.decode()
    assert "Suspend: Done." in page and "Kuscia code 0" in page
    assert 'data-action="restart"' in page and 'data-action="suspend"' not in page

    _act(op, job, "restart", "t-restart")
    assert AuditRecord.objects.get(idempotency_key="t-restart").outcome == "ok"
    job = _wait_state(job, {kt.RUNNING})

    _act(op, job, "stop", "t-stop", reason="enough")
    stop = AuditRecord.objects.get(idempotency_key="t-stop")
    assert stop.outcome == "ok" and stop.state_before == kt.RUNNING
    job = _wait_state(job, {kt.FAILED})

    # suspend on a Failed job: Kuscia refuses (11210) and the page shows code and message
    r = _act(op, job, "suspend", "t-suspend-2")
    rec = AuditRecord.objects.get(idempotency_key="t-suspend-2")
    assert rec.outcome == "error" and rec.kuscia_code == 11210
    page = op.get(r["Location"]).content.decode()
    assert "11210" in page and "can not be suspend" in page

    # a wrong confirmation does nothing, and the form opens again with the reason kept
    r = _act(op, job, "delete", "t-del-0", confirm_job_id="nope", reason="<b>done</b> with it")
    assert "refused=delete" in r["Location"]
    page = op.get(r["Location"]).content.decode()
    assert '<details class="action action-delete" open>' in page
    assert 'value="&lt;b&gt;done&lt;/b&gt; with it"' in page
    assert not AuditRecord.objects.filter(idempotency_key="t-del-0").exists()
    assert "act-a1" in sim.world.jobs

    _act(op, job, "delete", "t-del", confirm_job_id="act-a1")
    job.refresh_from_db()
    assert job.gone_at is not None and job.gone_reason == "deleted-here"
    assert "act-a1" not in sim.world.jobs
    assert AuditRecord.objects.get(idempotency_key="t-del").outcome == "ok"

    r = _act(op, job, "forget", "t-forget", confirm_job_id="act-a1")
    assert r.status_code == 302
    assert not Job.objects.filter(job_id="act-a1").exists()
    assert AuditRecord.objects.filter(job_id="act-a1").count() == 7


def test_stop_on_finished_job_says_no_effect(env):
    _conn, op, _sim = env
    job = _create(op, "act-b1")
    job = _wait_state(job, {kt.SUCCEEDED})
    _act(op, job, "stop", "t-stop-done")
    rec = AuditRecord.objects.get(idempotency_key="t-stop-done")
    assert rec.outcome == "no_effect" and rec.kuscia_code == 0
    assert "No effect" in rec.note and rec.state_before == kt.SUCCEEDED
    _act(op, job, "cancel", "t-cancel-done")
    assert AuditRecord.objects.get(idempotency_key="t-cancel-done").outcome == "no_effect"
    job.refresh_from_db()
    assert job.state == kt.SUCCEEDED


def test_double_submitted_action_acts_once(env):
    _conn, op, _sim = env
    job = _create(op, "act-c1", **{"sim-task-seconds": "2000"})
    job = _wait_state(job, {kt.RUNNING})
    first = _act(op, job, "suspend", "same")
    second = _act(op, job, "suspend", "same")
    assert first["Location"] == second["Location"]
    assert AuditRecord.objects.filter(action="suspend", job_id="act-c1").count() == 1


def test_viewer_sees_no_buttons_and_gets_403(env):
    _conn, op, sim = env
    job = _create(op, "act-d1", **{"sim-task-seconds": "2000"})
    viewer = _user("viewer", "viewer")
    page = viewer.get(reverse("jobs:detail", kwargs={"connection": "sim", "job_id": "act-d1"}))
    assert page.status_code == 200
    assert "data-action=" not in page.content.decode()
    for action in ("stop", "delete", "suspend"):
        assert _act(viewer, job, action, f"v-{action}", confirm_job_id="act-d1").status_code == 403
    assert viewer.get(reverse("jobs-actions:create")).status_code == 403
    buttons = reverse("jobs-actions:buttons", kwargs={"connection": "sim", "job_id": "act-d1"})
    assert viewer.get(buttons, {"state": "Pending"}).status_code == 403
    assert viewer.post(reverse("jobs-actions:track"), {"job_id": "act-d1"}).status_code == 403
    assert not AuditRecord.objects.filter(username="viewer").exists()
    assert "act-d1" in sim.world.jobs


def test_track_job_by_id_and_unknown_id(env):
    _conn, op, sim = env
    sim.world.create_job(
        {
            "job_id": "outside-1",
            "initiator": "alice",
            "max_parallelism": 1,
            "tasks": [
                {
                    "alias": "t1",
                    "task_id": "t1-out",
                    "app_image": "secretflow-image",
                    "parties": [{"domain_id": "alice"}],
                }
            ],
        }
    )
    r = op.post(reverse("jobs-actions:track"), {"job_id": "outside-1"})
    assert r.status_code == 302 and r["Location"] == "/jobs/sim/outside-1/"
    assert Job.objects.get(job_id="outside-1").source == Job.Source.ADDED
    r = op.post(reverse("jobs-actions:track"), {"job_id": "no-such-job"})
    body = r.content.decode()
    assert r.status_code == 200 and "11202" in body and "not found" in body
    assert AuditRecord.objects.get(job_id="no-such-job").outcome == "error"


def test_kuscia_error_keeps_what_was_typed(env):
    _conn, op, sim = env
    # Kuscia already has this id but the console does not know it yet: Kuscia answers 11201.
    sim.world.create_job(
        {
            "job_id": "clash-1",
            "initiator": "alice",
            "max_parallelism": 1,
            "tasks": [
                {
                    "alias": "x",
                    "task_id": "x-clash",
                    "app_image": "secretflow-image",
                    "parties": [{"domain_id": "alice"}],
                }
            ],
        }
    )
    spec = renamed_tasks(example_spec("clash-1"), "c1")
    data = spec_to_data(spec, connection="sim", token="clash-token")
    data["initiator"] = "alice"
    r = op.post(reverse("jobs-actions:create"), data)
    body = r.content.decode()
    assert r.status_code == 200
    assert "code 11201" in body and "already exists" in body
    assert 'value="clash-1"' in body and "job-psi-c1" in body
    assert 'value="clash-token"' not in body  # a fresh one-time token for the next attempt


def test_audit_page_filters(env):
    _conn, op, _sim = env
    _create(op, "aud-1")
    viewer = _user("viewer", "viewer")
    r = viewer.get(reverse("audit:list"), {"action": "create", "job": "aud"})
    body = r.content.decode()
    assert r.status_code == 200 and "aud-1" in body and "op" in body
    r = viewer.get(reverse("audit:list"), {"action": "delete"})
    assert "aud-1" not in r.content.decode()


def test_approve_and_reject_awaiting_jobs(env):
    _conn, op, _sim = env
    job = _create(op, "appr-1", **{"sim-approval": "required"})
    job = _wait_state(job, {kt.AWAITING_APPROVAL})
    page = op.get(f"/jobs/sim/{job.job_id}/").content.decode()
    assert 'data-action="approve"' in page and 'data-action="suspend"' not in page
    _act(op, job, "approve", "t-approve", reason="looks right")
    rec = AuditRecord.objects.get(idempotency_key="t-approve")
    assert rec.outcome == "ok" and rec.request_summary["result"] == "APPROVE_RESULT_ACCEPT"
    _wait_state(job, {kt.PENDING, kt.RUNNING, kt.SUCCEEDED})

    other = _create(op, "appr-2", **{"sim-approval": "required"})
    other = _wait_state(other, {kt.AWAITING_APPROVAL})
    _act(op, other, "reject", "t-reject")
    assert AuditRecord.objects.get(idempotency_key="t-reject").action == "reject"
    other = _wait_state(other, {kt.APPROVAL_REJECT})


def test_paste_json_fills_the_form_and_shows_problems(env):
    _conn, op, sim = env
    body = {
        "jobId": "pasted-1",
        "initiator": "alice",
        "maxParallelism": 2,
        "tasks": [
            {
                "alias": "a",
                "taskId": "a-p1",
                "appImage": "secretflow-image",
                "parties": [{"domainId": "alice"}],
                "dependencies": ["missing"],
            },
        ],
    }
    r = op.post(reverse("jobs-actions:paste"), {"request_json": json.dumps(body)})
    page = r.content.decode()
    assert r.status_code == 200
    assert 'value="pasted-1"' in page and 'value="a-p1"' in page
    assert "&#x27;missing&#x27; names no task alias" in page
    assert sim.world.jobs == {}
    r = op.post(reverse("jobs-actions:paste"), {"request_json": "{not json"})
    assert "Not valid JSON" in r.content.decode()


def test_run_again_copies_spec_with_new_ids(env):
    _conn, op, _sim = env
    _create(op, "again-1", **{"team": "risk"})
    r = op.get(reverse("jobs-actions:create"), {"from": "sim/again-1"})
    page = r.content.decode()
    assert r.status_code == 200 and "a copy of again-1" in page
    assert 'value="again-1"' not in page  # a new job id is suggested
    assert 'value="risk"' in page and 'value="secretflow-image"' in page
    # task ids were in use: renamed with the new job id's suffix, dependencies follow
    assert re.search(r"value=\"job-psi-1-r[0-9a-f]{4}\"", page)


def test_domaindata_options_and_picks(env):
    _conn, op, sim = env
    r = op.get(reverse("jobs-actions:domaindata"), {"connection": "sim", "domain": "alice"})
    assert r.status_code == 200 and 'data-pick="alice-table"' in r.content.decode()
    r = op.get(reverse("jobs-actions:domaindata"), {"connection": "sim", "domain": ""})
    assert "type the party" in r.content.decode()
    spec = renamed_tasks(example_spec("picks-1"), "pk1")
    data = spec_to_data(spec, connection="sim", token="picks")
    data["tasks-0-parties-0-input_data"] = "carol-table"
    r = op.post(reverse("jobs-actions:create"), data)
    assert r.status_code == 302
    sent = json.loads(sim.world.jobs["picks-1"].tasks[0].task_input_config)
    assert sent["sf_input_ids"] == ["carol-table", "bob-table"]
