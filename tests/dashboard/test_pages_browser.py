"""Issue 19 in Chromium: every table of the job pages reads at 375 px (defect 3), the header
search works from the keyboard, the overview's trends draw without JavaScript, the 403 page is
in the layout. Screenshots (375 and 1440 px, English and Chinese) go to KC_SCREENS_DIR when set
(default /tmp/pages-shots) for a person to look at."""

from __future__ import annotations

import pytest

from audit.models import AuditRecord
from jobs import stats
from kuscia import types as kt
from tests.fixtures.data import add_changes, make_connection, make_job, make_user
from tests.fixtures.pages import set_language, shoot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG = (
    "Task[train]-Party[bob]: container secretflow exited with code 1: RuntimeError: PSI failed: "
    "peer alice closed the connection after 300s; check the route alice->bob. "
)


TASK_URL = "/jobs/kuscia-master/job-psi-train-0001/tasks/job-psi-train-0001-train/"


def open_ok(page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)


# What "reads well" means here, measured: no table sticks out of the window (no column off
# screen), and no row of a short record is taller than a phone screen's third.
MEASURE = """(selector) => Array.from(document.querySelectorAll(selector)).map(t => ({
  right: Math.round(Math.max(t.getBoundingClientRect().right, ...Array.from(
    t.querySelectorAll('td > *, th > *')).map(c => c.getBoundingClientRect().right))),
  rows: Array.from(t.querySelectorAll('tbody tr'))
    .map(r => Math.round(r.getBoundingClientRect().height)),
}))"""


OVERFLOW = """(width) => Array.from(document.querySelectorAll('main *')).filter(e => {
  const r = e.getBoundingClientRect();
  return r.right > width + 1 && !e.closest('.scroll-x, .dag-wrap, .chart');
}).slice(0, 5)
  .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""


def tables_fit(page, selector: str, *, tallest: int = 260) -> None:
    found = page.evaluate(MEASURE, selector)
    assert found, f"no {selector} on {page.url}"
    width = page.viewport_size["width"]
    for t in found:
        assert t["right"] <= width, f"{selector} is {t['right']}px wide in {width}px: {page.url}"
        assert max(t["rows"] or [0]) <= tallest, f"{selector} rows {t['rows']} on {page.url}"
    wide = page.evaluate(OVERFLOW, width)
    assert not wide, f"sticking out of {width}px on {page.url}: {wide}"


@pytest.fixture
def world():
    conn = make_connection("kuscia-master")
    make_connection(
        "alice-lite-with-a-long-name",
        error=("tls_untrusted", "certificate verify failed " * 4, "Use the CA that signed it."),
    )
    job = make_job(
        conn, "job-psi-train-0001", state=kt.FAILED, tasks=[("psi", []), ("train", ["psi"])]
    )
    add_changes(job, [LONG, "", "Kuscia: Task[psi] running"])
    for i in range(6):
        make_job(conn, f"job-{i:02d}-daily", state=(kt.SUCCEEDED, kt.RUNNING)[i % 2])
    for action, before, after, reason in (
        ("create", "", "Pending", ""),
        ("stop", "Running", "Failed", "maintenance window " * 3),
        ("delete", "Failed", "", ""),
    ):
        AuditRecord.objects.create(
            username="demo",
            connection_name="kuscia-master",
            job_id="job-psi-train-0001",
            action=action,
            outcome="ok",
            state_before=before,
            state_after=after,
            reason=reason,
            kuscia_code=0,
            kuscia_message="success",
            request_summary={"job_id": "job-psi-train-0001"},
        )
    stats.refresh()
    return conn


def test_every_table_reads_at_375_px(browser_page, live_server, login_as, world):
    page = browser_page
    login_as(page, live_server, make_user("ada", "admin"))
    base = live_server.url
    for lang in ("en", "zh-hans"):
        set_language(page, live_server, lang)
        for width in (375, 1440):
            page.set_viewport_size({"width": width, "height": 900})
            open_ok(page, base + "/audit/")
            tables_fit(page, "table.audit")
            shoot(page, f"audit-{lang}-{width}")
            open_ok(page, base + "/jobs/kuscia-master/job-psi-train-0001/")
            tables_fit(page, "table.history")
            shoot(page, f"job-history-{lang}-{width}")
            open_ok(page, base + TASK_URL)
            tables_fit(page, "table.history")
            open_ok(page, base + "/")
            tables_fit(page, "#overview-live table")
            shoot(page, f"overview-{lang}-{width}")
            open_ok(page, base + "/jobs/")
            tables_fit(page, "table.jobs")
            if width == 375:  # the rows are cards: each value named in the reader's language
                label = page.evaluate(
                    "getComputedStyle(document.querySelector('table.jobs td:nth-child(3)'),"
                    " '::before').content"
                )
                assert ("initiator" if lang == "en" else "发起方") in label, label
            shoot(page, f"list-{lang}-{width}")
            open_ok(page, base + "/connections/")
            tables_fit(page, "table.connections", tallest=400)
            check = page.locator('table.connections a[href$="/check/"]')
            box = check.first.bounding_box()
            assert box and box["x"] + box["width"] <= width, f"Check button off screen: {box}"
            shoot(page, f"connections-{lang}-{width}")


def test_header_search_from_the_keyboard(browser_page, live_server, login_as, world):
    from playwright.sync_api import expect

    page = browser_page
    login_as(page, live_server, make_user("vera", "viewer"))
    for lang in ("en", "zh-hans"):
        set_language(page, live_server, lang)
        for width in (375, 1440):
            page.set_viewport_size({"width": width, "height": 900})
            open_ok(page, live_server.url + "/jobs/")
            page.keyboard.press("/")  # the shortcut focuses the box
            box = page.locator("#header-q")
            expect(box).to_be_focused()
            box.type("job-0")
            popup = page.locator("#search-popup")
            expect(popup).to_be_visible()
            expect(popup.locator("a.search-hit").first).to_be_visible()
            shoot(page, f"search-popup-{lang}-{width}")
            page.keyboard.press("ArrowDown")
            first = popup.locator("a.search-hit").nth(0)
            expect(first).to_be_focused()
            page.keyboard.press("ArrowDown")
            expect(popup.locator("a.search-hit").nth(1)).to_be_focused()
            page.keyboard.press("ArrowUp")
            page.keyboard.press("ArrowUp")
            expect(box).to_be_focused()
            page.keyboard.press("Escape")
            expect(popup).to_be_hidden()
            box.press("Enter")  # the shareable results page
            expect(page).to_have_url(live_server.url + "/search/?q=job-0")
            hits = page.locator("main a.search-hit")
            expect(hits.first).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            shoot(page, f"search-page-{lang}-{width}")
            target = hits.first.get_attribute("href")
            assert target and target.startswith("/jobs/kuscia-master/job-0")
            page.locator("#search-page-q").focus()
            page.keyboard.press("ArrowDown")
            expect(hits.first).to_be_focused()
            page.keyboard.press("Enter")
            expect(page).to_have_url(live_server.url + target)


def test_the_403_page_is_in_the_layout(browser_page, live_server, login_as, world):
    page = browser_page
    login_as(page, live_server, make_user("vera", "viewer"))
    for lang in ("en", "zh-hans"):
        set_language(page, live_server, lang)
        for width in (375, 1440):
            page.set_viewport_size({"width": width, "height": 900})
            response = page.goto(live_server.url + "/jobs/new/")
            assert response is not None and response.status == 403
            assert page.locator("header.topbar").is_visible()
            assert page.locator("main h1").is_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            shoot(page, f"forbidden-{lang}-{width}")
