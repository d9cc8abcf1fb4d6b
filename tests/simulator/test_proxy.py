"""simulator.proxy.TcpProxy: passes bytes both ways; cut resets open connections and refuses new
ones; restore listens again on the same port."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from simulator.proxy import TcpProxy


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return

            def echo(c: socket.socket = conn) -> None:
                with c:
                    while data := c.recv(1024):
                        c.sendall(data)

            threading.Thread(target=echo, daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def roundtrip(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall(data)
        return c.recv(1024)


def test_cut_resets_and_refuses_restore_listens_on_the_same_port(echo_port: int) -> None:
    proxy = TcpProxy("127.0.0.1", echo_port).start()
    port = proxy.port
    assert roundtrip(port, b"one") == b"one"
    held = socket.create_connection(("127.0.0.1", port), timeout=5)
    held.sendall(b"x")
    assert held.recv(10) == b"x"

    proxy.cut()
    assert proxy.is_cut
    with contextlib.suppress(ConnectionResetError):  # the open connection ends (reset or EOF)
        assert held.recv(10) == b""
    held.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)

    proxy.restore()
    assert proxy.port == port and roundtrip(port, b"two") == b"two"
    assert proxy.accepted == 3
    proxy.stop()
