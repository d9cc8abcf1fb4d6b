"""`make run` end to end: scripts/devserver.py in a temporary var dir on free ports brings up the
simulator, a Celery worker + beat and the web server; the printed demo login works; the worker
syncs the simulator's demo jobs; one SIGINT stops every child; a second run reuses what exists.

Runs with the fresh-clone defaults (SQLite under the var dir, filesystem broker), so
DATABASE_URL and REDIS_URL are removed from the child's environment.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
LOGIN_LINE = re.compile(r"Log in as: (\S+)\s+password: (\S+)")
URL_LINE = re.compile(r"running at (http://\S+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.5):
            return True
    except OSError:
        return False


class DevServer:
    def __init__(self, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "scripts/devserver.py"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Its own process group, like `make run` in a terminal: a signal aimed at pytest's
            # group (GNU timeout's kill(0), a job runner stopping its job, Ctrl-C on the test
            # run) must not stop it half-way through starting; only interrupt() does.
            start_new_session=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: re.Pattern[str], seconds: float) -> re.Match[str]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for line in list(self.lines):
                match = pattern.search(line)
                if match:
                    return match
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"no line matching {pattern.pattern}; output:\n{self.text()}")

    def text(self) -> str:
        return "\n".join(self.lines[-200:])

    def interrupt(self, seconds: float = 40) -> int:
        # Ctrl-C in a terminal: SIGINT to the foreground process group (the supervisor and any
        # manage.py step it is running; its children have their own sessions).
        os.killpg(self.proc.pid, signal.SIGINT)
        code = self.proc.wait(timeout=seconds)
        self.reader.join(timeout=5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def processes_with_env(marker: str) -> list[int]:
    """Pids of live processes whose environment contains `marker` (our children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().split(") ", 1)[1][:1]
        except OSError:
            continue
        if marker.encode() in environ.split(b"\0") and state != "Z":
            found.append(int(entry.name))
    return found


def login(base: str, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=10, follow_redirects=False)
    page = client.get("/accounts/login/", params={"next": "/connections/"})
    assert page.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    response = client.post(
        "/accounts/login/",
        data={
            "username": username,
            "password": password,
            "next": "/connections/",
            "csrfmiddlewaretoken": token.group(1),
        },
    )
    assert response.status_code == 302, response.text[:1000]
    assert response.headers["location"] == "/connections/"
    return client


def devserver_env(var_dir: Path, web_port: int, sim_port: int, **extra: str) -> dict[str, str]:
    """The environment of a `make run` under test: its own var dir and ports, none of the
    service URLs the test run itself uses (so the embedded defaults are what runs)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL"))}
    for name in ("KUSCIA_API_URL", "KUSCIA_DEFAULT_CONNECTION", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    env.update(
        KC_VAR_DIR=str(var_dir),
        PORT=str(web_port),
        KUSCIA_SIM_PORT=str(sim_port),
        KUSCIA_CERT_DIR=str(var_dir / "simulator-certs"),
        KC_WORKER_CONCURRENCY="1",
    )
    env.update(extra)
    return env


def default_synced(health: dict) -> bool:
    return any(r["connection"] == "default" and r["last_success"] for r in health["sync"])


def test_make_run_starts_everything_and_one_sigint_stops_it(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    web_port, sim_port = free_port(), free_port()
    env = devserver_env(var_dir, web_port, sim_port, KC_WORKER_CONCURRENCY="2")
    marker = f"KC_VAR_DIR={var_dir}"

    server = DevServer(env)
    try:
        match = server.wait_for(LOGIN_LINE, 120)
        username, password = match.group(1), match.group(2)
        base = server.wait_for(URL_LINE, 5).group(1).replace("localhost", "127.0.0.1")
        assert base == f"http://127.0.0.1:{web_port}/"
        assert port_open(sim_port)
        assert (var_dir / "simulator-certs" / "ca.crt").exists()

        client = login(base, username, password)
        page = client.get("/connections/")
        assert page.status_code == 200 and username in page.text

        # The worker and beat sync the simulator's demo jobs into the database.
        # Waits for the default connection's row by name (the lites' rows, if any, sort first).
        deadline = time.monotonic() + 180
        health: dict = {}
        while time.monotonic() < deadline:
            health = httpx.get(base + "healthz", timeout=10).json()
            if default_synced(health):
                break
            time.sleep(1)
        assert health["database"]["ok"] and health["broker"]["ok"], health
        assert default_synced(health), (health, server.text())
        # The demo's lite nodes serve their parties' logs; their jobs are the master's.
        assert [row["connection"] for row in health["sync"]] == ["default"], health
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            jobs = client.get("/jobs/")
            if jobs.status_code == 200 and "/jobs/default/" in jobs.text:
                break
            time.sleep(1)
        assert "/jobs/default/" in jobs.text, server.text()

        assert len(processes_with_env(marker)) >= 4  # supervisor, sim, worker (+pool), web
        assert server.interrupt() == 0, server.text()
    finally:
        server.kill()
    time.sleep(0.5)
    assert processes_with_env(marker) == [], server.text()
    assert not port_open(web_port) and not port_open(sim_port)
    assert "Ctrl-C received; stopping" in server.text()
    # The worker stopped by itself (warm shutdown): no pool process was killed mid-task, nothing
    # was escalated or killed.
    assert "Warm shutdown" in server.text() and "Cold shutdown" not in server.text()
    assert "exited with 'signal" not in server.text() and "did not stop" not in server.text()
    assert "is still busy" not in server.text()  # no child needed its escalation signal

    # Running it again reuses the database, certificates and the demo password.
    ca_before = (var_dir / "simulator-certs" / "ca.crt").read_bytes()
    again = DevServer(env)
    try:
        match = again.wait_for(LOGIN_LINE, 120)
        assert (match.group(1), match.group(2)) == (username, password)
        login(f"http://127.0.0.1:{web_port}/", username, password).close()
        assert (var_dir / "simulator-certs" / "ca.crt").read_bytes() == ca_before
        assert again.interrupt() == 0, again.text()
    finally:
        again.kill()
    time.sleep(0.5)
    assert processes_with_env(marker) == []


def test_with_kuscia_api_url_no_simulator_is_started(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    web_port, sim_port = free_port(), free_port()
    env = devserver_env(
        var_dir,
        web_port,
        sim_port,
        KUSCIA_API_URL=f"https://127.0.0.1:{sim_port}",
        KUSCIA_CERT_DIR=str(var_dir / "certs"),
    )
    server = DevServer(env)
    try:
        server.wait_for(LOGIN_LINE, 120)
        assert any("no simulator" in line for line in server.lines)
        assert not port_open(sim_port)
        assert not (var_dir / "certs").exists()
        assert server.interrupt() == 0, server.text()
    finally:
        server.kill()


def test_a_signal_while_the_web_server_starts_stops_everything_cleanly(tmp_path: Path) -> None:
    """The once-seen failure path: SIGTERM reaching the supervisor during start-up (e.g. sent to
    the whole process group it shares with its caller) stops every child and exits 0."""
    var_dir = tmp_path / "var"
    web_port, sim_port = free_port(), free_port()
    env = devserver_env(var_dir, web_port, sim_port)
    marker = f"KC_VAR_DIR={var_dir}"
    server = DevServer(env)
    try:
        server.wait_for(re.compile(r"starting web server"), 120)
        os.killpg(server.proc.pid, signal.SIGTERM)
        code = server.proc.wait(timeout=40)
        server.reader.join(timeout=5)
    finally:
        server.kill()
    out = server.text()
    assert code == 0, out
    assert "SIGTERM received" in out and "stopped" in out, out
    assert "Traceback" not in out, out
    time.sleep(0.5)
    assert processes_with_env(marker) == [], out
    assert not port_open(web_port) and not port_open(sim_port)
