"""In Chromium, in English and in Chinese, at 375 and 1440 px: the overview, the job list, a
failed job's page, a task page, the network and data pages and the alerts pages fit the window
with no clipped or overflowing label (the probe of test_i18n_browser), and say the console's
words in the page's language. Screenshots: KC_SCREENS_DIR (else the test's temporary
directory), <page>-<language>-<width>.png, …-top.png and slices …-s1.png, …-s2.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from accounts.preferences import save_preference
from alerts.models import Channel, Delivery, Incident, Rule
from alerts.secrets import seal
from kuscia import types as kt
from network import sync
from network.models import NetworkSync
from tests.fixtures.data import make_connection, make_job, make_user
from tests.i18n.test_i18n_browser import LANGUAGES, layout_problems, screens_dir
from tests.network.factories import data_item, populate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JOB = "/jobs/local/job-best-effort-linear-2/"
TASK = "job-best-effort-linear-2-train"
PAGES = {
    "overview": ("/", "概览"),
    "jobs": ("/jobs/", "作业"),
    "job-failed": (f"{JOB}?task={TASK}", "失败原因"),
    "task": (f"{JOB}tasks/{TASK}/", "参与方"),
    "network": ("/network/", "节点"),
    "data": ("/data/", "数据"),
    "data-item": ("/data/local/alice/alice-table/", "数据"),
    "alerts": ("/alerts/", "告警"),
    "alert-rules": ("/alerts/rules/", "规则"),
}


@pytest.fixture
def world():
    admin = make_user("ada", "admin")
    save_preference(user=admin, time_zone="Asia/Shanghai")
    conn = make_connection("local")
    tasks = [("prepare-data", []), ("psi", ["prepare-data"]), ("train", ["psi"])]
    for i in range(12):
        make_job(conn, f"job-best-effort-linear-{i}", tasks=tasks, parties=("alice", "bob"),
                 state=[kt.RUNNING, kt.SUCCEEDED, kt.FAILED, kt.PENDING][i % 4],
                 party_err="container exited with code 137: OOMKilled" if i % 4 == 2 else "",
                 created_ago=600.0 + i * 60)  # fmt: skip
    make_connection("edge", error=("tls_untrusted", "x509: unknown authority", ""))
    NetworkSync.objects.create(connection=conn, last_success=timezone.now())
    populate(conn, ("alice", "bob", "carol"), down=[("bob", "alice")], hours=6)
    now = timezone.now()
    sync.apply_domaindata(conn, "alice", [data_item("alice", "alice-table", columns=6)],
                          observed_at=now)  # fmt: skip
    sync.refresh_facets(conn)
    hook = seal("https://oapi.dingtalk.com/robot/send")
    ch = Channel.objects.create(name="ops-dingtalk", kind="dingtalk", target_encrypted=hook)
    rule = Rule.objects.create(name="failed-jobs", kind="job_failed")
    rule.channels.add(ch)
    inc = Incident.objects.create(
        rule=rule, rule_name="failed-jobs", kind="job_failed", subject_key="job:3",
        subject="job-best-effort-linear-2", job_state="Failed", party="bob",
        reason="container exited with code 137: OOMKilled", link="/jobs/local/x/",
    )  # fmt: skip
    Delivery.objects.create(incident=inc, event="firing", target=f"channel:{ch.pk}",
                            target_name="ops-dingtalk", kind="dingtalk", status="sent",
                            attempts=1, sent_at=now, result="errcode 0")  # fmt: skip
    return admin


SLICE = 1000  # px of page per slice
MAX_SLICES = 6


def save_slices(page: Any, shot: Path) -> None:
    """The long page in screen-sized pieces too (…-s1.png, …-s2.png), readable at full size."""
    width = page.viewport_size["width"]
    height = page.evaluate("document.documentElement.scrollHeight")
    for i in range(1, min(MAX_SLICES, -(-height // SLICE)) + 1):
        top = (i - 1) * SLICE
        clip = {"x": 0, "y": top, "width": width, "height": min(SLICE, height - top)}
        page.screenshot(path=f"{shot}-s{i}.png", full_page=True, clip=clip)


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_job_network_and_alert_pages_fit_in_both_languages(
    browser, live_server, login_as, world, lang, tmp_path
):
    target = screens_dir(tmp_path)
    paths = {name: path for name, (path, _) in PAGES.items()}

    def prepare(page: Any, name: str) -> None:
        login_as(page, live_server, world)

    def inspect(page: Any, shot: str) -> None:
        chinese = PAGES[shot.split(f"-{lang}-")[0]][1]
        assert (chinese in page.locator("main").inner_text()) == (lang == "zh"), shot
        save_slices(page, target / shot)

    problems = layout_problems(
        browser, live_server, lang, paths, target, prepare=prepare, inspect=inspect
    )
    assert problems == {}
