"""The planner and the follower in one process against a master simulator and its lite nodes
(real mTLS; SQLite): index rows per party, each party's log from its own lite, equal to the
node's file; replicas found and phantom replicas dropped; no node, and a deleted job."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from connections import nodes
from connections.models import Connection
from jobs.sync.track import track_job
from logs import follow, plan, viewer
from logs.models import TaskLog
from simulator.demo import example_job
from simulator.tasklog import go_string

pytestmark = pytest.mark.django_db


@pytest.fixture
def deployment(kuscia_sim_factory, tmp_path, log_storage, settings):
    settings.KC_LOG_END_GRACE_SECONDS = 0.2
    settings.KC_LOG_FLUSH_SECONDS = 0.1
    master = kuscia_sim_factory()
    lites = {
        d: kuscia_sim_factory(cert_dir=tmp_path / f"lite-{d}", world=master.world, lite_domain=d)
        for d in ("alice", "bob")
    }
    conns = {
        "master": Connection.objects.create(
            name="master", url=master.url, cert_dir=str(master.cert_dir)
        )
    }
    for d, lite in lites.items():
        conns[d] = Connection.objects.create(
            name=f"lite-{d}", url=lite.url, cert_dir=str(lite.cert_dir), mode="lite"
        )
    for c in conns.values():
        nodes.probe_and_record(c)
    nodes.probe_and_record(conns["master"])  # now it knows alice and bob through the lites
    return master, lites, conns


def run_job(master, job_id, prefix, **custom):
    req = example_job(job_id, prefix=prefix)
    req["custom_fields"] = {"sim-task-seconds": "10", **custom}
    master.world.create_job(req)
    deadline = time.monotonic() + 20
    while master.world.jobs[job_id].phase not in ("Succeeded", "Failed"):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def follow_all() -> list[follow.FollowSummary]:
    queued: list[int] = []
    plan.run_cycle(queued.append)
    done = []
    while queued:
        done += [follow.follow_log(pk) for pk in queued]
        queued = []
        plan.hand_out(queued.append, timezone.now())
        queued = [pk for pk in queued if TaskLog.objects.filter(pk=pk, state="pending").exists()]
    return done


def test_each_party_from_its_own_lite(deployment):
    master, _lites, conns = deployment
    assert conns["master"].domains == ["alice", "bob"]
    run_job(master, "job-a", "ja", **{"sim-replicas": "2"})
    job = track_job(conns["master"], "job-a")
    follow_all()
    rows = TaskLog.objects.filter(job=job, discovered=True).order_by(
        "task_id", "domain_id", "replica_idx"
    )
    assert [(r.task_id, r.domain_id, r.replica_idx) for r in rows] == [
        (t, d, r) for t in ("ja-psi", "ja-split") for d in ("alice", "bob") for r in (0, 1)
    ]
    for row in rows:
        assert row.state == "complete", (row, row.message)
        assert row.node == conns[row.domain_id]
        run = master.world.jobs["job-a"].runs[row.task_id]
        if row.replica_idx:
            pod_log = run.replica_lines[(row.domain_id, row.replica_idx)]
        else:
            pod_log = run.log_lines[row.domain_id]
        expected = "".join(f"{go_string(line)}\n" for line in pod_log).encode()
        assert viewer.read_all(row) == expected
        assert f"[{row.domain_id}]".encode() in expected
    assert not TaskLog.objects.filter(job=job, replica_idx=2).exists()  # asked, not there: dropped


def test_no_node_for_a_party_says_how_to_add_one(deployment):
    master, _lites, conns = deployment
    conns["bob"].enabled = False
    conns["bob"].save()
    run_job(master, "job-b", "jb")
    job = track_job(conns["master"], "job-b")
    follow_all()
    bob = TaskLog.objects.get(job=job, task_id="jb-psi", domain_id="bob")
    assert bob.state == "unavailable"
    assert "No connection serves bob" in bob.message and "kuscia-lite-bob" in bob.hint
    alice = TaskLog.objects.get(job=job, task_id="jb-psi", domain_id="alice")
    assert alice.state == "complete"


def test_a_job_deleted_before_anyone_fetched_it(deployment):
    master, _lites, conns = deployment
    run_job(master, "job-d", "jd")
    job = track_job(conns["master"], "job-d")
    master.world.delete_job("job-d")
    follow_all()
    row = TaskLog.objects.get(job=job, task_id="jd-psi", domain_id="alice")
    assert row.state == "unavailable" and "not found" in row.message


def test_pods_with_two_containers_get_a_log_per_container(deployment):
    """The task's AppImage (asked from the master) has two containers: one log per party and
    container, each the node's file of that container; the viewer has a tab for each."""
    from logs import pages
    from simulator.tasklog import sidecar_lines

    master, _lites, conns = deployment
    req = example_job("job-c", prefix="jc")
    req["custom_fields"] = {"sim-task-seconds": "10"}
    for task in req["tasks"]:
        task["app_image"] = "secretflow-sidecar-image"
    master.world.create_job(req)
    deadline = time.monotonic() + 20
    while master.world.jobs["job-c"].phase not in ("Succeeded", "Failed"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    job = track_job(conns["master"], "job-c")
    follow_all()
    rows = TaskLog.objects.filter(job=job, task_id="jc-psi", discovered=True).order_by(
        "domain_id", "container"
    )
    assert [(r.domain_id, r.container) for r in rows] == [
        (d, c) for d in ("alice", "bob") for c in ("secretflow", "sidecar")
    ]
    world_job = master.world.jobs["job-c"]
    run = world_job.runs["jc-psi"]
    for row in rows:
        assert row.state == "complete", (row, row.message)
        if row.container == "sidecar":
            at = run.start_time or world_job.create_time
            pod_log = sidecar_lines(at, row.domain_id, "jc-psi-0", "sidecar")
        else:
            pod_log = run.log_lines[row.domain_id]
        expected = "".join(f"{go_string(line)}\n" for line in pod_log).encode()
        assert viewer.read_all(row) == expected
    tabs = pages.tabs(pages.get_task("master", "job-c", "jc-psi"), "")
    assert [t.label for t in tabs] == [
        "alice · secretflow",
        "alice · sidecar",
        "bob · secretflow",
        "bob · sidecar",
    ]
