"""The simulator as one P2P (autonomy) node of alice (kuscia-api.md §11.2), over real mTLS."""

from __future__ import annotations

import pytest

from simulator import ManualClock
from simulator.demo import example_job
from tests.fixtures.simulator import SimHTTP


@pytest.fixture
def node(kuscia_sim_factory):
    sim = kuscia_sim_factory(clock=ManualClock(), speed=1.0, mode="autonomy", local_domain="alice")
    return sim, SimHTTP(sim)


def job(job_id, **custom):
    req = example_job(job_id)
    req["custom_fields"] = {"sim-task-seconds": "10", **custom}
    return req


def status_of(http, job_id):
    return http.post("/api/v1/job/status/batchQuery", {"job_ids": [job_id]})["data"]["jobs"][0][
        "status"
    ]


def test_initiator_must_be_the_local_domain(node):
    _sim, http = node
    req = job("job-bob")
    req["initiator"] = "bob"
    reply = http.post("/api/v1/job/create", req)
    assert reply["status"] == {
        "code": 11100,
        "message": "request.initiator is bob, but initiator must be alice in P2P",
        "details": [],
    }


def test_job_passes_awaiting_approval_and_shows_only_local_party(node):
    sim, http = node
    http.post("/api/v1/job/create", job("job-p2p"))
    sim.world.advance(0.5)
    st = status_of(http, "job-p2p")
    assert st["state"] == "AwaitingApproval"
    assert st["approve_status_list"] == [{"domain_id": "alice", "state": "JobAccepted"}]
    sim.world.advance(1)
    st = status_of(http, "job-p2p")
    assert st["state"] == "Pending"
    assert {a["domain_id"] for a in st["approve_status_list"]} == {"alice", "bob"}
    sim.world.advance(2)
    psi = status_of(http, "job-p2p")["tasks"][0]
    assert psi["state"] == "Running"
    assert [p["domain_id"] for p in psi["parties"]] == ["alice"]
    sim.world.run_until_idle()
    st = status_of(http, "job-p2p")
    assert st["state"] == "Succeeded"
    assert {s["domain_id"] for s in st["stage_status_list"]} == {"alice", "bob"}


def test_any_failed_task_fails_a_p2p_job_even_tolerable(node):
    sim, http = node
    req = job("job-tol", **{"sim-fail-task": "job-psi", "sim-fail-party": "alice"})
    req["tasks"][0]["tolerable"] = True
    req["tasks"][1]["dependencies"] = []
    http.post("/api/v1/job/create", req)
    sim.world.run_until_idle()
    st = status_of(http, "job-tol")
    assert st["state"] == "Failed"
    assert st["err_msg"].startswith("Task[job-psi]-Party[alice]: ")


def test_stop_message_names_the_local_domain(node):
    sim, http = node
    http.post("/api/v1/job/create", job("job-stop"))
    sim.world.advance(5)
    http.post("/api/v1/job/stop", {"job_id": "job-stop"})
    assert status_of(http, "job-stop")["err_msg"] == "Party: alice execute the cmd: Stop."


def test_domains_and_data_as_seen_by_alice(node):
    _sim, http = node
    domains = http.post("/api/v1/domain/batchQuery", {"domain_ids": ["alice", "bob"]})["data"][
        "domains"
    ]
    assert [(d["domain_id"], d["role"]) for d in domains] == [("alice", ""), ("bob", "partner")]
    assert (
        http.post("/api/v1/domaindata/list", {"data": {"domain_id": "bob"}})["data"][
            "domaindata_list"
        ]
        == []
    )
    reply = http.post(
        "/api/v1/domaindata/query", {"data": {"domain_id": "bob", "domaindata_id": "bob-table"}}
    )
    assert reply["status"]["code"] == 11506


def test_demo_on_an_autonomy_node_has_only_local_initiated_jobs(kuscia_sim_factory):
    sim = kuscia_sim_factory(clock=ManualClock(), mode="autonomy", local_domain="alice", demo=True)
    assert sim.world.jobs and all(j.initiator == "alice" for j in sim.world.jobs.values())
