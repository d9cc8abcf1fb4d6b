"""Fixtures of the alerts tests.

- `receiver`: a real local HTTP server (http.server in a thread) standing in for a generic
  webhook, DingTalk, Feishu, WeCom and Slack. It checks each request's signature the way the
  provider does (recompute with the stored secret, constant-time compare, timestamp within one
  hour) and answers like the provider, including its error body on a bad signature. Replies can
  be scripted per path: a status, a delay longer than the client's timeout, or blocking until
  the test releases it.
- `smtp_server`: a real local SMTP server (aiosmtpd) collecting the messages it accepts.
- `queued`: for unit tests, the delivery ids handed to the Celery queue (recorded, not sent).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass
class Hit:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float
    scheme: str
    verified: bool
    problem: str = ""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Step:
    """A scripted reply: `status`/`body` after `sleep` seconds, or after the test releases
    the receiver (`block`)."""

    status: int = 200
    body: str | None = None  # None: the provider's success body
    sleep: float = 0.0
    block: bool = False


@dataclass
class Endpoint:
    scheme: str  # webhook | dingtalk | feishu | wecom | slack
    secret: str = ""
    steps: list[Step] = field(default_factory=list)


SUCCESS = {
    "webhook": (200, '{"received": true}'),
    "dingtalk": (200, '{"errcode":0,"errmsg":"ok"}'),
    "feishu": (
        200,
        '{"code":0,"msg":"success","data":{},"Extra":null,"StatusCode":0,'
        '"StatusMessage":"success"}',
    ),
    "wecom": (200, '{"errcode":0,"errmsg":"ok"}'),
    "slack": (200, "ok"),
}
BAD_SIGNATURE = {
    "webhook": (401, '{"error": "bad signature"}'),
    "dingtalk": (200, '{"errcode":310000,"errmsg":"sign not match"}'),
    "feishu": (
        200,
        '{"code":19021,"data":{},"msg":"sign match fail or timestamp is not within one hour '
        'from current time"}',
    ),
    "wecom": (200, '{"errcode":93000,"errmsg":"invalid webhook url"}'),
    "slack": (403, "invalid_token"),
}


def verify(
    scheme: str, secret: str, query: dict[str, str], headers: dict[str, str], body: bytes
) -> str:
    """ "" when the request is signed as the provider requires, else what is wrong."""
    now = time.time()
    if scheme == "webhook":
        if not headers.get("x-kc-event") or not headers.get("x-kc-delivery"):
            return "missing X-KC-Event or X-KC-Delivery"
        if not secret:
            return "" if "x-kc-signature" not in headers else "unexpected signature"
        want = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        got = headers.get("x-kc-signature", "")
        return "" if hmac.compare_digest(want, got) else "signature mismatch"
    if scheme == "dingtalk":
        if not secret:
            return ""
        ts, sign = query.get("timestamp", ""), query.get("sign", "")
        if not ts.isdigit() or abs(now * 1000 - int(ts)) > 3_600_000:
            return "invalid timestamp"
        digest = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
        want = base64.b64encode(digest).decode()
        return "" if hmac.compare_digest(want, sign) else "sign not match"
    if scheme == "feishu":
        if not secret:
            return ""
        data = json.loads(body)
        ts, sign = str(data.get("timestamp", "")), str(data.get("sign", ""))
        if not ts.isdigit() or abs(now - int(ts)) > 3600:
            return "timestamp not within one hour"
        key = f"{ts}\n{secret}".encode()
        want = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        return "" if hmac.compare_digest(want, sign) else "sign match fail"
    if scheme in ("wecom", "slack"):
        return "" if not secret or query.get("key") == secret else "wrong key"
    return f"unknown scheme {scheme}"


class Receiver:
    def __init__(self) -> None:
        self.endpoints: dict[str, Endpoint] = {}
        self.hits: list[Hit] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.arrivals: dict[str, threading.Event] = defaultdict(threading.Event)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add(self, path: str, scheme: str, secret: str = "", *steps: Step) -> str:
        """Register an endpoint; returns its URL (WeCom/Slack: the secret is the `key`)."""
        self.endpoints[path] = Endpoint(scheme, secret, list(steps))
        url = f"http://127.0.0.1:{self.port}{path}"
        if scheme in ("wecom", "slack") and secret:
            url += f"?key={secret}"
        elif scheme == "dingtalk":
            url += "?access_token=tok-123"
        return url

    def script(self, path: str, *steps: Step) -> None:
        self.endpoints[path].steps.extend(steps)

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length)
        headers = {k.lower(): v for k, v in h.headers.items()}
        ep = self.endpoints.get(parts.path)
        if ep is None:
            h.send_response(404)
            h.end_headers()
            return
        problem = verify(ep.scheme, ep.secret, query, headers, body)
        with self.lock:
            step = ep.steps.pop(0) if ep.steps else Step()
            self.hits.append(
                Hit(parts.path, query, headers, body, time.time(), ep.scheme, not problem, problem)
            )
        self.arrivals[parts.path].set()
        if step.block:
            self.release.wait(120)
        if step.sleep:
            time.sleep(step.sleep)
        status, text = (BAD_SIGNATURE if problem else SUCCESS)[ep.scheme]
        if not problem and (step.status != 200 or step.body is not None):
            status, text = step.status, step.body if step.body is not None else text
        try:
            payload = text.encode()
            h.send_response(status)
            h.send_header(
                "Content-Type", "text/plain" if ep.scheme == "slack" else "application/json"
            )
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
        except OSError:
            pass  # the client is gone (timed out, or its worker was killed)

    def hits_at(self, path: str) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.path == path]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    content: str


class MailCollector:
    def __init__(self) -> None:
        self.messages: list[Mail] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.content.decode("utf-8", errors="replace")
        self.messages.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SmtpServer:
    host: str
    port: int
    collector: MailCollector

    @property
    def messages(self) -> list[Mail]:
        return self.collector.messages


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # one line per SMTP command
    collector = MailCollector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    yield SmtpServer("127.0.0.1", port, collector)
    controller.stop()


@pytest.fixture
def use_smtp(settings: Any, smtp_server: SmtpServer) -> SmtpServer:
    """Django's SMTP backend pointed at the local server (pytest-django installs locmem)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_TIMEOUT = 5
    return smtp_server


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Unit tests: delivery ids handed to the queue, recorded instead of sent to a broker."""
    ids: list[int] = []
    monkeypatch.setattr("alerts.queue.enqueue", lambda delivery_ids: ids.extend(delivery_ids))
    return ids
