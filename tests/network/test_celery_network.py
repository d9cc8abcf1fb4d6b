"""The network poll end to end: a real Celery worker with beat on Redis, PostgreSQL, the
simulator over mTLS. A route broken in the simulator shows Failed on /network/ within two poll
intervals; a job that needs it fails as Kuscia's does; the data inventory arrives on the slow
cycle."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.template import Context, Template
from django.test import Client
from django.urls import reverse

from connections.models import Connection
from jobs.models import Job, Task
from kuscia import types as kt
from network.models import DataItem, NetworkSync, Node, Route, RouteTransition
from simulator import Simulator
from simulator.demo import example_job
from tests.fixtures.celery import wait_for
from tests.fixtures.data import make_user

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
POLL = 2.0  # KUSCIA_NETWORK_POLL_SECONDS of the worker
NETWORK_ENV = {
    "KUSCIA_NETWORK_POLL_SECONDS": str(POLL),
    "KUSCIA_NETWORK_INVENTORY_SECONDS": "4",
    "KUSCIA_NETWORK_DOMAINS": "bob,carol",
}


def route_status(conn: Connection, source: str, destination: str) -> str:
    r = Route.objects.filter(connection=conn, source=source, destination=destination).first()
    return r.status if r else ""


def test_broken_route_shows_failed_within_two_polls(
    kuscia_sim_factory: Callable[..., Simulator], celery_worker_factory: Callable[..., Any]
) -> None:
    sim = kuscia_sim_factory(speed=50)
    conn = Connection.objects.create(
        name="sim", url=sim.url, protocol="MTLS", cert_dir=str(sim.cert_dir), local_domain="alice"
    )
    celery_worker_factory(**NETWORK_ENV)
    wait_for(lambda: route_status(conn, "bob", "alice") == "Succeeded", 60, what="routes known")
    assert set(Node.objects.filter(connection=conn).values_list("domain_id", flat=True)) == {
        "alice",
        "bob",
        "carol",
    }
    # steady polls: one request per kind (the cycle summary counts them)
    wait_for(
        lambda: NetworkSync.objects.get(connection=conn).last_cycle.get("requests") == 2,
        30,
        what="a steady cycle of one domain batch and one route batch",
    )

    sim.world.set_route_status("bob", "alice", "Failed", "DestinationUnreachable")
    broken_at = time.monotonic()
    wait_for(
        lambda: route_status(conn, "bob", "alice") == "Failed",
        2 * POLL + 1.0,  # two poll intervals (+1 s for beat to hand the task to the worker)
        interval=0.05,
        what="bob->alice Failed in the database within two poll intervals",
    )
    took = time.monotonic() - broken_at
    route = Route.objects.get(connection=conn, source="bob", destination="alice")
    assert route.reason_code == "DestinationUnreachable"
    t = RouteTransition.objects.filter(route=route).latest("id")
    assert (t.old_status, t.new_status) == ("Succeeded", "Failed")

    client = Client()
    client.force_login(make_user("vera", "viewer"))
    page = client.get(reverse("network:network")).content.decode()
    assert "bob → alice: Failed" in page and "DestinationUnreachable" in page
    print(f"route Failed in the database {took:.2f} s after the break (poll {POLL} s)")

    # a job between the two parties fails at task creation, naming the route (Kuscia >= 1.0)
    job = example_job("job-net", prefix="job-net")
    sim.world.create_job(job)
    from jobs.sync.track import track_job

    track_job(conn, "job-net")

    def failed_task() -> Task | None:
        from jobs.sync.track import refresh_job

        refresh_job(Job.objects.get(connection=conn, job_id="job-net"))
        return Task.objects.filter(job__job_id="job-net", state=kt.FAILED).first()

    task = wait_for(failed_task, 30, interval=0.5, what="the job's task Failed")
    assert "cdr-check bob to alice failed with DestinationUnreachable" in task.err_msg
    # its failure card's network part names the route, with the recorded period and reason
    job_row = wait_for(
        lambda: Job.objects.filter(connection=conn, job_id="job-net", state=kt.FAILED).first(),
        30,
        what="the job Failed",
    )
    card = Template("{% load network %}{% network_diagnosis job %}").render(
        Context({"job": job_row})
    )
    assert "route bob → alice" in card and "DestinationUnreachable" in card
    assert "Kuscia's task message names it" in card
    # and the job's own page carries it in its failure card, with the link to the history
    url = reverse("jobs:detail", args=["sim", "job-net"])

    def failure_card() -> str:
        page = client.get(url).content.decode()  # once the sync wrote the failed task too
        return page[page.index('class="failure"') :] if 'class="failure"' in page else ""

    failure = wait_for(failure_card, 30, interval=0.5, what="the job page's failure card")
    assert "route bob → alice" in failure and "DestinationUnreachable" in failure
    assert 'href="/network/routes/sim/bob/alice/"' in failure

    # the route comes back
    sim.world.set_route_status("bob", "alice", "Succeeded")
    wait_for(lambda: route_status(conn, "bob", "alice") == "Succeeded", 2 * POLL + 1.0)

    # the slow cycle lists the data of the cluster's domains
    wait_for(
        lambda: DataItem.objects.filter(connection=conn, domaindata_id="alice-table").exists(),
        30,
        what="the inventory listed alice-table",
    )
    item = DataItem.objects.get(connection=conn, domaindata_id="alice-table")
    assert item.column_count == 25 and item.domain_id == "alice"
