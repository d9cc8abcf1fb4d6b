"""The named reads behind the monitoring pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import QueryDict
from django.utils import timezone

from jobs.models import Job, Task
from jobs.querysets import FILTER_STATES, JobFilter
from kuscia import types as kt
from tests.fixtures.data import make_connection, make_job

pytestmark = pytest.mark.django_db


def test_filter_parses_the_url_and_drops_what_it_cannot_use():
    f = JobFilter.from_query(
        QueryDict(
            "state=Failed&state=Running&state=Nope&party=bob&sort=-progress&per_page=7&created_to=2025-02-30"
        )
    )
    assert f.states == ("Failed", "Running")
    assert f.party == "bob" and f.sort == "-progress"
    assert f.per_page == 25  # only the offered sizes
    assert f.created_to is None
    assert any("Created until" in e for e in f.errors) and any("state" in e for e in f.errors)
    assert JobFilter.from_query(QueryDict("")).is_default()


def test_party_filter_matches_whole_domain_ids_only():
    conn = make_connection()
    make_job(conn, "j1", parties=("bob", "carol"), transitions=False, endpoints=False)
    make_job(conn, "j2", parties=("bobby", "carol"), transitions=False, endpoints=False)
    got = Job.objects.filtered(JobFilter(party="bob"))
    assert [j.job_id for j in got] == ["j1"]


def test_state_totals_are_exact_and_cover_every_state():
    conn = make_connection()
    make_job(conn, "a", state=kt.FAILED, transitions=False)
    make_job(conn, "b", state=kt.FAILED, transitions=False)
    make_job(conn, "c", state=kt.RUNNING, transitions=False)
    counts = Job.objects.state_totals()
    assert counts[kt.FAILED] == 2 and counts[kt.RUNNING] == 1 and counts[kt.SUSPENDED] == 0
    assert set(counts) == set(FILTER_STATES)  # every state, and GONE


def test_changed_since_counts_up_to_cap_plus_one():
    conn = make_connection()
    for i in range(4):
        make_job(conn, f"j{i}", transitions=False, endpoints=False)
    make_job(conn, "old", changed_ago=3 * 86400, transitions=False, endpoints=False)
    since = timezone.now() - dt.timedelta(hours=24)
    assert Job.objects.changed_since(since, cap=10) == 4
    assert Job.objects.changed_since(since, cap=2) == 3  # cap + 1: "more than 2"


def test_stuck_means_waiting_long_or_running_without_change():
    conn = make_connection()
    now = timezone.now()
    make_job(conn, "pending-old", state=kt.PENDING, created_ago=3600)
    make_job(conn, "pending-new", state=kt.PENDING, created_ago=60)
    make_job(conn, "running-frozen", state=kt.RUNNING, created_ago=9000, changed_ago=7200)
    make_job(conn, "running-moving", state=kt.RUNNING, created_ago=9000, changed_ago=10)
    make_job(conn, "gone", state=kt.RUNNING, created_ago=9000, changed_ago=7200, gone_at=now)
    assert {j.job_id for j in Job.objects.stuck(now)} == {"pending-old", "running-frozen"}


def test_party_activity_counts_recent_jobs_per_party():
    conn = make_connection()
    make_job(conn, "a", state=kt.RUNNING, parties=("alice", "bob"))
    make_job(conn, "b", state=kt.FAILED, parties=("alice",))
    make_job(conn, "old", state=kt.FAILED, parties=("zed",), changed_ago=3 * 86400)
    rows = Job.objects.party_activity(timezone.now() - dt.timedelta(hours=24))
    assert rows[0] == {"party": "alice", "active": 1, "failed": 1, "succeeded": 0, "total": 2}
    assert [r["party"] for r in rows] == ["alice", "bob"]


def test_job_page_rows_group_parties_and_endpoints(django_assert_num_queries):
    conn = make_connection()
    job = make_job(conn, "j", state=kt.FAILED, tasks=3, parties=("alice", "bob", "carol"))
    with django_assert_num_queries(3):
        rows = Task.objects.for_job_page(job)
        tasks = rows.tasks
        parties = [p for t in tasks for p in t.party_list]
        endpoints = [e for p in parties for e in p.endpoint_list]
    assert [t.alias for t in tasks] == ["t0", "t1", "t2"]
    assert len(parties) == 9 and len(endpoints) == 18 and rows.endpoints_complete
    with django_assert_num_queries(2):
        light = Task.objects.for_job_page(job, full=False).tasks
    # every party (the live matrix shows them all), and no endpoints
    assert [len(t.party_list) for t in light] == [3, 3, 3]
    assert [p.domain_id for p in light[2].party_list] == ["alice", "bob", "carol"]
    assert light[2].party_list[2].state == kt.FAILED
    assert all(p.endpoint_list == [] for t in light for p in t.party_list)


def test_many_endpoints_are_left_for_loading_per_party():
    conn = make_connection()
    job = make_job(conn, "big", state=kt.SUCCEEDED, tasks=13, parties=("alice", "bob"))
    rows = Task.objects.for_job_page(job)  # 13 tasks x 2 parties x 2 ports = 52 > 48
    assert not rows.endpoints_complete
    assert all(p.endpoint_list == [] for t in rows.tasks for p in t.party_list)
    alice = Task.objects.endpoints_of_party(job, "alice")
    assert len(alice) == 26 and alice[0].party.task.alias == "t0"
