"""The progress bar is Kuscia's progress (the mean of its tasks' progress); the count next to it
is of succeeded tasks. Both are said in words wherever a job's bar is shown, so "0/2" never sits
unexplained next to a quarter-full bar."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from jobs import stats
from jobs.models import Job
from kuscia import types as kt
from tests.fixtures.data import make_connection, make_job

pytestmark = pytest.mark.django_db


def text(markup: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", markup).split())


def quarter_done_job() -> Job:
    job = make_job(make_connection(), "job-q", state=kt.RUNNING, tasks=2)
    Job.objects.filter(pk=job.pk).update(progress=0.25, tasks_succeeded=0)
    return job


def test_the_list_row_labels_the_bar_and_the_count(client_in):
    quarter_done_job()
    html = client_in.get(reverse("jobs:list")).content.decode()
    row = html.split('href="/jobs/local/job-q/"', 1)[1].split("</tr>", 1)[0]
    cell = next(c for c in row.split("<td") if "<progress" in c)
    assert 'value="0.25"' in cell
    assert "25%" in text("<td" + cell) and "0/2 succeeded" in text("<td" + cell)


def test_the_overview_and_the_job_page_label_both_too(client_in):
    job = quarter_done_job()
    stats.refresh()
    overview = client_in.get(reverse("jobs:overview")).content.decode()
    line = overview.split('class="jobid">job-q</a>', 1)[1].split("</li>", 1)[0]
    assert "25%" in text(line) and "0/2 succeeded" in text(line)
    page = client_in.get(reverse("jobs:detail", args=["local", job.job_id])).content.decode()
    status = page.split('id="job-status"', 1)[1].split('<span class="prog"', 1)[1]
    status = status.split("</span></span>", 1)[0]
    assert "25%" in text(status) and "0/2 tasks succeeded" in text(status)
