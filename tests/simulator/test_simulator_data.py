"""Domain data, data sources and grants of the simulator over real mTLS
(kuscia-network-api.md §3-§5): shapes, codes, messages and Kuscia's quirks."""

from __future__ import annotations

import json
import re

import pytest

from simulator import ManualClock
from tests.fixtures.simulator import SimHTTP

SUCCESS = {"code": 0, "message": "success", "details": []}
DD_KEYS = [
    "domaindata_id",
    "name",
    "type",
    "relative_uri",
    "domain_id",
    "datasource_id",
    "attributes",
    "partition",
    "columns",
    "vendor",
    "status",
    "author",
    "file_format",
]
INVALID_ID = (
    'Field "domaindata_id" is invalid, invalid value: "Bad_Id": regex used for validation is '
    '"^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$" '
)


def code_msg(reply):
    return reply["status"]["code"], reply["status"]["message"]


def listed(http, domain, **filters):
    reply = http.post("/api/v1/domaindata/list", {"data": {"domain_id": domain, **filters}})
    assert reply["status"] == SUCCESS, reply
    return reply["data"]["domaindata_list"]


def query(http, domain, did):
    return http.post(
        "/api/v1/domaindata/query", {"data": {"domain_id": domain, "domaindata_id": did}}
    )


def create(http, **fields):
    body = {"domain_id": "alice", "type": "table", "relative_uri": "mine.csv", **fields}
    return http.post("/api/v1/domaindata/create", body)


@pytest.fixture
def node(kuscia_sim_factory):
    sim = kuscia_sim_factory(clock=ManualClock(), mode="autonomy", local_domain="alice")
    return sim, SimHTTP(sim)


# ------------------------------------------------------------------ domain data: reads


def test_seed_tables_are_kuscias_demo_tables(sim_http):
    alice = listed(sim_http, "alice")
    assert [i["domaindata_id"] for i in alice] == ["alice-table"]
    item = alice[0]
    assert list(item) == DD_KEYS
    assert item["name"] == item["relative_uri"] == "alice.csv"
    assert (item["datasource_id"], item["vendor"], item["author"]) == (
        "default-data-source",
        "manual",
        "alice",
    )
    assert (item["status"], item["file_format"], item["partition"]) == (
        "Available",
        "UNKNOWN",
        None,
    )
    assert item["attributes"] == {"description": "alice demo data"}
    assert len(item["columns"]) == 25
    assert item["columns"][:2] == [
        {"name": "id1", "type": "str", "comment": "", "not_nullable": False},
        {"name": "age", "type": "float", "comment": "", "not_nullable": False},
    ]
    bob = listed(sim_http, "bob")[0]
    assert (len(bob["columns"]), bob["columns"][0]["name"]) == (21, "id2")
    assert bob["columns"][-1] == {"name": "y", "type": "int", "comment": "", "not_nullable": False}
    assert [i["domaindata_id"] for i in listed(sim_http, "carol")] == ["carol-table"]


def test_list_filters_order_and_errors(sim_http):
    assert listed(sim_http, "alice", domaindata_type="model") == []
    reply = sim_http.post(
        "/api/v1/domaindata/list", {"data": {"domainId": "alice", "domaindataVendor": "manual"}}
    )
    assert len(reply["data"]["domaindata_list"]) == 1
    for body in ({"data": {}}, {}):
        assert code_msg(sim_http.post("/api/v1/domaindata/list", body)) == (
            11100,
            "domain id can not be empty",
        )
    create(sim_http, domaindata_id="aaa-first")
    assert [i["domaindata_id"] for i in listed(sim_http, "alice")] == ["aaa-first", "alice-table"]
    assert listed(sim_http, "nobody") == []


def test_query_domaindata(sim_http):
    reply = query(sim_http, "bob", "bob-table")
    assert reply["data"]["domaindata_id"] == "bob-table" and reply["data"]["domain_id"] == "bob"
    reply = query(sim_http, "bob", "alice-table")
    assert reply == {
        "status": {
            "code": 11506,
            "message": 'domaindatas.kuscia.secretflow "alice-table" not found',
            "details": [],
        },
        "data": None,
    }
    for body in ({"data": {"domain_id": "bob"}}, {}):
        assert code_msg(sim_http.post("/api/v1/domaindata/query", body)) == (
            11100,
            "domain id and domaindata id can not be empty",
        )


def test_batch_query_domaindata_skips_unknown(sim_http):
    keys = [
        {"domain_id": "bob", "domaindata_id": "bob-table"},
        {"domain_id": "bob", "domaindata_id": "nope"},
        {"domain_id": "alice", "domaindata_id": "alice-table"},
    ]
    reply = sim_http.post("/api/v1/domaindata/batchQuery", {"data": keys})
    assert reply["status"] == SUCCESS
    ids = [d["domaindata_id"] for d in reply["data"]["domaindata_list"]]
    assert ids == ["bob-table", "alice-table"]
    reply = sim_http.post("/api/v1/domaindata/batchQuery", {"data": [keys[1], {"domain_id": "b"}]})
    assert code_msg(reply) == (11100, "domain id and domaindata id can not be empty")
    reply = sim_http.post("/api/v1/domaindata/batchQuery", {"data": []})
    assert reply == {"status": SUCCESS, "data": {"domaindata_list": []}}


# ------------------------------------------------------------------ domain data: writes


def test_create_with_defaults_and_a_generated_id(sim_http):
    reply = create(
        sim_http,
        name="My Data.CSV",
        relative_uri="/team/my.csv",
        columns=[{"name": "id", "type": "str"}, {"name": "x", "type": "float64", "comment": "c"}],
        attributes={"owner": "risk"},
        file_format="CSV",
    )
    assert reply["status"] == SUCCESS and list(reply["data"]) == ["domaindata_id"]
    did = reply["data"]["domaindata_id"]
    assert re.fullmatch(r"mydatacsv-[0-9a-f]{32}", did), did
    item = query(sim_http, "alice", did)["data"]
    assert item["relative_uri"] == "team/my.csv"  # a leading "/" is stripped
    assert (item["name"], item["datasource_id"], item["vendor"]) == (
        "My Data.CSV",
        "default-data-source",
        "manual",
    )
    assert (item["author"], item["file_format"], item["attributes"]) == (
        "alice",
        "CSV",
        {"owner": "risk"},
    )
    assert item["columns"][1] == {
        "name": "x",
        "type": "float64",
        "comment": "c",
        "not_nullable": False,
    }
    reply = create(sim_http, relative_uri="data/../../etc/out.csv", fileFormat=2)
    name = query(sim_http, "alice", reply["data"]["domaindata_id"])["data"]["name"]
    assert name == "out.csv"  # Kuscia accepts ".." on create


def test_create_with_an_existing_id_updates_it(sim_http):
    assert create(sim_http, domaindata_id="mine", vendor="team-a")["status"]["code"] == 0
    reply = create(sim_http, domaindata_id="mine", relative_uri="v2.csv", vendor="team-b")
    assert reply == {"status": SUCCESS, "data": {"domaindata_id": "mine"}}
    item = query(sim_http, "alice", "mine")["data"]
    assert item["relative_uri"] == "v2.csv" and item["vendor"] == "team-a"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"domain_id": ""}, (11100, "request domain id can not be empty")),
        ({"type": ""}, (11100, "request type can not be empty")),
        ({"relative_uri": ""}, (11100, "request relative_uri can not be empty")),
        ({"domaindata_id": "Bad_Id"}, (11100, INVALID_ID)),
        (
            {"datasource_id": "ds1"},
            (11806, "domain data source `ds1` is not exists in domain `alice`"),
        ),
        (
            {"domain_id": "zed"},
            (11806, "domain data source `default-data-source` is not exists in domain `zed`"),
        ),
    ],
)
def test_create_errors(sim_http, fields, expected):
    reply = create(sim_http, **fields)
    assert code_msg(reply) == expected and reply["data"] is None


def test_update_merges_and_answers_with_status_only(sim_http):
    create(sim_http, domaindata_id="mine", columns=[{"name": "a", "type": "int"}])
    body = {"domain_id": "alice", "domaindata_id": "mine", "name": "renamed"}
    status, _, raw = sim_http.raw("/api/v1/domaindata/update", body)
    assert status == 200 and json.loads(raw) == {"status": SUCCESS}
    item = query(sim_http, "alice", "mine")["data"]
    assert item["name"] == "renamed" and item["relative_uri"] == "mine.csv"
    assert item["columns"][0]["name"] == "a"
    _, _, raw = sim_http.raw("/api/v1/domaindata/update", {"domain_id": "alice"})
    assert json.loads(raw) == {
        "status": {
            "code": 11100,
            "message": "domain id and domaindata id can not be empty",
            "details": [],
        }
    }
    reply = sim_http.post("/api/v1/domaindata/update", {**body, "domaindata_id": "nope"})
    assert code_msg(reply) == (11506, 'domaindatas.kuscia.secretflow "nope" not found')
    reply = sim_http.post("/api/v1/domaindata/update", {**body, "datasource_id": "ds9"})
    assert reply["status"]["code"] == 11806


def test_delete(sim_http):
    create(sim_http, domaindata_id="mine")
    body = {"domain_id": "alice", "domaindata_id": "mine"}
    assert sim_http.post("/api/v1/domaindata/delete", body) == {"status": SUCCESS}
    assert query(sim_http, "alice", "mine")["status"]["code"] == 11506
    reply = sim_http.post("/api/v1/domaindata/delete", body)
    assert set(reply) == {"status"}
    assert code_msg(reply) == (11506, 'domaindatas.kuscia.secretflow "mine" not found')
    assert code_msg(sim_http.post("/api/v1/domaindata/delete", {"domain_id": "alice"}))[0] == 11100


def test_an_autonomy_node_holds_only_its_own_data(node):
    _sim, http = node
    assert listed(http, "bob") == []
    assert query(http, "bob", "bob-table")["status"]["code"] == 11506
    assert code_msg(create(http, domain_id="bob"))[0] == 11806
    assert create(http, domaindata_id="mine")["status"]["code"] == 0


# ------------------------------------------------------------------ data sources


def test_datasources_on_a_master_have_no_info(sim_http):
    reply = sim_http.post("/api/v1/domaindatasource/list", {"domain_id": "alice"})
    assert reply["status"] == SUCCESS
    items = reply["data"]["datasource_list"]
    assert [i["datasource_id"] for i in items] == ["default-data-source", "demo-oss-datasource"]
    assert list(items[0]) == [
        "domain_id",
        "datasource_id",
        "name",
        "type",
        "status",
        "info",
        "info_key",
        "access_directly",
    ]
    assert [(i["type"], i["info"], i["status"]) for i in items] == [
        ("localfs", None, ""),
        ("oss", None, ""),
    ]
    assert items[0]["access_directly"] is True
    one = sim_http.post(
        "/api/v1/domaindatasource/query",
        {"domain_id": "bob", "datasource_id": "default-data-source"},
    )
    assert one["data"]["domain_id"] == "bob" and one["data"]["info"] is None


def test_datasources_on_an_autonomy_node_carry_their_secrets(node):
    _sim, http = node
    body = {"domain_id": "alice", "datasource_id": "default-data-source"}
    info = http.post("/api/v1/domaindatasource/query", body)["data"]["info"]
    assert info == {
        "localfs": {"path": "/home/kuscia/var/storage/data"},
        "oss": None,
        "database": None,
        "odps": None,
    }
    body["datasource_id"] = "demo-oss-datasource"
    oss = http.post("/api/v1/domaindatasource/query", body)["data"]["info"]["oss"]
    assert oss["bucket"] == "alice-bucket" and len(oss["access_key_secret"]) >= 24
    reply = http.post("/api/v1/domaindatasource/query", {"domain_id": "bob", "datasource_id": "x"})
    assert code_msg(reply) == (11802, "domain alice can't operate domain bob data source")
    reply = http.post("/api/v1/domaindatasource/list", {"domain_id": "bob"})
    assert code_msg(reply) == (11808, "domain alice can't operate domain bob data source")


def test_datasource_errors(sim_http):
    reply = sim_http.post(
        "/api/v1/domaindatasource/query",
        {"domain_id": "alice", "datasource_id": "demo-local-datasource-1"},
    )
    assert code_msg(reply) == (
        11802,
        "get domain alice kuscia data source demo-local-datasource-1 failed, "
        'domaindatasources.kuscia.secretflow "demo-local-datasource-1" not found',
    )
    reply = sim_http.post("/api/v1/domaindatasource/query", {"domain_id": "alice"})
    assert code_msg(reply) == (11802, "domain alice data source id can not be empty")
    reply = sim_http.post("/api/v1/domaindatasource/list", {})
    assert code_msg(reply) == (11100, "request domainID can't be empty")


def test_datasource_batch_query(sim_http):
    keys = [
        {"domain_id": "bob", "datasource_id": "default-data-source"},
        {"domain_id": "alice", "datasource_id": "demo-oss-datasource"},
    ]
    reply = sim_http.post("/api/v1/domaindatasource/batchQuery", {"data": keys})
    got = [(d["domain_id"], d["datasource_id"]) for d in reply["data"]["datasource_list"]]
    assert got == [("bob", "default-data-source"), ("alice", "demo-oss-datasource")]
    keys.append({"domain_id": "bob", "datasource_id": "nope"})
    reply = sim_http.post("/api/v1/domaindatasource/batchQuery", {"data": keys})
    assert reply["status"]["code"] == 11803 and reply["data"] is None
    message = reply["status"]["message"]
    assert message.endswith('domaindatasources.kuscia.secretflow "nope" not found')
    reply = sim_http.post("/api/v1/domaindatasource/batchQuery", {"data": []})
    assert code_msg(reply) == (11100, "request data can't be empty")


# ------------------------------------------------------------------ grants


def grant(http, **fields):
    body = {"domain_id": "alice", "domaindata_id": "alice-table", "grant_domain": "bob", **fields}
    return http.post("/api/v1/domaindatagrant/create", body)


def test_grant_lifecycle(sim_http):
    reply = grant(
        sim_http,
        domaindatagrant_id="g1",
        limit={"use_count": 3, "flow_id": "f1", "components": ["psi"], "initiator": "alice"},
        description={"why": "psi"},
    )
    assert reply == {"status": SUCCESS, "data": {"domaindatagrant_id": "g1"}}
    _, _, raw = sim_http.raw(
        "/api/v1/domaindatagrant/query", {"domain_id": "alice", "domaindatagrant_id": "g1"}
    )
    assert b'"expiration_time":"0"' in raw
    assert json.loads(raw)["data"] == {
        "data": {
            "domaindatagrant_id": "g1",
            "author": "alice",
            "domaindata_id": "alice-table",
            "grant_domain": "bob",
            "limit": {
                "expiration_time": "0",
                "use_count": 3,
                "flow_id": "f1",
                "components": ["psi"],
                "initiator": "",
                "input_config": "",
            },
            "description": {},
            "signature": "",
            "domain_id": "",
        },
        "status": {"phase": "Ready", "message": "", "records": []},
    }
    copy = [i for i in listed(sim_http, "bob") if i["domaindata_id"] == "alice-table"]
    assert copy and copy[0]["vendor"] == "grant" and copy[0]["author"] == "alice"
    reply = sim_http.post("/api/v1/domaindatagrant/list", {"data": {"domain_id": "alice"}})
    assert [g["data"]["domaindatagrant_id"] for g in reply["data"]["domaindatagrant_list"]] == [
        "g1"
    ]
    for filters, count in (({"grant_domain": "carol"}, 0), ({"domaindata_vendor": "manual"}, 0)):
        reply = sim_http.post(
            "/api/v1/domaindatagrant/list", {"data": {"domain_id": "alice", **filters}}
        )
        assert len(reply["data"]["domaindatagrant_list"]) == count
    body = {"domain_id": "alice", "domaindatagrant_id": "g1"}
    assert sim_http.post("/api/v1/domaindatagrant/delete", body) == {"status": SUCCESS}
    assert "alice-table" not in [i["domaindata_id"] for i in listed(sim_http, "bob")]
    reply = sim_http.post("/api/v1/domaindatagrant/delete", body)
    assert reply == {
        "status": {
            "code": 11705,
            "message": 'domaindatagrants.kuscia.secretflow "g1" not found',
            "details": [],
        }
    }
    reply = sim_http.post("/api/v1/domaindatagrant/query", body)
    assert code_msg(reply)[0] == 11705 and reply["data"] is None


def test_grant_ids_expiry_and_errors(sim_http, kuscia_sim):
    gid = grant(sim_http)["data"]["domaindatagrant_id"]
    assert re.fullmatch(r"domaindatagrant-[0-9a-f]{32}", gid)
    past = int((kuscia_sim.world.now() - 60) * 1e9)
    old = grant(sim_http, grant_domain="carol", limit={"expiration_time": str(past)})
    reply = sim_http.post(
        "/api/v1/domaindatagrant/query",
        {"domain_id": "alice", "domaindatagrant_id": old["data"]["domaindatagrant_id"]},
    )
    status = reply["data"]["status"]
    assert status == {"phase": "Unavailable", "message": "Expirated", "records": []}
    assert code_msg(grant(sim_http, grant_domain="")) == (11100, "grantdomain can't be null")
    assert code_msg(grant(sim_http, grant_domain="alice")) == (11100, "grantdomain can't be self")
    assert code_msg(grant(sim_http, domaindata_id="")) == (11100, "domaindata can't be null")
    assert code_msg(grant(sim_http, domaindata_id="Bad_Id")) == (11100, INVALID_ID)
    assert code_msg(grant(sim_http, domaindata_id="nope")) == (
        11100,
        "domaindata [nope] not exists",
    )
    grant(sim_http, domaindatagrant_id="g2")
    assert code_msg(grant(sim_http, domaindatagrant_id="g2")) == (
        11700,
        "CreateDomainDataGrant failed, because domaindatagrant g2 is exist",
    )
    reply = sim_http.post("/api/v1/domaindatagrant/list", {"data": {}})
    assert code_msg(reply) == (11100, "domain id can not be empty")


def test_grant_batch_query(sim_http):
    grant(sim_http, domaindatagrant_id="g1")
    grant(sim_http, domaindatagrant_id="g2", grant_domain="carol")
    keys = [
        {"domain_id": "alice", "domaindatagrant_id": "g2"},
        {"domain_id": "alice", "domaindatagrant_id": "g1"},
    ]
    reply = sim_http.post("/api/v1/domaindatagrant/batchQuery", {"data": keys})
    assert reply["status"] == SUCCESS
    assert [g["data"]["domaindatagrant_id"] for g in reply["data"]] == ["g2", "g1"]  # bare list
    keys += [{"domain_id": "alice", "domaindatagrant_id": "nope"}, {"domain_id": "alice"}]
    reply = sim_http.post("/api/v1/domaindatagrant/batchQuery", {"data": keys})
    assert code_msg(reply) == (11702, "BatchQuery has error. Empty/Error/Total(1/1/4)")
    assert reply["data"] == []
    details = reply["status"]["details"]
    assert [d["code"] for d in details] == [0, 0, 11705, 11100]
    assert details[2]["@type"] == "type.googleapis.com/kuscia.proto.api.v1alpha1.Status"
    reply = sim_http.post("/api/v1/domaindatagrant/batchQuery", {"data": []})
    assert code_msg(reply) == (11100, "BatchQueryDomainDataGrant.data can't be null")
