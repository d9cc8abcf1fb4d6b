"""Parsing the domain, route, domain data, data source and grant replies (shapes from
kuscia-network-api.md): aware times, certificates reduced to their expiry, secrets dropped."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives import serialization

from kuscia import wire
from kuscia import wire_network as wn
from kuscia.errors import KusciaMalformed
from kuscia.types import DataColumn, DomainDataGrantSpec, DomainDataSpec
from tests.kuscia.test_client import make_ca, make_leaf

SECRET_TOKEN = "axzdQrZsCqbcPzCjAxCbSzTAZHWTpL6s"
SECRET_KEY = "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tU0VDUkVULUtFWQ=="
SECRET_PASSWORD = "hunter2-db-password"
SECRET_AK = "oss-access-key-secret-value"


def pem_b64(cert) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode()


def everything_in(value) -> str:
    """Every string a typed value holds (recursively), to prove no secret survived."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return " ".join(everything_in(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, dict):
        return " ".join(f"{k} {everything_in(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return " ".join(everything_in(v) for v in value)
    return str(value)


def domain_query_data(cert_b64: str) -> dict:
    return {
        "domain_id": "alice",
        "role": "",
        "cert": cert_b64,
        "node_statuses": [
            {
                "name": "root-kuscia-lite-alice-2",
                "status": "NotReady",
                "version": "v1.1.0b0",
                "last_heartbeat_time": "2025-04-16T10:40:00Z",
                "last_transition_time": "2025-04-16T10:41:00Z",
            },
            {
                "name": "root-kuscia-lite-alice",
                "status": "Ready",
                "version": "v1.1.0b0",
                "last_heartbeat_time": "2025-04-16T10:42:55Z",
                "last_transition_time": "2025-04-16T09:00:01Z",
            },
        ],
        "deploy_token_statuses": [
            {
                "token": SECRET_TOKEN,
                "state": "unused",
                "last_transition_time": "2006-01-02T15:04:05Z",
            }
        ],
        "annotations": {"kuscia.secretflow/domain-type": "embedded"},
        "auth_center": {"authentication_type": "Token", "token_gen_method": "UID-RSA-GEN"},
        "master_domain_id": "alice",
    }


def test_domain_query_keeps_states_and_cert_expiry_and_drops_the_deploy_token():
    ca = make_ca("alice domain")
    d = wn.parse_domain(domain_query_data(pem_b64(ca[1])))
    assert d.domain_id == "alice" and d.role == "" and d.master_domain_id == "alice"
    # sorted by name (Kuscia's order comes from a map)
    assert [n.name for n in d.node_statuses] == [
        "root-kuscia-lite-alice",
        "root-kuscia-lite-alice-2",
    ]
    ready = d.node_statuses[0]
    assert ready.status == "Ready" and ready.version == "v1.1.0b0"
    assert ready.last_heartbeat_time == dt.datetime(2025, 4, 16, 10, 42, 55, tzinfo=dt.UTC)
    assert d.deploy_token_statuses[0].state == "unused"
    assert d.deploy_token_statuses[0].last_transition_time.tzinfo is not None
    assert d.auth_center is not None and d.auth_center.token_gen_method == "UID-RSA-GEN"
    assert d.cert.present and d.cert.not_after == ca[1].not_valid_after_utc
    assert "alice domain" in d.cert.subject
    dumped = everything_in(d) + json.dumps(wire.to_json(d))
    assert SECRET_TOKEN not in dumped and "token" not in {f.name for f in dataclasses.fields(d)}
    assert not hasattr(d, "raw")


@pytest.mark.parametrize(
    "shape",
    ["base64-pem", "pem", "double-base64", "garbage", ""],
)
def test_cert_forms_kuscia_accepts(shape):
    cert = make_ca("c")[1]
    pem = cert.public_bytes(serialization.Encoding.PEM)
    value = {
        "base64-pem": base64.b64encode(pem).decode(),
        "pem": pem.decode(),
        "double-base64": base64.b64encode(base64.b64encode(pem)).decode(),
        "garbage": "LS0t",
        "": "",
    }[shape]
    info = wn.cert_info(value)
    if shape == "":
        assert not info.present and info.not_after is None
    elif shape == "garbage":
        assert info.present and info.not_after is None
    else:
        assert info.not_after == cert.not_valid_after_utc


def test_batch_query_domain_items_have_only_four_fields():
    data = {
        "domains": [
            {"domain_id": "alice", "role": "", "cert": "", "node_statuses": []},
            {"domain_id": "bob", "role": "partner", "cert": "", "node_statuses": []},
        ]
    }
    ds = wn.parse_domains(data)
    assert [(d.domain_id, d.role) for d in ds] == [("alice", ""), ("bob", "partner")]
    assert ds[1].deploy_token_statuses == () and ds[1].auth_center is None


def test_domain_master_special_reply():
    d = wn.parse_domain(
        {
            "domain_id": "master",
            "role": "",
            "cert": pem_b64(make_ca("root")[1]),
            "node_statuses": [],
            "deploy_token_statuses": [],
            "annotations": {},
            "auth_center": None,
            "master_domain_id": "",
        }
    )
    assert d.domain_id == "master" and d.cert.not_after is not None and d.auth_center is None


@pytest.mark.parametrize(
    "bad, where",
    [
        ({"domain_id": ""}, "domain_id missing"),
        ({"domain_id": "a", "node_statuses": {}}, "node_statuses"),
        ({"domain_id": "a", "node_statuses": [{"last_heartbeat_time": "yesterday"}]}, "heartbeat"),
        ({"domain_id": "a", "cert": 7}, "cert"),
    ],
)
def test_domain_malformed_names_the_field(bad, where):
    with pytest.raises(KusciaMalformed, match=where):
        wn.parse_domain(bad)


# ------------------------------------------------------------------ routes

BATCH_ROUTES = {
    "routes": [
        {
            "name": "alice-bob",
            "destination": "bob",
            "source": "alice",
            "status": {"status": "Succeeded", "reason": ""},
        },
        {
            "name": "bob-alice",
            "destination": "alice",
            "source": "bob",
            "status": {
                "status": "Failed",
                "reason": "LastUpdateAt=2025-04-16 10:02:11 +0000 UTC, "
                "Message=DestinationUnreachable, Reason:DestinationUnreachable",
            },
        },
    ]
}


def test_route_status_batch_and_reason_taken_apart():
    routes = wn.parse_route_statuses(BATCH_ROUTES)
    assert [(r.name, r.status) for r in routes] == [
        ("alice-bob", "Succeeded"),
        ("bob-alice", "Failed"),
    ]
    why = wn.parse_route_reason(routes[1].reason)
    assert why.reason == "DestinationUnreachable" and why.message == "DestinationUnreachable"
    assert why.updated_at == dt.datetime(2025, 4, 16, 10, 2, 11, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "text, when",
    [
        ("2025-04-16 10:02:11 +0000 UTC", dt.datetime(2025, 4, 16, 10, 2, 11, tzinfo=dt.UTC)),
        ("2025-04-16 18:02:11 +0800 CST", dt.datetime(2025, 4, 16, 10, 2, 11, tzinfo=dt.UTC)),
        (
            "2025-04-16 10:02:11.123456789 +0000 UTC",
            dt.datetime(2025, 4, 16, 10, 2, 11, 123456, tzinfo=dt.UTC),
        ),
        ("0001-01-01 00:00:00 +0000 UTC", dt.datetime(1, 1, 1, tzinfo=dt.UTC)),
        ("yesterday", None),
    ],
)
def test_go_time_strings(text, when):
    assert wn.parse_go_time(text) == when


def test_unshaped_route_reason_is_kept_as_message():
    why = wn.parse_route_reason("something else")
    assert why.message == "something else" and why.reason == "" and why.updated_at is None


def test_route_query_drops_the_private_key_and_keeps_cert_expiry():
    ca = make_ca("route ca")
    leaf = make_leaf(ca, "alice-client")
    data = {
        "name": "alice-bob",
        "authentication_type": "MTLS",
        "destination": "bob",
        "endpoint": {
            "host": "root-kuscia-autonomy-bob",
            "ports": [
                {"name": "", "port": 1080, "protocol": "HTTP", "isTLS": True, "path_prefix": "/x"}
            ],
        },
        "source": "alice",
        "token_config": None,
        "mtls_config": {
            "tls_ca": pem_b64(ca[1]),
            "source_client_private_key": SECRET_KEY,
            "source_client_cert": pem_b64(leaf[1]),
        },
        "status": {"status": "Succeeded", "reason": ""},
        "transit": {"transit_method": "THIRD-DOMAIN", "domain": {"domain_id": "carol"}},
        "body_encryption": {"algorithm": "AES"},
    }
    r = wn.parse_route_detail(data)
    assert r.endpoint.host == "root-kuscia-autonomy-bob"
    assert r.endpoint.ports[0].port == 1080 and r.endpoint.ports[0].is_tls
    assert r.endpoint.ports[0].path_prefix == "/x"
    assert r.mtls_config is not None and r.mtls_config.source_client_private_key is True
    assert r.mtls_config.tls_ca.not_after == ca[1].not_valid_after_utc
    assert r.mtls_config.source_client_cert.not_after == leaf[1].not_valid_after_utc
    assert r.transit is not None and r.transit.domain_id == "carol" and r.body_encryption == "AES"
    assert SECRET_KEY not in everything_in(r) + json.dumps(wire.to_json(r))


def test_route_query_token_config_docs_example():
    r = wn.parse_route_detail(
        {
            "name": "alice-bob",
            "authentication_type": "Token",
            "destination": "bob",
            "endpoint": {
                "host": "root-kuscia-autonomy-bob",
                "ports": [{"name": "", "port": 1080, "protocol": "HTTP"}],
            },
            "source": "alice",
            "token_config": {
                "destination_public_key": "LS0tPUBLIC",
                "rolling_update_period": "0",
                "source_public_key": "LS0tPUBLIC",
                "token_gen_method": "RSA-GEN",
            },
            "mtls_config": None,
            "status": {"status": "Failed", "reason": ""},
            "transit": None,
            "body_encryption": None,
        }
    )
    assert r.token_config is not None and r.token_config.rolling_update_period == 0
    assert r.token_config.source_public_key and r.mtls_config is None and r.transit is None
    assert r.status == "Failed" and r.body_encryption == ""


# ------------------------------------------------------------------ domain data

ALICE_TABLE = {
    "domaindata_id": "alice-table",
    "name": "alice.csv",
    "type": "table",
    "relative_uri": "alice.csv",
    "domain_id": "alice",
    "datasource_id": "default-data-source",
    "attributes": {"description": "alice demo data"},
    "partition": None,
    "columns": [
        {"name": "id1", "type": "str", "comment": "", "not_nullable": False},
        {"name": "age", "type": "float", "comment": "", "not_nullable": False},
    ],
    "vendor": "manual",
    "status": "Available",
    "author": "alice",
    "file_format": "UNKNOWN",
}


def test_domaindata_typed_columns_and_fields():
    (dd,) = wn.parse_domaindata_list({"domaindata_list": [ALICE_TABLE]})
    assert dd.columns == (DataColumn("id1", "str"), DataColumn("age", "float"))
    assert (dd.status, dd.author, dd.file_format) == ("Available", "alice", "UNKNOWN")
    assert dd.attributes == {"description": "alice demo data"}
    assert wn.parse_domaindata({**ALICE_TABLE, "file_format": 1}).file_format == "CSV"


def test_domaindata_request_leaves_empty_fields_out():
    spec = DomainDataSpec(
        domain_id="alice",
        relative_uri="data/x.csv",
        type="table",
        name="x.csv",
        columns=(DataColumn("id", "str", not_nullable=True),),
        attributes={"k": "v"},
    )
    assert wn.domaindata_request(spec) == {
        "domain_id": "alice",
        "name": "x.csv",
        "type": "table",
        "relative_uri": "data/x.csv",
        "attributes": {"k": "v"},
        "columns": [{"name": "id", "type": "str", "comment": "", "not_nullable": True}],
    }


# ------------------------------------------------------------------ data sources


def test_datasource_credentials_are_dropped():
    items = wn.parse_datasource_list(
        {
            "datasource_list": [
                {
                    "domain_id": "alice",
                    "datasource_id": "default-data-source",
                    "name": "default-data-source",
                    "type": "localfs",
                    "status": "",
                    "info": {
                        "localfs": {"path": "/home/kuscia/var/storage/data"},
                        "oss": None,
                        "database": None,
                        "odps": None,
                    },
                    "info_key": "",
                    "access_directly": True,
                },
                {
                    "domain_id": "alice",
                    "datasource_id": "oss-1",
                    "name": "bucket",
                    "type": "oss",
                    "status": "",
                    "info": {
                        "localfs": None,
                        "oss": {
                            "endpoint": "https://oss.example",
                            "bucket": "b",
                            "prefix": "p/",
                            "access_key_id": "AKID-visible-id",
                            "access_key_secret": SECRET_AK,
                            "virtualhost": False,
                            "version": "",
                            "storage_type": "",
                        },
                        "database": None,
                        "odps": None,
                    },
                    "info_key": "",
                    "access_directly": False,
                },
                {
                    "domain_id": "alice",
                    "datasource_id": "mysql-1",
                    "name": "db",
                    "type": "mysql",
                    "info": {
                        "database": {
                            "endpoint": "db:3306",
                            "user": "root",
                            "password": SECRET_PASSWORD,
                            "database": "d",
                        }
                    },
                },
                {"domain_id": "bob", "datasource_id": "x", "type": "localfs", "info": None},
            ]
        }
    )
    local, oss, db, master_view = items
    assert local.info is not None and local.info.path == "/home/kuscia/var/storage/data"
    assert local.access_directly
    assert oss.info is not None and (oss.info.kind, oss.info.bucket) == ("oss", "b")
    assert db.info is not None and db.info.database == "d" and db.info.endpoint == "db:3306"
    assert master_view.info is None  # the master cannot decrypt info
    dumped = everything_in(items) + json.dumps(wire.to_json(items))
    for secret in (SECRET_AK, SECRET_PASSWORD, "AKID-visible-id", "root"):
        assert secret not in dumped


# ------------------------------------------------------------------ grants

GRANT = {
    "data": {
        "domaindatagrant_id": "domaindatagrant-0123",
        "author": "alice",
        "domaindata_id": "alice-table",
        "grant_domain": "bob",
        "limit": {
            "expiration_time": "1767225600000000000",
            "use_count": 3,
            "flow_id": "",
            "components": ["psi"],
            "initiator": "",
            "input_config": "",
        },
        "description": {},
        "signature": "SIGNATURE-NOT-KEPT",
        "domain_id": "",
    },
    "status": {
        "phase": "Ready",
        "message": "",
        "records": [
            {
                "use_time": "1767139200000000000",
                "grant_domain": "bob",
                "component": "psi",
                "output": "o",
            }
        ],
    },
}


def test_grant_nanosecond_times_and_status():
    g = wn.parse_grant(GRANT)
    assert g.domaindatagrant_id == "domaindatagrant-0123" and g.phase == "Ready"
    assert g.limit is not None and g.limit.use_count == 3 and g.limit.components == ("psi",)
    assert g.limit.expiration_time == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert g.records[0].use_time == dt.datetime(2025, 12, 31, tzinfo=dt.UTC)
    assert "SIGNATURE-NOT-KEPT" not in everything_in(g)
    docs = {
        **GRANT,
        "data": {**GRANT["data"], "limit": {**GRANT["data"]["limit"], "expiration_time": "0"}},
    }
    assert wn.parse_grant(docs).limit.expiration_time is None
    assert len(wn.parse_grant_list({"domaindatagrant_list": [GRANT, GRANT]})) == 2


def test_grant_request_nanoseconds_and_optional_limit():
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    body = wn.grant_request(
        DomainDataGrantSpec("alice", "alice-table", "bob", expiration_time=when, use_count=2)
    )
    assert body == {
        "domain_id": "alice",
        "domaindata_id": "alice-table",
        "grant_domain": "bob",
        "limit": {"expiration_time": "1767225600000000000", "use_count": 2},
    }
    assert "limit" not in wn.grant_request(DomainDataGrantSpec("alice", "t", "bob"))
