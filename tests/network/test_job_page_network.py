"""The network on the job pages: the failure card of a job that failed on a broken route names
the route and its state during the run, with links to the history; the overview shows the
network tiles. Both at a fixed number of queries, whatever the number of nodes and routes."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs import stats
from jobs.models import Job, Task
from kuscia import types as kt
from network import sync
from tests.fixtures.data import make_connection, make_job
from tests.network.factories import domain, route

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0) - dt.timedelta(hours=1)
CDR = "cdr-check bob to alice failed with DestinationUnreachable"


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def network(conn, domains=("alice", "bob")) -> None:
    sync.apply_domains(conn, [domain(d) for d in domains], observed_at=at(-60))
    pairs = [route(s, d) for s in domains for d in domains if s != d]
    sync.apply_route_statuses(conn, pairs, observed_at=at(-60))


def failed_job(conn, job_id="job-f", message=CDR, **kw) -> Job:
    job = make_job(conn, job_id, state=kt.FAILED, **kw)
    Job.objects.filter(pk=job.pk).update(start_time=at(0), end_time=at(10), last_changed=at(10))
    Task.objects.filter(job=job).update(err_msg="")
    Task.objects.filter(job=job, position=0).update(state=kt.FAILED, err_msg=message)
    return job


def page(client, job: Job) -> str:
    url = reverse("jobs:detail", args=[job.connection.name, job.job_id])
    response = client.get(url)
    assert response.status_code == 200
    return re.sub(r"\s+", " ", response.content.decode())


def test_a_job_failed_on_a_broken_route_names_it_on_its_page(client_in):
    conn = make_connection("local")
    network(conn)
    sync.apply_route_statuses(conn, [route("bob", "alice", up=False)], observed_at=at(2))
    job = failed_job(conn)
    html = page(client_in, job)
    card = html[html.index('class="failure"') :]
    assert "Network during the run" in card
    assert "route bob → alice" in card
    assert "✗</span> Failed" in card and "<strong>DestinationUnreachable</strong>" in card
    assert "Kuscia's task message names it (DestinationUnreachable)" in card
    assert 'href="/network/routes/local/bob/alice/"' in card
    # the healthy ones are named, without a history link each
    assert "No problem recorded:" in card and "alice → bob" in card


def test_a_node_not_ready_links_to_the_node_history(client_in):
    conn = make_connection("local")
    network(conn)
    sync.apply_domains(conn, [domain("bob", "NotReady")], observed_at=at(3))
    job = failed_job(conn, message="resource-check no node status available for domain bob")
    card = page(client_in, job)
    assert "node bob" in card and "Not ready" in card
    assert 'href="/network/nodes/local/bob/"' in card


def test_a_stopped_job_or_a_running_one_has_no_network_part(client_in):
    conn = make_connection("local")
    network(conn)
    stopped = failed_job(conn, "job-s", err_msg="Party:  execute the cmd: Stop.")
    assert "Network during the run" not in page(client_in, stopped)
    running = make_job(conn, "job-r", state=kt.RUNNING)
    assert "Network during the run" not in page(client_in, running)


@pytest.mark.parametrize("n", [2, 8])
def test_the_failed_job_page_costs_the_same_queries_whatever_the_network(
    client_in, django_assert_max_num_queries, n
):
    """The detail page's own queries (tests/jobs/test_pages_queries.py) plus the diagnosis's
    six, with 2 or 8 parties, all routes among them broken."""
    conn = make_connection("local")
    parties = tuple(f"d{i}" for i in range(n))
    network(conn, parties)
    down = [route(s, d, up=False) for s in parties for d in parties if s != d]
    sync.apply_route_statuses(conn, down, observed_at=at(1))
    job = failed_job(conn, parties=parties, message="container exited 1")
    url = reverse("jobs:detail", args=["local", job.job_id])
    with django_assert_max_num_queries(11 + 6):
        html = client_in.get(url).content.decode()
    assert html.count("history</a>") >= n * (n - 1)


def test_the_overview_shows_the_network_tiles(client_in, django_assert_max_num_queries):
    conn = make_connection("local")
    network(conn, ("alice", "bob", "carol"))
    sync.apply_domains(conn, [domain("bob", "NotReady")], observed_at=at(1))
    down = [route("bob", "alice", up=False), route("carol", "alice", up=False)]
    sync.apply_route_statuses(conn, down, observed_at=at(1))
    stats.refresh()  # what beat does
    with django_assert_max_num_queries(11):
        html = re.sub(r"\s+", " ", client_in.get(reverse("jobs:overview")).content.decode())
    tile = '<span class="n">{}</span> <span class="label"><span aria-hidden="true">✗</span> {}'
    assert tile.format(1, "node not ready") in html
    assert tile.format(2, "routes down") in html
    assert 'href="/network/"' in html
    # the htmx refresh carries them too
    fragment = client_in.get(reverse("jobs:overview"), HTTP_HX_REQUEST="true").content.decode()
    assert "routes down" in fragment


def test_the_overview_tiles_when_all_is_well(client_in):
    html = re.sub(r"\s+", " ", client_in.get(reverse("jobs:overview")).content.decode())
    assert "nodes not ready" in html and "routes down" in html
    assert "No connection has been polled yet" in html
