"""The log viewer in headless Chromium: party tabs, search with next/previous, first error, the
wrap toggle (remembered), a line permalink, the download, and no script error or CSP
violation. Screenshots go to /work/screens/logs/ when that folder exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from connections.models import Connection
from logs.models import TaskLog
from tests.fixtures.data import make_job, make_user
from tests.logs.test_pages import lines_for, store

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]
SCREENS = Path("/work/screens/logs")


def shot(page, name: str) -> None:
    if SCREENS.is_dir():
        page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def test_viewer_in_a_browser(live_server, browser_page, login_as, transactional_db, log_storage):
    master = Connection.objects.create(
        name="master", url="https://m:8082", role="master", domains=["alice", "bob", "carol"]
    )
    job = make_job(master, "job-v", tasks=[("psi", [])], parties=("alice", "bob", "carol"))
    for party in ("alice", "bob"):
        row = TaskLog.objects.create(
            job=job,
            connection_name="master",
            kuscia_job_id="job-v",
            task_id="job-v-psi",
            domain_id=party,
        )
        store(row, lines_for(party))
    user = make_user("vera-browser", "viewer")
    page = browser_page
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    login_as(page, live_server, user)

    page.goto(f"{live_server.url}/logs/master/job-v/job-v-psi/")
    assert page.locator("#L601").is_visible()
    assert "[alice]" not in page.locator(".log-lines").inner_text()  # lines_for writes |alice|
    assert "|alice|" in page.locator(".log-lines").inner_text()
    shot(page, "browser-end")

    page.get_by_role("tab", name="bob").click()
    page.wait_for_selector(".log-tab[aria-selected=true]:has-text('bob')")
    assert "|bob|" in page.locator(".log-lines").inner_text()
    assert "|alice|" not in page.locator(".log-lines").inner_text()

    page.fill("input[id^=log-q-]", "step 59")  # the log's own box (the header has one too)
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector("text=showing 1 of 11")
    assert page.locator(".ln-row.focus").get_attribute("id") == "L60"
    page.locator("a[rel=next]").click()
    page.wait_for_selector("text=showing 2 of 11")
    assert page.locator(".ln-row.focus").get_attribute("id") == "L591"
    page.locator("a[rel=prev]").click()
    page.wait_for_selector("text=showing 1 of 11")
    shot(page, "browser-search")

    page.get_by_role("link", name="First error").click()
    page.wait_for_selector("#L301.focus")
    assert page.locator("#L301").is_visible()
    assert "it broke <b>here</b>" in page.locator("#L301 .tx").inner_text()  # text, not markup

    wrap = page.locator("[data-log-wrap]")
    wrap.click()
    assert "wrapped" in (page.locator(".log-lines").get_attribute("class") or "")
    assert wrap.get_attribute("aria-pressed") == "true"

    page.locator("#L301 a.ln").click()  # the permalink of a line
    page.wait_for_url("**line=301#L301")
    assert "focus" in (page.locator("#L301").get_attribute("class") or "")
    assert "wrapped" in (page.locator(".log-lines").get_attribute("class") or "")  # remembered
    shot(page, "browser-permalink")

    href = page.get_by_role("link", name="Download .log").get_attribute("href")
    response = page.request.get(f"{live_server.url}{href}")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.body() == ("\n".join(lines_for("bob")) + "\n").encode()

    page.get_by_role("tab", name="carol").click()
    page.wait_for_selector("text=No connection serves carol")
    assert problems == []
