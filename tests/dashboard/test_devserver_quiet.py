"""`make run` keeps its output quiet by default: after the banner with the URL and the demo
login come only warnings and errors (not the worker's INFO lines, two a second, nor a line per
request), so the login stays on screen; KC_VERBOSE=1 shows every log line again."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.dashboard.test_devserver import (
    LOGIN_LINE,
    URL_LINE,
    DevServer,
    devserver_env,
    free_port,
    login,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

LOG_LINE = re.compile(r"^\S+Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")


def after_banner(server: DevServer) -> list[str]:
    lines = list(server.lines)
    end = next(i for i, line in enumerate(lines) if "Press Ctrl-C" in line)
    return [line for line in lines[end + 1 :] if line.strip()]


def test_make_run_is_quiet_after_its_banner_and_the_login_stays_in_view(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    server = DevServer(devserver_env(var_dir, free_port(), free_port()))
    try:
        username, password = server.wait_for(LOGIN_LINE, 120).groups()
        base = server.wait_for(URL_LINE, 5).group(1).replace("localhost", "127.0.0.1")
        banner = "\n".join(server.lines)
        assert "KC_VERBOSE=1" in banner
        assert "Starting development server" not in banner.split("Log in as:")[1]
        client = login(base, username, password)
        for path in ("/", "/jobs/", "/connections/", "/audit/", "/jobs/default/nope/"):
            assert client.get(path).status_code in (200, 404)
        time.sleep(20)  # four beat rounds: polls, stats, the watch
        later = after_banner(server)
        noisy = [line for line in later if " INFO " in line or '"GET ' in line]
        assert noisy == [], "\n".join(later)
        assert len(later) <= 3, "\n".join(later)  # a warning or two at most
        assert not any("SecurityWarning" in line or "celery@" in line for line in server.lines)
        assert server.interrupt() == 0
    finally:
        server.kill()


def test_kc_verbose_shows_every_log_line_again(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    server = DevServer(devserver_env(var_dir, free_port(), free_port(), KC_VERBOSE="1"))
    try:
        server.wait_for(LOGIN_LINE, 120)
        server.wait_for(re.compile(r" INFO celery\."), 60)  # the worker's and beat's lines
        assert "every log line" in "\n".join(server.lines)
        assert server.interrupt() == 0
    finally:
        server.kill()
