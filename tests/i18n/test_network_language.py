"""The network and data pages in the reader's language: every word the console writes is
Chinese for Accept-Language zh-CN and English for en on the same URL; Kuscia's own words
(Ready, Succeeded, Failed, DomainData's fields, route reasons) stay as Kuscia gives them."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from network import sync
from network.models import NetworkSync
from tests.fixtures.data import make_connection, make_user
from tests.i18n.conftest import english_words
from tests.network.factories import data_item, populate

pytestmark = pytest.mark.django_db

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9,en;q=0.5"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}
# The test's data and Kuscia's words: ids, state names, route reasons, DomainData fields.
DATA = {
    "ada", "local", "alice", "bob", "carol", "Ready", "Succeeded", "Failed", "NotReady",
    "DestinationUnreachable", "table", "model", "Available", "UNKNOWN", "manual",
    "default-data-source", "alice-t", "alice-t.csv", "str", "float", "int", "bool", "date",
    "DomainData", "csv",
    "sf_input_ids", "sf_output_ids", "v1.1.0b0", "Kubernetes", "Lite", "KUSCIA_NETWORK_DOMAINS",
    "KUSCIA_NETWORK_INVENTORY_SECONDS", "cdr-check", "failed", "Celery", "beat", "c0", "c1",
    "c2", "age", "kuscia-lite-alice", "MTLS", "NOTLS", "TLS", "Token", "fed", "global",
    "Agent",  # Kuscia's word for a node's agent, kept in Chinese too (docs/glossary.md)
    "LastUpdateAt", "Message", "Reason",  # a route's reason, as Kuscia gives it
    "rule", "report", "BINARY", "alice.csv",  # DomainData types and formats; an example path
}  # fmt: skip

PAGES = [
    ("network", lambda: reverse("network:network")),
    ("node", lambda: reverse("network:node", args=["local", "alice"])),
    ("route down", lambda: reverse("network:route", args=["local", "bob", "alice"])),
    ("data", lambda: reverse("network:data")),
    ("data, nothing found", lambda: reverse("network:data") + "?q=nothing-like-this"),
    ("data item", lambda: reverse("network:data_item", args=["local", "alice", "alice-t"])),
    ("register data", lambda: reverse("network:data_new")),
    ("edit data", lambda: reverse("network:data_edit", args=["local", "alice", "alice-t"])),
    ("delete data", lambda: reverse("network:data_delete", args=["local", "alice", "alice-t"])),
]


@pytest.fixture
def admin(client: Client) -> Client:
    conn = make_connection("local")
    NetworkSync.objects.create(connection=conn, last_success=timezone.now())
    populate(conn, ("alice", "bob", "carol"), down=[("bob", "alice")])
    now = timezone.now()
    sync.apply_domaindata(conn, "alice", [data_item("alice", "alice-t")], observed_at=now)
    sync.refresh_facets(conn)
    client.force_login(make_user("ada", "admin"))
    return client


@pytest.mark.parametrize(("name", "url"), PAGES, ids=[p[0] for p in PAGES])
def test_network_page_is_fully_chinese_for_zh_cn(admin: Client, name, url):
    response = admin.get(url(), **ZH)
    assert response.status_code == 200, name
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    # (an agent's times are shown as Kuscia writes them: 2026-12-06T07:15:02Z)
    assert [w for w in english_words(html, allowed=DATA) if not re.fullmatch(r"T\d\d", w)] == []


@pytest.mark.parametrize(("name", "url"), PAGES, ids=[p[0] for p in PAGES])
def test_same_network_url_is_english_for_en(admin: Client, name, url):
    html = admin.get(url(), **EN).content.decode()
    assert '<html lang="en">' in html
    assert set(re.findall(r"[\u4e00-\u9fff]+", html)) == {"简体中文"}, name


def test_route_state_stays_kuscias_beside_chinese_words(admin: Client):
    html = admin.get(reverse("network:network"), **ZH).content.decode()
    assert "Failed" in html and "路由" in html and "节点" in html
