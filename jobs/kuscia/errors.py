"""One error hierarchy for everything that can go wrong talking to Kuscia.

Every error has a stable `kind` slug (pages and tests match on it), Kuscia's or the transport's
`message`, a one-line plain-language `hint` saying what to do (the seed's troubleshooting
section, for curl, is the model), the Kuscia `code` when there is one and the `route`.

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


class KusciaError(Exception):
    kind: str = "error"
    default_hint: str = "Run `python manage.py kuscia check` to test the connection step by step."

    def __init__(
        self,
        message: str,
        *,
        kind: str | None = None,
        hint: str | None = None,
        code: int | None = None,
        route: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
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
    default_hint = "Fix the connection settings (URL, protocol, certificate and token paths)."


class KusciaTransportError(KusciaError):
    kind = "connection"
    default_hint = "Check that Kuscia is running and reachable from this machine."


class KusciaHTTPError(KusciaError):
    kind = "http_error"
    default_hint = "Kuscia answered with an unexpected HTTP status; check the URL and Kuscia's log."

    def __init__(self, message: str, *, status_code: int = 0, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.status_code = status_code

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "status_code": self.status_code}


class KusciaAPIError(KusciaError):
    """Kuscia answered with status.code != 0."""

    kind = "api_error"
    default_hint = "Kuscia refused the request; its message says why."
    code: int


class KusciaNotFound(KusciaAPIError):
    kind = "not_found"
    default_hint = "It does not exist on this Kuscia node: check the ID (it may have been deleted)."


class KusciaAlreadyExists(KusciaAPIError):
    kind = "already_exists"
    default_hint = "An object with this ID already exists: pick another ID or delete the old one."


class KusciaValidationError(KusciaAPIError):
    kind = "validation"
    default_hint = "Kuscia rejected the request's content: correct the field its message names."


class KusciaStateError(KusciaAPIError):
    kind = "state_precondition"
    default_hint = "The job is not in a state that allows this action."


class KusciaNotSupported(KusciaAPIError):
    kind = "not_supported"
    default_hint = "This node type does not offer this call."


class KusciaForbidden(KusciaAPIError):
    kind = "forbidden"
    default_hint = "This node's identity may not touch that object: use the master's KusciaAPI."


class KusciaMalformed(KusciaError):
    kind = "malformed"
    default_hint = (
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
STATE_CODES = frozenset({11210, 11211})
NOT_SUPPORTED_HINTS = {
    11104: "A lite node does not offer this call: point the connection at the master's KusciaAPI.",
    11105: (
        "The master does not offer this call (task logs live on lite/autonomy nodes): "
        "connect to the party's own node."
    ),
}


def _not_found_hint(route: str) -> str:
    if route == "/api/v1/job/status/batchQuery":
        return (
            "At least one of the job IDs does not exist, and Kuscia then fails the whole batch: "
            "query the IDs one by one to find it."
        )
    if route.startswith("/api/v1/job/"):
        return "No job with this ID on this Kuscia node: check the ID (it may have been deleted)."
    if route.startswith("/api/v1/domaindata/"):
        return "No such domain data in that domain: check both the domain ID and the data ID."
    if route.startswith("/api/v1/domain/"):
        return (
            "No such domain on this Kuscia node (one unknown ID fails a whole batch): "
            "check the domain IDs."
        )
    return KusciaNotFound.default_hint


def api_error(route: str, code: int, message: str) -> KusciaAPIError:
    """The typed error for a reply whose status.code is not 0."""
    lowered = message.lower()
    if code in NOT_EXISTS_CODES or (
        JOB_NOT_FOUND_CODES.get(route) == code and "not found" in lowered
    ):
        return KusciaNotFound(message, code=code, route=route, hint=_not_found_hint(route))
    if code in EXISTS_CODES or (code == 11201 and "already exists" in lowered):
        return KusciaAlreadyExists(message, code=code, route=route)
    if code == 11100:
        return KusciaValidationError(message, code=code, route=route)
    if code == 11210:
        return KusciaStateError(
            message,
            code=code,
            route=route,
            hint="Only a Running job can be suspended; refresh the job to see its state.",
        )
    if code == 11211:
        return KusciaStateError(
            message,
            code=code,
            route=route,
            hint="Only a Failed or Suspended job can be restarted; refresh to see its state.",
        )
    if code in NOT_SUPPORTED_HINTS:
        return KusciaNotSupported(message, code=code, route=route, hint=NOT_SUPPORTED_HINTS[code])
    if code == 11102:
        return KusciaForbidden(message, code=code, route=route)
    if code == 11103:
        return KusciaAPIError(
            message,
            code=code,
            route=route,
            hint="This lite node cannot reach its master: check the master and the node's route.",
        )
    if code == 11101:
        return KusciaAPIError(
            message,
            code=code,
            route=route,
            hint="Kuscia could not decode the request or failed internally; see Kuscia's log.",
        )
    if code == 11201:
        return KusciaAPIError(
            message,
            code=code,
            route=route,
            hint=(
                "Kubernetes refused the job: check the job ID, max_parallelism (1-128) and "
                "custom_fields (label-safe keys <= 38, values <= 63 characters)."
            ),
        )
    return KusciaAPIError(message, code=code, route=route)


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

HINT_CLIENT_REFUSED_MTLS = (
    "Kuscia refused the client certificate (curl: (56) ... bad certificate): use a certificate "
    "and key signed by the node's ca.crt, e.g. kusciaapi-server.crt/.key from var/certs."
)
HINT_CLIENT_REFUSED_TLS = (
    "Kuscia asks for a client certificate: set protocol MTLS and give kusciaapi-server.crt/.key."
)


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
    """Classify a low-level failure by its cause.

    phase is "connect" (no byte of the response read yet on a fresh connection) or "read".
    """
    chain = list(causes(exc))
    names = {type(e).__name__ for e in chain}
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError):
            return _verify_error(e, route=route, url=url, tls_server_name=tls_server_name)
    for e in chain:
        if isinstance(e, ssl.SSLError):
            reason = (getattr(e, "reason", None) or "").upper()
            text = str(e)
            if reason in _EXPIRED_ALERTS:
                return KusciaTransportError(
                    f"Kuscia rejected the client certificate as expired or revoked: {text}",
                    kind="cert_expired",
                    route=route,
                    hint="The client certificate has expired: copy a fresh one from Kuscia.",
                )
            if reason in _CLIENT_CERT_ALERTS:
                return KusciaTransportError(
                    f"Kuscia refused the TLS handshake: {text}",
                    kind="tls_client_refused",
                    route=route,
                    hint=HINT_CLIENT_REFUSED_MTLS
                    if protocol == "MTLS"
                    else HINT_CLIENT_REFUSED_TLS,
                )
            if reason == "TLSV1_ALERT_NO_APPLICATION_PROTOCOL":
                return KusciaTransportError(
                    f"The server only speaks HTTP/2 (gRPC?) on this port: {text}",
                    kind="wrong_path",
                    route=route,
                    hint="This looks like KusciaAPI's gRPC port (8083 / Docker 13083): use the "
                    "HTTP port (8082 / Docker 13082).",
                )
            if reason in {"WRONG_VERSION_NUMBER", "HTTP_REQUEST", "UNKNOWN_PROTOCOL"} or (
                "record layer failure" in text.lower()
            ):
                return KusciaTransportError(
                    f"The server does not speak TLS on this port: {text}",
                    kind="tls_protocol",
                    route=route,
                    hint=(
                        "The server answers in plain HTTP: if Kuscia runs with protocol NOTLS, "
                        "use an http:// URL and protocol NOTLS; otherwise check the port."
                    ),
                )
            return KusciaTransportError(
                f"TLS failure: {text}",
                kind="tls_error",
                route=route,
                hint="The TLS handshake failed: check protocol, ca.crt and the client certificate.",
            )
    for e in chain:
        if isinstance(e, socket.gaierror):
            return KusciaTransportError(
                f"Cannot resolve the host name in {url}: {e}",
                kind="dns",
                route=route,
                hint="The host name does not resolve: check the URL's host.",
            )
    if "ConnectTimeout" in names or "PoolTimeout" in names:
        return KusciaTransportError(
            f"Connecting to {url} timed out",
            kind="timeout",
            route=route,
            hint="Nothing answered in time: check the host, port and firewall.",
        )
    if "ReadTimeout" in names or "WriteTimeout" in names or "TimeoutError" in names:
        return KusciaTransportError(
            f"Kuscia did not answer {route} in time",
            kind="timeout",
            route=route,
            hint="Kuscia is slow or stuck: retry later, or raise the read timeout.",
        )
    for e in chain:
        if isinstance(e, ConnectionRefusedError) or (
            isinstance(e, OSError) and e.errno == errno.ECONNREFUSED
        ):
            return KusciaTransportError(
                f"Connection to {url} refused",
                kind="connect_refused",
                route=route,
                hint=(
                    "Nothing listens there: is Kuscia running, and is the port KusciaAPI's "
                    "(8082 in the container, 13082 through Docker)?"
                ),
            )
    if "ConnectError" in names and any("Name or service not known" in str(e) for e in chain):
        return KusciaTransportError(
            f"Cannot resolve the host name in {url}",
            kind="dns",
            route=route,
            hint="The host name does not resolve: check the URL's host.",
        )
    reset = any(isinstance(e, ConnectionResetError | BrokenPipeError) for e in chain)
    if reset and protocol in ("MTLS", "TLS") and phase == "connect":
        # TLS 1.3: the client finishes its side of the handshake before the server checks the
        # client certificate, so a refusal often shows up only as a reset on the first read.
        return KusciaTransportError(
            f"Kuscia reset the connection before answering: {exc}",
            kind="tls_client_refused",
            route=route,
            hint=HINT_CLIENT_REFUSED_MTLS if protocol == "MTLS" else HINT_CLIENT_REFUSED_TLS,
        )
    closed = any(
        isinstance(e, ssl.SSLEOFError)
        or "Server disconnected without sending a response" in str(e)
        or "EOF occurred in violation of protocol" in str(e)
        for e in chain
    )
    if closed:
        return KusciaTransportError(
            f"Kuscia closed the connection without answering: {exc}",
            kind="connection",
            route=route,
            hint="The server hung up without answering: check that the port is KusciaAPI's HTTP "
            "port (8082 / Docker 13082, not gRPC 8083), then retry and check Kuscia's log.",
        )
    return KusciaTransportError(
        f"Connection to {url} failed: {exc}",
        kind="connection",
        route=route,
    )


def _verify_error(
    e: ssl.SSLCertVerificationError, *, route: str, url: str, tls_server_name: str
) -> KusciaTransportError:
    code = e.verify_code
    detail = e.verify_message or str(e)
    if code in (_X509_HOSTNAME_MISMATCH, _X509_IP_MISMATCH, _X509_EMAIL_MISMATCH):
        name = tls_server_name or url
        return KusciaTransportError(
            f"The server certificate is not valid for {name}: {detail}",
            kind="tls_hostname",
            route=route,
            hint=(
                "Kuscia's certificate names localhost, kusciaapi and 127.0.0.1: set the TLS "
                "server name to one of them (KUSCIA_TLS_SERVER_NAME), e.g. behind a port mapping."
            ),
        )
    if code in (_X509_EXPIRED, _X509_NOT_YET_VALID):
        return KusciaTransportError(
            f"The server certificate is outside its validity period: {detail}",
            kind="cert_expired",
            route=route,
            hint=(
                "Kuscia's server certificate has expired (or the clocks differ): renew it on the "
                "Kuscia node, then copy the new ca.crt."
            ),
        )
    return KusciaTransportError(
        f"The server certificate is not trusted: {detail}",
        kind="tls_untrusted",
        route=route,
        hint=(
            "The server's certificate does not chain to the configured CA: copy ca.crt "
            "from this Kuscia node's var/certs (each node has its own CA)."
        ),
    )
