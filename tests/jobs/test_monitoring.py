"""Monitoring pages in Chromium: navigation, live refresh, polling that stops, shareable
filter URLs, and Kuscia text that stays text."""

from __future__ import annotations

import re
import time

import pytest
from django.utils import timezone

from jobs.models import Job, PartyStatus, Task
from kuscia import types as kt
from tests.fixtures.data import add_changes, make_connection, make_job, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def signed_in(browser_page, live_server, login_as):
    login_as(browser_page, live_server, make_user("vera", "viewer"))
    return browser_page


def test_overview_to_filtered_list_to_job_to_dag_node_to_task_panel(signed_in, live_server):
    page = signed_in
    conn = make_connection("local")
    make_job(conn, "job-ok", state=kt.SUCCEEDED)
    make_job(
        conn,
        "job-bad",
        state=kt.FAILED,
        tasks=[("psi", []), ("train", ["psi"])],
        party_err="exit code 137 (OOMKilled)",
    )
    page.goto(live_server.url + "/")
    failed = page.locator("a.count.st-failed")
    assert re.fullmatch(r"1\s+Failed", failed.inner_text().replace("✗", "").strip())
    failed.click()
    page.wait_for_url(re.compile(r"/jobs/\?state=Failed$"))
    rows = page.locator("table.jobs tbody tr")
    assert rows.count() == 1
    page.get_by_role("link", name="job-bad").click()
    page.wait_for_url(re.compile(r"/jobs/local/job-bad/$"))
    assert "Why it failed" in page.locator(".failure").inner_text()
    page.locator('svg.dag a[data-task="job-bad-train"]').click()
    page.wait_for_url(re.compile(r"\?task=job-bad-train#task-panel$"))
    panel = page.locator("#task-panel")
    assert "train" in panel.inner_text()
    assert "exit code 137 (OOMKilled)" in panel.inner_text()
    # the selection is a URL to share: a fresh tab shows the same panel
    other = page.context.new_page()
    other.goto(page.url)
    assert "exit code 137 (OOMKilled)" in other.locator("#task-panel").inner_text()


def test_state_change_in_db_appears_without_reload_and_polling_then_stops(signed_in, live_server):
    page = signed_in
    conn = make_connection("local")
    job = make_job(conn, "job-live", state=kt.RUNNING, tasks=[("psi", []), ("train", ["psi"])])
    requests: list[str] = []
    page.on(
        "request", lambda r: requests.append(r.url) if "/jobs/local/job-live/" in r.url else None
    )
    page.goto(live_server.url + "/jobs/local/job-live/")
    page.evaluate("window.__sameDocument = true")
    assert (
        page.locator("#job-status .statusline .state")
        .first.inner_text()
        .strip()
        .endswith("Running")
    )
    # what the sync engine would write when Kuscia reports success
    Task.objects.filter(job=job).update(state=kt.SUCCEEDED, progress=1.0, end_time=timezone.now())
    PartyStatus.objects.filter(task__job=job).update(state=kt.SUCCEEDED)
    Job.objects.filter(pk=job.pk).update(
        state=kt.SUCCEEDED, end_time=timezone.now(), tasks_succeeded=2, progress=1.0
    )
    # (no wait_for_function: the app's CSP forbids eval, which is what it would use)
    page.locator('#job-status[data-state="Succeeded"]').wait_for(timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    assert (
        page.locator('svg.dag a[data-task="job-live-train"]')
        .get_attribute("class")
        .startswith("node st-succeeded")
    )
    assert "final state" in page.locator("#job-status .statusline").inner_text()
    seen = len(requests)
    time.sleep(4)  # longer than one poll interval (3 s)
    assert len(requests) == seen, requests[seen:]


def test_finished_job_page_does_not_poll(signed_in, live_server):
    page = signed_in
    make_job(make_connection("local"), "job-done", state=kt.SUCCEEDED)
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if r.headers.get("hx-request") else None)
    page.goto(live_server.url + "/jobs/local/job-done/")
    assert page.locator("#job-status[hx-trigger]").count() == 0
    time.sleep(4)
    assert polls == []


def test_pasted_filter_url_reproduces_the_view(signed_in, live_server):
    page = signed_in
    conn = make_connection("local")
    make_job(conn, "alpha", state=kt.FAILED, parties=("alice", "carol"))
    make_job(conn, "beta", state=kt.FAILED, parties=("alice", "bob"))
    make_job(conn, "gamma", state=kt.RUNNING, parties=("alice", "carol"))
    make_job(conn, "delta", state=kt.SUCCEEDED, parties=("carol", "bob"))
    page.goto(live_server.url + "/jobs/")
    page.get_by_label("Failed").check()
    page.get_by_label("Running").check()
    page.get_by_label("Party").fill("carol")
    page.get_by_label("Sort").select_option("job")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"party=carol"))
    shown = page.locator("table.jobs a.jobid").all_inner_texts()
    assert shown == ["alpha", "gamma"]
    pasted = page.context.new_page()
    pasted.goto(page.url)
    assert pasted.locator("table.jobs a.jobid").all_inner_texts() == shown
    assert (
        pasted.get_by_label("Failed").is_checked() and pasted.get_by_label("Running").is_checked()
    )
    assert not pasted.get_by_label("Succeeded").is_checked()
    assert pasted.get_by_label("Party").input_value() == "carol"


def test_html_in_kuscia_err_msg_is_text_and_never_runs(signed_in, live_server):
    page = signed_in
    evil = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold</b>'
    make_job(make_connection("local"), "job-xss", state=kt.FAILED, err_msg=evil, party_err=evil)
    for path in ("/", "/jobs/local/job-xss/", "/jobs/local/job-xss/?task=job-xss-t1"):
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.locator("b", has_text="bold").count() == 0
    assert evil in page.locator(".failure").inner_text()


def test_polling_pauses_in_a_hidden_tab_and_resumes_when_visible(signed_in, live_server):
    page = signed_in
    make_job(make_connection("local"), "job-bg", state=kt.RUNNING)
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if r.headers.get("hx-request") else None)
    with page.expect_request(lambda r: r.headers.get("hx-request") == "true", timeout=10_000):
        page.goto(live_server.url + "/jobs/local/job-bg/")  # a running job's page polls
    # what the browser reports for a background tab
    page.evaluate(
        "Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    page.wait_for_timeout(300)
    seen = len(polls)
    page.wait_for_timeout(4000)  # (nothing to wait for: no request may come)
    assert len(polls) == seen, "no requests while hidden"
    with page.expect_request(lambda r: r.headers.get("hx-request") == "true", timeout=2_000):
        page.evaluate(  # refreshes at once (well before the next 3 s poll) when visible again
            "Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});"
            "document.dispatchEvent(new Event('visibilitychange'))"
        )


def test_copy_button_copies_an_endpoint(signed_in, live_server):
    page = signed_in
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    make_job(make_connection("local"), "job-cp", state=kt.RUNNING, tasks=1)
    page.goto(live_server.url + "/jobs/local/job-cp/tasks/job-cp-t0/")
    button = page.locator('button.copy[data-copy="job-cp-t0-0-fed.alice.svc"]')
    button.focus()
    page.keyboard.press("Enter")  # keyboard reachable
    page.locator('button.copy.copied[data-copy="job-cp-t0-0-fed.alice.svc"]').wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == "job-cp-t0-0-fed.alice.svc"


def test_large_job_endpoints_load_when_a_party_is_opened(signed_in, live_server):
    page = signed_in
    make_job(
        make_connection("local"), "job-big", state=kt.SUCCEEDED, tasks=13, parties=("alice", "bob")
    )
    page.goto(live_server.url + "/jobs/local/job-big/")
    assert page.locator("button.copy").count() == 0
    page.locator("details.epgroup summary", has_text="bob").click()
    page.locator('button.copy[data-copy="job-big-t0-0-fed.bob.svc"]').wait_for()
    assert page.locator("details.epgroup button.copy").count() == 26


def test_long_history_loads_when_opened_and_links_to_every_change(signed_in, live_server):
    page = signed_in
    job = make_job(make_connection("local"), "job-hist", state=kt.SUCCEEDED, tasks=1)
    add_changes(job, [f"<b>h{i:03d}</b>" for i in range(140)])
    page.goto(live_server.url + "/jobs/local/job-hist/")
    history = page.locator("#hist-h + details")
    assert page.locator("table.history").count() == 0  # not on the page until opened
    history.locator("summary").click()
    page.locator("table.history td", has_text="<b>h139</b>").wait_for()  # escaped, as text
    assert page.locator("table.history b").count() == 0
    assert page.locator("table.history tbody tr").count() == 60
    page.get_by_role("link", name=re.compile(r"Show all \d+ changes")).click()
    page.wait_for_url(re.compile(r"history=all"))
    page.locator("table.history td", has_text="<b>h000</b>").wait_for()
    assert page.locator("table.history tbody tr").count() >= 140


def test_raw_reply_loads_when_opened_as_text(signed_in, live_server):
    page = signed_in
    job = make_job(make_connection("local"), "job-raw", state=kt.SUCCEEDED, tasks=1)
    Job.objects.filter(pk=job.pk).update(raw={"status": {"err_msg": "<img src=x>"}})
    page.goto(live_server.url + "/jobs/local/job-raw/")
    assert page.locator("pre.json").count() == 0
    page.locator("#raw-h + details summary").click()
    page.locator("pre.json", has_text='"err_msg": "<img src=x>"').wait_for()
    assert page.locator("pre.json img").count() == 0


def test_dag_nodes_are_reachable_and_selectable_by_keyboard(signed_in, live_server):
    page = signed_in
    make_job(
        make_connection("local"),
        "job-kb",
        state=kt.RUNNING,
        tasks=[("psi", []), ("train", ["psi"])],
    )
    page.goto(live_server.url + "/jobs/local/job-kb/")
    for _ in range(60):  # Tab through the page until the "train" node has focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('data-task')") == "job-kb-train":
            break
    else:
        raise AssertionError("the DAG node never received keyboard focus")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"\?task=job-kb-train#task-panel$"))
    assert "train" in page.locator("#task-panel h2").inner_text()
    node = page.locator('svg.dag a[data-task="job-kb-train"]')
    assert node.get_attribute("aria-current") == "true"  # the selected node says so


def test_a_node_reached_by_keyboard_is_scrolled_fully_into_a_narrow_graph(signed_in, live_server):
    from tests.fixtures.data import chain

    page = signed_in
    make_job(make_connection("local"), "job-wide", state=kt.RUNNING, tasks=chain(6))
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live_server.url + "/jobs/local/job-wide/")
    assert page.locator("a.skip-graph").count() == 1  # a link skips the graph (and its toolbar)
    page.locator(".dag-wrap").focus()  # the graph's scroll box, after the zoom toolbar
    seen = []
    for _ in range(6):
        page.keyboard.press("Tab")
        seen.append(
            page.evaluate(
                """() => {
                  const a = document.activeElement, box = a.closest('.dag-wrap');
                  const r = a.getBoundingClientRect(), w = box.getBoundingClientRect();
                  const inside = r.left >= w.left - 1 && r.right <= w.right + 1;
                  return [a.getAttribute('data-task'), inside];
                }"""
            )
        )
    assert [task for task, _ in seen] == [f"job-wide-t{i}" for i in range(6)]
    assert all(inside for _, inside in seen), seen
