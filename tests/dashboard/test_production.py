"""The production set-up, as deploy/ describes it: DJANGO_ENV=production, gunicorn (static files
by WhiteNoise), a Celery worker for polls, a Celery worker for watch streams and Celery beat as
separate processes, PostgreSQL via DATABASE_URL (a fresh database, migrated here) and Redis via
REDIS_URL, the Kuscia simulator as the Kuscia API. Checks /healthz, a logged-in page with synced
jobs, static files, security headers, /metrics with the bearer token (counters from every
process), JSON log lines, and that the token never appears in any output.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def prod_database():
    """A fresh PostgreSQL database on the server of DATABASE_URL, dropped afterwards."""
    import psycopg

    base = urlparse(os.environ["DATABASE_URL"])
    name = f"kc_run_prod_{uuid.uuid4().hex[:8]}"
    admin_dsn = base._replace(path="/postgres").geturl()
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Procs:
    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp, self.env, self.procs = tmp, env, {}

    def start(self, name: str, argv: list[str]) -> None:
        log = (self.tmp / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def run(self, argv: list[str], stdin: str = "") -> str:
        done = subprocess.run(
            argv,
            cwd=ROOT,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr

    def logs(self) -> dict[str, str]:
        return {p.stem: p.read_text(errors="replace") for p in sorted(self.tmp.glob("*.log"))}

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def wait_http(url: str, seconds: float, procs: Procs) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError(f"{url} never answered:\n{procs.logs()}")


class Browser:
    """A tiny cookie handler: production cookies are Secure, and the proxy in front of
    gunicorn terminates TLS, so requests carry X-Forwarded-Proto: https over plain HTTP."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=15, follow_redirects=False)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, **kw) -> httpx.Response:
        headers = {"X-Forwarded-Proto": "https", "Host": "console.test", **kw.pop("headers", {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.http.request(method, path, headers=headers, **kw)
        for raw in response.headers.get_list("set-cookie"):
            name, _, rest = raw.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response


def test_production_setup(tmp_path: Path, prod_database: str, kuscia_sim_factory) -> None:
    sim = kuscia_sim_factory(demo=True, speed=20)
    token_value = (sim.cert_dir / "token").read_text()
    port = free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    metrics_token = secrets.token_urlsafe(16)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "KUSCIA_", "DJANGO_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="dashboard.settings",
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="console.test",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://console.test",
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
        DATABASE_URL=prod_database,
        REDIS_URL=os.environ["REDIS_URL"],
        KC_REDIS_PREFIX=f"kc-prod-{uuid.uuid4().hex[:8]}:",
        KC_VAR_DIR=str(var_dir),
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        METRICS_TOKEN=metrics_token,
        LOG_FORMAT="json",
        KUSCIA_API_URL=sim.url,
        KUSCIA_CERT_DIR=str(sim.cert_dir),
        KUSCIA_POLL_SECONDS="1",
        KUSCIA_WATCH_SECONDS="20",
    )
    procs = Procs(tmp_path, env)
    python = str(BIN / "python")
    try:
        check = procs.run([python, "manage.py", "check", "--deploy", "--fail-level", "WARNING"])
        assert "no issues" in check
        procs.run([python, "manage.py", "migrate", "--noinput", "-v", "0"])
        procs.run([python, "manage.py", "collectstatic", "--noinput", "-v", "0"])
        password = secrets.token_urlsafe(12)
        procs.run(
            [python, "manage.py", "create_user", "olga", "--role", "operator", "--password-stdin"],
            stdin=password + "\n",
        )
        procs.start(
            "web",
            [
                str(BIN / "gunicorn"),
                "dashboard.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--access-logfile",
                "-",
            ],
        )
        celery = [str(BIN / "celery"), "-A", "dashboard"]
        procs.start(
            "worker",
            [
                *celery,
                "worker",
                "-Q",
                "celery",
                "-c",
                "2",
                "-n",
                f"poll-{port}@%h",
                "--without-mingle",
                "--without-gossip",
            ],
        )
        procs.start(
            "watcher",
            [
                *celery,
                "worker",
                "-Q",
                "watch",
                "-c",
                "2",
                "-n",
                f"watch-{port}@%h",
                "--without-mingle",
                "--without-gossip",
            ],
        )
        procs.start("beat", [*celery, "beat", "--schedule", str(var_dir / "beat-schedule")])
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/healthz", 60, procs)

        # /healthz: database, Redis broker, and a successful sync of the default connection.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            health = httpx.get(
                base + "/healthz",
                headers={"Host": "console.test", "X-Forwarded-Proto": "https"},
                timeout=10,
            )
            body = health.json()
            if body["sync"] and body["sync"][0]["last_success"]:
                break
            time.sleep(1)
        assert health.status_code == 200, (body, procs.logs())
        assert body["database"]["ok"] and body["broker"]["ok"], body
        assert "redis" in body["broker"]["transport"].lower(), body
        assert body["sync"][0]["connection"] == "default" and body["status"] == "ok", body

        # Plain HTTP without the proxy header is redirected to HTTPS.
        plain = httpx.get(base + "/accounts/login/", headers={"Host": "console.test"})
        assert plain.status_code == 301 and plain.headers["location"].startswith("https://")

        browser = Browser(base)
        page = browser.request("GET", "/accounts/login/?next=/jobs/")
        assert page.status_code == 200
        for header in ("Content-Security-Policy", "Strict-Transport-Security"):
            assert header in page.headers
        assert page.headers["X-Frame-Options"] == "DENY"
        assert (
            "'unsafe-inline'"
            not in page.headers["Content-Security-Policy"]
            .split("script-src", 1)[1]
            .split(";", 1)[0]
        )
        set_cookies = " ".join(page.headers.get_list("set-cookie"))
        assert "Secure" in set_cookies and "csrftoken" in set_cookies
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        login = browser.request(
            "POST",
            "/accounts/login/",
            data={
                "username": "olga",
                "password": password,
                "next": "/jobs/",
                "csrfmiddlewaretoken": csrf,
            },
            headers={"Referer": "https://console.test/accounts/login/"},
        )
        assert login.status_code == 302 and login.headers["location"] == "/jobs/", login.text
        assert "Secure" in login.headers["set-cookie"] and "HttpOnly" in login.headers["set-cookie"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            jobs = browser.request("GET", "/jobs/")
            if "/jobs/default/" in jobs.text:
                break
            time.sleep(1)
        assert jobs.status_code == 200 and "/jobs/default/" in jobs.text, procs.logs()

        # Static files come from WhiteNoise with hashed, compressed names.
        css = re.search(r'href="(/static/css/console\.[0-9a-f]+\.css)"', jobs.text)
        assert css, jobs.text[:800]
        static = browser.request("GET", css.group(1), headers={"Accept-Encoding": "gzip"})
        assert static.status_code == 200 and "max-age" in static.headers["cache-control"]

        # /metrics with the bearer token aggregates Kuscia requests made by the workers.
        metrics = httpx.get(
            base + "/metrics",
            headers={
                "Host": "console.test",
                "X-Forwarded-Proto": "https",
                "Authorization": f"Bearer {metrics_token}",
            },
        )
        assert metrics.status_code == 200
        assert 'kuscia_console_jobs{connection="default"' in metrics.text
        assert (
            httpx.get(
                base + "/metrics", headers={"Host": "console.test", "X-Forwarded-Proto": "https"}
            ).status_code
            == 401
        )
    finally:
        procs.stop()
    logs = procs.logs()
    for name, text in logs.items():
        assert token_value not in text, f"token leaked into the {name} log"
    # Django's own log lines (the app logs) are one JSON object per line.
    app_lines = [ln for ln in logs["web"].splitlines() if ln.startswith("{")]
    events = [json.loads(line) for line in app_lines]
    assert all({"ts", "level", "logger", "msg"} <= e.keys() for e in events)
    assert any(e["logger"] == "accounts" and "login ok" in e["msg"] for e in events), app_lines
    assert any(e["logger"] == "django.request" and "/metrics" in e["msg"] for e in events)
