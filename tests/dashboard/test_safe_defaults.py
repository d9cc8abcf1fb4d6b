"""`make run` is safe by default: DEBUG is off unless KC_DEBUG=1 asks for it, so an error page
never lists the URL patterns or the settings; static files are still served (WhiteNoise); the
404 and 500 pages render inside the layout, the 500 page without touching the database.
The whole `make run` is checked in tests/dashboard/test_devserver_safe.py."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.fixtures.data import make_user

ROOT = Path(__file__).resolve().parents[2]


def settings_debug(**env: str) -> bool:
    """DEBUG as `make run` would get it: the settings module in a fresh process, the
    development defaults plus `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "KC_DEBUG"))}
    code = "import django, json; django.setup(); from django.conf import settings as s;"
    code += "print(json.dumps(s.DEBUG))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "dashboard.settings", **env},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    return bool(json.loads(out.stdout))


def test_debug_is_off_unless_asked_for() -> None:
    assert settings_debug() is False
    assert settings_debug(KC_DEBUG="0") is False
    assert settings_debug(KC_DEBUG="1") is True


@pytest.mark.django_db
def test_an_unknown_page_is_a_plain_404_inside_the_layout(client: Client, settings) -> None:
    settings.DEBUG = False
    client.force_login(make_user("vera", "viewer"))
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body
    assert 'class="topbar"' in body and 'href="/jobs/"' in body  # the layout, its navigation
    assert "URLconf" not in body and "urlpatterns" not in body


@pytest.mark.django_db
@pytest.mark.urls("tests.dashboard.urls_boom")
def test_a_failing_view_gives_the_500_page_without_database_access(
    settings, django_assert_num_queries, caplog, monkeypatch
) -> None:
    from django.views import defaults

    import tests.dashboard.urls_boom as boom_urls

    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    client.force_login(make_user("vera", "viewer"))
    caplog.set_level(logging.ERROR, "django.request")

    def server_error(request, *args, **kwargs):  # Django's handler, its queries counted
        with django_assert_num_queries(0):
            return defaults.server_error(request, *args, **kwargs)

    monkeypatch.setattr(boom_urls, "handler500", server_error, raising=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong" in body and 'class="topbar"' in body
    assert "secret-setting-value" not in body and "Traceback" not in body
    assert "RuntimeError" not in body
    logged = [r for r in caplog.records if r.name == "django.request"]
    assert logged and logged[0].levelno == logging.ERROR  # the error itself went to the log


@pytest.mark.django_db
def test_static_files_are_served_with_debug_off(client: Client, settings) -> None:
    settings.DEBUG = False
    response = client.get("/static/css/console.css")
    assert response.status_code == 200
    assert b"".join(response.streaming_content if response.streaming else [response.content])
