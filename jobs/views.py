"""Monitoring pages: overview, job list, job detail, task detail. They read the local DB only
(except a task's logs, fetched from Kuscia's log API on demand). The overview, the list and the
task page answer a self-refreshing fragment's request (`request.htmx`) with their named partial;
the job page's parts have URLs of their own (job_live, job_history, job_raw, job_endpoints)."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from audit.models import AuditRecord
from connections.models import Connection
from jobs import dag, failure, stats
from jobs.http import HtmxHttpRequest
from jobs.models import Job, Task, Transition
from jobs.querysets import (
    COUNT_CAP,
    FILTER_STATES,
    GONE,
    PAGE_SIZES,
    SORTS,
    Cursor,
    JobFilter,
    KeysetPage,
    PartyRow,
    TaskRow,
)
from jobs.templatetags.kc import (
    human_seconds,
    request_sync_health,
    sync_indicator_context,
)
from kuscia import types as kt

# htmx stops polling an element whose response has this status (and we also drop the trigger).
STOP_POLLING = 286
POLL_SECONDS = 3  # the job list, a job's page and a task's page, while something is live
OVERVIEW_POLL_SECONDS = 10  # the overview's counts are recounted by beat (KC_STATS_SECONDS)
HISTORY_SHOWN = 60  # newest changes in the opened history (?history=all for every one)
HISTORY_INLINE = 30  # up to this many are on the page, open; more load when it is opened
# The job list's sort choices in words (querysets.SORTS: the keys in URLs -> columns).
SORT_LABELS = {
    "created": gettext_lazy("Created"),
    "changed": gettext_lazy("Last change"),
    "state": gettext_lazy("State"),
    "job": gettext_lazy("Job"),
    "initiator": gettext_lazy("Initiator"),
    "progress": gettext_lazy("Progress"),
}


def _respond(
    request: HtmxHttpRequest, template: str, context: dict[str, Any], *, done: bool
) -> HttpResponse:
    response = render(request, template, context)
    if request.htmx and done:
        response.status_code = STOP_POLLING
    return response


# ------------------------------------------------------------------------------ overview


@require_GET
@vary_on_headers("HX-Request")
def overview(request: HtmxHttpRequest) -> HttpResponse:
    now = timezone.now()
    jobs = Job.objects
    counted = stats.current(now)  # counts and activity, recounted by beat off the request path
    context: dict[str, Any] = {
        "now": now,
        "total": sum(counted.counts.values()),
        "counts": {state: counted.counts.get(state, 0) for state in FILTER_STATES},
        "gone": GONE,
        "stats": counted,
        "running": list(jobs.running_for_overview()),
        "failures": list(jobs.recent_failures()),
        "stuck": list(jobs.stuck(now)),
        "activity": counted.activity,
        "sync": request_sync_health(request),
        "poll_seconds": OVERVIEW_POLL_SECONDS,
    }
    template = "jobs/overview.html#live" if request.htmx else "jobs/overview.html"
    return render(request, template, context)


# ------------------------------------------------------------------------------ list


@require_GET
@vary_on_headers("HX-Request")
def job_list(request: HtmxHttpRequest) -> HttpResponse:
    f = JobFilter.from_query(request.GET)
    page = _list_page(request, f)
    rows = page.rows
    count = Job.objects.filtered(f).bounded_count()
    any_active = any(j.state in kt.ACTIVE_JOB_STATES and j.gone_at is None for j in rows)
    context = {
        "f": f,
        "page": page,
        "jobs": rows,
        "count": min(count, COUNT_CAP),
        "count_capped": count > COUNT_CAP,
        "any_active": any_active,
        "now": timezone.now(),
        "states": FILTER_STATES,
        "gone": GONE,
        "sorts": {key: SORT_LABELS[key] for key in SORTS},
        "page_sizes": PAGE_SIZES,
        "poll_seconds": POLL_SECONDS,
    }
    if request.htmx:
        return _respond(request, "jobs/list.html#table", context, done=not any_active)
    context["facets"] = Job.objects.list_facets()
    return render(request, "jobs/list.html", context)


def _list_page(request: HttpRequest, f: JobFilter) -> KeysetPage:
    """The rows after/before the cursor in the URL (pages are cursors, never OFFSET). A cursor
    that no longer leads anywhere (rows deleted, malformed) falls back to the first page."""
    after = Cursor.decode(request.GET.get("after", ""), f.sort)
    before = None if after else Cursor.decode(request.GET.get("before", ""), f.sort)
    page = Job.objects.keyset_page(f, after=after, before=before)
    if not page.rows and (after or before):
        page = Job.objects.keyset_page(f)
    return page


# ------------------------------------------------------------------------------ detail


@dataclass
class TaskView:
    task: Task | TaskRow  # a TaskRow on the job page; the selected task's panel has the model
    parties: list[PartyRow]
    box: dag.NodeBox | None = None

    def in_columns(self, party_ids: Sequence[str]) -> list[PartyRow | None]:
        """The task's party in each matrix column (None where it has none)."""
        by_party = {p.domain_id: p for p in self.parties}
        return [by_party.get(pid) for pid in party_ids]


@dataclass
class GanttBar:
    task: Task | TaskRow
    index: int  # the task's index in spec order (data-i, as in the graph and the matrix)
    row: int
    start: float  # 0..1 of the span
    width: float
    label: str


class JobNotFound(Http404):
    """No such job (or task) here: the job and task pages answer jobs/not_found.html for it."""

    def __init__(self, connection: str, job_id: str, task_id: str = "") -> None:
        super().__init__("No such job or task on this connection (yet).")
        self.connection, self.job_id, self.task_id = connection, job_id, task_id


def _get_job(connection: str, job_id: str) -> Job:
    job = Job.objects.for_detail(connection, job_id).first()
    if job is None:
        raise JobNotFound(connection, job_id)
    return job


View = Callable[..., HttpResponse]


def _not_found_page(view: View) -> View:
    """A page view whose missing job or task is answered with the console's 404 page inside
    the layout (also with Django's debug pages on): what it looked for, and "Track this id"
    for an operator when the connection exists."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except JobNotFound as missing:
            names = Connection.objects.names()
            context = {
                "missing": missing,
                "known_connection": missing.connection in names,
                "connections": names,
            }
            return render(request, "jobs/not_found.html", context, status=404)

    return wrapped


def _job_context(job: Job, selected: str, *, full: bool = True) -> dict[str, Any]:
    """Everything the job page shows; a fixed number of queries for any number of tasks.
    full=False: what the live part needs (no endpoints, no spec in the task panel)."""
    rows = Task.objects.for_job_page(job, full=full)
    tasks = [TaskView(t, t.party_list) for t in rows.tasks]
    party_ids = list(job.parties) or sorted({p.domain_id for tv in tasks for p in tv.parties})
    known = set(party_ids)
    for tv in tasks:
        for p in tv.parties:
            if p.domain_id not in known:
                known.add(p.domain_id)
                party_ids.append(p.domain_id)
    now = timezone.now()
    until = _until(job, now)
    spec = spec_digest(tasks, party_ids)
    where = (job.connection.name, job.job_id)
    poll = {"task": selected, "spec": spec} if selected else {"spec": spec}
    layout = dag.layout([(tv.task.alias or tv.task.task_id, tv.task.dependencies) for tv in tasks])
    boxes = {n.alias: n for n in layout.nodes}
    for tv in tasks:
        tv.box = boxes.get(tv.task.alias or tv.task.task_id)
    context: dict[str, Any] = {
        "job": job,
        "tasks": tasks,
        "party_ids": party_ids,
        "why": _explain(job, tasks),
        "selected": next((tv for tv in tasks if tv.task.task_id == selected), None),
        "now": until,  # what durations run to (templates use `now` for nothing else)
        "poll_seconds": POLL_SECONDS,
        "done": job.is_terminal,
        "has_tasks": bool(tasks),
        "layout": layout,
        "task_states": kt.TASK_STATES,  # the matrix filter's choices
        "gantt": _gantt(tasks, Transition.objects.task_times(job), until),
        "spec": spec,
        "page_path": reverse("jobs:detail", args=where),
        "live_url": reverse("jobs:detail_live", args=where) + "?" + urlencode(poll),
    }
    if full:
        context["selected"] = _with_spec(job, context["selected"])
        context["endpoints"] = _endpoints(tasks)
        context["endpoints_complete"] = rows.endpoints_complete
    return context


def _until(job: Job, now: dt.datetime) -> dt.datetime:
    """Where a running task's (or the job's) duration ends: now, or when Kuscia lost the job
    (its tasks did not run on after that as far as anyone knows)."""
    return job.gone_at if job.gone_at is not None and job.gone_at < now else now


def _with_spec(job: Job, tv: TaskView | None) -> TaskView | None:
    """The selected task for its panel, read again with its spec (the page's task rows leave
    the spec columns out)."""
    if tv is None:
        return None
    task = Task.objects.with_spec(job, tv.task.task_id)
    return TaskView(task, tv.parties, tv.box) if task is not None else tv


def spec_digest(tasks: list[TaskView], party_ids: list[str]) -> str:
    """A short digest of the page's structure (task ids in spec order, party columns). The
    page polls with its own; the live part has the page reload when the job has another
    structure now (the spec was fetched after the page loaded, the job was re-created, a party
    appeared): only a new page can show it."""
    key = "\n".join(tv.task.task_id for tv in tasks) + "\0" + "\n".join(party_ids)
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


def _explain(job: Job, tasks: list[TaskView]) -> failure.Explanation:
    """Why the job failed, stopped or restarted (jobs.failure); when Kuscia's message tells of
    a command, the audit record of it says who, when and why (one more query)."""
    command = failure.command_of(job)
    record = None
    if command is not None:
        record = AuditRecord.objects.last_done(
            connection_id=job.connection_id, job_id=job.job_id, action=command.action
        )
    return failure.explain(job, tasks, record)


def _endpoints(tasks: list[TaskView]) -> list[dict[str, Any]]:
    """Every endpoint grouped by party, then task."""
    out: dict[str, list[dict[str, Any]]] = {}
    for tv in tasks:
        for p in tv.parties:
            for e in p.endpoint_list:
                out.setdefault(p.domain_id, []).append({"task": tv.task, "e": e})
    return [{"party": k, "items": v} for k, v in sorted(out.items())]


def _gantt(
    tasks: list[TaskView], times: list[tuple[str, str, dt.datetime]], now: dt.datetime
) -> dict[str, Any]:
    """Bars per task from recorded task transitions (TransitionQuerySet.task_times): from the
    first Running to the last terminal state; a task still running reaches `now`."""
    running: dict[str, dt.datetime] = {}
    ended: dict[str, dt.datetime] = {}
    for task_id, state, when in times:
        if state == kt.RUNNING:
            running.setdefault(task_id, when)
            ended.pop(task_id, None)
        elif state in (kt.SUCCEEDED, kt.FAILED):
            ended[task_id] = when
    spans = []
    for index, tv in enumerate(tasks):
        tid = tv.task.task_id
        start = running.get(tid) or tv.task.start_time
        if start is None:
            continue
        end = ended.get(tid) or tv.task.end_time
        if end is None:
            if tv.task.state in (kt.SUCCEEDED, kt.FAILED):
                continue  # finished, but when is unknown: no bar (its duration shows a dash too)
            end = now
        spans.append((tv.task, index, start, end))
    if not spans:
        return {"bars": [], "height": 0, "caption": ""}
    lo = min(s for _, _, s, _ in spans)
    hi = max(e for _, _, _, e in spans)
    total = max((hi - lo).total_seconds(), 1.0)
    bars = [
        GanttBar(
            task,
            index,
            row,
            (s - lo).total_seconds() / total,
            max((e - s).total_seconds() / total, 0.004),
            human_seconds((e - s).total_seconds()),
        )
        for row, (task, index, s, e) in enumerate(spans)
    ]
    # The caption is worded in the template, where the start gets its zone (kc_time's |when).
    caption = {"start": lo, "took": human_seconds(total)}
    return {"bars": bars, "height": len(bars) * 22 + 8, "caption": caption}


ETAG_SECONDS = 30


def _status_etag(job: Job, selected: str) -> str:
    key = "|".join(
        str(v)
        for v in (
            job.pk,
            job.state,
            job.status_hash,
            job.last_changed.timestamp(),
            job.progress,
            job.gone_at,
            selected,
            int(time.time() // ETAG_SECONDS),
        )
    )
    return '"' + hashlib.blake2b(key.encode(), digest_size=12).hexdigest() + '"'


def _not_modified(etag: str) -> HttpResponse:
    response = HttpResponseNotModified()
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    response["Vary"] = "HX-Request"
    return response


# The job page and its parts, one URL each; every part is a named partial of jobs/detail.html.


@require_GET
@vary_on_headers("HX-Request")
@_not_found_page
def job_detail(request: HtmxHttpRequest, connection: str, job_id: str) -> HttpResponse:
    if request.htmx:  # a page from before its parts had URLs of their own: it needs this one
        return HttpResponse(headers={"HX-Refresh": "true"})
    job = _get_job(connection, job_id)
    context = _job_context(job, request.GET.get("task", ""))
    # A short history is on the page; a long one loads (newest HISTORY_SHOWN) when opened,
    # unless the user asked for every change (?history=all).
    if request.GET.get("history") == "all":
        changes, total = Transition.objects.history(job, None)
        lazy = False
    else:  # one more than fits tells whether it fits (counting them all would read them all)
        changes = Transition.objects.newest(job, HISTORY_INLINE + 1)
        lazy = len(changes) > HISTORY_INLINE
        total = len(changes)
    context["transitions"] = [] if lazy else changes
    context["history_total"] = total
    context["history_cut"] = False
    context["history_lazy"] = lazy
    context["history_inline"] = HISTORY_INLINE
    if request.GET.get("raw"):  # ?raw=1: the reply on the page (a link, or no JavaScript)
        context["raw"] = Job.objects.raw_reply(job.pk)
        context["raw_inline"] = True
    return render(request, "jobs/detail.html", context)


@require_GET
@gzip_page
@vary_on_headers("HX-Request")
def job_live(request: HtmxHttpRequest, connection: str, job_id: str) -> HttpResponse:
    """The page's polled part: the status and, out of band, the graph, the matrix, the
    timeline and the selected task's live part. Polls of an unchanged job get 304 from the
    job row alone (the browser revalidates with If-None-Match and hands htmx its cached copy);
    relative times are refreshed at least every ETAG_SECONDS. A job whose tasks or parties are
    not those of the page (`spec`) has the page reload.

    Compressed when the browser accepts it (a 128-task job's part: about 160 KB of markup, 11
    KB gzipped; it holds no secret, so compression leaks none). Compression makes the ETag
    weak (W/"..."), which the browser sends back as it is."""
    job = _get_job(connection, job_id)
    selected = request.GET.get("task", "")
    etag = _status_etag(job, selected)
    if not job.is_terminal and request.headers.get("If-None-Match") in (etag, "W/" + etag):
        return _not_modified(etag)
    context = _job_context(job, selected, full=False)
    if request.GET.get("spec", context["spec"]) != context["spec"]:
        return HttpResponse(headers={"HX-Refresh": "true"})
    response = _respond(request, "jobs/detail.html#live", context, done=context["done"])
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response


@require_GET
def job_history(request: HttpRequest, connection: str, job_id: str) -> HttpResponse:
    """The newest HISTORY_SHOWN changes, loaded when a long history is opened."""
    changes, total = Transition.objects.history(_get_job(connection, job_id), HISTORY_SHOWN)
    context = {"transitions": changes, "history_total": total, "history_cut": total > len(changes)}
    return render(request, "jobs/detail.html#history", context)


@require_GET
def job_raw(request: HttpRequest, connection: str, job_id: str) -> HttpResponse:
    """The last raw Kuscia reply, loaded when its <details> is opened."""
    raw = Job.objects.raw_reply(_get_job(connection, job_id).pk)
    return render(request, "jobs/detail.html#raw", {"raw": raw})


@require_GET
def job_endpoints(request: HttpRequest, connection: str, job_id: str) -> HttpResponse:
    """One party's endpoints (?party=), loaded when the party is opened on a large job."""
    job = _get_job(connection, job_id)
    party = request.GET.get("party", "")
    items = [{"task": e.party.task, "e": e} for e in Task.objects.endpoints_of_party(job, party)]
    group = {"party": party, "items": items}
    return render(request, "jobs/detail.html#endpoints", {"group": group})


@require_GET
@vary_on_headers("HX-Request")
@_not_found_page
def task_detail(
    request: HtmxHttpRequest, connection: str, job_id: str, task_id: str
) -> HttpResponse:
    job = _get_job(connection, job_id)
    task = Task.objects.one_for_page(job, task_id)
    if task is None:
        raise JobNotFound(connection, job_id, task_id)
    context: dict[str, Any] = {
        "job": job,
        "selected": TaskView(task, task.party_list),  # type: ignore[attr-defined]
        "now": _until(job, timezone.now()),  # what durations run to
        "poll_seconds": POLL_SECONDS,
        "done": job.is_terminal,
    }
    if request.htmx:
        return _respond(request, "jobs/task.html#status", context, done=context["done"])
    context["transitions"] = list(Transition.objects.for_task(job, task_id))
    return render(request, "jobs/task.html", context)


@require_GET
def sync_status(request: HtmxHttpRequest) -> HttpResponse:
    """The layout's sync indicator alone, polled by every page so "N s ago" and a new
    failure show up without a reload."""
    return render(request, "jobs/_sync_indicator.html", sync_indicator_context(request))
