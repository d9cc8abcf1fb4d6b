"""The log viewer and the task and job pages with logs, in Chromium, in English and Chinese, at
375 and 1440 px: a long log (40,000 lines, 50 of them over 10 KB) opened at its end, a failed
party's traceback, a party no connection serves (the panel says how to add one), a pod with two
containers (a tab each), the task page's panel and the failure card's excerpt. Each fits the
window with no clipped label (test_i18n_browser's probe) and speaks the page's language.
Screenshots: KC_SCREENS_DIR (else the test's temporary directory)."""

from __future__ import annotations

from typing import Any

import pytest

from connections.models import Connection
from kuscia import types as kt
from logs.archive import Archive, claim
from logs.models import TaskLog
from tests.fixtures.data import make_job, make_user
from tests.i18n.test_i18n_browser import LANGUAGES, layout_problems, screens_dir

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

TRACE = [
    "2026-12-06 08:00:01.000 INFO [bob] entry.py:64 - start task job-f-psi of job job-f",
    "2026-12-06 08:00:09.000 ERROR [bob] entry.py:120 - task job-f-psi failed",
    "Traceback (most recent call last):",
    '  File "/usr/local/lib/python3.10/site-packages/secretflow/kuscia/entry.py", line 531, '
    "in main",
    "    res = comp_eval(sf_node_eval_param, storage_config, sf_cluster_config)",
    "RuntimeError: job-f-psi failed on bob: key column 'id2' not found in input table bob-table",
]


def long_log() -> list[str]:
    preview = " | ".join(f"a{i:05d},{i % 50},0.{i:06d},yes" for i in range(480))  # ~12 KB
    out = []
    for i in range(40_000):
        if i % 800 == 400:
            out.append(f"2026-12-06 08:00:00.000 INFO [alice] io.py:152 - input preview: {preview}")
        else:
            out.append(f"2026-12-06 08:00:00.000 DEBUG [alice] sgd.py:118 - batch {i:05d} loss=0.1")
    return out


def store(row: TaskLog, lines: list[str]) -> None:
    claim(row)
    archive = Archive(row)
    archive.feed(lines)
    archive.finish(authoritative=True, state=TaskLog.State.COMPLETE)


def log_row(job: Any, task_id: str, domain: str, container: str = "") -> TaskLog:
    return TaskLog.objects.create(
        job=job,
        connection_name=job.connection.name,
        kuscia_job_id=job.job_id,
        task_id=task_id,
        domain_id=domain,
        container=container,
    )


@pytest.fixture
def world(transactional_db: Any, log_storage: Any) -> dict[str, Any]:
    user = make_user("lena", "viewer")
    master = Connection.objects.create(
        name="master", url="https://m:8082", role="master", domains=["alice", "bob", "carol"]
    )
    for d in ("alice", "bob"):
        Connection.objects.create(name=f"lite-{d}", url=f"https://{d}:1", role="lite", domains=[d])
    failed = make_job(
        master,
        "job-f",
        state=kt.FAILED,
        tasks=[("psi", [])],
        parties=("alice", "carol", "bob"),  # bob (the last) failed
        party_err=TRACE[-1],
    )
    alice = log_row(failed, "job-f-psi", "alice")
    store(alice, long_log())
    bob = log_row(failed, "job-f-psi", "bob")
    store(bob, TRACE)
    two = make_job(master, "job-c", state=kt.SUCCEEDED, tasks=[("psi", [])])
    for container in ("secretflow", "sidecar"):
        store(log_row(two, "job-c-psi", "alice", container), [f"[{container}] hello"])
    return {"user": user, "alice": alice.pk, "bob": bob.pk}


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_log_pages_fit_in_both_languages(browser, live_server, login_as, world, lang, tmp_path):
    target = screens_dir(tmp_path)
    viewer = "/logs/master/job-f/job-f-psi/"
    pages = {
        "logs-long": f"{viewer}?log={world['alice']}",
        "logs-longline": f"{viewer}?log={world['alice']}&line=39601",
        "logs-trace": f"{viewer}?log={world['bob']}",
        "logs-noconn": f"{viewer}?party=carol",
        "logs-containers": "/logs/master/job-c/job-c-psi/",
        "task-logs": "/jobs/master/job-f/tasks/job-f-psi/",
        "job-failed": "/jobs/master/job-f/?task=job-f-psi",
    }
    words = {  # something the page must say in the page's language
        "logs-long": ("Download", "下载"),
        "logs-longline": ("input preview: a00000,0", "input preview: a00000,0"),
        "logs-trace": ("First error", "第一个错误"),
        "logs-noconn": ("manage.py connections add", "manage.py connections add"),
        "logs-containers": ("sidecar", "sidecar"),
        "task-logs": ("Download", "下载"),
        "job-failed": ("The last lines of bob's log", "bob 日志的最后几行"),
    }

    def prepare(page: Any, name: str) -> None:
        login_as(page, live_server, world["user"])

    def inspect(page: Any, shot: str) -> None:
        name = shot.split(f"-{lang}-")[0]
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(300)
        text = page.locator("main").inner_text()
        en, zh = words[name]
        assert (zh if lang == "zh" else en) in text, shot
        headings = page.locator("main h1, main h2").all_inner_texts()
        logs = "日志" if lang == "zh" else "Logs"
        assert headings.count(logs) <= 1, (shot, headings)  # the panel adds no second one

    problems = layout_problems(browser, live_server, lang, pages, target, prepare=prepare,
                               inspect=inspect)  # fmt: skip
    assert problems == {}
