"""Job routes of the simulator over real mTLS: validation, error codes, state machines, actions.

State-machine tests use a ManualClock with speed 1, so every timestamp is exact: the job is
created at 08:00:00, validated at +0.5 s, Running at +1.5 s, a task created at time t starts at
t+1 and runs `sim-task-seconds` (10 s here).
"""

from __future__ import annotations

import copy
import re

import pytest

from simulator import ManualClock
from simulator.demo import example_job
from tests.fixtures.simulator import SimHTTP

TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
def manual(kuscia_sim_factory):
    sim = kuscia_sim_factory(clock=ManualClock(), speed=1.0)
    return sim, SimHTTP(sim)


def job(job_id="job-best-effort-linear", *, seconds="10", prefix="job", **custom):
    req = example_job(job_id, prefix=prefix)
    req["custom_fields"] = {"sim-task-seconds": seconds, **custom}
    return req


def simple_task(alias, deps=(), *, priority=0, tolerable=False, parties=("alice", "bob")):
    return {
        "task_id": alias,
        "alias": alias,
        "app_image": "secretflow-image",
        "parties": [{"domain_id": p} for p in parties],
        "dependencies": list(deps),
        "priority": priority,
        "tolerable": tolerable,
        "task_input_config": "{}",
    }


def status_of(http: SimHTTP, job_id: str) -> dict:
    reply = http.post("/api/v1/job/status/batchQuery", {"job_ids": [job_id]})
    assert reply["status"]["code"] == 0, reply
    return reply["data"]["jobs"][0]["status"]


def tasks_of(http, job_id):
    return {t["alias"]: t for t in status_of(http, job_id)["tasks"]}


def code_msg(reply):
    return reply["status"]["code"], reply["status"]["message"]


# ------------------------------------------------------------------ create and validation


def test_create_documented_example_answers_like_the_docs(sim_http):
    reply = sim_http.post("/api/v1/job/create", example_job())
    assert reply == {
        "status": {"code": 0, "message": "success", "details": []},
        "data": {"job_id": "job-best-effort-linear"},
    }


def test_create_existing_job_is_11201(sim_http):
    sim_http.post("/api/v1/job/create", example_job())
    reply = sim_http.post("/api/v1/job/create", example_job())
    assert code_msg(reply) == (
        11201,
        'kusciakuscia.secretflow "job-best-effort-linear" already exists',
    )
    assert reply["data"] is None and reply["status"]["details"] == []


@pytest.mark.parametrize(
    ("mutate", "code", "message"),
    [
        (lambda r: r.update(job_id=""), 11100, "job id can not be empty"),
        (
            lambda r: r.update(job_id="Job_1"),
            11100,
            'Field "job_id" is invalid, invalid value: "Job_1": regex used for validation is '
            '"^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$" ',
        ),
        (lambda r: r.update(job_id="a" * 64), 11100, None),
        (lambda r: r.update(tasks=[]), 11100, "tasks can not be empty"),
        (lambda r: r.update(initiator=""), 11100, "initiator can not be empty"),
        (lambda r: r.update(initiator="", tasks=[]), 11100, "initiator can not be empty"),
        (
            lambda r: r["tasks"][1].update(alias=""),
            11100,
            "task alias can not be empty on tasks[1]",
        ),
        (lambda r: r["tasks"][0].update(parties=[]), 11100, "parties can not be empty on tasks[0]"),
        (
            lambda r: r["tasks"][0]["parties"].append({"domain_id": ""}),
            11100,
            "party domain id can not be empty",
        ),
        (
            lambda r: r["tasks"][0]["parties"][0].update(resources={"cpu": "lots"}),
            11100,
            None,
        ),
        (
            lambda r: r["tasks"][0]["parties"][0].update(
                bandwidth_limits=[{"destination_id": "bob", "limit_kbps": 0}]
            ),
            11100,
            "bandwidth limit kbps can not be zero or negative",
        ),
        (
            lambda r: r["tasks"][0]["parties"][0].update(
                bandwidth_limits=[{"destination_id": "", "limit_kbps": "10"}]
            ),
            11100,
            "bandwidth limit destination id can not be empty",
        ),
        (lambda r: r.update(max_parallelism=129), 11201, None),
        (lambda r: r.update(tasks=[simple_task(f"t{i}") for i in range(129)]), 11201, None),
        (lambda r: r.update(custom_fields={"note": "Not a label value!"}), 11201, None),
        (lambda r: r.update(custom_fields={"note": "x" * 64}), 11201, None),
        # Go's "$" is the end of the text: a trailing newline is not a valid id or label
        (lambda r: r.update(job_id="job-nl\n"), 11100, None),
        (lambda r: r.update(custom_fields={"note": "v\n"}), 11201, None),
    ],
)
def test_create_validation(sim_http, mutate, code, message):
    req = example_job()
    mutate(req)
    reply = sim_http.post("/api/v1/job/create", req)
    assert reply["status"]["code"] == code, reply
    assert reply["data"] is None
    if message is not None:
        assert reply["status"]["message"] == message
    if message is None and code == 11100:
        assert reply["status"]["message"].startswith(
            ('Field "job_id" is invalid', "parse input cpu resource failed: quantities must match")
        )
    if code == 11201:
        assert reply["status"]["message"].startswith('KusciaJob.kuscia.secretflow "')
    if req["job_id"]:  # nothing was created
        reply = sim_http.post("/api/v1/job/query", {"job_id": req["job_id"]})
        assert reply["status"]["code"] == 11202


def test_max_parallelism_zero_becomes_one_and_128_is_accepted(sim_http):
    req = example_job("job-par-zero")
    req["max_parallelism"] = 0
    sim_http.post("/api/v1/job/create", req)
    assert (
        sim_http.post("/api/v1/job/query", {"job_id": "job-par-zero"})["data"]["max_parallelism"]
        == 1
    )
    req = example_job("job-par-max")
    req["max_parallelism"] = 128
    assert sim_http.post("/api/v1/job/create", req)["status"]["code"] == 0


def test_query_job_shape_resources_null_no_tolerable_schedule_defaults(sim_http):
    req = example_job("job-shape")
    req["tasks"][0]["parties"][0]["resources"] = {"cpu": "2", "memory": "4Gi"}
    req["tasks"][0]["parties"][0]["role"] = "receiver"
    req["tasks"][0]["parties"][0]["bandwidth_limits"] = [
        {"destination_id": "bob", "limit_kbps": 1000}
    ]
    req["tasks"][0]["tolerable"] = True
    req["tasks"][1]["schedule_config"] = {"task_timeout_seconds": 0}
    sim_http.post("/api/v1/job/create", req)
    data = sim_http.post("/api/v1/job/query", {"job_id": "job-shape"})["data"]
    assert set(data) == {
        "job_id",
        "initiator",
        "max_parallelism",
        "tasks",
        "status",
        "custom_fields",
    }
    psi, split = data["tasks"]
    assert set(psi) == {
        "app_image",
        "parties",
        "alias",
        "task_id",
        "dependencies",
        "task_input_config",
        "priority",
        "schedule_config",
    }
    assert psi["parties"][0] == {
        "domain_id": "alice",
        "role": "receiver",
        "resources": None,
        "bandwidth_limits": [{"destination_id": "bob", "limit_kbps": "1000"}],
    }
    assert psi["schedule_config"] is None
    assert split["schedule_config"] == {
        "task_timeout_seconds": 300,
        "resource_reserved_seconds": 30,
        "resource_reallocation_interval_seconds": 30,
    }
    assert split["dependencies"] == ["job-psi"]
    assert data["custom_fields"] == {}
    assert psi["task_input_config"] == req["tasks"][0]["task_input_config"]


def test_missing_task_id_is_generated(manual):
    sim, http = manual
    req = job("job-noid")
    req["tasks"][0]["task_id"] = ""
    req["tasks"][1]["task_id"] = ""
    http.post("/api/v1/job/create", req)
    assert tasks_of(http, "job-noid")["job-psi"]["task_id"] == ""
    sim.world.advance(0.5)
    ids = [t["task_id"] for t in tasks_of(http, "job-noid").values()]
    assert all(re.fullmatch(r"job-noid-[0-9a-f]{12}", i) for i in ids) and len(set(ids)) == 2
    data = http.post("/api/v1/job/query", {"job_id": "job-noid"})["data"]
    assert [t["task_id"] for t in data["tasks"]] == ids
    sim.world.run_until_idle()
    assert status_of(http, "job-noid")["state"] == "Succeeded"


# ------------------------------------------------------------------ lifecycle


def test_lifecycle_of_the_example_job_with_exact_times(manual):
    sim, http = manual
    http.post("/api/v1/job/create", job())
    st = status_of(http, "job-best-effort-linear")
    assert st["state"] == "Pending"
    assert st["create_time"] == "2026-01-01T08:00:00Z"
    assert st["start_time"] == "" and st["end_time"] == ""
    assert st["stage_status_list"] == [] and st["approve_status_list"] == []
    assert [t["state"] for t in st["tasks"]] == ["Pending", "Pending"]
    assert st["tasks"][0] == {
        "task_id": "job-psi",
        "state": "Pending",
        "err_msg": "",
        "create_time": "",
        "start_time": "",
        "end_time": "",
        "parties": [],
        "alias": "job-psi",
        "progress": 0,
    }

    sim.world.advance(0.5)
    st = status_of(http, "job-best-effort-linear")
    assert st["state"] == "Pending"
    assert st["start_time"] == "2026-01-01T08:00:00Z"
    assert sorted((s["domain_id"], s["state"]) for s in st["stage_status_list"]) == [
        ("alice", "JobCreateStageSucceeded"),
        ("bob", "JobCreateStageSucceeded"),
    ]
    assert sorted((s["domain_id"], s["state"]) for s in st["approve_status_list"]) == [
        ("alice", "JobAccepted"),
        ("bob", "JobAccepted"),
    ]

    sim.world.advance(1.0)  # 08:00:01.5: Running, job-psi created without pods
    st = status_of(http, "job-best-effort-linear")
    assert st["state"] == "Running"
    psi, split = st["tasks"]
    assert psi["state"] == "Pending" and psi["create_time"] == "2026-01-01T08:00:01Z"
    assert psi["parties"] == []
    assert split["create_time"] == ""

    sim.world.advance(1.0)  # 08:00:02.5: job-psi runs, parties appear with endpoints
    psi = tasks_of(http, "job-best-effort-linear")["job-psi"]
    assert psi["state"] == "Running" and psi["start_time"] == "2026-01-01T08:00:02Z"
    assert psi["progress"] == 0
    parties = {p["domain_id"]: p for p in psi["parties"]}
    assert set(parties) == {"alice", "bob"}
    assert all(p["state"] == "Running" and p["err_msg"] == "" for p in parties.values())
    endpoints = {(e["port_name"], e["scope"], e["endpoint"]) for e in parties["alice"]["endpoints"]}
    assert ("fed", "Cluster", "job-psi-0-fed.alice.svc") in endpoints
    assert ("spu", "Cluster", "job-psi-0-spu.alice.svc") in endpoints
    assert ("global", "Domain", "job-psi-0-global.alice.svc:8081") in endpoints

    seen = []
    for _ in range(5):
        sim.world.advance(2.0)
        seen.append(tasks_of(http, "job-best-effort-linear")["job-psi"]["progress"])
    assert seen == sorted(seen) and 0 < seen[0] < 1 and seen[-1] == 1

    psi, split = (
        tasks_of(http, "job-best-effort-linear")[a] for a in ("job-psi", "job-split")
    )  # 08:00:12.5
    assert psi["state"] == "Succeeded" and psi["end_time"] == "2026-01-01T08:00:12Z"
    assert {p["state"] for p in psi["parties"]} == {"Succeeded"}
    assert split["state"] == "Pending" and split["create_time"] == "2026-01-01T08:00:12Z"

    sim.world.advance(11.0)
    st = status_of(http, "job-best-effort-linear")
    assert st["state"] == "Succeeded"
    assert st["end_time"] == "2026-01-01T08:00:23Z"
    assert st["err_msg"] == ""
    assert [t["progress"] for t in st["tasks"]] == [1, 1]
    for t in st["tasks"]:
        for key in ("create_time", "start_time", "end_time"):
            assert TS_RE.match(t[key])


def test_max_parallelism_and_priority(manual):
    sim, http = manual
    req = {
        "job_id": "job-par",
        "initiator": "alice",
        "max_parallelism": 2,
        "tasks": [
            simple_task("p1", priority=1),
            simple_task("p5", priority=5),
            simple_task("p3", priority=3),
            simple_task("p10", priority=10),
        ],
        "custom_fields": {"sim-task-seconds": "10"},
    }
    http.post("/api/v1/job/create", req)
    sim.world.advance(1.5)
    created = {a for a, t in tasks_of(http, "job-par").items() if t["create_time"]}
    assert created == {"p10", "p5"}
    sim.world.advance(5)
    assert {a for a, t in tasks_of(http, "job-par").items() if t["state"] == "Running"} == {
        "p10",
        "p5",
    }
    sim.world.advance(6)  # both finished at 08:00:12.5, next two created
    tasks = tasks_of(http, "job-par")
    assert {a for a, t in tasks.items() if t["create_time"]} == {"p10", "p5", "p3", "p1"}
    assert tasks["p3"]["state"] == "Pending" and tasks["p1"]["state"] == "Pending"
    sim.world.run_until_idle()
    assert status_of(http, "job-par")["state"] == "Succeeded"


def test_dependencies_wait_for_success(manual):
    sim, http = manual
    req = {
        "job_id": "job-deps",
        "initiator": "alice",
        "max_parallelism": 5,
        "tasks": [simple_task("a"), simple_task("b", ["a"]), simple_task("c", ["a", "b"])],
        "custom_fields": {"sim-task-seconds": "10"},
    }
    http.post("/api/v1/job/create", req)
    sim.world.advance(1.5)
    t = tasks_of(http, "job-deps")
    assert t["a"]["create_time"] and not t["b"]["create_time"] and not t["c"]["create_time"]
    sim.world.advance(11)
    t = tasks_of(http, "job-deps")
    assert t["b"]["create_time"] and not t["c"]["create_time"]
    sim.world.run_until_idle()
    assert status_of(http, "job-deps")["state"] == "Succeeded"


@pytest.mark.parametrize(
    "tasks",
    [
        [simple_task("a"), simple_task("b", ["nope"])],  # unknown dependency
        [simple_task("a", ["b"]), simple_task("b", ["a"])],  # cycle
        [simple_task("a"), simple_task("b", ["job-a-alias-is-not-task-id"])],
    ],
)
def test_async_validation_fails_with_empty_err_msg(manual, tasks):
    sim, http = manual
    reply = http.post(
        "/api/v1/job/create",
        {"job_id": "job-bad", "initiator": "alice", "max_parallelism": 1, "tasks": tasks},
    )
    assert reply["status"]["code"] == 0
    assert status_of(http, "job-bad")["state"] == "Pending"
    sim.world.advance(1)
    st = status_of(http, "job-bad")
    assert st["state"] == "Failed" and st["err_msg"] == "" and st["end_time"]
    assert all(t["create_time"] == "" for t in st["tasks"])


def test_a_task_id_another_job_already_created_fails_the_job(manual):
    sim, http = manual
    first, second = job("job-first"), job("job-second")
    for req in (first, second):
        req["tasks"] = [simple_task("shared-task")]
        assert http.post("/api/v1/job/create", req)["status"]["code"] == 0
    sim.world.advance(3)
    assert status_of(http, "job-first")["state"] == "Running"
    st = status_of(http, "job-second")
    assert st["state"] == "Failed" and st["end_time"]
    assert st["err_msg"] == (
        "KusciaJob failed after 3x retry, last error: Failed to create task shared-task "
        "because of a task with the same name already exists"
    )


def test_unknown_initiator_fails_later(manual):
    sim, http = manual
    req = job("job-who")
    req["initiator"] = "mallory"
    assert http.post("/api/v1/job/create", req)["status"]["code"] == 0
    sim.world.advance(1)
    st = status_of(http, "job-who")
    assert (st["state"], st["err_msg"]) == ("Failed", "")


def test_dependencies_are_matched_by_alias(manual):
    sim, http = manual
    req = {
        "job_id": "job-alias",
        "initiator": "alice",
        "max_parallelism": 2,
        "tasks": [
            {**simple_task("first"), "task_id": "t-1"},
            {**simple_task("second", ["first"]), "task_id": "t-2"},
        ],
        "custom_fields": {"sim-task-seconds": "5"},
    }
    http.post("/api/v1/job/create", req)
    sim.world.run_until_idle()
    st = status_of(http, "job-alias")
    assert st["state"] == "Succeeded"
    assert [t["task_id"] for t in st["tasks"]] == ["t-1", "t-2"]


# ------------------------------------------------------------------ failures and tolerable


def test_fail_on_demand_gives_realistic_party_and_job_messages(manual):
    sim, http = manual
    http.post(
        "/api/v1/job/create",
        job("job-fail", **{"sim-fail-task": "job-psi", "sim-fail-party": "bob"}),
    )
    sim.world.run_until_idle()
    st = status_of(http, "job-fail")
    assert st["state"] == "Failed" and st["end_time"]
    psi, split = st["tasks"]
    assert psi["state"] == "Failed"
    assert "failed party[bob]" in psi["err_msg"]
    bob = next(p for p in psi["parties"] if p["domain_id"] == "bob")
    alice = next(p for p in psi["parties"] if p["domain_id"] == "alice")
    assert bob["state"] == "Failed" and bob["err_msg"].startswith("container[secretflow]")
    assert alice["err_msg"] == ""
    assert st["err_msg"] == f"Task[job-psi]-Party[bob]: {bob['err_msg']}"
    assert split["state"] == "Pending" and split["create_time"] == ""  # never created
    assert 0 < psi["progress"] < 1


def test_fail_reason_catalogue_and_in_process_message(manual):
    sim, http = manual
    http.post(
        "/api/v1/job/create",
        job("job-oom", **{"sim-fail-task": "job-split", "sim-fail-reason": "oom"}),
    )
    http.post("/api/v1/job/create", job("job-custom", prefix="custom"))
    sim.world.fail_task("job-custom", "custom-psi", party="alice", message="disk full on alice")
    sim.world.run_until_idle()
    oom = status_of(http, "job-oom")
    assert oom["state"] == "Failed"
    assert "OOMKilled" in oom["err_msg"] and "Party[bob]" in oom["err_msg"]
    assert oom["tasks"][0]["state"] == "Succeeded"
    custom = status_of(http, "job-custom")
    assert custom["err_msg"] == "Task[custom-psi]-Party[alice]: disk full on alice"


def test_tolerable_failure_is_ignored(manual):
    sim, http = manual
    req = {
        "job_id": "job-tol",
        "initiator": "alice",
        "max_parallelism": 2,
        "tasks": [simple_task("main"), simple_task("extra", tolerable=True)],
        "custom_fields": {"sim-task-seconds": "5", "sim-fail-task": "extra"},
    }
    http.post("/api/v1/job/create", req)
    sim.world.run_until_idle()
    st = status_of(http, "job-tol")
    assert st["state"] == "Succeeded"
    assert {t["alias"]: t["state"] for t in st["tasks"]} == {"main": "Succeeded", "extra": "Failed"}


def test_critical_task_after_failed_tolerable_keeps_job_running(manual):
    sim, http = manual
    req = {
        "job_id": "job-stuck",
        "initiator": "alice",
        "max_parallelism": 2,
        "tasks": [simple_task("tol", tolerable=True), simple_task("crit", ["tol"])],
        "custom_fields": {"sim-task-seconds": "5", "sim-fail-task": "tol"},
    }
    http.post("/api/v1/job/create", req)
    sim.world.run_until_idle()
    sim.world.advance(600)
    st = status_of(http, "job-stuck")
    assert st["state"] == "Running" and st["end_time"] == ""


def test_critical_failure_waits_for_independent_branch(manual):
    sim, http = manual
    req = {
        "job_id": "job-branch",
        "initiator": "alice",
        "max_parallelism": 2,
        "tasks": [simple_task("bad"), {**simple_task("slow"), "priority": 0}],
        "custom_fields": {"sim-task-seconds": "20", "sim-fail-task": "bad"},
    }
    http.post("/api/v1/job/create", req)
    sim.world.advance(2.5 + 12.5)  # bad failed at 0.6*20 = 12 s after start; slow still runs
    st = status_of(http, "job-branch")
    assert {t["alias"]: t["state"] for t in st["tasks"]} == {"bad": "Failed", "slow": "Running"}
    assert st["state"] == "Running"
    sim.world.run_until_idle()
    st = status_of(http, "job-branch")
    assert st["state"] == "Failed"
    assert st["tasks"][1]["state"] == "Succeeded"


# ------------------------------------------------------------------ batchQuery


def test_batch_query_order_duplicates_and_whole_batch_failure(manual):
    _sim, http = manual
    http.post("/api/v1/job/create", job("job-a"))
    http.post("/api/v1/job/create", job("job-b"))
    reply = http.post("/api/v1/job/status/batchQuery", {"job_ids": ["job-b", "job-a", "job-b"]})
    assert [j["job_id"] for j in reply["data"]["jobs"]] == ["job-b", "job-a", "job-b"]
    reply = http.post("/api/v1/job/status/batchQuery", {"job_ids": ["job-a", "job-gone"]})
    assert reply == {
        "status": {
            "code": 11203,
            "message": 'kusciakuscia.secretflow "job-gone" not found',
            "details": [],
        },
        "data": None,
    }
    assert code_msg(http.post("/api/v1/job/status/batchQuery", {"job_ids": []})) == (
        11100,
        "job ids can not be empty",
    )
    assert code_msg(http.post("/api/v1/job/status/batchQuery", {"job_ids": ["job-a", ""]})) == (
        11100,
        "job id can not be empty",
    )


# ------------------------------------------------------------------ actions


@pytest.mark.parametrize(
    ("route", "code"),
    [
        ("/api/v1/job/query", 11202),
        ("/api/v1/job/delete", 11204),
        ("/api/v1/job/stop", 11205),
        ("/api/v1/job/suspend", 11207),
        ("/api/v1/job/restart", 11208),
        ("/api/v1/job/cancel", 11209),
    ],
)
def test_not_found_codes_per_route(sim_http, route, code):
    reply = sim_http.post(route, {"job_id": "job-nope", "reason": "x"})
    assert reply == {
        "status": {
            "code": code,
            "message": 'kusciakuscia.secretflow "job-nope" not found',
            "details": [],
        },
        "data": None,
    }
    assert code_msg(sim_http.post(route, {"job_id": ""})) == (11100, "job id can not be empty")


def test_approve_codes(sim_http):
    reply = sim_http.post("/api/v1/job/approve", {"job_id": "job-nope", "result": 1})
    assert code_msg(reply)[0] == 11206
    reply = sim_http.post("/api/v1/job/approve", {"job_id": "job-nope", "result": 0})
    assert code_msg(reply) == (11100, "request result must be legal")
    reply = sim_http.post("/api/v1/job/approve", {"job_id": "", "result": 1})
    assert code_msg(reply) == (11100, "job id can not be empty")


def test_stop_running_job(manual):
    sim, http = manual
    http.post("/api/v1/job/create", job("job-stop"))
    sim.world.advance(5)
    reply = http.post("/api/v1/job/stop", {"job_id": "job-stop", "reason": "enough"})
    assert reply == {
        "status": {"code": 0, "message": "success", "details": []},
        "data": {"job_id": "job-stop"},
    }
    st = status_of(http, "job-stop")
    assert st["state"] == "Failed"
    assert st["err_msg"] == "Party:  execute the cmd: Stop."
    assert st["end_time"] == "2026-01-01T08:00:05Z"
    psi, split = st["tasks"]
    assert psi["state"] == "Failed" and psi["err_msg"] == "Job was stopped"
    assert split["state"] == "Pending"
    assert {s["state"] for s in st["stage_status_list"]} == {"JobStopStageSucceeded"}
    sim.world.advance(100)
    assert status_of(http, "job-stop")["state"] == "Failed"  # nothing runs any more


def test_stop_and_cancel_on_finished_jobs_succeed_without_effect(manual):
    sim, http = manual
    http.post("/api/v1/job/create", job("job-done", seconds="1"))
    sim.world.run_until_idle()
    before = status_of(http, "job-done")
    assert before["state"] == "Succeeded"
    assert http.post("/api/v1/job/stop", {"job_id": "job-done"})["status"]["code"] == 0
    assert http.post("/api/v1/job/cancel", {"job_id": "job-done"})["status"]["code"] == 0
    assert status_of(http, "job-done") == before


def test_cancel(manual):
    sim, http = manual
    http.post("/api/v1/job/create", job("job-cancel"))
    sim.world.advance(5)
    assert http.post("/api/v1/job/cancel", {"job_id": "job-cancel"})["status"]["code"] == 0
    st = status_of(http, "job-cancel")
    assert st["state"] == "Cancelled"
    assert st["err_msg"] == "Party:  execute the cmd: Cancel."
    assert st["end_time"]
    assert {s["state"] for s in st["stage_status_list"]} == {"JobCancelStageSucceeded"}
    reply = http.post("/api/v1/job/restart", {"job_id": "job-cancel"})
    assert code_msg(reply) == (
        11211,
        "job: job-cancel current status is Cancelled can not be restart.",
    )


def test_suspend_and_restart(manual):
    sim, http = manual
    http.post("/api/v1/job/create", job("job-sus"))
    # the message names the stored phase: "" before the controller saw the job
    reply = http.post("/api/v1/job/suspend", {"job_id": "job-sus"})
    assert code_msg(reply) == (11210, "job: job-sus current status is  can not be suspend.")
    sim.world.advance(0.5)
    reply = http.post("/api/v1/job/suspend", {"job_id": "job-sus"})
    assert code_msg(reply) == (11210, "job: job-sus current status is Pending can not be suspend.")
    sim.world.advance(13.5)  # job-psi done at 12.5, job-split created, starts at 13.5
    assert http.post("/api/v1/job/suspend", {"job_id": "job-sus"})["status"]["code"] == 0
    st = status_of(http, "job-sus")
    assert st["state"] == "Suspended" and st["end_time"] == "" and st["err_msg"] == ""
    assert [t["state"] for t in st["tasks"]] == ["Succeeded", "Failed"]
    assert {s["state"] for s in st["stage_status_list"]} == {"JobSuspendStageSucceeded"}
    psi_created = st["tasks"][0]["create_time"]
    sim.world.advance(50)
    assert status_of(http, "job-sus")["state"] == "Suspended"

    reply = http.post("/api/v1/job/restart", {"job_id": "job-sus", "reason": "go on"})
    assert reply["status"]["code"] == 0
    st = status_of(http, "job-sus")
    assert st["state"] == "Running" and st["end_time"] == ""
    assert st["err_msg"] == "This job is restarted by "
    assert {s["state"] for s in st["stage_status_list"]} == {"JobRestartStageSucceeded"}
    assert st["tasks"][1]["state"] == "Pending" and st["tasks"][1]["create_time"] == ""
    sim.world.advance(1)
    assert {s["state"] for s in status_of(http, "job-sus")["stage_status_list"]} == {
        "JobStartStageSucceeded"
    }
    reply = http.post("/api/v1/job/restart", {"job_id": "job-sus"})
    assert code_msg(reply) == (11211, "job: job-sus current status is Running can not be restart.")
    sim.world.run_until_idle()
    st = status_of(http, "job-sus")
    assert st["state"] == "Succeeded"
    assert st["tasks"][0]["create_time"] == psi_created  # succeeded tasks are not re-run


def test_restart_failed_job_reruns_failed_tasks(manual):
    sim, http = manual
    http.post(
        "/api/v1/job/create",
        job("job-retry", **{"sim-fail-task": "job-split", "sim-fail-times": "1"}),
    )
    sim.world.run_until_idle()
    assert status_of(http, "job-retry")["state"] == "Failed"
    assert http.post("/api/v1/job/restart", {"job_id": "job-retry"})["status"]["code"] == 0
    sim.world.run_until_idle()
    st = status_of(http, "job-retry")
    assert st["state"] == "Succeeded" and st["err_msg"] == ""
    assert [t["task_id"] for t in st["tasks"]] == ["job-psi", "job-split"]


def test_restart_of_validation_failure_does_nothing(manual):
    sim, http = manual
    req = {
        "job_id": "job-invalid",
        "initiator": "alice",
        "tasks": [simple_task("a", ["zzz"])],
    }
    http.post("/api/v1/job/create", req)
    sim.world.advance(1)
    before = status_of(http, "job-invalid")
    assert http.post("/api/v1/job/restart", {"job_id": "job-invalid"})["status"]["code"] == 0
    sim.world.advance(10)
    assert status_of(http, "job-invalid") == before


def test_approval_accept_and_reject(manual):
    sim, http = manual
    http.post("/api/v1/job/create", job("job-appr", **{"sim-approval": "required"}))
    http.post("/api/v1/job/create", job("job-rej", **{"sim-approval": "required"}))
    sim.world.advance(1)
    st = status_of(http, "job-appr")
    assert st["state"] == "AwaitingApproval"
    assert st["approve_status_list"] == [{"domain_id": "alice", "state": "JobAccepted"}]
    reply = http.post(
        "/api/v1/job/approve", {"job_id": "job-appr", "result": "APPROVE_RESULT_ACCEPT"}
    )
    assert reply == {
        "status": {"code": 0, "message": "success", "details": []},
        "data": {"job_id": "job-appr"},
    }
    st = status_of(http, "job-appr")
    assert st["state"] == "Pending"
    assert sorted((a["domain_id"], a["state"]) for a in st["approve_status_list"]) == [
        ("alice", "JobAccepted"),
        ("bob", "JobAccepted"),
    ]
    sim.world.advance(1)
    assert status_of(http, "job-appr")["state"] == "Running"

    assert (
        http.post("/api/v1/job/approve", {"jobId": "job-rej", "result": 2})["status"]["code"] == 0
    )
    st = status_of(http, "job-rej")
    assert st["state"] == "ApprovalReject" and st["end_time"]
    assert {"domain_id": "bob", "state": "JobRejected"} in st["approve_status_list"]


def test_delete_then_query_is_11202_and_batch_fails(manual):
    sim, http = manual
    http.post("/api/v1/job/create", job("job-del"))
    http.post("/api/v1/job/create", job("job-keep"))
    sim.world.advance(5)
    reply = http.post("/api/v1/job/delete", {"job_id": "job-del"})
    assert reply == {
        "status": {"code": 0, "message": "success", "details": []},
        "data": {"job_id": "job-del"},
    }
    assert code_msg(http.post("/api/v1/job/query", {"job_id": "job-del"})) == (
        11202,
        'kusciakuscia.secretflow "job-del" not found',
    )
    reply = http.post("/api/v1/job/status/batchQuery", {"job_ids": ["job-keep", "job-del"]})
    assert reply["status"]["code"] == 11203 and reply["data"] is None
    assert code_msg(http.post("/api/v1/job/delete", {"job_id": "job-del"}))[0] == 11204
    # the id can be used again, and the old job's pending steps (its job-psi would have ended
    # at 12.5) do not touch the new one (job-psi runs 8.0-18.0, job-split 19.0-29.0)
    sim.world.advance(0.5)
    assert http.post("/api/v1/job/create", job("job-del"))["status"]["code"] == 0
    sim.world.advance(7.5)  # t = 13
    psi = status_of(http, "job-del")["tasks"][0]
    assert psi["state"] == "Running" and psi["start_time"] == "2026-01-01T08:00:08Z"
    sim.world.run_until_idle()
    assert status_of(http, "job-del")["end_time"] == "2026-01-01T08:00:29Z"


def test_world_create_job_is_the_same_path_as_http(manual):
    sim, http = manual
    req = copy.deepcopy(job("job-inproc"))
    assert sim.world.create_job(req) == "job-inproc"
    assert http.post("/api/v1/job/query", {"job_id": "job-inproc"})["data"]["initiator"] == "alice"
    with pytest.raises(Exception) as err:
        sim.world.create_job(req)
    assert getattr(err.value, "code", None) == 11201
    sim.world.delete_job("job-inproc")
    assert http.post("/api/v1/job/query", {"job_id": "job-inproc"})["status"]["code"] == 11202


# ------------------------------------------------------------------ endpoints naming


def test_endpoint_names_with_role_and_long_or_numeric_ids(manual):
    sim, http = manual
    long_id = "t" + "x" * 60
    req = {
        "job_id": "job-names",
        "initiator": "alice",
        "max_parallelism": 3,
        "tasks": [
            {**simple_task("r"), "parties": [{"domain_id": "alice", "role": "server"}]},
            {**simple_task("n"), "task_id": "1st-task"},
            {**simple_task("l"), "task_id": long_id},
        ],
        "custom_fields": {"sim-task-seconds": "10"},
    }
    http.post("/api/v1/job/create", req)
    sim.world.advance(3)
    tasks = tasks_of(http, "job-names")

    def names(alias):
        return {e["port_name"]: e["endpoint"] for e in tasks[alias]["parties"][0]["endpoints"]}

    assert names("r")["fed"] == "r-server-0-fed.alice.svc"
    assert names("n")["fed"] == "svc-1st-task-0-fed.alice.svc"
    long_fed = names("l")["fed"]
    host = long_fed.split(".")[0]
    assert len(host) <= 63 and host.startswith("svc-") and host.endswith("-fed")
    assert re.search(r"-[0-9a-f]{16}-fed$", host)
    assert names("l")["global"].endswith(".alice.svc:8081")


def test_long_tasks_report_progress_at_least_every_30_seconds(manual):
    sim, http = manual
    http.post("/api/v1/job/create", job("job-long", seconds="1000"))
    sim.world.advance(2.5)  # job-psi starts
    sim.world.advance(29.9)
    assert tasks_of(http, "job-long")["job-psi"]["progress"] == 0
    sim.world.advance(0.2)
    assert tasks_of(http, "job-long")["job-psi"]["progress"] == 0.03
    sim.world.advance(75)
    assert tasks_of(http, "job-long")["job-psi"]["progress"] == 0.09


def test_party_in_unknown_domain_fails_the_create_stage(manual):
    sim, http = manual
    req = job("job-nodomain")
    req["tasks"][1]["parties"].append({"domain_id": "dave"})
    assert http.post("/api/v1/job/create", req)["status"]["code"] == 0
    sim.world.advance(1)
    st = status_of(http, "job-nodomain")
    assert st["state"] == "Failed" and st["err_msg"] == ""
    assert {(s["domain_id"], s["state"]) for s in st["stage_status_list"]} == {
        ("alice", "JobCreateStageSucceeded"),
        ("bob", "JobCreateStageSucceeded"),
        ("dave", "JobCreateStageFailed"),
    }


def test_stop_while_awaiting_approval(manual):
    sim, http = manual
    http.post("/api/v1/job/create", job("job-wait", **{"sim-approval": "required"}))
    sim.world.advance(1)
    assert status_of(http, "job-wait")["state"] == "AwaitingApproval"
    http.post("/api/v1/job/stop", {"job_id": "job-wait"})
    st = status_of(http, "job-wait")
    assert st["state"] == "Failed" and st["err_msg"] == "Party:  execute the cmd: Stop."
    reply = http.post("/api/v1/job/approve", {"job_id": "job-wait", "result": 1})
    assert reply["status"]["code"] == 0
    assert status_of(http, "job-wait")["state"] == "Failed"  # approval has no effect any more
