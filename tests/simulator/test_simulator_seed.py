"""The seed document against the simulator: its curl commands, its example job, its reply shape.

The seed's batchQuery reply (docs/tutorial/run_sf_job_with_api_cn.md, a real payload) is kept
inline below and used as a golden SHAPE: every key it has, the simulator's reply has too, with
the same JSON type. The simulator may add only the keys newer Kuscia versions send (task
`alias`/`progress`, job `stage_status_list`/`approve_status_list`) and more endpoints (the
current SecretFlow image also declares `inference`).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

from simulator import ManualClock, Simulator, ensure_certs
from simulator.certs import read_token
from simulator.demo import example_job
from tests.fixtures.simulator import SimHTTP

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parents[2]
CURL = shutil.which("curl")

SEED_BATCHQUERY_REPLY = json.loads(
    '{"status":{"code":0,"message":"success","details":[]},"data":{"jobs":[{"job_id":"job-best-'
    'effort-linear","status":{"state":"Succeeded","err_msg":"","create_time":"2023-07-27T01:55:'
    '46Z","start_time":"2023-07-27T01:55:46Z","end_time":"2023-07-27T01:56:19Z","tasks":[{"task'
    '_id":"job-psi","state":"Succeeded","err_msg":"","create_time":"2023-07-27T01:55:46Z","star'
    't_time":"2023-07-27T01:55:46Z","end_time":"2023-07-27T01:56:05Z","parties":[{"domain_id":"'
    'alice","state":"Succeeded","err_msg":"","endpoints":[{"port_name":"spu","scope":"Cluster",'
    '"endpoint":"job-psi-0-spu.alice.svc"},{"port_name":"fed","scope":"Cluster","endpoint":"job'
    '-psi-0-fed.alice.svc"},{"port_name":"global","scope":"Domain","endpoint":"job-psi-0-global'
    '.alice.svc:8081"}]},{"domain_id":"bob","state":"Succeeded","err_msg":"","endpoints":[{"por'
    't_name":"fed","scope":"Cluster","endpoint":"job-psi-0-fed.bob.svc"},{"port_name":"global",'
    '"scope":"Domain","endpoint":"job-psi-0-global.bob.svc:8081"},{"port_name":"spu","scope":"C'
    'luster","endpoint":"job-psi-0-spu.bob.svc"}]}]},{"task_id":"job-split","state":"Succeeded"'
    ',"err_msg":"","create_time":"2023-07-27T01:56:05Z","start_time":"2023-07-27T01:56:05Z","en'
    'd_time":"2023-07-27T01:56:19Z","parties":[{"domain_id":"alice","state":"Succeeded","err_ms'
    'g":"","endpoints":[{"port_name":"spu","scope":"Cluster","endpoint":"job-split-0-spu.alice.'
    'svc"},{"port_name":"fed","scope":"Cluster","endpoint":"job-split-0-fed.alice.svc"},{"port_'
    'name":"global","scope":"Domain","endpoint":"job-split-0-global.alice.svc:8081"}]},{"domain'
    '_id":"bob","state":"Succeeded","err_msg":"","endpoints":[{"port_name":"fed","scope":"Clust'
    'er","endpoint":"job-psi-0-fed.bob.svc"},{"port_name":"global","scope":"Domain","endpoint":'
    '"job-psi-0-global.bob.svc:8081"},{"port_name":"spu","scope":"Cluster","endpoint":"job-psi-'
    '0-spu.bob.svc"}]}]}]}}]}}'
)
ADDED_KEYS = {"alias", "progress", "stage_status_list", "approve_status_list"}


def shape(value):
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return "string"


def assert_shape(golden, actual, path="$"):
    """`actual` has every key of `golden` with the same JSON type (lists: element shape)."""
    if isinstance(golden, dict):
        assert isinstance(actual, dict), path
        for key, sub in golden.items():
            assert key in actual, f"{path}.{key} missing"
            assert_shape(sub, actual[key], f"{path}.{key}")
        extra = set(actual) - set(golden)
        assert extra <= ADDED_KEYS, f"{path}: unexpected keys {extra}"
    elif isinstance(golden, list):
        assert isinstance(actual, list), path
        if golden:
            assert actual, f"{path} is empty"
            for item in actual:
                assert_shape(golden[0], item, f"{path}[]")
    else:
        assert golden == actual, f"{path}: {actual} is not {golden}"


def test_seed_batchquery_reply_is_a_golden_shape(kuscia_sim_factory):
    sim = kuscia_sim_factory(clock=ManualClock(), speed=1.0)
    http = SimHTTP(sim)
    assert http.post("/api/v1/job/create", example_job())["status"]["code"] == 0
    sim.world.run_until_idle()
    reply = http.post("/api/v1/job/status/batchQuery", {"job_ids": ["job-best-effort-linear"]})
    assert_shape(shape(SEED_BATCHQUERY_REPLY), shape(reply))
    seed_job = SEED_BATCHQUERY_REPLY["data"]["jobs"][0]
    job = reply["data"]["jobs"][0]
    assert job["job_id"] == seed_job["job_id"]
    assert job["status"]["state"] == seed_job["status"]["state"] == "Succeeded"
    assert [t["task_id"] for t in job["status"]["tasks"]] == ["job-psi", "job-split"]
    # job-psi's endpoints are named exactly as in the seed (job-split's bob entry in the seed
    # is a copy-paste of job-psi's and is not reproduced)
    seed_psi = seed_job["status"]["tasks"][0]
    psi = job["status"]["tasks"][0]
    for seed_party in seed_psi["parties"]:
        party = next(p for p in psi["parties"] if p["domain_id"] == seed_party["domain_id"])
        assert party["state"] == seed_party["state"]
        assert {tuple(e.values()) for e in seed_party["endpoints"]} <= {
            tuple(e.values()) for e in party["endpoints"]
        }


def test_shape_check_catches_a_wrong_type():
    bad = json.loads(json.dumps(SEED_BATCHQUERY_REPLY))
    bad["data"]["jobs"][0]["status"]["tasks"][0]["parties"][0]["endpoints"] = None
    with pytest.raises(AssertionError):
        assert_shape(shape(SEED_BATCHQUERY_REPLY), shape(bad))
    bad = json.loads(json.dumps(SEED_BATCHQUERY_REPLY))
    del bad["status"]["details"]
    with pytest.raises(AssertionError):
        assert_shape(shape(SEED_BATCHQUERY_REPLY), shape(bad))


# ------------------------------------------------------------------ curl, as in the seed


def curl(sim, path, data, *, cert=True, token=True):
    certs = sim.cert_dir
    cmd = [CURL, "-sS", "-X", "POST", f"https://localhost:{sim.port}{path}"]
    if token:
        cmd += ["--header", f"Token: {(certs / 'token').read_text()}"]
    cmd += ["--header", "Content-Type: application/json"]
    if cert:
        cmd += [
            "--cert",
            str(certs / "kusciaapi-server.crt"),
            "--key",
            str(certs / "kusciaapi-server.key"),
        ]
    cmd += ["--cacert", str(certs / "ca.crt"), "-w", "\n%{http_code}", "-d", data]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    return done


def curl_json(sim, path, data):
    done = curl(sim, path, data)
    assert done.returncode == 0, done.stderr
    body, _, code = done.stdout.rpartition("\n")
    assert code == "200", done.stdout
    return json.loads(body)


@pytest.mark.needs("curl")
def test_seed_curl_commands_work_with_only_paths_and_port_changed(kuscia_sim_factory, tmp_path):
    sim = kuscia_sim_factory(clock=ManualClock(), speed=1.0)
    body = tmp_path / "create.json"
    body.write_text(json.dumps(example_job()))
    assert curl_json(sim, "/api/v1/job/create", f"@{body}") == {
        "status": {"code": 0, "message": "success", "details": []},
        "data": {"job_id": "job-best-effort-linear"},
    }
    sim.world.run_until_idle()
    reply = curl_json(
        sim, "/api/v1/job/status/batchQuery", '{\n    "job_ids": ["job-best-effort-linear"]\n}'
    )
    assert_shape(shape(SEED_BATCHQUERY_REPLY), shape(reply))
    assert reply["data"]["jobs"][0]["status"]["state"] == "Succeeded"
    reply = curl_json(sim, "/api/v1/job/delete", '{\n    "job_id": "job-best-effort-linear"\n}')
    assert reply == {
        "status": {"code": 0, "message": "success", "details": []},
        "data": {"job_id": "job-best-effort-linear"},
    }
    reply = curl_json(
        sim, "/api/v1/job/status/batchQuery", '{"job_ids": ["job-best-effort-linear"]}'
    )
    assert reply["status"]["code"] == 11203


@pytest.mark.needs("curl")
def test_seed_troubleshooting_cases_with_curl(kuscia_sim):
    # no client certificate: curl fails at the TLS layer (seed: "curl: (56) ... alert ...")
    done = curl(kuscia_sim, "/healthZ", "{}", cert=False)
    assert done.returncode == 56, (done.returncode, done.stderr)
    assert "alert certificate required" in done.stderr or "bad certificate" in done.stderr
    # no token: HTTP 401 with an empty body
    done = curl(kuscia_sim, "/healthZ", "{}", token=False)
    assert done.returncode == 0 and done.stdout == "\n401"
    # wrong path: 404 page not found
    done = curl(kuscia_sim, "/api/v1/job/batchQuery", "{}")
    assert done.stdout == "404 page not found\n404"


# ------------------------------------------------------------------ certs, demo, command


def test_ensure_certs_lays_out_the_seed_files(tmp_path):
    ensure_certs(tmp_path)
    for name in ("ca.crt", "kusciaapi-server.crt", "kusciaapi-server.key", "token"):
        assert (tmp_path / name).is_file()
    token = (tmp_path / "token").read_bytes()
    assert len(token) == 32 and not token.endswith(b"\n") and token.isalnum()
    ca = x509.load_pem_x509_certificate((tmp_path / "ca.crt").read_bytes())
    leaf = x509.load_pem_x509_certificate((tmp_path / "kusciaapi-server.crt").read_bytes())
    leaf.verify_directly_issued_by(ca)
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(sans.get_values_for_type(x509.DNSName)) >= {"localhost", "kusciaapi"}
    assert "127.0.0.1" in {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    ensure_certs(tmp_path)  # idempotent: nothing is re-issued
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert read_token(tmp_path) == token.decode()


def test_demo_world_runs_for_a_few_minutes_with_the_promised_jobs(tmp_path):
    sim = Simulator(cert_dir=tmp_path, clock=ManualClock(), speed=1.0, demo=True)
    world = sim.world
    assert set(world.jobs) == {
        "job-best-effort-linear",
        "job-psi-fails-at-bob",
        "job-three-party",
        "job-wide-dag",
    }
    assert len(world.jobs["job-three-party"].parties()) == 3
    assert 18 <= len(world.jobs["job-wide-dag"].tasks) <= 22
    start = world.now()
    world.run_until_idle()
    took = world.now() - start
    assert 60 <= took <= 600, took
    states = {j: world.job_status(job)["status"] for j, job in world.jobs.items()}
    assert states["job-best-effort-linear"]["state"] == "Succeeded"
    assert states["job-three-party"]["state"] == "Succeeded"
    assert states["job-wide-dag"]["state"] == "Succeeded"
    failed = states["job-psi-fails-at-bob"]
    assert failed["state"] == "Failed" and failed["err_msg"].startswith(
        "Task[fails-psi]-Party[bob]: "
    )
    assert {d["domain_id"] for d in world.domaindata.values()} == {"alice", "bob", "carol"}
    outputs = [d for d in world.domaindata.values() if d["vendor"] == "secretflow"]
    assert {(d["domain_id"], d["domaindata_id"]) for d in outputs} >= {
        ("alice", "psi-output-0"),
        ("bob", "train-dataset"),
    }
    assert world.app_images == {"secretflow-image", "secretflow-sidecar-image"}


def test_speed_scales_simulated_time(tmp_path):
    slow = Simulator(cert_dir=tmp_path, clock=ManualClock(), speed=1.0, demo=False)
    fast = Simulator(cert_dir=tmp_path, clock=ManualClock(), speed=10.0, demo=False)
    took = []
    for sim in (slow, fast):
        sim.world.create_job(example_job())
        start = sim.world.now()
        sim.world.run_until_idle()
        took.append(sim.world.now() - start)
    assert took[0] == pytest.approx(10 * took[1])


@pytest.mark.parametrize(
    "entry", [["manage.py", "kuscia_simulator"], ["-m", "simulator"]], ids=["manage.py", "-m"]
)
def test_command_line_runs_until_sigterm(tmp_path, entry):
    """`manage.py kuscia_simulator` and `python -m simulator` start the same simulator."""
    cert_dir = tmp_path / "certs"
    proc = subprocess.Popen(
        [
            sys.executable,
            *entry,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--cert-dir",
            str(cert_dir),
            "--no-demo",
            "--speed",
            "10",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        second = proc.stdout.readline()
        assert "listening on https://127.0.0.1:" in first, first
        assert str(cert_dir) in second
        port = int(first.rsplit(":", 1)[1])

        class Fake:
            pass

        sim = Fake()
        sim.protocol, sim.port, sim.cert_dir = "MTLS", port, cert_dir
        sim.token = (cert_dir / "token").read_text()
        assert SimHTTP(sim).post("/healthZ", {})["data"] == {"ready": True}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert "stopped" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_ensure_certs_keeps_a_copied_kuscia_dir(tmp_path):
    real = tmp_path / "real"
    ensure_certs(real)
    (real / "ca.key").unlink()  # users copy ca.crt, the server pair and token, not ca.key
    before = {p.name: p.read_bytes() for p in real.iterdir()}
    ensure_certs(real)
    assert {p.name: p.read_bytes() for p in real.iterdir()} == before
    (real / "kusciaapi-server.key").unlink()
    with pytest.raises(FileNotFoundError):
        ensure_certs(real)  # cannot issue a server pair without the CA key; nothing clobbered
    assert (real / "ca.crt").read_bytes() == before["ca.crt"]


def test_shuffle_randomizes_map_ordered_lists(tmp_path):
    sim = Simulator(cert_dir=tmp_path, clock=ManualClock(), speed=1.0, demo=False, shuffle=True)
    req = example_job()
    req["tasks"][0]["parties"].append({"domain_id": "carol"})
    sim.world.create_job(req)
    sim.world.advance(3)
    job = sim.world.jobs["job-best-effort-linear"]
    orders = set()
    for _ in range(40):
        st = sim.world.job_status(job)["status"]
        psi = st["tasks"][0]
        orders.add(
            (
                tuple(s["domain_id"] for s in st["stage_status_list"]),
                tuple(p["domain_id"] for p in psi["parties"]),
                tuple(e["port_name"] for e in psi["parties"][0]["endpoints"]),
            )
        )
    assert len(orders) > 5
    assert all(sorted(o[1]) == ["alice", "bob", "carol"] for o in orders)
