"""In Chromium: the shared-link login round trip through the real form, markup in Kuscia-sourced
connection errors renders as text with no script run, CSP blocks inline script, and the
connection check page works (with htmx's "Run again"). With KC_SCREENS_DIR set, screenshots of
the login, connections and check pages are written there (narrow and wide)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.utils import timezone

from connections.models import Connection, SyncState
from tests.fixtures.data import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EVIL = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script><b>bold</b>'
PASSWORD = "pw-Kuscia-123"


def shoot(page, name: str) -> None:
    target = os.environ.get("KC_SCREENS_DIR")
    if not target:
        return
    Path(target).mkdir(parents=True, exist_ok=True)
    for label, width in (("wide", 1280), ("narrow", 390)):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(Path(target) / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_shared_link_login_round_trip(browser_page, live_server):
    make_user("olga", "operator", PASSWORD)
    page = browser_page
    page.goto(f"{live_server.url}/connections/?from=link")
    assert "/accounts/login/" in page.url and "next=" in page.url
    shoot(page, "login")
    page.fill("input[name=username]", "olga")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    assert page.locator(".alert-error").is_visible()
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/connections/?from=link")
    assert page.locator("h1").inner_text() == "Kuscia connections"


def test_kuscia_error_markup_is_text_and_inline_script_is_blocked(
    browser_page, live_server, login_as
):
    conn = Connection.objects.create(name="alice", url="https://127.0.0.1:1")
    SyncState.objects.create(
        connection=conn,
        last_attempt=timezone.now(),
        consecutive_failures=2,
        last_error_kind="api_error",
        last_error_message=EVIL,
        last_error_hint=EVIL,
    )
    login_as(browser_page, live_server, make_user("vera", "viewer"))
    page = browser_page
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text))
    page.goto(f"{live_server.url}/connections/")
    page.locator("details.errmsg summary").first.click()
    assert EVIL in page.locator("details.errmsg pre").first.inner_text()
    assert page.locator("details.errmsg b").count() == 0
    assert page.evaluate("window.__xss") is None
    # CSP: a script injected into the page by any means does not run.
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__csp = 1'; document.body.appendChild(s); }"
    )
    assert page.evaluate("window.__csp") is None
    assert any("Content Security Policy" in v for v in violations), violations


def test_connection_check_page_in_the_browser(browser_page, live_server, login_as, kuscia_sim):
    Connection.objects.create(
        name="sim", url=kuscia_sim.url, protocol="MTLS", cert_dir=str(kuscia_sim.cert_dir)
    )
    bad_token = kuscia_sim.cert_dir.parent / "wrong-token"
    bad_token.write_text("w" * 32)
    Connection.objects.create(
        name="sim-bad-token",
        url=kuscia_sim.url,
        protocol="MTLS",
        cert_dir=str(kuscia_sim.cert_dir),
        token_file=str(bad_token),
    )
    admin = make_user("ada", "admin")
    login_as(browser_page, live_server, admin)
    page = browser_page
    page.goto(f"{live_server.url}/connections/")
    shoot(page, "connections")
    page.goto(f"{live_server.url}/connections/new/")
    shoot(page, "connection-form")
    page.goto(f"{live_server.url}/connections/sim/check/")
    assert "All steps passed" in page.locator("#check-results h2").inner_text()
    page.evaluate("document.querySelector('#check-results').dataset.old = 'yes'")
    with page.expect_response(lambda r: r.url.endswith("/check/") and r.status == 200):
        page.click("text=Run again")
    page.locator("#check-results:not([data-old])").wait_for()  # swapped for the new results
    assert page.locator(".check-step").count() == 12  # kuscia.check.STEP_NAMES
    shoot(page, "check-ok")
    page.goto(f"{live_server.url}/connections/sim-bad-token/check/")
    assert "Token accepted" in page.locator("#check-results h2").inner_text()
    hint = page.locator(".check-fail .hint").inner_text()  # the client's 401 advice
    assert "(401)" in hint and "var/certs/token" in hint, hint
    shoot(page, "check-fail")
