"""Domains, nodes and routes of the simulator over real mTLS (kuscia-network-api.md §1, §2, §8):
shapes, codes and messages, the network controls and how a job fails on a broken route.

ManualClock tests start at 2026-01-01 08:00:00 UTC with speed 1.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from simulator import ManualClock, cli
from simulator.demo import example_job
from tests.fixtures.simulator import SimHTTP

SUCCESS = {"code": 0, "message": "success", "details": []}
BROKEN = "cdr-check alice to bob failed with DestinationUnreachable"


def code_msg(reply):
    return reply["status"]["code"], reply["status"]["message"]


@pytest.fixture
def manual(kuscia_sim_factory):
    sim = kuscia_sim_factory(clock=ManualClock(), speed=1.0)
    return sim, SimHTTP(sim)


def statuses(http, *pairs):
    keys = [{"source": s, "destination": d} for s, d in pairs]
    return http.post("/api/v1/route/status/batchQuery", {"route_keys": keys})


def job_status(http, job_id):
    reply = http.post("/api/v1/job/status/batchQuery", {"job_ids": [job_id]})
    return reply["data"]["jobs"][0]["status"]


def short_job(job_id="job-net", prefix="job"):
    req = example_job(job_id, prefix=prefix)
    req["custom_fields"] = {"sim-task-seconds": "10"}
    return req


# ------------------------------------------------------------------ domains


def test_query_domain_has_every_field_and_the_secrets_kuscia_returns(manual):
    _sim, http = manual
    reply = http.post("/api/v1/domain/query", {"domain_id": "alice"})
    assert reply["status"] == SUCCESS
    data = reply["data"]
    assert list(data) == [
        "domain_id",
        "role",
        "cert",
        "node_statuses",
        "deploy_token_statuses",
        "annotations",
        "auth_center",
        "master_domain_id",
    ]
    assert (data["domain_id"], data["role"], data["master_domain_id"]) == ("alice", "", "alice")
    assert data["annotations"] == {}
    assert data["auth_center"] == {
        "authentication_type": "Token",
        "token_gen_method": "UID-RSA-GEN",
    }
    assert data["node_statuses"] == [
        {
            "name": "root-kuscia-lite-alice",
            "status": "Ready",
            "version": "v1.1.0b0",
            "last_heartbeat_time": "2026-01-01T08:00:00Z",
            "last_transition_time": "2026-01-01T08:00:00Z",
        }
    ]
    tokens = data["deploy_token_statuses"]
    assert [t["state"] for t in tokens] == ["used", "unused"]
    assert all(len(t["token"]) == 32 and t["token"].isalnum() for t in tokens)
    cert = x509.load_pem_x509_certificate(base64.b64decode(data["cert"]))
    assert cert.subject.rfc4514_string() == "CN=alice"
    assert cert.not_valid_after_utc - dt.datetime.now(dt.UTC) > dt.timedelta(days=3000)


def test_heartbeat_and_node_controls(manual):
    sim, http = manual
    sim.world.advance(25)
    node = http.post("/api/v1/domain/query", {"domain_id": "bob"})["data"]["node_statuses"][0]
    assert node["last_heartbeat_time"] == "2026-01-01T08:00:20Z"  # every 10 s
    assert node["last_transition_time"] == "2026-01-01T08:00:00Z"
    sim.world.set_node_status("bob", "NotReady")
    sim.world.advance(30)
    reply = http.post("/api/v1/domain/batchQuery", {"domain_ids": ["alice", "bob"]})
    alice, bob = (d["node_statuses"][0] for d in reply["data"]["domains"])
    assert alice["status"] == "Ready" and bob["status"] == "NotReady"
    assert bob["last_transition_time"] == "2026-01-01T08:00:25Z"
    assert bob["last_heartbeat_time"] == "2026-01-01T07:59:45Z"  # 40 s grace before
    sim.world.set_node_status("bob", "Ready")
    bob = http.post("/api/v1/domain/query", {"domain_id": "bob"})["data"]["node_statuses"][0]
    assert (bob["status"], bob["last_transition_time"]) == ("Ready", "2026-01-01T08:00:55Z")
    with pytest.raises(ValueError):
        sim.world.set_node_status("bob", "Unknown")


def test_batch_query_domains_in_order_and_whole_batch_failure(manual):
    _sim, http = manual
    reply = http.post("/api/v1/domain/batchQuery", {"domain_ids": ["carol", "alice", "bob"]})
    domains = reply["data"]["domains"]
    assert [d["domain_id"] for d in domains] == ["carol", "alice", "bob"]
    assert [list(d) for d in domains] == [["domain_id", "role", "cert", "node_statuses"]] * 3
    reply = http.post("/api/v1/domain/batchQuery", {"domainIds": ["alice", "mallory"]})
    assert reply == {
        "status": {
            "code": 11305,
            "message": 'domains.kuscia.secretflow "mallory" not found',
            "details": [],
        },
        "data": None,
    }
    reply = http.post("/api/v1/domain/batchQuery", {"domain_ids": []})
    assert code_msg(reply) == (11100, "domain ids can not be empty")
    reply = http.post("/api/v1/domain/batchQuery", {"domain_ids": ["alice", ""]})
    assert code_msg(reply) == (11100, "domain id can not be empty on index 1")
    reply = http.post("/api/v1/domain/batchQuery", {"domain_ids": ["master", "bob"]})
    assert [d["domain_id"] for d in reply["data"]["domains"]] == ["master", "bob"]


def test_domain_errors_and_master(manual):
    sim, http = manual
    reply = http.post("/api/v1/domain/query", {"domain_id": "mallory"})
    assert reply == {
        "status": {
            "code": 11305,
            "message": 'domains.kuscia.secretflow "mallory" not found',
            "details": [],
        },
        "data": None,
    }
    assert code_msg(http.post("/api/v1/domain/query", {})) == (11100, "domain id can not be empty")
    data = http.post("/api/v1/domain/query", {"domain_id": "master"})["data"]
    assert base64.b64decode(data["cert"]) == (sim.cert_dir / "ca.crt").read_bytes()
    assert data["node_statuses"] == [] and data["deploy_token_statuses"] == []
    system = http.post("/api/v1/domain/query", {"domain_id": "kuscia-system"})["data"]
    assert system["node_statuses"] == [] and system["deploy_token_statuses"] == []


def test_partner_domains_on_an_autonomy_node(kuscia_sim_factory):
    sim = kuscia_sim_factory(clock=ManualClock(), mode="autonomy", local_domain="alice")
    http = SimHTTP(sim)
    alice = http.post("/api/v1/domain/query", {"domain_id": "alice"})["data"]
    assert alice["node_statuses"][0]["name"] == "root-kuscia-autonomy-alice"
    bob = http.post("/api/v1/domain/query", {"domain_id": "bob"})["data"]
    assert (bob["role"], bob["node_statuses"], bob["deploy_token_statuses"]) == ("partner", [], [])
    # each node holds only its own outbound routes
    assert statuses(http, ("alice", "bob"))["status"]["code"] == 0
    reply = statuses(http, ("bob", "alice"))
    assert code_msg(reply) == (
        11404,
        'clusterdomainroutes.kuscia.secretflow "bob-alice" not found',
    )


def test_demo_network(kuscia_sim_factory):
    sim = kuscia_sim_factory(clock=ManualClock(), speed=1.0, demo=True, shuffle=True)
    http = SimHTTP(sim)

    def dave():
        return http.post("/api/v1/domain/query", {"domain_id": "dave"})["data"]

    orders = set()
    for _ in range(30):  # node order is not stable between calls, like Kuscia's
        orders.add(tuple(n["name"] for n in dave()["node_statuses"]))
    assert orders == {
        ("root-kuscia-lite-dave", "root-kuscia-lite-dave-2"),
        ("root-kuscia-lite-dave-2", "root-kuscia-lite-dave"),
    }
    cert = x509.load_pem_x509_certificate(base64.b64decode(dave()["cert"]))
    left = cert.not_valid_after_utc - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=19) < left <= dt.timedelta(days=20)

    def dave2():
        return next(n for n in dave()["node_statuses"] if n["name"].endswith("-2"))

    assert dave2()["status"] == "Ready"
    sim.world.advance(361)  # goes NotReady on its own after 6 min ...
    assert (dave2()["status"], dave2()["last_transition_time"]) == (
        "NotReady",
        "2026-01-01T08:06:00Z",
    )
    route = statuses(http, ("alice", "dave"))["data"]["routes"][0]["status"]
    assert route == {
        "status": "Failed",
        "reason": "LastUpdateAt=2026-01-01 08:06:00 +0000 UTC, Message=HeartBeatTimeout, "
        "Reason:HeartBeatTimeout",
    }
    sim.world.advance(120)  # ... and comes back 2 min later
    assert (dave2()["status"], dave2()["last_transition_time"]) == (
        "Ready",
        "2026-01-01T08:08:00Z",
    )
    assert statuses(http, ("dave", "bob"))["status"]["code"] == 0
    assert statuses(http, ("carol", "dave"))["status"]["code"] == 11404


# ------------------------------------------------------------------ routes


def test_route_status_batch_query_in_order_with_kuscias_reasons(manual):
    sim, http = manual
    sim.world.advance(5)
    sim.world.set_route_status("bob", "carol", "Failed", "DestinationUnreachable")
    sim.world.set_route_status("carol", "bob", "Failed", "DestinationIsNotAuthrized")
    sim.world.set_route_status("carol", "alice", "Failed")  # no condition yet
    reply = statuses(http, ("bob", "carol"), ("alice", "bob"), ("carol", "bob"), ("carol", "alice"))
    assert reply["status"] == SUCCESS
    routes = reply["data"]["routes"]
    assert routes[:2] == [
        {
            "name": "bob-carol",
            "destination": "carol",
            "source": "bob",
            "status": {
                "status": "Failed",
                "reason": "LastUpdateAt=2026-01-01 08:00:05 +0000 UTC, "
                "Message=DestinationUnreachable, Reason:DestinationUnreachable",
            },
        },
        {
            "name": "alice-bob",
            "destination": "bob",
            "source": "alice",
            "status": {"status": "Succeeded", "reason": ""},
        },
    ]
    assert (
        "Message=TokenNotGenerate, Reason:DestinationIsNotAuthrized"
        in (routes[2]["status"]["reason"])
    )
    assert routes[3]["status"] == {"status": "Failed", "reason": ""}
    sim.world.set_route_status("bob", "carol", "Succeeded")
    assert statuses(http, ("bob", "carol"))["data"]["routes"][0]["status"]["status"] == (
        "Succeeded"
    )
    with pytest.raises(ValueError):
        sim.world.set_route_status("bob", "carol", "Broken")


def test_route_status_errors(manual):
    _sim, http = manual
    reply = statuses(http, ("alice", "bob"), ("alice", "mallory"))
    assert reply == {
        "status": {
            "code": 11404,
            "message": 'clusterdomainroutes.kuscia.secretflow "alice-mallory" not found',
            "details": [],
        },
        "data": None,
    }
    reply = http.post("/api/v1/route/status/batchQuery", {"route_keys": []})
    assert code_msg(reply) == (11100, "DomainRoute keys can not be empty")
    reply = http.post("/api/v1/route/status/batchQuery", {"routeKeys": [{"source": "alice"}]})
    assert code_msg(reply) == (11100, "destination can not be empty")
    reply = http.post("/api/v1/route/status/batchQuery", {"route_keys": [{"destination": "b"}]})
    assert code_msg(reply) == (11100, "source can not be empty")
    # routes to the master exist in centralized mode
    assert statuses(http, ("alice", "kuscia-system"))["status"]["code"] == 0


def test_route_query_with_token_authentication(manual):
    _sim, http = manual
    status, _, raw = http.raw("/api/v1/route/query", {"source": "alice", "destination": "bob"})
    assert status == 200 and b'"isTLS":false' in raw and b'"rolling_update_period":"0"' in raw
    reply = json.loads(raw)
    assert reply["status"] == SUCCESS
    data = reply["data"]
    assert list(data) == [
        "name",
        "authentication_type",
        "destination",
        "endpoint",
        "source",
        "token_config",
        "mtls_config",
        "status",
        "transit",
        "body_encryption",
    ]
    assert data["name"] == "alice-bob" and data["authentication_type"] == "Token"
    assert data["endpoint"] == {
        "host": "root-kuscia-lite-bob",
        "ports": [
            {"name": "", "port": 1080, "protocol": "HTTP", "isTLS": False, "path_prefix": ""}
        ],
    }
    token = data["token_config"]
    assert token["token_gen_method"] == "RSA-GEN"
    for key in ("source_public_key", "destination_public_key"):
        pem = base64.b64decode(token[key])
        assert pem.startswith(b"-----BEGIN RSA PUBLIC KEY-----")
    assert token["source_public_key"] != token["destination_public_key"]
    assert (data["mtls_config"], data["transit"], data["body_encryption"]) == (None, None, None)
    assert data["status"] == {"status": "Succeeded", "reason": ""}


def test_route_query_with_mtls_carries_the_private_key(manual):
    _sim, http = manual
    data = http.post("/api/v1/route/query", {"source": "alice", "destination": "carol"})["data"]
    assert data["authentication_type"] == "MTLS" and data["token_config"] is None
    assert data["endpoint"]["ports"][0]["isTLS"] is True
    mtls = data["mtls_config"]
    key = serialization.load_pem_private_key(
        base64.b64decode(mtls["source_client_private_key"]), password=None
    )
    cert = x509.load_pem_x509_certificate(base64.b64decode(mtls["source_client_cert"]))
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    ca = x509.load_pem_x509_certificate(base64.b64decode(mtls["tls_ca"]))
    assert ca.subject.rfc4514_string() == "CN=carol"


def test_route_query_errors(manual):
    _sim, http = manual
    reply = http.post("/api/v1/route/query", {"source": "alice", "destination": "mallory"})
    assert code_msg(reply) == (
        11404,
        'clusterdomainroutes.kuscia.secretflow "alice-mallory" not found',
    )
    assert reply["data"] is None
    assert code_msg(http.post("/api/v1/route/query", {"destination": "bob"})) == (
        11100,
        "source can not be empty",
    )


# ------------------------------------------------------------------ jobs on a broken network


def test_a_broken_route_fails_the_task_at_creation(manual):
    sim, http = manual
    sim.world.set_route_status("alice", "bob", "Failed", "DestinationUnreachable")
    http.post("/api/v1/job/create", short_job())
    sim.world.advance(3)
    st = job_status(http, "job-net")
    assert st["state"] == "Failed" and st["err_msg"] == ""
    psi, split = st["tasks"]
    assert psi["state"] == "Failed" and psi["parties"] == []
    assert psi["err_msg"] == f"KusciaTask failed after 3x retry, last error: {BROKEN}"
    assert split["state"] == "Pending" and split["create_time"] == ""
    # fixed: a restart runs through
    sim.world.set_route_status("alice", "bob", "Succeeded")
    assert http.post("/api/v1/job/restart", {"job_id": "job-net"})["status"]["code"] == 0
    sim.world.run_until_idle()
    assert job_status(http, "job-net")["state"] == "Succeeded"


def test_a_node_not_ready_is_reported_before_the_route(manual):
    sim, http = manual
    sim.world.set_node_status("bob", "NotReady")
    http.post("/api/v1/job/create", short_job("job-node"))
    sim.world.advance(3)
    psi = job_status(http, "job-node")["tasks"][0]
    assert psi["err_msg"] == (
        "KusciaTask failed after 3x retry, last error: resource-check no node status "
        "available for domain bob"
    )
    sim.world.set_route_status("alice", "bob", "Failed", "DestinationUnreachable")
    http.post("/api/v1/job/create", short_job("job-both", prefix="both"))
    sim.world.advance(3)
    psi = job_status(http, "job-both")["tasks"][0]
    assert psi["err_msg"].endswith(
        "last error: resource-check no node status available for domain bob; " + BROKEN
    )


def test_a_missing_route_is_skipped(manual):
    sim, http = manual
    sim.world.disconnect("alice", "bob")
    http.post("/api/v1/job/create", short_job())
    sim.world.run_until_idle()
    assert job_status(http, "job-net")["state"] == "Succeeded"


def test_a_route_that_breaks_while_the_task_runs_fails_it_at_the_peer(manual):
    sim, http = manual
    http.post("/api/v1/job/create", short_job())
    sim.world.advance(4)  # job-psi runs from +2.5 s
    assert job_status(http, "job-net")["tasks"][0]["state"] == "Running"
    sim.world.set_route_status("bob", "alice", "Failed", "HeartBeatTimeout")
    sim.world.advance(3)
    st = job_status(http, "job-net")
    assert st["state"] == "Failed"
    bob = next(p for p in st["tasks"][0]["parties"] if p["domain_id"] == "bob")
    assert "link of bob could not connect to peer alice" in bob["err_msg"]
    assert st["err_msg"].startswith("Task[job-psi]-Party[bob]: ")


# ------------------------------------------------------------------ command-line faults


def test_command_line_network_faults(sim_cert_dir):
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = [
        "--port=0",
        f"--cert-dir={sim_cert_dir}",
        "--no-demo",
        "--node-down=carol",
        "--route-down=alice:bob:HeartBeatTimeout",
        "--route-down=bob:alice",
    ]
    sim = cli.build_simulator(vars(parser.parse_args(args)))
    world = sim.world
    assert not world.domain_ready("carol") and world.domain_ready("bob")
    keys = [{"source": "alice", "destination": "bob"}, {"source": "bob", "destination": "alice"}]
    reasons = [r["status"]["reason"] for r in world.batch_route_status(keys)]
    assert reasons[0].endswith("Message=HeartBeatTimeout, Reason:HeartBeatTimeout")
    assert reasons[1].endswith("Reason:DestinationUnreachable")
    for bad in (["--node-down=zed"], ["--route-down=alice:zed"], ["--route-down=alice"]):
        opts = vars(parser.parse_args([*args[:3], *bad]))
        with pytest.raises(ValueError):
            cli.build_simulator(opts)
