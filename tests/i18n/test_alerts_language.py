"""The alerts pages in the reader's language, and alert texts in the deployment's: messages,
e-mails and the reasons and notes stored on incidents are written in LANGUAGE_CODE whatever
language the request or worker that makes them has active."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import translation

from alerts import messages, rules
from alerts.models import Channel, Delivery, Incident, Rule
from alerts.secrets import seal
from tests.fixtures.data import make_connection, make_user
from tests.i18n.conftest import english_words

pytestmark = pytest.mark.django_db

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9,en;q=0.5"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}
# The test's data and the words that stay as they are: names, Kuscia's state names, kinds of
# channel that are product names, protocols.
DATA = {
    "ada", "ops", "failed-jobs", "job-77", "local", "Failed", "Webhook", "URL", "DingTalk",
    "Feishu", "Lark", "WeCom", "Slack", "Incoming", "HMAC-SHA256", "SEC", "DJANGO_SECRET_KEY",
    "KC_ALERTS_FILE", "Pending", "Running", "Ready", "HTTP", "example.org", "hooks.example",
}  # fmt: skip

PAGES = [
    ("alerts", "/alerts/"),
    ("channels", "/alerts/channels/"),
    ("new channel", "/alerts/channels/new/"),
    ("edit channel", "/alerts/channels/ops/edit/"),
    ("rules", "/alerts/rules/"),
    ("new rule", "/alerts/rules/new/"),
    ("edit rule", "/alerts/rules/failed-jobs/edit/"),
    ("my notifications", "/alerts/mine/"),
]


@pytest.fixture
def admin(client: Client) -> Client:
    make_connection("local")
    ch = Channel.objects.create(
        name="ops", kind="webhook", target_encrypted=seal("https://hooks.example/x")
    )
    rule = Rule.objects.create(name="failed-jobs", kind="job_failed")
    rule.channels.add(ch)
    inc = Incident.objects.create(
        rule=rule, rule_name="failed-jobs", kind="job_failed", subject_key="job:1",
        subject="job-77", job_state="Failed", link="/jobs/local/job-77/",
    )  # fmt: skip
    Delivery.objects.create(
        incident=inc, event="firing", target=f"channel:{ch.pk}", target_name="ops",
        kind="webhook", status="failed", attempts=2, error="HTTP 500",
    )  # fmt: skip
    user = make_user("ada", "admin")
    user.email = "ada@example.org"
    user.save()
    client.force_login(user)
    return client


@pytest.mark.parametrize(("name", "url"), PAGES, ids=[p[0] for p in PAGES])
def test_alerts_page_is_fully_chinese_for_zh_cn(admin: Client, name, url):
    response = admin.get(url, **ZH)
    assert response.status_code == 200, name
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert english_words(html, allowed=DATA) == []


@pytest.mark.parametrize(("name", "url"), PAGES, ids=[p[0] for p in PAGES])
def test_same_alerts_url_is_english_for_en(admin: Client, name, url):
    html = admin.get(url, **EN).content.decode()
    assert '<html lang="en">' in html
    assert set(re.findall(r"[\u4e00-\u9fff]+", html)) == {"简体中文"}, name


def test_messages_are_in_the_deployments_language_not_the_active_one(admin: Client, settings):
    delivery = Delivery.objects.get()
    settings.LANGUAGE_CODE = "zh-hans"
    with translation.override("en"):
        zh = messages.for_delivery(delivery)
    assert zh.title == "作业 job-77 失败" and "状态: Failed" in zh.text()
    settings.LANGUAGE_CODE = "en"
    with translation.override("zh-hans"):
        en = messages.for_delivery(delivery)
    assert en.title == "Job job-77 failed" and "State: Failed" in en.text()


def test_notes_stored_on_incidents_are_in_the_deployments_language(admin: Client, settings):
    """A sync recovery seen in a request whose reader reads Chinese still stores English."""
    conn = make_connection("other")
    rule = Rule.objects.create(name="sync", kind="sync_failing", minutes=1)
    Incident.objects.create(
        rule=rule, rule_name="sync", kind="sync_failing", subject_key=f"connection:{conn.pk}",
        subject="other",
    )  # fmt: skip
    settings.LANGUAGE_CODE = "en"
    with translation.override("zh-hans"):
        rules.on_sync_health(connection=conn, ok=True)
    assert Incident.objects.get(rule=rule).resolved_note == "syncing again"
