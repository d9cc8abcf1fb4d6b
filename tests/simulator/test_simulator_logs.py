"""Task log streams of the simulator over real mTLS (kuscia-api.md §5.6, kuscia-log-api.md):
one log per party, served by that party's node; SecretFlow-like content (a traceback at a
failure, a line over 10 KB, bytes that are not UTF-8, "\\r"); lite and autonomy error texts;
follow mode that never ends by itself; a stream cut in the middle of a line; 11105 on a master.

ManualClock, speed 1: job-psi is created at +1.5 s, runs from +2.5 s for 10 s.
"""

from __future__ import annotations

import argparse
import http.client as httpclient
import threading
import time

import pytest

from simulator import ManualClock, Simulator, cli
from tests.fixtures.simulator import SimHTTP
from tests.simulator.test_simulator_streams import Stream, job

pytestmark = pytest.mark.timeout(60)
LITE = "failed to get pod node from master, err: "


@pytest.fixture
def manual(kuscia_sim_factory):
    """A master-mode world whose log API stands in for alice's lite (the job's initiator)."""
    sim = kuscia_sim_factory(clock=ManualClock(), speed=1.0, log_mode="lite")
    return sim, SimHTTP(sim)


def log_objects(sim, body):
    s = Stream(sim, "/api/v1/log/task/query", body)
    assert s.resp.status == 200
    assert s.resp.getheader("Cache-Control") == "no-cache"
    assert s.resp.getheader("Transfer-Encoding") == "chunked"
    objs = s.read(max_seconds=10)
    assert s.ended
    s.close()
    return objs, s.raw


def log_text(sim, task_id="job-psi"):
    objs, raw = log_objects(sim, {"task_id": task_id})
    assert objs and all(o["status"] == {"message": "success"} for o in objs)
    return "\n".join(o["log"] for o in objs), raw


# ------------------------------------------------------------------ content


def test_log_of_a_finished_task(manual):
    sim, http = manual
    http.post("/api/v1/job/create", job("job-log"))
    sim.world.run_until_idle()
    text, raw = log_text(sim)
    lines = text.split("\n")
    assert "start task job-psi of job job-log" in lines[0] and "[alice]" in lines[0]
    assert lines[-1].endswith("task job-psi succeeded")
    assert b"\n" not in raw.replace(b"\\n", b"")  # objects are concatenated, no separator
    long = [line for line in lines if len(line.encode()) > 10_000]
    assert len(long) == 1 and "input preview: " in long[0]
    # bytes that are not UTF-8 arrive as U+FFFD, one per byte, as Go's encoder sends them
    assert any(line.endswith("caf\ufffd, cr\ufffdme, \ufffd\ufffd") for line in lines)
    bar = next(line for line in lines if line.startswith("\r"))  # a tqdm bar keeps its "\r"s
    assert bar.count("\r") == 5 and "100%|##########|" in bar
    # "<", ">" and "&" are \u-escaped like Go's encoding/json does
    assert b"\\u003c" in raw and b"<" not in raw


def test_chunks_of_at_most_100_lines(manual):
    sim, http = manual
    http.post("/api/v1/job/create", job("job-biglog"))
    sim.world.run_until_idle()
    log = sim.world.jobs["job-biglog"].runs["job-psi"].log_lines["alice"]
    log.extend(f"line {i}".encode() for i in range(250))
    objs, _ = log_objects(sim, {"task_id": "job-psi"})
    sizes = [len(o["log"].split("\n")) for o in objs]
    assert max(sizes) == 100 and sum(sizes) > 250


def test_each_party_has_its_own_log_and_a_traceback_where_it_failed(manual):
    sim, http = manual
    http.post(
        "/api/v1/job/create",
        job("job-fail", **{"sim-fail-task": "job-psi", "sim-fail-party": "bob"}),
    )
    sim.world.run_until_idle()
    bob = Simulator(cert_dir=sim.cert_dir, world=sim.world, lite_domain="bob").start()
    try:
        bob_text, _ = log_text(bob)
    finally:
        bob.stop()
    alice_text, _ = log_text(sim)
    assert "[bob]" in bob_text and "[alice]" not in bob_text
    assert "[alice]" in alice_text and "[bob]" not in alice_text
    bob_lines = bob_text.split("\n")
    start = bob_lines.index("Traceback (most recent call last):")
    assert bob_lines[start + 1].startswith('  File "/usr/local/lib/python3.10/site-packages/')
    assert bob_lines[-1] == (
        "RuntimeError: job-psi failed on bob: key column 'id2' not found in input table bob-table"
    )
    assert "peer bob closed the connection" in alice_text
    assert "Traceback" not in alice_text


# ------------------------------------------------------------------ follow


def test_follow_sends_new_lines_and_does_not_end_by_itself(manual):
    sim, http = manual
    http.post("/api/v1/job/create", job("job-follow"))
    sim.world.advance(3)  # job-psi running

    def later():
        for _ in range(12):
            time.sleep(0.1)
            sim.world.advance(1)

    t = threading.Thread(target=later)
    t.start()
    body = {"task_id": "job-psi", "follow": True}
    s = Stream(sim, "/api/v1/log/task/query", body, timeout=1.5)
    objs = s.read(lambda o: "task job-psi succeeded" in o[-1]["log"] if o else False, 10)
    t.join()
    assert len(objs) >= 2 and "start task job-psi" in objs[0]["log"]
    assert "task job-psi succeeded" in objs[-1]["log"]
    with pytest.raises(TimeoutError):  # the task is over: nothing more, the stream stays open
        s.resp.read1(65536)
    assert not s.ended
    s.close()


def test_a_stream_cut_in_the_middle_of_a_line(manual):
    sim, http = manual
    http.post("/api/v1/job/create", job("job-cut"))
    sim.world.run_until_idle()
    sim.world.set_faults(log_cut_after=3)
    s = Stream(sim, "/api/v1/log/task/query", {"task_id": "job-psi"})
    with pytest.raises((httpclient.IncompleteRead, ConnectionError)):
        while s.resp.read1(65536):
            pass
    s.close()
    sim.world.set_faults()
    text, _ = log_text(sim)  # the next query reads the whole log again
    assert len(text.split("\n")) > 3


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"task_id": "nope"}, 13200, LITE + 'kusciatasks.kuscia.secretflow "nope" not found'),
        (
            {"task_id": "job-psi", "replica_idx": 1},
            13200,
            LITE + "task job-psi hasn't created pod alice/job-psi-1 yet, please try later",
        ),
        ({"task_id": "job-split"}, 13200, LITE + "task job-split status pending, please try later"),
    ],
)
def test_lite_errors_arrive_in_the_stream(manual, body, code, message):
    sim, http = manual
    http.post("/api/v1/job/create", job("job-logerr"))
    sim.world.advance(13)  # job-psi done at 12.5, job-split created, starts at 13.5
    objs, _ = log_objects(sim, body)
    assert objs == [{"status": {"code": code, "message": message}}]


def test_lite_reads_the_container_directory_it_is_asked_for(manual):
    sim, http = manual
    http.post("/api/v1/job/create", job("job-cont"))
    sim.world.run_until_idle()
    objs, _ = log_objects(sim, {"task_id": "job-psi", "container": "foo"})
    message = objs[0]["status"]["message"]
    assert objs[0]["status"]["code"] == 13200
    assert message.startswith("failed to local query, err: can't find pod log path for ")
    assert "/home/kuscia/var/stdout/pods/alice_job-psi-0_" in message
    assert message.endswith("/foo, err: <nil>")


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"task_id": "nope"}, 13200, 'kusciatasks.kuscia.secretflow "nope" not found'),
        ({"task_id": "job-psi", "replica_idx": 1}, 11100, "replicate index invalid"),
        ({"task_id": "job-psi", "container": "foo"}, 11100, "container name foo invalid"),
        ({"task_id": "job-split"}, 13200, "task job-split status pending, please try later"),
    ],
)
def test_autonomy_errors_arrive_in_the_stream(kuscia_sim_factory, body, code, message):
    sim = kuscia_sim_factory(clock=ManualClock(), speed=1.0, mode="autonomy")
    SimHTTP(sim).post("/api/v1/job/create", job("job-logerr"))
    sim.world.advance(14)  # approval takes 1 s more on an autonomy node
    objs, _ = log_objects(sim, body)
    assert objs == [{"status": {"code": code, "message": message}}]


def test_a_task_that_made_no_pod(manual):
    sim, http = manual
    sim.world.set_route_status("alice", "bob", "Failed", "DestinationUnreachable")
    http.post("/api/v1/job/create", job("job-nopod"))
    sim.world.advance(3)
    objs, _ = log_objects(sim, {"task_id": "job-psi"})
    assert objs == [
        {
            "status": {
                "code": 13200,
                "message": LITE + "task job-psi hasn't created pod alice/job-psi-0 yet, "
                "please try later",
            }
        }
    ]


def test_a_master_answers_11105(kuscia_sim_factory):
    sim = kuscia_sim_factory(log_mode="master")
    objs, _ = log_objects(sim, {"task_id": "anything"})
    assert objs == [
        {"status": {"code": 11105, "message": "kuscia master api not support this interface now"}}
    ]


def test_lite_listeners_from_the_command_line(kuscia_sim_factory, sim_cert_dir):
    sim = kuscia_sim_factory(clock=ManualClock(), speed=1.0)  # a master: 11105
    SimHTTP(sim).post("/api/v1/job/create", job("job-cli"))
    sim.world.run_until_idle()
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    opts = vars(parser.parse_args(["--lite=bob=0", "--lite=carol=0"]))
    lites = cli.build_lites(sim, opts)
    for lite in lites:
        lite.start()
    try:
        assert log_objects(sim, {"task_id": "job-psi"})[0][0]["status"]["code"] == 11105
        bob_text, _ = log_text(lites[0])
        assert "[bob]" in bob_text
        objs, _ = log_objects(lites[1], {"task_id": "job-psi"})  # carol is not a party
        assert objs[0]["status"]["message"] == (
            LITE + "task job-psi hasn't created pod carol/job-psi-0 yet, please try later"
        )
        # a lite serves the same cluster: the job is there
        reply = SimHTTP(lites[0]).post("/api/v1/job/query", {"job_id": "job-cli"})
        assert reply["data"]["job_id"] == "job-cli"
    finally:
        for lite in lites:
            lite.stop()
    with pytest.raises(ValueError):
        cli.build_lites(sim, vars(parser.parse_args(["--lite=zed=1"])))


def test_a_line_written_in_two_writes(manual):
    """sim-split-line 1: each party's first progress line is written in two writes (half, then
    the rest with its "\\n" at the next write). As Kuscia's tail does, a follow stream sends
    the unfinished line as a line and the rest later as another; a read without follow after
    the task ends has it as one line."""
    sim, http = manual
    http.post("/api/v1/job/create", job("job-split", **{"sim-split-line": "1"}))
    sim.world.advance(3)  # job-psi running
    run = sim.world.jobs["job-split"].runs["job-psi"]
    for _ in range(10):
        if "alice" in run.partial:
            break
        sim.world.advance(0.5)
    first, rest = (b.decode() for b in run.partial["alice"])
    whole = first + rest
    assert "progress" in whole and first and rest

    body = {"task_id": "job-psi", "follow": True}
    s = Stream(sim, "/api/v1/log/task/query", body, timeout=1.5)
    objs = s.read(lambda o: bool(o) and o[-1]["log"].endswith(first), 5)
    sim.world.advance(3)  # the rest is written
    objs += s.read(lambda o: any(rest in x["log"].split("\n") for x in o), 5)
    s.close()
    followed = "\n".join(o["log"] for o in objs).split("\n")
    at = followed.index(first)
    assert followed[at + 1] == rest and whole not in followed

    sim.world.run_until_idle()
    text, _ = log_text(sim)
    lines = text.split("\n")
    assert lines.count(whole) == 1 and first not in lines and rest not in lines


# ------------------------------------------------------------------ several containers


def sidecar_job(job_id):
    req = job(job_id)
    for task in req["tasks"]:
        task["app_image"] = "secretflow-sidecar-image"
    return req


def test_the_app_image_names_the_containers(manual):
    _, http = manual
    data = http.post("/api/v1/appimage/query", {"name": "secretflow-sidecar-image"})["data"]
    [template] = data["deploy_templates"]
    assert [c["name"] for c in template["containers"]] == ["secretflow", "sidecar"]
    missing = http.post("/api/v1/appimage/query", {"name": "nope"})["status"]
    assert missing == {
        "code": 13105,
        "message": 'appimages.kuscia.secretflow "nope" not found',
        "details": [],
    }


def test_autonomy_wants_a_container_name_when_pods_have_several(kuscia_sim_factory):
    sim = kuscia_sim_factory(clock=ManualClock(), speed=1.0, mode="autonomy")
    SimHTTP(sim).post("/api/v1/job/create", sidecar_job("job-two-c"))
    sim.world.run_until_idle()
    objs, _ = log_objects(sim, {"task_id": "job-psi"})
    several = "task's deploy container larger than 1, please specify the container name"
    assert objs == [{"status": {"code": 11100, "message": several}}]
    main, _ = log_objects(sim, {"task_id": "job-psi", "container": "secretflow"})
    side, _ = log_objects(sim, {"task_id": "job-psi", "container": "sidecar"})
    assert "start task job-psi" in main[0]["log"] and "[sidecar]" not in main[0]["log"]
    assert "[sidecar] starting for pod alice/job-psi-0" in side[0]["log"]
    other, _ = log_objects(sim, {"task_id": "job-psi", "container": "foo"})
    assert other[0]["status"]["message"] == "container name foo invalid"


def test_a_lite_with_no_container_named_reads_the_first_by_name(manual):
    sim, http = manual
    http.post("/api/v1/job/create", sidecar_job("job-two-l"))
    sim.world.run_until_idle()
    text, _ = log_text(sim)
    assert "start task job-psi" in text  # no refusal: "secretflow" comes first
    side, _ = log_text_of(sim, {"task_id": "job-psi", "container": "sidecar"})
    assert side.startswith("20") and "[sidecar]" in side


def log_text_of(sim, body):
    objs, raw = log_objects(sim, body)
    assert objs and all(o["status"] == {"message": "success"} for o in objs)
    return "\n".join(o["log"] for o in objs), raw
