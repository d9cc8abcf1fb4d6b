"""/network/ and /data/ in Chromium at 375 px and 1440 px: nothing overflows sideways, the
route matrix gives way to the route list (reason in text) on a phone, a matrix cell tells its
reason on keyboard focus, and the data list's filters make a shareable URL. Screenshots go to
$KC_SCREENS_DIR (default /work/screens/network) for a person to look at."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from django.utils import timezone

from kuscia import types as kt
from network import sync
from network.models import NetworkSync
from tests.fixtures.data import make_connection, make_user
from tests.network.factories import data_item, domain, populate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENS = Path(os.environ.get("KC_SCREENS_DIR", "/work/screens/network"))
WIDTHS = (375, 1440)


@pytest.fixture
def world():
    conn = make_connection("local")
    now = timezone.now()
    NetworkSync.objects.create(
        connection=conn, last_success=now, last_inventory=now - dt.timedelta(minutes=2)
    )
    populate(
        conn,
        ("alice", "bob", "carol", "kuscia-system"),
        down=[("bob", "alice"), ("carol", "bob")],
        hours=20,
    )
    sync.apply_domains(
        conn,
        [
            domain("carol", "NotReady", cert_days=12),
            domain("dave", role="partner"),
            domain("kuscia-system", cert_days=-3),
        ],
        observed_at=now,
    )
    tokens = (kt.DeployTokenStatus("used", now), kt.DeployTokenStatus("unused", now))
    sync.apply_domain_detail(
        conn, kt.Domain(domain_id="alice", deploy_token_statuses=tokens), observed_at=now
    )
    items = [data_item("alice", "alice-table", columns=25)] + [
        data_item("alice", f"psi-output-{i}", columns=4) for i in range(30)
    ]
    sync.apply_domaindata(conn, "alice", items, observed_at=now)
    sync.apply_domaindata(conn, "bob", [data_item("bob", "bob-table", columns=21)], observed_at=now)
    sync.refresh_facets(conn)
    return conn


@pytest.fixture
def signed_in(browser, live_server, login_as):
    pages = {}
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.set_default_timeout(10_000)
        login_as(page, live_server, make_user(f"vera{width}", "viewer"))
        pages[width] = page
    yield pages
    for page in pages.values():
        page.context.close()


def overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_network_page_at_375_and_1440(world, signed_in, live_server):
    SCREENS.mkdir(parents=True, exist_ok=True)
    for width, page in signed_in.items():
        page.goto(f"{live_server.url}/network/")
        assert page.locator(".node-card").count() == 5
        assert overflow(page) <= 0, f"sideways scroll at {width}px"
        page.screenshot(path=str(SCREENS / f"network-{width}.png"), full_page=True)
        matrix = page.locator("table.route-matrix")
        first_row = page.locator("table.route-list tbody tr").first
        # the route list says the reason in text, the failed routes first
        assert "DestinationUnreachable" in first_row.inner_text()
        if width == 375:
            assert not matrix.is_visible()
        else:
            assert matrix.is_visible()
            cell = page.locator("table.route-matrix td.st-failed a").first
            cell.focus()
            tip = page.locator("table.route-matrix td.st-failed .tip").first
            assert tip.is_visible() and "DestinationUnreachable" in tip.inner_text()
            page.screenshot(path=str(SCREENS / f"network-{width}-focus.png"))


def test_route_and_node_pages_at_375(world, signed_in, live_server):
    page = signed_in[375]
    page.goto(f"{live_server.url}/network/routes/local/bob/alice/")
    assert "Failed" in page.locator("h1").inner_text()
    assert overflow(page) <= 0
    page.screenshot(path=str(SCREENS / "route-375.png"), full_page=True)
    page.goto(f"{live_server.url}/network/nodes/local/carol/")
    assert "Not ready" in page.locator("h1").inner_text()
    assert overflow(page) <= 0
    page.screenshot(path=str(SCREENS / "node-375.png"), full_page=True)


def test_data_pages_at_375_and_1440(world, signed_in, live_server):
    for width, page in signed_in.items():
        page.goto(f"{live_server.url}/data/")
        assert overflow(page) <= 0, f"sideways scroll at {width}px"
        page.screenshot(path=str(SCREENS / f"data-{width}.png"), full_page=True)
        page.select_option("select[name=domain]", "alice")
        page.fill("form.filters input[name=q]", "psi")  # (the header has a search box too)
        page.click("form.filters button[type=submit]")
        page.wait_for_url("**/data/?*")
        assert "domain=alice" in page.url and "q=psi" in page.url
        assert page.locator("table.data-list tbody tr").count() == 30
        page.click("text=psi-output-0")
        page.wait_for_url("**/data/local/alice/psi-output-0/")
        assert overflow(page) <= 0
        page.screenshot(path=str(SCREENS / f"data-item-{width}.png"), full_page=True)
