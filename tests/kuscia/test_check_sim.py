"""The connection check names the right failing step, against the real simulator over TLS.

Cases from issue 7: wrong token, missing client cert, client cert from another CA, wrong CA
file, missing file, wrong port, wrong path prefix, server down, expired certificate; plus the
host-name mismatch, a healthy MTLS/NOTLS run, and route status between known domains.
"""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kuscia import check
from kuscia.check import CheckStep, first_failure, run_check
from kuscia.config import ConnectionConfig
from simulator import ensure_certs
from simulator.certs import make_foreign_client_pair


def config_for(sim, **overrides) -> ConnectionConfig:
    base = ConnectionConfig.from_cert_dir(sim.url, sim.cert_dir, connect_timeout=3.0)
    return ConnectionConfig(**{**base.__dict__, **overrides})


def statuses(steps: list[CheckStep]) -> dict[str, str]:
    return {s.name: s.status for s in steps}


def failing(steps: list[CheckStep]) -> CheckStep:
    step = first_failure(steps)
    assert step is not None, [(s.name, s.status, s.detail) for s in steps]
    # Everything after the failing step is skipped, everything before it ran.
    names = [s.name for s in steps]
    after = steps[names.index(step.name) + 1 :]
    assert all(s.status == "skipped" for s in after), [(s.name, s.status) for s in after]
    return step


def test_healthy_mtls_connection_passes_every_step(kuscia_sim):
    kuscia_sim.world.set_route_status("alice", "bob", "Succeeded", "")
    kuscia_sim.world.set_route_status("bob", "alice", "Succeeded", "")
    steps = run_check(config_for(kuscia_sim), domains=["alice", "bob"])
    assert [s.name for s in steps] == list(check.STEP_NAMES)
    assert first_failure(steps) is None
    assert all(s.status == "ok" for s in steps), [(s.name, s.status, s.detail) for s in steps]
    token = (kuscia_sim.cert_dir / "token").read_text()
    assert all(token not in s.detail + s.hint for s in steps)


def test_route_problem_is_a_warning_with_its_reason(kuscia_sim):
    kuscia_sim.world.set_route_status("alice", "bob", "Failed", "handshake with bob timed out")
    kuscia_sim.world.set_route_status("bob", "alice", "Succeeded", "")
    steps = run_check(config_for(kuscia_sim), domains=["alice", "bob"])
    routes = steps[-1]
    assert routes.name == check.ROUTES and routes.status == "warn"
    assert "handshake with bob timed out" in routes.detail


def test_wrong_token(kuscia_sim, tmp_path):
    token = tmp_path / "token"
    token.write_text("x" * 32)
    step = failing(run_check(config_for(kuscia_sim, token_file=str(token))))
    assert step.name == check.TOKEN
    assert "401" in step.detail and "Token" in step.hint


def test_token_with_trailing_newline_is_a_file_problem(kuscia_sim, tmp_path):
    token = tmp_path / "token"
    token.write_text((kuscia_sim.cert_dir / "token").read_text() + "\n")
    step = failing(run_check(config_for(kuscia_sim, token_file=str(token))))
    assert step.name == check.FILES and "white space or a line break" in step.detail


def test_missing_client_certificate(kuscia_sim):
    steps = run_check(config_for(kuscia_sim, cert_file="", key_file=""))
    assert statuses(steps)[check.FILES] == "warn"
    step = failing(steps)
    assert step.name == check.CLIENT_CERT
    assert "(56)" in step.hint and "no client certificate" in step.detail


def test_client_certificate_from_another_ca(kuscia_sim, tmp_path):
    crt, key = make_foreign_client_pair(tmp_path)
    step = failing(run_check(config_for(kuscia_sim, cert_file=str(crt), key_file=str(key))))
    assert step.name == check.CLIENT_CERT
    assert "(56)" in step.hint and "CN=KusciaAPIClient" in step.detail


def test_wrong_ca_file(kuscia_sim, tmp_path):
    other = tmp_path / "other-node"
    ensure_certs(other)
    step = failing(run_check(config_for(kuscia_sim, ca_file=str(other / "ca.crt"))))
    assert step.name == check.SERVER_CERT
    assert "does not chain" in step.detail and "ca.crt of the same Kuscia node" in step.hint


def test_missing_file(kuscia_sim, tmp_path):
    step = failing(run_check(config_for(kuscia_sim, key_file=str(tmp_path / "nope.key"))))
    assert step.name == check.FILES
    assert "does not exist" in step.detail and "(58)" in step.hint


def test_unreadable_file_content(kuscia_sim, tmp_path):
    bad = tmp_path / "ca.crt"
    bad.write_text("not a certificate")
    step = failing(run_check(config_for(kuscia_sim, ca_file=str(bad))))
    assert step.name == check.FILES and "no PEM certificate" in step.detail


def test_key_that_does_not_match_the_certificate(kuscia_sim, tmp_path):
    _crt, key = make_foreign_client_pair(tmp_path)
    step = failing(run_check(config_for(kuscia_sim, key_file=str(key))))
    assert step.name == check.FILES and "does not belong" in step.detail


def test_wrong_port_that_speaks_plain_http(kuscia_sim, kuscia_sim_factory):
    plain = kuscia_sim_factory(protocol="NOTLS")
    url = f"https://127.0.0.1:{plain.port}"
    step = failing(run_check(config_for(kuscia_sim, url=url)))
    assert step.name == check.TLS
    assert "does not speak TLS" in step.detail


def test_wrong_port_where_nothing_listens(kuscia_sim):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    step = failing(run_check(config_for(kuscia_sim, url=f"https://127.0.0.1:{free}")))
    assert step.name == check.ADDRESS and "refuses connections" in step.detail
    assert "13082" in step.hint


def test_wrong_path_prefix(kuscia_sim):
    steps = run_check(config_for(kuscia_sim, url=kuscia_sim.url + "/api/v1"))
    step = failing(steps)
    assert step.name == check.API_PATH and "404" in step.detail
    assert statuses(steps)[check.TOKEN] == "ok"


def test_server_down(kuscia_sim_factory):
    sim = kuscia_sim_factory()
    config = config_for(sim)
    sim.stop()
    step = failing(run_check(config))
    assert step.name == check.ADDRESS and "nothing listens" in step.detail


def test_host_name_not_in_certificate_suggests_server_name(kuscia_sim):
    step = failing(run_check(config_for(kuscia_sim, tls_server_name="kuscia.example.org")))
    assert step.name == check.SERVER_CERT
    assert "not valid for kuscia.example.org" in step.detail
    assert "server-name setting" in step.hint and "kusciaapi" in step.hint


def test_server_name_setting_makes_it_pass(kuscia_sim):
    steps = run_check(config_for(kuscia_sim, tls_server_name="kusciaapi"))
    assert statuses(steps)[check.SERVER_CERT] == "ok"
    assert first_failure(steps) is None


def test_unresolvable_host(kuscia_sim):
    step = failing(run_check(config_for(kuscia_sim, url="https://no-such-host.invalid:8082")))
    assert step.name == check.ADDRESS and "does not resolve" in step.detail


def _sign(ca_dir: Path, out_dir: Path, *, cn: str, not_after: dt.datetime, name: str):
    ca_key = serialization.load_pem_private_key((ca_dir / "ca.key").read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate((ca_dir / "ca.crt").read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - dt.timedelta(days=30))
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.DNSName("kusciaapi"),
                    x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1")),
                ]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    crt_path, key_path = out_dir / f"{name}.crt", out_dir / f"{name}.key"
    crt_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return crt_path, key_path


def test_expired_client_certificate(kuscia_sim, tmp_path):
    now = dt.datetime.now(dt.UTC)
    crt, key = _sign(
        kuscia_sim.cert_dir,
        tmp_path,
        cn="ExpiredClient",
        not_after=now - dt.timedelta(days=2),
        name="client",
    )
    steps = run_check(config_for(kuscia_sim, cert_file=str(crt), key_file=str(key)))
    step = first_failure(steps)
    assert step is not None and step.name == check.EXPIRY, steps
    assert "client certificate CN=ExpiredClient expired on" in step.detail
    assert "init_kusciaapi_client_certs" in step.hint


def test_expired_server_certificate(kuscia_sim_factory, sim_cert_dir, tmp_path):
    cert_dir = tmp_path / "certs"
    shutil.copytree(sim_cert_dir, cert_dir)
    now = dt.datetime.now(dt.UTC)
    _sign(
        cert_dir,
        cert_dir,
        cn="KusciaAPI",
        not_after=now - dt.timedelta(days=1),
        name="kusciaapi-server",
    )
    sim = kuscia_sim_factory(cert_dir=cert_dir)
    steps = run_check(config_for(sim))
    step = failing(steps)
    assert step.name == check.EXPIRY
    assert "server certificate CN=KusciaAPI expired on" in step.detail
    assert "kusciaapi-server.key" in step.hint


def test_certificate_expiring_soon_is_a_warning(kuscia_sim, tmp_path):
    now = dt.datetime.now(dt.UTC)
    crt, key = _sign(
        kuscia_sim.cert_dir,
        tmp_path,
        cn="SoonClient",
        not_after=now + dt.timedelta(days=10),
        name="client",
    )
    steps = run_check(config_for(kuscia_sim, cert_file=str(crt), key_file=str(key)))
    assert statuses(steps)[check.EXPIRY] == "warn"
    assert first_failure(steps) is None


def test_notls_skips_tls_and_token(kuscia_sim_factory):
    sim = kuscia_sim_factory(protocol="NOTLS")
    steps = run_check(ConnectionConfig(url=sim.url, protocol="NOTLS"))
    got = statuses(steps)
    assert got[check.TLS] == got[check.SERVER_CERT] == got[check.TOKEN] == "skipped"
    assert got[check.HEALTHZ] == "ok" and got[check.WATCH] == "ok"
    assert first_failure(steps) is None


def test_https_url_with_notls_protocol_is_refused_early(kuscia_sim):
    step = failing(run_check(config_for(kuscia_sim, protocol="NOTLS")))
    assert step.name == check.ADDRESS and "http://" in step.detail


def test_silent_server_times_out_on_the_handshake(tmp_path):
    """A port that accepts but never answers: the TLS step fails by timeout, not a hang."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        cert_dir = tmp_path / "c"
        ensure_certs(cert_dir)
        config = ConnectionConfig.from_cert_dir(
            f"https://127.0.0.1:{listener.getsockname()[1]}", cert_dir, connect_timeout=0.5
        )
        step = failing(run_check(config))
        assert step.name == check.TLS and "no TLS answer within 0.5 s" in step.detail
    finally:
        stop.set()
        thread.join()
        listener.close()
        for s in accepted:
            s.close()


class HangingWatch:
    """A watch that neither sends events nor ends (a proxy holding the stream)."""

    def __init__(self) -> None:
        self.closed = threading.Event()

    def __iter__(self):
        self.closed.wait(30)
        from kuscia.errors import KusciaTransportError

        raise KusciaTransportError("stream closed", kind="connection")

    def close(self) -> None:
        self.closed.set()


def test_watch_that_never_ends_is_cut_off_with_a_warning(kuscia_sim, monkeypatch):
    from kuscia.client import KusciaClient

    monkeypatch.setattr(check, "WATCH_DEADLINE", 0.5)

    class HeldWatchClient(KusciaClient):
        def watch_jobs(self, timeout_seconds=60, **kw):
            return HangingWatch()

    steps = run_check(config_for(kuscia_sim), client_factory=HeldWatchClient)
    watch = statuses(steps)[check.WATCH]
    assert watch == "warn", steps
    assert first_failure(steps) is None


def test_tls_mode_without_client_certificate(kuscia_sim_factory):
    sim = kuscia_sim_factory(protocol="TLS")
    config = ConnectionConfig(
        url=sim.url,
        protocol="TLS",
        ca_file=str(sim.cert_dir / "ca.crt"),
        token_file=str(sim.cert_dir / "token"),
    )
    steps = run_check(config)
    got = statuses(steps)
    assert got[check.CLIENT_CERT] == "skipped" and got[check.TOKEN] == "ok"
    assert first_failure(steps) is None


def test_mtls_config_against_a_tls_server_warns_about_the_protocol(kuscia_sim_factory):
    sim = kuscia_sim_factory(protocol="TLS")
    steps = run_check(config_for(sim, cert_file="", key_file=""))
    client = next(s for s in steps if s.name == check.CLIENT_CERT)
    assert client.status == "warn" and "runs TLS, not MTLS" in client.detail
