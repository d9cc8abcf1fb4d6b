"""The watch stream and log/node/query of the simulator over real mTLS (kuscia-api.md §3.2,
§5.6, §6). Task log streams: test_simulator_logs.py."""

from __future__ import annotations

import json
import time

import pytest

from simulator import ManualClock
from simulator.demo import example_job
from tests.fixtures.simulator import SimHTTP

pytestmark = pytest.mark.timeout(60)
DECODER = json.JSONDecoder()


class Stream:
    """An open streaming POST; `read()` decodes concatenated JSON objects as they arrive."""

    def __init__(self, sim, path, body, *, content_type="application/json", timeout=5.0):
        self.conn = SimHTTP(sim).connection(timeout=timeout)
        headers = {"Token": sim.token}
        if content_type:
            headers["Content-Type"] = content_type
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.conn.request("POST", path, data, headers)
        self.resp = self.conn.getresponse()
        self.raw = b""
        self.buf = ""
        self.objects: list[dict] = []
        self.ended = False

    def read(self, until=lambda objs: False, max_seconds=5.0):
        deadline = time.monotonic() + max_seconds
        while not until(self.objects) and time.monotonic() < deadline:
            data = self.resp.read1(65536)
            if not data:
                self.ended = True
                break
            self.raw += data
            self.buf += data.decode()
            while self.buf:
                try:
                    obj, end = DECODER.raw_decode(self.buf)
                except json.JSONDecodeError:
                    break
                self.objects.append(obj)
                self.buf = self.buf[end:]
        return self.objects

    def close(self):
        self.conn.close()


def job(job_id, **custom):
    req = example_job(job_id)
    req["custom_fields"] = {"sim-task-seconds": "10", **custom}
    return req


@pytest.fixture
def manual(kuscia_sim_factory):
    sim = kuscia_sim_factory(clock=ManualClock(), speed=1.0, heartbeat_interval=30, log_mode="lite")
    return sim, SimHTTP(sim)


# ------------------------------------------------------------------ watch


def test_initial_burst_is_added_without_type_and_stream_ends_at_timeout(manual):
    sim, http = manual
    http.post("/api/v1/job/create", job("job-two"))
    http.post("/api/v1/job/create", job("job-one"))  # the burst comes in name order
    started = time.monotonic()
    s = Stream(sim, "/api/v1/job/watch", {"timeout_seconds": 1})
    assert s.resp.status == 200
    assert s.resp.getheader("Content-Type") == "application/json; charset=utf-8"
    assert s.resp.getheader("Transfer-Encoding") == "chunked"
    objs = s.read(max_seconds=5)
    assert s.ended and 0.9 <= time.monotonic() - started < 4
    assert [o["object"]["job_id"] for o in objs] == ["job-one", "job-two"]
    assert all("type" not in o for o in objs)
    # concatenated with no separator
    assert b"}{" in s.raw and b"\n" not in s.raw
    # zero fields omitted (Go encoding/json omitempty)
    status = objs[0]["object"]["status"]
    assert status["state"] == "Pending" and status["create_time"] == "2026-01-01T08:00:00Z"
    for absent in ("err_msg", "start_time", "end_time", "stage_status_list"):
        assert absent not in status
    assert status["tasks"][0] == {"task_id": "job-psi", "state": "Pending", "alias": "job-psi"}
    s.close()


def test_modified_progress_and_deleted_events(manual):
    sim, http = manual
    http.post("/api/v1/job/create", job("job-w"))
    s = Stream(sim, "/api/v1/job/watch", {"timeout_seconds": 20})
    assert len(s.read(until=lambda o: len(o) >= 1)) == 1
    sim.world.advance(0.5)
    objs = s.read(until=lambda o: len(o) >= 2)
    assert objs[1]["type"] == 1
    assert objs[1]["object"]["status"]["stage_status_list"]
    sim.world.advance(6.0)  # Running, job-psi started, progress 0.2 and 0.4
    objs = s.read(
        until=lambda o: any(
            e["object"]["status"]["tasks"][0].get("progress") == 0.4 for e in o if "object" in e
        )
    )
    progresses = [
        e["object"]["status"]["tasks"][0].get("progress")
        for e in objs
        if e.get("type") == 1 and e["object"]["status"]["tasks"][0].get("progress")
    ]
    assert progresses[:4] == [0.1, 0.2, 0.3, 0.4]  # a 10 s task reports every second
    running = next(e for e in objs if e["object"]["status"]["tasks"][0].get("parties"))
    endpoint = running["object"]["status"]["tasks"][0]["parties"][0]["endpoints"][0]
    assert set(endpoint) == {"port_name", "scope", "endpoint"}
    # a job created while watching arrives as ADDED (no type)
    http.post("/api/v1/job/create", job("job-new"))
    objs = s.read(until=lambda o: o[-1]["object"]["job_id"] == "job-new")
    assert "type" not in objs[-1]
    http.post("/api/v1/job/delete", {"job_id": "job-w"})
    objs = s.read(until=lambda o: o[-1].get("type") == 2)
    assert objs[-1]["type"] == 2 and objs[-1]["object"]["job_id"] == "job-w"
    assert objs[-1]["object"]["status"]["state"] == "Running"
    s.close()


def test_heartbeat_after_silence(kuscia_sim_factory):
    sim = kuscia_sim_factory(clock=ManualClock(), heartbeat_interval=0.2)
    s = Stream(sim, "/api/v1/job/watch", {"timeout_seconds": 1})
    objs = s.read(max_seconds=5)
    assert s.ended
    assert 2 <= len(objs) <= 6  # one every 0.2 s of silence within 1 s
    assert s.raw == b'{"type":4}' * len(objs)


def test_default_heartbeat_is_ten_seconds(kuscia_sim):
    assert kuscia_sim.heartbeat_interval == 10.0
    s = Stream(kuscia_sim, "/api/v1/job/watch", {"timeout_seconds": 1})
    assert s.read(max_seconds=5) == [] and s.ended


def test_events_restart_the_heartbeat_timer(kuscia_sim_factory):
    sim = kuscia_sim_factory(clock=ManualClock(), heartbeat_interval=0.8)
    s = Stream(sim, "/api/v1/job/watch", {"timeout_seconds": 3})
    for i in range(4):  # an event every 0.3 s: the 0.8 s silence timer never fires
        time.sleep(0.3)
        sim.world.create_job(job(f"job-hb-{i}"))
    objs = s.read(max_seconds=6)
    assert s.ended
    assert [o.get("type") for o in objs[:4]] == [None] * 4
    assert objs[4:] and all(o == {"type": 4} for o in objs[4:])


def test_watch_timeout_is_not_read_from_camel_case_or_form_bodies(kuscia_sim_factory):
    sim = kuscia_sim_factory(heartbeat_interval=0.1)
    streams = [
        Stream(sim, "/api/v1/job/watch", b'{"timeoutSeconds": 1}'),
        Stream(sim, "/api/v1/job/watch", b"{}"),
        Stream(sim, "/api/v1/job/watch", {"timeout_seconds": 1}, content_type=None),
        Stream(sim, "/api/v1/job/watch", {"timeout_seconds": 1}),  # control: ends
    ]
    time.sleep(1.4)
    for s in streams:
        s.read(max_seconds=0.3)
    assert [s.ended for s in streams] == [False, False, False, True]
    assert all(len(s.objects) >= 5 for s in streams[:3])
    for s in streams:
        s.close()


def test_watch_key_match_is_case_insensitive_like_go(kuscia_sim):
    s = Stream(kuscia_sim, "/api/v1/job/watch", {"TIMEOUT_SECONDS": 1})
    s.read(max_seconds=4)
    assert s.ended


@pytest.mark.parametrize("body", [b"", b'{"timeout_seconds": "30"}', b"{nope"])
def test_watch_bind_errors_are_400_with_empty_body(kuscia_sim, body):
    status, headers, raw = SimHTTP(kuscia_sim).raw("/api/v1/job/watch", body)
    assert (status, raw) == (400, b"")
    assert "Content-Type" not in headers


@pytest.mark.parametrize("timeout", [-1, 2**31])
def test_watch_out_of_range_timeout_is_200_empty(kuscia_sim, timeout):
    status, _, raw = SimHTTP(kuscia_sim).raw("/api/v1/job/watch", {"timeout_seconds": timeout})
    assert (status, raw) == (200, b"")


def test_disconnected_watcher_is_dropped(kuscia_sim_factory):
    sim = kuscia_sim_factory(heartbeat_interval=0.1)
    s = Stream(sim, "/api/v1/job/watch", {"timeout_seconds": 30})
    s.read(until=lambda o: len(o) >= 1)
    assert len(sim.world._subs) == 1
    s.close()
    deadline = time.monotonic() + 5
    while sim.world._subs and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sim.world._subs == []


def test_watch_needs_token(kuscia_sim):
    status, _, raw = SimHTTP(kuscia_sim).raw("/api/v1/job/watch", {}, token=False)
    assert (status, raw) == (401, b"")


# ------------------------------------------------------------------ log/node/query


def test_pod_node_query(manual):
    sim, http = manual
    http.post("/api/v1/job/create", job("job-node"))
    sim.world.advance(1.6)  # job-psi created, pods not running yet
    reply = http.post("/api/v1/log/node/query", {"task_id": "job-psi", "domain": "bob"})
    assert reply == {
        "status": {
            "code": 13201,
            "message": "task job-psi status pending, please try later",
            "details": [],
        },
        "node_name": "",
        "node_ip": "",
    }
    sim.world.advance(1)
    reply = http.post("/api/v1/log/node/query", {"task_id": "job-psi", "domain": "bob"})
    assert reply["status"]["code"] == 0
    assert reply["node_name"] == "root-kuscia-lite-bob" and reply["node_ip"].count(".") == 3
    assert set(reply) == {"status", "node_name", "node_ip"}
    reply = http.post("/api/v1/log/node/query", {"task_id": "job-psi", "domain": "carol"})
    assert reply["status"]["message"] == (
        "task job-psi hasn't created pod carol/job-psi-0 yet, please try later"
    )
    reply = http.post("/api/v1/log/node/query", {"task_id": "nope", "domain": "bob"})
    assert reply["status"]["message"] == 'kusciatasks.kuscia.secretflow "nope" not found'
