"""The job page's failure card: every reason Kuscia gives (stage lists, approvals, party errors,
task errors), said once and in words ("Stopped by demo at 10:02 — reason: …"), with Kuscia's own
texts kept in the card's details rather than as the headline."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditRecord
from jobs.models import Job, PartyStatus, Task
from kuscia import types as kt
from tests.fixtures.data import make_connection, make_job

pytestmark = pytest.mark.django_db

STOP = "Party:  execute the cmd: Stop."  # Kuscia's text on a master (the trigger is empty)
RESTARTED = "This job is restarted by "


def status_block(client, job: Job) -> str:
    html = client.get(reverse("jobs:detail", args=[job.connection.name, job.job_id]))
    assert html.status_code == 200
    return html.content.decode().split('id="job-status"', 1)[1].split('aria-labelledby="dag-h"')[0]


def failure_card(block: str) -> str:
    return block.split('class="failure"', 1)[1].split("</section>", 1)[0]


def visible(markup: str) -> str:
    """The text a reader sees without opening anything: <details> bodies left out (their
    summaries kept), tags removed, white space collapsed."""
    markup = re.sub(
        r"<details\b[^>]*>\s*<summary\b[^>]*>(.*?)</summary>.*?</details>",
        r"\1",
        markup,
        flags=re.S,
    )
    return " ".join(re.sub(r"<[^>]+>", " ", markup).split())


def details(markup: str) -> str:
    """What the <details> hold, as written (Kuscia's texts keep their white space)."""
    return "\n".join(re.findall(r"<details\b[^>]*>(.*?)</details>", markup, flags=re.S))


def audit(job: Job, action: str, *, user: str = "demo", reason: str = "", ago: float = 60):
    return AuditRecord.objects.create(
        username=user,
        connection=job.connection,
        connection_name=job.connection.name,
        job_id=job.job_id,
        action=action,
        reason=reason,
        outcome=AuditRecord.Outcome.OK,
        created_at=timezone.now() - dt.timedelta(seconds=ago),
    )


def test_a_party_that_could_not_create_the_job_is_the_reason_not_no_reason(client_in):
    job = make_job(
        make_connection(),
        "job-dave",
        state=kt.FAILED,
        tasks=1,
        task_states=[kt.PENDING],
        parties=("alice", "dave"),
    )
    Job.objects.filter(pk=job.pk).update(
        stage_status=[
            {"domain_id": "alice", "state": "JobCreateStageSucceeded"},
            {"domain_id": "dave", "state": "JobCreateStageFailed"},
        ]
    )
    block = status_block(client_in, job)
    card = failure_card(block)
    assert "no reason" not in card
    assert re.search(r"dave\b.*could not create", visible(card)), visible(card)
    assert "JobCreateStageFailed" in card


def test_a_broken_route_reason_comes_from_the_task_when_the_job_and_parties_say_nothing(
    client_in,
):
    job = make_job(make_connection(), "job-route", state=kt.FAILED, tasks=2)
    reason = "KusciaTask failed after 3x retry, last error: cdr-check alice to bob failed with x"
    Task.objects.filter(job=job, alias="t1").update(err_msg=reason)
    PartyStatus.objects.filter(task__job=job, task__alias="t1").delete()  # no pod was made
    card = failure_card(status_block(client_in, job))
    assert reason in visible(card) and "no reason" not in card
    assert re.search(r"Task t1 failed", visible(card))


def test_every_failed_task_and_party_is_in_the_card_each_text_once(client_in):
    job = make_job(
        make_connection(),
        "job-many",
        state=kt.FAILED,
        tasks=3,
        task_states=[kt.FAILED, kt.FAILED, kt.FAILED],
        parties=("alice", "bob"),
    )
    PartyStatus.objects.filter(task__job=job, domain_id="bob", task__alias="t0").update(
        state=kt.FAILED, err_msg="exit code 137 (OOMKilled)"
    )
    PartyStatus.objects.filter(task__job=job, domain_id="alice", task__alias="t1").update(
        state=kt.FAILED, err_msg="ImagePullBackOff: secretflow-image"
    )
    PartyStatus.objects.filter(task__job=job, task__alias="t2").update(
        state=kt.FAILED, err_msg="exit code 137 (OOMKilled)"
    )
    card = visible(failure_card(status_block(client_in, job)))
    assert "ImagePullBackOff: secretflow-image" in card
    assert card.count("exit code 137 (OOMKilled)") == 1  # said once, with every place it came from
    assert re.search(r"t0 @ bob.*t2 @ alice.*t2 @ bob", card), card


def test_a_failed_job_page_says_its_reason_once_and_keeps_kuscias_text_in_the_details(client_in):
    raw = "Task[t1]-Party[bob]: container exited with code 1"
    job = make_job(
        make_connection(),
        "job-once",
        state=kt.FAILED,
        err_msg=raw,
        party_err="container exited with code 1",
    )
    block = status_block(client_in, job)
    assert 'class="errbox"' not in block  # no banner repeating the card
    assert visible(block).count("container exited with code 1") == 1
    assert raw in details(block)


def test_a_stopped_job_says_who_when_and_why_in_words(client_in):
    job = make_job(
        make_connection(),
        "job-stop",
        state=kt.FAILED,
        err_msg=STOP,
        tasks=2,
        task_states=[kt.SUCCEEDED, kt.FAILED],
    )
    Task.objects.filter(job=job, alias="t1").update(err_msg="Job was stopped")
    record = audit(job, "stop", reason="maintenance window")
    block = status_block(client_in, job)
    seen = visible(block)
    assert "Stopped by demo at" in seen and "reason: maintenance window" in seen
    assert f'datetime="{record.created_at.isoformat()}"' in block  # the time is a <time>
    assert STOP not in seen and "Why it failed" not in seen
    assert STOP in details(block)  # Kuscia's raw text is kept, in the details
    assert "Job was stopped" in details(block)


def test_a_job_stopped_outside_the_console_says_so(client_in):
    job = make_job(make_connection(), "job-stop2", state=kt.FAILED, err_msg=STOP)
    seen = visible(status_block(client_in, job))
    assert "Stopped through Kuscia" in seen and "not from this console" in seen
    assert STOP not in seen


def test_a_restarted_job_says_it_was_restarted_not_kuscias_empty_sentence(client_in):
    job = make_job(make_connection(), "job-re", state=kt.RUNNING, err_msg=RESTARTED)
    audit(job, "restart", user="otto", reason="")
    block = status_block(client_in, job)
    seen = visible(block)
    assert "Restarted by otto at" in seen and RESTARTED.strip() not in seen
    assert RESTARTED.strip() in details(block)
    assert 'class="failure"' not in block  # running again: nothing failed


def test_a_failed_validation_says_kuscia_gave_no_reason_and_what_to_check(client_in):
    job = make_job(make_connection(), "job-bad", state=kt.FAILED, tasks=1, task_states=[kt.PENDING])
    Job.objects.filter(pk=job.pk).update(stage_status=[])
    seen = visible(failure_card(status_block(client_in, job)))
    assert "Kuscia gave no reason" in seen


def test_the_overviews_recent_failures_say_stopped_not_kuscias_trace(client_in):
    job = make_job(make_connection(), "job-stop3", state=kt.FAILED, err_msg=STOP)
    html = client_in.get(reverse("jobs:overview")).content.decode()
    line = html.split('class="jobid">job-stop3</a>', 1)[1].split("</li>", 1)[0]
    assert "<summary>Stopped</summary>" in line and STOP in details(line)
    assert job.err_msg == STOP
