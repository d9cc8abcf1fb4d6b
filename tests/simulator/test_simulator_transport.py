"""Simulator transport over real sockets: MTLS/TLS/NOTLS, token, 404/307, version/probe, faults."""

from __future__ import annotations

import http.client
import json
import ssl
from pathlib import Path

import httpx
import pytest

from simulator.certs import make_foreign_client_pair


def ssl_ctx(cert_dir: Path, *, client_cert: bool = True, cert=None, key=None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(cert_dir / "ca.crt"))
    if client_cert:
        ctx.load_cert_chain(
            cert or cert_dir / "kusciaapi-server.crt", key or cert_dir / "kusciaapi-server.key"
        )
    return ctx


def request(sim, method, path, body=None, *, token=True, headers=None, ctx=None):
    if sim.protocol == "NOTLS":
        conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=10)
    else:
        conn = http.client.HTTPSConnection(
            "127.0.0.1", sim.port, timeout=10, context=ctx or ssl_ctx(sim.cert_dir)
        )
    h = {"Content-Type": "application/json"}
    if token:
        h["Token"] = sim.token
    h.update(headers or {})
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    conn.request(method, path, data, h)
    resp = conn.getresponse()
    out = resp.status, dict(resp.getheaders()), resp.read()
    conn.close()
    return out


def test_healthz_ok_over_mtls(kuscia_sim):
    status, headers, body = request(kuscia_sim, "POST", "/healthZ", {})
    assert status == 200
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(body) == {
        "status": {"code": 0, "message": "success", "details": []},
        "data": {"ready": True},
    }


def test_missing_or_wrong_token_is_401_with_empty_body(kuscia_sim):
    for token_headers in ({}, {"Token": kuscia_sim.token + " "}, {"Token": kuscia_sim.token[:-1]}):
        status, headers, body = request(
            kuscia_sim,
            "POST",
            "/api/v1/job/query",
            {"job_id": "x"},
            token=False,
            headers=token_headers,
        )
        assert status == 401
        assert body == b""
        assert "Content-Type" not in headers


def test_unknown_path_and_get_on_post_route_are_404_text(kuscia_sim):
    for method, path in (
        ("POST", "/api/v1/job/list"),
        ("GET", "/api/v1/job/query"),
        ("POST", "/healthz"),
    ):
        status, headers, body = request(kuscia_sim, method, path, {} if method == "POST" else None)
        assert status == 404, path
        assert body == b"404 page not found"
        assert headers["Content-Type"].startswith("text/plain")
    # the token middleware runs before the 404
    status, _, body = request(kuscia_sim, "POST", "/api/v1/job/list", {}, token=False)
    assert (status, body) == (401, b"")


def test_trailing_slash_redirects_307(kuscia_sim):
    status, headers, _body = request(kuscia_sim, "POST", "/api/v1/job/query/", {"job_id": "a"})
    assert status == 307
    assert headers["Location"] == "/api/v1/job/query"
    # gin redirects before the token middleware runs; GET routes get 301
    status, headers, _ = request(kuscia_sim, "POST", "/healthZ/", {}, token=False)
    assert (status, headers["Location"]) == (307, "/healthZ")
    status, headers, _ = request(kuscia_sim, "GET", "/version/", token=False)
    assert (status, headers["Location"]) == (301, "/version")
    # a slash-less unknown path is not redirected
    assert request(kuscia_sim, "POST", "/api/v1/job/nothing/", {})[0] == 404


def test_version_and_probe_need_no_token(kuscia_sim):
    status, _headers, body = request(kuscia_sim, "GET", "/version", token=False)
    assert status == 200 and body.startswith(b"v")
    status, _, body = request(kuscia_sim, "GET", "/probe", token=False)
    assert status == 200 and b"version" in body and b"uptime" in body


def test_mtls_refuses_handshake_without_client_cert(kuscia_sim):
    ctx = ssl_ctx(kuscia_sim.cert_dir, client_cert=False)
    with pytest.raises((ssl.SSLError, ConnectionError, OSError, http.client.HTTPException)):
        request(kuscia_sim, "POST", "/healthZ", {}, ctx=ctx)


def test_mtls_refuses_cert_from_another_ca(kuscia_sim, tmp_path):
    cert, key = make_foreign_client_pair(tmp_path)
    ctx = ssl_ctx(kuscia_sim.cert_dir, cert=cert, key=key)
    with pytest.raises((ssl.SSLError, ConnectionError, OSError, http.client.HTTPException)):
        request(kuscia_sim, "POST", "/healthZ", {}, ctx=ctx)


def test_tls_mode_needs_no_client_cert_but_token(kuscia_sim_factory):
    sim = kuscia_sim_factory(protocol="TLS")
    ctx = ssl_ctx(sim.cert_dir, client_cert=False)
    assert request(sim, "POST", "/healthZ", {}, ctx=ctx)[0] == 200
    assert request(sim, "POST", "/healthZ", {}, ctx=ctx, token=False)[0] == 401


def test_notls_mode_is_plain_http_without_token(kuscia_sim_factory):
    sim = kuscia_sim_factory(protocol="NOTLS")
    assert sim.url.startswith("http://")
    status, _, body = request(sim, "POST", "/healthZ", {}, token=False)
    assert status == 200 and json.loads(body)["data"] == {"ready": True}


def test_httpx_client_with_ssl_context(kuscia_sim):
    ctx = ssl_ctx(kuscia_sim.cert_dir)
    with httpx.Client(verify=ctx, base_url=kuscia_sim.url, timeout=5) as client:
        r = client.post("/healthZ", json={}, headers={"Token": kuscia_sim.token})
        assert r.json()["data"]["ready"] is True
        # hostname verification: the cert is valid for localhost too
    with httpx.Client(verify=ctx, timeout=5) as client:
        r = client.post(
            f"https://localhost:{kuscia_sim.port}/healthZ",
            json={},
            headers={"Token": kuscia_sim.token},
        )
        assert r.status_code == 200


# ------------------------------------------------------------------ fault injection


def test_fault_latency(kuscia_sim_factory):
    import time

    sim = kuscia_sim_factory(faults={"latency": 0.6})
    started = time.monotonic()
    assert request(sim, "POST", "/healthZ", {})[0] == 200
    slow = time.monotonic() - started
    assert slow >= 0.6
    started = time.monotonic()
    assert request(sim, "GET", "/version", token=False)[0] == 200  # unprotected: no fault
    assert time.monotonic() - started < slow - 0.3


def test_fault_5xx_rate(kuscia_sim_factory):
    sim = kuscia_sim_factory(faults={"error_rate": 1.0})
    status, _, body = request(sim, "POST", "/healthZ", {})
    assert status == 503 and body
    sim.world.set_faults(error_rate=0.5, seed=7)
    statuses = [request(sim, "POST", "/healthZ", {})[0] for _ in range(40)]
    assert 5 < statuses.count(503) < 35 and statuses.count(200) + statuses.count(503) == 40


def test_fault_dropped_connection(kuscia_sim_factory):
    sim = kuscia_sim_factory(faults={"drop_rate": 1.0})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, ssl.SSLError)):
        request(sim, "POST", "/healthZ", {})
    sim.world.set_faults()  # back to normal
    assert request(sim, "POST", "/healthZ", {})[0] == 200


def test_fault_malformed_body(kuscia_sim_factory):
    sim = kuscia_sim_factory(faults={"malformed_rate": 1.0})
    status, headers, body = request(sim, "POST", "/healthZ", {})
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


def test_faults_are_reproducible_with_a_seed(kuscia_sim):
    kuscia_sim.world.set_faults(error_rate=0.3, drop_rate=0.2, seed=42)
    first = [kuscia_sim.world.faults.pick() for _ in range(50)]
    kuscia_sim.world.set_faults(error_rate=0.3, drop_rate=0.2, seed=42)
    assert [kuscia_sim.world.faults.pick() for _ in range(50)] == first
    assert {"error", "drop", None} == set(first)


def test_fault_stream_cut_drops_watch_without_final_chunk(kuscia_sim_factory):
    sim = kuscia_sim_factory(heartbeat_interval=0.1, faults={"stream_cut_after": 0.5})
    conn = http.client.HTTPSConnection(
        "127.0.0.1", sim.port, timeout=5, context=ssl_ctx(sim.cert_dir)
    )
    conn.request(
        "POST",
        "/api/v1/job/watch",
        b'{"timeout_seconds": 30}',
        {"Token": sim.token, "Content-Type": "application/json"},
    )
    resp = conn.getresponse()
    assert resp.status == 200
    with pytest.raises(http.client.IncompleteRead):
        resp.read()  # the stream ends without the terminating 0-chunk
    conn.close()


def test_other_methods_are_404(kuscia_sim):
    for method in ("PUT", "DELETE", "OPTIONS", "HEAD"):
        status, _, _ = request(kuscia_sim, method, "/healthZ", None)
        assert status == 404, method
