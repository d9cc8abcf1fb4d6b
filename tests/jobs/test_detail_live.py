"""The job page's live part (jobs:detail_live), which the page polls: the status, and out of band
the graph, the matrix, the timeline and the selected task's live part, rendered by the server
as the page renders them."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from jobs.models import Job, PartyStatus, Task
from kuscia import types as kt
from tests.fixtures.data import make_job

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
OOB = ' hx-swap-oob="true"'


def detail_url(job: Job) -> str:
    return reverse("jobs:detail", args=[job.connection.name, job.job_id])


def live_url(job: Job) -> str:
    return reverse("jobs:detail_live", args=[job.connection.name, job.job_id])


def polled_url(page: str) -> str:
    """The live URL the page polls (from its status part)."""
    found = re.search(r'<div id="job-status" hx-get="([^"]+)"', page)
    assert found, "the page polls"
    return found[1].replace("&amp;", "&")


def part(html: str, start: str, end: str) -> str:
    """The markup from the first `start` to the following `end` (included)."""
    assert html.count(start) == 1, start
    _, tail = html.split(start)
    return start + tail.split(end)[0] + end


def sections(html: str) -> dict[str, str]:
    """The graph, the matrix and the timeline's three parts, as one of the two renders them."""
    return {
        "graph": part(html, '<svg class="dag" id="job-dag"', "</svg>"),
        "matrix": part(html, '<table class="matrix" id="party-matrix"', "</table>"),
        "caption": part(html, 'id="gantt-caption"', "</p>"),
        "timeline": part(html, 'id="gantt-wrap"', "</svg></div>"),
        "empty": part(html, 'id="gantt-empty"', "</p>"),
    }


def test_the_live_part_renders_what_the_page_renders_out_of_band(client_in, pages_connection):
    job = make_job(pages_connection, "job-same", tasks=6, parties=("a", "b"), transitions=False)
    # (the running task has not reported its start: nothing on either render depends on `now`)
    Task.objects.filter(job=job, state=kt.RUNNING).update(start_time=None)
    PartyStatus.objects.filter(task__job=job, task__position=3, domain_id="b").update(
        state=kt.FAILED, err_msg="exit code 137 (OOMKilled)"
    )
    page = client_in.get(detail_url(job) + "?task=job-same-t3").content.decode()
    live = client_in.get(polled_url(page), **HX)
    assert live.status_code == 200 and "<html" not in live.content.decode()
    body = live.content.decode()
    assert body.lstrip().startswith('<div id="job-status"')
    on_page, polled = sections(page), sections(body)
    for name, markup in on_page.items():  # the same markup, marked to be swapped by its id
        assert OOB in polled[name], name
        assert polled[name].replace(OOB, "", 1) == markup, name
    assert body.count(OOB) == 6  # graph, matrix, the timeline's three parts, the task's part


def test_a_change_reaches_the_graph_matrix_and_timeline_of_the_live_part(
    client_in, pages_connection
):
    parties = ("alice", "bob", "carol")
    job = make_job(pages_connection, "job-wide", state=kt.RUNNING, tasks=128, parties=parties)
    before = client_in.get(live_url(job), **HX).content.decode()
    Task.objects.filter(job=job, position=10).update(state=kt.FAILED, progress=0.5)
    PartyStatus.objects.filter(task__job=job, task__position=10, domain_id="bob").update(
        state=kt.FAILED, err_msg="exit code 137 (OOMKilled)"
    )
    html = client_in.get(live_url(job), **HX).content.decode()
    node = re.search(r'<a [^>]*class="node ([^"]+)" id="dag-10" [^>]*aria-label="([^"]+)"', html)
    assert node and node[1] == "st-failed" and node[2].startswith("t10: Failed, 50%, ")
    assert 'class="node st-succeeded" id="dag-10"' in before
    row = part(html, '<a id="mx-10"', "</tr>")
    cells = re.findall(r'<td[^>]*><span class="state (st-\w+)"', row)
    assert len(cells) == 3 and cells[1] == "st-failed"
    assert "<summary" in row and "exit code 137 (OOMKilled)</pre>" in row
    assert re.search(r'<g class="st-failed"><title>t10: ', html)  # its timeline bar
    # every task and every party of the job is in it
    assert html.count('class="node ') == 128 and html.count('<th scope="row">') == 128
    assert part(html, 'id="party-matrix"', "</table>").count("<td") == 128 * 3


def test_an_opened_message_is_the_same_element_until_what_it_says_changes(
    client_in, pages_connection
):
    """The page script opens a message again after a swap by its id: the id stays while the
    cell says the same, and changes with its state or message (that one comes closed)."""
    job = make_job(pages_connection, "job-ids", state=kt.FAILED, tasks=2, party_err="exit 1")
    cell = re.compile(r'<details class="errmsg" id="(mx-1-1-[0-9a-f]{8})">')
    first = cell.findall(client_in.get(live_url(job), **HX).content.decode())
    assert len(first) == 1
    assert cell.findall(client_in.get(detail_url(job)).content.decode()) == first
    assert cell.findall(client_in.get(live_url(job), **HX).content.decode()) == first
    PartyStatus.objects.filter(task__job=job, err_msg="exit 1").update(err_msg="exit 2")
    assert cell.findall(client_in.get(live_url(job), **HX).content.decode()) != first


def test_a_job_with_no_started_task_has_an_empty_timeline_the_live_part_can_fill(
    client_in, pages_connection
):
    job = make_job(pages_connection, "job-new", state=kt.PENDING, tasks=2, transitions=False)
    Task.objects.filter(job=job).update(start_time=None)
    page = client_in.get(detail_url(job)).content.decode()
    assert re.search(r'id="gantt-wrap"[^>]* hidden>', page) and 'id="job-gantt"' in page
    assert re.search(r'id="gantt-empty">No task has started yet', page)
    live = client_in.get(polled_url(page), **HX).content.decode()
    assert re.search(r'id="gantt-wrap" hx-swap-oob="true"[^>]* hidden>', live)
    assert 'id="gantt-empty" hx-swap-oob="true">No task has started yet' in live
    Task.objects.filter(job=job, position=0).update(state=kt.RUNNING, start_time=job.start_time)
    live = client_in.get(polled_url(page), **HX).content.decode()
    assert re.search(r'id="gantt-wrap" hx-swap-oob="true"[^>]*>', live)
    assert not re.search(r'id="gantt-wrap"[^>]* hidden>', live)
    assert re.search(r'id="gantt-empty" hx-swap-oob="true" hidden>', live)


def test_the_page_reloads_when_the_job_has_another_structure(client_in, pages_connection):
    job = make_job(pages_connection, "job-spec", state=kt.RUNNING, tasks=5)
    page = client_in.get(detail_url(job)).content.decode()
    polled = polled_url(page)
    assert "spec=" in polled
    assert "HX-Refresh" not in client_in.get(polled, **HX)
    # a party that appears changes the structure (a new column): only a new page shows it
    PartyStatus.objects.create(task=Task.objects.get(job=job, position=0), domain_id="zed")
    Job.objects.filter(pk=job.pk).update(status_hash="zed")  # what the sync engine writes too
    reply = client_in.get(polled, **HX)
    assert reply.status_code == 200 and reply["HX-Refresh"] == "true" and reply.content == b""
    assert polled_url(client_in.get(detail_url(job)).content.decode()) != polled


def test_html_in_a_party_message_stays_text_in_the_live_part(client_in, pages_connection):
    evil = '</script><img src=x onerror="alert(1)"><b>bold</b> & more'
    job = make_job(pages_connection, "job-xss", state=kt.RUNNING, tasks=2)
    PartyStatus.objects.filter(task__job=job, domain_id="bob").update(state=kt.FAILED, err_msg=evil)
    for html in (
        client_in.get(live_url(job), **HX).content.decode(),
        client_in.get(detail_url(job)).content.decode(),
    ):
        matrix = part(html, 'id="party-matrix"', "</table>")
        assert "<b>" not in matrix and "<img" not in matrix
        assert "&lt;b&gt;bold&lt;/b&gt; &amp; more</pre>" in matrix


def test_the_task_panel_is_sent_out_of_band_and_polling_stops_when_terminal(
    client_in, pages_connection
):
    job = make_job(pages_connection, "job-oob", state=kt.RUNNING, tasks=[("psi", [])])
    page = client_in.get(detail_url(job) + "?task=job-oob-psi").content.decode()
    assert polled_url(page).startswith(live_url(job) + "?task=job-oob-psi&spec=")
    html = client_in.get(polled_url(page), **HX).content.decode()
    # only the panel's live part: its links and an opened spec stay (and keep the focus)
    assert '<div id="task-live" aria-live="polite" hx-swap-oob="true">' in html
    assert 'id="task-panel"' not in html and "Task spec" not in html
    assert 'hx-trigger="every 3s, kc-visible"' in html
    assert 'class="node st-running selected"' in html and 'aria-current="true"' in html
    Job.objects.filter(pk=job.pk).update(state=kt.SUCCEEDED, status_hash="done")
    Task.objects.filter(job=job).update(state=kt.SUCCEEDED, progress=1.0)
    final = client_in.get(polled_url(page), **HX)
    body = final.content.decode()
    assert final.status_code == 286 and "hx-trigger" not in body
    assert 'class="node st-succeeded selected"' in body and "Succeeded \u00b7 100% \u00b7" in body


def test_page_matrix_is_complete_as_sent(client_in, pages_connection):
    job = make_job(pages_connection, "job-m", state=kt.FAILED, tasks=2, party_err="OOMKilled: 9Gi")
    page = client_in.get(detail_url(job)).content.decode()
    matrix = part(page, 'id="party-matrix"', "</table>")
    assert matrix.count('<th scope="row">') == 2
    assert '<a id="mx-1" href="?task=job-m-t1#task-panel">t1</a>' in matrix
    assert matrix.count('class="state st-succeeded"') == 3  # t0 at both, t1 at alice
    assert matrix.count('class="state st-failed"') == 1  # t1 at bob (alice: Succeeded)
    assert re.search(r"<summary id=\"mx-1-1-[0-9a-f]{8}-s\">OOMKilled: 9Gi</summary>", matrix)
    assert "as of page load" not in page


def test_a_finished_task_with_no_known_end_gets_no_timeline_bar(client_in, pages_connection):
    job = make_job(pages_connection, "job-noend", state=kt.SUCCEEDED, tasks=2, transitions=False)
    Task.objects.filter(job=job, position=1).update(end_time=None)
    html = client_in.get(live_url(job), **HX).content.decode()
    bars = re.findall(r"<g class=\"st-\w+\"><title>(\w+): ", part(html, 'id="job-gantt"', "</svg>"))
    assert bars == ["t0"]  # t1's duration shows a dash


def test_the_parts_are_chosen_by_url_whatever_element_asks(client_in, pages_connection):
    job = make_job(pages_connection, "job-url", state=kt.RUNNING, tasks=2)
    Job.objects.filter(pk=job.pk).update(raw={"job_id": "job-url"})
    where = [job.connection.name, job.job_id]
    for target in ("", "raw-body", "history-body", "ep-1", "job-status", "renamed"):
        hx = {**HX, "HTTP_HX_TARGET": target} if target else HX
        live = client_in.get(live_url(job), **hx).content.decode()
        assert live.lstrip().startswith('<div id="job-status"'), target
        raw = client_in.get(reverse("jobs:detail_raw", args=where), **hx).content.decode()
        assert raw.startswith('<pre class="json">'), target
        history = client_in.get(reverse("jobs:detail_history", args=where), **hx)
        assert '<table class="compact history' in history.content.decode(), target


def test_a_page_from_before_the_parts_had_urls_is_reloaded(client_in, pages_connection):
    """A tab opened before this version polls the page's own URL: it is told to reload."""
    job = make_job(pages_connection, "job-old", state=kt.RUNNING, tasks=2)
    old = client_in.get(detail_url(job), HTTP_HX_TARGET="job-status", **HX)
    assert old["HX-Refresh"] == "true" and old.content == b""
    assert "HX-Request" in old["Vary"]
    page = client_in.get(detail_url(job))
    assert page.status_code == 200 and "HX-Refresh" not in page


def test_the_timeline_caption_names_the_zone_of_its_start(client_in, pages_connection):
    job = make_job(pages_connection, "job-zone", tasks=2)
    page = client_in.get(detail_url(job)).content.decode()
    caption = part(page, 'id="gantt-caption"', "</p>")
    assert " hidden" not in caption.split(">")[0] and "<time datetime=" in caption
    assert re.search(r"\d\d:\d\d:\d\d UTC", caption), caption
