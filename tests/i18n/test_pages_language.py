"""Pages in the reader's language: Accept-Language zh-CN gives Chinese, en gives English, on the
same URL (a shared link opens in the reader's language). Covers the sign-in, connections
(list, form), audit and preferences pages, whose every message is translated."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditRecord
from connections.models import Connection
from tests.fixtures.data import make_connection, make_user
from tests.i18n.conftest import english_words

pytestmark = pytest.mark.django_db

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9,en;q=0.5"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}
# The test's data, Kuscia's state names, and the error kind's code and the TLS library's words
# (the sync banner on every page shows them as they are).
DATA = {"ada", "local", "job-1", "job-2", "Running", "Succeeded", "alice", "tls_untrusted",
        "x509", "unknown", "authority"}  # fmt: skip


@pytest.fixture
def admin_client(client: Client) -> Client:
    client.force_login(make_user("ada", "admin"))
    return client


@pytest.fixture
def world() -> Connection:
    conn = make_connection("local", error=("tls_untrusted", "x509: unknown authority", ""))
    Connection.objects.create(name="alice", url="http://127.0.0.1:2", protocol="NOTLS",
                              enabled=False, local_domain="alice")  # fmt: skip
    now = timezone.now()
    rows = [
        AuditRecord(
            created_at=now - dt.timedelta(minutes=i),
            username="ada",
            connection=conn,
            connection_name="local",
            job_id=f"job-{i % 2 + 1}" if i % 3 else "",
            action=[a for a, _ in AuditRecord.Action.choices][i % len(AuditRecord.Action.choices)],
            outcome=[o for o, _ in AuditRecord.Outcome.choices][i % 4],
            state_before="Running" if i % 2 else "",
            state_after="Succeeded" if i % 2 else "",
            request_summary={"job_id": "job-1"} if i % 2 else {},
        )
        for i in range(60)
    ]
    AuditRecord.objects.bulk_create(rows)
    return conn


PAGES = [
    ("connections", lambda: reverse("connections:list")),
    ("connection form", lambda: reverse("connections:add")),
    ("audit", lambda: reverse("audit:list") + "?outcome=&page=1"),
    ("audit page 2", lambda: reverse("audit:list") + "?page=2"),
    ("audit, nothing found", lambda: reverse("audit:list") + "?job=nothing-like-this"),
    ("preferences", lambda: reverse("preferences")),
    ("password change", lambda: reverse("password_change")),
]


@pytest.mark.parametrize(("name", "url"), PAGES, ids=[p[0] for p in PAGES])
def test_page_is_fully_chinese_for_zh_cn(admin_client: Client, world, name, url):
    response = admin_client.get(url(), **ZH)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert response["Content-Language"] == "zh-hans"
    assert "Accept-Language" in response["Vary"]
    assert re.search(r"[\u4e00-\u9fff]", html)
    assert english_words(html, allowed=DATA) == []
    assert "同步失败" in html  # the sync banner too


@pytest.mark.parametrize(("name", "url"), PAGES, ids=[p[0] for p in PAGES])
def test_same_url_is_english_for_en(admin_client: Client, world, name, url):
    response = admin_client.get(url(), **EN)
    html = response.content.decode()
    assert response.status_code == 200 and '<html lang="en">' in html
    assert response["Content-Language"] == "en"
    # No Chinese but the language's own name (the switcher, the preferences' choice).
    assert set(re.findall(r"[\u4e00-\u9fff]+", html)) == {"简体中文"}


def test_login_page_in_both_languages(client: Client):
    zh = client.get(reverse("login"), **ZH).content.decode()
    assert "登录 Kuscia 控制台" in zh and "用户名" in zh and "密码" in zh
    assert english_words(zh) == []
    en = client.get(reverse("login"), **EN).content.decode()
    assert "Sign in to Kuscia Console" in en and "Username" in en
    # No Accept-Language at all: LANGUAGE_CODE.
    assert '<html lang="en">' in client.get(reverse("login")).content.decode()


def test_login_errors_are_translated(client: Client):
    make_user("ann", "viewer")
    html = client.post(reverse("login"), {"username": "ann", "password": "wrong"}, **ZH)
    text = html.content.decode()
    assert "请输入一个正确的" in text  # Django's own message, from its zh_Hans catalogue


def test_throttled_sign_in_is_translated(client: Client, settings):
    settings.LOGIN_FAILURE_LIMIT = 1
    make_user("ann", "viewer")
    client.post(reverse("login"), {"username": "ann", "password": "wrong"}, **ZH)
    response = client.post(reverse("login"), {"username": "ann", "password": "wrong"}, **ZH)
    assert response.status_code == 429
    assert "登录失败次数过多。请在 15 分钟后重试" in response.content.decode()


def test_connection_form_errors_are_translated(admin_client: Client, world):
    data = {"name": "bob", "url": "ftp://x", "protocol": "MTLS", "mode": "p2p", "ca_file": "rel"}
    html = admin_client.post(reverse("connections:add"), data, **ZH).content.decode()
    assert "请填写协议、主机和端口" in html  # url
    assert "请填写文件的绝对路径，而不是文件内容" in html  # a value that is no path
    assert "MTLS 需要 CA 证书" in html
    assert not Connection.objects.filter(name="bob").exists()


def test_connection_messages_are_translated(admin_client: Client, world):
    response = admin_client.post(reverse("connections:toggle", args=["local"]), follow=True, **ZH)
    assert "已停用连接 local。" in response.content.decode()


def test_check_page_names_steps_in_chinese(admin_client: Client, world):
    html = admin_client.get(reverse("connections:check", args=["alice"]), **ZH).content.decode()
    assert "连接检查：alice" in html and "地址和端口" in html
    assert "停在“地址和端口”" in html and "已跳过" in html


def test_forbidden_answer_is_translated(client: Client, world):
    client.force_login(make_user("vera", "viewer"))
    response = client.post(reverse("connections:toggle", args=["local"]), **ZH)
    assert response.status_code == 403
    assert response.content.decode() == "只有管理员可以执行此操作。"


def test_audit_choices_and_counts_are_translated(admin_client: Client, world):
    html = admin_client.get(reverse("audit:list"), **ZH).content.decode()
    assert "60 条记录" in html and "第 1 页，共 2 页" in html
    assert ">重跑</td>" in html and ">审批拒绝</td>" in html and ">停用连接</td>" in html
    assert "Running → Succeeded" in html  # Kuscia's state names stay as Kuscia gives them
