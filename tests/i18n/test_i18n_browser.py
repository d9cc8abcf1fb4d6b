"""In Chromium, in English and in Chinese (the browser's Accept-Language), at 375 and 1440 px:
the sign-in, connections (list, form, check), audit and preferences pages fit the window with no
clipped or overflowing label, and the header's switcher brings the reader back to the same URL
with its filters. Screenshots of every page are written to KC_SCREENS_DIR (else the test's
temporary directory) as <page>-<language>-<width>.png (whole page) and …-top.png (the first
screen)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from accounts.preferences import save_preference
from audit.models import AuditRecord
from connections.models import Connection
from tests.fixtures.data import make_connection, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LANGUAGES = {"en": "en-US", "zh": "zh-CN"}
WIDTHS = (375, 1440)
PAGES = {
    "login": "/accounts/login/",
    "connections": "/connections/",
    "connection-form": "/connections/new/",
    "connection-check": "/connections/alice/check/",
    "audit": "/audit/",
    "preferences": "/accounts/preferences/",
}

# Everything on the page must lie within the window, except inside the containers made to
# scroll sideways (wide tables); and no label may be cut off inside its own box.
LAYOUT_PROBLEMS = """() => {
  const problems = [];
  const width = window.innerWidth;
  if (document.documentElement.scrollWidth > width + 1)
    problems.push(`page is ${document.documentElement.scrollWidth}px wide in a ${width}px window`);
  const labels = 'a, button, label, th, h1, h2, legend, summary, .role, .tz, .pill, .lang-current, '
    + 'select, .state, .crumbs, .kind';
  for (const el of document.querySelectorAll(labels)) {
    // (scroll boxes: wide tables, the task graph; skip links sit off-screen until focused;
    // .sr-only is for screen readers only)
    if (el.closest('.scroll-x, .dag-wrap, .skip, .skip-graph, .sr-only')
        || el.getClientRects().length === 0) continue;
    const box = el.getBoundingClientRect();
    const text = (el.innerText ?? el.textContent ?? '').trim().slice(0, 30);  // SVG: textContent
    const name = `${el.tagName.toLowerCase()}.${el.className} "${text}"`;
    if (box.right > width + 1 || box.left < -1) problems.push(`${name} leaves the window`);
    const style = getComputedStyle(el);
    const hides = style.overflow !== 'visible' || style.textOverflow === 'ellipsis';
    if (hides && el.tagName !== 'SELECT' && el.scrollWidth > el.clientWidth + 1)
      problems.push(`${name} is clipped (${el.scrollWidth} > ${el.clientWidth})`);
    if (el.tagName === 'SELECT' && box.width < 40) problems.push(`${name} is squeezed`);
  }
  return problems;
}"""


@pytest.fixture
def world():
    admin = make_user("ada", "admin")
    save_preference(user=admin, time_zone="Asia/Shanghai")
    conn = make_connection(
        "local", error=("tls_untrusted", "x509: certificate signed by unknown authority", "")
    )
    conn.sync.watch_connected_since = timezone.now() - dt.timedelta(minutes=7)
    conn.sync.save()
    Connection.objects.create(
        name="alice", url="http://127.0.0.1:1", protocol="NOTLS", mode="p2p",
        local_domain="alice", tls_server_name="kusciaapi",
    )  # fmt: skip
    actions = [a for a, _label in AuditRecord.Action.choices]
    outcomes = [o for o, _label in AuditRecord.Outcome.choices]
    AuditRecord.objects.bulk_create(
        AuditRecord(
            created_at=timezone.now() - dt.timedelta(minutes=7 * i),
            username="ada",
            connection=conn,
            connection_name="local",
            job_id="" if i % 5 == 0 else f"job-best-effort-linear-{i}",
            action=actions[i % len(actions)],
            outcome=outcomes[i % len(outcomes)],
            reason="rerun after fixing the data" if i % 3 == 0 else "",
            state_before="Running" if i % 2 else "",
            state_after="Failed" if i % 2 else "",
            request_summary={"job_id": f"job-best-effort-linear-{i}"},
        )
        for i in range(60)
    )
    return admin


def screens_dir(tmp_path: Path) -> Path:
    target = Path(os.environ.get("KC_SCREENS_DIR") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


Visit = Callable[[Any, str], None]  # (page, page name): before or after a page is loaded


def layout_problems(
    browser: Any,
    live_server: Any,
    lang: str,
    pages: dict[str, str],
    target: Path,
    *,
    prepare: Visit,
    inspect: Visit | None = None,
) -> dict[str, list[str]]:
    """Each page at each width in `lang`: its <html lang>, its screenshots (whole page and
    first screen) and what the layout probe finds, by "<page> at <width>px"."""
    problems: dict[str, list[str]] = {}
    for width in WIDTHS:
        context = browser.new_context(
            viewport={"width": width, "height": 900}, locale=LANGUAGES[lang]
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            for name, path in pages.items():
                prepare(page, name)
                page.goto(live_server.url + path)
                expected = "zh-hans" if lang == "zh" else "en"
                assert page.locator("html").get_attribute("lang") == expected, (name, width)
                if inspect is not None:
                    inspect(page, f"{name}-{lang}-{width}")
                shot = target / f"{name}-{lang}-{width}"
                page.screenshot(path=f"{shot}.png", full_page=True)
                page.screenshot(path=f"{shot}-top.png")  # the first screen, for a quick look
                found = page.evaluate(LAYOUT_PROBLEMS)
                if found:
                    problems[f"{name} at {width}px"] = found
        finally:
            context.close()
    return problems


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_pages_fit_at_375_and_1440_in_both_languages(
    browser, live_server, login_as, world, lang, tmp_path
):
    def prepare(page: Any, name: str) -> None:
        if name == "login":
            page.context.clear_cookies()
        else:
            login_as(page, live_server, world)

    target = screens_dir(tmp_path)
    assert layout_problems(browser, live_server, lang, PAGES, target, prepare=prepare) == {}


def test_switcher_returns_to_the_same_filtered_page(browser, live_server, login_as, world):
    context = browser.new_context(viewport={"width": 375, "height": 900}, locale="en-US")
    page = context.new_page()
    try:
        login_as(page, live_server, world)
        url = f"{live_server.url}/audit/?action=stop&outcome=ok"
        page.goto(url)
        assert page.locator("h1").inner_text() == "Audit log"
        page.locator(".lang-switch button", has_text="简体中文").click()
        page.wait_for_load_state()
        assert page.url == url
        assert page.locator("html").get_attribute("lang") == "zh-hans"
        assert page.locator("h1").inner_text() == "审计日志"
        assert page.locator("select[name=action]").input_value() == "stop"
        page.locator(".lang-switch button", has_text="English").click()
        page.wait_for_load_state()
        assert page.url == url and page.locator("h1").inner_text() == "Audit log"
    finally:
        context.close()


def test_the_layout_probe_sees_clipped_and_overflowing_labels(browser):
    """The probe above can fail: a clipped button and a label wider than the window."""
    context = browser.new_context(viewport={"width": 375, "height": 600})
    page = context.new_page()
    try:
        page.set_content(
            '<button style="width:60px;overflow:hidden;white-space:nowrap">'
            "同步失败的连接很多</button>"
            '<div class="scroll-x" style="overflow-x:auto"><table style="width:900px"><tr>'
            "<th>wide tables may scroll</th></tr></table></div>"
            '<label style="display:block;width:600px">a label wider than the window</label>'
        )
        problems = page.evaluate(LAYOUT_PROBLEMS)
    finally:
        context.close()
    assert any("is clipped" in p and "同步失败" in p for p in problems), problems
    assert any("leaves the window" in p and p.startswith("label") for p in problems), problems
    assert any(p.startswith("page is") for p in problems), problems
    assert not any("wide tables" in p for p in problems), problems
