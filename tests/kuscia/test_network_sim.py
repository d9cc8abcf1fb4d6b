"""The network and data calls of KusciaClient against the simulator over real mTLS: every
route, its errors, and no secret surviving the parse."""

from __future__ import annotations

import contextlib
import dataclasses
import json

import pytest

from kuscia import codes, wire
from kuscia.client import KusciaClient
from kuscia.config import ConnectionConfig
from kuscia.errors import KusciaError
from kuscia.types import DataColumn, DomainDataGrantSpec, DomainDataSpec
from kuscia.wire_network import parse_route_reason
from tests.kuscia.test_network_wire import everything_in


@contextlib.contextmanager
def raises_kind(kind: str):
    """pytest.raises for a Kuscia refusal of one `kind` (the errors have one class)."""
    with pytest.raises(KusciaError) as info:
        yield info
    assert info.value.kind == kind, info.value


def client(sim) -> KusciaClient:
    return KusciaClient(ConnectionConfig.from_cert_dir(sim.url, sim.cert_dir))


def test_domains_in_request_order_with_agents_and_no_token(kuscia_sim):
    with client(kuscia_sim) as kc:
        domains = kc.batch_query_domains(["carol", "alice", "bob"])
        assert [d.domain_id for d in domains] == ["carol", "alice", "bob"]
        alice = kc.query_domain("alice")
        master = kc.query_domain("master")
    assert all(d.node_statuses and d.node_statuses[0].status == "Ready" for d in domains)
    agent = alice.node_statuses[0]
    assert agent.last_heartbeat_time is not None and agent.last_heartbeat_time.tzinfo is not None
    assert agent.version
    assert alice.cert.present and alice.cert.not_after is not None
    assert alice.deploy_token_statuses and alice.deploy_token_statuses[0].state in (
        "used",
        "unused",
    )
    assert master.domain_id == "master" and master.cert.not_after is not None
    # the deploy tokens are in the reply, never in the typed value
    tokens = [t["token"] for t in kuscia_sim.world.domains["alice"].deploy_tokens]
    assert tokens and all(t not in everything_in(alice) for t in tokens)
    assert all(t not in json.dumps(wire.to_json(alice)) for t in tokens)


def test_unknown_domain_fails_the_whole_batch_naming_it(kuscia_sim):
    with client(kuscia_sim) as kc, raises_kind("not_found") as info:
        kc.batch_query_domains(["alice", "nobody", "bob"])
    assert info.value.code == codes.DOMAIN_NOT_FOUND
    assert codes.missing_domain(info.value, ["alice", "nobody", "bob"]) == "nobody"


def test_routes_status_reason_and_detail(kuscia_sim):
    world = kuscia_sim.world
    world.set_route_status("bob", "alice", "Failed", "DestinationUnreachable")
    with client(kuscia_sim) as kc:
        routes = kc.batch_query_route_status([("alice", "bob"), ("bob", "alice")])
        with raises_kind("not_found") as info:
            kc.batch_query_route_status([("alice", "bob"), ("alice", "nobody")])
        detail = kc.query_route("alice", "carol")
    assert [(r.source, r.status) for r in routes] == [("alice", "Succeeded"), ("bob", "Failed")]
    why = parse_route_reason(routes[1].reason)
    assert why.reason == "DestinationUnreachable" and why.updated_at is not None
    assert codes.missing_route(info.value, [("alice", "bob"), ("alice", "nobody")]) == (
        "alice",
        "nobody",
    )
    assert detail.source == "alice" and detail.endpoint.host and detail.endpoint.ports
    # the simulator's routes into carol use mTLS: the key is noted as given, never kept
    assert detail.authentication_type == "MTLS" and detail.mtls_config is not None
    assert detail.mtls_config.source_client_private_key is True
    assert detail.mtls_config.source_client_cert.not_after is not None
    assert "PRIVATE" not in everything_in(detail)


def test_domaindata_list_create_update_delete(kuscia_sim):
    spec = DomainDataSpec(
        domain_id="alice",
        relative_uri="mine/x.csv",
        type="table",
        name="x.csv",
        columns=(DataColumn("id", "str"), DataColumn("v", "float")),
    )
    with client(kuscia_sim) as kc:
        seeded = {d.domaindata_id: d for d in kc.list_domaindata("alice")}
        assert len(seeded["alice-table"].columns) == 25
        assert seeded["alice-table"].columns[0] == DataColumn("id1", "str")
        new_id = kc.create_domaindata(spec)
        got = kc.query_domaindata("alice", new_id)
        assert got.relative_uri == "mine/x.csv" and got.author == "alice" and got.vendor == "manual"
        kc.update_domaindata(
            DomainDataSpec(domain_id="alice", domaindata_id=new_id, name="renamed")
        )
        assert kc.query_domaindata("alice", new_id).name == "renamed"
        assert [
            d.domaindata_id
            for d in kc.batch_query_domaindata([("alice", new_id), ("alice", "nope")])
        ] == [new_id]
        kc.delete_domaindata("alice", new_id)
        with raises_kind("not_found") as info:
            kc.query_domaindata("alice", new_id)
        assert info.value.code == codes.DOMAINDATA_NOT_FOUND
        with pytest.raises(KusciaError) as bad:
            kc.create_domaindata(DomainDataSpec(domain_id="alice", relative_uri="", type="table"))
        assert bad.value.kind == "validation"


def test_datasources_without_credentials(kuscia_sim):
    with client(kuscia_sim) as kc:
        sources = kc.list_datasources("alice")
        default = kc.query_datasource("alice", "default-data-source")
        with raises_kind("not_found") as info:
            kc.query_datasource("alice", "nope")
    assert "default-data-source" in {s.datasource_id for s in sources}
    assert default.type == "localfs"
    assert info.value.code == codes.DATASOURCE_QUERY_FAILED
    fields = {f.name for s in sources if s.info for f in dataclasses.fields(s.info)}
    assert not fields & {"password", "access_key_secret", "access_key_id", "user"}


def test_grants_create_list_query_delete(kuscia_sim):
    with client(kuscia_sim) as kc:
        grant_id = kc.create_grant(DomainDataGrantSpec("alice", "alice-table", "bob", use_count=2))
        got = kc.query_grant("alice", grant_id)
        listed = kc.list_grants("alice")
        kc.delete_grant("alice", grant_id)
        with raises_kind("not_found") as gone:
            kc.query_grant("alice", grant_id)
        with raises_kind("validation"):
            kc.create_grant(DomainDataGrantSpec("alice", "alice-table", "alice"))
    assert got.grant_domain == "bob" and got.domaindata_id == "alice-table"
    assert got.limit is not None and got.limit.use_count == 2
    assert grant_id in {g.domaindatagrant_id for g in listed}
    assert gone.value.code == codes.GRANT_NOT_FOUND
