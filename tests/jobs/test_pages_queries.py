"""Every page runs a fixed number of queries, whatever the number of jobs, tasks and parties."""

from __future__ import annotations

import pytest
from django.urls import reverse

from jobs import stats
from kuscia import types as kt
from tests.fixtures.data import make_connection, make_job

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def populate(n_jobs: int, n_tasks: int, parties: tuple[str, ...]):
    conn = make_connection("local")
    make_connection("other")
    states = [kt.RUNNING, kt.FAILED, kt.SUCCEEDED, kt.PENDING]
    jobs = [
        make_job(conn, f"job-{i}", state=states[i % 4], tasks=n_tasks, parties=parties)
        for i in range(n_jobs)
    ]
    return jobs


# session + user + groups (role) are the fixed cost of a signed-in request
EXPECTED = {
    # session, user, groups, sync (indicator and card share it), stats row (counts and
    # activity, recounted by beat), running, failures, stuck; the network tiles: nodes not
    # ready, routes down, network poll health
    "overview": 11,
    "overview_fragment": 11,
    "list": 8,  # session, user, groups, sync indicator, 2 facets, count, page
    "list_fragment": 5,  # session, user, groups, count, page
    # + job, tasks (without their spec), parties, endpoints, history (the newest 30 and the
    # total), task times (timeline), the selected task with its spec, and while the job runs
    # the "notify me" button's subscription
    "detail": 12,
    # the live part: session, user, groups, job, tasks, parties (all, for the matrix), task
    # times (timeline)
    "detail_fragment": 7,
    "detail_fragment_selected": 7,  # the selected task's live part needs no more
    "task": 9,
    "task_fragment": 7,
}


@pytest.mark.parametrize(
    ("n_jobs", "n_tasks", "parties"), [(2, 2, ("a", "b")), (9, 12, ("a", "b", "c"))]
)
def test_query_counts_do_not_grow_with_data(
    client_in, n_jobs, n_tasks, parties, django_assert_num_queries
):
    jobs = populate(n_jobs, n_tasks, parties)
    stats.refresh()  # what beat does every KC_STATS_SECONDS
    job = jobs[0]
    detail = reverse("jobs:detail", args=["local", job.job_id])
    live = reverse("jobs:detail_live", args=["local", job.job_id])
    task = reverse("jobs:task", args=["local", job.job_id, f"{job.job_id}-t1"])
    cases = {
        "overview": (reverse("jobs:overview"), {}),
        "overview_fragment": (reverse("jobs:overview"), HX),
        "list": (reverse("jobs:list") + "?state=Running&state=Failed&party=a", {}),
        "list_fragment": (reverse("jobs:list") + "?party=a", HX),
        "detail": (detail + f"?task={job.job_id}-t1", {}),
        "detail_fragment": (live, HX),
        "detail_fragment_selected": (live + f"?task={job.job_id}-t1", HX),
        "task": (task, {}),
        "task_fragment": (task, HX),
    }
    for name, (url, extra) in cases.items():
        with django_assert_num_queries(EXPECTED[name]):
            response = client_in.get(url, **extra)
        assert response.status_code in (200, 286), (name, response.status_code)


def test_a_stopped_job_reads_who_stopped_it_in_one_more_query(client_in, django_assert_num_queries):
    """The failure card of a job whose message tells of a command reads the audit record of it
    (who, when, why): one query more than any other job page, whatever the job's size."""
    from jobs.models import Job

    for n_tasks in (2, 12):
        job = make_job(
            make_connection(f"c{n_tasks}"),
            f"job-stop-{n_tasks}",
            state=kt.FAILED,
            tasks=n_tasks,
            err_msg="Party:  execute the cmd: Stop.",
        )
        assert Job.objects.get(pk=job.pk).err_msg.startswith("Party:")
        url = reverse("jobs:detail", args=[job.connection.name, job.job_id])
        # no task selected: + audit, - task; ended: - the "notify me" button
        with django_assert_num_queries(EXPECTED["detail"] - 1):
            response = client_in.get(url)
        assert "Stopped through Kuscia" in response.content.decode()
        live = reverse("jobs:detail_live", args=[job.connection.name, job.job_id])
        with django_assert_num_queries(EXPECTED["detail_fragment"] + 1):
            assert client_in.get(live, HTTP_HX_REQUEST="true").status_code == 286
