"""In Chromium: "Run again" on the connection check page past the rate limit shows the 429
fragment's message in place of the results (htmx does not swap error answers by itself)."""

from __future__ import annotations

import pytest

from connections.models import Connection
from tests.fixtures.data import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_run_again_past_the_limit_says_so(
    browser_page, live_server, login_as, kuscia_sim, settings
):
    settings.KC_CHECK_LIMIT = 1
    Connection.objects.create(name="sim", url=kuscia_sim.url, cert_dir=str(kuscia_sim.cert_dir))
    login_as(browser_page, live_server, make_user("vera", "viewer"))
    page = browser_page
    page.goto(f"{live_server.url}/connections/sim/check/")
    assert "All steps passed" in page.locator("#check-results h2").inner_text()
    with page.expect_response(lambda r: "/check/" in r.url and r.status == 429):
        page.click("text=Run again")
    page.wait_for_function(
        "() => document.querySelector('#check-results h2').textContent.includes('Too many')"
    )
    assert "Try again in" in page.locator("#check-results").inner_text()
    assert page.locator(".check-step").count() == 0
