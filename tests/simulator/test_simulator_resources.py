"""Domains, domain data, route status and the unary JSON dialect of the simulator."""

from __future__ import annotations

import base64
import json

import pytest

from simulator.demo import example_job

SUCCESS = {"code": 0, "message": "success", "details": []}


def code_msg(reply):
    return reply["status"]["code"], reply["status"]["message"]


# ------------------------------------------------------------------ domains


def test_query_domain_has_every_field(sim_http, kuscia_sim):
    reply = sim_http.post("/api/v1/domain/query", {"domain_id": "alice"})
    assert reply["status"] == SUCCESS
    data = reply["data"]
    assert set(data) == {
        "domain_id",
        "role",
        "cert",
        "node_statuses",
        "deploy_token_statuses",
        "annotations",
        "auth_center",
        "master_domain_id",
    }
    assert data["domain_id"] == "alice" and data["role"] == ""
    assert data["auth_center"] is None and data["annotations"] == {}
    node = data["node_statuses"][0]
    assert set(node) == {"name", "status", "version", "last_heartbeat_time", "last_transition_time"}
    assert node["status"] == "Ready" and node["last_heartbeat_time"].endswith("Z")
    ca = (kuscia_sim.cert_dir / "ca.crt").read_bytes()
    assert base64.b64decode(data["cert"]) == ca


def test_node_status_control(sim_http, kuscia_sim):
    kuscia_sim.world.set_node_status("bob", "NotReady")
    reply = sim_http.post("/api/v1/domain/batchQuery", {"domain_ids": ["alice", "bob"]})
    assert [d["node_statuses"][0]["status"] for d in reply["data"]["domains"]] == [
        "Ready",
        "NotReady",
    ]


def test_query_master_returns_the_root_ca(sim_http, kuscia_sim):
    data = sim_http.post("/api/v1/domain/query", {"domain_id": "master"})["data"]
    assert data["domain_id"] == "master"
    assert base64.b64decode(data["cert"]) == (kuscia_sim.cert_dir / "ca.crt").read_bytes()


def test_domain_errors(sim_http):
    assert sim_http.post("/api/v1/domain/query", {"domain_id": "mallory"}) == {
        "status": {
            "code": 11305,
            "message": 'domains.kuscia.secretflow "mallory" not found',
            "details": [],
        },
        "data": None,
    }
    assert code_msg(sim_http.post("/api/v1/domain/query", {})) == (
        11100,
        "domain id can not be empty",
    )


def test_batch_query_domains_in_order_and_whole_batch_failure(sim_http):
    reply = sim_http.post("/api/v1/domain/batchQuery", {"domain_ids": ["carol", "alice", "bob"]})
    domains = reply["data"]["domains"]
    assert [d["domain_id"] for d in domains] == ["carol", "alice", "bob"]
    assert set(domains[0]) == {"domain_id", "role", "cert", "node_statuses"}
    reply = sim_http.post("/api/v1/domain/batchQuery", {"domain_ids": ["alice", "mallory"]})
    assert code_msg(reply) == (11305, 'domains.kuscia.secretflow "mallory" not found')
    assert reply["data"] is None
    reply = sim_http.post("/api/v1/domain/batchQuery", {"domain_ids": []})
    assert code_msg(reply) == (11100, "domain ids can not be empty")
    reply = sim_http.post("/api/v1/domain/batchQuery", {"domain_ids": ["alice", ""]})
    assert code_msg(reply) == (11100, "domain id can not be empty on index 1")
    reply = sim_http.post("/api/v1/domain/batchQuery", {"domain_ids": ["master", "bob"]})
    assert [d["domain_id"] for d in reply["data"]["domains"]] == ["master", "bob"]


# ------------------------------------------------------------------ domain data


def test_list_domaindata_of_each_seeded_domain(sim_http):
    for domain, table in (("alice", "alice-table"), ("bob", "bob-table"), ("carol", "carol-table")):
        reply = sim_http.post("/api/v1/domaindata/list", {"data": {"domain_id": domain}})
        assert reply["status"] == SUCCESS
        items = reply["data"]["domaindata_list"]
        assert [i["domaindata_id"] for i in items] == [table]
    item = sim_http.post("/api/v1/domaindata/list", {"data": {"domain_id": "alice"}})["data"][
        "domaindata_list"
    ][0]
    assert set(item) == {
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
    }
    assert item["partition"] is None and item["status"] == "Available"
    assert item["datasource_id"] == "default-data-source" and item["file_format"] == "CSV"
    assert item["columns"][0] == {
        "name": "id1",
        "type": "str",
        "comment": "",
        "not_nullable": False,
    }


def test_list_domaindata_filters_and_errors(sim_http):
    reply = sim_http.post(
        "/api/v1/domaindata/list", {"data": {"domain_id": "alice", "domaindata_type": "model"}}
    )
    assert reply["data"]["domaindata_list"] == []
    reply = sim_http.post(
        "/api/v1/domaindata/list", {"data": {"domainId": "alice", "domaindataVendor": "manual"}}
    )
    assert len(reply["data"]["domaindata_list"]) == 1
    assert code_msg(sim_http.post("/api/v1/domaindata/list", {"data": {}}))[0] == 11100
    assert code_msg(sim_http.post("/api/v1/domaindata/list", {}))[0] == 11100


def test_query_domaindata(sim_http):
    reply = sim_http.post(
        "/api/v1/domaindata/query", {"data": {"domain_id": "bob", "domaindata_id": "bob-table"}}
    )
    assert reply["data"]["domaindata_id"] == "bob-table" and reply["data"]["domain_id"] == "bob"
    reply = sim_http.post(
        "/api/v1/domaindata/query", {"data": {"domain_id": "bob", "domaindata_id": "alice-table"}}
    )
    assert code_msg(reply) == (11506, 'domaindatas.kuscia.secretflow "alice-table" not found')
    assert reply["data"] is None
    for body in ({"data": {"domain_id": "bob"}}, {}):
        assert code_msg(sim_http.post("/api/v1/domaindata/query", body)) == (
            11100,
            "domain id and domaindata id can not be empty",
        )


def test_batch_query_domaindata_skips_unknown(sim_http):
    reply = sim_http.post(
        "/api/v1/domaindata/batchQuery",
        {
            "data": [
                {"domain_id": "bob", "domaindata_id": "bob-table"},
                {"domain_id": "bob", "domaindata_id": "nope"},
                {"domain_id": "alice", "domaindata_id": "alice-table"},
            ]
        },
    )
    assert reply["status"] == SUCCESS
    assert [d["domaindata_id"] for d in reply["data"]["domaindata_list"]] == [
        "bob-table",
        "alice-table",
    ]
    reply = sim_http.post(
        "/api/v1/domaindata/batchQuery",
        {"data": [{"domain_id": "bob", "domaindata_id": "nope"}, {"domain_id": "bob"}]},
    )
    assert code_msg(reply) == (11100, "domain id and domaindata id can not be empty")
    reply = sim_http.post("/api/v1/domaindata/batchQuery", {"data": []})
    assert reply == {"status": SUCCESS, "data": {"domaindata_list": []}}


# ------------------------------------------------------------------ routes


def test_route_status_batch_query(sim_http, kuscia_sim):
    kuscia_sim.world.set_route_status("bob", "carol", "Failed", "connect timeout")
    kuscia_sim.world.set_route_ready("carol", "alice", False)
    reply = sim_http.post(
        "/api/v1/route/status/batchQuery",
        {
            "route_keys": [
                {"source": "alice", "destination": "bob"},
                {"source": "bob", "destination": "carol"},
            ]
        },
    )
    assert reply["status"] == SUCCESS
    assert reply["data"]["routes"] == [
        {
            "name": "alice-bob",
            "destination": "bob",
            "source": "alice",
            "status": {"status": "Succeeded", "reason": ""},
        },
        {
            "name": "bob-carol",
            "destination": "carol",
            "source": "bob",
            "status": {"status": "Failed", "reason": "connect timeout"},
        },
    ]
    reply = sim_http.post(
        "/api/v1/route/status/batchQuery",
        {"routeKeys": [{"source": "carol", "destination": "alice"}]},
    )
    assert reply["data"]["routes"][0]["status"] == {"status": "Failed", "reason": ""}
    reply = sim_http.post(
        "/api/v1/route/status/batchQuery",
        {"route_keys": [{"source": "alice", "destination": "mallory"}]},
    )
    assert reply["status"]["code"] == 11404 and reply["data"] is None
    reply = sim_http.post("/api/v1/route/status/batchQuery", {"route_keys": []})
    assert code_msg(reply) == (11100, "DomainRoute keys can not be empty")
    reply = sim_http.post("/api/v1/route/status/batchQuery", {"route_keys": [{"source": "alice"}]})
    assert code_msg(reply) == (11100, "destination can not be empty")


# ------------------------------------------------------------------ unary dialect


def test_camel_case_keys_and_unknown_keys_are_accepted(sim_http):
    req = example_job("job-camel")
    camel = {
        "jobId": req["job_id"],
        "initiator": "alice",
        "maxParallelism": "2",  # int32 as a numeric string
        "somethingNew": {"ignored": True},
        "tasks": [
            {
                "taskId": t["task_id"],
                "alias": t["alias"],
                "appImage": t["app_image"],
                "parties": [{"domainId": p["domain_id"], "futureField": 1} for p in t["parties"]],
                "dependencies": t["dependencies"],
                "priority": t["priority"],
                "taskInputConfig": t["task_input_config"],
            }
            for t in req["tasks"]
        ],
        "customFields": {"team": "risk"},
    }
    assert sim_http.post("/api/v1/job/create", camel)["data"] == {"job_id": "job-camel"}
    data = sim_http.post("/api/v1/job/query", {"jobId": "job-camel", "extra": [1]})["data"]
    assert data["max_parallelism"] == 2
    assert data["custom_fields"] == {"team": "risk"}
    assert data["tasks"][1]["dependencies"] == ["job-psi"]


def test_null_means_unset(sim_http):
    req = example_job("job-null")
    req["tasks"][0]["schedule_config"] = None
    req["custom_fields"] = None
    assert sim_http.post("/api/v1/job/create", req)["status"]["code"] == 0


def test_null_inside_a_map_or_a_list_takes_kuscias_second_decoder(sim_http):
    """protojson refuses null as a map value or list item; Kuscia then decodes the body with
    Go encoding/json (JSONProtoBinder), which takes it as the zero value."""
    req = example_job("job-null-map")
    req["custom_fields"] = {"team": None}
    assert sim_http.post("/api/v1/job/create", req)["status"]["code"] == 0
    data = sim_http.post("/api/v1/job/query", {"job_id": "job-null-map"})["data"]
    assert data["custom_fields"] == {"team": ""}
    reply = sim_http.post("/api/v1/job/status/batchQuery", {"job_ids": [None]})
    assert reply["status"] == {"code": 11100, "message": "job id can not be empty", "details": []}
    # Go's decoder knows no camelCase keys and no unknown fields: such a body fails both
    bad = {"jobIds": [None]}
    assert sim_http.post("/api/v1/job/status/batchQuery", bad)["status"]["code"] == 11101
    bad = {"job_ids": [None], "extra": 1}
    assert sim_http.post("/api/v1/job/status/batchQuery", bad)["status"]["code"] == 11101


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "EOF"),
        (b"{not json", None),
        (b'{"job_id": 5}', None),
        (b'{"job_ids": "job-a"}', None),
        (b"[1, 2]", None),
    ],
)
def test_undecodable_body_is_11101_without_details_or_data(kuscia_sim, sim_http, body, message):
    path = "/api/v1/job/status/batchQuery" if b"job_ids" in body else "/api/v1/job/query"
    status, headers, raw = sim_http.raw(path, body)
    assert status == 200 and headers["Content-Type"] == "application/json; charset=utf-8"
    reply = json.loads(raw)
    assert set(reply) == {"status"} and set(reply["status"]) == {"code", "message"}
    assert reply["status"]["code"] == 11101
    if message is not None:
        assert reply["status"]["message"] == message


def test_bool_must_be_json_bool_and_enum_name_is_exact(sim_http):
    req = example_job("job-bool")
    req["tasks"][0]["tolerable"] = "true"
    assert sim_http.post("/api/v1/job/create", req)["status"]["code"] == 11101
    reply = sim_http.post("/api/v1/job/approve", {"job_id": "x", "result": "approve_result_accept"})
    assert reply["status"]["code"] == 11101


def test_int64_and_uint64_are_strings_in_replies(sim_http):
    req = example_job("job-kbps")
    req["tasks"][0]["parties"][1]["bandwidth_limits"] = [
        {"destination_id": "alice", "limit_kbps": "2048"}
    ]
    sim_http.post("/api/v1/job/create", req)
    _, _, raw = sim_http.raw("/api/v1/job/query", {"job_id": "job-kbps"})
    assert b'"limit_kbps":"2048"' in raw
    assert b'"max_parallelism":2' in raw  # int32 stays a number


def test_plain_text_content_type_is_json_and_form_is_ignored(sim_http):
    status, _, raw = sim_http.raw(
        "/api/v1/domain/query", b'{"domain_id":"bob"}', headers={"Content-Type": "text/plain"}
    )
    assert json.loads(raw)["data"]["domain_id"] == "bob"
    status, _, raw = sim_http.raw(
        "/api/v1/domain/query",
        b'{"domain_id":"bob"}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200 and json.loads(raw)["status"]["code"] == 11100  # body not read


def test_success_and_error_envelopes(sim_http):
    reply = sim_http.post("/healthZ", {"header": {"custom_headers": {"a": "b"}}})
    assert reply == {"status": SUCCESS, "data": {"ready": True}}
    reply = sim_http.post("/api/v1/job/query", {"job_id": "job-x"})
    assert list(reply) == ["status", "data"] and reply["data"] is None
    assert reply["status"]["details"] == []


def test_handler_panic_is_11101_without_details(sim_http, kuscia_sim, monkeypatch):
    def boom(domain_id):
        raise RuntimeError("boom")

    monkeypatch.setattr(kuscia_sim.world, "query_domain", boom)
    assert sim_http.post("/api/v1/domain/query", {"domain_id": "alice"}) == {
        "status": {"code": 11101, "message": "doBizProcess panic, err: boom"}
    }
