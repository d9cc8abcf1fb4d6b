"""KusciaClient over httpx.MockTransport: requests sent, replies parsed, errors classified."""

from __future__ import annotations

import datetime as dt
import json
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from kuscia.client import KusciaClient
from kuscia.config import ConnectionConfig
from kuscia.errors import (
    KusciaAPIError,
    KusciaConfigError,
    KusciaError,
    KusciaHTTPError,
    KusciaMalformed,
    KusciaTransportError,
    api_error,
    transport_error,
)
from kuscia.stream import ObjectDecoder
from kuscia.types import EventType
from tests.kuscia.test_wire import QUERY_JOB_DATA, example_spec

DATA = Path(__file__).resolve().parent.parent / "data"
TOKEN = b"0123456789abcdefABCDEF+/01234567"


# ------------------------------------------------------------------ certificates (cryptography)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca(cn: str = "Test CA"):
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_leaf(ca, cn: str, *, sans=("localhost", "127.0.0.1"), expired: bool = False):
    ca_key, ca_cert = ca
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    alt = [
        x509.IPAddress(ipaddress.ip_address(s)) if s[0].isdigit() else x509.DNSName(s) for s in sans
    ]
    if expired:
        start, end = now - dt.timedelta(days=30), now - dt.timedelta(days=1)
    else:
        start, end = now - dt.timedelta(days=1), now + dt.timedelta(days=30)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def write_pair(dir_: Path, stem: str, pair) -> tuple[Path, Path]:
    key, cert = pair
    crt = dir_ / f"{stem}.crt"
    k = dir_ / f"{stem}.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return crt, k


def make_cert_dir(dir_: Path, *, token: bytes = TOKEN) -> Path:
    """A directory laid out like Kuscia's var/certs (ca.crt, kusciaapi-server.*, token)."""
    dir_.mkdir(parents=True, exist_ok=True)
    ca = make_ca()
    (dir_ / "ca.crt").write_bytes(ca[1].public_bytes(serialization.Encoding.PEM))
    write_pair(dir_, "kusciaapi-server", make_leaf(ca, "KusciaAPI"))
    (dir_ / "token").write_bytes(token)
    return dir_


# ------------------------------------------------------------------ helpers


OK = {"code": 0, "message": "success", "details": []}


def reply(data, status=OK) -> httpx.Response:
    return httpx.Response(200, json={"status": status, "data": data})


class Recorder:
    """A MockTransport handler answering from a route -> response table, recording requests."""

    def __init__(self, routes: dict):
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.routes.get(request.url.path)
        if answer is None:
            return httpx.Response(404, text="404 page not found")
        return answer(request) if callable(answer) else answer

    def body(self, i: int = -1) -> dict:
        return json.loads(self.requests[i].content)


@pytest.fixture
def cert_dir(tmp_path) -> Path:
    return make_cert_dir(tmp_path / "certs")


def mtls_client(cert_dir: Path, handler, **kw) -> KusciaClient:
    config = ConnectionConfig.from_cert_dir("https://127.0.0.1:13082", cert_dir, **kw)
    return KusciaClient(config, transport=httpx.MockTransport(handler))


# ------------------------------------------------------------------ config


def test_from_cert_dir_uses_seed_names_and_explicit_paths_win(tmp_path):
    c = ConnectionConfig.from_cert_dir(
        "https://h:1/", tmp_path, key_file="/other/key.pem", cert_file="", protocol="tls"
    )
    assert c.ca_file == str(tmp_path / "ca.crt")
    assert c.cert_file == str(tmp_path / "kusciaapi-server.crt")
    assert c.key_file == "/other/key.pem"
    assert c.token_file == str(tmp_path / "token")
    assert c.protocol == "TLS" and c.url == "https://h:1"


def test_from_settings_reads_kuscia_settings(settings, tmp_path):
    settings.KUSCIA_API_URL = "https://kuscia.example:13082"
    settings.KUSCIA_PROTOCOL = "MTLS"
    settings.KUSCIA_CERT_DIR = str(tmp_path)
    settings.KUSCIA_TOKEN_FILE = "/run/secrets/token"
    settings.KUSCIA_TLS_SERVER_NAME = "kusciaapi"
    settings.KUSCIA_CONNECT_TIMEOUT = 2.5
    from connections.config import default_config

    c = default_config()
    assert c.url == "https://kuscia.example:13082"
    assert c.ca_file == str(tmp_path / "ca.crt") and c.token_file == "/run/secrets/token"
    assert c.tls_server_name == "kusciaapi" and c.connect_timeout == 2.5


def test_kuscia_package_stays_django_free():
    import subprocess
    import sys

    code = (
        "import sys, kuscia.client, kuscia.wire, kuscia.stream;"
        "assert 'django' not in sys.modules, 'django imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


def never(request):
    raise AssertionError("no request may be sent")


@pytest.mark.parametrize(
    "missing", ["ca.crt", "kusciaapi-server.crt", "kusciaapi-server.key", "token"]
)
def test_missing_file_is_cert_file_before_any_connection(cert_dir, missing):
    (cert_dir / missing).unlink()
    with pytest.raises(KusciaConfigError) as err:
        mtls_client(cert_dir, never)
    assert err.value.kind == "cert_file"
    assert missing in err.value.message
    assert "(58)" in err.value.hint


def test_unreadable_and_garbage_files(cert_dir):
    (cert_dir / "kusciaapi-server.crt").write_text("not a certificate")
    with pytest.raises(KusciaConfigError) as err:
        mtls_client(cert_dir, never)
    assert err.value.kind == "cert_file"
    (cert_dir / "kusciaapi-server.crt").unlink()
    (cert_dir / "kusciaapi-server.crt").mkdir()  # a directory is unreadable as a file
    with pytest.raises(KusciaConfigError) as err:
        mtls_client(cert_dir, never)
    assert err.value.kind == "cert_file"


def test_token_with_newline_is_refused_with_advice(cert_dir):
    (cert_dir / "token").write_bytes(TOKEN + b"\n")
    with pytest.raises(KusciaConfigError) as err:
        mtls_client(cert_dir, never)
    assert err.value.kind == "cert_file" and "newline" in err.value.hint


@pytest.mark.parametrize(
    "url, protocol",
    [
        ("http://127.0.0.1:1", "MTLS"),
        ("https://127.0.0.1:1", "NOTLS"),
        ("ftp://x", "TLS"),
        ("x", "MTLS"),
    ],
)
def test_bad_url_or_protocol_combination(url, protocol):
    with pytest.raises(KusciaConfigError) as err:
        KusciaClient(
            ConnectionConfig(url=url, protocol=protocol), transport=httpx.MockTransport(never)
        )
    assert err.value.kind == "config"
    with pytest.raises(KusciaConfigError):
        KusciaClient(ConnectionConfig(url="https://h:1", protocol="QUIC"))


def test_url_with_a_path_is_wrong_path():
    with pytest.raises(KusciaConfigError) as err:
        KusciaClient(ConnectionConfig(url="http://h:1/api/v1", protocol="NOTLS"))
    assert err.value.kind == "wrong_path"


# ------------------------------------------------------------------ requests and parsing


def test_token_header_is_the_exact_file_bytes_and_json_body(cert_dir):
    rec = Recorder({"/healthZ": reply({"ready": True})})
    with mtls_client(cert_dir, rec) as kc:
        assert kc.health() is True
    req = rec.requests[0]
    assert req.method == "POST" and req.url.path == "/healthZ"
    assert req.headers.get_list("Token") == [TOKEN.decode()]
    assert req.headers["content-type"] == "application/json"
    assert rec.body() == {}


def test_notls_sends_no_token():
    rec = Recorder({"/healthZ": reply({"ready": False})})
    config = ConnectionConfig(
        url="http://127.0.0.1:8082", protocol="NOTLS", token_file="/nonexistent"
    )
    with KusciaClient(config, transport=httpx.MockTransport(rec)) as kc:
        assert kc.health() is False
    assert "token" not in rec.requests[0].headers


def test_seed_batchquery_golden_through_the_client(cert_dir):
    raw = (DATA / "seed_batchquery_reply.json").read_bytes()
    rec = Recorder({"/api/v1/job/status/batchQuery": httpx.Response(200, content=raw)})
    with mtls_client(cert_dir, rec) as kc:
        jobs = kc.batch_query_job_status(["job-best-effort-linear"])
        assert kc.batch_query_job_status([]) == []  # no call for an empty batch
    assert len(rec.requests) == 1
    assert rec.body() == {"job_ids": ["job-best-effort-linear"]}
    (job,) = jobs
    assert job.status.state == "Succeeded"
    assert [(t.task_id, [p.domain_id for p in t.parties]) for t in job.status.tasks] == [
        ("job-psi", ["alice", "bob"]),
        ("job-split", ["alice", "bob"]),
    ]
    assert sum(len(p.endpoints) for t in job.status.tasks for p in t.parties) == 12


def test_every_job_route_path_and_body(cert_dir):
    def echo_job(request):
        return reply({"job_id": json.loads(request.content)["job_id"]})

    routes = {
        f"/api/v1/job/{name}": echo_job
        for name in ("create", "stop", "suspend", "restart", "cancel", "approve", "delete")
    }
    rec = Recorder(routes)
    with mtls_client(cert_dir, rec) as kc:
        assert kc.create_job(example_spec()) == "job-best-effort-linear"
        assert kc.stop_job("j", "because") == "j"
        assert kc.suspend_job("j") == "j"
        assert kc.restart_job("j", "again") == "j"
        assert kc.cancel_job("j") == "j"
        assert kc.approve_job("j", True, "ok") == "j"
        assert kc.approve_job("j", False) == "j"
        assert kc.delete_job("j") == "j"
    bodies = [(r.url.path, json.loads(r.content)) for r in rec.requests]
    assert bodies[0][1]["tasks"][1]["dependencies"] == ["job-psi"]
    assert bodies[1:] == [
        ("/api/v1/job/stop", {"job_id": "j", "reason": "because"}),
        ("/api/v1/job/suspend", {"job_id": "j", "reason": ""}),
        ("/api/v1/job/restart", {"job_id": "j", "reason": "again"}),
        ("/api/v1/job/cancel", {"job_id": "j", "reason": ""}),
        ("/api/v1/job/approve", {"job_id": "j", "result": "APPROVE_RESULT_ACCEPT", "reason": "ok"}),
        ("/api/v1/job/approve", {"job_id": "j", "result": "APPROVE_RESULT_REJECT", "reason": ""}),
        ("/api/v1/job/delete", {"job_id": "j"}),
    ]


def test_query_job_and_domain_routes(cert_dir):
    dd = {"domaindata_id": "alice-table", "domain_id": "alice", "name": "alice.csv"}
    rec = Recorder(
        {
            "/api/v1/job/query": reply(QUERY_JOB_DATA),
            "/api/v1/domain/query": reply({"domain_id": "alice", "role": "", "node_statuses": []}),
            "/api/v1/domain/batchQuery": reply(
                {"domains": [{"domain_id": "alice"}, {"domain_id": "bob", "role": "partner"}]}
            ),
            "/api/v1/domaindata/list": reply({"domaindata_list": [dd]}),
            "/api/v1/domaindata/query": reply(dd),
            "/api/v1/domaindata/batchQuery": reply({"domaindata_list": [dd]}),
            "/api/v1/route/status/batchQuery": reply(
                {
                    "routes": [
                        {
                            "name": "alice-bob",
                            "source": "alice",
                            "destination": "bob",
                            "status": {"status": "Succeeded", "reason": ""},
                        }
                    ]
                }
            ),
        }
    )
    with mtls_client(cert_dir, rec) as kc:
        assert kc.query_job("job-best-effort-linear").tasks[1].dependencies == ("job-psi",)
        assert kc.query_domain("alice").domain_id == "alice"
        assert [d.role for d in kc.batch_query_domains(["alice", "bob"])] == ["", "partner"]
        assert kc.list_domaindata("alice")[0].name == "alice.csv"
        assert kc.query_domaindata("alice", "alice-table").domaindata_id == "alice-table"
        assert len(kc.batch_query_domaindata([("alice", "alice-table"), ("alice", "gone")])) == 1
        assert kc.batch_query_route_status([("alice", "bob")])[0].status == "Succeeded"
    bodies = [(r.url.path, json.loads(r.content)) for r in rec.requests]
    assert bodies == [
        ("/api/v1/job/query", {"job_id": "job-best-effort-linear"}),
        ("/api/v1/domain/query", {"domain_id": "alice"}),
        ("/api/v1/domain/batchQuery", {"domain_ids": ["alice", "bob"]}),
        (
            "/api/v1/domaindata/list",
            {"data": {"domain_id": "alice", "domaindata_type": "", "domaindata_vendor": ""}},
        ),
        (
            "/api/v1/domaindata/query",
            {"data": {"domain_id": "alice", "domaindata_id": "alice-table"}},
        ),
        (
            "/api/v1/domaindata/batchQuery",
            {
                "data": [
                    {"domain_id": "alice", "domaindata_id": "alice-table"},
                    {"domain_id": "alice", "domaindata_id": "gone"},
                ]
            },
        ),
        (
            "/api/v1/route/status/batchQuery",
            {"route_keys": [{"source": "alice", "destination": "bob"}]},
        ),
    ]


def test_version_is_get_plain_text(cert_dir):
    rec = Recorder({"/version": httpx.Response(200, text="v0.14.0b0\n")})
    with mtls_client(cert_dir, rec) as kc:
        assert kc.version() == "v0.14.0b0"
    assert rec.requests[0].method == "GET"


def test_tls_server_name_is_sent_as_sni_extension(cert_dir):
    rec = Recorder({"/healthZ": reply({"ready": True})})
    with mtls_client(cert_dir, rec, tls_server_name="kusciaapi") as kc:
        kc.health()
    assert rec.requests[0].extensions["sni_hostname"] == "kusciaapi"


# ------------------------------------------------------------------ error mapping


def test_http_401_and_404_and_redirect(cert_dir):
    rec = Recorder(
        {
            "/healthZ": httpx.Response(401),
            "/api/v1/job/query": httpx.Response(307, headers={"Location": "/api/v1/job/query"}),
            "/api/v1/job/stop": httpx.Response(500, text="boom"),
        }
    )
    with mtls_client(cert_dir, rec) as kc:
        with pytest.raises(KusciaHTTPError) as e401:
            kc.health()
        with pytest.raises(KusciaHTTPError) as e404:
            kc.query_domain("alice")
        with pytest.raises(KusciaHTTPError) as e307:
            kc.query_job("x")
        with pytest.raises(KusciaHTTPError) as e500:
            kc.stop_job("x")
    assert (e401.value.kind, e401.value.status_code) == ("unauthorized", 401)
    assert "Token" in e401.value.hint and "token" in e401.value.hint
    assert e404.value.kind == "wrong_path" and "8082" in e404.value.hint
    assert e404.value.route == "/api/v1/domain/query"
    assert e307.value.kind == "wrong_path"
    assert e500.value.kind == "http_error" and e500.value.status_code == 500
    assert e500.value.to_dict()["status_code"] == 500


def err_status(code: int, message: str) -> dict:
    return {"code": code, "message": message, "details": []}


NOT_FOUND = 'kusciakuscia.secretflow "job-x" not found'


@pytest.mark.parametrize(
    "route, call, code, message, kind",
    [
        ("/api/v1/job/query", lambda kc: kc.query_job("job-x"), 11202, NOT_FOUND, "not_found"),
        (
            "/api/v1/job/status/batchQuery",
            lambda kc: kc.batch_query_job_status(["a", "job-x"]),
            11203,
            NOT_FOUND,
            "not_found",
        ),
        ("/api/v1/job/delete", lambda kc: kc.delete_job("job-x"), 11204, NOT_FOUND, "not_found"),
        ("/api/v1/job/stop", lambda kc: kc.stop_job("job-x"), 11205, NOT_FOUND, "not_found"),
        (
            "/api/v1/job/approve",
            lambda kc: kc.approve_job("job-x", True),
            11206,
            NOT_FOUND,
            "not_found",
        ),
        ("/api/v1/job/suspend", lambda kc: kc.suspend_job("job-x"), 11207, NOT_FOUND, "not_found"),
        ("/api/v1/job/restart", lambda kc: kc.restart_job("job-x"), 11208, NOT_FOUND, "not_found"),
        ("/api/v1/job/cancel", lambda kc: kc.cancel_job("job-x"), 11209, NOT_FOUND, "not_found"),
        # restart's failed update is reported with the *suspend* code: not a not-found
        (
            "/api/v1/job/restart",
            lambda kc: kc.restart_job("j"),
            11207,
            "update failed",
            "api_error",
        ),
        # the batch code on the single-query route is not "not found"
        ("/api/v1/job/query", lambda kc: kc.query_job("j"), 11203, NOT_FOUND, "api_error"),
        (
            "/api/v1/job/query",
            lambda kc: kc.query_job("j"),
            11202,
            "domain's KusciaAPI could only retrieve the job ...",
            "api_error",
        ),
        (
            "/api/v1/domain/query",
            lambda kc: kc.query_domain("x"),
            11305,
            'domains.kuscia.secretflow "x" not found',
            "not_found",
        ),
        (
            "/api/v1/domaindata/query",
            lambda kc: kc.query_domaindata("a", "x"),
            11506,
            "domaindata not exists",
            "not_found",
        ),
        (
            "/api/v1/job/create",
            lambda kc: kc.create_job(example_spec()),
            11201,
            'kusciakuscia.secretflow "job-best-effort-linear" already exists',
            "already_exists",
        ),
        (
            "/api/v1/job/create",
            lambda kc: kc.create_job(example_spec()),
            11100,
            "tasks can not be empty",
            "validation",
        ),
        (
            "/api/v1/job/suspend",
            lambda kc: kc.suspend_job("j"),
            11210,
            "job: j current status is Failed can not be suspend.",
            "state_precondition",
        ),
        (
            "/api/v1/job/restart",
            lambda kc: kc.restart_job("j"),
            11211,
            "job: j current status is Running can not be restart.",
            "state_precondition",
        ),
        (
            "/api/v1/domain/query",
            lambda kc: kc.query_domain("x"),
            11104,
            "not support",
            "not_supported",
        ),
        ("/api/v1/job/stop", lambda kc: kc.stop_job("j"), 11105, "not support", "not_supported"),
        ("/api/v1/job/stop", lambda kc: kc.stop_job("j"), 11102, "auth failed", "forbidden"),
        ("/api/v1/job/stop", lambda kc: kc.stop_job("j"), 11101, "EOF", "api_error"),
        ("/api/v1/job/stop", lambda kc: kc.stop_job("j"), 99999, "??", "api_error"),
    ],
)
def test_status_codes_classified_per_route(cert_dir, route, call, code, message, kind):
    rec = Recorder({route: reply(None, err_status(code, message))})
    with mtls_client(cert_dir, rec) as kc, pytest.raises(KusciaAPIError) as err:
        call(kc)
    e = err.value
    assert (e.kind, e.code, e.route, e.message) == (kind, code, route, message)
    assert e.hint and "\n" not in e.hint
    assert type(e) is KusciaAPIError  # one class: `kind` is what tells refusals apart
    assert kind == "api_error" or e.hint != KusciaAPIError.default_hint  # each kind's own hint
    assert e.to_dict() == {
        "kind": kind,
        "message": message,
        "hint": e.hint,
        "code": code,
        "route": route,
    }


def test_batch_not_found_hint_explains_whole_batch():
    e = api_error("/api/v1/job/status/batchQuery", 11203, NOT_FOUND)
    assert "whole batch" in e.hint


def test_framework_error_shape_without_details_or_data(cert_dir):
    rec = Recorder(
        {
            "/api/v1/job/query": httpx.Response(
                200, json={"status": {"code": 11101, "message": "EOF"}}
            )
        }
    )
    with mtls_client(cert_dir, rec) as kc, pytest.raises(KusciaAPIError) as err:
        kc.query_job("j")
    assert err.value.code == 11101


@pytest.mark.parametrize(
    "response, fragment",
    [
        (httpx.Response(200, content=b""), "empty"),
        (httpx.Response(200, content=b'{"status":{"code":0,"message":"succ'), "cut off"),
        (httpx.Response(200, content=b"<html>hello</html>"), "not JSON"),
        (httpx.Response(200, json=[1, 2]), "no status"),
        (httpx.Response(200, json={"status": {"code": "x"}}), "not a number"),
        (httpx.Response(200, json={"status": {"code": "\u00b2"}}), "not a number"),
        (httpx.Response(200, json={"status": OK, "data": {"jobs": {"a": 1}}}), "data.jobs"),
        (
            httpx.Response(
                200,
                json={"status": OK, "data": {"jobs": [{"job_id": "a", "status": {"state": 1}}]}},
            ),
            "data.jobs[0].status.state",
        ),
    ],
)
def test_malformed_bodies(cert_dir, response, fragment):
    rec = Recorder({"/api/v1/job/status/batchQuery": response})
    with mtls_client(cert_dir, rec) as kc, pytest.raises(KusciaMalformed) as err:
        kc.batch_query_job_status(["a"])
    assert err.value.kind == "malformed" and fragment in err.value.message
    assert err.value.route == "/api/v1/job/status/batchQuery"


@pytest.mark.parametrize(
    "exc, kind",
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), "connection"),
        (httpx.ConnectTimeout("timed out"), "timeout"),
        (httpx.ReadTimeout("timed out"), "timeout"),
    ],
)
def test_transport_exceptions_become_kuscia_errors(cert_dir, exc, kind):
    def handler(request):
        raise exc

    with mtls_client(cert_dir, handler) as kc, pytest.raises(KusciaTransportError) as err:
        kc.health()
    assert err.value.kind == kind and err.value.route == "/healthZ"


def _chained(outer: Exception, inner: BaseException) -> Exception:
    try:
        try:
            raise inner
        except BaseException as e:
            raise outer from e
    except Exception as got:
        return got


def _verify_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    e = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] {message}")
    e.verify_code = code
    e.verify_message = message
    return e


def _ssl_error(reason: str) -> ssl.SSLError:
    e = ssl.SSLError(1, f"[SSL: {reason}] {reason.lower()}")
    e.reason = reason
    return e


@pytest.mark.parametrize(
    "inner, protocol, phase, kind",
    [
        (
            _verify_error(19, "self-signed certificate in certificate chain"),
            "MTLS",
            "connect",
            "tls_untrusted",
        ),
        (
            _verify_error(20, "unable to get local issuer certificate"),
            "TLS",
            "connect",
            "tls_untrusted",
        ),
        (_verify_error(62, "Hostname mismatch"), "MTLS", "connect", "tls_hostname"),
        (_verify_error(64, "IP address mismatch"), "MTLS", "connect", "tls_hostname"),
        (_verify_error(10, "certificate has expired"), "MTLS", "connect", "cert_expired"),
        (_ssl_error("SSLV3_ALERT_BAD_CERTIFICATE"), "MTLS", "connect", "tls_client_refused"),
        (_ssl_error("TLSV13_ALERT_CERTIFICATE_REQUIRED"), "TLS", "connect", "tls_client_refused"),
        (_ssl_error("TLSV1_ALERT_UNKNOWN_CA"), "MTLS", "connect", "tls_client_refused"),
        (_ssl_error("SSLV3_ALERT_CERTIFICATE_EXPIRED"), "MTLS", "connect", "cert_expired"),
        (_ssl_error("WRONG_VERSION_NUMBER"), "MTLS", "connect", "tls_protocol"),
        (_ssl_error("TLSV1_ALERT_NO_APPLICATION_PROTOCOL"), "MTLS", "connect", "wrong_path"),
        (_ssl_error("SOMETHING_ELSE"), "MTLS", "connect", "tls_error"),
        (
            ConnectionResetError(104, "Connection reset by peer"),
            "MTLS",
            "connect",
            "tls_client_refused",
        ),
        (ConnectionResetError(104, "Connection reset by peer"), "NOTLS", "connect", "connection"),
        (ConnectionResetError(104, "Connection reset by peer"), "MTLS", "read", "connection"),
        (ConnectionRefusedError(111, "Connection refused"), "MTLS", "connect", "connect_refused"),
        (__import__("socket").gaierror(-2, "Name or service not known"), "MTLS", "connect", "dns"),
    ],
)
def test_transport_classification_by_cause(inner, protocol, phase, kind):
    exc = _chained(httpx.ConnectError("failed"), inner)
    e = transport_error(exc, route="/healthZ", protocol=protocol, url="https://h:1", phase=phase)
    assert e.kind == kind, e.message
    assert e.hint and "\n" not in e.hint
    if kind == "tls_client_refused":
        assert ("(56)" in e.hint) == (protocol == "MTLS")
    if kind == "tls_hostname":
        assert "KUSCIA_TLS_SERVER_NAME" in e.hint


# ------------------------------------------------------------------ streams


def test_object_decoder_splits_anywhere_including_inside_utf8():
    objs = [
        {"type": 4},
        {"object": {"job_id": "j-ü", "status": {"err_msg": 'a "}{" b'}}},
        {"type": 1},
    ]
    wire_bytes = b"".join(json.dumps(o, ensure_ascii=False).encode() for o in objs)
    for size in (1, 2, 3, 7, 64, len(wire_bytes)):
        dec = ObjectDecoder()
        got = []
        for i in range(0, len(wire_bytes), size):
            got += dec.feed(wire_bytes[i : i + size])
        dec.finish()
        assert got == objs, size


@pytest.mark.parametrize(
    "payload, fragment",
    [
        (b'{"type":4}{"type":', "cut off"),
        (b'{"type":4}[1]', "expected a JSON object"),
        (b'{"type":4}{"a":x}', "invalid JSON"),
        (b'{"a":1}\xff\xfe', "UTF-8"),
    ],
)
def test_object_decoder_malformed(payload, fragment):
    dec = ObjectDecoder()
    with pytest.raises(KusciaMalformed) as err:
        dec.feed(payload)
        dec.finish()
    assert fragment in err.value.message


def job(job_id: str, state: str = "Running") -> dict:
    return {"job_id": job_id, "status": {"state": state, "create_time": "2025-04-16T10:42:55Z"}}


def chunked(*objs: dict, split: int = 5):
    data = b"".join(json.dumps(o, separators=(",", ":")).encode() for o in objs)

    def gen():
        for i in range(0, len(data), split):
            yield data[i : i + split]

    return gen()


def test_watch_stream_parses_events_and_hides_heartbeats(cert_dir):
    body = chunked(
        {"object": job("a")},
        {"object": job("b", "Pending")},
        {"type": 4},
        {"type": 1, "object": job("a", "Succeeded")},
        {"type": 4},
        {"type": 2, "object": job("b", "Pending")},
    )
    rec = Recorder({"/api/v1/job/watch": httpx.Response(200, content=body)})
    with mtls_client(cert_dir, rec) as kc, kc.watch_jobs(timeout_seconds=120) as ws:
        events = list(ws)
        assert ws.heartbeats == 2 and ws.events == 4 and ws.connections == 1
        assert ws.seconds_since_activity() < 5
    assert [(e.type, e.job.job_id, e.job.status.state) for e in events] == [
        (EventType.ADDED, "a", "Running"),
        (EventType.ADDED, "b", "Pending"),
        (EventType.MODIFIED, "a", "Succeeded"),
        (EventType.DELETED, "b", "Pending"),
    ]
    assert rec.body() == {"timeout_seconds": 120}
    assert rec.requests[0].headers["content-type"] == "application/json"
    assert rec.requests[0].headers["token"] == TOKEN.decode()


def test_watch_timeout_seconds_must_be_finite(cert_dir):
    with mtls_client(cert_dir, never) as kc:
        for bad in (0, -1, 2**31):
            with pytest.raises(ValueError):
                kc.watch_jobs(timeout_seconds=bad)


def test_watch_reconnects_after_a_clean_end(cert_dir):
    answers = [
        [{"object": job("a")}, {"type": 4}],
        [{"object": job("a")}, {"type": 1, "object": job("a", "Failed")}],
    ]

    def handler(request):
        if not answers:
            return httpx.Response(200, content=b"")
        return httpx.Response(200, content=chunked(*answers.pop(0)))

    rec = Recorder({"/api/v1/job/watch": handler})
    with mtls_client(cert_dir, rec) as kc:
        ws = kc.watch_jobs(timeout_seconds=600, reconnect=True)
        got = []
        with pytest.raises(KusciaMalformed) as err:  # third connection: empty body at once
            for ev in ws:
                got.append((ws.connections, ev.type.name, ev.job.status.state))
        ws.close()
    assert got == [(1, "ADDED", "Running"), (2, "ADDED", "Running"), (2, "MODIFIED", "Failed")]
    assert "empty body" in err.value.message and err.value.route == "/api/v1/job/watch"
    assert len(rec.requests) == 3


def test_watch_silence_is_a_timeout_error(cert_dir):
    def body():
        yield b'{"type":4}'
        raise httpx.ReadTimeout("no data")

    rec = Recorder({"/api/v1/job/watch": httpx.Response(200, content=body())})
    with mtls_client(cert_dir, rec) as kc, pytest.raises(KusciaTransportError) as err:
        list(kc.watch_jobs(timeout_seconds=60))
    assert err.value.kind == "timeout" and "heartbeat" in err.value.hint


def test_watch_truncated_and_http_errors(cert_dir):
    rec = Recorder({"/api/v1/job/watch": httpx.Response(200, content=chunked({"type": 4}))})
    rec.routes["/api/v1/job/watch"] = httpx.Response(200, content=b'{"type":4}{"object":{"job_id"')
    with mtls_client(cert_dir, rec) as kc, pytest.raises(KusciaMalformed) as err:
        list(kc.watch_jobs())
    assert "cut off" in err.value.message
    rec.routes["/api/v1/job/watch"] = httpx.Response(401)
    with mtls_client(cert_dir, rec) as kc, pytest.raises(KusciaHTTPError) as err401:
        list(kc.watch_jobs())
    assert err401.value.kind == "unauthorized"
    rec.routes["/api/v1/job/watch"] = httpx.Response(400)
    with mtls_client(cert_dir, rec) as kc, pytest.raises(KusciaHTTPError) as err400:
        list(kc.watch_jobs())
    assert err400.value.kind == "http_error"


def test_task_log_stream(cert_dir):
    ok = {"status": {"message": "success"}}
    rec = Recorder(
        {
            "/api/v1/log/task/query": httpx.Response(
                200, content=chunked({**ok, "log": "abcd"}, {**ok, "log": "efgh"})
            )
        }
    )
    with mtls_client(cert_dir, rec) as kc:
        assert list(kc.query_task_log("job-psi", container="secretflow")) == ["abcd", "efgh"]
    assert rec.body() == {
        "task_id": "job-psi",
        "replica_idx": 0,
        "follow": False,
        "container": "secretflow",
    }
    rec.routes["/api/v1/log/task/query"] = httpx.Response(
        200,
        content=chunked(
            {
                "status": {
                    "code": 11105,
                    "message": "kuscia master api not support this interface now",
                }
            }
        ),
    )
    with mtls_client(cert_dir, rec) as kc, pytest.raises(KusciaAPIError) as err:
        list(kc.query_task_log("job-psi"))
    assert err.value.kind == "not_supported" and "lite" in err.value.hint


def test_every_error_is_a_kuscia_error():
    for cls in (
        KusciaConfigError,
        KusciaTransportError,
        KusciaHTTPError,
        KusciaAPIError,
        KusciaMalformed,
    ):
        assert issubclass(cls, KusciaError)


# ------------------------------------------------------------------ property: any split works

_json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=8), st.floats(allow_nan=False)
)
_json_obj = st.recursive(
    st.dictionaries(st.text(max_size=5), _json_leaf, max_size=4),
    lambda inner: st.dictionaries(
        st.text(max_size=5), st.one_of(_json_leaf, inner, st.lists(inner, max_size=3)), max_size=4
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    objs=st.lists(_json_obj, min_size=1, max_size=6),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
    ascii_only=st.booleans(),
    spaces=st.booleans(),
)
def test_object_decoder_any_split_any_objects(objs, cuts, ascii_only, spaces):
    sep = b" \n" if spaces else b""
    data = sep.join(json.dumps(o, ensure_ascii=ascii_only).encode() for o in objs)
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    dec = ObjectDecoder()
    got = []
    for piece in pieces:
        got += dec.feed(piece)
    dec.finish()
    assert got == objs


def test_encrypted_client_key_never_prompts(cert_dir):
    key_path = cert_dir / "kusciaapi-server.key"
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    with pytest.raises(KusciaConfigError) as err:
        mtls_client(cert_dir, never)
    assert err.value.kind == "cert_file" and "passphrase" in err.value.message


def test_every_request_is_observed_with_route_duration_and_error_kind(cert_dir):
    seen = []
    rec = Recorder(
        {
            "/healthZ": reply({"ready": True}),
            "/api/v1/job/query": reply(None, err_status(11202, NOT_FOUND)),
            "/api/v1/job/watch": httpx.Response(200, content=b'{"type":4}'),
        }
    )
    config = ConnectionConfig.from_cert_dir("https://127.0.0.1:13082", cert_dir)
    observer = lambda route, seconds, kind: seen.append((route, kind, seconds >= 0))  # noqa: E731
    with KusciaClient(config, transport=httpx.MockTransport(rec), observer=observer) as kc:
        kc.health()
        with pytest.raises(KusciaAPIError) as missing:
            kc.query_job("job-x")
        assert missing.value.kind == "not_found"
        with pytest.raises(KusciaHTTPError):
            kc.query_domain("alice")
        list(kc.watch_jobs())
    assert seen == [
        ("/healthZ", None, True),
        ("/api/v1/job/query", "not_found", True),
        ("/api/v1/domain/query", "wrong_path", True),
        ("/api/v1/job/watch", None, True),
    ]


def test_default_observer_feeds_the_prometheus_metrics(cert_dir):
    from dashboard.metrics import KUSCIA_REQUESTS

    counter = KUSCIA_REQUESTS.labels(route="/healthZ", outcome="unauthorized")
    before = counter._value.get()
    rec = Recorder({"/healthZ": httpx.Response(401)})
    with mtls_client(cert_dir, rec) as kc, pytest.raises(KusciaHTTPError):
        kc.health()
    assert counter._value.get() == before + 1


def test_errors_survive_pickling_for_celery():
    import pickle

    errors = [
        api_error("/api/v1/job/query", 11202, NOT_FOUND),
        KusciaHTTPError("401", kind="unauthorized", status_code=401, route="/healthZ", hint="h"),
        transport_error(
            ConnectionRefusedError(111, "refused"), route="/x", protocol="MTLS", url="u"
        ),
        KusciaMalformed("cut", route="/y"),
        KusciaConfigError("missing", kind="cert_file"),
    ]
    for e in errors:
        back = pickle.loads(pickle.dumps(e))
        assert type(back) is type(e) and back.to_dict() == e.to_dict()
