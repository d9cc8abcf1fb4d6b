"""The network part of a failed job's failure card: its parties' nodes and routes during the
run window, from the recorded transitions, and what Kuscia's task message names."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection as db
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jobs.models import Job, Task
from kuscia import types as kt
from network import diagnosis, sync
from tests.fixtures.data import make_connection, make_job
from tests.network.factories import domain, route

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0) - dt.timedelta(hours=2)
CDR = (
    "KusciaTask failed after 3x retry, last error: "
    "cdr-check bob to alice failed with DestinationUnreachable"
)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture
def conn():
    c = make_connection("local")
    sync.apply_domains(c, [domain("alice"), domain("bob")], observed_at=at(-60))
    sync.apply_route_statuses(
        c, [route("alice", "bob"), route("bob", "alice")], observed_at=at(-60)
    )
    return c


def failed_job(conn, start: float = 0, end: float = 10, message: str = CDR) -> Job:
    job = make_job(conn, "job-f", state=kt.FAILED, parties=("alice", "bob"))
    Job.objects.filter(pk=job.pk).update(
        start_time=at(start), end_time=at(end), last_changed=at(end)
    )
    Task.objects.filter(job=job).update(err_msg="")
    Task.objects.filter(job=job, position=0).update(state=kt.FAILED, err_msg=message)
    job.refresh_from_db()
    return job


def render(job: Job) -> str:
    html = Template("{% load network %}{% network_diagnosis job %}").render(Context({"job": job}))
    return re.sub(r"\s+", " ", html)


def test_route_failed_during_the_run_is_named_with_times_and_reason(conn):
    sync.apply_route_statuses(conn, [route("bob", "alice", up=False)], observed_at=at(2))
    sync.apply_route_statuses(conn, [route("bob", "alice")], observed_at=at(7.5))
    job = failed_job(conn)
    d = diagnosis.diagnose(job, diagnosis.failure_messages(job))
    (problem,) = d.problems
    assert problem.name == "bob → alice" and problem.named_by_kuscia == "DestinationUnreachable"
    (p,) = problem.bad
    assert (p.status, p.start, p.end, p.reason) == (
        "Failed",
        at(2),
        at(7.5),
        "DestinationUnreachable",
    )
    assert not p.open_start and not p.open_end
    assert {f.name for f in d.fine} == {"alice", "bob", "alice → bob"}
    html = render(job)
    stamp = lambda t: timezone.localtime(t).strftime("%Y-%m-%d %H:%M:%S")  # noqa: E731
    assert "route bob → alice" in html
    assert (
        f"from {stamp(at(2))} to {stamp(at(7.5))}: <strong>DestinationUnreachable</strong>" in html
    )
    assert "Kuscia's task message names it (DestinationUnreachable)" in html
    assert 'href="/network/routes/local/bob/alice/"' in html


def test_failed_before_and_after_the_run_is_the_whole_run(conn):
    sync.apply_route_statuses(conn, [route("bob", "alice", up=False)], observed_at=at(-30))
    job = failed_job(conn)
    (problem,) = diagnosis.diagnose(job).problems
    (p,) = problem.bad
    assert p.open_start and p.open_end and (p.start, p.end) == (at(0), at(10))
    assert "for the whole run" in render(job)


def test_a_node_not_ready_and_kuscias_resource_check(conn):
    sync.apply_domains(conn, [domain("bob", "NotReady")], observed_at=at(5))
    job = failed_job(conn, message="resource-check no node status available for domain bob")
    d = diagnosis.diagnose(job, diagnosis.failure_messages(job))
    (problem,) = d.problems
    assert problem.kind == "node" and problem.name == "bob"
    assert problem.named_by_kuscia == "resource-check"
    (p,) = problem.bad
    assert p.status == "NotReady" and p.start == at(5) and p.open_end
    assert "from " in render(job) and "to the end of the run" in render(job)


def test_a_change_after_the_run_tells_the_state_during_it():
    # the route broke long before the run (beyond the margin read) and came back after it
    conn = make_connection("old")
    day = 24 * 60
    sync.apply_domains(conn, [domain("alice"), domain("bob")], observed_at=at(-20 * day))
    pairs = [route("alice", "bob"), route("bob", "alice")]
    sync.apply_route_statuses(conn, pairs, observed_at=at(-20 * day))
    sync.apply_route_statuses(conn, [route("bob", "alice", up=False)], observed_at=at(-10 * day))
    sync.apply_route_statuses(conn, [route("bob", "alice")], observed_at=at(60))
    job = failed_job(conn)
    (problem,) = diagnosis.diagnose(job).problems
    assert problem.bad[0].open_start and problem.bad[0].open_end


def test_nothing_known_and_nothing_wrong(conn):
    job = failed_job(conn, message="container exited 1")
    d = diagnosis.diagnose(job)
    assert not d.problems and "No node or route problem was recorded" in render(job)
    other = make_connection("elsewhere")
    job2 = make_job(other, "job-x", state=kt.FAILED, parties=("carol", "dave"))
    assert "no network record for these parties" in render(job2)


def test_only_failed_jobs_and_fixed_queries(conn):
    running = make_job(conn, "job-r", state=kt.RUNNING)
    with CaptureQueriesContext(db) as ctx:
        assert render(running).strip() == ""
    assert len(ctx) == 0
    job = failed_job(conn)
    with CaptureQueriesContext(db) as ctx:
        render(job)
    assert len(ctx) == 6
    # more problems, same queries
    sync.apply_domains(conn, [domain("bob", "NotReady")], observed_at=at(1))
    pairs = [route("alice", "bob", up=False), route("bob", "alice", up=False)]
    sync.apply_route_statuses(conn, pairs, observed_at=at(2))
    with CaptureQueriesContext(db) as ctx:
        assert render(job).count("history</a>") == 3
    assert len(ctx) == 6


@pytest.mark.parametrize(
    "text, routes, nodes",
    [
        (CDR, {("bob", "alice"): "DestinationUnreachable"}, {}),
        (
            "last error: resource-check no node cache to bob; "
            "cdr-check alice to bob failed with HeartBeatTimeout",
            {("alice", "bob"): "HeartBeatTimeout"},
            {"bob": "resource-check"},
        ),
        ("container terminated", {}, {}),
    ],
)
def test_kuscia_messages_read(text, routes, nodes):
    assert diagnosis.named_in([text]) == (routes, nodes)


def test_overview_tiles_count_problems_and_link(conn):
    html = re.sub(r"\s+", " ", Template("{% load network %}{% network_tiles %}").render(Context()))
    assert '<span class="n">0</span>' in html and "nodes not ready" in html
    sync.apply_domains(conn, [domain("bob", "NotReady")], observed_at=at(1))
    sync.apply_route_statuses(conn, [route("bob", "alice", up=False)], observed_at=at(1))
    with CaptureQueriesContext(db) as ctx:
        html = re.sub(
            r"\s+", " ", Template("{% load network %}{% network_tiles %}").render(Context())
        )
    assert len(ctx) == 3
    assert '1</span> <span class="label"><span aria-hidden="true">✗</span> node not ready' in html
    assert "route down" in html and 'href="/network/"' in html
