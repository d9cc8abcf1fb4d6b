"""KusciaClient against the simulator over real sockets and real (m)TLS.

Every error class is produced for real here: wrong token, no client certificate, a
certificate from another CA, the wrong CA file, an expired server certificate, a host name the
certificate does not name, a missing file, a wrong path, a server that is down, a plain-HTTP
server behind an https URL, and a whole batch failing with 11203. The watch parser is run on
the simulator's chunked stream: initial burst, heartbeats, ADDED without `type`, MODIFIED,
DELETED and reconnects.
"""

from __future__ import annotations

import shutil
import socket
import time
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives import serialization

from kuscia.client import KusciaClient
from kuscia.config import ConnectionConfig
from kuscia.errors import KusciaConfigError, KusciaError
from kuscia.types import EventType
from tests.kuscia.test_client import make_ca, make_leaf, write_pair
from tests.kuscia.test_wire import example_spec

pytestmark = pytest.mark.timeout(60)


def config_for(sim, **kw) -> ConnectionConfig:
    kw.setdefault("connect_timeout", 3.0)
    kw.setdefault("read_timeout", 5.0)
    kw.setdefault("protocol", sim.protocol)
    return ConnectionConfig.from_cert_dir(sim.url, sim.cert_dir, **kw)


def spec(job_id: str):
    return replace(example_spec(), job_id=job_id)


def error_of(config: ConnectionConfig, call=lambda kc: kc.health()) -> KusciaError:
    with pytest.raises(KusciaError) as err, KusciaClient(config) as kc:
        call(kc)
    return err.value


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ the happy path


def test_routes_over_mtls(kuscia_sim):
    with KusciaClient(config_for(kuscia_sim)) as kc:
        assert kc.health() is True
        assert kc.version()
        assert kc.create_job(spec("job-sim-a")) == "job-sim-a"
        (st,) = kc.batch_query_job_status(["job-sim-a"])
        assert st.job_id == "job-sim-a" and st.status.state
        assert st.status.create_time is not None and st.status.create_time.tzinfo is not None
        assert [t.task_id for t in st.status.tasks] == ["job-psi", "job-split"]
        detail = kc.query_job("job-sim-a")
        assert detail.initiator == "alice" and detail.max_parallelism == 2
        assert detail.tasks[1].dependencies == ("job-psi",) and detail.tasks[0].tolerable is None
        assert [d.domain_id for d in kc.batch_query_domains(["alice", "bob"])] == ["alice", "bob"]
        assert kc.query_domain("bob").domain_id == "bob"
        tables = kc.list_domaindata("alice")
        assert "alice-table" in [d.domaindata_id for d in tables]
        assert kc.query_domaindata("alice", "alice-table").domain_id == "alice"
        assert len(kc.batch_query_domaindata([("alice", "alice-table"), ("alice", "nope")])) == 1
        routes = kc.batch_query_route_status([("alice", "bob")])
        assert routes[0].source == "alice" and routes[0].status in ("Succeeded", "Failed")
        assert kc.stop_job("job-sim-a") == "job-sim-a"
        assert kc.delete_job("job-sim-a") == "job-sim-a"


def test_task_log_stream_over_mtls(kuscia_sim_factory):
    sim = kuscia_sim_factory(log_mode="lite")  # a lite node's log API
    with KusciaClient(config_for(sim)) as kc:
        kc.create_job(spec("job-sim-log"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            st = kc.batch_query_job_status(["job-sim-log"])[0].status
            if st.state in ("Succeeded", "Failed"):
                break
            time.sleep(0.1)
        text = "".join(kc.query_task_log("job-psi"))
        assert text.strip()


def test_task_log_on_master_is_not_supported(kuscia_sim_factory):
    sim = kuscia_sim_factory(log_mode="master")
    with KusciaClient(config_for(sim)) as kc:
        kc.create_job(spec("job-sim-master"))
        with pytest.raises(KusciaError) as err:
            list(kc.query_task_log("job-psi"))
    assert (err.value.kind, err.value.code) == ("not_supported", 11105)


def test_tls_server_name_fixes_a_name_the_certificate_lacks(kuscia_sim):
    config = config_for(kuscia_sim, tls_server_name="kusciaapi")
    with KusciaClient(config) as kc:
        assert kc.health() is True
    localhost = replace(config_for(kuscia_sim), url=f"https://localhost:{kuscia_sim.port}")
    with KusciaClient(localhost) as kc:
        assert kc.health() is True


def test_tls_mode_without_client_certificate(kuscia_sim_factory):
    sim = kuscia_sim_factory(protocol="TLS")
    with KusciaClient(config_for(sim, cert_file="/nonexistent", key_file="/nonexistent")) as kc:
        assert kc.health() is True  # TLS mode reads neither cert nor key


def test_notls_mode(kuscia_sim_factory):
    sim = kuscia_sim_factory(protocol="NOTLS")
    with KusciaClient(config_for(sim)) as kc:
        assert kc.health() is True


# ------------------------------------------------------------------ every error class, for real


def test_wrong_token_is_unauthorized(kuscia_sim, tmp_path):
    token = tmp_path / "token"
    token.write_bytes(b"X" * 32)
    e = error_of(config_for(kuscia_sim, token_file=str(token)))
    assert (e.kind, e.status_code) == ("unauthorized", 401)
    assert "token" in e.hint


def test_token_is_sent_byte_exact(kuscia_sim, tmp_path):
    # the right token with one byte changed is a different token for Kuscia
    right = (kuscia_sim.cert_dir / "token").read_bytes()
    token = tmp_path / "token"
    token.write_bytes(right[:-1] + (b"A" if right[-1:] != b"A" else b"B"))
    assert error_of(config_for(kuscia_sim, token_file=str(token))).kind == "unauthorized"
    # white space around it cannot even be sent: a file problem, found before connecting
    token.write_bytes(right + b" ")
    with pytest.raises(KusciaConfigError) as err:
        KusciaClient(config_for(kuscia_sim, token_file=str(token)))
    assert err.value.kind == "cert_file"


def test_no_client_certificate_is_refused(kuscia_sim):
    e = error_of(config_for(kuscia_sim, protocol="TLS"))
    assert e.kind == "tls_client_refused", e.message
    assert "MTLS" in e.hint


def test_client_certificate_from_another_ca_is_refused(kuscia_sim, tmp_path):
    crt, key = write_pair(tmp_path, "other-client", make_leaf(make_ca("Other CA"), "Intruder"))
    e = error_of(config_for(kuscia_sim, cert_file=str(crt), key_file=str(key)))
    assert e.kind == "tls_client_refused", e.message
    assert "(56)" in e.hint and "ca.crt" in e.hint


def test_wrong_ca_file_is_untrusted(kuscia_sim, tmp_path):
    other = tmp_path / "other-ca.crt"
    other.write_bytes(make_ca("Other CA")[1].public_bytes(serialization.Encoding.PEM))
    e = error_of(config_for(kuscia_sim, ca_file=str(other)))
    assert e.kind == "tls_untrusted", e.message
    assert "ca.crt" in e.hint


def test_hostname_mismatch(kuscia_sim):
    e = error_of(config_for(kuscia_sim, tls_server_name="kuscia.example.com"))
    assert e.kind == "tls_hostname", e.message
    assert "server name" in e.hint


def test_expired_server_certificate(kuscia_sim_factory, tmp_path):
    certs = tmp_path / "expired"
    certs.mkdir()
    ca = make_ca("Expired CA")
    (certs / "ca.crt").write_bytes(ca[1].public_bytes(serialization.Encoding.PEM))
    (certs / "ca.key").write_bytes(
        ca[0].private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    write_pair(certs, "kusciaapi-server", make_leaf(ca, "KusciaAPI", expired=True))
    (certs / "token").write_bytes(b"T" * 32)
    sim = kuscia_sim_factory(cert_dir=certs)
    e = error_of(config_for(sim))
    assert e.kind == "cert_expired", e.message


def test_missing_file_fails_before_connecting(kuscia_sim, tmp_path):
    partial = tmp_path / "certs"
    shutil.copytree(kuscia_sim.cert_dir, partial)
    (partial / "kusciaapi-server.key").unlink()
    config = ConnectionConfig.from_cert_dir(kuscia_sim.url, partial)
    with pytest.raises(KusciaConfigError) as err:
        KusciaClient(config)
    assert err.value.kind == "cert_file" and "kusciaapi-server.key" in err.value.message


def test_wrong_path_is_404(kuscia_sim):
    with KusciaClient(config_for(kuscia_sim)) as kc, pytest.raises(KusciaError) as err:
        kc.call("/api/v1/job/querry", {"job_id": "x"})
    assert (err.value.kind, err.value.status_code) == ("wrong_path", 404)
    assert "8082" in err.value.hint


def test_server_down_is_connect_refused(kuscia_sim):
    config = replace(config_for(kuscia_sim), url=f"https://127.0.0.1:{free_port()}")
    e = error_of(config)
    assert e.kind == "connect_refused", e.message


def test_plain_http_server_behind_https_url(kuscia_sim_factory):
    sim = kuscia_sim_factory(protocol="NOTLS")
    cert_dir = kuscia_sim_factory().cert_dir
    config = ConnectionConfig.from_cert_dir(f"https://127.0.0.1:{sim.port}", cert_dir)
    assert error_of(config).kind == "tls_protocol"


def test_whole_batch_fails_with_11203(kuscia_sim):
    with KusciaClient(config_for(kuscia_sim)) as kc:
        kc.create_job(spec("job-sim-known"))
        assert len(kc.batch_query_job_status(["job-sim-known"])) == 1
        with pytest.raises(KusciaError) as err:
            kc.batch_query_job_status(["job-sim-known", "job-sim-unknown"])
    e = err.value
    assert (e.kind, e.code, e.route) == ("not_found", 11203, "/api/v1/job/status/batchQuery")
    assert "whole batch" in e.hint


def test_per_route_not_found_and_state_codes(kuscia_sim):
    with KusciaClient(config_for(kuscia_sim)) as kc:
        for call, code in (
            (lambda: kc.query_job("job-none"), 11202),
            (lambda: kc.delete_job("job-none"), 11204),
            (lambda: kc.suspend_job("job-none"), 11207),
            (lambda: kc.restart_job("job-none"), 11208),
            (lambda: kc.query_domain("nowhere"), 11305),
            (lambda: kc.query_domaindata("alice", "nothing"), 11506),
        ):
            with pytest.raises(KusciaError) as err:
                call()
            assert (err.value.kind, err.value.code) == ("not_found", code)
        kc.create_job(spec("job-sim-dup"))
        with pytest.raises(KusciaError) as err:
            kc.create_job(spec("job-sim-dup"))
        assert err.value.kind == "already_exists"
        with pytest.raises(KusciaError) as err:
            kc.create_job(replace(spec("Bad_ID"), tasks=()))
        assert err.value.kind == "validation" and err.value.code == 11100


def test_injected_faults_map_to_errors(kuscia_sim):
    with KusciaClient(config_for(kuscia_sim)) as kc:
        kuscia_sim.world.set_faults(malformed_rate=1.0)
        with pytest.raises(KusciaError) as err:
            kc.health()
        assert err.value.kind == "malformed"
        kuscia_sim.world.set_faults(malformed_rate=0.0, error_rate=1.0)
        with pytest.raises(KusciaError) as err:
            kc.health()
        assert (err.value.kind, err.value.status_code) == ("http_error", 503)
        kuscia_sim.world.set_faults(error_rate=0.0, latency=2.0)
        slow = replace(config_for(kuscia_sim), read_timeout=0.3)
        with KusciaClient(slow) as kc2, pytest.raises(KusciaError) as err:
            kc2.health()
        assert err.value.kind == "timeout"
        kuscia_sim.world.set_faults(latency=0.0)
        assert kc.health() is True


# ------------------------------------------------------------------ watch


def test_watch_burst_heartbeats_added_modified_deleted(kuscia_sim_factory):
    sim = kuscia_sim_factory(heartbeat_interval=0.2)
    with KusciaClient(config_for(sim)) as kc:
        for i in range(3):
            kc.create_job(spec(f"job-burst-{i}"))
        ws = kc.watch_jobs(timeout_seconds=3)  # the server ends the stream after 3 s
        with ws:
            it = iter(ws)
            # initial burst: one ADDED per existing job, sent without a `type` key
            burst = [next(it) for _ in range(3)]
            kc.create_job(spec("job-live"))
            kc.delete_job("job-burst-0")
            events = list(it)
        assert {e.job.job_id for e in burst} == {"job-burst-0", "job-burst-1", "job-burst-2"}
        assert all(e.type is EventType.ADDED and "type" not in e.raw for e in burst)
        kinds = {(e.type, e.job.job_id) for e in events}
        assert (EventType.ADDED, "job-live") in kinds
        assert (EventType.DELETED, "job-burst-0") in kinds
        assert any(e.type is EventType.MODIFIED for e in events)
        assert all(e.type is not EventType.HEARTBEAT for e in events)
        # heartbeats were received (quiet periods of 0.2 s after the jobs settled), not yielded
        assert ws.heartbeats >= 1 and ws.connections == 1


def test_watch_reconnect_gets_a_new_burst(kuscia_sim_factory):
    sim = kuscia_sim_factory(heartbeat_interval=0.3)
    with KusciaClient(config_for(sim)) as kc:
        kc.create_job(spec("job-re"))
        ws = kc.watch_jobs(timeout_seconds=1, reconnect=True)
        added_per_connection: dict[int, int] = {}
        deadline = time.monotonic() + 10
        with ws:
            for ev in ws:
                if ev.type is EventType.ADDED and ev.job.job_id == "job-re":
                    added_per_connection[ws.connections] = (
                        added_per_connection.get(ws.connections, 0) + 1
                    )
                if ws.connections >= 3 or time.monotonic() > deadline:
                    break
        assert ws.connections >= 3
        assert added_per_connection.get(1) == 1 and added_per_connection.get(2) == 1


def test_watch_silence_raises_timeout(kuscia_sim_factory):
    sim = kuscia_sim_factory(heartbeat_interval=30)
    with KusciaClient(config_for(sim)) as kc, pytest.raises(KusciaError) as err:
        list(kc.watch_jobs(timeout_seconds=20, silence_timeout=0.5))
    assert err.value.kind == "timeout" and err.value.route == "/api/v1/job/watch"


def test_watch_liveness_is_updated_by_heartbeats(kuscia_sim_factory):
    sim = kuscia_sim_factory(heartbeat_interval=0.2)
    with KusciaClient(config_for(sim)) as kc:
        ws = kc.watch_jobs(timeout_seconds=1)
        with ws:
            assert list(ws) == []  # no jobs: only heartbeats, none yielded
        assert ws.heartbeats >= 2
        assert ws.seconds_since_activity() < 1.0


def test_expired_client_certificate_from_the_right_ca(kuscia_sim, tmp_path):
    from cryptography import x509

    ca_key = serialization.load_pem_private_key(
        (kuscia_sim.cert_dir / "ca.key").read_bytes(), password=None
    )
    ca_cert = x509.load_pem_x509_certificate((kuscia_sim.cert_dir / "ca.crt").read_bytes())
    crt, key = write_pair(tmp_path, "old-client", make_leaf((ca_key, ca_cert), "Old", expired=True))
    e = error_of(config_for(kuscia_sim, cert_file=str(crt), key_file=str(key)))
    assert e.kind == "cert_expired", e.message


def test_dropped_connection_is_not_blamed_on_the_certificate(kuscia_sim):
    kuscia_sim.world.set_faults(drop_rate=1.0)
    e = error_of(config_for(kuscia_sim))
    assert e.kind == "connection", e.message


def test_query_job_returns_int64_as_strings_and_no_resources(kuscia_sim):
    from kuscia.types import BandwidthLimit, JobResource, Party

    base = spec("job-sim-res")
    party = Party(
        "alice",
        resources=JobResource(cpu="1", memory="1Gi"),
        bandwidth_limits=(BandwidthLimit("bob", 1000),),
    )
    task = replace(base.tasks[0], parties=(party, Party("bob")), tolerable=True)
    with KusciaClient(config_for(kuscia_sim)) as kc:
        kc.create_job(replace(base, tasks=(task, base.tasks[1])))
        detail = kc.query_job("job-sim-res")
    p = detail.tasks[0].parties[0]
    assert p.bandwidth_limits == (BandwidthLimit("bob", 1000),)
    assert detail.raw["tasks"][0]["parties"][0]["bandwidth_limits"][0]["limit_kbps"] == "1000"
    assert p.resources is None and detail.tasks[0].tolerable is None


def test_iterating_a_finished_watch_again_resumes(kuscia_sim_factory):
    sim = kuscia_sim_factory(heartbeat_interval=0.2)
    with KusciaClient(config_for(sim)) as kc:
        kc.create_job(spec("job-resume"))
        ws = kc.watch_jobs(timeout_seconds=1)
        first = [e.job.job_id for e in ws if e.type is EventType.ADDED]
        second = [e.job.job_id for e in ws if e.type is EventType.ADDED]
        ws.close()
    assert first == second == ["job-resume"] and ws.connections == 2


def test_close_from_another_thread_wakes_a_blocked_watch(kuscia_sim_factory):
    import threading

    sim = kuscia_sim_factory(heartbeat_interval=20)
    with KusciaClient(config_for(sim)) as kc:
        ws = kc.watch_jobs(timeout_seconds=60)
        timer = threading.Timer(0.3, ws.close)
        timer.start()
        started = time.monotonic()
        assert list(ws) == []  # ends quietly, without waiting for the next heartbeat
        timer.join()
    assert time.monotonic() - started < 5


def test_watch_cut_mid_stream_is_a_connection_error(kuscia_sim_factory):
    sim = kuscia_sim_factory(heartbeat_interval=0.1)
    with KusciaClient(config_for(sim)) as kc:
        kc.create_job(spec("job-cut"))
        sim.world.set_faults(stream_cut_after=0.5)
        ws = kc.watch_jobs(timeout_seconds=30, reconnect=True)  # a cut is not a clean end
        got = []
        with pytest.raises(KusciaError) as err, ws:
            for ev in ws:
                got.append(ev.job.job_id)
    assert got[:1] == ["job-cut"]
    assert err.value.kind == "connection" and err.value.route == "/api/v1/job/watch"
    assert ws.connections == 1


def test_garbage_body_is_malformed(kuscia_sim):
    with KusciaClient(config_for(kuscia_sim)) as kc:
        kuscia_sim.world.set_faults(garbage_rate=1.0)
        with pytest.raises(KusciaError) as err:
            kc.health()
        assert err.value.kind == "malformed"
        kuscia_sim.world.set_faults()
        assert kc.health() is True


def test_watch_cut_mid_object_is_a_connection_error_and_loses_that_event(kuscia_sim_factory):
    sim = kuscia_sim_factory(heartbeat_interval=0.1)
    with KusciaClient(config_for(sim)) as kc:
        kc.create_job(spec("job-mid"))
        sim.world.set_faults(stream_cut_after=0.3, stream_cut_mid_object=True)
        ws = kc.watch_jobs(timeout_seconds=30, reconnect=True)
        got = []
        with pytest.raises(KusciaError) as err, ws:
            for ev in ws:
                got.append(ev.job.job_id if ev.job else ev.type)
    # The ADDED event, then updates; the object cut in half is not parsed into an event.
    assert got[:1] == ["job-mid"]
    assert err.value.kind == "connection" and err.value.route == "/api/v1/job/watch"
    assert sim.requests == 2  # CreateJob and the watch (the simulator counts requests)
