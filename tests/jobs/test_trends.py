"""The overview's trends: computed by beat (jobs.stats.refresh), stored on JobStats, drawn as
server-side SVG with a table as the text equivalent."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from jobs import stats, trends
from jobs.models import JobStats, Transition
from kuscia import types as kt
from tests.fixtures.data import make_connection, make_job

pytestmark = pytest.mark.django_db


def test_percentiles_by_nearest_rank() -> None:
    assert trends.percentiles([]) == {"n": 0}
    got = trends.percentiles([float(v) for v in range(1, 101)])
    assert got == {"n": 100, "p50": 50.0, "p90": 90.0, "p99": 99.0, "max": 100.0}


def test_series_count_jobs_created_and_ended_per_hour_and_day(settings) -> None:
    settings.TIME_ZONE = "Asia/Shanghai"
    conn = make_connection("local")
    make_job(conn, "ok-1", state=kt.SUCCEEDED, created_ago=3 * 3600, changed_ago=2 * 3600)
    make_job(conn, "bad-1", state=kt.FAILED, created_ago=3 * 3600 + 60, changed_ago=3000)
    make_job(conn, "run-1", state=kt.RUNNING, created_ago=600)
    make_job(conn, "old-1", state=kt.SUCCEEDED, created_ago=5 * 86400, changed_ago=5 * 86400)
    t = trends.compute()
    assert t["zone"] == "Asia/Shanghai"
    assert len(t["hours"]) == 24 and len(t["days"]) == 30
    hours = {k: sum(h[k] for h in t["hours"]) for k in trends.SERIES}
    assert hours == {"started": 3, "succeeded": 1, "failed": 1}
    days = {k: sum(d[k] for d in t["days"]) for k in trends.SERIES}
    assert days == {"started": 4, "succeeded": 2, "failed": 1}
    # the current hour and today are the last buckets; days start at midnight in the zone
    last_day = dt.datetime.fromisoformat(t["days"][-1]["t"])
    assert last_day.utcoffset() == dt.timedelta(hours=8) and last_day.hour == 0
    # run-1, created 10 minutes ago: in this hour or the one before
    assert t["hours"][-1]["started"] + t["hours"][-2]["started"] == 1
    assert t["duration"][kt.SUCCEEDED]["n"] == 2 and t["duration"][kt.FAILED]["n"] == 1


def test_time_spent_pending_comes_from_recorded_transitions() -> None:
    conn = make_connection("local")
    job = make_job(conn, "wait-1", state=kt.RUNNING, created_ago=900, transitions=False)
    Transition.objects.create(
        job=job,
        kind="job",
        old_state=kt.PENDING,
        new_state=kt.RUNNING,
        observed_at=job.create_time + dt.timedelta(seconds=120),
        source="watch",
    )
    make_job(conn, "never-ran", state=kt.PENDING, transitions=False)
    pending = trends.compute()["pending"]
    assert pending["n"] == 1 and pending["p50"] == 120.0


def test_beat_recomputes_the_trends_only_every_minute() -> None:
    conn = make_connection("local")
    make_job(conn, "job-1", state=kt.SUCCEEDED)
    now = timezone.now()
    first = stats.refresh(now)
    assert first.trends_at == now and first.trends["days"][-1]["succeeded"] >= 0
    stats.refresh(now + dt.timedelta(seconds=5))
    assert JobStats.objects.get().trends_at == now  # counts recounted, trends kept
    stats.refresh(now + dt.timedelta(seconds=trends.TRENDS_SECONDS))
    assert JobStats.objects.get().trends_at == now + dt.timedelta(seconds=trends.TRENDS_SECONDS)


def test_the_section_draws_svg_with_a_text_equivalent() -> None:
    from django.template.loader import render_to_string

    conn = make_connection("local")
    make_job(conn, "ok-1", state=kt.SUCCEEDED, created_ago=3 * 3600, changed_ago=2 * 3600)
    make_job(conn, "bad-1", state=kt.FAILED, created_ago=3 * 3600, changed_ago=3000)
    from django.utils import translation

    with translation.override("en"):  # (a request of an earlier test may leave another active)
        html = render_to_string("jobs/_trends.html", {"stats": stats.refresh()})
    assert html.count('<svg class="trend"') == 2 and html.count('role="img"') == 2
    assert '<desc id="trend-hours-d">In all: 2 started, 1 succeeded, 1 failed.</desc>' in html
    assert html.count('<rect class="tr-failed"') == 24 + 30
    # the numbers as a table (one row per hour and per day) and the percentiles
    assert (
        html.count('<th scope="row">') + html.count('<th scope="row" class="wide">') == 24 + 30 + 3
    )
    assert "Duration of Succeeded jobs" in html and "Time spent Pending" in html


def test_no_trends_yet_draws_nothing() -> None:
    from django.template.loader import render_to_string

    assert render_to_string("jobs/_trends.html", {"stats": None}).strip() == ""


def test_the_overview_draws_the_trends_once_per_computation_language_and_zone(client_in):
    from jobs.templatetags import kc_trends

    make_job(make_connection("local"), "ok-1", state=kt.SUCCEEDED)
    row = stats.refresh()
    kc_trends._RENDERED.clear()
    first = client_in.get("/").content.decode()
    assert 'class="trends"' in first and len(kc_trends._RENDERED) == 1
    client_in.get("/")
    assert len(kc_trends._RENDERED) == 1  # drawn once
    zh = client_in.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "趋势" in zh and len(kc_trends._RENDERED) == 2
    stats.refresh(row.trends_at + dt.timedelta(seconds=trends.TRENDS_SECONDS))
    client_in.get("/")
    assert len(kc_trends._RENDERED) == 3  # new trends: drawn again
