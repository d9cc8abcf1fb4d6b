"""Each channel kind's request (body, signature) and how to read its reply.

Facts from the providers' documentation (notes/chat-signatures.md):
- webhook: JSON body; `X-KC-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`,
  `X-KC-Event`, `X-KC-Delivery` (the delivery's id, the same on every retry).
- DingTalk: with a secret, query `timestamp` (ms) and `sign` = Base64(HMAC-SHA256(key=secret,
  msg=timestamp + "\\n" + secret)), URL-encoded once (by httpx); `msgUuid` = the delivery id
  (DingTalk's idempotency key). Reply HTTP 200 with `errcode` 0.
- Feishu/Lark: with a secret, body `timestamp` (s, as a string) and `sign` = Base64(HMAC-SHA256(
  key=timestamp + "\\n" + secret, msg=b"")). Reply `code` 0 (legacy: `StatusCode` 0).
- WeCom: no signature (the key is in the URL). Reply `errcode` 0.
- Slack: no signature (the URL is the secret). Reply HTTP 200, body `ok`.
Chat messages are sent as plain text: nothing from Kuscia is interpreted as markup.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage

from alerts.messages import Message
from alerts.models import Channel
from alerts.outbound import Reply

Kind = Channel.Kind
WECOM_MAX_BYTES = 2048  # text content limit
# Throttling codes, retried later. DingTalk 130101 and Feishu 11232 are quoted by third-party
# pages only (UNVERIFIED in the notes); WeCom's 45009 is its API frequency limit.
THROTTLED: dict[str, set[int]] = {
    Kind.DINGTALK: {130101},
    Kind.FEISHU: {11232},
    Kind.WECOM: {45009},
}


@dataclass
class Request:
    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    retry: bool  # worth trying again later
    result: str  # what the log shows: the provider's code and message, or the HTTP status


def sign_webhook(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sign_dingtalk(secret: str, timestamp_ms: int) -> str:
    """Base64 before URL-encoding (httpx encodes the query value once)."""
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def sign_feishu(secret: str, timestamp_s: int) -> str:
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def build(
    kind: str,
    url: str,
    secret: str,
    message: Message,
    *,
    delivery_uid: str,
    payload: dict[str, Any],
    now: float | None = None,
) -> Request:
    """The HTTP request for a webhook-like channel. `payload` is the generic webhook's JSON."""
    now = time.time() if now is None else now
    text = message.text()
    if kind == Kind.WEBHOOK:
        body = _json(payload)
        headers = {"X-KC-Event": f"incident.{message.event}", "X-KC-Delivery": delivery_uid}
        if message.event == "test":
            headers["X-KC-Event"] = "test"
        if secret:
            headers["X-KC-Signature"] = sign_webhook(secret, body)
        return Request(url, body, headers)
    if kind == Kind.DINGTALK:
        params: dict[str, str] = {}
        if secret:
            ts = int(now * 1000)
            params = {"timestamp": str(ts), "sign": sign_dingtalk(secret, ts)}
        body = _json({"msgtype": "text", "text": {"content": text}, "msgUuid": delivery_uid})
        return Request(url, body, params=params)
    if kind == Kind.FEISHU:
        data: dict[str, Any] = {"msg_type": "text", "content": {"text": text}}
        if secret:
            ts = int(now)
            data = {"timestamp": str(ts), "sign": sign_feishu(secret, ts), **data}
        return Request(url, _json(data))
    if kind == Kind.WECOM:
        content = text.encode()[:WECOM_MAX_BYTES].decode(errors="ignore")
        return Request(url, _json({"msgtype": "text", "text": {"content": content}}))
    if kind == Kind.SLACK:
        return Request(url, _json({"text": _slack(message)}))
    raise ValueError(f"no HTTP request for channel kind {kind!r}")


def judge(kind: str, reply: Reply) -> Verdict:
    """Success, or whether the failure is worth a retry. Chat providers answer HTTP 200 for most
    of their errors: the JSON code decides."""
    status = reply.status
    if status >= 500 or status in (408, 429):
        return Verdict(False, True, f"HTTP {status}: {_snip(reply.text)}")
    if status >= 300:
        return Verdict(False, False, f"HTTP {status}: {_snip(reply.text)}")
    if kind == Kind.SLACK:
        ok = reply.text.strip() == "ok"
        return Verdict(ok, False, f"HTTP {status}: {_snip(reply.text)}")
    if kind == Kind.WEBHOOK:
        return Verdict(True, False, f"HTTP {status}")
    try:
        data = json.loads(reply.text)
    except ValueError:
        return Verdict(False, False, f"HTTP {status}: not JSON: {_snip(reply.text)}")
    if not isinstance(data, dict):
        return Verdict(False, False, f"HTTP {status}: unexpected reply {_snip(reply.text)}")
    if kind == Kind.FEISHU:
        code = data.get("code", data.get("StatusCode"))
        msg = data.get("msg", data.get("StatusMessage", ""))
    else:
        code, msg = data.get("errcode"), data.get("errmsg", "")
    if code == 0:
        return Verdict(True, False, f"HTTP {status}: code 0 {msg}".strip())
    retry = isinstance(code, int) and code in THROTTLED.get(kind, set())
    return Verdict(False, retry, f"HTTP {status}: code {code}: {_snip(str(msg))}")


def send_email(addresses: list[str], message: Message) -> Verdict:
    """Through Django's e-mail backend (EMAIL_* settings). A refused recipient or a 5xx reply
    is final; a lost connection, a timeout or a 4xx reply is retried."""
    email = EmailMessage(
        subject=message.title[:200],
        body=message.text(),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=addresses,
    )
    where = f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
    try:
        sent = email.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = sorted({code for code, _ in exc.recipients.values()})
        return Verdict(False, False, f"SMTP {where}: recipients refused ({codes})")
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        return Verdict(False, 400 <= exc.smtp_code < 500, f"SMTP {exc.smtp_code} {_snip(text)}")
    except (smtplib.SMTPException, OSError) as exc:
        return Verdict(False, True, f"SMTP {where}: {type(exc).__name__}: {_snip(str(exc))}")
    return Verdict(sent > 0, False, f"SMTP accepted by {where} for {len(addresses)} recipient(s)")


def email_addresses(target: str) -> list[str]:
    return [a.strip() for a in target.replace(";", ",").split(",") if a.strip()]


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _slack(message: Message) -> str:
    def esc(s: str) -> str:
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    lines = [f"*{esc(message.title)}*"]
    lines += [f"{esc(label)}: {esc(value)}" for label, value in message.lines if value]
    if message.link:
        lines.append(f"<{message.link}|{esc(message.link)}>")
    return "\n".join(lines)


def _snip(text: str, n: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
