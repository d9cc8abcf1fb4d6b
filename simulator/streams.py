"""The simulator's streaming routes: job/watch and log/task/query (kuscia-api.md §3.2, §5.6,
§6; kuscia-log-api.md), as a base of server.Handler. Both answer HTTP 200 with chunked
transfer encoding and concatenated JSON objects in Go's encoding/json dialect.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from . import codec
from .base import JSON, APIError

if TYPE_CHECKING:
    from .server import _Server

MAX_TIMEOUT_SECONDS = 2**31 - 1


class _Stop(Exception):
    """The client went away or the simulator is stopping."""


class _Cut(Exception):
    """Fault injection: drop a stream without ending it."""


class StreamHandler(BaseHTTPRequestHandler):
    """job/watch and log/task/query."""

    server: _Server

    def _send(
        self,
        code: int,
        body: bytes = b"",
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response_only(code)
        self.send_header("Date", self.date_time_string())
        if content_type:
            self.send_header("Content-Type", content_type)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _start_stream(self, extra: dict[str, str] | None = None) -> None:
        self.send_response_only(200)
        self.send_header("Date", self.date_time_string())
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()

    def _chunk(self, obj: Any, *, go: bool = False) -> None:
        """One HTTP chunk; `go`: escaped as Go's encoding/json does (<, >, & as \\u escapes)."""
        data = codec.dumps_go(obj) if go else codec.dumps(obj)
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        except (OSError, ValueError) as exc:
            raise _Stop from exc

    def _end_stream(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def _stream_request(self, body: bytes, schema: codec.Schema) -> JSON | None:
        """The request as gin binds it; None after answering 400 (no body) when it cannot."""
        try:
            return codec.decode_stream_request(body, self.headers.get("Content-Type", ""), schema)
        except codec.BindError:
            self._send(400)
            return None

    def _drop(self) -> None:
        """Close the connection without ending the chunked body."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _watch(self, body: bytes) -> None:
        sim = self.server.sim
        req = self._stream_request(body, codec.WATCH_JOB)
        if req is None:
            return
        timeout = req["timeout_seconds"]
        if timeout < 0 or timeout > MAX_TIMEOUT_SECONDS:
            self._send(200)
            return
        deadline = time.monotonic() + (timeout or MAX_TIMEOUT_SECONDS)
        cut_after = sim.world.faults.stream_cut_after
        cut_mid = sim.world.faults.stream_cut_mid_object
        cut_at = time.monotonic() + cut_after if cut_after > 0 else None
        sub = sim.world.subscribe()
        try:
            self._start_stream()
            for etype, status in sub.initial:
                self._chunk(_event(etype, status))
            last = time.monotonic()
            while not sim.stopping.is_set():
                now = time.monotonic()
                if now >= deadline:
                    break
                wait = min(deadline - now, last + sim.heartbeat_interval - now, 0.25)
                cutting = cut_at is not None and now >= cut_at
                if cutting and not cut_mid:
                    raise _Cut
                try:
                    etype, status = sub.queue.get(timeout=max(wait, 0.0))
                except queue.Empty:
                    if time.monotonic() - last >= sim.heartbeat_interval:
                        if cutting:
                            self._cut_mid_object({"type": 4})
                        self._chunk({"type": 4})
                        last = time.monotonic()
                    continue
                if cutting:  # this event is lost with the stream, as when a proxy cuts it
                    self._cut_mid_object(_event(etype, status))
                self._chunk(_event(etype, status))
                last = time.monotonic()
            self._end_stream()
        except _Cut:  # fault injection: the connection drops mid-stream, no final chunk
            self._drop()
        except _Stop:
            self.close_connection = True
        finally:
            sub.close()

    def _logs(self, body: bytes) -> None:
        """log/task/query: the pod log in chunks of up to 100 lines; with `follow`, new lines
        as they come and no end (Kuscia's tail never stops by itself: the client decides)."""
        sim = self.server.sim
        req = self._stream_request(body, codec.QUERY_LOG)
        if req is None:
            return

        def read(start: int = 0) -> tuple[list[str], str]:
            return sim.world.task_log(
                req["task_id"],
                req["replica_idx"],
                req["container"],
                mode=sim.log_mode,
                domain=sim.lite_domain,
                start=start,
            )

        extra = {"Cache-Control": "no-cache"}
        try:
            lines, partial = read()
        except APIError as exc:
            self._start_stream(extra)
            with contextlib.suppress(_Stop):
                self._chunk({"status": {"code": exc.code, "message": exc.message}}, go=True)
                self._end_stream()
            return
        cut_after = self._log_cut()
        # Kuscia's tail (nxadm/tail) at the end of the file sends an unfinished last line as
        # a line; following, it then seeks to the end: the rest of that line, once written,
        # comes as a line of its own. `pos` is the first line not read to its end, `into` how
        # much of it was sent.
        pos = len(lines)
        into = 0
        if partial:
            lines.append(partial)
            into = len(partial)
        try:
            self._start_stream(extra)
            sent = 0  # lines sent; `lines` holds those not sent yet
            while True:
                while lines:
                    batch = lines[:100]
                    if cut_after and sent + len(batch) > cut_after:
                        batch = batch[: cut_after - sent]
                        if not batch:
                            self._cut_mid_line(lines[0])
                    self._chunk(
                        {"status": {"message": "success"}, "log": "\n".join(batch)}, go=True
                    )
                    sent += len(batch)
                    lines = lines[len(batch) :]
                if not req["follow"] or sim.stopping.wait(0.2):
                    break
                try:
                    fresh, partial = read(pos)
                except APIError:
                    break
                if into and fresh:  # the line sent in part is finished now: its rest
                    fresh[0] = fresh[0][into:]
                    into = 0
                pos += len(fresh)
                lines = fresh
                if into and len(partial) > into:  # still unfinished, and longer
                    lines.append(partial[into:])
                    into = len(partial)
                elif not into and partial:
                    lines.append(partial)
                    into = len(partial)
            self._end_stream()
        except _Cut:  # fault injection: the node drops the connection in the middle of a line
            self._drop()
        except _Stop:
            self.close_connection = True

    def _log_cut(self) -> int:
        """The line this stream is cut in (0: not cut); takes one of `log_cuts` when counted."""
        world = self.server.sim.world
        with world.lock:
            faults = world.faults
            if not faults.log_cut_after or faults.log_cuts is None:
                return faults.log_cut_after
            if faults.log_cuts <= 0:
                return 0
            faults.log_cuts -= 1
            return faults.log_cut_after

    def _cut_mid_object(self, obj: JSON) -> None:
        """Send the first half of the chunk carrying `obj`, then drop the connection."""
        data = codec.dumps(obj)
        with contextlib.suppress(OSError, ValueError):
            self.wfile.write(b"%x\r\n%s" % (len(data), data[: len(data) // 2]))
            self.wfile.flush()
        raise _Cut

    def _cut_mid_line(self, line: str) -> None:
        """Send the first half of the object carrying `line`, then drop the connection."""
        data = codec.dumps_go({"status": {"message": "success"}, "log": line})
        with contextlib.suppress(OSError, ValueError):
            self.wfile.write(b"%x\r\n%s" % (len(data), data[: len(data) // 2]))
            self.wfile.flush()
        raise _Cut


def _event(etype: int, status: JSON) -> JSON:
    ev: JSON = {}
    if etype:
        ev["type"] = etype
    ev["object"] = codec.omit_empty(status)
    return ev
