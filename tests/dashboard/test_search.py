"""The header search: jobs by id, tasks by id, pod name or alias, parties and data ids, grouped
on a shareable page (/search/?q=) and as the box's htmx fragment; a fixed number of queries."""

from __future__ import annotations

import re

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from jobs import stats
from network import sync as network_sync
from tests.fixtures.data import make_connection, make_job
from tests.network.factories import data_item, populate

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    conn = make_connection("local")
    make_job(conn, "psi-job-1", tasks=[("psi", []), ("train", ["psi"])])
    make_job(conn, "other-2", parties=("carol", "dave"))
    populate(conn, ("alice", "bob"))
    items = [data_item("alice", "alice-psi-table"), data_item("bob", "bob-table")]
    network_sync.apply_domaindata(conn, "alice", items[:1], observed_at=timezone.now())
    network_sync.apply_domaindata(conn, "bob", items[1:], observed_at=timezone.now())
    stats.refresh()
    return conn


def groups(html: str) -> dict[str, list[str]]:
    """{group heading: [hit texts]} of a results page or fragment."""
    out: dict[str, list[str]] = {}
    for m in re.finditer(r'<h2 id="sg-\w+">([^<]+)</h2>(.*?)</section>', html, re.S):
        out[m.group(1)] = re.findall(r'class="search-hit[^"]*" href="([^"]+)"', m.group(2))
    return out


def test_a_job_id_part_finds_jobs_and_tasks_and_data(client_in, world):
    response = client_in.get(reverse("search") + "?q=psi")
    assert response.status_code == 200
    found = groups(response.content.decode())
    assert found["Jobs"] == ["/jobs/local/psi-job-1/"]
    tasks = ["/jobs/local/psi-job-1/tasks/psi-job-1-psi/"]
    assert found["Tasks"] == [*tasks, "/jobs/local/psi-job-1/tasks/psi-job-1-train/"]  # by id
    assert found["Data"] == ["/data/local/alice/alice-psi-table/"]
    assert "Parties" not in found


def test_a_task_id_prefix_its_pod_name_and_its_alias(client_in, world):
    found = groups(client_in.get(reverse("search") + "?q=train").content.decode())
    assert found == {"Tasks": ["/jobs/local/psi-job-1/tasks/psi-job-1-train/"]}  # by alias
    found = groups(client_in.get(reverse("search") + "?q=psi-job-1-tr").content.decode())
    assert found["Tasks"] == ["/jobs/local/psi-job-1/tasks/psi-job-1-train/"]
    # a pod is named <task id>-<replica>
    found = groups(client_in.get(reverse("search") + "?q=psi-job-1-train-0").content.decode())
    assert found["Tasks"] == ["/jobs/local/psi-job-1/tasks/psi-job-1-train/"]


def test_a_party_links_its_jobs_and_its_nodes(client_in, world):
    found = groups(client_in.get(reverse("search") + "?q=alice").content.decode())
    assert found["Parties"] == ["/jobs/?party=alice", "/network/nodes/local/alice/"]
    # a party known only from jobs (no node): carol is in the 24-h activity
    found = groups(client_in.get(reverse("search") + "?q=car").content.decode())
    assert found["Parties"] == ["/jobs/?party=carol"]


def test_the_fragment_is_the_results_alone_and_the_page_is_shareable(client_in, world):
    fragment = client_in.get(reverse("search") + "?q=psi", HTTP_HX_REQUEST="true")
    html = fragment.content.decode()
    assert "<html" not in html and "data-search-results" in html
    assert fragment["Vary"].count("HX-Request")
    page = client_in.get(reverse("search") + "?q=psi").content.decode()
    assert 'value="psi"' in page and 'href="/search/?q=psi"' in page


def test_nothing_found_and_empty_and_hostile_queries(client_in, world):
    html = client_in.get(reverse("search") + "?q=zzz-nothing").content.decode()
    assert "Nothing found" in html
    assert client_in.get(reverse("search")).status_code == 200
    html = client_in.get(reverse("search") + "?q=%3Cscript%3Ealert(1)").content.decode()
    assert "<script>alert" not in html
    assert client_in.get(reverse("search") + "?q=" + "9" * 5000).status_code == 200


def test_the_header_has_the_box_on_every_page(client_in, world):
    html = client_in.get(reverse("jobs:list")).content.decode()
    form = html.split('class="header-search"', 1)[1].split("</form>", 1)[0]
    assert 'action="/search/"' in form and 'name="q"' in form and 'role="search"' in form


def test_search_costs_a_fixed_number_of_queries(client_in, world):
    client_in.get(reverse("search") + "?q=psi")  # warm (session, user)
    with CaptureQueriesContext(db) as few:
        client_in.get(reverse("search") + "?q=psi")
    with CaptureQueriesContext(db) as party:
        client_in.get(reverse("search") + "?q=alice")
    assert len(few) <= 14 and len(party) <= 14, [q["sql"][:80] for q in party]


def test_two_letters_look_for_exact_ids_only(client_in, world):
    """Fewer than three characters have no trigram to look up: a substring search would read
    every job and data row, so only exact ids (and task id prefixes, aliases) are found."""
    found = groups(client_in.get(reverse("search") + "?q=ps").content.decode())
    assert "Jobs" not in found and "Data" not in found
    assert len(found["Tasks"]) == 2  # the task ids starting with "ps" (an index range)


def test_a_whole_id_looks_no_further(client_in, world):
    """An exact job id, or a whole task id / pod name, is answered without the substring search
    over every job id (the dearest query at 100,000 jobs)."""
    with CaptureQueriesContext(db) as exact:
        found = groups(client_in.get(reverse("search") + "?q=psi-job-1").content.decode())
    assert found["Jobs"] == ["/jobs/local/psi-job-1/"]
    like = '"jobs_job"."job_id" LIKE'
    assert not any(like in q["sql"] for q in exact)
    with CaptureQueriesContext(db) as pod:
        client_in.get(reverse("search") + "?q=psi-job-1-train-0")
    assert not any(like in q["sql"] for q in pod)
    with CaptureQueriesContext(db) as part:
        client_in.get(reverse("search") + "?q=job-1")
    assert any(like in q["sql"] for q in part)  # (what the test looks for is there otherwise)
