"""Kuscia's streaming replies: concatenated JSON objects with no separator (kuscia-api.md §6).

`ObjectDecoder` turns arbitrary byte chunks into whole JSON objects using
json.JSONDecoder.raw_decode over a buffer; `WatchStream` turns the watch route's objects into
typed events, hides heartbeats (but records them as liveness), maps silence to a `timeout`
error and can reconnect when the server ends the stream at `timeout_seconds`.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from kuscia.errors import KusciaError, KusciaMalformed, KusciaTransportError
from kuscia.texts import N_
from kuscia.types import EventType, WatchEvent
from kuscia.wire import parse_watch_event

MAX_OBJECT_BYTES = 16 * 1024 * 1024
_WS = " \t\r\n"


def _object_end(buf: str, pos: int) -> int | None:
    """Index after the object starting at buf[pos] ("{"), or None when it is not complete."""
    depth = 0
    in_string = False
    escaped = False
    for i in range(pos, len(buf)):
        c = buf[i]
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


class ObjectDecoder:
    """Feed bytes, get back the complete JSON objects they finish."""

    def __init__(self, max_pending: int = MAX_OBJECT_BYTES) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._json = json.JSONDecoder()
        self._buf = ""
        self._max = max_pending
        self.objects = 0

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        try:
            text = self._utf8.decode(data)
        except UnicodeDecodeError as exc:
            raise KusciaMalformed(f"stream is not UTF-8: {exc}") from None
        pending_before = self._buf.lstrip(_WS)
        self._buf += text
        if pending_before and "}" not in text:
            # An object is still open and nothing could have closed it yet.
            self._check_size()
            return []
        out: list[dict[str, Any]] = []
        buf = self._buf
        pos = 0
        n = len(buf)
        while True:
            while pos < n and buf[pos] in _WS:
                pos += 1
            if pos >= n:
                break
            if buf[pos] != "{":
                raise KusciaMalformed(
                    f"stream: expected a JSON object, got {buf[pos : pos + 20]!r}"
                )
            try:
                value, end = self._json.raw_decode(buf, pos)
            except json.JSONDecodeError as exc:
                if _object_end(buf, pos) is not None:
                    raise KusciaMalformed(f"stream: invalid JSON object: {exc.msg}") from None
                break  # incomplete: wait for more bytes
            out.append(value)
            self.objects += 1
            pos = end
        self._buf = buf[pos:]
        self._check_size()
        return out

    def _check_size(self) -> None:
        if len(self._buf) > self._max:
            raise KusciaMalformed("stream: an object grew beyond 16 MiB without ending")

    def finish(self) -> None:
        """Call at end of stream: leftover bytes mean the last object was cut off."""
        try:
            rest = self._buf + self._utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            rest = "<partial UTF-8>"
        if rest.strip(_WS):
            raise KusciaMalformed(
                f"stream ended inside an object ({len(rest)} characters cut off)",
                hint=N_("The connection dropped mid-reply: retry."),
            )


def _interrupt(response: httpx.Response) -> None:
    """Wake a thread blocked reading this response: closing a socket does not, shutdown does."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


OpenFn = Callable[[], httpx.Response]
MapFn = Callable[[BaseException, str], KusciaError]


class ClosableStream:
    """What a streaming response shares: `close()` from any thread interrupts a blocked read,
    and `closed` says so. Subclasses set `self._response` while a connection is open."""

    _response: httpx.Response | None = None
    _closed = False

    def close(self) -> None:
        """Stop the stream; safe to call from another thread while one is iterating."""
        self._closed = True
        response = self._response
        if response is not None:
            _interrupt(response)
            response.close()
            self._response = None

    @property
    def closed(self) -> bool:
        return self._closed


class WatchStream(ClosableStream):
    """Iterate to get WatchEvents (never heartbeats). Close it (or use `with`) when done.

    last_activity: time.monotonic() of the last object received, heartbeats included.
    Silence longer than `silence_timeout` raises KusciaTransportError(kind="timeout").
    With reconnect=True a stream the server ended normally (timeout_seconds reached) is
    reopened; the new connection starts with an ADDED burst of all existing jobs again.
    """

    route = "/api/v1/job/watch"

    def __init__(
        self,
        open_fn: OpenFn,
        map_error: MapFn,
        *,
        timeout_seconds: int,
        silence_timeout: float,
        reconnect: bool = False,
    ) -> None:
        self._open_fn = open_fn
        self._map_error = map_error
        self.timeout_seconds = timeout_seconds
        self.silence_timeout = silence_timeout
        self.reconnect = reconnect
        self.last_activity = time.monotonic()
        self.heartbeats = 0
        self.events = 0
        self.connections = 0
        self._response: httpx.Response | None = None
        self._closed = False

    def __enter__(self) -> WatchStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def seconds_since_activity(self) -> float:
        return time.monotonic() - self.last_activity

    def __iter__(self) -> Iterator[WatchEvent]:
        while not self._closed:
            started = time.monotonic()
            objects_before = self.heartbeats + self.events
            yield from self._one_connection()
            if self._closed or not self.reconnect:
                return
            got_nothing = self.heartbeats + self.events == objects_before
            if got_nothing and time.monotonic() - started < self.timeout_seconds / 2:
                raise KusciaMalformed(
                    "the watch ended at once with an empty body",
                    route=self.route,
                    hint=N_(
                        "Kuscia rejected the watch request (timeout_seconds out of range?) "
                        "or the node is not ready."
                    ),
                )

    def _one_connection(self) -> Iterator[WatchEvent]:
        response = self._open_fn()
        self._response = response
        self.connections += 1
        self.last_activity = time.monotonic()
        decoder = ObjectDecoder()
        try:
            for chunk in response.iter_bytes():
                for o in decoder.feed(chunk):
                    self.last_activity = time.monotonic()
                    event = parse_watch_event(o)
                    if event.type == EventType.HEARTBEAT:
                        self.heartbeats += 1
                        continue
                    self.events += 1
                    yield event
            if not self._closed:
                decoder.finish()
        except (KusciaMalformed, httpx.HTTPError) as exc:
            if self._closed:
                return  # close() (maybe from another thread) ends the stream quietly
            raise self._failure(exc) from None
        finally:
            response.close()
            if self._response is response:
                self._response = None

    def _failure(self, exc: KusciaMalformed | httpx.HTTPError) -> KusciaError:
        if isinstance(exc, KusciaMalformed):
            exc.route = self.route
            return exc
        if isinstance(exc, httpx.TimeoutException):
            return KusciaTransportError(
                f"no data (not even a heartbeat) from the watch for {self.silence_timeout:g} s",
                kind="timeout",
                route=self.route,
                hint=N_(
                    "Kuscia sends a heartbeat every 10 s, so the connection is dead: reconnect."
                ),
            )
        return self._map_error(exc, "read")
