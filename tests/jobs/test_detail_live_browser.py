"""The job page in Chromium: the party x task matrix, the task graph and the timeline follow the
database while the page stays open (the polled live part swaps them), what the user opened or
focused there stays so, and Kuscia's text stays text when it arrives that way."""

from __future__ import annotations

import pytest
from django.utils import timezone

from jobs.models import Job, PartyStatus, Task, Transition
from kuscia import types as kt
from tests.fixtures.data import make_connection, make_job, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EVIL = '<img src=x onerror="window.__pwned=1"><b>bold</b> & exit 137'


@pytest.fixture
def signed_in(browser_page, live_server, login_as):
    login_as(browser_page, live_server, make_user("vera", "viewer"))
    return browser_page


def sync_wrote(job: Job, digest: str) -> None:
    """What the sync engine changes on the job row with any task or party change."""
    Job.objects.filter(pk=job.pk).update(status_hash=digest, last_changed=timezone.now())


def psi_then_train(job_id: str, **fields: object) -> Job:
    """A running two-task job (psi, then train) of alice and bob."""
    tasks = [("psi", []), ("train", ["psi"])]
    return make_job(
        make_connection("local"),
        job_id,
        state=kt.RUNNING,
        tasks=tasks,
        parties=("alice", "bob"),
        **fields,  # type: ignore[arg-type]
    )


def open_live(page, live_server, job: Job) -> None:
    """Open the job's page and mark the document, to tell later whether it reloaded."""
    page.goto(f"{live_server.url}/jobs/{job.connection.name}/{job.job_id}/")
    page.evaluate("window.__sameDocument = true")


def test_party_change_reaches_matrix_and_graph_without_reload(signed_in, live_server):
    page = signed_in
    job = psi_then_train("job-m")
    open_live(page, live_server, job)
    train_row = page.locator("#party-matrix tbody tr").nth(1)
    bob_train = train_row.locator("td").nth(1)
    node = page.locator('svg.dag a[data-task="job-m-train"]')
    assert bob_train.locator(".state").inner_text().strip().endswith("Running")
    assert "st-running" in node.get_attribute("class")

    # Kuscia reports bob's train pod failed with a message full of markup
    PartyStatus.objects.filter(task__job=job, task__alias="train", domain_id="bob").update(
        state=kt.FAILED, err_msg=EVIL
    )
    Task.objects.filter(job=job, alias="train").update(state=kt.FAILED, progress=0.7)
    sync_wrote(job, "bob-failed")

    train_row.locator("td:nth-child(3) .state.st-failed").wait_for(timeout=10_000)
    page.locator('svg.dag a[data-task="job-m-train"].st-failed').wait_for(timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True  # no reload happened
    assert bob_train.locator(".state").inner_text().strip().endswith("Failed")
    assert node.get_attribute("aria-label").startswith("train: Failed, 70%, ")
    assert node.locator("text.icon").text_content() == "✗"
    assert node.locator("text.meta").text_content().startswith("Failed · 70% · ")
    # the message is text: shown verbatim, nothing of it parsed or run
    bob_train.locator("summary").click()
    assert bob_train.locator("pre").inner_text() == EVIL
    assert page.locator("#party-matrix b").count() == 0
    assert page.locator("#party-matrix img").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    # the other cells were left alone
    alice_train = train_row.locator("td").nth(0)
    assert alice_train.locator(".state").inner_text().strip().endswith("Running")

    # an opened message stays open across polls while it does not change: wait until a poll
    # has brought (and the page applied) a newer progress of the same task, then look
    Task.objects.filter(job=job, alias="train").update(progress=0.8)
    sync_wrote(job, "train-progress")
    node.locator("text.meta").filter(has_text="80%").wait_for(timeout=10_000)
    assert bob_train.locator("pre").inner_text() == EVIL  # the same message, swapped in again
    assert bob_train.locator("details").get_attribute("open") is not None


def test_tasks_known_after_the_page_loaded_appear_by_themselves(signed_in, live_server):
    page = signed_in
    job = make_job(make_connection("local"), "job-late", state=kt.RUNNING, tasks=0, task_states=[])
    page.goto(live_server.url + "/jobs/local/job-late/")
    assert "No tasks known yet" in page.locator("main").inner_text()
    # the spec arrives from Kuscia: the page's structure changed, so it shows the new one
    Task.objects.create(job=job, position=0, task_id="job-late-psi", alias="psi")
    sync_wrote(job, "spec-fetched")
    page.locator('svg.dag a[data-task="job-late-psi"]').wait_for(timeout=10_000)
    page.locator("#party-matrix").wait_for()


def test_a_task_that_starts_gets_its_timeline_bar_without_reload(signed_in, live_server):
    page = signed_in
    job = psi_then_train("job-t", task_states=[kt.RUNNING, kt.PENDING], transitions=False)
    Task.objects.filter(job=job, alias="train").update(start_time=None)
    open_live(page, live_server, job)
    bars = page.locator("#job-gantt g")
    assert bars.count() == 1 and "psi" in bars.nth(0).text_content()

    # Kuscia reports train running: the sync engine records the transition and the start
    now = timezone.now()
    Task.objects.filter(job=job, alias="train").update(
        state=kt.RUNNING, start_time=now, progress=0.1
    )
    Transition.objects.create(
        job=job,
        kind=Transition.Kind.TASK,
        task_id="job-t-train",
        old_state=kt.PENDING,
        new_state=kt.RUNNING,
        observed_at=now,
        source=Transition.Source.WATCH,
    )
    sync_wrote(job, "train-started")

    train = page.locator("#job-gantt g.st-running", has_text="train")
    train.wait_for(timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True
    assert bars.count() == 2 and train.locator("text").text_content().startswith("▶ train · ")
    assert train.locator("rect.span").get_attribute("y") == "22"  # the second row
    assert page.locator("#gantt-caption").is_visible()


def test_the_task_panel_keeps_an_opened_spec_and_the_focus_across_updates(signed_in, live_server):
    page = signed_in
    job = psi_then_train("job-p")
    page.goto(f"{live_server.url}/jobs/local/job-p/?task=job-p-train")
    page.locator("#task-panel details.taskspec summary").click()
    page.locator("#task-panel h2 a").focus()

    Task.objects.filter(job=job, alias="train").update(state=kt.FAILED, progress=0.7)
    PartyStatus.objects.filter(task__job=job, task__alias="train", domain_id="bob").update(
        state=kt.FAILED, err_msg="exit code 1"
    )
    sync_wrote(job, "train-failed")

    page.locator("#task-live .task-state .st-failed").wait_for(timeout=10_000)
    assert "exit code 1" in page.locator("#task-live").inner_text()
    assert page.locator("#task-panel details.taskspec").get_attribute("open") is not None
    assert page.evaluate("document.activeElement.textContent") == "task page, logs"


def test_an_opened_long_job_message_stays_open_across_polls(signed_in, live_server):
    page = signed_in
    job = psi_then_train("job-e", err_msg="This job is restarted by alice. " + "x" * 400)
    open_live(page, live_server, job)
    page.locator("#job-errlong summary").click()
    Task.objects.filter(job=job, alias="train").update(progress=0.9)
    sync_wrote(job, "progress")  # the status part (which holds the message) is swapped
    page.locator('svg.dag a[data-task="job-e-train"] text.meta').filter(has_text="90%").wait_for(
        timeout=10_000
    )
    assert page.locator("#job-errlong").get_attribute("open") is not None
    assert page.evaluate("window.__sameDocument") is True


def test_focus_scroll_and_an_opened_message_survive_a_poll(signed_in, live_server):
    """The graph, the matrix and the timeline are swapped whole: the focused node keeps the
    focus (and the page does not scroll back to it), scrolled boxes keep their position, and
    an opened, scrolled message stays so."""
    from tests.fixtures.data import chain

    page = signed_in
    long_err = "\n".join(f"line {i}: Traceback of the failed pod" for i in range(80))
    job = make_job(make_connection("local"), "job-keep", state=kt.RUNNING, tasks=chain(8))
    PartyStatus.objects.filter(task__job=job, task__alias="t1", domain_id="bob").update(
        state=kt.FAILED, err_msg=long_err
    )
    page.set_viewport_size({"width": 360, "height": 740})
    open_live(page, live_server, job)
    message = page.locator("#party-matrix details.errmsg")
    message.locator("summary").click()
    message.locator("pre").evaluate("pre => { pre.scrollTop = 120 }")
    page.locator("#gantt-wrap").evaluate("box => { box.scrollLeft = 90 }")
    page.locator('svg.dag a[data-task="job-keep-t3"]').focus()
    graph_left = page.locator(".dag-wrap").evaluate("box => box.scrollLeft")
    assert graph_left > 0  # the focused node was scrolled into the narrow graph box
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page_y = page.evaluate("window.scrollY")

    Task.objects.filter(job=job, alias="t4").update(progress=0.6)
    sync_wrote(job, "t4-progress")
    page.locator('svg.dag a[data-task="job-keep-t4"] text.meta').filter(has_text="60%").wait_for(
        timeout=10_000
    )
    assert page.evaluate("window.__sameDocument") is True
    assert page.evaluate("document.activeElement.getAttribute('data-task')") == "job-keep-t3"
    assert page.evaluate("window.scrollY") == page_y
    assert page.locator(".dag-wrap").evaluate("box => box.scrollLeft") == graph_left
    assert page.locator("#gantt-wrap").evaluate("box => box.scrollLeft") == 90
    assert message.get_attribute("open") is not None
    assert message.locator("pre").evaluate("pre => pre.scrollTop") == 120
