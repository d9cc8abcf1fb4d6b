"""The one outbound HTTP entry point of alerts: POST a body to a webhook with explicit timeouts,
certificate verification on, no redirects followed, no cookies kept.

Never logs the URL (for chat hooks it holds the credential) nor the body."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from django.conf import settings

USER_AGENT = "kuscia-console-alerts/1"
MAX_REPLY = 2000  # characters of the reply body kept


@dataclass(frozen=True)
class Reply:
    status: int
    text: str


class SendError(Exception):
    """The request did not get an HTTP reply (timeout, refused, TLS, ...)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


def post(
    url: str,
    body: bytes,
    *,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    timeout: float | None = None,
) -> Reply:
    seconds = float(timeout if timeout is not None else settings.KC_ALERTS_HTTP_TIMEOUT)
    limits = httpx.Timeout(seconds, connect=min(seconds, 5.0))
    sent_headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    sent_headers.update(headers or {})
    # Added to the URL's own query (httpx's `params=` would replace it, and a DingTalk URL
    # carries its access_token there); httpx encodes each value once.
    target = httpx.URL(url).copy_merge_params(params) if params else url
    try:
        with httpx.Client(timeout=limits, follow_redirects=False, trust_env=False) as client:
            response = client.post(target, content=body, headers=sent_headers)
    except httpx.TimeoutException as exc:
        raise SendError(
            "timeout", f"no reply within {seconds:g} s ({type(exc).__name__})"
        ) from None
    except httpx.ConnectError as exc:
        raise SendError("connect", _no_url(str(exc), url, str(target))) from None
    except httpx.HTTPError as exc:
        raise SendError(type(exc).__name__, _no_url(str(exc), url, str(target))) from None
    return Reply(response.status_code, response.text[:MAX_REPLY])


def _no_url(message: str, *urls: str) -> str:
    """httpx errors may quote the URL: drop it (its path and query can hold the hook's key)."""
    for u in sorted(urls, key=len, reverse=True):
        message = message.replace(u, "<url>")
    return message or "connection failed"
