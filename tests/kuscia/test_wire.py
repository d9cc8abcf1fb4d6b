"""Parsing Kuscia's JSON into typed values, and building CreateJob bodies (kuscia/wire.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kuscia import wire
from kuscia.errors import KusciaMalformed
from kuscia.types import (
    BandwidthLimit,
    EventType,
    JobResource,
    JobSpec,
    Party,
    ScheduleConfig,
    TaskSpec,
)

DATA = Path(__file__).resolve().parent.parent / "data"


def seed_reply() -> dict:
    return json.loads((DATA / "seed_batchquery_reply.json").read_text())


def t(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def test_seed_batchquery_reply_golden():
    jobs = wire.parse_batch_job_status(seed_reply()["data"])
    assert len(jobs) == 1
    job = jobs[0]
    assert job.job_id == "job-best-effort-linear"
    st = job.status
    assert st.state == "Succeeded"
    assert st.err_msg == ""
    assert st.create_time == datetime(2023, 7, 27, 1, 55, 46, tzinfo=UTC)
    assert st.start_time == datetime(2023, 7, 27, 1, 55, 46, tzinfo=UTC)
    assert st.end_time == datetime(2023, 7, 27, 1, 56, 19, tzinfo=UTC)
    assert st.stage_status_list == () and st.approve_status_list == ()
    assert [task.task_id for task in st.tasks] == ["job-psi", "job-split"]
    psi, split = st.tasks
    assert (psi.state, psi.err_msg, psi.alias, psi.progress) == ("Succeeded", "", "", 0.0)
    assert psi.create_time == t("2023-07-27T01:55:46Z")
    assert psi.end_time == t("2023-07-27T01:56:05Z")
    assert split.start_time == t("2023-07-27T01:56:05Z")
    assert split.end_time == t("2023-07-27T01:56:19Z")
    expected = {
        # (task, party): [(port_name, scope, endpoint)] in the order Kuscia sent them
        ("job-psi", "alice"): [
            ("spu", "Cluster", "job-psi-0-spu.alice.svc"),
            ("fed", "Cluster", "job-psi-0-fed.alice.svc"),
            ("global", "Domain", "job-psi-0-global.alice.svc:8081"),
        ],
        ("job-psi", "bob"): [
            ("fed", "Cluster", "job-psi-0-fed.bob.svc"),
            ("global", "Domain", "job-psi-0-global.bob.svc:8081"),
            ("spu", "Cluster", "job-psi-0-spu.bob.svc"),
        ],
        ("job-split", "alice"): [
            ("spu", "Cluster", "job-split-0-spu.alice.svc"),
            ("fed", "Cluster", "job-split-0-fed.alice.svc"),
            ("global", "Domain", "job-split-0-global.alice.svc:8081"),
        ],
        # The seed document really lists job-psi's endpoints under job-split's bob party.
        ("job-split", "bob"): [
            ("fed", "Cluster", "job-psi-0-fed.bob.svc"),
            ("global", "Domain", "job-psi-0-global.bob.svc:8081"),
            ("spu", "Cluster", "job-psi-0-spu.bob.svc"),
        ],
    }
    seen = {}
    for task in st.tasks:
        assert [p.domain_id for p in task.parties] == ["alice", "bob"]
        for party in task.parties:
            assert party.state == "Succeeded" and party.err_msg == ""
            seen[(task.task_id, party.domain_id)] = [
                (e.port_name, e.scope, e.endpoint) for e in party.endpoints
            ]
    assert seen == expected
    assert job.raw == seed_reply()["data"]["jobs"][0]


def test_times_are_aware_utc_and_empty_is_none():
    assert wire.parse_time("") is None
    assert wire.parse_time(None) is None
    v = wire.parse_time("2025-04-16T10:42:55Z")
    assert v is not None and v.tzinfo is not None and v.utcoffset().total_seconds() == 0
    assert wire.parse_time("2025-04-16T12:42:55+02:00") == v
    assert wire.format_time(v) == "2025-04-16T10:42:55Z"
    for bad in ("yesterday", 17, "2025-04-16T10:42:55"):
        with pytest.raises(KusciaMalformed):
            wire.parse_time(bad)


def test_stream_dialect_omitted_fields_and_unknown_fields():
    # encoding/json: zero values omitted; unknown keys must be ignored
    js = wire.parse_job_status(
        {
            "job_id": "job-a",
            "brand_new_field": {"x": 1},
            "status": {
                "state": "Running",
                "create_time": "2025-04-16T10:42:55Z",
                "tasks": [{"task_id": "job-psi", "state": "Running", "progress": 0.2, "zz": 1}],
            },
        }
    )
    assert js.status.end_time is None and js.status.err_msg == ""
    assert js.status.tasks[0].parties == () and js.status.tasks[0].progress == 0.2
    assert js.status.tasks[0].create_time is None


@pytest.mark.parametrize(
    "obj, field",
    [
        ({"job_id": "a", "status": {"state": 3}}, "status.state"),
        ({"job_id": "a", "status": {"tasks": {}}}, "status.tasks"),
        ({"job_id": "a", "status": {"tasks": [{"progress": "0.5"}]}}, "progress"),
        ({"job_id": "a", "status": []}, "job.status"),
        ({"status": {}}, "job_id missing"),
    ],
)
def test_wrong_types_are_malformed_and_name_the_field(obj, field):
    with pytest.raises(KusciaMalformed) as err:
        wire.parse_job_status(obj)
    assert field in err.value.message
    assert err.value.kind == "malformed"


def test_watch_events():
    added = wire.parse_watch_event({"object": {"job_id": "j", "status": {"state": "Pending"}}})
    assert added.type is EventType.ADDED and added.job is not None and added.job.job_id == "j"
    hb = wire.parse_watch_event({"type": 4})
    assert hb.type is EventType.HEARTBEAT and hb.job is None
    deleted = wire.parse_watch_event({"type": 2, "object": {"job_id": "j", "status": {}}})
    assert deleted.type is EventType.DELETED
    with pytest.raises(KusciaMalformed):
        wire.parse_watch_event({"type": 9, "object": {"job_id": "j"}})
    with pytest.raises(KusciaMalformed):
        wire.parse_watch_event({"type": 1})


QUERY_JOB_DATA = {
    "job_id": "job-best-effort-linear",
    "initiator": "alice",
    "max_parallelism": 2,
    "tasks": [
        {
            "app_image": "secretflow-image",
            "parties": [
                {"domain_id": "alice", "role": "", "resources": None, "bandwidth_limits": []},
                {
                    "domain_id": "bob",
                    "role": "server",
                    "resources": None,
                    "bandwidth_limits": [{"destination_id": "alice", "limit_kbps": "1000"}],
                },
            ],
            "alias": "job-psi",
            "task_id": "job-psi",
            "dependencies": [],
            "task_input_config": "{}",
            "priority": 100,
            "schedule_config": None,
        },
        {
            "app_image": "secretflow-image",
            "parties": [{"domain_id": "alice"}, {"domain_id": "bob"}],
            "alias": "job-split",
            "task_id": "job-split",
            "dependencies": ["job-psi"],
            "task_input_config": "{}",
            "priority": 100,
            "schedule_config": {
                "task_timeout_seconds": 300,
                "resource_reserved_seconds": 30,
                "resource_reallocation_interval_seconds": 30,
            },
        },
    ],
    "status": {
        "state": "Running",
        "err_msg": "",
        "create_time": "2025-04-16T10:42:55Z",
        "start_time": "2025-04-16T10:42:55Z",
        "end_time": "",
        "tasks": [],
        "stage_status_list": [{"domain_id": "alice", "state": "JobCreateStageSucceeded"}],
        "approve_status_list": [{"domain_id": "alice", "state": "JobAccepted"}],
    },
    "custom_fields": {"team": "risk"},
}


def test_query_job_detail():
    d = wire.parse_job_detail(QUERY_JOB_DATA)
    assert d.job_id == "job-best-effort-linear" and d.initiator == "alice"
    assert d.max_parallelism == 2 and d.custom_fields == {"team": "risk"}
    psi, split = d.tasks
    assert psi.tolerable is None  # QueryJob never returns it
    assert psi.parties[1].bandwidth_limits == (BandwidthLimit("alice", 1000),)
    assert psi.parties[1].role == "server" and psi.parties[0].resources is None
    assert psi.schedule_config is None
    assert split.schedule_config == ScheduleConfig(300, 30, 30)
    assert split.dependencies == ("job-psi",)
    assert d.status.end_time is None
    assert d.status.stage_status_list[0].state == "JobCreateStageSucceeded"
    assert d.status.approve_status_list[0].state == "JobAccepted"
    assert d.raw is QUERY_JOB_DATA


def example_spec() -> JobSpec:
    parties = (Party("alice"), Party("bob"))
    return JobSpec(
        job_id="job-best-effort-linear",
        initiator="alice",
        max_parallelism=2,
        tasks=(
            TaskSpec("job-psi", "job-psi", "secretflow-image", parties, (), "<cfg>", 100),
            TaskSpec(
                "job-split", "job-split", "secretflow-image", parties, ("job-psi",), "<cfg>", 100
            ),
        ),
    )


def test_spec_to_request_matches_the_documented_create_body():
    assert wire.spec_to_request(example_spec()) == {
        "job_id": "job-best-effort-linear",
        "initiator": "alice",
        "max_parallelism": 2,
        "tasks": [
            {
                "task_id": "job-psi",
                "alias": "job-psi",
                "app_image": "secretflow-image",
                "parties": [{"domain_id": "alice"}, {"domain_id": "bob"}],
                "dependencies": [],
                "priority": 100,
                "task_input_config": "<cfg>",
            },
            {
                "task_id": "job-split",
                "alias": "job-split",
                "app_image": "secretflow-image",
                "parties": [{"domain_id": "alice"}, {"domain_id": "bob"}],
                "dependencies": ["job-psi"],
                "priority": 100,
                "task_input_config": "<cfg>",
            },
        ],
    }


def test_spec_to_request_optional_parts_and_round_trip():
    spec = JobSpec(
        job_id="j1",
        initiator="alice",
        max_parallelism=1,
        tasks=(
            TaskSpec(
                alias="a",
                task_id="a",
                app_image="img",
                parties=(
                    Party(
                        "alice",
                        role="client",
                        resources=JobResource(cpu="2", memory="4Gi"),
                        bandwidth_limits=(BandwidthLimit("bob", 500),),
                    ),
                ),
                schedule_config=ScheduleConfig(600, 30, 30),
                tolerable=True,
            ),
        ),
        custom_fields={"k": "v"},
    )
    body = wire.spec_to_request(spec)
    task = body["tasks"][0]
    assert task["tolerable"] is True
    assert task["schedule_config"] == {
        "task_timeout_seconds": 600,
        "resource_reserved_seconds": 30,
        "resource_reallocation_interval_seconds": 30,
    }
    assert task["parties"][0] == {
        "domain_id": "alice",
        "role": "client",
        "resources": {"cpu": "2", "memory": "4Gi"},
        "bandwidth_limits": [{"destination_id": "bob", "limit_kbps": 500}],
    }
    assert body["custom_fields"] == {"k": "v"}
    # JSON round trip back to the same typed spec
    assert wire.spec_from_request(json.loads(json.dumps(body))) == spec


def test_spec_from_request_accepts_lower_camel_case_and_string_ints():
    spec = wire.spec_from_request(
        {
            "jobId": "j2",
            "initiator": "alice",
            "maxParallelism": "3",
            "customFields": {"a": "b"},
            "ignoredKey": 1,
            "tasks": [
                {
                    "taskId": "t",
                    "alias": "t",
                    "appImage": "img",
                    "taskInputConfig": "{}",
                    "priority": "5",
                    "parties": [
                        {
                            "domainId": "alice",
                            "bandwidthLimits": [{"destinationId": "bob", "limitKbps": "7"}],
                        }
                    ],
                    "scheduleConfig": {"taskTimeoutSeconds": 10},
                    "tolerable": False,
                }
            ],
        }
    )
    assert spec.job_id == "j2" and spec.max_parallelism == 3 and spec.custom_fields == {"a": "b"}
    task = spec.tasks[0]
    assert (task.task_id, task.app_image, task.priority, task.tolerable) == ("t", "img", 5, False)
    assert task.parties[0].bandwidth_limits == (BandwidthLimit("bob", 7),)
    assert task.schedule_config == ScheduleConfig(10, 0, 0)


@pytest.mark.parametrize(
    "body",
    [
        {"job_id": "j", "tasks": [{"task_input_config": {"not": "a string"}}]},
        {"job_id": "j", "tasks": [{"tolerable": "yes"}]},
        {"job_id": "j", "max_parallelism": "two"},
        {"job_id": 5},
        {"job_id": "j", "tasks": {}},
    ],
)
def test_spec_from_request_rejects_wrong_types(body):
    with pytest.raises(wire.SpecError):
        wire.spec_from_request(body)


def test_to_json_uses_kuscia_names_and_times():
    job = wire.parse_batch_job_status(seed_reply()["data"])[0]
    out = wire.to_json(job)
    assert "raw" not in out
    assert out["status"]["create_time"] == "2023-07-27T01:55:46Z"
    assert out["status"]["tasks"][0]["parties"][0]["endpoints"][0]["port_name"] == "spu"
    ev = wire.parse_watch_event(
        {"type": 1, "object": {"job_id": "j", "status": {"state": "Running"}}}
    )
    assert wire.to_json(ev)["type"] == "MODIFIED"
    json.dumps(out)


@pytest.mark.parametrize(
    "obj",
    [
        seed_reply()["data"]["jobs"][0],
        {"job_id": "j", "status": {"state": "Running", "tasks": [{"task_id": "t", "progress": 1}]}},
        {"job_id": "j", "status": None},
        {
            "job_id": "j",
            "status": {
                "state": "Failed",
                "end_time": "2025-04-16T12:42:55+02:00",
                "stage_status_list": [{"domain_id": "a", "state": "JobCreateStageFailed"}],
                "approve_status_list": [{"domain_id": "a", "state": "JobRejected"}],
                "tasks": [{"parties": [{"domain_id": "a", "endpoints": None}], "progress": 0.5}],
            },
        },
    ],
)
def test_fast_path_equals_careful_parser(obj):
    fast = wire._fast_job_status(obj)
    careful = wire.parse_status_detail(obj.get("status"))
    assert fast.status == careful and fast.job_id == obj["job_id"]


def test_bool_progress_is_not_a_number():
    with pytest.raises(KusciaMalformed) as err:
        wire.parse_job_status({"job_id": "a", "status": {"tasks": [{"progress": True}]}})
    assert "job.status.tasks[0].progress" in err.value.message
