"""The job list's rows, built in Python by the job_row tag: same columns, everything escaped."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs.models import Job
from jobs.templatetags.kc import breakable, duration, job_row, job_url
from kuscia import types as kt
from tests.fixtures.data import make_connection, make_job

pytestmark = pytest.mark.django_db


def test_a_row_escapes_what_kuscia_sent_and_links_the_job():
    conn = make_connection()
    job = make_job(conn, "job-x", state=kt.RUNNING, transitions=False, endpoints=False)
    Job.objects.filter(pk=job.pk).update(
        initiator="<b>eve</b>", parties=["<script>x</script>", "bob"]
    )
    job = Job.objects.select_related("connection").get(pk=job.pk)
    html = job_row(job, timezone.now())
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;, bob" in html and "&lt;b&gt;eve&lt;/b&gt;" in html
    assert f'href="{reverse("jobs:detail", args=[conn.name, "job-x"])}"' in html
    assert job_url(job) == reverse("jobs:detail", args=[conn.name, "job-x"])
    assert '<span class="state st-running">' in html and "\u25b6" in html  # icon and name


def test_a_gone_job_row_says_so_and_missing_values_show_a_dash():
    conn = make_connection()
    job = make_job(conn, "job-g", state=kt.SUCCEEDED, transitions=False, endpoints=False)
    Job.objects.filter(pk=job.pk).update(
        gone_at=timezone.now(), initiator="", parties=[], create_time=None, start_time=None
    )
    job = Job.objects.select_related("connection").get(pk=job.pk)
    html = job_row(job, timezone.now())
    assert html.startswith('<tr class="gone">') and "gone from Kuscia" in html
    assert html.count("<td>\u2013</td>") == 2  # initiator, parties
    assert '<time datetime="">\u2013</time>' in html


def test_a_duration_counts_to_now_only_while_something_can_still_end():
    start = timezone.now() - dt.timedelta(minutes=10)
    now = start + dt.timedelta(minutes=10)
    assert duration(start, None, now, kt.RUNNING) == "10m 00s"
    assert duration(start, start + dt.timedelta(minutes=2), now, kt.SUCCEEDED) == "2m 00s"
    # Finished, but Kuscia reported no end time: unknown, not "10m and growing".
    assert duration(start, None, now, kt.SUCCEEDED) == "\u2013"
    assert duration(start, None, now, kt.FAILED) == "\u2013"
    assert duration(None, None, now, kt.RUNNING) == "\u2013"


def test_a_long_state_name_may_wrap_before_its_inner_capital_and_stays_escaped():
    assert breakable("AwaitingApproval") == "Awaiting<wbr>Approval"
    assert breakable("Running") == "Running"
    assert breakable("<b>NewState</b>") == "&lt;b&gt;New<wbr>State&lt;/b&gt;"
