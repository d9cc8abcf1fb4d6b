"""The connection check: walk a Kuscia connection step by step and say where it stops and why.

Each step is modelled on the seed document's troubleshooting section (curl (56) and (58),
HTTP 401 and 404) and on the facts in kuscia-api.md §1 and §12:

 1. files        the CA, client certificate/key and token files exist, are readable and parse
 2. address      the host name resolves and the port accepts a TCP connection
 3. tls          a TLS handshake completes (the port speaks TLS)
 4. expiry       validity dates of the CA, server and client certificates (warn within 30 days)
 5. server cert  the server certificate chains to ca.crt and matches the host / server name
 6. client cert  the server accepts our client certificate (MTLS)
 7. token        the Token header is accepted (no 401)
 8. api path     the API routes answer under the URL (no 404)
 9. healthZ      POST /healthZ reports ready
10. watch        a short /api/v1/job/watch opens and closes
11. routes       domain route status between the known domains

The first failing step stops the run; the steps after it are reported as skipped. Certificate
and token contents are read to be checked but never put into a step's text.

Network steps 2, 3, 5 and 6 use the stdlib socket/ssl directly so that each can fail on its own;
steps 7 to 11 go through the console's KusciaClient, exactly as the sync engine does.

Why one module over 600 lines: the eleven steps share the run state and the rule "the first
failure stops the run"; read top to bottom they are the troubleshooting guide in order.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtensionOID, NameOID

from kuscia.client import KusciaClient, read_file, read_token, validate_config
from kuscia.config import ConnectionConfig
from kuscia.errors import (
    HINT_401,
    HINT_404,
    HINT_CLIENT_REFUSED_MTLS,
    HINT_FILE,
    KusciaConfigError,
    KusciaError,
    transport_error,
)

Status = Literal["ok", "warn", "fail", "skipped"]

FILES = "Certificate and token files"
ADDRESS = "Address and port"
TLS = "TLS handshake"
EXPIRY = "Certificate expiry"
SERVER_CERT = "Server certificate"
CLIENT_CERT = "Client certificate accepted"
TOKEN = "Token accepted"
API_PATH = "API path"
HEALTHZ = "healthZ"
WATCH = "Watch stream"
ROUTES = "Domain routes"
STEP_NAMES = (
    FILES,
    ADDRESS,
    TLS,
    EXPIRY,
    SERVER_CERT,
    CLIENT_CERT,
    TOKEN,
    API_PATH,
    HEALTHZ,
    WATCH,
    ROUTES,
)

EXPIRY_WARN_DAYS = 30


@dataclass(frozen=True)
class CheckStep:
    name: str
    status: Status
    detail: str
    hint: str = ""


@dataclass
class _State:
    config: ConnectionConfig
    host: str = ""
    port: int = 0
    server_name: str = ""
    ca_certs: list[x509.Certificate] = field(default_factory=list)
    client_cert: x509.Certificate | None = None  # set once certificate and key match
    server_cert: x509.Certificate | None = None


class _Stop(Exception):
    """Raised by a step to stop the run: its failing step, after the steps it passed before."""

    def __init__(self, step: CheckStep, before: Sequence[CheckStep] = ()) -> None:
        super().__init__(step.detail)
        self.step = step
        self.before = list(before)


def _cn(name: x509.Name) -> str:
    names = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        return name.rfc4514_string() or "(no subject)"
    value = names[0].value
    return "CN=" + (value.decode(errors="replace") if isinstance(value, bytes) else value)


def _subject(cert: x509.Certificate) -> str:
    return _cn(cert.subject)


def _issuer(cert: x509.Certificate) -> str:
    return _cn(cert.issuer)


def _san_names(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    except x509.ExtensionNotFound:
        return []
    sans = ext.value
    assert isinstance(sans, x509.SubjectAlternativeName)
    dns = sans.get_values_for_type(x509.DNSName)
    ips = [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)]
    return [*dns, *ips]


# ---------------------------------------------------------------------------------- 1. files


def _bad_file(message: str) -> KusciaConfigError:
    return KusciaConfigError(message, kind="cert_file", hint=HINT_FILE)


def _client_pair(cfg: ConnectionConfig) -> x509.Certificate:
    cert_pem = read_file("client certificate", cfg.cert_file)
    key_pem = read_file("client key", cfg.key_file)
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise _bad_file(
            f"client certificate file {cfg.cert_file} holds no PEM certificate"
        ) from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise _bad_file(
            f"client key file {cfg.key_file} holds no unencrypted PEM private key"
        ) from None
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
        raise _bad_file(
            f"client key {cfg.key_file} does not belong to the certificate {cfg.cert_file}"
        )
    return cert


def _step_files(st: _State) -> CheckStep:
    """The files as the client reads them (same rules, same messages), plus their contents."""
    cfg = st.config
    if cfg.protocol == "NOTLS":
        return CheckStep(FILES, "ok", "Protocol NOTLS: no certificate or token needed.")
    notes: list[str] = []
    warnings: list[str] = []
    try:
        if cfg.ca_file:
            try:
                st.ca_certs = x509.load_pem_x509_certificates(
                    read_file("CA certificate", cfg.ca_file)
                )
            except ValueError:
                raise _bad_file(
                    f"CA certificate file {cfg.ca_file} holds no PEM certificate"
                ) from None
            notes.append(f"CA {cfg.ca_file} ({_subject(st.ca_certs[0])})")
        else:
            warnings.append("no CA file: the server's certificate cannot be verified")
        if cfg.protocol == "MTLS":
            if cfg.cert_file and cfg.key_file:
                st.client_cert = _client_pair(cfg)
                notes.append(f"client certificate {cfg.cert_file} ({_subject(st.client_cert)})")
            elif cfg.cert_file or cfg.key_file:
                raise _bad_file(
                    "only one of client certificate and client key is set; MTLS needs both"
                )
            else:
                warnings.append("no client certificate/key configured, but protocol is MTLS")
        if cfg.token_file:
            notes.append(f"token {cfg.token_file} ({len(read_token(cfg.token_file))} characters)")
        else:
            warnings.append(f"no token file: protocol {cfg.protocol} requires the Token header")
    except KusciaConfigError as err:
        raise _Stop(CheckStep(FILES, "fail", err.message, err.hint)) from None
    detail = "; ".join(notes) if notes else "no files configured"
    if warnings:
        return CheckStep(FILES, "warn", detail + ". " + "; ".join(warnings) + ".", HINT_FILE)
    return CheckStep(FILES, "ok", detail + ".")


# ---------------------------------------------------------------------------------- 2. address


def _step_address(st: _State) -> CheckStep:
    cfg = st.config
    try:
        validate_config(cfg)  # the client's own URL rules
    except KusciaConfigError as bad:
        if bad.kind != "wrong_path":  # a path in the URL is the API path step's business
            raise _Stop(CheckStep(ADDRESS, "fail", bad.message, bad.hint)) from None
    parts = urlsplit(cfg.url)
    st.host = parts.hostname or ""
    st.port = parts.port or (443 if parts.scheme == "https" else 80)
    st.server_name = cfg.tls_server_name or st.host
    addresses: list[str] = []
    try:
        infos = socket.getaddrinfo(st.host, st.port, type=socket.SOCK_STREAM)
        addresses = sorted({str(info[4][0]) for info in infos})
        started = time.monotonic()
        with socket.create_connection((st.host, st.port), timeout=cfg.connect_timeout):
            pass
    except OSError as exc:
        err = _classify(exc, st)
        detail = {
            "dns": f"the host name {st.host} does not resolve ({exc.strerror})",
            "connect_refused": f"{st.host} ({', '.join(addresses)}) refuses connections on port "
            f"{st.port}: nothing listens there",
            "timeout": f"no answer from {st.host}:{st.port} within {cfg.connect_timeout:g} s",
        }.get(err.kind, f"cannot connect to {st.host}:{st.port}: {exc}")
        raise _Stop(CheckStep(ADDRESS, "fail", detail, err.hint)) from None
    ms = (time.monotonic() - started) * 1000
    return CheckStep(
        ADDRESS,
        "ok",
        f"{st.host} resolves to {', '.join(addresses)}; port {st.port} accepts connections "
        f"({ms:.1f} ms).",
    )


# ------------------------------------------------------------------------ 3. to 6. TLS steps


def _context(st: _State, *, verify: bool, hostname: bool = False) -> ssl.SSLContext:
    """Each step's own verification switches, always with our client pair when there is one."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = hostname
    ctx.verify_mode = ssl.CERT_REQUIRED if verify else ssl.CERT_NONE
    if verify and st.config.ca_file:
        ctx.load_verify_locations(cafile=st.config.ca_file)
    if st.client_cert is not None:
        ctx.load_cert_chain(st.config.cert_file, st.config.key_file)
    return ctx


def _handshake(st: _State, ctx: ssl.SSLContext) -> ssl.SSLSocket:
    sock = socket.create_connection((st.host, st.port), timeout=st.config.connect_timeout)
    try:
        tls = ctx.wrap_socket(sock, server_hostname=st.server_name)
    except BaseException:
        sock.close()
        raise
    return tls


def _classify(exc: BaseException, st: _State) -> KusciaError:
    """The client's kind, message and hint for a socket or TLS failure."""
    return transport_error(
        exc,
        route="(connection check)",
        protocol=st.config.protocol,
        url=st.config.url,
        tls_server_name=st.config.tls_server_name,
    )


def _step_tls(st: _State) -> list[CheckStep]:
    try:
        with _handshake(st, _context(st, verify=False)) as tls:
            der = tls.getpeercert(binary_form=True)
            version = tls.version() or "TLS"
            cipher = (tls.cipher() or ("?",))[0]
    except TimeoutError:
        raise _Stop(
            CheckStep(
                TLS,
                "fail",
                f"port {st.port} accepts connections but gave no TLS answer within "
                f"{st.config.connect_timeout:g} s",
                "Something other than KusciaAPI listens there (or a proxy holds the "
                "connection): check the port, 8082 in the container or 13082 through Docker.",
            )
        ) from None
    except (ssl.SSLError, OSError) as exc:
        err = _classify(exc, st)
        if err.kind in ("tls_client_refused", "cert_expired"):
            # TLS 1.2 servers refuse the client certificate inside the handshake itself.
            alert = CheckStep(
                TLS,
                "warn",
                "the port speaks TLS, but the server ended the handshake with an alert "
                "about our client certificate",
            )
            refused = CheckStep(
                CLIENT_CERT, "fail", f"the server refused the handshake: {exc}", err.hint
            )
            raise _Stop(refused, before=[alert]) from None
        raise _Stop(CheckStep(TLS, "fail", err.message, err.hint)) from None
    if not der:
        raise _Stop(CheckStep(TLS, "fail", "the server sent no certificate", ""))
    st.server_cert = x509.load_der_x509_certificate(der)
    return [
        CheckStep(
            TLS,
            "ok",
            f"{version} with {cipher}; the server presents {_subject(st.server_cert)} "
            f"issued by {_issuer(st.server_cert)}.",
        )
    ]


def _step_expiry(st: _State, now: dt.datetime) -> CheckStep:
    certs: list[tuple[str, x509.Certificate]] = [("CA", c) for c in st.ca_certs]
    if st.server_cert is not None:
        certs.append(("server", st.server_cert))
    if st.client_cert is not None:
        certs.append(("client", st.client_cert))
    if not certs:
        return CheckStep(EXPIRY, "skipped", "no certificate to look at")
    lines: list[str] = []
    failures: list[str] = []
    warnings: list[str] = []
    hints: list[str] = []
    for role, cert in certs:
        start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
        days = (end - now).total_seconds() / 86400
        label = f"{role} certificate {_subject(cert)}"
        if end < now:
            failures.append(f"{label} expired on {end:%Y-%m-%d %H:%M} UTC")
            hints.append(_expiry_hint(role))
        elif start > now:
            failures.append(f"{label} is not valid before {start:%Y-%m-%d %H:%M} UTC")
            hints.append("Check this machine's clock and the certificate's start date.")
        elif days < EXPIRY_WARN_DAYS:
            warnings.append(f"{label} expires in {days:.0f} days ({end:%Y-%m-%d})")
            hints.append(_expiry_hint(role))
        else:
            lines.append(f"{label} valid until {end:%Y-%m-%d} ({days:.0f} days)")
    if failures:
        raise _Stop(
            CheckStep(EXPIRY, "fail", "; ".join(failures + warnings + lines) + ".", hints[0])
        )
    if warnings:
        return CheckStep(EXPIRY, "warn", "; ".join(warnings + lines) + ".", hints[0])
    return CheckStep(EXPIRY, "ok", "; ".join(lines) + ".")


def _expiry_hint(role: str) -> str:
    if role == "server":
        return (
            "Renew KusciaAPI's server certificate: Kuscia issues a new kusciaapi-server.crt at "
            "start when kusciaapi-server.key is missing (move both away and restart the node), "
            "then copy the new files."
        )
    if role == "client":
        return (
            "Issue a new client certificate signed by the node's ca.crt (Kuscia's "
            "scripts/deploy/init_kusciaapi_client_certs.sh) or copy kusciaapi-server.crt/.key "
            "again, then update the paths."
        )
    return "The node's CA certificate must be renewed on the Kuscia node, then copied again."


def _step_server_cert(st: _State) -> CheckStep:
    assert st.server_cert is not None
    if not st.config.ca_file:
        return CheckStep(
            SERVER_CERT,
            "warn",
            f"not verified: no CA file is configured; the server presents "
            f"{_subject(st.server_cert)}",
            "Give the node's ca.crt so that the console can tell the real Kuscia from an impostor.",
        )
    sans = _san_names(st.server_cert)
    names = ", ".join(sans) or "(no subject alternative names)"
    # Chain first (no host name check), then the name, so that each problem gets its own message.
    for hostname in (False, True):
        try:
            with _handshake(st, _context(st, verify=True, hostname=hostname)):
                pass
        except ssl.SSLCertVerificationError as exc:
            detail = (
                f"the server certificate chains to ca.crt but is not valid for "
                f"{st.server_name}: it names {names} ({exc.verify_message})"
                if hostname
                else f"the server certificate {_subject(st.server_cert)}, issued by "
                f"{_issuer(st.server_cert)}, does not chain to {st.config.ca_file} "
                f"({', '.join(_subject(c) for c in st.ca_certs)}): {exc.verify_message}"
            )
            raise _Stop(CheckStep(SERVER_CERT, "fail", detail, _classify(exc, st).hint)) from None
        except (ssl.SSLError, OSError):
            pass  # a refused client certificate is the next step's business
    how = f" (server name {st.server_name})" if st.config.tls_server_name else ""
    return CheckStep(
        SERVER_CERT,
        "ok",
        f"{_subject(st.server_cert)} chains to {st.config.ca_file} and matches "
        f"{st.server_name}{how}; it names {', '.join(sans) or 'no alternative names'}.",
    )


def _step_client_cert(st: _State) -> CheckStep:
    if st.config.protocol != "MTLS":
        return CheckStep(CLIENT_CERT, "skipped", f"protocol {st.config.protocol}: not needed")
    ctx = _context(st, verify=bool(st.config.ca_file))
    request = (
        f"GET /version HTTP/1.1\r\nHost: {st.server_name}\r\nConnection: close\r\n\r\n"
    ).encode()
    try:
        with _handshake(st, ctx) as tls:
            tls.sendall(request)
            first = tls.recv(64)
    except (ssl.SSLError, OSError) as exc:
        err = _classify(exc, st)
        detail = (
            "no client certificate is configured and the server closed the connection"
            if st.client_cert is None
            else f"the server refused {_subject(st.client_cert)}"
        )
        raise _Stop(
            CheckStep(CLIENT_CERT, "fail", f"{detail}: {err.message}", HINT_CLIENT_REFUSED_MTLS)
        ) from None
    if not first:
        raise _Stop(
            CheckStep(
                CLIENT_CERT,
                "fail",
                "the server closed the connection without answering after the handshake",
                HINT_CLIENT_REFUSED_MTLS,
            )
        )
    if not first.startswith(b"HTTP/"):
        raise _Stop(
            CheckStep(
                CLIENT_CERT,
                "fail",
                "the server answered, but not with HTTP: is this KusciaAPI's HTTP port?",
                "KusciaAPI's HTTP port is 8082 (13082 through Docker); 8083 is gRPC.",
            )
        )
    if st.client_cert is None:
        return CheckStep(
            CLIENT_CERT,
            "warn",
            "the server answered without a client certificate: it runs TLS, not MTLS",
            "Set the connection's protocol to TLS, or check that this is the node you mean.",
        )
    return CheckStep(
        CLIENT_CERT, "ok", f"the server accepted {_subject(st.client_cert)} and answered HTTP."
    )


# ------------------------------------------------------------------------ 7. to 11. HTTP steps

ClientFactory = Callable[[ConnectionConfig], KusciaClient]


def _http_steps(st: _State, domains: Sequence[str], factory: ClientFactory) -> list[CheckStep]:
    cfg = replace(st.config, read_timeout=min(st.config.read_timeout, 10.0))
    try:
        client = factory(cfg)
    except KusciaError as err:
        if err.kind == "wrong_path":
            _step_path_prefix(st)
        raise _Stop(CheckStep(TOKEN, "fail", f"{err.kind}: {err.message}", err.hint)) from None
    with client:
        steps = _step_token_path_health(st, client)
        steps.append(_step_watch(client))
        steps.append(_step_routes(client, domains))
    return steps


def _raw_post(st: _State, path: str) -> int:
    """POST {} to a path over a fresh (TLS) connection with the Token; the HTTP status."""
    cfg = st.config
    headers = [
        f"POST {path} HTTP/1.1",
        f"Host: {st.server_name}",
        "Content-Type: application/json",
        "Content-Length: 2",
        "Connection: close",
    ]
    request = ("\r\n".join(headers) + "\r\n").encode()
    if cfg.uses_tls and cfg.token_file:
        request += b"Token: " + read_token(cfg.token_file) + b"\r\n"
    request += b"\r\n{}"
    if cfg.uses_tls:
        conn: socket.socket = _handshake(st, _context(st, verify=bool(cfg.ca_file)))
    else:
        conn = socket.create_connection((st.host, st.port), timeout=cfg.connect_timeout)
    with conn:
        conn.settimeout(cfg.connect_timeout + 5)
        conn.sendall(request)
        head = conn.recv(64)
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def _step_path_prefix(st: _State) -> None:
    """The URL has a path: show what Kuscia answers under it, as the client would ask."""
    prefix = urlsplit(st.config.url).path.rstrip("/")
    try:
        status = _raw_post(st, f"{prefix}/healthZ")
    except (OSError, ssl.SSLError):
        return
    if status == 401:
        raise _Stop(CheckStep(TOKEN, "fail", f"POST {prefix}/healthZ answered 401", HINT_401))
    if status in (404, 307, 301, 302, 308):
        raise _Stop(
            CheckStep(
                API_PATH,
                "fail",
                f"POST {prefix}/healthZ answered {status} (the URL carries the path {prefix})",
                HINT_404,
            ),
            before=[_token_ok(st.config)],
        )


def _step_token_path_health(st: _State, client: KusciaClient) -> list[CheckStep]:
    try:
        ready = client.health()
    except KusciaError as err:
        detail = {
            "unauthorized": f"POST /healthZ answered 401: {err.message}",
            "wrong_path": f"POST {st.config.url}/healthZ answered 404: {err.message}",
        }.get(err.kind, f"{err.kind}: {err.message}")
        if err.kind == "wrong_path":
            token_ok = _token_ok(st.config)
            raise _Stop(CheckStep(API_PATH, "fail", detail, err.hint), [token_ok]) from None
        raise _Stop(CheckStep(TOKEN, "fail", detail, err.hint)) from None
    steps = [_token_ok(st.config)]
    # A job route under /api/v1 with an id that cannot exist: any Kuscia answer means the path
    # is right; only a 404 (or 401) is a problem.
    try:
        client.batch_query_job_status(["kc-connection-check"])
    except KusciaError as err:
        if err.kind == "wrong_path":
            detail = f"/healthZ answers but /api/v1/job/status/batchQuery gives 404: {err.message}"
            raise _Stop(CheckStep(API_PATH, "fail", detail, err.hint), steps) from None
        if err.code is None:  # not a Kuscia status.code answer (401, transport, ...)
            detail = f"{err.kind}: {err.message}"
            raise _Stop(CheckStep(API_PATH, "fail", detail, err.hint), steps) from None
    steps.append(
        CheckStep(API_PATH, "ok", "/healthZ and /api/v1/job/status/batchQuery answer as KusciaAPI.")
    )
    if not ready:
        not_ready = CheckStep(
            HEALTHZ,
            "fail",
            "KusciaAPI answers but reports ready=false",
            "Kuscia is still starting or unhealthy: look at the node's kuscia.log.",
        )
        raise _Stop(not_ready, steps)
    steps.append(CheckStep(HEALTHZ, "ok", "POST /healthZ: ready."))
    return steps


def _token_ok(config: ConnectionConfig) -> CheckStep:
    if config.protocol == "NOTLS":
        return CheckStep(TOKEN, "skipped", "protocol NOTLS: Kuscia does not check the token")
    return CheckStep(TOKEN, "ok", "Kuscia accepted the Token header (no 401).")


WATCH_DEADLINE = 8.0  # seconds: the watch asked for 1 s must end well before this


def _step_watch(client: KusciaClient) -> CheckStep:
    started = time.monotonic()
    events = 0
    cut = threading.Event()
    stream = client.watch_jobs(timeout_seconds=1, silence_timeout=WATCH_DEADLINE)

    def cut_off() -> None:
        # A server that ignores timeout_seconds and only sends heartbeats never ends the
        # stream: close it from here so that the check cannot hang.
        cut.set()
        stream.close()

    timer = threading.Timer(WATCH_DEADLINE, cut_off)
    timer.daemon = True
    timer.start()
    try:
        for _event in stream:
            events += 1
    except KusciaError as err:
        if not cut.is_set() and not (err.kind == "timeout" and events):
            raise _Stop(
                CheckStep(
                    WATCH,
                    "fail",
                    f"the watch stream failed: {err.kind}: {err.message}",
                    err.hint or "A proxy between the console and Kuscia may buffer or cut streams.",
                )
            ) from None
    except Exception:
        if not cut.is_set():
            raise
    finally:
        timer.cancel()
        stream.close()
    seconds = time.monotonic() - started
    if cut.is_set():
        return CheckStep(
            WATCH,
            "warn",
            f"/api/v1/job/watch opened ({events} job events) but did not end within "
            f"{WATCH_DEADLINE:g} s although 1 s was asked for",
            "Kuscia ends a watch after timeout_seconds; a proxy in between may hold or buffer "
            "the stream (turn off response buffering for /api/v1/job/watch).",
        )
    return CheckStep(
        WATCH,
        "ok",
        f"/api/v1/job/watch opened and closed after {seconds:.1f} s with {events} job "
        f"event{'s' if events != 1 else ''}.",
    )


def _step_routes(client: KusciaClient, domains: Sequence[str]) -> CheckStep:
    known = list(dict.fromkeys(d for d in domains if d))
    if len(known) < 2:
        return CheckStep(
            ROUTES,
            "skipped",
            "fewer than two known domains (they come from the connection's local domain and "
            "the parties of its jobs)",
        )
    pairs = [(a, b) for a in known for b in known if a != b]
    try:
        routes = client.batch_query_route_status(pairs)
    except KusciaError as err:
        return CheckStep(
            ROUTES,
            "warn",
            f"route status of {', '.join(known)} could not be read: {err.message}",
            err.hint,
        )
    bad = [r for r in routes if r.status != "Succeeded"]
    summary = ", ".join(f"{r.source}→{r.destination} {r.status}" for r in routes)
    if bad:
        reasons = "; ".join(f"{r.source}→{r.destination}: {r.reason or r.status}" for r in bad)
        return CheckStep(
            ROUTES,
            "warn",
            f"{len(bad)} of {len(routes)} routes are not ready: {reasons}",
            "Jobs between these parties will wait or fail: check the domain routes "
            "(ClusterDomainRoute) and the authorisation between the nodes.",
        )
    return CheckStep(ROUTES, "ok", summary or "no routes reported")


# ----------------------------------------------------------------------------------- runner


def run_check(
    config: ConnectionConfig,
    *,
    domains: Sequence[str] = (),
    client_factory: ClientFactory | None = None,
    now: dt.datetime | None = None,
) -> list[CheckStep]:
    """Run every step in order; stop at the first failure and mark the rest skipped."""
    st = _State(config=config)
    moment = now or dt.datetime.now(dt.UTC)
    steps: list[CheckStep] = []
    plan: list[Callable[[], list[CheckStep]]] = [
        lambda: [_step_files(st)],
        lambda: [_step_address(st)],
    ]
    if config.uses_tls:
        plan += [
            lambda: _step_tls(st),
            lambda: [_step_expiry(st, moment)],
            lambda: [_step_server_cert(st)],
            lambda: [_step_client_cert(st)],
        ]
    plan.append(lambda: _http_steps(st, domains, client_factory or KusciaClient))
    try:
        for run in plan:
            steps += run()
    except _Stop as stop:
        steps += stop.before
        steps.append(stop.step)
        if stop.step.name == CLIENT_CERT and not any(s.name == EXPIRY for s in steps):
            # The handshake itself was refused: still report the dates the files tell.
            try:
                steps.append(_step_expiry(st, moment))
            except _Stop as expired:
                steps.append(expired.step)
    done = {s.name for s in steps}
    not_run = "not run: an earlier step failed" if first_failure(steps) else "not run"
    for name in STEP_NAMES:
        if name not in done:
            tls_step = name in (TLS, EXPIRY, SERVER_CERT, CLIENT_CERT)
            why = "protocol NOTLS: no TLS" if tls_step and not config.uses_tls else not_run
            steps.append(CheckStep(name, "skipped", why))
    order = {name: i for i, name in enumerate(STEP_NAMES)}
    return sorted(steps, key=lambda s: order.get(s.name, len(order)))


def first_failure(steps: Sequence[CheckStep]) -> CheckStep | None:
    return next((s for s in steps if s.status == "fail"), None)
