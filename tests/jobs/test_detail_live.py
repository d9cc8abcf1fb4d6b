"""The job page's live fragment: small, with every task's and every party's state in a JSON data
block for the page script, while the graph and the matrix are sent once with the page."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from jobs.models import Job, PartyStatus, Task
from jobs.templatetags.kc import ICONS, state_class
from kuscia import types as kt
from tests.fixtures.data import make_job

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
DATA_BLOCK = re.compile(r'<script id="live-states" type="application/json">(.*?)</script>', re.S)


def detail_url(job: Job) -> str:
    return reverse("jobs:detail", args=[job.connection.name, job.job_id])


def live_block(html: str) -> dict:
    found = DATA_BLOCK.findall(html)
    assert len(found) == 1, "exactly one data block"
    return json.loads(found[0])


def cell_state(data: dict, cell: object) -> tuple[str, str] | None:
    """(state, err_msg) of one matrix cell of the data block, None for no party."""
    if cell is None:
        return None
    if isinstance(cell, int):
        return data["states"][cell][0], ""
    si, mi = cell  # type: ignore[misc]
    return data["states"][si][0], data["messages"][mi]


def test_128_task_fragment_is_small_and_carries_every_task_and_party(client_in, pages_connection):
    parties = ("alice", "bob", "carol")
    job = make_job(pages_connection, "job-wide", state=kt.RUNNING, tasks=128, parties=parties)
    Task.objects.filter(job=job, position=10).update(state=kt.FAILED, progress=0.5)
    PartyStatus.objects.filter(task__job=job, task__position=10, domain_id="bob").update(
        state=kt.FAILED, err_msg="exit code 137 (OOMKilled)"
    )
    response = client_in.get(detail_url(job), **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert len(response.content) < 20 * 1024, len(response.content)
    assert "<svg" not in html and 'id="party-matrix"' not in html  # sent once, with the page
    data = live_block(html)

    tasks = list(Task.objects.filter(job=job).order_by("position"))
    assert [data["states"][row[0]][0] for row in data["tasks"]] == [t.state for t in tasks]
    assert [row[1] for row in data["tasks"]] == [round(t.progress * 100) for t in tasks]
    # every state comes with the class and icon the server renders (kc.ICONS)
    for name, cls, icon in data["states"]:
        assert cls == state_class(name) and icon == ICONS[name]

    assert len(data["cells"]) == 128 and all(len(row) == 3 for row in data["cells"])
    by_cell = {
        (p.task.position, p.domain_id): (p.state, p.err_msg)
        for p in PartyStatus.objects.filter(task__job=job).select_related("task")
    }
    for pos, row in enumerate(data["cells"]):
        for pid, cell in zip(parties, row, strict=True):
            assert cell_state(data, cell) == by_cell.get((pos, pid)), (pos, pid)
    assert cell_state(data, data["cells"][10][1]) == (kt.FAILED, "exit code 137 (OOMKilled)")


GANTT_BAR = re.compile(
    r'<g class="(st-\w+)" data-i="(\d+)"><title>.*?</title>.*?<rect class="span" '
    r'x="([\d.]+)%" y="\d+" width="([\d.]+)%"',
    re.S,
)


def test_fragment_carries_the_timeline_the_page_draws(client_in, pages_connection):
    job = make_job(pages_connection, "job-tl", state=kt.RUNNING, tasks=6)
    page = client_in.get(detail_url(job)).content.decode()
    drawn = [(int(i), float(x), float(w)) for _c, i, x, w in GANTT_BAR.findall(page)]
    data = live_block(client_in.get(detail_url(job), **HX).content.decode())
    bars = data["gantt"]["bars"]
    assert drawn and [b[0] for b in bars] == [i for i, _x, _w in drawn]
    for (_i, x, w), bar in zip(drawn, bars, strict=True):
        assert abs(bar[1] * 100 - x) < 0.01 and abs(bar[2] * 100 - w) < 0.01
    assert data["gantt"]["caption"].startswith("From ") and "in all" in data["gantt"]["caption"]
    # only started tasks have a bar; every bar names a task of the data block
    started = [t.position for t in Task.objects.filter(job=job, start_time__isnull=False)]
    assert sorted(b[0] for b in bars) == sorted(started)


def test_a_job_with_no_started_task_has_an_empty_timeline_the_script_can_fill(
    client_in, pages_connection
):
    job = make_job(pages_connection, "job-new", state=kt.PENDING, tasks=2, transitions=False)
    Task.objects.filter(job=job).update(start_time=None)
    page = client_in.get(detail_url(job)).content.decode()
    assert re.search(r'id="gantt-wrap"[^>]* hidden>', page) and 'id="job-gantt"' in page
    assert re.search(r'id="gantt-empty">No task has started yet', page)
    data = live_block(client_in.get(detail_url(job), **HX).content.decode())
    assert data["gantt"] == {"caption": "", "bars": []}


def test_fragment_and_page_describe_the_same_structure(client_in, pages_connection):
    job = make_job(pages_connection, "job-same", state=kt.RUNNING, tasks=5)
    page = client_in.get(detail_url(job)).content.decode()
    spec = re.search(r'<svg class="dag" id="job-dag" data-spec="([0-9a-f]+)"', page)
    assert spec, "the graph carries the structure digest"
    assert live_block(client_in.get(detail_url(job), **HX).content.decode())["spec"] == spec[1]
    assert "live-states" not in page  # the page itself is complete as rendered
    # a party that appears changes the structure (a new column): the script reloads the page
    PartyStatus.objects.create(task=Task.objects.get(job=job, position=0), domain_id="zed")
    assert live_block(client_in.get(detail_url(job), **HX).content.decode())["spec"] != spec[1]


def test_html_in_a_party_message_stays_inert_in_the_data_block(client_in, pages_connection):
    evil = '</script><img src=x onerror="alert(1)"><b>bold</b> & more'
    job = make_job(pages_connection, "job-xss", state=kt.RUNNING, tasks=2)
    PartyStatus.objects.filter(task__job=job, domain_id="bob").update(state=kt.FAILED, err_msg=evil)
    html = client_in.get(detail_url(job), **HX).content.decode()
    block = DATA_BLOCK.findall(html)[0]
    assert "<" not in block and ">" not in block and "&" not in block.replace("\\u0026", "")
    assert evil in live_block(html)["messages"]
    # without the script, the page's own matrix shows it as text too
    page = client_in.get(detail_url(job)).content.decode()
    matrix = page.split('id="party-matrix"')[1].split("</table>")[0]
    assert "<b>" not in matrix and "&lt;b&gt;bold&lt;/b&gt; &amp; more" in matrix


def test_fragment_sends_the_task_panel_out_of_band_and_stops_when_terminal(
    client_in, pages_connection
):
    job = make_job(pages_connection, "job-oob", state=kt.RUNNING, tasks=[("psi", [])])
    html = client_in.get(detail_url(job) + "?task=job-oob-psi", **HX).content.decode()
    assert html.lstrip().startswith('<div id="job-status"')
    # only the panel's live part: its links and an opened spec stay (and keep the focus)
    assert '<div id="task-live" aria-live="polite" hx-swap-oob="true">' in html
    assert 'id="task-panel"' not in html and "Task spec" not in html
    assert 'hx-trigger="every 3s, kc-visible"' in html
    Job.objects.filter(pk=job.pk).update(state=kt.SUCCEEDED, status_hash="done")
    Task.objects.filter(job=job).update(state=kt.SUCCEEDED, progress=1.0)
    final = client_in.get(detail_url(job), **HX)
    assert final.status_code == 286 and "hx-trigger" not in final.content.decode()
    assert [row[1] for row in live_block(final.content.decode())["tasks"]] == [100]


def test_page_matrix_is_complete_without_the_script(client_in, pages_connection):
    job = make_job(pages_connection, "job-m", state=kt.FAILED, tasks=2, party_err="OOMKilled: 9Gi")
    page = client_in.get(detail_url(job)).content.decode()
    matrix = page.split('id="party-matrix"')[1].split("</table>")[0]
    assert matrix.count('<tr data-i="') == 2
    assert '<a href="?task=job-m-t1#task-panel">t1</a>' in matrix
    assert matrix.count('class="state st-succeeded"') == 3  # t0 at both, t1 at alice
    assert matrix.count('class="state st-failed"') == 1  # t1 at bob (alice: Succeeded)
    assert "<summary>OOMKilled: 9Gi</summary>" in matrix
    assert "as of page load" not in page


def test_a_finished_task_with_no_known_end_gets_no_timeline_bar(client_in, pages_connection):
    job = make_job(pages_connection, "job-noend", state=kt.SUCCEEDED, tasks=2, transitions=False)
    Task.objects.filter(job=job, position=1).update(end_time=None)
    data = live_block(client_in.get(detail_url(job), **HX).content.decode())
    assert [bar[0] for bar in data["gantt"]["bars"]] == [0]  # t1's duration shows a dash
