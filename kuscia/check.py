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
10. node role    master, lite or autonomy, and the domain(s) it serves (kuscia/node.py)
11. watch        a short /api/v1/job/watch opens and closes
12. routes       domain route status between the known domains

The first failing step stops the run; the steps after it are reported as skipped. Certificate
and token contents are read to be checked but never put into a step's text.

Network steps 2, 3, 5 and 6 use the stdlib socket/ssl directly so that each can fail on its own;
steps 7 to 12 go through the console's KusciaClient, exactly as the sync engine does.

Why one module over 600 lines: the twelve steps share the run state and the rule "the first
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
from kuscia.node import NodeInfo, probe_node
from kuscia.texts import N_, Text

Status = Literal["ok", "warn", "fail", "skipped"]

FILES = N_("Certificate and token files")
ADDRESS = N_("Address and port")
TLS = N_("TLS handshake")
EXPIRY = N_("Certificate expiry")
SERVER_CERT = N_("Server certificate")
CLIENT_CERT = N_("Client certificate accepted")
TOKEN = N_("Token accepted")
API_PATH = N_("API path")
HEALTHZ = N_("healthZ")
NODE = N_("Node role")
WATCH = N_("Watch stream")
ROUTES = N_("Domain routes")
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
    NODE,
    WATCH,
    ROUTES,
)

EXPIRY_WARN_DAYS = 30


@dataclass(frozen=True)
class CheckStep:
    """One step's outcome. `detail` is the English text; `texts` are its sentences with their
    values, which the console shows translated (connections/check_texts.py)."""

    name: str
    status: Status
    detail: str
    hint: str = ""
    texts: tuple[Text, ...] = field(default=(), compare=False, metadata={"json": False})
    node: NodeInfo | None = field(default=None, compare=False, metadata={"json": False})


def _step(name: str, status: Status, *texts: Text, hint: str = "") -> CheckStep:
    """A step whose detail is `texts`, one sentence each."""
    return CheckStep(name, status, " ".join(str(t) for t in texts), hint, texts)


def _t(message: str, **args: object) -> Text:
    """A sentence: `message` is marked with N_ where it is written."""
    return Text(message, args)


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
        return name.rfc4514_string() or "-"
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


def _bad_file(message: Text) -> KusciaConfigError:
    return KusciaConfigError(message, kind="cert_file", hint=HINT_FILE)


def _client_pair(cfg: ConnectionConfig) -> x509.Certificate:
    cert_pem = read_file("client certificate", cfg.cert_file)
    key_pem = read_file("client key", cfg.key_file)
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise _bad_file(
            _t(N_("client certificate file %(path)s holds no PEM certificate"), path=cfg.cert_file)
        ) from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise _bad_file(
            _t(
                N_("client key file %(path)s holds no unencrypted PEM private key"),
                path=cfg.key_file,
            )
        ) from None
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
        raise _bad_file(
            _t(
                N_("client key %(key)s does not belong to the certificate %(cert)s"),
                key=cfg.key_file,
                cert=cfg.cert_file,
            )
        )
    return cert


def _step_files(st: _State) -> CheckStep:
    """The files as the client reads them (same rules, same messages), plus their contents."""
    cfg = st.config
    if cfg.protocol == "NOTLS":
        return _step(FILES, "ok", _t(N_("Protocol NOTLS: no certificate or token needed.")))
    notes: list[Text] = []
    warnings: list[Text] = []
    try:
        if cfg.ca_file:
            try:
                st.ca_certs = x509.load_pem_x509_certificates(
                    read_file("CA certificate", cfg.ca_file)
                )
            except ValueError:
                raise _bad_file(
                    _t(
                        N_("CA certificate file %(path)s holds no PEM certificate"),
                        path=cfg.ca_file,
                    )
                ) from None
            subject = _subject(st.ca_certs[0])
            notes.append(_t(N_("CA %(path)s (%(subject)s)."), path=cfg.ca_file, subject=subject))
        else:
            warnings.append(_t(N_("No CA file: the server's certificate cannot be verified.")))
        if cfg.protocol == "MTLS":
            if cfg.cert_file and cfg.key_file:
                st.client_cert = _client_pair(cfg)
                notes.append(
                    _t(
                        N_("Client certificate %(path)s (%(subject)s)."),
                        path=cfg.cert_file,
                        subject=_subject(st.client_cert),
                    )
                )
            elif cfg.cert_file or cfg.key_file:
                raise _bad_file(
                    _t(N_("only one of client certificate and client key is set; MTLS needs both"))
                )
            else:
                warnings.append(
                    _t(N_("No client certificate/key configured, but protocol is MTLS."))
                )
        if cfg.token_file:
            length = len(read_token(cfg.token_file))
            notes.append(
                _t(N_("Token %(path)s (%(count)d characters)."), path=cfg.token_file, count=length)
            )
        else:
            warnings.append(
                _t(
                    N_("No token file: protocol %(protocol)s requires the Token header."),
                    protocol=cfg.protocol,
                )
            )
    except KusciaConfigError as err:
        raise _Stop(_step(FILES, "fail", err.text, hint=err.hint)) from None
    texts = notes or [_t(N_("No files configured."))]
    if warnings:
        return _step(FILES, "warn", *texts, *warnings, hint=HINT_FILE)
    return _step(FILES, "ok", *texts)


# ---------------------------------------------------------------------------------- 2. address


def _step_address(st: _State) -> CheckStep:
    cfg = st.config
    try:
        validate_config(cfg)  # the client's own URL rules
    except KusciaConfigError as bad:
        if bad.kind != "wrong_path":  # a path in the URL is the API path step's business
            raise _Stop(_step(ADDRESS, "fail", bad.text, hint=bad.hint)) from None
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
        host, port = st.host, st.port
        detail = {
            "dns": _t(
                N_("the host name %(host)s does not resolve (%(error)s)"),
                host=host,
                error=exc.strerror,
            ),
            "connect_refused": _t(
                N_(
                    "%(host)s (%(addresses)s) refuses connections on port %(port)s: nothing "
                    "listens there"
                ),
                host=host,
                addresses=", ".join(addresses),
                port=port,
            ),
            "timeout": _t(
                N_("no answer from %(host)s:%(port)s within %(seconds)g s"),
                host=host,
                port=port,
                seconds=cfg.connect_timeout,
            ),
        }.get(
            err.kind,
            _t(
                N_("cannot connect to %(host)s:%(port)s: %(error)s"),
                host=host,
                port=port,
                error=str(exc),
            ),
        )
        raise _Stop(_step(ADDRESS, "fail", detail, hint=err.hint)) from None
    ms = (time.monotonic() - started) * 1000
    return _step(
        ADDRESS,
        "ok",
        _t(
            N_(
                "%(host)s resolves to %(addresses)s; port %(port)s accepts connections "
                "(%(ms).1f ms)."
            ),
            host=st.host,
            addresses=", ".join(addresses),
            port=st.port,
            ms=ms,
        ),
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
            _step(
                TLS,
                "fail",
                _t(
                    N_(
                        "port %(port)s accepts connections but gave no TLS answer within "
                        "%(seconds)g s"
                    ),
                    port=st.port,
                    seconds=st.config.connect_timeout,
                ),
                hint=N_(
                    "Something other than KusciaAPI listens there (or a proxy holds the "
                    "connection): check the port, 8082 in the container or 13082 through Docker."
                ),
            )
        ) from None
    except (ssl.SSLError, OSError) as exc:
        err = _classify(exc, st)
        if err.kind in ("tls_client_refused", "cert_expired"):
            # TLS 1.2 servers refuse the client certificate inside the handshake itself.
            alert = _step(
                TLS,
                "warn",
                _t(
                    N_(
                        "the port speaks TLS, but the server ended the handshake with an alert "
                        "about our client certificate"
                    )
                ),
            )
            refused = _step(
                CLIENT_CERT,
                "fail",
                _t(N_("the server refused the handshake: %(error)s"), error=str(exc)),
                hint=err.hint,
            )
            raise _Stop(refused, before=[alert]) from None
        raise _Stop(_step(TLS, "fail", err.text, hint=err.hint)) from None
    if not der:
        raise _Stop(_step(TLS, "fail", _t(N_("the server sent no certificate"))))
    st.server_cert = x509.load_der_x509_certificate(der)
    return [
        _step(
            TLS,
            "ok",
            _t(
                N_(
                    "%(version)s with %(cipher)s; the server presents %(subject)s issued by "
                    "%(issuer)s."
                ),
                version=version,
                cipher=cipher,
                subject=_subject(st.server_cert),
                issuer=_issuer(st.server_cert),
            ),
        )
    ]


CERT_LABELS = {
    "CA": N_("CA certificate %(subject)s"),
    "server": N_("server certificate %(subject)s"),
    "client": N_("client certificate %(subject)s"),
}


def _step_expiry(st: _State, now: dt.datetime) -> CheckStep:
    certs: list[tuple[str, x509.Certificate]] = [("CA", c) for c in st.ca_certs]
    if st.server_cert is not None:
        certs.append(("server", st.server_cert))
    if st.client_cert is not None:
        certs.append(("client", st.client_cert))
    if not certs:
        return _step(EXPIRY, "skipped", _t(N_("no certificate to look at")))
    lines: list[Text] = []
    failures: list[Text] = []
    warnings: list[Text] = []
    hints: list[str] = []
    for role, cert in certs:
        start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
        days = (end - now).total_seconds() / 86400
        label = _t(CERT_LABELS[role], subject=_subject(cert))
        if end < now:
            when = f"{end:%Y-%m-%d %H:%M}"
            failures.append(_t(N_("%(label)s expired on %(when)s UTC."), label=label, when=when))
            hints.append(_expiry_hint(role))
        elif start > now:
            when = f"{start:%Y-%m-%d %H:%M}"
            failures.append(
                _t(N_("%(label)s is not valid before %(when)s UTC."), label=label, when=when)
            )
            hints.append(N_("Check this machine's clock and the certificate's start date."))
        elif days < EXPIRY_WARN_DAYS:
            warnings.append(
                _t(
                    N_("%(label)s expires in %(days)d days (%(date)s)."),
                    label=label,
                    days=round(days),
                    date=f"{end:%Y-%m-%d}",
                )
            )
            hints.append(_expiry_hint(role))
        else:
            lines.append(
                _t(
                    N_("%(label)s valid until %(date)s (%(days)d days)."),
                    label=label,
                    date=f"{end:%Y-%m-%d}",
                    days=round(days),
                )
            )
    if failures:
        raise _Stop(_step(EXPIRY, "fail", *failures, *warnings, *lines, hint=hints[0]))
    if warnings:
        return _step(EXPIRY, "warn", *warnings, *lines, hint=hints[0])
    return _step(EXPIRY, "ok", *lines)


def _expiry_hint(role: str) -> str:
    if role == "server":
        return N_(
            "Renew KusciaAPI's server certificate: Kuscia issues a new kusciaapi-server.crt at "
            "start when kusciaapi-server.key is missing (move both away and restart the node), "
            "then copy the new files."
        )
    if role == "client":
        return N_(
            "Issue a new client certificate signed by the node's ca.crt (Kuscia's "
            "scripts/deploy/init_kusciaapi_client_certs.sh) or copy kusciaapi-server.crt/.key "
            "again, then update the paths."
        )
    return N_("The node's CA certificate must be renewed on the Kuscia node, then copied again.")


def _step_server_cert(st: _State) -> CheckStep:
    assert st.server_cert is not None
    if not st.config.ca_file:
        return _step(
            SERVER_CERT,
            "warn",
            _t(
                N_("not verified: no CA file is configured; the server presents %(subject)s"),
                subject=_subject(st.server_cert),
            ),
            hint=N_(
                "Give the node's ca.crt so that the console can tell the real Kuscia from an "
                "impostor."
            ),
        )
    sans = _san_names(st.server_cert)
    names = ", ".join(sans) or "-"
    # Chain first (no host name check), then the name, so that each problem gets its own message.
    for hostname in (False, True):
        try:
            with _handshake(st, _context(st, verify=True, hostname=hostname)):
                pass
        except ssl.SSLCertVerificationError as exc:
            detail = (
                _t(
                    N_(
                        "the server certificate chains to ca.crt but is not valid for %(name)s: "
                        "it names %(names)s (%(error)s)"
                    ),
                    name=st.server_name,
                    names=names,
                    error=exc.verify_message,
                )
                if hostname
                else _t(
                    N_(
                        "the server certificate %(subject)s, issued by %(issuer)s, does not "
                        "chain to %(path)s (%(cas)s): %(error)s"
                    ),
                    subject=_subject(st.server_cert),
                    issuer=_issuer(st.server_cert),
                    path=st.config.ca_file,
                    cas=", ".join(_subject(c) for c in st.ca_certs),
                    error=exc.verify_message,
                )
            )
            hint = _classify(exc, st).hint
            raise _Stop(_step(SERVER_CERT, "fail", detail, hint=hint)) from None
        except (ssl.SSLError, OSError):
            pass  # a refused client certificate is the next step's business
    return _step(
        SERVER_CERT,
        "ok",
        _t(
            N_("%(subject)s chains to %(path)s and matches %(name)s; it names %(names)s.")
            if not st.config.tls_server_name
            else N_(
                "%(subject)s chains to %(path)s and matches %(name)s (the server name); "
                "it names %(names)s."
            ),
            subject=_subject(st.server_cert),
            path=st.config.ca_file,
            name=st.server_name,
            names=names,
        ),
    )


def _step_client_cert(st: _State) -> CheckStep:
    if st.config.protocol != "MTLS":
        return _step(
            CLIENT_CERT,
            "skipped",
            _t(N_("protocol %(protocol)s: not needed"), protocol=st.config.protocol),
        )
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
            _t(
                N_(
                    "no client certificate is configured and the server closed the connection: "
                    "%(error)s"
                ),
                error=err.text,
            )
            if st.client_cert is None
            else _t(
                N_("the server refused %(subject)s: %(error)s"),
                subject=_subject(st.client_cert),
                error=err.text,
            )
        )
        raise _Stop(_step(CLIENT_CERT, "fail", detail, hint=HINT_CLIENT_REFUSED_MTLS)) from None
    if not first:
        raise _Stop(
            _step(
                CLIENT_CERT,
                "fail",
                _t(N_("the server closed the connection without answering after the handshake")),
                hint=HINT_CLIENT_REFUSED_MTLS,
            )
        )
    if not first.startswith(b"HTTP/"):
        raise _Stop(
            _step(
                CLIENT_CERT,
                "fail",
                _t(N_("the server answered, but not with HTTP: is this KusciaAPI's HTTP port?")),
                hint=N_("KusciaAPI's HTTP port is 8082 (13082 through Docker); 8083 is gRPC."),
            )
        )
    if st.client_cert is None:
        return _step(
            CLIENT_CERT,
            "warn",
            _t(N_("the server answered without a client certificate: it runs TLS, not MTLS")),
            hint=N_(
                "Set the connection's protocol to TLS, or check that this is the node you mean."
            ),
        )
    return _step(
        CLIENT_CERT,
        "ok",
        _t(
            N_("the server accepted %(subject)s and answered HTTP."),
            subject=_subject(st.client_cert),
        ),
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
        detail = _t(N_("%(kind)s: %(error)s"), kind=err.kind, error=err.text)
        raise _Stop(_step(TOKEN, "fail", detail, hint=err.hint)) from None
    with client:
        steps = _step_token_path_health(st, client)
        steps.append(_step_node(client, domains))
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
        detail = _t(N_("POST %(path)s answered 401"), path=f"{prefix}/healthZ")
        raise _Stop(_step(TOKEN, "fail", detail, hint=HINT_401))
    if status in (404, 307, 301, 302, 308):
        raise _Stop(
            _step(
                API_PATH,
                "fail",
                _t(
                    N_("POST %(path)s answered %(status)s (the URL carries the path %(prefix)s)"),
                    path=f"{prefix}/healthZ",
                    status=status,
                    prefix=prefix,
                ),
                hint=HINT_404,
            ),
            before=[_token_ok(st.config)],
        )


def _step_token_path_health(st: _State, client: KusciaClient) -> list[CheckStep]:
    try:
        ready = client.health()
    except KusciaError as err:
        detail = {
            "unauthorized": _t(
                N_("POST %(path)s answered %(status)s: %(error)s"),
                path="/healthZ",
                status=401,
                error=err.text,
            ),
            "wrong_path": _t(
                N_("POST %(path)s answered %(status)s: %(error)s"),
                path=f"{st.config.url}/healthZ",
                status=404,
                error=err.text,
            ),
        }.get(err.kind, _t(N_("%(kind)s: %(error)s"), kind=err.kind, error=err.text))
        if err.kind == "wrong_path":
            token_ok = _token_ok(st.config)
            raise _Stop(_step(API_PATH, "fail", detail, hint=err.hint), [token_ok]) from None
        raise _Stop(_step(TOKEN, "fail", detail, hint=err.hint)) from None
    steps = [_token_ok(st.config)]
    # A job route under /api/v1 with an id that cannot exist: any Kuscia answer means the path
    # is right; only a 404 (or 401) is a problem.
    try:
        client.batch_query_job_status(["kc-connection-check"])
    except KusciaError as err:
        if err.kind == "wrong_path":
            detail = _t(
                N_("/healthZ answers but %(path)s gives 404: %(error)s"),
                path="/api/v1/job/status/batchQuery",
                error=err.text,
            )
            raise _Stop(_step(API_PATH, "fail", detail, hint=err.hint), steps) from None
        if err.code is None:  # not a Kuscia status.code answer (401, transport, ...)
            detail = _t(N_("%(kind)s: %(error)s"), kind=err.kind, error=err.text)
            raise _Stop(_step(API_PATH, "fail", detail, hint=err.hint), steps) from None
    steps.append(
        _step(
            API_PATH,
            "ok",
            _t(N_("/healthZ and %(path)s answer as KusciaAPI."), path=BATCH_QUERY),
        )
    )
    if not ready:
        not_ready = _step(
            HEALTHZ,
            "fail",
            _t(N_("KusciaAPI answers but reports ready=false")),
            hint=N_("Kuscia is still starting or unhealthy: look at the node's kuscia.log."),
        )
        raise _Stop(not_ready, steps)
    steps.append(_step(HEALTHZ, "ok", _t(N_("POST /healthZ: ready."))))
    return steps


BATCH_QUERY = "/api/v1/job/status/batchQuery"


def _token_ok(config: ConnectionConfig) -> CheckStep:
    if config.protocol == "NOTLS":
        return _step(TOKEN, "skipped", _t(N_("protocol NOTLS: Kuscia does not check the token")))
    return _step(TOKEN, "ok", _t(N_("Kuscia accepted the Token header (no 401).")))


def _step_node(client: KusciaClient, domains: Sequence[str]) -> CheckStep:
    """The node's role and the domains it serves (kuscia/node.py), kept on the step."""
    try:
        node = probe_node(client, domains)
    except KusciaError as err:
        detail = _t(N_("could not tell: %(kind)s: %(error)s"), kind=err.kind, error=err.text)
        return _step(NODE, "warn", detail, hint=err.hint)
    if not node.role:
        step = _step(
            NODE,
            "warn",
            _t(N_("Kuscia's answers do not tell the role: %(how)s"), how=node.detail),
            hint=N_("Task logs need Kuscia v0.13 or newer on a lite or autonomy node."),
        )
        return replace(step, node=node)
    hint = ""
    if not node.domains and node.role != "master":
        hint = N_(
            "Set the connection's local domain (or let the console see a job of it) so that "
            "the domains this node serves can be confirmed."
        )
    serves = ", ".join(node.domains) if node.domains else "-"
    detail = _t(
        N_("%(role)s, serving %(domains)s (%(how)s)."),
        role=node.role,
        domains=serves,
        how=node.detail,
    )
    return replace(_step(NODE, "warn" if hint else "ok", detail, hint=hint), node=node)


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
                _step(
                    WATCH,
                    "fail",
                    _t(
                        N_("the watch stream failed: %(kind)s: %(error)s"),
                        kind=err.kind,
                        error=err.text,
                    ),
                    hint=err.hint
                    or N_("A proxy between the console and Kuscia may buffer or cut streams."),
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
        return _step(
            WATCH,
            "warn",
            _t(
                N_(
                    "%(path)s opened (%(events)d job events) but did not end within "
                    "%(seconds)g s although 1 s was asked for"
                ),
                path="/api/v1/job/watch",
                events=events,
                seconds=WATCH_DEADLINE,
            ),
            hint=N_(
                "Kuscia ends a watch after timeout_seconds; a proxy in between may hold or buffer "
                "the stream (turn off response buffering for /api/v1/job/watch)."
            ),
        )
    return _step(
        WATCH,
        "ok",
        _t(
            N_("%(path)s opened and closed after %(seconds).1f s with %(events)d job events.")
            if events != 1
            else N_("%(path)s opened and closed after %(seconds).1f s with %(events)d job event."),
            path="/api/v1/job/watch",
            seconds=seconds,
            events=events,
        ),
    )


def _step_routes(client: KusciaClient, domains: Sequence[str]) -> CheckStep:
    known = list(dict.fromkeys(d for d in domains if d))
    if len(known) < 2:
        return _step(
            ROUTES,
            "skipped",
            _t(
                N_(
                    "fewer than two known domains (they come from the connection's local domain "
                    "and the parties of its jobs)"
                )
            ),
        )
    pairs = [(a, b) for a in known for b in known if a != b]
    try:
        routes = client.batch_query_route_status(pairs)
    except KusciaError as err:
        return _step(
            ROUTES,
            "warn",
            _t(
                N_("route status of %(domains)s could not be read: %(error)s"),
                domains=", ".join(known),
                error=err.text,
            ),
            hint=err.hint,
        )
    bad = [r for r in routes if r.status != "Succeeded"]
    summary = ", ".join(f"{r.source}→{r.destination} {r.status}" for r in routes)
    if bad:
        reasons = "; ".join(f"{r.source}→{r.destination}: {r.reason or r.status}" for r in bad)
        return _step(
            ROUTES,
            "warn",
            _t(
                N_("%(bad)d of %(count)d routes are not ready: %(reasons)s"),
                bad=len(bad),
                count=len(routes),
                reasons=reasons,
            ),
            hint=N_(
                "Jobs between these parties will wait or fail: check the domain routes "
                "(ClusterDomainRoute) and the authorisation between the nodes."
            ),
        )
    if not summary:
        return _step(ROUTES, "ok", _t(N_("no routes reported")))
    return _step(ROUTES, "ok", Text("%(routes)s", {"routes": summary}))


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
    not_run = (
        _t(N_("not run: an earlier step failed")) if first_failure(steps) else _t(N_("not run"))
    )
    for name in STEP_NAMES:
        if name not in done:
            tls_step = name in (TLS, EXPIRY, SERVER_CERT, CLIENT_CERT)
            no_tls = tls_step and not config.uses_tls
            why = _t(N_("protocol NOTLS: no TLS")) if no_tls else not_run
            steps.append(_step(name, "skipped", why))
    order = {name: i for i, name in enumerate(STEP_NAMES)}
    return sorted(steps, key=lambda s: order.get(s.name, len(order)))


def first_failure(steps: Sequence[CheckStep]) -> CheckStep | None:
    return next((s for s in steps if s.status == "fail"), None)
