"""Times are stored in UTC and shown in the reader's zone (their preference, else TIME_ZONE),
with the zone named; relative times and durations are translated and carry the exact instant."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from accounts.preferences import save_preference
from audit.models import AuditRecord
from dashboard import timefmt
from tests.fixtures.data import make_connection, make_user

pytestmark = pytest.mark.django_db

UTC = dt.UTC
AT = dt.datetime(2026, 11, 29, 17, 30, 2, tzinfo=UTC)  # 2026-11-30 01:30:02 in Shanghai


@pytest.fixture
def record() -> AuditRecord:
    conn = make_connection("local")
    return AuditRecord.objects.create(
        created_at=AT, username="ann", connection=conn, connection_name="local",
        job_id="job-1", action="stop", outcome="ok",
    )  # fmt: skip


def signed_in(zone: str = "", language: str = "") -> Client:
    user = make_user("ann", "viewer")
    if zone or language:
        save_preference(user=user, time_zone=zone, language=language)
    client = Client()
    client.force_login(user)
    return client


def test_audit_time_in_the_users_zone_with_the_zone_named(record, settings):
    settings.TIME_ZONE = "UTC"
    html = signed_in("Asia/Shanghai").get(reverse("audit:list")).content.decode()
    cell = re.search(r"<time datetime=\"([^\"]+)\" title=\"([^\"]+)\">([^<]+)</time>", html)
    assert cell is not None
    assert cell.groups() == (
        "2026-11-30T01:30:02+08:00",  # the same instant for every reader
        "2026-11-30 01:30:02 Asia/Shanghai (UTC+8)",
        "2026-11-30 01:30:02",
    )
    assert "(UTC+8)</span></th>" in html  # the column names the zone
    assert (
        'class="tz" href="/accounts/preferences/" '
        'title="Your time zone: Asia/Shanghai (UTC+8)">UTC+8<' in html
    )


def test_without_a_preference_times_follow_time_zone(record, settings):
    settings.TIME_ZONE = "America/New_York"
    html = signed_in().get(reverse("audit:list")).content.decode()
    assert ">2026-11-29 12:30:02</time>" in html
    assert "America/New_York (UTC-5)" in html


@pytest.mark.parametrize(
    ("zone", "day", "listed"),
    [
        ("Asia/Shanghai", "2026-11-30", True),  # 01:30 on the 30th there
        ("Asia/Shanghai", "2026-11-29", False),
        ("UTC", "2026-11-29", True),  # 17:30 on the 29th
        ("UTC", "2026-11-30", False),
    ],
)
def test_date_filters_use_the_readers_zone(record, zone, day, listed):
    url = reverse("audit:list") + f"?since={day}&until={day}"
    html = signed_in(zone).get(url).content.decode()
    assert ('data-action="stop"' in html) is listed
    assert f"Dates are days in {timefmt_title(zone)}." in html


def timefmt_title(zone: str) -> str:
    return "UTC" if zone == "UTC" else f"{zone} (UTC+8)"


def test_relative_times_are_translated_and_carry_the_instant(settings):
    settings.TIME_ZONE = "UTC"
    now = timezone.now()
    then = now - dt.timedelta(minutes=3, seconds=5)
    with translation.override("zh-hans"), timezone.override(zoneinfo.ZoneInfo("Asia/Shanghai")):
        assert timefmt.relative(then, now) == "3分05秒前"
        assert timefmt.relative(now + dt.timedelta(hours=2, minutes=1), now) == "2小时01分后"
        assert timefmt.relative(now, now) == "刚刚"
        assert timefmt.human_duration(3 * 86400 + 4 * 3600) == "3天4小时"
        html = timefmt.ago_html(then, now)
        local = then.astimezone(zoneinfo.ZoneInfo("Asia/Shanghai"))
        assert f'datetime="{local.isoformat()}"' in html
        assert f'title="{local:%Y-%m-%d %H:%M:%S} Asia/Shanghai (UTC+8)"' in html
        assert html.endswith(">3分05秒前</time>")
        assert timefmt.ago_html(None) == "从未"
    with translation.override("en"):
        assert timefmt.relative(then, now) == "3m 05s ago"
        assert timefmt.human_duration(45) == "45s"
        assert timefmt.human_duration(7500) == "2h 05m"


@pytest.mark.parametrize(
    ("zone", "when", "label"),
    [
        ("UTC", AT, "UTC"),
        ("Asia/Kolkata", AT, "UTC+5:30"),
        ("America/St_Johns", dt.datetime(2026, 7, 1, tzinfo=UTC), "UTC-2:30"),  # summer time
        ("America/St_Johns", dt.datetime(2026, 1, 1, tzinfo=UTC), "UTC-3:30"),
        ("Europe/Berlin", dt.datetime(2026, 7, 1, tzinfo=UTC), "UTC+2"),
    ],
)
def test_offset_labels(zone, when, label):
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        assert timefmt.offset_label(when) == label


def test_connections_page_relative_times_in_the_readers_language():
    conn = make_connection("local", synced_ago=185)
    conn.sync.watch_connected_since = timezone.now() - dt.timedelta(minutes=5)
    conn.sync.save()
    html = signed_in("Asia/Shanghai", "zh-hans").get(reverse("connections:list")).content.decode()
    assert re.search(
        r"上次成功：<time datetime=\"[^\"]+\+08:00\" "
        r"title=\"[^\"]+ Asia/Shanghai \(UTC\+8\)\">3分0[56]秒前</time>",
        html,
    )
    assert re.search(r"监听已持续 <time datetime=[^>]+>5分0[01]秒</time>", html)


def test_a_zone_that_disappeared_falls_back_to_time_zone(record, settings):
    settings.TIME_ZONE = "UTC"
    client = signed_in("Asia/Shanghai")
    from accounts.models import Preference

    Preference.objects.update(time_zone="Nowhere/Gone")
    html = client.get(reverse("audit:list")).content.decode()
    assert ">2026-11-29 17:30:02</time>" in html
