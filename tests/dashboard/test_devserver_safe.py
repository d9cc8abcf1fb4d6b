"""`make run` is safe by default: Django's debug pages are off (an unknown address is the plain
404 page inside the layout, not the list of URL patterns), static files are still served, and
the output says how to turn debugging on."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.dashboard.test_devserver import (
    LOGIN_LINE,
    DevServer,
    devserver_env,
    free_port,
    login,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def test_make_run_has_no_debug_pages_and_serves_static_files(tmp_path: Path) -> None:
    web_port, sim_port = free_port(), free_port()
    env = devserver_env(tmp_path / "var", web_port, sim_port)
    env.pop("KC_DEBUG", None)
    server = DevServer(env)
    try:
        match = server.wait_for(LOGIN_LINE, 120)
        base = f"http://127.0.0.1:{web_port}"
        assert any("KC_DEBUG=1" in line for line in server.lines), server.text()

        static = httpx.get(base + "/static/css/console.css", timeout=10)
        assert static.status_code == 200 and "text/css" in static.headers["content-type"]

        anonymous = httpx.get(base + "/no/such/page/", timeout=10)
        assert anonymous.status_code == 404 and "Page not found" in anonymous.text
        assert "URLconf" not in anonymous.text and "urlpatterns" not in anonymous.text
        client = login(base + "/", match.group(1), match.group(2))
        missing = client.get("/no/such/page/")
        assert missing.status_code == 404
        assert "Page not found" in missing.text and 'class="topbar"' in missing.text
        assert "URLconf" not in missing.text and "DJANGO_SETTINGS_MODULE" not in missing.text
        job = client.get("/jobs/default/no-such-job/")
        assert job.status_code == 404 and "Traceback" not in job.text
        assert server.interrupt() == 0, server.text()
    finally:
        server.kill()
