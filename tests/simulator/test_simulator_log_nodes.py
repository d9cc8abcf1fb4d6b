"""What the log archive needs from the simulator beyond one log per party: replicas
(sim-replicas), large logs (sim-log-kb), a lite node that refuses other domains' data with
Kuscia's message (how a client learns its domain), a cut that hits only the next N streams,
and follow streams that send only what is new."""

from __future__ import annotations

import pytest

from simulator import ManualClock
from tests.fixtures.simulator import SimHTTP
from tests.simulator.test_simulator_logs import log_objects
from tests.simulator.test_simulator_streams import Stream, job

pytestmark = pytest.mark.timeout(60)
LITE = "failed to get pod node from master, err: "


@pytest.fixture
def cluster(kuscia_sim_factory, tmp_path):
    master = kuscia_sim_factory(clock=ManualClock(), speed=1.0)
    lite = kuscia_sim_factory(cert_dir=tmp_path / "bob", world=master.world, lite_domain="bob")
    return master, lite


def lines(objs):
    assert all(o["status"] == {"message": "success"} for o in objs), objs
    return "\n".join(o["log"] for o in objs).split("\n")


def test_replicas_each_have_their_log(cluster):
    master, lite = cluster
    master.world.create_job(job("job-r", **{"sim-replicas": "3"}))
    master.world.run_until_idle()
    first = lines(log_objects(lite, {"task_id": "job-psi", "replica_idx": 0})[0])
    third = lines(log_objects(lite, {"task_id": "job-psi", "replica_idx": 2})[0])
    assert "replica 2 of 3 started" in third[0] and third[1:] == first
    objs, _ = log_objects(lite, {"task_id": "job-psi", "replica_idx": 3})
    assert objs == [
        {
            "status": {
                "code": 13200,
                "message": LITE + "task job-psi hasn't created pod bob/job-psi-3 yet, please "
                "try later",
            }
        }
    ]


def test_large_logs_on_demand(cluster):
    master, lite = cluster
    master.world.create_job(job("job-big", **{"sim-log-kb": "200"}))
    master.world.run_until_idle()
    text = "\n".join(lines(log_objects(lite, {"task_id": "job-psi"})[0]))
    assert len(text) > 180_000 and "batch 00000 loss=" in text


def test_a_lite_refuses_other_domains_data_and_names_its_own(cluster):
    _, lite = cluster
    http = SimHTTP(lite)
    reply = http.post(
        "/api/v1/domaindata/query", {"data": {"domain_id": "alice", "domaindata_id": "x"}}
    )
    assert reply["status"]["code"] == 11100
    assert reply["status"]["message"] == (
        "kuscia lite api could only operate it's own domaindata, the domainid of request must "
        "be bob, not alice"
    )
    own = http.post("/api/v1/domaindata/list", {"data": {"domain_id": "bob"}})
    assert own["status"]["code"] == 0


def test_a_counted_cut_hits_only_the_next_streams(cluster):
    master, lite = cluster
    master.world.create_job(job("job-x"))
    master.world.run_until_idle()
    master.world.set_faults(log_cut_after=3, log_cuts=1)
    cut = Stream(lite, "/api/v1/log/task/query", {"task_id": "job-psi"})
    with pytest.raises(Exception):  # noqa: B017 - the chunked body is cut off
        cut.read(max_seconds=5)
    cut.close()
    assert [len(o["log"].split("\n")) for o in cut.objects] == [3]
    whole, _ = log_objects(lite, {"task_id": "job-psi"})  # the next stream is whole
    assert len(lines(whole)) == len(master.world.jobs["job-x"].runs["job-psi"].log_lines["bob"])


def test_follow_sends_each_line_once(cluster):
    master, lite = cluster
    master.world.create_job(job("job-f"))
    master.world.advance(5)  # job-psi running, a few progress lines out
    s = Stream(lite, "/api/v1/log/task/query", {"task_id": "job-psi", "follow": True})
    s.read(until=lambda objs: bool(objs), max_seconds=5)
    master.world.run_until_idle()
    s.read(until=lambda objs: "succeeded" in str(objs), max_seconds=5)
    s.close()
    sent = lines(s.objects)
    assert len(sent) == len(master.world.jobs["job-f"].runs["job-psi"].log_lines["bob"])
