"""The network poll and its write path (network.poll, network.sync) over the real client and an
in-memory Kuscia (tests/network/fake.py): what is asked, the whole-batch failures, only changes
written, transitions recorded, gone marked, secrets never stored."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from django.core import serializers

from connections.models import Connection
from jobs.models import Job, Task
from network import poll, uses
from network.models import (
    Absent,
    DataItem,
    DataSourceItem,
    DataUse,
    NetworkSync,
    Node,
    NodeTransition,
    Route,
    RouteTransition,
)
from tests.kuscia.test_client import make_cert_dir
from tests.network.fake import DB_PASSWORD, DEPLOY_TOKEN, ROUTE_KEY, FakeKuscia, fake_client, table

pytestmark = pytest.mark.django_db


@pytest.fixture
def cert_dir(tmp_path) -> Path:
    return make_cert_dir(tmp_path / "certs")


@pytest.fixture
def conn() -> Connection:
    c = Connection.objects.create(
        name="master", url="https://127.0.0.1:13082", local_domain="alice", mode="centralized"
    )
    party_job(c, "j0", ["alice", "bob"])
    return c


@pytest.fixture
def fake() -> FakeKuscia:
    k = FakeKuscia()
    for d in ("alice", "bob"):
        k.add_domain(d)
    k.add_route("alice", "bob")
    k.add_route("bob", "alice")
    return k


def run(
    conn: Connection, fake: FakeKuscia, cert_dir: Path, *, inventory: bool = False
) -> poll.NetSummary:
    fake.requests.clear()
    with fake_client(fake, cert_dir) as client:
        summary = poll.poll_network(conn, client=client, inventory=inventory)
    assert not summary.error, summary.error
    return summary


def party_job(conn: Connection, job_id: str, parties: list[str], **kw) -> Job:
    return Job.objects.create(
        connection=conn, job_id=job_id, initiator=parties[0], parties=parties, source="added", **kw
    )


def test_first_poll_learns_domains_from_local_domain_and_jobs(conn, fake, cert_dir):
    party_job(conn, "j1", ["alice", "bob", "carol"])  # carol: Kuscia has no such domain
    s = run(conn, fake, cert_dir)
    assert sorted(Node.objects.values_list("domain_id", "status")) == [
        ("alice", "Ready"),
        ("bob", "Ready"),
    ]
    assert s.missing_domains == ["carol"]
    assert Absent.objects.filter(kind="domain", source="carol").exists()
    # two domain batches (the second without carol) and one route batch
    assert fake.paths() == [
        "/api/v1/domain/batchQuery",
        "/api/v1/domain/batchQuery",
        "/api/v1/route/status/batchQuery",
    ]
    assert fake.requests[1][1] == {"domain_ids": ["alice", "bob"]}
    routes = sorted(Route.objects.values_list("source", "destination", "status"))
    assert routes == [("alice", "bob", "Succeeded"), ("bob", "alice", "Succeeded")]
    # the first observation is a transition from nothing
    assert (
        sorted(NodeTransition.objects.values_list("old_status", "new_status"))
        == [("", "Ready")] * 2
    )
    assert RouteTransition.objects.filter(old_status="", new_status="Succeeded").count() == 2


def test_a_steady_cycle_is_one_request_per_kind_and_writes_nothing(conn, fake, cert_dir):
    party_job(conn, "j1", ["alice", "bob", "carol"])
    run(conn, fake, cert_dir)
    s = run(conn, fake, cert_dir)
    assert fake.paths() == ["/api/v1/domain/batchQuery", "/api/v1/route/status/batchQuery"]
    assert s.writes.rows == 0 and s.domains == 2 and s.routes == 2
    state = NetworkSync.objects.get(connection=conn)
    assert state.consecutive_failures == 0 and state.last_success is not None


def test_broken_route_is_a_transition_with_the_reason(conn, fake, cert_dir):
    run(conn, fake, cert_dir)
    before = Route.objects.get(source="bob", destination="alice").since
    fake.break_route("bob", "alice")
    s = run(conn, fake, cert_dir)
    r = Route.objects.get(source="bob", destination="alice")
    assert r.status == "Failed" and r.reason_code == "DestinationUnreachable"
    assert r.kuscia_updated_at is not None and r.since > before
    t = RouteTransition.objects.filter(route=r).latest("id")
    assert (t.old_status, t.new_status, t.reason_code) == (
        "Succeeded",
        "Failed",
        "DestinationUnreachable",
    )
    assert "Message=DestinationUnreachable" in t.reason
    assert s.writes.route_transitions == 1 and s.writes.routes == 1
    # the reason changes while it stays down: recorded too; then nothing while it stays so
    fake.break_route("bob", "alice", "HeartBeatTimeout")
    run(conn, fake, cert_dir)
    assert RouteTransition.objects.filter(route=r).latest("id").reason_code == "HeartBeatTimeout"
    assert run(conn, fake, cert_dir).writes.rows == 0
    fake.add_route("bob", "alice")
    run(conn, fake, cert_dir)
    r.refresh_from_db()
    assert r.status == "Succeeded" and r.reason == "" and r.reason_code == ""
    chain = list(RouteTransition.objects.filter(route=r).values_list("old_status", "new_status"))
    assert chain == [
        ("", "Succeeded"),
        ("Succeeded", "Failed"),
        ("Failed", "Failed"),
        ("Failed", "Succeeded"),
    ]


def test_node_not_ready_and_degraded(conn, fake, cert_dir):
    fake.add_domain("bob", agents=2)
    run(conn, fake, cert_dir)
    fake.set_agent("bob", 1, "NotReady")
    run(conn, fake, cert_dir)
    bob = Node.objects.get(domain_id="bob")
    assert bob.status == "Degraded" and bob.reason == "kuscia-lite-bob-1 NotReady"
    fake.set_agent("bob", 0, "")
    run(conn, fake, cert_dir)
    bob.refresh_from_db()
    assert bob.status == "NotReady"
    assert "kuscia-lite-bob-0 (no Ready condition)" in bob.reason
    chain = list(NodeTransition.objects.filter(node=bob).values_list("old_status", "new_status"))
    assert chain == [("", "Ready"), ("Ready", "Degraded"), ("Degraded", "NotReady")]
    assert bob.kuscia_since is not None and bob.agents[1]["status"] == "NotReady"


def test_deleted_route_and_domain_are_marked_gone_and_come_back(conn, fake, cert_dir):
    run(conn, fake, cert_dir)
    del fake.routes[("bob", "alice")]
    s = run(conn, fake, cert_dir)
    assert s.missing_routes == ["bob->alice"]
    r = Route.objects.get(source="bob", destination="alice")
    assert r.gone_at is not None and r.status == "Succeeded"  # last known status kept
    assert RouteTransition.objects.filter(route=r).latest("id").new_status == "Gone"
    # not asked again on a normal cycle: one request per kind
    run(conn, fake, cert_dir)
    assert fake.paths() == ["/api/v1/domain/batchQuery", "/api/v1/route/status/batchQuery"]
    # the slow cycle asks again, and it is back
    fake.add_route("bob", "alice")
    run(conn, fake, cert_dir, inventory=True)
    r.refresh_from_db()
    assert r.gone_at is None
    assert RouteTransition.objects.filter(route=r).latest("id").old_status == "Gone"
    assert not Absent.objects.filter(kind="route").exists()
    # a domain Kuscia forgets
    del fake.domains["bob"]
    run(conn, fake, cert_dir)
    bob = Node.objects.get(domain_id="bob")
    assert bob.gone_at is not None and Node.objects.count() == 2  # kept, not deleted


def test_new_route_pairs_are_probed_once(conn, fake, cert_dir, settings):
    settings.KUSCIA_NETWORK_PROBES = 1
    fake.add_domain("carol")
    settings.KUSCIA_NETWORK_DOMAINS = "bob, carol"
    # pairs among alice, bob, carol: 6; alice-bob and bob-alice exist; one new pair per cycle,
    # each costing at most one more request
    for cycle in range(6):
        s = run(conn, fake, cert_dir)
        assert s.new_routes == 1 and s.requests <= 3, cycle
    assert Absent.objects.filter(kind="route").count() == 4 and Route.objects.count() == 2
    run(conn, fake, cert_dir)
    assert fake.paths() == ["/api/v1/domain/batchQuery", "/api/v1/route/status/batchQuery"]
    assert fake.requests[1][1]["route_keys"] == [
        {"source": "alice", "destination": "bob"},
        {"source": "bob", "destination": "alice"},
    ]


def test_p2p_asks_only_the_local_domains_outbound_routes(fake, cert_dir):
    conn = Connection.objects.create(
        name="alice-node", url="https://x:1", mode="p2p", local_domain="alice"
    )
    party_job(conn, "j", ["alice", "bob"])
    fake.add_domain("bob", role="partner")
    fake.routes.pop(("bob", "alice"))
    run(conn, fake, cert_dir)
    asked = [b for p, b in fake.requests if p.endswith("route/status/batchQuery")]
    assert asked == [{"route_keys": [{"source": "alice", "destination": "bob"}]}]
    bob = Node.objects.get(connection=conn, domain_id="bob")
    assert bob.status == "NoAgent" and bob.role == "partner"


def test_inventory_lists_data_marks_gone_and_never_stores_secrets(conn, fake, cert_dir):
    fake.data["alice"] = [table("alice", "alice-table", columns=25), table("alice", "extra")]
    fake.data["bob"] = [table("bob", "bob-table")]
    s = run(conn, fake, cert_dir, inventory=True)
    assert s.data_items == 3 and not s.inventory_errors
    assert DataItem.objects.get(domaindata_id="alice-table").column_count == 25
    assert DataSourceItem.objects.get(
        domain_id="alice", datasource_id="default-data-source"
    ).location == ("/home/kuscia/var/storage/data")
    alice = Node.objects.get(domain_id="alice")
    assert alice.deploy_tokens[0]["state"] == "unused" and alice.auth_type == "Token"
    route = Route.objects.get(source="alice", destination="bob")
    assert route.endpoint_host == "kuscia-lite-bob" and route.authentication_type == "MTLS"
    # unchanged: nothing written; removed: marked gone; changed: rewritten
    assert run(conn, fake, cert_dir, inventory=True).writes.data == 0
    fake.data["alice"] = [table("alice", "alice-table", columns=3)]
    s = run(conn, fake, cert_dir, inventory=True)
    assert s.writes.data == 1 and s.writes.gone == 1
    extra = DataItem.objects.get(domaindata_id="extra")
    assert extra.gone_at is not None
    fake.data["alice"].append(table("alice", "extra"))
    run(conn, fake, cert_dir, inventory=True)
    extra.refresh_from_db()
    assert extra.gone_at is None
    dumped = "".join(
        serializers.serialize("json", m.objects.all())
        for m in (
            Node,
            Route,
            DataItem,
            DataSourceItem,
            NetworkSync,
            RouteTransition,
            NodeTransition,
        )
    )
    for secret in (DEPLOY_TOKEN, ROUTE_KEY, DB_PASSWORD):
        assert secret not in dumped


def test_a_failed_list_does_not_mark_that_domains_data_gone(conn, fake, cert_dir):
    fake.data["alice"] = [table("alice", "alice-table")]
    run(conn, fake, cert_dir, inventory=True)
    fake.fail_paths["/api/v1/domaindata/list"] = httpx.Response(
        200, json={"status": {"code": 11503, "message": "list failed"}, "data": None}
    )
    fake.fail_paths["/api/v1/domaindatasource/list"] = httpx.Response(
        404, text="404 page not found"
    )
    s = run(conn, fake, cert_dir, inventory=True)
    assert any("list failed" in e for e in s.inventory_errors)
    assert any("wrong_path" in e for e in s.inventory_errors)  # an older Kuscia
    assert DataItem.objects.get(domaindata_id="alice-table").gone_at is None


def test_transport_failure_is_recorded_with_backoff_and_changes_nothing(conn, fake, cert_dir):
    run(conn, fake, cert_dir)

    def refuse(request):
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError as exc:
            raise httpx.ConnectError("[Errno 111] Connection refused") from exc

    with fake_client(refuse, cert_dir) as client:
        s = poll.poll_network(conn, client=client)
    assert s.error.startswith("connect_refused")
    state = NetworkSync.objects.get(connection=conn)
    assert state.consecutive_failures == 1 and state.next_attempt is not None
    assert state.last_error_kind == "connect_refused"
    assert Node.objects.filter(gone_at__isnull=False).count() == 0
    assert conn.pk not in poll.due_connections()  # backing off
    run(conn, fake, cert_dir)
    state.refresh_from_db()
    assert state.consecutive_failures == 0 and state.next_attempt is None


def test_unexpected_batch_error_fails_the_cycle(conn, fake, cert_dir):
    fake.fail_paths["/api/v1/domain/batchQuery"] = httpx.Response(
        200, json={"status": {"code": 11302, "message": "etcd down"}, "data": None}
    )
    with fake_client(fake, cert_dir) as client:
        s = poll.poll_network(conn, client=client)
    assert "etcd down" in s.error and Node.objects.count() == 0


# ---------------------------------------------------------------------- data uses


def test_data_uses_from_task_input_config(conn):
    config = json.dumps(
        {"sf_input_ids": ["alice-table", "bob-table"], "sf_output_ids": ["psi-out"]}
    )
    job = party_job(conn, "job-psi", ["alice", "bob"], spec_fetched=True)
    Task.objects.create(
        job=job,
        task_id="t1",
        alias="t1",
        task_input_config=config,
        party_spec=[{"domain_id": "alice"}, {"domain_id": "bob"}],
    )
    party_job(conn, "no-spec", ["alice"])  # spec not known yet: not indexed
    assert uses.index_data_uses() == 1
    assert uses.index_data_uses() == 0  # once per job
    found = sorted(DataUse.objects.values_list("domaindata_id", "direction", "parties"))
    assert found == [
        ("alice-table", "input", ["alice", "bob"]),
        ("bob-table", "input", ["alice", "bob"]),
        ("psi-out", "output", ["alice", "bob"]),
    ]


@pytest.mark.parametrize(
    "config, expected",
    [
        ('{"sf_input_ids": ["a", "a", 3, ""], "sf_output_ids": []}', {"input": ["a"]}),
        ("not json", {}),
        ("[1]", {}),
        ("", {}),
        ('{"sf_input_ids": "a"}', {}),
    ],
)
def test_data_ids_reads_only_lists_of_ids(config, expected):
    assert uses.data_ids(config) == expected
