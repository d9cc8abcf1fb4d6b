"""A job Kuscia no longer has (deleted there, or not found) keeps its last known state but is not
active: "gone while Running", counted nowhere as running, its duration frozen at gone_at."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs import stats
from jobs.models import Job
from jobs.querysets import GONE
from jobs.sync.marks import mark_gone
from kuscia import types as kt
from tests.fixtures.data import make_connection, make_job

pytestmark = pytest.mark.django_db


def gone_running_job() -> Job:
    """A Running job (started 600 s ago) that Kuscia lost 300 s ago, as the sync engine leaves
    it: state still Running, gone_at set."""
    conn = make_connection()
    job = make_job(conn, "job-lost", state=kt.RUNNING, parties=("alice", "bob"))
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(start_time=now - dt.timedelta(seconds=600))
    return mark_gone(job, reason="watch-deleted", observed_at=now - dt.timedelta(seconds=300))


def test_the_list_says_gone_while_running_and_the_running_filter_leaves_it_out(client_in):
    gone_running_job()
    make_job(Job.objects.get().connection, "job-live", state=kt.RUNNING)
    html = client_in.get(reverse("jobs:list")).content.decode()
    row = html.split('href="/jobs/local/job-lost/"', 1)[1].split("</tr>", 1)[0]
    assert "gone while Running" in row
    assert "st-running" not in row and "\u25b6" not in row
    assert "5m 00s" in row  # started 600 s ago, gone 300 s ago: the duration stopped there
    running = client_in.get(reverse("jobs:list") + "?state=Running").content.decode()
    assert "job-live" in running and "job-lost" not in running
    gone = client_in.get(reverse("jobs:list") + f"?state={GONE}").content.decode()
    assert "job-lost" in gone and "job-live" not in gone
    # an htmx refresh of a list whose only Running-looking job is gone stops polling
    only_gone = client_in.get(reverse("jobs:list") + f"?state={GONE}", HTTP_HX_REQUEST="true")
    assert only_gone.status_code == 286


def test_a_job_gone_after_it_finished_keeps_its_final_state_everywhere(client_in):
    conn = make_connection()
    job = make_job(conn, "job-done", state=kt.SUCCEEDED)
    mark_gone(job, reason="deleted-here")
    html = client_in.get(reverse("jobs:list") + "?state=Succeeded").content.decode()
    assert "job-done" in html and "gone from Kuscia" in html
    assert "gone while" not in html
    assert stats.refresh().counts[kt.SUCCEEDED] == 1
    assert "job-done" not in client_in.get(reverse("jobs:list") + f"?state={GONE}").content.decode()


def test_stats_and_the_overview_count_it_as_gone_not_running(client_in):
    gone_running_job()
    row = stats.refresh()
    assert row.counts[kt.RUNNING] == 0 and row.counts[GONE] == 1
    assert sum(row.counts.values()) == Job.objects.count()  # every job in exactly one tile
    alice = next(a for a in row.activity if a["party"] == "alice")
    assert alice["active"] == 0 and alice["total"] == 1
    html = client_in.get(reverse("jobs:overview")).content.decode()
    tile = html.split('href="/jobs/?state=Running"', 1)[1].split("</a>", 1)[0]
    assert '<span class="n">0</span>' in tile
    gone_tile = html.split(f'href="/jobs/?state={GONE}"', 1)[1].split("</a>", 1)[0]
    assert '<span class="n">1</span>' in gone_tile
    assert "Nothing is running." in html


def test_the_job_page_shows_no_running_badge_and_a_frozen_duration(client_in):
    job = gone_running_job()
    html = client_in.get(reverse("jobs:detail", args=["local", job.job_id])).content.decode()
    status = html.split('id="job-status"', 1)[1].split('<dl class="facts">', 1)[0]
    assert "gone while Running" in status
    assert "st-running" not in status and "\u25b6" not in status
    assert "live \u00b7 updates" not in status
    duration = re.search(r"<dt>Duration</dt><dd>([^<]*)</dd>", html)
    assert duration is not None and duration.group(1) == "5m 00s"
    # its task that was running when the job went (started ~313 s ago) stopped then too
    task = client_in.get(
        reverse("jobs:task", args=["local", job.job_id, f"{job.job_id}-t1"])
    ).content.decode()
    assert "gone while Running" in task
    took = re.search(r"<dt>Duration</dt><dd>([^<]*)</dd>", task)
    assert took is not None and re.fullmatch(r"1[0-6]s", took.group(1)), took
