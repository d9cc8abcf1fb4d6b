"""Every monitoring page at 375 px and 1440 px: no sideways scrolling of the page itself (wide
tables and the DAG scroll inside their own boxes). With KC_SCREENS_DIR set, PNG screenshots
are written there for a person to look at."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from connections.models import Connection
from kuscia import types as kt
from tests.fixtures.data import make_connection, make_job, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_ERR = (
    "Task[train]-Party[bob]: container secretflow exited with code 1: Traceback (most recent "
    'call last): File "/usr/local/lib/python3.10/site-packages/secretflow/component/entry.py", '
    "line 246, in comp_eval ... RuntimeError: PSI failed: peer alice closed the connection "
    "after 300s; check the route alice->bob and the bandwidth limit. " * 3
)
WIDTHS = (375, 1440)


def shoot(page, name: str) -> None:
    where = os.environ.get("KC_SCREENS_DIR")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(where) / f"{name}.png"), full_page=True)
        page.screenshot(path=str(Path(where) / f"{name}-top.png"))


def no_page_overflow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size["width"]
    assert width <= viewport, f"page is {width}px wide in a {viewport}px window"


def goto_ok(page, url: str) -> None:
    """Open `url`; it must be the page itself (200 with its heading), not an error page that
    would fit any width just as well."""
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)
    assert page.locator("main h1").count() >= 1, url


def visit(page, url: str, name: str) -> None:
    for w in WIDTHS:
        page.set_viewport_size({"width": w, "height": 900})
        goto_ok(page, url)
        page.wait_for_load_state("load")
        no_page_overflow(page)
        shoot(page, f"{name}-{w}")


def test_pages_fit_narrow_and_wide_screens(browser_page, live_server, login_as):
    page = browser_page
    login_as(page, live_server, make_user("vera", "operator"))
    visit(page, live_server.url + "/", "overview-empty")
    visit(page, live_server.url + "/jobs/", "list-empty")
    conn = make_connection("kuscia-master")
    lite = make_connection(
        "alice-node",
        mode=Connection.Mode.LITE,
        error=(
            "tls_untrusted",
            "certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)",
            "The server certificate is not signed by the CA you gave; use the CA that signed it.",
        ),
    )
    states = [kt.RUNNING, kt.FAILED, kt.SUCCEEDED, kt.PENDING, kt.AWAITING_APPROVAL, kt.CANCELLED]
    for i in range(60):
        make_job(
            conn if i % 3 else lite,
            f"job-{i:03d}-psi-train-{'x' * (i % 5)}",
            state=states[i % len(states)],
            tasks=2 + i % 5,
            parties=("alice", "bob", "carol")[: 2 + i % 2],
            err_msg=LONG_ERR if i % 6 == 1 and i % 4 == 1 else "",
            changed_ago=30 + i * 50,
            created_ago=4000 + i * 60,
            transitions=i < 5,
        )
    diamond = [
        ("psi", []),
        ("stats", ["psi"]),
        ("split", ["psi"]),
        ("woe", ["split"]),
        ("train", ["split", "woe"]),
        ("predict", ["train", "stats"]),
        ("eval", ["predict"]),
    ]
    make_job(conn, "job-running-dag", state=kt.RUNNING, tasks=diamond, parties=("alice", "bob"))
    make_job(conn, "job-failed-long", state=kt.FAILED, tasks=diamond, party_err=LONG_ERR)
    make_job(
        conn,
        "job-128",
        state=kt.RUNNING,
        tasks=[(f"t{i:03d}", [f"t{i // 2:03d}"] if i else []) for i in range(128)],
    )
    visit(page, live_server.url + "/", "overview-many-syncfail")
    visit(page, live_server.url + "/jobs/?per_page=50", "list-many")
    visit(
        page,
        live_server.url + "/jobs/?state=Failed&state=Running&party=carol&sort=job",
        "list-filtered",
    )
    visit(
        page,
        live_server.url + "/jobs/kuscia-master/job-running-dag/?task=job-running-dag-train",
        "detail-running",
    )
    visit(page, live_server.url + "/jobs/kuscia-master/job-failed-long/", "detail-failed-long")
    visit(page, live_server.url + "/jobs/kuscia-master/job-128/", "detail-128")
    visit(
        page,
        live_server.url + "/jobs/kuscia-master/job-failed-long/tasks/job-failed-long-eval/",
        "task-failed",
    )


def test_dark_mode_follows_the_system(browser_page, live_server, login_as):
    page = browser_page
    login_as(page, live_server, make_user("dora", "viewer"))
    conn = make_connection("kuscia-master")
    make_job(
        conn,
        "job-dark",
        state=kt.FAILED,
        tasks=[("psi", []), ("train", ["psi"])],
        party_err=LONG_ERR,
    )
    page.emulate_media(color_scheme="dark")
    page.set_viewport_size({"width": 1440, "height": 900})
    goto_ok(page, live_server.url + "/jobs/kuscia-master/job-dark/?task=job-dark-train")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(17, 20, 24)"
    shoot(page, "detail-failed-dark-1440")
    page.emulate_media(color_scheme="light")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(246, 247, 249)"


def test_list_pages_by_cursor_and_folds_filters_on_narrow_screens(
    browser_page, live_server, login_as
):
    from playwright.sync_api import expect

    page = browser_page
    login_as(page, live_server, make_user("nina", "viewer"))
    conn = make_connection("kuscia-master")
    for i in range(30):
        make_job(
            conn,
            f"job-{i:02d}",
            state=kt.SUCCEEDED,
            tasks=1,
            created_ago=1000 + i * 60,
            transitions=False,
            endpoints=False,
        )
    page.set_viewport_size({"width": 375, "height": 800})
    goto_ok(page, live_server.url + "/jobs/?sort=-created")
    filters = page.locator("details.filterbox")
    expect(filters).not_to_have_attribute("open", "")
    assert not page.locator("form.filters").is_visible()  # the table is on the first screen
    assert page.locator("table.jobs").bounding_box()["y"] < 800
    shoot(page, "list-filters-folded-375")
    page.locator("details.filterbox > summary").click()
    expect(page.locator("form.filters")).to_be_visible()
    shoot(page, "list-filters-unfolded-375")
    page.locator("a[rel=next]").click()
    expect(page).to_have_url(re.compile(r"[?&]after=v"))
    ids = page.locator("a.jobid").all_inner_texts()
    assert ids == [f"job-{i:02d}" for i in range(25, 30)]
    shoot(page, "list-page2-375")
    page.reload()  # the link is the page: the same rows again
    assert page.locator("a.jobid").all_inner_texts() == ids
    page.locator("a[rel=prev]").click()
    expect(page.locator("a.jobid").first).to_have_text("job-00")
    # wide screens always show the filters, without a disclosure to open
    page.set_viewport_size({"width": 1440, "height": 900})
    expect(page.locator("form.filters")).to_be_visible()
    assert not page.locator("details.filterbox > summary").is_visible()
    shoot(page, "list-page1-1440")
