"""The unary JSON dialect of the simulator (decoding, envelopes, errors)."""

from __future__ import annotations

import json

import pytest

from simulator.demo import example_job

SUCCESS = {"code": 0, "message": "success", "details": []}


def code_msg(reply):
    return reply["status"]["code"], reply["status"]["message"]


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
