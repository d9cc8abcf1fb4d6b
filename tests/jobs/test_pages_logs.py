"""The task page's log fragment against the simulator over real mTLS: a lite node returns the
local party's log; a master's 11105 becomes a plain statement, not an error page."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from connections.models import Connection
from jobs.models import Job, Task
from simulator.demo import example_job
from tests.fixtures.data import make_job

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def sim_connection(sim, name: str, mode: str) -> Connection:
    return Connection.objects.create(
        name=name, url=sim.url, cert_dir=str(sim.cert_dir), mode=mode, protocol="MTLS"
    )


def as_in_kuscia(job: Job) -> None:
    """Task ids as example_job names them (make_job prefixes them with the job id)."""
    for task in Task.objects.filter(job=job):
        task.task_id = task.alias
        task.save(update_fields=["task_id"])


def test_lite_node_log_is_shown(client, pages_user, kuscia_sim_factory):
    client.force_login(pages_user)
    sim = kuscia_sim_factory(log_mode="lite")  # a lite node's log API
    sim.world.create_job(example_job("job-log"))
    conn = sim_connection(sim, "alice-lite", Connection.Mode.LITE)
    job = make_job(conn, "job-log", tasks=[("job-psi", []), ("job-split", ["job-psi"])])
    as_in_kuscia(job)
    url = reverse("jobs:task_log", args=["alice-lite", "job-log", "job-psi"])
    deadline = time.monotonic() + 15
    while True:
        html = client.get(url).content.decode()
        if '<pre class="log">' in html or time.monotonic() > deadline:
            break
        time.sleep(0.3)  # the simulated task is still Pending (Kuscia: "please try later")
    assert '<pre class="log">' in html, html
    assert "Could not read the log" not in html


def test_master_log_answer_is_a_plain_statement(client, pages_user, kuscia_sim_factory):
    client.force_login(pages_user)
    sim = kuscia_sim_factory(log_mode="master")
    sim.world.create_job(example_job("job-m"))
    # configured (wrongly) as lite: the server's 11105 answer is shown with its hint
    conn = sim_connection(sim, "looks-lite", Connection.Mode.LITE)
    as_in_kuscia(make_job(conn, "job-m", tasks=[("job-psi", [])]))
    response = client.get(reverse("jobs:task_log", args=["looks-lite", "job-m", "job-psi"]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Could not read the log" in html and "not_supported" in html


def test_a_task_of_another_job_is_not_asked_for(client, pages_user, kuscia_sim):
    client.force_login(pages_user)
    kuscia_sim.world.create_job(example_job("job-other"))
    conn = sim_connection(kuscia_sim, "alice-lite2", Connection.Mode.LITE)
    make_job(conn, "job-mine", tasks=[("a", [])])
    url = reverse("jobs:task_log", args=["alice-lite2", "job-mine", "job-psi"])
    assert client.get(url).status_code == 404
