"""jobs.stats: the overview's counts are recounted off the request path and read as one row."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from jobs import stats, tasks
from jobs.models import JobStats
from jobs.querysets import GONE
from kuscia import types as kt
from tests.fixtures.data import make_connection, make_job

pytestmark = pytest.mark.django_db


def test_refresh_counts_every_state_exactly_and_activity_per_party():
    conn = make_connection()
    make_job(conn, "a", state=kt.RUNNING, parties=("alice", "bob"), transitions=False)
    make_job(conn, "b", state=kt.FAILED, parties=("alice",), transitions=False)
    make_job(conn, "old", state=kt.SUCCEEDED, parties=("zed",), changed_ago=3 * 86400)
    row = stats.refresh()
    assert row.counts[kt.RUNNING] == 1 and row.counts[kt.FAILED] == 1
    assert row.counts[kt.SUCCEEDED] == 1 and row.counts[kt.SUSPENDED] == 0
    assert set(row.counts) == {*kt.JOB_STATES, GONE}  # GONE: lost before finishing
    assert [a["party"] for a in row.activity] == ["alice", "bob"]  # zed changed 3 days ago
    assert row.activity[0] == {
        "party": "alice",
        "active": 1,
        "failed": 1,
        "succeeded": 0,
        "total": 2,
    }
    assert row.activity_jobs == 2 and not row.activity_capped
    assert JobStats.objects.count() == 1  # one row, updated in place
    stats.refresh()
    assert JobStats.objects.count() == 1


def test_activity_says_when_it_looked_at_only_the_most_recent_jobs(monkeypatch):
    conn = make_connection()
    for i in range(4):
        make_job(conn, f"j{i}", parties=("alice",), transitions=False, endpoints=False)
    monkeypatch.setattr(stats, "ACTIVITY_JOBS", 3)
    row = stats.refresh()
    assert row.activity_capped and row.activity_jobs == 3
    assert row.activity[0]["total"] == 3


def test_current_reads_the_row_and_recounts_only_when_missing_or_old(settings):
    conn = make_connection()
    make_job(conn, "a", state=kt.RUNNING, transitions=False)
    first = stats.current()  # no row yet: counted here
    assert first.counts[kt.RUNNING] == 1
    make_job(conn, "b", state=kt.RUNNING, transitions=False)
    assert stats.current().counts[kt.RUNNING] == 1  # fresh row: read, not recounted
    settings.KC_STATS_MAX_AGE = 60.0
    later = first.computed_at + dt.timedelta(seconds=61)
    assert stats.current(later).counts[kt.RUNNING] == 2  # beat stopped: the page recounts


def test_beat_refreshes_the_stats_through_the_task_adapter():
    assert (
        settings.CELERY_BEAT_SCHEDULE["refresh-job-stats"]["task"] == "jobs.tasks.refresh_job_stats"
    )
    conn = make_connection()
    make_job(conn, "a", state=kt.PENDING, transitions=False)
    out = tasks.refresh_job_stats()
    assert JobStats.objects.current().counts[kt.PENDING] == 1
    assert out["took_ms"] >= 0


def test_overview_shows_the_counted_numbers_and_when(client_in):
    conn = make_connection()
    make_job(conn, "a", state=kt.FAILED, transitions=False)
    stats.refresh(timezone.now() - dt.timedelta(seconds=20))
    make_job(conn, "b", state=kt.FAILED, transitions=False)  # after the count: not in it yet
    html = client_in.get(reverse("jobs:overview")).content.decode()
    assert 'href="/jobs/?state=Failed"' in html
    tile = html.split('href="/jobs/?state=Failed"', 1)[1].split("</a>", 1)[0]
    assert '<span class="n">1</span>' in tile
    # the time is a <time> element whose title is the exact instant
    assert re.search(r'Counted <time datetime="[^"]+" title="[^"]+">20s ago</time>', html)


def test_tiles_group_thousands():
    from jobs.templatetags.kc import thousands

    assert thousands(54544) == "54,544" and thousands(0) == "0" and thousands(None) == "0"
