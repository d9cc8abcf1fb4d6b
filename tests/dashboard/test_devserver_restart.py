"""`make run` keeps the console up when a child dies: the simulator or the Celery worker killed
with SIGKILL is started again after a back-off, the output says so, the web server answers all
along (and the console shows Kuscia unreachable meanwhile), and only Ctrl-C stops everything."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.dashboard.test_devserver import (
    LOGIN_LINE,
    DevServer,
    devserver_env,
    free_port,
    login,
    port_open,
    processes_with_env,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def child_pid(server: DevServer, needle: str, other_than: int = 0) -> int:
    """The pid of the supervisor's child whose command line holds `needle` (waiting up to a
    minute for one other than `other_than`, i.e. for a restart)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == other_than:
                continue
            try:
                stat = (entry / "stat").read_text().split(") ", 1)[1].split()
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, IndexError):
                continue
            if int(stat[1]) == server.proc.pid and stat[0] != "Z" and needle in cmdline:
                return int(entry.name)
        if server.proc.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"no child running {needle!r}; output:\n{server.text()}")


class WebWatcher(threading.Thread):
    """Asks the web server for its login page without pause; every answer must be a 200."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base, self.stop, self.answers, self.failures = base, threading.Event(), 0, []

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=10) as client:
            while not self.stop.is_set():
                try:
                    status = client.get("/accounts/login/").status_code
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                    continue
                if status == 200:
                    self.answers += 1
                else:
                    self.failures.append(status)
                self.stop.wait(0.1)


def last_success(base: str) -> str | None:
    rows = httpx.get(base + "/healthz", timeout=10).json()["sync"]
    return next((r["last_success"] for r in rows if r["connection"] == "default"), None)


def wait_until(predicate, seconds: float, what: str, server: DevServer) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} within {seconds}s; output:\n{server.text()}")


def test_a_killed_child_is_restarted_while_the_web_server_answers(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    web_port, sim_port = free_port(), free_port()
    # Two worker processes: the watch holds one for minutes, polls need the other.
    env = devserver_env(var_dir, web_port, sim_port, KC_WORKER_CONCURRENCY="2")
    marker = f"KC_VAR_DIR={var_dir}"
    server = DevServer(env)
    base = f"http://127.0.0.1:{web_port}"
    watcher = WebWatcher(base)
    try:
        match = server.wait_for(LOGIN_LINE, 120)
        client = login(base + "/", match.group(1), match.group(2))
        wait_until(lambda: last_success(base) is not None, 180, "a first sync", server)
        watcher.start()

        # The simulator dies: restarted, the console keeps answering.
        sim_pid = child_pid(server, "kuscia_simulator")
        mark = len(server.lines)
        os.kill(sim_pid, signal.SIGKILL)
        child_pid(server, "kuscia_simulator", other_than=sim_pid)
        said = "\n".join(server.lines[mark:])
        assert re.search(r"kuscia simulator \(pid \d+\) exited with status -9 .*restarting", said)
        wait_until(lambda: port_open(sim_port), 30, "the simulator's port answering", server)

        # The worker dies: restarted, and the restarted worker syncs again.
        worker_pid = child_pid(server, "worker -B")
        before = last_success(base)
        mark = len(server.lines)
        os.kill(worker_pid, signal.SIGKILL)
        child_pid(server, "worker -B", other_than=worker_pid)
        assert any(
            "celery worker + beat" in line and "restarting" in line for line in server.lines[mark:]
        )
        wait_until(lambda: last_success(base) != before, 120, "a sync by the new worker", server)
        assert client.get("/jobs/").status_code == 200

        watcher.stop.set()
        watcher.join(timeout=15)
        assert watcher.answers > 0 and watcher.failures == [], watcher.failures
        assert server.proc.poll() is None  # still running: nothing but Ctrl-C stops it
        assert server.interrupt() == 0, server.text()
    finally:
        watcher.stop.set()
        server.kill()
    time.sleep(0.5)
    assert processes_with_env(marker) == [], server.text()
    assert not port_open(web_port) and not port_open(sim_port)
