"""The one module through which the console talks to KusciaAPI (kuscia-api.md).

    with KusciaClient(ConnectionConfig.from_cert_dir(url, cert_dir)) as kc:
        statuses = kc.batch_query_job_status(["job-a", "job-b"])

One pooled httpx.Client per KusciaClient, an ssl.SSLContext built from ca.crt and the client
certificate (verification is never turned off), the `Token` header with the token file's exact
bytes, explicit connect/read timeouts. Every failure raises a KusciaError (see errors.py).
Files are read when the client is built, so a missing file fails before any connection.
"""

from __future__ import annotations

import json
import logging
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from kuscia import wire
from kuscia.client_network import NetworkCalls
from kuscia.config import ConnectionConfig
from kuscia.errors import (
    HINT_401,
    HINT_404,
    HINT_FILE,
    KusciaConfigError,
    KusciaError,
    KusciaHTTPError,
    KusciaMalformed,
    api_error,
    transport_error,
)
from kuscia.logstream import DeployTemplate, TaskLogStream, parse_deploy_templates
from kuscia.stream import WatchStream
from kuscia.texts import N_, Text
from kuscia.types import JSON, JobDetail, JobSpec, JobStatus

log = logging.getLogger(__name__)
T = TypeVar("T")

Observer = Callable[[str, float, str | None], None]


_default_observer: Observer | None = None


def set_default_observer(observer: Observer | None) -> None:
    """Register the observer every new client reports its requests to (the console registers
    its Prometheus metrics at start-up; this library imports nothing of the console)."""
    global _default_observer
    _default_observer = observer


def default_observer() -> Observer | None:
    return _default_observer


WATCH_SILENCE_TIMEOUT = 30.0
MAX_WATCH_TIMEOUT = 2**31 - 1
USER_AGENT = "kuscia-console"


# The files a connection reads, named in its messages.
FILE_ROLES = {
    "CA certificate": N_("CA certificate"),
    "client certificate": N_("client certificate"),
    "client key": N_("client key"),
    "token": N_("token"),
}


def read_file(role: str, path: str) -> bytes:
    """The file's bytes; a missing or unreadable file is a `cert_file` error, like curl's (58).
    `role` is one of FILE_ROLES."""
    what = Text(FILE_ROLES.get(role, role))
    if not path:
        message = Text(N_("no %(role)s file configured"), {"role": what})
        raise KusciaConfigError(message, kind="cert_file", hint=HINT_FILE)
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        message = Text(N_("%(role)s file %(path)s does not exist"), {"role": what, "path": path})
        raise KusciaConfigError(message, kind="cert_file", hint=HINT_FILE) from None
    except OSError as exc:
        message = Text(
            N_("cannot read the %(role)s file %(path)s: %(error)s"),
            {"role": what, "path": path, "error": exc.strerror},
        )
        raise KusciaConfigError(message, kind="cert_file", hint=HINT_FILE) from None


def read_token(path: str) -> bytes:
    """The token file's exact bytes (Kuscia compares them byte for byte, no trimming)."""
    token = read_file("token", path)
    if not token:
        message = Text(N_("the token file %(path)s is empty"), {"path": path})
        raise KusciaConfigError(message, kind="cert_file", hint=HINT_FILE)
    if token != token.strip() or any(c in token for c in (b"\n", b"\r", b"\x00")):
        raise KusciaConfigError(
            Text(
                N_(
                    "the token file %(path)s holds white space or a line break (often a newline "
                    "added by an editor or `echo`); Kuscia compares the token byte for byte and "
                    "an HTTP header cannot carry it"
                ),
                {"path": path},
            ),
            kind="cert_file",
            hint=N_(
                "Copy var/certs/token from Kuscia again, unchanged: Kuscia writes it without a "
                "newline or spaces."
            ),
        )
    return token


def build_ssl_context(config: ConnectionConfig) -> ssl.SSLContext:
    """CA (or the system store when no ca_file is given) plus, for MTLS, the client chain."""
    for role, path in config.required_files():
        if role != "token":
            read_file(role, path)
    try:
        ctx = ssl.create_default_context(cafile=config.ca_file or None)
    except ssl.SSLError as exc:
        raise KusciaConfigError(
            Text(
                N_("the CA file %(path)s holds no usable PEM certificate: %(error)s"),
                {"path": config.ca_file, "error": str(exc)},
            ),
            kind="cert_file",
            hint=N_("ca.crt must be the PEM file copied from Kuscia's var/certs."),
        ) from None
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    if config.protocol == "MTLS":
        asked: list[bool] = []

        def no_passphrase() -> bytes:
            # Never let OpenSSL prompt on a terminal (it would hang a worker).
            asked.append(True)
            return b""

        try:
            ctx.load_cert_chain(config.cert_file, config.key_file, password=no_passphrase)
        except ssl.SSLError as exc:
            if asked:
                raise KusciaConfigError(
                    Text(
                        N_("the client key %(path)s is protected by a passphrase"),
                        {"path": config.key_file},
                    ),
                    kind="cert_file",
                    hint=N_(
                        "Use the unencrypted kusciaapi-server.key copied from Kuscia's var/certs."
                    ),
                ) from None
            raise KusciaConfigError(
                Text(
                    N_("cannot use %(cert)s with %(key)s: %(error)s"),
                    {"cert": config.cert_file, "key": config.key_file, "error": exc.reason or exc},
                ),
                kind="cert_file",
                hint=N_(
                    "The client certificate and key must be PEM files that belong together "
                    "(kusciaapi-server.crt with kusciaapi-server.key)."
                ),
            ) from None
    return ctx


def validate_config(config: ConnectionConfig) -> None:
    if config.protocol not in ("MTLS", "TLS", "NOTLS"):
        raise KusciaConfigError(
            Text(N_("unknown protocol %(protocol)r"), {"protocol": config.protocol}),
            hint=N_("Protocol must be MTLS (Kuscia's default), TLS or NOTLS, as in kuscia.yaml."),
        )
    parts = urlsplit(config.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise KusciaConfigError(
            Text(N_("not a usable URL: %(url)r"), {"url": config.url}),
            hint=N_("Give the base URL of KusciaAPI, e.g. https://127.0.0.1:13082"),
        )
    want = "http" if config.protocol == "NOTLS" else "https"
    if parts.scheme != want:
        raise KusciaConfigError(
            Text(
                N_("protocol %(protocol)s needs a %(scheme)s:// URL, got %(url)s"),
                {"protocol": config.protocol, "scheme": want, "url": config.url},
            ),
            hint=N_(
                "Use https:// with TLS or MTLS and http:// with NOTLS (Kuscia's `protocol:` "
                "setting in kuscia.yaml decides which one the node speaks)."
            ),
        )
    try:
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        raise KusciaConfigError(
            Text(N_("the port in %(url)r is not a number"), {"url": config.url}),
            hint=N_("Give the base URL of KusciaAPI, e.g. https://127.0.0.1:13082"),
        ) from None
    if parts.path not in ("", "/"):
        raise KusciaConfigError(
            Text(N_("the URL must not contain a path: %(url)s"), {"url": config.url}),
            kind="wrong_path",
            hint=N_("Give only scheme, host and port; the client adds /api/v1/... itself."),
        )


def _raise_for_status(status: JSON, route: str) -> None:
    """Raise the typed KusciaAPIError when status.code is not 0 (absent counts as 0)."""
    code = status.get("code", 0)
    if isinstance(code, str) and code.lstrip("-").isascii() and code.lstrip("-").isdigit():
        code = int(code)
    if not isinstance(code, int) or isinstance(code, bool):
        raise KusciaMalformed(f"status.code from {route} is not a number", route=route)
    if code != 0:
        message = status.get("message")
        raise api_error(route, code, message if isinstance(message, str) else "")


class KusciaClient(NetworkCalls):
    def __init__(
        self,
        config: ConnectionConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        watch_silence_timeout: float = WATCH_SILENCE_TIMEOUT,
        observer: Observer | None = None,
    ) -> None:
        """transport: an httpx transport (tests use httpx.MockTransport).
        observer: called as observer(route, seconds, error_kind_or_None) after every request;
        by default the one registered with set_default_observer (the console's metrics)."""
        validate_config(config)
        self.config = config
        self._observer: Observer | None = observer or default_observer()
        self.watch_silence_timeout = watch_silence_timeout
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        self._token: bytes | None = None
        if config.uses_tls:
            self._token = read_token(config.token_file)
        verify: ssl.SSLContext | bool = build_ssl_context(config) if config.uses_tls else True
        self._extensions: dict[str, Any] = {}
        if config.tls_server_name:
            self._extensions["sni_hostname"] = config.tls_server_name
        self._timeout = self._timeouts(read=config.read_timeout)
        self._http = httpx.Client(
            base_url=config.url,
            headers=headers,
            verify=verify,
            timeout=self._timeout,
            transport=transport,
            follow_redirects=False,
            trust_env=False,
        )

    # ------------------------------------------------------------ lifecycle

    def __enter__(self) -> KusciaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------ plumbing

    def _timeouts(self, *, read: float) -> httpx.Timeout:
        """The configured connect/write timeouts with this read (silence) timeout."""
        c = self.config
        return httpx.Timeout(
            connect=c.connect_timeout, read=read, write=c.read_timeout, pool=c.connect_timeout
        )

    def _headers(self) -> dict[str, Any]:
        h: dict[str, Any] = {"Content-Type": "application/json"}
        if self._token is not None:
            h["Token"] = self._token
        return h

    def _map_transport(self, exc: BaseException, route: str, phase: str = "connect") -> KusciaError:
        return transport_error(
            exc,
            route=route,
            protocol=self.config.protocol,
            url=self.config.url,
            tls_server_name=self.config.tls_server_name,
            phase=phase,
        )

    def _check_http(self, response: httpx.Response, route: str) -> None:
        status = response.status_code
        if status == 200:
            return
        if status == 401:
            raise KusciaHTTPError(
                "Kuscia answered 401 Unauthorized",
                kind="unauthorized",
                status_code=401,
                route=route,
                hint=HINT_401,
            )
        if status == 404 or status in (301, 302, 307, 308):
            raise KusciaHTTPError(
                f"Kuscia answered {status} for {route}",
                kind="wrong_path",
                status_code=status,
                route=route,
                hint=HINT_404,
            )
        hint = None
        if status == 400:
            hint = N_("Kuscia could not read the request body (a client bug): see Kuscia's log.")
        elif status in (502, 503, 504):
            hint = N_(
                "A proxy or gateway in front of Kuscia could not reach it: check Kuscia is up."
            )
        raise KusciaHTTPError(
            f"Kuscia answered HTTP {status}"
            + (f": {response.text[:200]}" if response.text else ""),
            status_code=status,
            route=route,
            hint=hint,
        )

    def _send(
        self, route: str, body: JSON, *, stream: bool = False, timeout: Any = None
    ) -> httpx.Response:
        request = self._http.build_request(
            "POST",
            route,
            content=json.dumps(body).encode(),
            headers=self._headers(),
            extensions=dict(self._extensions),
            timeout=timeout if timeout is not None else self._timeout,
        )
        try:
            response = self._http.send(request, stream=stream)
        except httpx.HTTPError as exc:
            raise self._map_transport(exc, route) from None
        if stream and response.status_code != 200:
            try:
                response.read()
            except httpx.HTTPError as exc:
                raise self._map_transport(exc, route, "read") from None
            finally:
                response.close()
        self._check_http(response, route)
        return response

    def call(self, route: str, body: JSON) -> Any:
        """POST one unary route and return its `data` (None when absent)."""
        with self._observing(route):
            return self._call(route, body)

    def _unary(self, route: str, body: JSON, parser: Callable[[Any], T]) -> T:
        """POST, check the envelope and parse `data`, as one observed request."""
        with self._observing(route):
            data = self._call(route, body)
            try:
                return parser(data)
            except KusciaMalformed as exc:
                exc.route = route
                raise

    @contextmanager
    def _observing(self, route: str) -> Iterator[None]:
        start = time.perf_counter()
        kind: str | None = None
        try:
            yield
        except KusciaError as exc:
            kind = exc.kind
            raise
        finally:
            observer = self._observer
            if observer is not None:
                try:
                    observer(route, time.perf_counter() - start, kind)
                except Exception:  # metrics must never break a request
                    log.warning("request observer failed", exc_info=True)

    def _call(self, route: str, body: JSON) -> Any:
        response = self._send(route, body)
        content = response.content
        if not content.strip():
            raise KusciaMalformed(f"empty reply from {route}", route=route)
        try:
            reply = json.loads(content)
        except ValueError as exc:
            what = "cut off" if content.lstrip()[:1] in (b"{", b"[") else "not JSON"
            raise KusciaMalformed(f"reply from {route} is {what}: {exc}", route=route) from None
        if not isinstance(reply, dict) or not isinstance(reply.get("status"), dict):
            raise KusciaMalformed(f"reply from {route} has no status object", route=route)
        _raise_for_status(reply["status"], route)
        return reply.get("data")

    def _job_id_reply(self, route: str, body: JSON) -> str:
        data = self._unary(route, body, lambda d: wire.obj(d, "data"))
        job_id = data.get("job_id")
        return job_id if isinstance(job_id, str) else ""

    # ------------------------------------------------------------ health, version

    def health(self) -> bool:
        """POST /healthZ; True when Kuscia says ready."""
        data = self._unary("/healthZ", {}, lambda d: wire.obj(d, "data"))
        return data.get("ready") is True

    def version(self) -> str:
        """GET /version (plain text; needs the TLS handshake but no token)."""
        route = "/version"
        with self._observing(route):
            try:
                response = self._http.get(
                    route, headers=self._headers(), extensions=dict(self._extensions)
                )
            except httpx.HTTPError as exc:
                raise self._map_transport(exc, route) from None
            self._check_http(response, route)
            return response.text.strip()

    # ------------------------------------------------------------ jobs

    def create_job(self, spec: JobSpec) -> str:
        return self._job_id_reply("/api/v1/job/create", wire.spec_to_request(spec))

    def query_job(self, job_id: str) -> JobDetail:
        return self._unary("/api/v1/job/query", {"job_id": job_id}, wire.parse_job_detail)

    def batch_query_job_status(self, job_ids: Sequence[str]) -> list[JobStatus]:
        """Statuses in request order. One unknown ID fails the whole batch (11203, not_found)."""
        if not job_ids:
            return []
        return self._unary(
            "/api/v1/job/status/batchQuery", {"job_ids": list(job_ids)}, wire.parse_batch_job_status
        )

    def stop_job(self, job_id: str, reason: str = "") -> str:
        return self._job_id_reply("/api/v1/job/stop", {"job_id": job_id, "reason": reason})

    def suspend_job(self, job_id: str, reason: str = "") -> str:
        return self._job_id_reply("/api/v1/job/suspend", {"job_id": job_id, "reason": reason})

    def restart_job(self, job_id: str, reason: str = "") -> str:
        return self._job_id_reply("/api/v1/job/restart", {"job_id": job_id, "reason": reason})

    def cancel_job(self, job_id: str, reason: str = "") -> str:
        return self._job_id_reply("/api/v1/job/cancel", {"job_id": job_id, "reason": reason})

    def approve_job(self, job_id: str, accept: bool, reason: str = "") -> str:
        result = "APPROVE_RESULT_ACCEPT" if accept else "APPROVE_RESULT_REJECT"
        return self._job_id_reply(
            "/api/v1/job/approve", {"job_id": job_id, "result": result, "reason": reason}
        )

    def delete_job(self, job_id: str) -> str:
        return self._job_id_reply("/api/v1/job/delete", {"job_id": job_id})

    def watch_jobs(
        self,
        timeout_seconds: int = 60,
        *,
        reconnect: bool = False,
        silence_timeout: float | None = None,
    ) -> WatchStream:
        """The watch stream (opened on first iteration). timeout_seconds must be finite (> 0)."""
        if not isinstance(timeout_seconds, int) or not 0 < timeout_seconds <= MAX_WATCH_TIMEOUT:
            raise ValueError("timeout_seconds must be an integer in 1..2**31-1")
        silence = silence_timeout if silence_timeout is not None else self.watch_silence_timeout
        timeout = self._timeouts(read=silence)

        def open_watch() -> httpx.Response:
            with self._observing(WatchStream.route):
                return self._send(
                    WatchStream.route,
                    {"timeout_seconds": timeout_seconds},
                    stream=True,
                    timeout=timeout,
                )

        return WatchStream(
            open_watch,
            lambda exc, phase: self._map_transport(exc, WatchStream.route, phase),
            timeout_seconds=timeout_seconds,
            silence_timeout=silence,
            reconnect=reconnect,
        )

    # ------------------------------------------------------------ logs

    def open_task_log(
        self,
        task_id: str,
        *,
        replica_idx: int = 0,
        container: str = "",
        follow: bool = False,
        silence_timeout: float = 300.0,
    ) -> TaskLogStream:
        """The task's log as a TaskLogStream of line lists (opened on first iteration).

        Only lite and autonomy nodes serve logs, and only their own domain's pods (the master
        answers 11105, not_supported). Errors arrive inside the stream and are raised as
        KusciaAPIError. A follow stream never ends by itself: close() it.
        """
        route = TaskLogStream.route
        body: JSON = {"task_id": task_id, "replica_idx": replica_idx, "follow": follow}
        if container:
            body["container"] = container
        timeout = None
        if follow:  # a quiet task writes nothing for a while; still never wait forever
            timeout = self._timeouts(read=max(self.config.read_timeout, silence_timeout))

        def open_log() -> httpx.Response:
            with self._observing(route):
                return self._send(route, body, stream=True, timeout=timeout)

        return TaskLogStream(
            open_log,
            lambda exc, phase: self._map_transport(exc, route, phase),
            lambda status: _raise_for_status(status, route),
        )

    def query_app_image_templates(self, name: str) -> tuple[DeployTemplate, ...]:
        """An AppImage's deploy templates (roles, replicas, container names): which logs a
        task's pods have (master and autonomy nodes; a lite answers 11104)."""
        return self._unary("/api/v1/appimage/query", {"name": name}, parse_deploy_templates)

    def query_task_log(
        self,
        task_id: str,
        *,
        replica_idx: int = 0,
        container: str = "",
        follow: bool = False,
        follow_silence_timeout: float = 300.0,
    ) -> Iterator[str]:
        """The task's log text, chunk by chunk (each chunk holds up to 100 lines, "\n"-joined)."""
        with self.open_task_log(
            task_id,
            replica_idx=replica_idx,
            container=container,
            follow=follow,
            silence_timeout=follow_silence_timeout,
        ) as stream:
            for lines in stream:
                yield "\n".join(lines)
