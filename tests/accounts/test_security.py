"""Security properties over the whole URL conf: login everywhere (enumerated), viewers cannot
mutate, CSRF is enforced, security headers are set, templates hold no inline script, and the
Kuscia token never reaches a response, a log line or a database row."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.core import serializers
from django.test import Client
from django.urls import reverse

from connections.models import Connection
from jobs.models import Job
from tests.fixtures.data import make_connection, make_job, make_user
from tests.fixtures.urls import url_patterns

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
# The language switcher is on the sign-in page too (a signed-out visitor gets only the cookie).
PUBLIC = {"login", "admin_login", "healthz", "metrics", "set_language"}
# Views a signed-in viewer may POST to: their own session, password, language and time zone,
# and their own job notifications.
VIEWER_POST_OK = {
    "login",
    "admin_login",
    "logout",
    "password_change",
    "set_language",
    "preferences",
    "alerts:notify",
}
SAMPLE = {
    "connection": "local",
    "name": "local",
    "job_id": "job-1",
    "task_id": "job-1-t0",
    "action": "stop",
    "pk": "1",
    "domain": "alice",
}
CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def app_urls() -> list[tuple[str, str]]:
    """(path, name) of every URL pattern outside Django admin, with sample arguments."""
    found = []
    for route, name in url_patterns():
        assert "^" not in route, f"regex pattern {route}: give it a sample"
        found.append(("/" + CONVERTER.sub(lambda m: SAMPLE.get(m.group(2), "x1"), route), name))
    return found


URLS = app_urls()


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world():
    conn = make_connection("local")
    make_job(conn, "job-1")
    return conn


def test_the_enumeration_covers_every_app():
    names = {name for _, name in URLS}
    assert {"login", "healthz", "connections:list", "connections:check"} <= names
    assert len(URLS) >= 10


@pytest.mark.parametrize(("path", "name"), URLS, ids=[n for _, n in URLS])
def test_every_url_needs_login(client: Client, world, path: str, name: str):
    if name in PUBLIC:
        response = client.get(path)
        assert response.status_code in (200, 401, 405), (path, response.status_code)
        return
    for method in ("get", "post"):
        response = getattr(client, method)(path)
        assert response.status_code == 302, (method, path, response.status_code)
        location = response["Location"]
        assert location.startswith(reverse("login") + "?next="), (path, location)


def test_admin_needs_login(client: Client):
    response = client.get("/admin/connections/connection/")
    assert response.status_code == 302
    assert response["Location"].startswith(("/admin/login/", "/accounts/login/?next="))


def _snapshot() -> str:
    rows = []
    for model in apps.get_models():
        if model._meta.label in ("sessions.Session", "admin.LogEntry"):
            continue
        rows.append(serializers.serialize("json", model.objects.all()))
    return "\n".join(rows)


@pytest.mark.parametrize(("path", "name"), URLS, ids=[n for _, n in URLS])
def test_viewer_forged_posts_are_refused(client: Client, world, path: str, name: str):
    client.force_login(make_user("vera", "viewer"))
    before = _snapshot()
    data = {
        "name": "evil",
        "url": "https://6.6.6.6:8082",
        "protocol": "NOTLS",
        "job_id": "job-1",
        "connection": "local",
        "reason": "forged",
    }
    response = client.post(path, data)
    if name in VIEWER_POST_OK:
        return
    if name in PUBLIC:
        assert response.status_code in (401, 405)
    else:
        assert response.status_code in (403, 405), (path, response.status_code)
    assert _snapshot() == before, f"POST {path} by a viewer changed the database"


def test_csrf_is_enforced(world):
    admin = make_user("ada", "admin")
    client = Client(enforce_csrf_checks=True)
    # The login form itself.
    assert client.post(reverse("login"), {"username": "ada", "password": "x"}).status_code == 403
    client.force_login(admin)
    response = client.post(reverse("connections:toggle", args=["local"]))
    assert response.status_code == 403
    assert Connection.objects.get(name="local").enabled
    response = client.post(reverse("jobs-actions:track"), {"connection": "local", "job_id": "j"})
    assert response.status_code == 403
    # With the token from a page, the same POST goes through.
    page = client.get(reverse("connections:list"))
    token = page.cookies["csrftoken"].value if "csrftoken" in page.cookies else None
    token = token or client.cookies["csrftoken"].value
    response = client.post(reverse("connections:toggle", args=["local"]), HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 302
    assert not Connection.objects.get(name="local").enabled


def test_security_headers(client: Client):
    response = client.get(reverse("login"))
    csp = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    # JSON endpoints carry them too.
    assert "Content-Security-Policy" in client.get("/healthz")


def test_production_settings_are_secure():
    code = (
        "import django, json; django.setup(); from django.conf import settings as s;"
        "print(json.dumps([s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        " s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_HTTPONLY,"
        " s.LOG_FORMAT]))"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": "Kq9-uniquely-random-enough-secret-key-for-the-deploy-check-3f7b2c",
        "DJANGO_ALLOWED_HOSTS": "console.example.org",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    debug, session_secure, csrf_secure, redirect, hsts, httponly, fmt = json.loads(out.stdout)
    assert not debug and session_secure and csrf_secure and redirect and httponly
    assert hsts >= 31536000 and fmt == "json"
    check = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
ON_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
SAFE_FILTER = re.compile(r"\|\s*safe\b")


def test_templates_have_no_inline_script():
    offenders = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text()
        if INLINE_SCRIPT.search(text) or ON_HANDLER.search(text):
            offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"inline <script> or on*= handlers (CSP forbids them): {offenders}"


def test_token_never_in_responses_logs_or_database(client: Client, kuscia_sim, caplog):
    """Sync real data from the simulator, then crawl every page as an admin and run the
    connection check, the metrics and a failing sync: the token value appears nowhere."""
    from jobs import sync

    token = (kuscia_sim.cert_dir / "token").read_text()
    assert len(token) >= 16
    caplog.set_level(logging.DEBUG)
    conn = Connection.objects.create(
        name="local", url=kuscia_sim.url, protocol="MTLS", cert_dir=str(kuscia_sim.cert_dir)
    )
    job_id = kuscia_sim.world.create_job(
        {
            "job_id": "tok-job",
            "initiator": "alice",
            "max_parallelism": 1,
            "tasks": [
                {
                    "alias": "t1",
                    "task_id": "t1",
                    "app_image": "secretflow-image",
                    "task_input_config": "{}",
                    "parties": [{"domain_id": "alice"}, {"domain_id": "bob"}],
                }
            ],
        }
    )
    sync.track_job(conn, job_id)
    sync.reconcile_connection(conn)
    # A connection whose token Kuscia refuses: its failure is stored in SyncState.
    bad_token = kuscia_sim.cert_dir.parent / "bad-token"
    bad_token.write_text(token[::-1])
    bad = Connection.objects.create(
        name="bad",
        url=kuscia_sim.url,
        protocol="MTLS",
        cert_dir=str(kuscia_sim.cert_dir),
        token_file=str(bad_token),
    )
    sync.reconcile_connection(bad)
    assert Job.objects.filter(connection=conn).exists()

    admin = make_user("root", "admin")
    admin.is_staff = True
    admin.save()
    client.force_login(admin)
    job = Job.objects.filter(connection=conn).first()
    task = job.tasks.first()
    sample = {
        "connection": conn.name,
        "name": conn.name,
        "job_id": job.job_id,
        "task_id": task.task_id if task else "t1",
        "action": "stop",
    }
    bodies = []
    statuses: dict[str, int] = {}
    query = {  # what the pages that build parts of the create form need
        "jobs-actions:task-row": "?index=1",
        "jobs-actions:party-row": "?prefix=tasks-0-parties&index=1",
        "jobs-actions:field-row": "?index=1",
        "jobs-actions:domaindata": "?connection=local&domain=alice",
    }
    for route, name in url_patterns():
        if name in ("logout",):
            continue
        # (the real job and task of this test: app_urls() would name sample ones)
        real = "/" + CONVERTER.sub(lambda m: sample.get(m.group(2), "x1"), route)
        for p in {real, real.replace("/local/", "/bad/")}:
            response = client.get(p + query.get(name, ""))
            statuses[p] = response.status_code
            content = (  # exports stream their body
                b"".join(response.streaming_content) if response.streaming else response.content
            )
            bodies.append(content.decode(errors="replace"))
            bodies.append(str(response.headers))
    for p in ("/admin/connections/connection/", f"/admin/connections/connection/{conn.pk}/change/"):
        response = client.get(p)
        statuses[p] = response.status_code
        bodies.append(response.content.decode(errors="replace"))
    # The crawl saw the pages themselves (a 404 or 500 page would hide a leak, not show one):
    # every GET page answers 200, a POST-only one 405, and only the "bad" connection's jobs are
    # missing (it has none).
    post_only = {"/jobs/new/paste/", "/jobs/track/", f"/jobs/local/{job.job_id}/act/stop/"}
    post_only |= {"/connections/local/toggle/", "/connections/bad/toggle/"}
    post_only.add("/accounts/language/")
    signed_in_goes_on = {"/accounts/login/", "/admin/login/"}  # (redirected, being signed in)
    for p, status in statuses.items():
        if p in signed_in_goes_on:
            assert status == 302, (p, status)
        elif p in post_only or p.replace("/bad/", "/local/") in post_only:
            assert status == 405, (p, status)
        elif p.startswith(("/jobs/bad/", "/logs/bad/")):
            assert status in (404, 405), (p, status)
        elif "/x1" in p or p.startswith(("/network/", "/data/", "/alerts/")):
            # Objects this test did not make (sample ids), admin-only and POST-only pages of
            # the network and alerts apps: an answer, never an error page.
            assert status in (200, 302, 403, 404, 405), (p, status)
        else:
            assert status == 200, (p, status)
    assert any("Stops at" in b or "All steps passed" in b for b in bodies)
    for body in bodies:
        assert token not in body
    logged = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
    assert token not in logged
    assert token not in _snapshot()


def test_templates_carry_no_script_or_style_blocks():
    """Page behaviour lives in static/js, looks in static/css/console.css: no inline <script>
    or <style> block in any template (the CSP forbids inline script; styles are cached)."""
    root = Path(__file__).resolve().parents[2] / "templates"
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.html")
        if re.search(r"<style\b|<script(?![^>]*\bsrc=)(?![^>]*application/json)", p.read_text())
    ]
    assert offenders == []


def test_django_admin_cannot_write_connections_or_delete_audit_records(client: Client):
    """The console's connection pages are the one write path (they refuse pasted secrets and
    audit every change); the audit trail is append-only, for superusers too."""
    from django.contrib.auth.models import User

    from audit.models import AuditRecord

    root = User.objects.create_superuser("root", password="pw-Kuscia-123")
    client.force_login(root)
    conn = make_connection("local")
    record = AuditRecord.objects.create(
        username="x", connection_name="local", job_id="j", action="stop"
    )
    pasted = {"name": "evil", "url": "https://10.0.0.1:8082", "key_file": "-----BEGIN X"}
    assert client.post("/admin/connections/connection/add/", pasted).status_code == 403
    change = f"/admin/connections/connection/{conn.pk}/change/"
    assert client.post(change, {**pasted, "name": "local"}).status_code in (403, 200)
    conn.refresh_from_db()
    assert conn.key_file == "" and conn.url == "https://127.0.0.1:1"
    delete = f"/admin/audit/auditrecord/{record.pk}/delete/"
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert AuditRecord.objects.filter(pk=record.pk).exists()
    assert client.get("/admin/connections/connection/").status_code == 200  # still readable
