"""The alerts pages in Chromium: an admin adds a channel and a rule through the forms, the
stored URL and secret never reach the page, and the log shows deliveries and incidents.
Screenshots go to $KC_SCREENS_DIR/alerts (default /work/screens/alerts) when it exists."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from alerts.models import Channel, Delivery, DeliveryAttempt, Incident, Rule
from tests.fixtures.data import make_connection, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = Path(os.environ.get("KC_SCREENS_DIR", "/work/screens")) / "alerts"
SECRET = "browser-secret-Zq81"
PATH = "/robot/send?access_token=tok-browser-77"


def shot(page: Any, name: str) -> None:
    if SCREENS.is_dir():
        page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def test_admin_sets_up_a_channel_and_a_rule(
    browser_page: Any, live_server: Any, login_as: Any
) -> None:
    make_connection("local")
    page = browser_page
    login_as(page, live_server, make_user("root", role="admin"))
    page.goto(f"{live_server.url}/alerts/channels/new/")
    page.fill("#id_name", "team-ding")
    page.select_option("#id_kind", "dingtalk")
    page.fill("#id_url", f"https://oapi.dingtalk.com{PATH}")
    page.fill("#id_secret", SECRET)
    shot(page, "channel-form")
    page.click("main button[type=submit]")
    page.wait_for_url("**/alerts/channels/")
    body = page.content()
    assert "team-ding" in body and "https://oapi.dingtalk.com/…" in body
    assert SECRET not in body and "tok-browser-77" not in body
    shot(page, "channels")
    page.goto(f"{live_server.url}/alerts/channels/team-ding/edit/")
    assert page.input_value("#id_url") == "" and page.input_value("#id_secret") == ""
    assert SECRET not in page.content()

    page.goto(f"{live_server.url}/alerts/rules/new/")
    page.fill("#id_name", "slow-approval")
    page.select_option("#id_kind", "approval_longer")
    page.fill("#id_minutes", "0")
    page.check("text=team-ding")
    page.click("main button[type=submit]")
    assert "needs minutes of at least 1" in page.content()  # next to the field, no 5xx
    shot(page, "rule-form-error")
    page.fill("#id_minutes", "30")
    page.select_option("#id_connection", "local")
    page.click("main button[type=submit]")
    page.wait_for_url("**/alerts/rules/")
    rule = Rule.objects.get()
    assert rule.minutes == 30 and [c.name for c in rule.channels.all()] == ["team-ding"]
    shot(page, "rules")


def test_the_log_shows_incidents_and_attempts(
    browser_page: Any, live_server: Any, login_as: Any
) -> None:
    page = browser_page
    login_as(page, live_server, make_user("vic", role="viewer"))
    ch = Channel.objects.create(name="ops-hook", kind="webhook", target_encrypted="x")
    inc = Incident.objects.create(
        rule_name="job-failed",
        kind="job_failed",
        subject_key="job:1",
        subject="job-psi-fails-at-bob",
        job_state="Failed",
        party="bob",
        reason="container exited with code 1: key column 'id2' not found",
        link="/jobs/local/job-psi-fails-at-bob/",
    )
    d = Delivery.objects.create(
        incident=inc,
        event="firing",
        channel=ch,
        target=f"channel:{ch.pk}",
        target_name="ops-hook",
        kind="webhook",
        status="sent",
        attempts=2,
        http_status=200,
        result="HTTP 200",
    )
    tries = [(1, 500, "HTTP 500: boom", False), (2, 200, "HTTP 200", True)]
    for number, status, result, ok in tries:
        DeliveryAttempt.objects.create(
            delivery=d, number=number, http_status=status, result=result, ok=ok
        )
    page.goto(f"{live_server.url}/alerts/")
    text = page.inner_text("main")
    assert "job-psi-fails-at-bob" in text and "bob" in text and "HTTP 200" in text
    page.click("text=every attempt")
    assert "HTTP 500: boom" in page.inner_text("main")
    assert page.locator("nav.nav a[aria-current=page]").inner_text() == "Alerts"
    shot(page, "log")
    page.goto(f"{live_server.url}/alerts/?status=failed")
    assert "No delivery matches these filters." in page.inner_text("main")
