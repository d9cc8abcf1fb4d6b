"""The jobs pages in the reader's language: the overview, the job list (full, empty, filtered
with a bad value), a failed job's page, a task page and the "not known" page render every word
the console writes in Chinese for Accept-Language zh-CN (the sync banner and its translated
hint included), and in English for en; Kuscia's own words (state names, its messages) stay as
Kuscia gives them."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from connections.models import Connection
from jobs.models import Job
from kuscia import types as kt
from tests.fixtures.data import make_connection, make_job, make_user
from tests.i18n.conftest import english_words

pytestmark = pytest.mark.django_db

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9,en;q=0.5"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}
KUSCIA_SAYS = "container exited with code 137"
# The test's data, Kuscia's state names and messages, the error kind's code, the task spec
# field name the page names as Kuscia does.
DATA = {
    "ada", "local", "bad", "job-ok", "job-bad", "alice", "bob", "t0", "t1", "Running",
    "Succeeded", "Failed", "Pending", "Unknown", "AwaitingApproval", "ApprovalReject",
    "Cancelled", "Suspended", "Initialized", "JobCreateStageSucceeded", "container", "exited",
    "with", "code", "task_input_config", "tls_untrusted", "unknown", "authority", "x509",
    "secretflow", "image", "JSON", "Pod", "Celery", "beat", "nope", "KUSCIA", "Awaiting",
    "Approval", "Reject", "YYYY-MM-DD", "job-bad-t0", "job-bad-t1",
    # the task endpoints as Kuscia reports them: port name, scope, address
    "fed", "global", "Cluster", "Domain",
    *(f"job-bad-t{i}-0-{port}.{p}.svc" for i in (0, 1) for port in ("fed", "global")
      for p in ("alice", "bob")),
}  # fmt: skip


@pytest.fixture
def world(client: Client) -> tuple[Client, Job]:
    conn = make_connection("local")
    make_connection("bad", error=("tls_untrusted", "x509: unknown authority", ""))
    make_job(conn, "job-ok", state=kt.RUNNING, tasks=2)
    failed = make_job(conn, "job-bad", state=kt.FAILED, tasks=2, party_err=KUSCIA_SAYS)
    client.force_login(make_user("ada", "admin"))
    return client, failed


def pages(job: Job) -> list[tuple[str, str]]:
    conn = job.connection.name
    return [
        ("overview", reverse("jobs:overview")),
        ("list", reverse("jobs:list")),
        ("list, bad filter", reverse("jobs:list") + "?state=Nope&created_from=x&party=a%20b"),
        ("list, nothing found", reverse("jobs:list") + "?q=nothing-like-this"),
        ("failed job", reverse("jobs:detail", args=[conn, job.job_id]) + "?task=t1&history=all"),
        ("task", reverse("jobs:task", args=[conn, job.job_id, "t1"])),
        ("job not known", reverse("jobs:detail", args=[conn, "nope"])),
    ]


NAMES = ["overview", "list", "list, bad filter", "list, nothing found", "failed job", "task",
         "job not known"]  # fmt: skip


@pytest.mark.parametrize("index", range(len(NAMES)), ids=NAMES)
def test_jobs_page_is_fully_chinese_for_zh_cn(world, index):
    client, job = world
    name, url = pages(job)[index]
    response = client.get(url, **ZH)
    assert response.status_code in (200, 404), name
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert english_words(html, allowed=DATA) == []
    assert "同步失败" in html  # the sync banner, about the failing connection


def test_failed_job_page_says_why_in_chinese_beside_kuscias_words(world):
    client, job = world
    url = reverse("jobs:detail", args=[job.connection.name, job.job_id])
    html = client.get(url, **ZH).content.decode()
    assert "失败原因" in html and "参与方" in html and "任务" in html
    assert KUSCIA_SAYS in html  # Kuscia's message, as Kuscia gives it
    assert re.search(r"st-failed[^>]*>.*?Failed</span>", html, re.S)  # the state name stays


@pytest.mark.parametrize("index", range(len(NAMES)), ids=NAMES)
def test_same_jobs_url_is_english_for_en(world, index):
    client, job = world
    name, url = pages(job)[index]
    html = client.get(url, **EN).content.decode()
    assert '<html lang="en">' in html
    assert set(re.findall(r"[\u4e00-\u9fff]+", html)) == {"简体中文"}, name
    assert "Sync failing" in html


def test_sync_banner_hint_is_translated_where_shown(client: Client):
    """A hint stored in English (a kuscia/ hint marked N_) reads in the reader's language."""
    from kuscia.errors import KusciaError

    exc = KusciaError("x509: unknown authority", kind="tls_untrusted")
    Connection.objects.all().delete()
    make_connection("bad", error=("tls_untrusted", "x509: unknown authority", exc.hint))
    client.force_login(make_user("ada", "admin"))
    en = client.get(reverse("jobs:overview"), **EN).content.decode()
    zh = client.get(reverse("jobs:overview"), **ZH).content.decode()
    assert exc.hint and exc.hint in en
    assert exc.hint not in zh and "提示：" in zh


def test_saved_preference_wins_over_the_browser_on_jobs_network_and_alerts_pages(client: Client):
    """A user who chose 简体中文 reads these pages in Chinese with an English browser, and one
    who chose English reads them in English with a Chinese one; the time is in their zone."""
    from accounts.preferences import save_preference

    conn = make_connection("local")
    make_job(conn, "job-ok", state=kt.SUCCEEDED, tasks=1)
    user = make_user("ada", "admin")
    client.force_login(user)
    urls = [reverse("jobs:list"), reverse("jobs:detail", args=["local", "job-ok"]),
            reverse("network:network"), reverse("alerts:home")]  # fmt: skip
    save_preference(user=user, language="zh-hans", time_zone="Asia/Shanghai")
    for url in urls:
        html = client.get(url, **EN).content.decode()
        assert '<html lang="zh-hans">' in html, url
    detail = client.get(urls[1], **EN).content.decode()
    assert "创建时间" in detail and "UTC+8" in detail
    save_preference(user=user, language="en", time_zone="UTC")
    for url in urls:
        html = client.get(url, **ZH).content.decode()
        assert '<html lang="en">' in html, url
        assert set(re.findall(r"[\u4e00-\u9fff]+", html)) == {"简体中文"}, url


def test_why_a_job_is_gone_is_said_in_words(client: Client):
    from jobs.sync.marks import mark_gone

    job = make_job(make_connection("local"), "job-gone", state=kt.RUNNING, tasks=1)
    mark_gone(job, reason="deleted-here")
    client.force_login(make_user("ada", "admin"))
    url = reverse("jobs:detail", args=["local", "job-gone"])
    assert "已在本控制台删除" in client.get(url, **ZH).content.decode()
    assert "deleted from this console" in client.get(url, **EN).content.decode()


def test_the_consoles_own_history_messages_are_translated_kuscias_are_not(client: Client):
    """A change the console words itself (a re-created job) is stored in English and shown in
    the reader's language on the job and task pages; Kuscia's messages are shown as given."""
    from jobs.sync.apply import RECREATED
    from tests.fixtures.data import add_changes

    job = make_job(make_connection("local"), "job-re", state=kt.RUNNING, tasks=1)
    stamps = {"new": "2026-01-01T13:00:00Z", "old": "2026-01-01T12:00:00Z"}
    add_changes(job, [RECREATED % stamps, KUSCIA_SAYS])
    add_changes(job, [RECREATED % stamps], kind="task", task_id=job.tasks.get().task_id)
    client.force_login(make_user("ada", "admin"))
    pages = [reverse("jobs:detail", args=["local", "job-re"]),
             reverse("jobs:task", args=["local", "job-re", job.tasks.get().task_id])]  # fmt: skip
    for url in pages:
        zh = client.get(url, **ZH).content.decode()
        assert "作业在 Kuscia 中被重新创建（新的 create_time 为 2026-01-01T13:00:00Z" in zh, url
        assert "job re-created" not in zh
    assert KUSCIA_SAYS in client.get(pages[0], **ZH).content.decode()
    assert "job re-created in Kuscia" in client.get(pages[0], **EN).content.decode()
