"""The simulator's HTTPS listener: KusciaAPI's transport, routes and both JSON dialects.

Transport rules (kuscia-api.md §1): MTLS requires a client certificate chaining to `ca.crt`
(the handshake is refused otherwise), TLS asks for none, NOTLS is plain HTTP without token.
Routing follows gin: a matching route runs the token check and then the handler; a path that
only differs by a trailing slash is redirected (307 for POST, 301 for GET) before any token
check; anything else runs the token check and then answers `404 page not found`.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Sequence
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from . import codec, lite
from .base import ERR_UNEXPECTED, KUSCIA_VERSION, APIError
from .certs import CA_CERT, SERVER_CERT, SERVER_KEY, ensure_certs, read_token
from .clock import Clock
from .demo import demo_jobs, demo_network
from .faults import GARBAGE_BODY, Faults, parse_node_fault, parse_route_fault
from .routes import FLAT_ERROR_FIELDS, UNARY_ROUTES
from .streams import StreamHandler
from .world import World

JSON = dict[str, Any]
PROTOCOLS = ("MTLS", "TLS", "NOTLS")
SUCCESS = {"code": 0, "message": "success", "details": []}

STREAM_ROUTES = ("/api/v1/job/watch", "/api/v1/log/task/query")
POST_PATHS = frozenset([*UNARY_ROUTES, *STREAM_ROUTES])
GET_PATHS = frozenset(["/version", "/probe"])


class Handler(StreamHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes
    timeout = 300  # Kuscia's idle timeout: an idle keep-alive connection is closed after 300 s
    server: _Server

    # -------------------------------------------------------------- plumbing

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.sim.verbose:
            super().log_message(format, *args)

    def _json(self, obj: Any) -> None:
        self._send(200, codec.dumps(obj), "application/json; charset=utf-8")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _token_ok(self) -> bool:
        sim = self.server.sim
        if sim.protocol == "NOTLS":
            return True
        return self.headers.get("Token") == sim.token

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:
        self._dispatch()

    # -------------------------------------------------------------- routing

    def _dispatch(self) -> None:
        body = self._read_body()
        path = self.path.split("?", 1)[0]
        method = self.command
        table = POST_PATHS if method == "POST" else GET_PATHS if method == "GET" else frozenset()
        if path in table:
            if method == "GET":
                self._get_route(path)
                return
            if not self._token_ok():
                self._send(401)
                return
            sim = self.server.sim
            with sim.counter_lock:
                sim.requests += 1
                sim.in_flight += 1
            try:
                self._answer(path, body)
            finally:
                with sim.counter_lock:
                    sim.in_flight -= 1
            return
        alt = path[:-1] if path.endswith("/") and len(path) > 1 else None
        if alt is not None and alt in table:
            self._send(307 if method != "GET" else 301, headers={"Location": alt})
            return
        if not self._token_ok():
            self._send(401)
            return
        self._send(404, b"404 page not found", "text/plain")

    def _answer(self, path: str, body: bytes) -> None:
        """A token-protected route, faults applied."""
        fault = self._fault()
        if fault == "drop":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault == "error":
            self._send(
                503, b"upstream connect error or disconnect/reset before headers", "text/plain"
            )
            return
        if fault == "garbage":
            self._send(200, GARBAGE_BODY, "application/json; charset=utf-8")
            return
        if path in STREAM_ROUTES:
            if path == "/api/v1/job/watch":
                self._watch(body)
            else:
                self._logs(body)
            return
        self._unary(path, body, malformed=fault == "malformed")

    def _fault(self) -> str | None:
        faults: Faults = self.server.sim.world.faults
        if faults.latency > 0:
            time.sleep(faults.latency)
        return faults.pick()

    def _get_route(self, path: str) -> None:
        sim = self.server.sim
        if path == "/version":
            self._send(200, KUSCIA_VERSION.encode(), "text/plain; charset=utf-8")
            return
        uptime = int(time.monotonic() - sim.started_monotonic)
        line = (
            f"kusciaapi, host: {socket.gethostname()}, version: {KUSCIA_VERSION}, uptime: {uptime}s"
        )
        self._send(200, line.encode(), "text/plain; charset=utf-8")

    # -------------------------------------------------------------- unary routes

    def _unary(self, path: str, body: bytes, *, malformed: bool = False) -> None:
        world = self.server.sim.world
        route = UNARY_ROUTES[path]
        schema = route.schema
        ctype = self.headers.get("Content-Type", "")
        try:
            if ctype.lower().startswith("application/x-protobuf"):
                raise codec.DecodeError("simulator: protobuf request bodies are not supported")
            if not ctype or ctype.lower().startswith(("application/json", "text/plain")):
                req = codec.decode_unary(body, schema)
            else:  # gin's form binding: the JSON body is not read, every field is zero
                req = codec.decode_message({}, schema)
        except codec.DecodeError as exc:
            self._json({"status": {"code": ERR_UNEXPECTED, "message": str(exc)}})
            return
        try:
            if self.server.sim.lite_domain:  # a lite node: its own domain's data only
                lite.check_request(path, req, self.server.sim.lite_domain)
            data = route.handler(world, req)
        except APIError as exc:
            status = {"code": exc.code, "message": exc.message, "details": exc.details}
            if route.envelope == "flat":
                self._json({"status": status, **FLAT_ERROR_FIELDS[path]})
            elif route.envelope == "status":
                self._json({"status": status})
            else:
                self._json({"status": status, "data": exc.data})
            return
        except Exception as exc:  # like Kuscia's decorator: a panic becomes 11101, HTTP 200
            self._json(
                {"status": {"code": ERR_UNEXPECTED, "message": f"doBizProcess panic, err: {exc}"}}
            )
            return
        if route.envelope == "flat":
            out = codec.dumps({"status": SUCCESS, **data})
        elif route.envelope == "status":
            out = codec.dumps({"status": SUCCESS})
        else:
            out = codec.dumps({"status": SUCCESS, "data": data})
        if malformed:
            out = out[: max(len(out) // 2, 1)]
        self._send(200, out, "application/json; charset=utf-8")


def _close_gracefully(sock: socket.socket) -> None:
    """Close after a refused handshake so the client reads OpenSSL's alert, not a reset.

    Closing with unread client data (TLS 1.3 clients send their request right away) makes the
    kernel send RST, which would hide the alert; like Go, half-close and drain briefly first.
    """
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(0.5)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and sock.recv(65536):
            pass
    with contextlib.suppress(OSError):
        sock.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr: tuple[str, int], sim: Simulator) -> None:
        self.sim = sim
        super().__init__(addr, Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        ctx = self.sim.ssl_context
        conn = request
        if ctx is not None:
            request.settimeout(10)
            try:
                conn = ctx.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
            except (ssl.SSLError, OSError):
                _close_gracefully(request)
                return
            try:
                conn.do_handshake()
            except (ssl.SSLError, OSError):
                _close_gracefully(conn)
                return
            conn.settimeout(None)
        try:
            Handler(conn, client_address, self)
        finally:
            if conn is not request:
                with contextlib.suppress(OSError):
                    conn.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.sim.verbose:
            super().handle_error(request, client_address)


class Simulator:
    """A KusciaAPI simulator listening on (host, port); port 0 picks a free port.

    `cert_dir` gets the Kuscia certificate files (created when missing; a temporary directory
    when None). `speed` scales simulated time; `clock` may be a ManualClock for deterministic
    tests (then `world.advance(seconds)` moves time). `faults` are keyword arguments of
    `world.Faults`. `heartbeat_interval` is Kuscia's 10 s, configurable for tests.
    `log_mode="master"` answers task logs with 11105 like a real master (the default with
    `mode="master"`), `log_mode="lite"` serves them as a lite node does; `shuffle=True` returns
    map-derived lists (stages, approvals, parties, endpoints) in random order like Kuscia.
    `mode="autonomy"` makes it the P2P node of `local_domain` (see world.World).
    `nodes_down` ("DOMAIN" or "DOMAIN/NODE") start NotReady, `routes_down`
    ("SOURCE:DESTINATION[:REASON]") start Failed (faults.parse_node_fault/parse_route_fault).
    `world=` serves an existing simulator's world (same jobs, domains and data) as another
    node, typically `lite_domain="bob"`: bob's lite, whose log/task/query serves bob's pods
    (then only `host`, `port`, `cert_dir`, `protocol`, `heartbeat_interval`, `log_mode` and
    `verbose` apply).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        cert_dir: Path | str | None = None,
        protocol: str = "MTLS",
        speed: float = 1.0,
        demo: bool = True,
        clock: Clock | None = None,
        *,
        heartbeat_interval: float = 10.0,
        log_mode: str | None = None,
        faults: dict[str, Any] | None = None,
        shuffle: bool = False,
        mode: str = "master",
        local_domain: str = "alice",
        verbose: bool = False,
        nodes_down: Sequence[str] = (),
        routes_down: Sequence[str] = (),
        world: World | None = None,
        lite_domain: str | None = None,
    ) -> None:
        protocol = protocol.upper()
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}")
        self.host = host
        self._requested_port = port
        self.protocol = protocol
        self.cert_dir = Path(cert_dir) if cert_dir else Path(tempfile.mkdtemp(prefix="kuscia-sim-"))
        ensure_certs(self.cert_dir)
        self.token = read_token(self.cert_dir)
        self.heartbeat_interval = heartbeat_interval
        self.verbose = verbose
        # what this listener answers on log/task/query (a shared world serves several nodes)
        self.log_mode = log_mode or ("lite" if lite_domain else None)
        self.lite_domain = lite_domain
        if world is not None:  # another listener of the same cluster (e.g. a lite of a master)
            self.world = world
            self.log_mode = self.log_mode or world.log_mode
            self._finish_init()
            return
        ca_pem = (self.cert_dir / CA_CERT).read_bytes()
        self.world = World(
            clock=clock,
            speed=speed,
            domain_cert_pem=base64.b64encode(ca_pem).decode("ascii"),
            log_mode=log_mode,
            shuffle=shuffle,
            mode=mode,
            local_domain=local_domain,
        )
        self.log_mode = self.log_mode or self.world.log_mode
        if faults:
            self.world.set_faults(**faults)
        if demo:
            demo_network(self.world)
            for job in demo_jobs():
                if mode == "autonomy" and job["initiator"] != local_domain:
                    continue  # a P2P node only creates jobs its own domain initiates
                self.world.create_job(job)
        self._network_faults(nodes_down, routes_down)
        self._finish_init()

    def _finish_init(self) -> None:
        # Token-protected requests received, and those being answered now (fault benchmarks)
        self.requests = 0
        self.in_flight = 0
        self.counter_lock = threading.Lock()
        self.ssl_context = self._make_ssl_context()
        self.stopping = threading.Event()
        self.started_monotonic = time.monotonic()
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []

    def _network_faults(self, nodes_down: Sequence[str], routes_down: Sequence[str]) -> None:
        world = self.world
        for spec in nodes_down:
            domain, node = parse_node_fault(spec)
            if domain not in world.domains:
                raise ValueError(f"{spec!r}: no domain {domain!r} (known: {sorted(world.domains)})")
            world.set_node_status(domain, "NotReady", node)
        for spec in routes_down:
            src, dst, reason = parse_route_fault(spec)
            if (src, dst) not in world.routes:
                raise ValueError(f"{spec!r}: no route {src}-{dst}")
            world.set_route_status(src, dst, "Failed", reason)

    def _make_ssl_context(self) -> ssl.SSLContext | None:
        if self.protocol == "NOTLS":
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert_dir / SERVER_CERT, self.cert_dir / SERVER_KEY)
        if self.protocol == "MTLS":
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(cafile=str(self.cert_dir / CA_CERT))
        return ctx

    # -------------------------------------------------------------- lifecycle

    def start(self) -> Simulator:
        if self._server is not None:
            return self
        self._server = _Server((self.host, self._requested_port), self)
        self.started_monotonic = time.monotonic()
        serve = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="kuscia-sim-http",
            daemon=True,
        )
        ticker = threading.Thread(target=self._tick_loop, name="kuscia-sim-tick", daemon=True)
        self._threads = [serve, ticker]
        for t in self._threads:
            t.start()
        return self

    def _tick_loop(self) -> None:
        while not self.stopping.wait(0.02):
            self.world.tick()

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for t in self._threads:
            t.join(timeout=5)
        self._threads = []

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            return self._requested_port
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        scheme = "http" if self.protocol == "NOTLS" else "https"
        return f"{scheme}://{self.host}:{self.port}"
