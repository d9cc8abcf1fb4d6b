"""KusciaClient's network and data calls over httpx.MockTransport: the path and body of every
route, typed replies, and the error codes of these routes classified."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from pathlib import Path

import pytest

from kuscia import codes
from kuscia.errors import KusciaError
from kuscia.types import DataColumn, DomainDataGrantSpec, DomainDataSpec
from tests.kuscia.test_client import Recorder, make_cert_dir, mtls_client, reply
from tests.kuscia.test_network_wire import ALICE_TABLE, BATCH_ROUTES, GRANT, domain_query_data


@contextlib.contextmanager
def raises_kind(kind: str):
    """pytest.raises for a Kuscia refusal of one `kind` (the errors have one class)."""
    with pytest.raises(KusciaError) as info:
        yield info
    assert info.value.kind == kind, info.value


@pytest.fixture
def cert_dir(tmp_path) -> Path:
    return make_cert_dir(tmp_path / "certs")


def err(code: int, message: str):
    return reply(None, {"code": code, "message": message, "details": []})


ROUTE_DETAIL = {
    "name": "alice-bob",
    "authentication_type": "Token",
    "destination": "bob",
    "endpoint": {"host": "bob-host", "ports": [{"name": "", "port": 1080, "protocol": "HTTP"}]},
    "source": "alice",
    "token_config": None,
    "mtls_config": None,
    "status": {"status": "Succeeded", "reason": ""},
    "transit": None,
    "body_encryption": None,
}
SOURCE = {
    "domain_id": "alice",
    "datasource_id": "default-data-source",
    "name": "default-data-source",
    "type": "localfs",
    "status": "",
    "info": {"localfs": {"path": "/home/kuscia/var/storage/data"}},
    "info_key": "",
    "access_directly": True,
}


def test_every_network_route_path_and_body(cert_dir):
    rec = Recorder(
        {
            "/api/v1/domain/query": reply(domain_query_data("")),
            "/api/v1/domain/batchQuery": reply({"domains": [{"domain_id": "alice"}]}),
            "/api/v1/route/query": reply(ROUTE_DETAIL),
            "/api/v1/route/status/batchQuery": reply(BATCH_ROUTES),
            "/api/v1/domaindata/list": reply({"domaindata_list": [ALICE_TABLE]}),
            "/api/v1/domaindata/query": reply(ALICE_TABLE),
            "/api/v1/domaindata/batchQuery": reply({"domaindata_list": [ALICE_TABLE]}),
            "/api/v1/domaindata/create": reply({"domaindata_id": "mine-0123"}),
            "/api/v1/domaindata/update": reply(None),
            "/api/v1/domaindata/delete": reply(None),
            "/api/v1/domaindatasource/list": reply({"datasource_list": [SOURCE]}),
            "/api/v1/domaindatasource/query": reply(SOURCE),
            "/api/v1/domaindatagrant/list": reply({"domaindatagrant_list": [GRANT]}),
            "/api/v1/domaindatagrant/query": reply(GRANT),
            "/api/v1/domaindatagrant/create": reply({"domaindatagrant_id": "domaindatagrant-9"}),
            "/api/v1/domaindatagrant/delete": reply(None),
        }
    )
    spec = DomainDataSpec(
        domain_id="alice", relative_uri="mine.csv", type="table", columns=(DataColumn("a", "int"),)
    )
    with mtls_client(cert_dir, rec) as kc:
        assert kc.query_domain("alice").deploy_token_statuses[0].state == "unused"
        assert kc.batch_query_domains(["alice"])[0].domain_id == "alice"
        assert kc.query_route("alice", "bob").endpoint.ports[0].port == 1080
        assert [
            r.status for r in kc.batch_query_route_status([("alice", "bob"), ("bob", "alice")])
        ] == [
            "Succeeded",
            "Failed",
        ]
        assert kc.list_domaindata("alice", domaindata_type="table")[0].columns[0].name == "id1"
        assert kc.query_domaindata("alice", "alice-table").author == "alice"
        assert kc.batch_query_domaindata([("alice", "alice-table")])[0].name == "alice.csv"
        assert kc.create_domaindata(spec) == "mine-0123"
        assert (
            kc.update_domaindata(DomainDataSpec(domain_id="alice", domaindata_id="x", name="n"))
            is None
        )
        assert kc.delete_domaindata("alice", "x") is None
        assert kc.list_datasources("alice")[0].info.path == "/home/kuscia/var/storage/data"
        assert kc.query_datasource("alice", "default-data-source").access_directly
        assert kc.list_grants("alice", grant_domain="bob")[0].grant_domain == "bob"
        assert kc.query_grant("alice", "domaindatagrant-0123").phase == "Ready"
        when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        assert kc.create_grant(
            DomainDataGrantSpec("alice", "alice-table", "bob", expiration_time=when)
        ) == ("domaindatagrant-9")
        assert kc.delete_grant("alice", "domaindatagrant-9") is None
    bodies = [(r.url.path, json.loads(r.content)) for r in rec.requests]
    assert bodies == [
        ("/api/v1/domain/query", {"domain_id": "alice"}),
        ("/api/v1/domain/batchQuery", {"domain_ids": ["alice"]}),
        ("/api/v1/route/query", {"source": "alice", "destination": "bob"}),
        (
            "/api/v1/route/status/batchQuery",
            {
                "route_keys": [
                    {"source": "alice", "destination": "bob"},
                    {"source": "bob", "destination": "alice"},
                ]
            },
        ),
        (
            "/api/v1/domaindata/list",
            {"data": {"domain_id": "alice", "domaindata_type": "table", "domaindata_vendor": ""}},
        ),
        (
            "/api/v1/domaindata/query",
            {"data": {"domain_id": "alice", "domaindata_id": "alice-table"}},
        ),
        (
            "/api/v1/domaindata/batchQuery",
            {"data": [{"domain_id": "alice", "domaindata_id": "alice-table"}]},
        ),
        (
            "/api/v1/domaindata/create",
            {
                "domain_id": "alice",
                "type": "table",
                "relative_uri": "mine.csv",
                "columns": [{"name": "a", "type": "int", "comment": "", "not_nullable": False}],
            },
        ),
        ("/api/v1/domaindata/update", {"domain_id": "alice", "domaindata_id": "x", "name": "n"}),
        ("/api/v1/domaindata/delete", {"domain_id": "alice", "domaindata_id": "x"}),
        ("/api/v1/domaindatasource/list", {"domain_id": "alice"}),
        (
            "/api/v1/domaindatasource/query",
            {"domain_id": "alice", "datasource_id": "default-data-source"},
        ),
        (
            "/api/v1/domaindatagrant/list",
            {"data": {"domain_id": "alice", "grant_domain": "bob", "domaindata_vendor": ""}},
        ),
        (
            "/api/v1/domaindatagrant/query",
            {"domain_id": "alice", "domaindatagrant_id": "domaindatagrant-0123"},
        ),
        (
            "/api/v1/domaindatagrant/create",
            {
                "domain_id": "alice",
                "domaindata_id": "alice-table",
                "grant_domain": "bob",
                "limit": {"expiration_time": "1767225600000000000"},
            },
        ),
        (
            "/api/v1/domaindatagrant/delete",
            {"domain_id": "alice", "domaindatagrant_id": "domaindatagrant-9"},
        ),
    ]


def test_empty_batches_send_nothing(cert_dir):
    rec = Recorder({})
    with mtls_client(cert_dir, rec) as kc:
        assert kc.batch_query_domains([]) == [] and kc.batch_query_route_status([]) == []
    assert rec.requests == []


def test_whole_batch_failures_name_the_missing_key(cert_dir):
    rec = Recorder(
        {
            "/api/v1/domain/batchQuery": err(11305, 'domains.kuscia.secretflow "carol" not found'),
            "/api/v1/route/status/batchQuery": err(
                11404, 'clusterdomainroutes.kuscia.secretflow "alice-1-bob" not found'
            ),
        }
    )
    with mtls_client(cert_dir, rec) as kc:
        with raises_kind("not_found") as dom:
            kc.batch_query_domains(["alice", "carol"])
        with raises_kind("not_found") as route:
            kc.batch_query_route_status([("alice", "bob"), ("alice-1", "bob"), ("alice", "1-bob")])
    assert codes.missing_domain(dom.value, ["alice", "carol"]) == "carol"
    assert codes.missing_domain(dom.value, ["alice"]) is None
    # "alice-1-bob" is ambiguous: the first matching pair in request order is named
    assert codes.missing_route(
        route.value, [("alice", "bob"), ("alice-1", "bob"), ("alice", "1-bob")]
    ) == (
        "alice-1",
        "bob",
    )
    assert codes.missing_route(dom.value, [("a", "b")]) is None


@pytest.mark.parametrize(
    "route, call, code, message, cls",
    [
        (
            "/api/v1/domain/query",
            lambda kc: kc.query_domain("bob"),
            11305,
            'domains.kuscia.secretflow "bob" not found',
            "not_found",
        ),
        (
            "/api/v1/domain/batchQuery",
            lambda kc: kc.batch_query_domains(["", "a"]),
            11100,
            "domain id can not be empty on index 0",
            "validation",
        ),
        (
            "/api/v1/route/query",
            lambda kc: kc.query_route("alice", "x"),
            11404,
            'clusterdomainroutes.kuscia.secretflow "alice-x" not found',
            "not_found",
        ),
        (
            "/api/v1/route/status/batchQuery",
            lambda kc: kc.batch_query_route_status([("a", "b")]),
            11402,
            "boom",
            "api_error",
        ),
        (
            "/api/v1/domaindata/query",
            lambda kc: kc.query_domaindata("alice", "x"),
            11506,
            'domaindatas.kuscia.secretflow "x" not found',
            "not_found",
        ),
        (
            "/api/v1/domaindata/create",
            lambda kc: kc.create_domaindata(
                DomainDataSpec("alice", "x.csv", "table", datasource_id="ds1")
            ),
            11806,
            "domain data source `ds1` is not exists in domain `alice`",
            "not_found",
        ),
        (
            "/api/v1/domaindata/delete",
            lambda kc: kc.delete_domaindata("alice", "x"),
            11506,
            'domaindatas.kuscia.secretflow "x" not found',
            "not_found",
        ),
        (
            "/api/v1/domaindata/list",
            lambda kc: kc.list_domaindata("bob"),
            11100,
            "kuscia lite api could only operate it's own domaindata, the domainid of request "
            "must be alice, not bob",
            "validation",
        ),
        (
            "/api/v1/domaindatasource/query",
            lambda kc: kc.query_datasource("alice", "nope"),
            11802,
            "get domain alice kuscia data source nope failed, "
            'domaindatasources.kuscia.secretflow "nope" not found',
            "not_found",
        ),
        (
            "/api/v1/domaindatasource/query",
            lambda kc: kc.query_datasource("alice", "x"),
            11802,
            "domain alice can't operate domain bob data source",
            "api_error",
        ),
        (
            "/api/v1/domaindatasource/list",
            lambda kc: kc.list_datasources("alice"),
            11808,
            "list failed",
            "api_error",
        ),
        (
            "/api/v1/domaindatagrant/create",
            lambda kc: kc.create_grant(DomainDataGrantSpec("alice", "t", "alice")),
            11100,
            "grantdomain can't be self",
            "validation",
        ),
        (
            "/api/v1/domaindatagrant/query",
            lambda kc: kc.query_grant("alice", "g"),
            11705,
            'domaindatagrants.kuscia.secretflow "g" not found',
            "not_found",
        ),
        (
            "/api/v1/domaindatagrant/delete",
            lambda kc: kc.delete_grant("alice", "g"),
            11705,
            'domaindatagrants.kuscia.secretflow "g" not found',
            "not_found",
        ),
    ],
)
def test_network_error_codes(cert_dir, route, call, code, message, cls):
    rec = Recorder({route: err(code, message)})
    with mtls_client(cert_dir, rec) as kc, pytest.raises(KusciaError) as info:
        call(kc)
    assert info.value.kind == cls, info.value
    assert info.value.code == code and info.value.message == message and info.value.route == route


def test_domain_exists_on_create_is_already_exists():
    # (the console never creates domains; the class comes from errors.py's code table)
    from kuscia.errors import api_error

    assert api_error("/api/v1/domain/create", 11306, "x").kind == "already_exists"


def test_created_id_missing_is_malformed(cert_dir):
    rec = Recorder({"/api/v1/domaindata/create": reply({"domaindata_id": ""})})
    with mtls_client(cert_dir, rec) as kc, pytest.raises(KusciaError) as info:
        kc.create_domaindata(DomainDataSpec("alice", "x.csv", "table"))
    assert info.value.kind == "malformed" and info.value.route == "/api/v1/domaindata/create"
