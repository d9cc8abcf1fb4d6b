"""The network and data pages over rows written by the write path: what they show, escaping,
shareable filters, keyset pages, and query counts that do not grow with the data."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs.models import Task
from kuscia import types as kt
from network import sync, uses
from network.models import NetworkSync, Node, Route, RouteTransition
from tests.fixtures.data import make_connection, make_job
from tests.network.factories import data_item, domain, populate, route

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def conn():
    c = make_connection("local")
    NetworkSync.objects.create(connection=c, last_success=timezone.now())
    return c


def test_pages_need_login(client, conn):
    for url in (reverse("network:network"), reverse("network:data")):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login" in response["Location"]


def test_network_page_cards_matrix_and_reasons(client_in, conn):
    populate(conn, ("alice", "bob", "carol"), down=[("bob", "alice")])
    page = text(client_in.get(reverse("network:network")))
    # one card per node, status as colour class + icon + text
    assert page.count('class="card node-card') == 3
    assert "st-succeeded" in page and "Ready" in page and "v1.1.0b0" in page
    # the matrix: 3x3 with the diagonal, the failed cell coloured and its reason on focus
    assert page.count('<td class="diag"') == 3
    assert 'class="cell st-failed' in page
    assert "bob → alice: Failed" in page
    assert "DestinationUnreachable" in page
    # the route list (the narrow screens' view) says it in text, failed first
    rows = re.findall(r'class="route-name">([^<]+)<', page)
    assert rows[0] == "bob → alice" and len(rows) == 6
    assert "Last 24 h: down" in page


def test_node_card_certificate_token_and_partner(client_in, conn):
    now = timezone.now()
    sync.apply_domains(
        conn,
        [
            domain("alice", cert_days=10, now=now),
            domain("bob", cert_days=-1, now=now),
            domain("carol", role="partner"),
        ],
        observed_at=now,
    )
    tokens = tuple(
        kt.DeployTokenStatus(state=s, last_transition_time=now) for s in ("used", "unused")
    )
    detail = kt.Domain(domain_id="alice", deploy_token_statuses=tokens)
    sync.apply_domain_detail(conn, detail, observed_at=now)
    page = text(client_in.get(reverse("network:network")))
    assert re.search(r"expires \d{4}-\d\d-\d\d, in (9|10) days", page)
    assert "expired on" in page
    assert "1 unused, 1 used" in page
    assert "No agent reported" in page and "partner (remote party)" in page


def test_everything_from_kuscia_is_escaped(client_in, conn):
    now = timezone.now()
    evil = kt.Domain(
        domain_id="alice",
        node_statuses=(kt.NodeStatus(name="<script>alert(1)</script>", status="NotReady"),),
    )
    sync.apply_domains(conn, [evil, domain("bob")], observed_at=now)
    sync.apply_route_statuses(
        conn,
        [
            kt.RouteStatus(
                "alice", "bob", "Failed", "LastUpdateAt=x, Message=<img src=x>, Reason:<b>r</b>"
            )
        ],
        observed_at=now,
    )
    body = client_in.get(reverse("network:network")).content.decode()
    assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)" in body
    assert "<b>r</b>" not in body and "&lt;b&gt;r&lt;/b&gt;" in body


def test_two_connections_disagreeing_are_named(client_in, conn):
    other = make_connection("bob-node", mode="p2p")
    now = timezone.now()
    sync.apply_domains(conn, [domain("bob", "Ready")], observed_at=now)
    sync.apply_domains(other, [domain("bob", "NotReady")], observed_at=now)
    sync.apply_domains(conn, [domain("alice")], observed_at=now)
    sync.apply_route_statuses(conn, [route("alice", "bob")], observed_at=now)
    sync.apply_route_statuses(other, [route("alice", "bob", up=False)], observed_at=now)
    page = text(client_in.get(reverse("network:network")))
    assert "Connections disagree about this node: bob-node says Not ready; local says Ready" in page
    assert "Connections disagree about this route." in page
    assert page.count('class="card node-card') == 2  # bob merged into one card
    # one connection only, by URL
    page = text(client_in.get(reverse("network:network") + "?connection=local"))
    assert "disagree" not in page.replace("disagree {", "")


def test_node_and_route_pages_with_history(client_in, conn):
    populate(conn, ("alice", "bob"), down=[("bob", "alice")], hours=30)
    r = Route.objects.get(source="bob", destination="alice")
    assert RouteTransition.objects.filter(route=r).count() == 30
    page = text(client_in.get(reverse("network:route", args=["local", "bob", "alice"])))
    assert "Route bob → alice" in page and "cdr-check bob to alice failed" in page
    assert page.count("<tr>") - 1 == 30  # every change, newest first, with its reason
    assert re.search(r"Down (\d+\.?\d*)% of the last 24 hours", page)
    node = text(client_in.get(reverse("network:node", args=["local", "alice"])))
    assert "Node alice" in node and "kuscia-lite-alice" in node
    assert "alice → bob" in node and "bob → alice" in node
    for url in (
        reverse("network:node", args=["local", "nobody"]),
        reverse("network:route", args=["local", "alice", "nobody"]),
        reverse("network:node", args=["elsewhere", "alice"]),
    ):
        assert client_in.get(url).status_code == 404


def test_history_pages_go_back_in_time(client_in, conn, monkeypatch):
    monkeypatch.setattr("network.querysets.HISTORY_PAGE", 10)
    monkeypatch.setattr("network.present.HISTORY_PAGE", 10)
    populate(conn, ("alice", "bob"), down=[("bob", "alice")], hours=30)
    url = reverse("network:route", args=["local", "bob", "alice"])
    first = text(client_in.get(url))
    older = re.search(r'href="\?before=(\d+)" rel="next"', first)
    assert older and first.count("<tr>") - 1 == 10
    second = text(client_in.get(url + f"?before={older.group(1)}"))
    assert second.count("<tr>") - 1 == 10 and "newest" in second
    assert client_in.get(url + "?before=abc").status_code == 200


def test_strip_shows_the_last_24_hours(client_in, conn):
    now = timezone.now()
    populate(conn, ("alice", "bob"), at=now - dt.timedelta(hours=48))
    sync.apply_route_statuses(
        conn, [route("alice", "bob", up=False)], observed_at=now - dt.timedelta(hours=6)
    )
    page = text(client_in.get(reverse("network:route", args=["local", "alice", "bob"])))
    m = re.search(r"Down (\d+\.?\d*)% of the last 24 hours", page)
    assert m and 24.5 < float(m.group(1)) < 25.5
    assert page.count('class="seg seg-up"') == 1 and page.count('class="seg seg-down"') == 1


def test_many_domains_and_routes_stay_bounded(client_in, conn, monkeypatch):
    monkeypatch.setattr("network.present.MATRIX_MAX", 3)
    monkeypatch.setattr("network.present.LIST_MAX", 4)
    populate(conn, ("alice", "bob", "carol", "dave"), down=[("bob", "alice")])
    page = text(client_in.get(reverse("network:network")))
    assert "route-matrix" not in page and "Too many domains for a matrix" in page
    # per source: bob has one down
    assert re.search(r'<tr class="has-down"><th scope="row"><a href="\?source=bob">bob</a>', page)
    # the list holds the problems only, and says how many it leaves out
    assert re.findall(r'class="route-name">([^<]+)<', page) == ["bob → alice"]
    assert "11 more routes are Succeeded." in page
    every = text(client_in.get(reverse("network:network") + "?routes=all"))
    assert len(re.findall(r'class="route-name">', every)) == 12
    bob = text(client_in.get(reverse("network:network") + "?source=bob"))
    assert re.findall(r'class="route-name">([^<]+)<', bob) == [
        "bob → alice",
        "bob → carol",
        "bob → dave",
    ]


def test_many_healthy_nodes_are_listed_compactly(client_in, conn, monkeypatch):
    monkeypatch.setattr("network.present.CARDS_MAX", 2)
    populate(conn, ("alice", "bob", "carol", "dave"))
    sync.apply_domains(conn, [domain("carol", "NotReady")], observed_at=timezone.now())
    page = text(client_in.get(reverse("network:network")))
    assert page.count('class="card node-card') == 1 and "4 domains" in page
    assert "3 nodes are Ready with nothing to watch" in page
    assert 'href="/network/nodes/local/alice/"' in page


def test_fragment_for_htmx(client_in, conn):
    populate(conn)
    response = client_in.get(reverse("network:network"), **HX)
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith('<div id="network-live"')
    assert "<html" not in body


def test_empty_pages_explain(client_in, conn):
    page = text(client_in.get(reverse("network:network")))
    assert "No nodes known yet" in page and "KUSCIA_NETWORK_DOMAINS" in page
    page = text(client_in.get(reverse("network:data")))
    assert "No domain data known yet" in page


# ---------------------------------------------------------------------- data


@pytest.fixture
def inventory(conn):
    now = timezone.now()
    sync.apply_domaindata(
        conn,
        "alice",
        [data_item("alice", f"a-{i:03d}") for i in range(60)]
        + [data_item("alice", "alice-model", type_="model")],
        observed_at=now,
    )
    sync.apply_domaindata(conn, "bob", [data_item("bob", "bob-table", columns=25)], observed_at=now)
    sync.refresh_facets(conn)  # what the inventory cycle does after listing
    return conn


def test_data_list_search_filter_and_keyset_pages(client_in, inventory):
    url = reverse("network:data")
    page = text(client_in.get(url + "?per_page=25"))
    ids = re.findall(r'class="jobid" href="[^"]+">([^<]+)<', page)
    assert ids[:2] == ["a-000", "a-001"] and len(ids) == 25
    nxt = re.search(r'href="\?([^"]+)" rel="next"', page).group(1).replace("&amp;", "&")
    assert "per_page=25" in nxt  # the filter stays in the shareable URL
    page2 = text(client_in.get(url + "?" + nxt))
    ids2 = re.findall(r'class="jobid" href="[^"]+">([^<]+)<', page2)
    assert ids2[0] == "a-025" and len(ids2) == 25
    prev = re.search(r'href="\?([^"]+)" rel="prev"', page2).group(1).replace("&amp;", "&")
    assert (
        re.findall(r'class="jobid" href="[^"]+">([^<]+)<', text(client_in.get(url + "?" + prev)))[0]
        == "a-000"
    )
    # search, domain, type
    assert re.findall(
        r'class="jobid" href="[^"]+">([^<]+)<', text(client_in.get(url + "?q=BOB"))
    ) == ["bob-table"]
    assert re.findall(
        r'class="jobid" href="[^"]+">([^<]+)<', text(client_in.get(url + "?type=model"))
    ) == ["alice-model"]
    only_bob = text(client_in.get(url + "?domain=bob"))
    assert re.findall(r'class="jobid" href="[^"]+">([^<]+)<', only_bob) == ["bob-table"]
    assert '<option value="bob" selected>' in only_bob
    # bad input: ignored with a note, never a 500
    bad = client_in.get(url + "?domain=<x>&per_page=7&after=zz~&before=1~2")
    assert bad.status_code == 200 and "Ignored domain" in text(bad)


def test_picker_reads_a_domains_data_from_the_inventory(inventory):
    from network.models import DataItem

    rows = DataItem.objects.ids_for_picker(inventory.pk, "alice", limit=3)
    assert rows == [
        ("a-000", "table", "a-000.csv"),
        ("a-001", "table", "a-001.csv"),
        ("a-002", "table", "a-002.csv"),
    ]
    assert DataItem.objects.ids_for_picker(inventory.pk, "nobody") == []


def test_gone_data_hidden_unless_asked(client_in, inventory):
    sync.apply_domaindata(inventory, "bob", [], observed_at=timezone.now())
    url = reverse("network:data")
    assert "bob-table" not in text(client_in.get(url + "?domain=bob"))
    page = text(client_in.get(url + "?domain=bob&gone=1"))
    assert "bob-table" in page and "gone from Kuscia" in page


def test_data_item_page_columns_and_the_jobs_that_used_it(client_in, inventory):
    conn = inventory
    for i, (job_id, ago) in enumerate((("job-old", 900.0), ("job-new", 60.0))):
        job = make_job(conn, job_id, created_ago=ago, parties=("alice", "bob"))
        job.spec_fetched = True
        job.save(update_fields=["spec_fetched"])
        Task.objects.filter(job=job).update(
            task_input_config=json.dumps(
                {"sf_input_ids": ["bob-table"], "sf_output_ids": [f"out-{i}"]}
            ),
            party_spec=[{"domain_id": "alice"}, {"domain_id": "bob"}],
        )
    other = make_job(conn, "job-carol", parties=("carol", "dave"))  # same id, other domains
    other.spec_fetched = True
    other.save(update_fields=["spec_fetched"])
    Task.objects.filter(job=other).update(
        task_input_config='{"sf_input_ids": ["bob-table"]}',
        party_spec=[{"domain_id": "carol"}, {"domain_id": "dave"}],
    )
    uses.index_data_uses()
    page = text(client_in.get(reverse("network:data_item", args=["local", "bob", "bob-table"])))
    assert "25 columns" in page and "<code>c24</code>" in page and "24 float, 1 str" in page
    jobs = re.findall(r'class="jobid" href="[^"]+">([^<]+)<', page)
    assert jobs[0] == "job-new" and "job-old" in jobs and "job-carol" not in jobs
    assert "reads" in page
    assert "not given by Kuscia" in page  # size: Kuscia has no size field
    assert (
        client_in.get(reverse("network:data_item", args=["local", "bob", "nope"])).status_code
        == 404
    )


# ---------------------------------------------------------------------- query counts

EXPECTED = {"network": 9, "network_fragment": 8, "node": 8, "route": 7, "data": 6, "data_item": 8}


@pytest.mark.parametrize("size", [2, 6])
def test_query_counts_do_not_grow_with_data(client_in, conn, size, django_assert_num_queries):
    domains = [f"d{i}" for i in range(size)]
    populate(conn, domains, down=[("d1", "d0")], hours=size)
    sync.apply_domaindata(
        conn, "d0", [data_item("d0", f"x{i}") for i in range(size * 5)], observed_at=timezone.now()
    )
    for i in range(size):
        job = make_job(conn, f"job-{i}", parties=("d0", "d1"))
        job.spec_fetched = True
        job.save(update_fields=["spec_fetched"])
        Task.objects.filter(job=job).update(task_input_config='{"sf_input_ids": ["x0"]}')
    uses.index_data_uses()
    cases = {
        "network": (reverse("network:network"), {}),
        "network_fragment": (reverse("network:network"), HX),
        "node": (reverse("network:node", args=["local", "d0"]), {}),
        "route": (reverse("network:route", args=["local", "d1", "d0"]), {}),
        "data": (reverse("network:data") + "?q=x&domain=d0&per_page=25", {}),
        "data_item": (reverse("network:data_item", args=["local", "d0", "x0"]), {}),
    }
    for name, (url, extra) in cases.items():
        with django_assert_num_queries(EXPECTED[name]):
            response = client_in.get(url, **extra)
        assert response.status_code == 200, name
    assert Node.objects.count() == size


# ---------------------------------------------------------------------- hostile numbers


@pytest.mark.parametrize(
    "cursor", ["a~b~" + "9" * 4301, "a~b~" + "9" * 20, "a~b~²", "a~b~-1", "~~", "a~b~٣"]
)
def test_a_cursor_no_database_id_can_be_is_ignored(client_in, inventory, cursor):
    """Once a 500: int() refuses 4,301 digits and '²' (which str.isdigit accepts)."""
    from network.querysets import DataCursor

    assert DataCursor.decode(cursor) is None
    for name in ("after", "before"):
        response = client_in.get(reverse("network:data"), {name: cursor})
        assert response.status_code == 200
        assert "a-000" in response.content.decode()  # the first page


@pytest.mark.parametrize("before", ["²", "9" * 4301, "9" * 19])
def test_history_pages_ignore_a_before_no_database_id_can_be(client_in, conn, before):
    populate(conn, ("alice", "bob"))
    for url in (
        reverse("network:node", args=["local", "alice"]),
        reverse("network:route", args=["local", "alice", "bob"]),
    ):
        assert client_in.get(url, {"before": before}).status_code == 200


def test_many_problems_are_listed_up_to_a_bound(client_in, conn, monkeypatch):
    """At 100 domains and thousands of routes the page lists the first problems and counts the
    rest per source domain (the table above it), never every failed route."""
    monkeypatch.setattr("network.present.MATRIX_MAX", 3)
    monkeypatch.setattr("network.present.LIST_MAX", 4)
    monkeypatch.setattr("network.present.PROBLEMS_MAX", 2)
    down = [("bob", "alice"), ("carol", "alice"), ("dave", "alice"), ("dave", "bob")]
    populate(conn, ("alice", "bob", "carol", "dave"), down=down)
    page = text(client_in.get(reverse("network:network")))
    assert re.findall(r'class="route-name">([^<]+)<', page) == ["bob → alice", "carol → alice"]
    assert "2 more routes are down: choose a source domain above." in page
    assert "8 more routes are Succeeded." in page
    assert re.search(r'<tr class="has-down"><th scope="row"><a href="\?source=dave">dave</a>', page)
    dave = text(client_in.get(reverse("network:network") + "?source=dave"))
    assert len(re.findall(r'class="route-name">', dave)) == 3 and "more routes are down" not in dave


def test_sources_with_every_route_up_are_one_line_of_links(client_in, conn, monkeypatch):
    monkeypatch.setattr("network.present.MATRIX_MAX", 3)
    populate(conn, ("alice", "bob", "carol", "dave"), down=[("bob", "alice")])
    page = text(client_in.get(reverse("network:network")))
    rows = re.findall(r'<th scope="row"><a href="\?source=(\w+)">', page)
    assert rows == ["bob"]
    assert "3 more source domains have every route Succeeded:" in page
    assert re.findall(r'<a href="\?source=(\w+)">\w+</a>(?:, |</p>)', page) == [
        "alice",
        "carol",
        "dave",
    ]


def test_full_cards_are_capped_the_rest_are_chips_with_their_state(client_in, conn, monkeypatch):
    """When every node needs a look (a stalled poll makes every heartbeat old) the page draws
    the worst CARDS_MAX as cards and the others as chips that still say their state."""
    monkeypatch.setattr("network.present.CARDS_MAX", 2)
    names = ("alice", "bob", "carol", "dave")
    populate(conn, names)
    sync.apply_domains(conn, [domain("dave", "NotReady")], observed_at=timezone.now())
    Node.objects.update(last_heartbeat=timezone.now() - dt.timedelta(hours=1))
    page = text(client_in.get(reverse("network:network")))
    assert page.count('class="card node-card') == 2 and "4 domains" in page
    assert "2 more nodes to look at:" in page
    assert re.search(r'<span class="domain">dave</span>', page)  # the worst is a card
    chips = re.findall(r'<li><a href="/network/nodes/local/(\w+)/"><span class="state', page)
    assert len(chips) == 2 and "dave" not in chips
