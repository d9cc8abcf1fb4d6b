"""One error hierarchy for everything that can go wrong talking to Kuscia.

Every error has a stable `kind` slug: callers branch on it (`exc.kind == "not_found"`), the
CLI prints it, the sync health and the audit log store it. The classes below are the families;
within a family only `kind` tells errors apart (no class per kind). Each error also has
Kuscia's or the transport's `message`, a one-line plain-language `hint` saying what to do (the
seed's troubleshooting section, for curl, is the model), the Kuscia `code` when there is one
and the `route`.

Families:
  KusciaConfigError     config, cert_file (before any connection, like curl's (58))
  KusciaTransportError  tls_untrusted, tls_hostname, tls_client_refused, cert_expired,
                        tls_protocol, tls_error, connect_refused, dns, timeout, connection
  KusciaHTTPError       unauthorized (401), wrong_path (404 / 307), http_error (anything else)
  KusciaAPIError        status.code != 0: not_found, already_exists, validation,
                        state_precondition, not_supported, forbidden, api_error
  KusciaMalformed       malformed (empty, truncated or unexpected bodies)
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Iterator
from typing import Any

from kuscia.texts import N_, Text


class KusciaError(Exception):
    kind: str = "error"
    default_hint: str = N_(
        "Run `python manage.py kuscia check` to test the connection step by step."
    )

    def __init__(
        self,
        message: str | Text,
        *,
        kind: str | None = None,
        hint: str | None = None,
        code: int | None = None,
        route: str | None = None,
    ) -> None:
        # `text`: the message as the console shows it, translated where kuscia/ wrote it (a
        # Text); Kuscia's own words and the transport's stay as they are.
        self.text = message if isinstance(message, Text) else Text(message)
        self.message = str(self.text)
        super().__init__(self.message)
        if kind is not None:
            self.kind = kind
        self.hint = hint or self.default_hint
        self.code = code
        self.route = route

    def __str__(self) -> str:
        where = f" ({self.route})" if self.route else ""
        code = f" [{self.code}]" if self.code is not None else ""
        return f"{self.message}{code}{where}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "hint": self.hint,
            "code": self.code,
            "route": self.route,
        }


class KusciaConfigError(KusciaError):
    kind = "config"
    default_hint = N_("Fix the connection settings (URL, protocol, certificate and token paths).")


class KusciaTransportError(KusciaError):
    kind = "connection"
    default_hint = N_("Check that Kuscia is running and reachable from this machine.")


class KusciaHTTPError(KusciaError):
    kind = "http_error"
    default_hint = N_(
        "Kuscia answered with an unexpected HTTP status; check the URL and Kuscia's log."
    )

    def __init__(self, message: str, *, status_code: int = 0, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.status_code = status_code

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "status_code": self.status_code}


class KusciaAPIError(KusciaError):
    """Kuscia answered with status.code != 0; `kind` says which way (see api_error)."""

    kind = "api_error"
    default_hint = N_("Kuscia refused the request; its message says why.")
    code: int


class KusciaMalformed(KusciaError):
    kind = "malformed"
    default_hint = N_(
        "The reply is not what KusciaAPI sends: check that the URL points at KusciaAPI "
        "(port 8082 / Docker 13082) and retry; a cut-off reply means the connection dropped."
    )


# ------------------------------------------------------------------ status.code classification

JOB_NOT_FOUND_CODES = {
    "/api/v1/job/query": 11202,
    "/api/v1/job/status/batchQuery": 11203,
    "/api/v1/job/delete": 11204,
    "/api/v1/job/stop": 11205,
    "/api/v1/job/approve": 11206,
    "/api/v1/job/suspend": 11207,
    "/api/v1/job/restart": 11208,
    "/api/v1/job/cancel": 11209,
}
# Codes that mean "does not exist" whatever the message (Kubernetes NotFound mapping).
NOT_EXISTS_CODES = frozenset({11305, 11404, 11506, 11705, 11806, 13105})
EXISTS_CODES = frozenset({11306, 11405, 11507, 11704, 11805, 13106})
# The hint of each kind of refusal, unless its code or route has a more precise one.
_KIND_HINTS = {
    "not_found": N_(
        "It does not exist on this Kuscia node: check the ID (it may have been deleted)."
    ),
    "already_exists": N_(
        "An object with this ID already exists: pick another ID or delete the old one."
    ),
    "validation": N_("Kuscia rejected the request's content: correct the field its message names."),
    "state_precondition": N_("The job is not in a state that allows this action."),
    "not_supported": N_("This node type does not offer this call."),
    "forbidden": N_("This node's identity may not touch that object: use the master's KusciaAPI."),
    "api_error": KusciaAPIError.default_hint,
}
# Codes with their own kind and/or hint (None: the kind's hint).
_BY_CODE: dict[int, tuple[str, str | None]] = {
    11100: ("validation", None),
    11210: (
        "state_precondition",
        N_("Only a Running job can be suspended; refresh the job to see its state."),
    ),
    11211: (
        "state_precondition",
        N_("Only a Failed or Suspended job can be restarted; refresh to see its state."),
    ),
    11104: (
        "not_supported",
        N_("A lite node does not offer this call: point the connection at the master's KusciaAPI."),
    ),
    11105: (
        "not_supported",
        N_(
            "The master does not offer this call (task logs live on lite/autonomy nodes): "
            "connect to the party's own node."
        ),
    ),
    11102: ("forbidden", None),
    11103: (
        "api_error",
        N_("This lite node cannot reach its master: check the master and the node's route."),
    ),
    11101: (
        "api_error",
        N_("Kuscia could not decode the request or failed internally; see Kuscia's log."),
    ),
    11201: (
        "api_error",
        N_(
            "Kubernetes refused the job: check the job ID, max_parallelism (1-128) and "
            "custom_fields (label-safe keys <= 38, values <= 63 characters)."
        ),
    ),
}
# Not-found hints by route prefix, first match wins.
_NOT_FOUND_HINTS = (
    (
        "/api/v1/job/status/batchQuery",
        N_(
            "At least one of the job IDs does not exist, and Kuscia then fails the whole batch: "
            "query the IDs one by one to find it."
        ),
    ),
    (
        "/api/v1/job/",
        N_("No job with this ID on this Kuscia node: check the ID (it may have been deleted)."),
    ),
    (
        "/api/v1/domaindata/",
        N_("No such domain data in that domain: check both the domain ID and the data ID."),
    ),
    (
        "/api/v1/domain/",
        N_(
            "No such domain on this Kuscia node (one unknown ID fails a whole batch): "
            "check the domain IDs."
        ),
    ),
)


def api_error(route: str, code: int, message: str) -> KusciaAPIError:
    """The error for a reply whose status.code is not 0, its `kind` and hint chosen here."""
    lowered = message.lower()
    hint: str | None
    if code in NOT_EXISTS_CODES or (
        JOB_NOT_FOUND_CODES.get(route) == code and "not found" in lowered
    ):
        kind = "not_found"
        hint = next((h for prefix, h in _NOT_FOUND_HINTS if route.startswith(prefix)), None)
    elif code in EXISTS_CODES or (code == 11201 and "already exists" in lowered):
        kind, hint = "already_exists", None
    else:
        kind, hint = _BY_CODE.get(code, ("api_error", None))
    return KusciaAPIError(
        message, kind=kind, code=code, route=route, hint=hint or _KIND_HINTS[kind]
    )


# ------------------------------------------------------------------ transport classification

# OpenSSL X509_V_ERR_* values (ssl.SSLCertVerificationError.verify_code).
_X509_EXPIRED = 10
_X509_NOT_YET_VALID = 9
_X509_HOSTNAME_MISMATCH = 62
_X509_EMAIL_MISMATCH = 63
_X509_IP_MISMATCH = 64
_CLIENT_CERT_ALERTS = {
    "TLSV13_ALERT_CERTIFICATE_REQUIRED",
    "SSLV3_ALERT_BAD_CERTIFICATE",
    "TLSV1_ALERT_UNKNOWN_CA",
    "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
    "TLSV1_ALERT_ACCESS_DENIED",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
    "TLSV1_ALERT_DECRYPT_ERROR",
}
_EXPIRED_ALERTS = {"SSLV3_ALERT_CERTIFICATE_EXPIRED", "SSLV3_ALERT_CERTIFICATE_REVOKED"}

# The hints for what goes wrong before Kuscia answers (shared with the connection check).
HINT_FILE = N_(
    "A certificate, key or token file is missing or unreadable (curl: (58)): copy ca.crt, "
    "kusciaapi-server.crt, kusciaapi-server.key and token out of /home/kuscia/var/certs/ of the "
    "master (centralized) or the party's autonomy container (P2P), e.g. `docker cp "
    "${USER}-kuscia-master:/home/kuscia/var/certs/ca.crt .`, readable by the console's user."
)
HINT_401 = N_(
    "Kuscia rejected the Token header (401): copy var/certs/token from this Kuscia node again, "
    "unchanged (no added newline)."
)
HINT_404 = N_(
    "No such route here (404): the URL must point at KusciaAPI's HTTP port (8082 in the "
    "container, 13082 through Docker), not at a gateway or the gRPC port, without a path."
)
HINT_CLIENT_REFUSED_MTLS = N_(
    "Kuscia refused the client certificate (curl: (56) ... bad certificate): use a certificate "
    "and key signed by the node's ca.crt, e.g. kusciaapi-server.crt/.key from var/certs."
)
HINT_CLIENT_REFUSED_TLS = N_(
    "Kuscia asks for a client certificate: set protocol MTLS and give kusciaapi-server.crt/.key."
)
HINT_DNS = N_(
    "The host name does not resolve: check the URL's host (inside Docker networks use the "
    "container's name or the host's address, not localhost)."
)
HINT_CONNECT_REFUSED = N_(
    "Nothing listens there: is Kuscia running, and is the port KusciaAPI's "
    "(8082 in the container, 13082 through Docker)?"
)
HINT_CONNECT_TIMEOUT = N_("Nothing answered in time: check the host, port and firewall.")
HINT_UNTRUSTED = N_(
    "Use the ca.crt of the same Kuscia node you connect to (its /home/kuscia/var/certs/ca.crt); "
    "another node's or party's CA will not do."
)
HINT_HOSTNAME = N_(
    "Set the TLS server name (the server-name setting, tls_server_name / "
    "KUSCIA_TLS_SERVER_NAME) to a name in Kuscia's certificate (localhost, kusciaapi, "
    "127.0.0.1), e.g. kusciaapi behind another host name or a Docker port mapping; or add your "
    "name to kusciaAPISans in kuscia.yaml and let Kuscia re-issue the certificate."
)


def client_refused_hint(protocol: str) -> str:
    return HINT_CLIENT_REFUSED_MTLS if protocol == "MTLS" else HINT_CLIENT_REFUSED_TLS


def causes(exc: BaseException) -> Iterator[BaseException]:
    """exc and the chain of exceptions it was raised from."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def transport_error(
    exc: BaseException,
    *,
    route: str,
    protocol: str,
    url: str,
    tls_server_name: str = "",
    phase: str = "connect",
) -> KusciaTransportError:
    """Classify a low-level failure by its cause: the one place that gives it a kind and hint.

    phase is "connect" (no byte of the response read yet on a fresh connection) or "read".
    """
    kind, message, hint = _classify(exc, route, protocol, url, tls_server_name, phase)
    return KusciaTransportError(message, kind=kind, route=route, hint=hint)


def _classify(
    exc: BaseException, route: str, protocol: str, url: str, tls_server_name: str, phase: str
) -> tuple[str, Text, str | None]:
    chain = list(causes(exc))
    names = {type(e).__name__ for e in chain}
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError):
            return _verify_error(e, url=url, tls_server_name=tls_server_name)
    for e in chain:
        if isinstance(e, ssl.SSLError):
            return _ssl_error(e, protocol)
    if any(isinstance(e, socket.gaierror) for e in chain) or (
        "ConnectError" in names and any("Name or service not known" in str(e) for e in chain)
    ):
        gai = next((e for e in chain if isinstance(e, socket.gaierror)), None)
        return (
            "dns",
            Text(
                N_("Cannot resolve the host name in %(url)s: %(error)s"), {"url": url, "error": gai}
            )
            if gai
            else Text(N_("Cannot resolve the host name in %(url)s"), {"url": url}),
            HINT_DNS,
        )
    if names & {"ReadTimeout", "WriteTimeout"}:
        return (
            "timeout",
            Text(N_("Kuscia did not answer %(route)s in time"), {"route": route}),
            N_("Kuscia is slow or stuck: retry later, or raise the read timeout."),
        )
    if names & {"ConnectTimeout", "PoolTimeout", "TimeoutError"}:
        message = Text(N_("Connecting to %(url)s timed out"), {"url": url})
        return "timeout", message, HINT_CONNECT_TIMEOUT
    if any(
        isinstance(e, ConnectionRefusedError)
        or (isinstance(e, OSError) and e.errno == errno.ECONNREFUSED)
        for e in chain
    ):
        message = Text(N_("Connection to %(url)s refused"), {"url": url})
        return "connect_refused", message, HINT_CONNECT_REFUSED
    reset = any(isinstance(e, ConnectionResetError | BrokenPipeError) for e in chain)
    if reset and protocol in ("MTLS", "TLS") and phase == "connect":
        # TLS 1.3: the client finishes its side of the handshake before the server checks the
        # client certificate, so a refusal often shows up only as a reset on the first read.
        return (
            "tls_client_refused",
            Text(
                N_("Kuscia reset the connection before answering: %(error)s"), {"error": str(exc)}
            ),
            client_refused_hint(protocol),
        )
    if any(
        isinstance(e, ssl.SSLEOFError)
        or "Server disconnected without sending a response" in str(e)
        or "EOF occurred in violation of protocol" in str(e)
        for e in chain
    ):
        return (
            "connection",
            Text(
                N_("Kuscia closed the connection without answering: %(error)s"), {"error": str(exc)}
            ),
            N_(
                "The server hung up without answering: check that the port is KusciaAPI's HTTP "
                "port (8082 / Docker 13082, not gRPC 8083), then retry and check Kuscia's log."
            ),
        )
    message = Text(N_("Connection to %(url)s failed: %(error)s"), {"url": url, "error": str(exc)})
    return "connection", message, None


def _ssl_error(e: ssl.SSLError, protocol: str) -> tuple[str, Text, str]:
    reason = (getattr(e, "reason", None) or "").upper()
    text = str(e)
    if reason in _EXPIRED_ALERTS:
        return (
            "cert_expired",
            Text(
                N_("Kuscia rejected the client certificate as expired or revoked: %(error)s"),
                {"error": text},
            ),
            N_("The client certificate has expired: copy a fresh one from Kuscia."),
        )
    if reason in _CLIENT_CERT_ALERTS:
        return (
            "tls_client_refused",
            Text(N_("Kuscia refused the TLS handshake: %(error)s"), {"error": text}),
            client_refused_hint(protocol),
        )
    if reason == "TLSV1_ALERT_NO_APPLICATION_PROTOCOL":
        return (
            "wrong_path",
            Text(
                N_("The server only speaks HTTP/2 (gRPC?) on this port: %(error)s"), {"error": text}
            ),
            N_(
                "This looks like KusciaAPI's gRPC port (8083 / Docker 13083): use the "
                "HTTP port (8082 / Docker 13082)."
            ),
        )
    if reason in {"WRONG_VERSION_NUMBER", "HTTP_REQUEST", "UNKNOWN_PROTOCOL"} or (
        "record layer failure" in text.lower()
    ):
        return (
            "tls_protocol",
            Text(N_("The server does not speak TLS on this port: %(error)s"), {"error": text}),
            N_(
                "The server answers in plain HTTP: if Kuscia runs with protocol NOTLS, "
                "use an http:// URL and protocol NOTLS; otherwise check the port."
            ),
        )
    return (
        "tls_error",
        Text(N_("TLS failure: %(error)s"), {"error": text}),
        N_("The TLS handshake failed: check protocol, ca.crt and the client certificate."),
    )


def _verify_error(
    e: ssl.SSLCertVerificationError, *, url: str, tls_server_name: str
) -> tuple[str, Text, str]:
    code = e.verify_code
    detail = e.verify_message or str(e)
    if code in (_X509_HOSTNAME_MISMATCH, _X509_IP_MISMATCH, _X509_EMAIL_MISMATCH):
        name = tls_server_name or url
        return (
            "tls_hostname",
            Text(
                N_("The server certificate is not valid for %(name)s: %(error)s"),
                {"name": name, "error": detail},
            ),
            HINT_HOSTNAME,
        )
    if code in (_X509_EXPIRED, _X509_NOT_YET_VALID):
        return (
            "cert_expired",
            Text(
                N_("The server certificate is outside its validity period: %(error)s"),
                {"error": detail},
            ),
            N_(
                "Kuscia's server certificate has expired (or the clocks differ): renew it on "
                "the Kuscia node, then copy the new ca.crt."
            ),
        )
    message = Text(N_("The server certificate is not trusted: %(error)s"), {"error": detail})
    return "tls_untrusted", message, HINT_UNTRUSTED
