"""What the log viewer shows: the tabs of a task (one per party, replica and container), the
selected log's window (its end, a line, or a search match) and the links between them. The
views (logs.views) only pick the template; everything here reads the database through named
queryset methods and the storage through logs.viewer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _

from connections import nodes
from jobs.models import Job, PartyStatus, Task
from kuscia import types as kt
from logs import viewer
from logs.models import TaskLog

LIVE_SECONDS = 3


@dataclass
class Tab:
    domain: str
    log: TaskLog | None
    label: str
    url: str
    selected: bool = False
    reason: str = ""  # why there is no log (no node serves the party, not fetched yet)
    hint: str = ""


@dataclass
class View:
    """One log's window and what is around it (the #log-view fragment)."""

    log: TaskLog
    window: viewer.Window
    focus: int = 0  # the line asked for (permalink, match)
    search: viewer.Search | None = None
    match: int = 0  # index of the current match in search.lines
    live: bool = False  # at the end of a log that is still being followed: refresh it
    urls: dict[str, str] = field(default_factory=dict)


@dataclass
class TaskRef:
    job: Job
    task_id: str
    spec_parties: list[str]  # the parties the job's spec names (empty when it is not known)


def get_task(connection: str, job_id: str, task_id: str) -> TaskRef:
    """The job and the task's parties from its spec (404 when the job has no such task)."""
    job = Job.objects.for_detail(connection, job_id).first()
    specs = (
        Task.objects.filter(job=job, task_id=task_id).values_list("party_spec", flat=True)
        if job is not None
        else None
    )
    spec = specs.first() if specs is not None else None
    if job is None or spec is None:
        raise Http404(_("No such task on this connection."))
    names = [p.get("domain_id") for p in spec or [] if isinstance(p, dict)]
    return TaskRef(job, task_id, [n for n in names if isinstance(n, str) and n])


def task_parties(ref: TaskRef) -> list[str]:
    """The task's parties: the spec's, else the parties Kuscia reported."""
    if ref.spec_parties:
        return sorted(set(ref.spec_parties))
    reported = PartyStatus.objects.filter(task__job=ref.job, task__task_id=ref.task_id)
    return sorted(set(reported.values_list("domain_id", flat=True)))


def no_node_reason(job: Job, domain: str) -> str:
    """Why no connection serves `domain`'s logs (stored English, shown through `stored`);
    "" when one does."""
    node = nodes.log_node_for(job.connection, domain)
    return node.reason if node.connection is None else ""


def panel_url(job: Job, task_id: str, **params: Any) -> str:
    base = reverse("logs:task", args=[job.connection.name, job.job_id, task_id])
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{base}?{query}" if query else base


def tabs(ref: TaskRef, selected: str) -> list[Tab]:
    """One tab per log of the task's latest run, and one per party that has none (saying why).
    `selected`: a log id; the first tab with a log otherwise."""
    job, task_id = ref.job, ref.task_id
    logs = TaskLog.objects.tabs(job, task_id)
    replicas = {(lg.domain_id, lg.replica_idx) for lg in logs}
    several = {d for d, r in replicas if r > 0}  # parties with more than one replica
    out: list[Tab] = []
    for lg in logs:
        label = lg.domain_id
        if lg.domain_id in several:
            label += " · " + _("replica %(n)d") % {"n": lg.replica_idx}
        if lg.container:  # only set when the pod has several containers
            label += f" · {lg.container}"
        out.append(Tab(lg.domain_id, lg, label, panel_url(job, task_id, log=lg.pk)))
    have = {lg.domain_id for lg in logs}
    for domain in task_parties(ref):
        if domain in have:
            continue
        node = nodes.log_node_for(job.connection, domain)
        if node.connection is None:
            reason, hint = node.reason, node.hint
        else:
            reason = _("Not fetched yet: the archive reads it from %(node)s within seconds.") % {
                "node": node.connection.name
            }
            hint = ""
        out.append(
            Tab(domain, None, domain, panel_url(job, task_id, party=domain), False, reason, hint)
        )
    out.sort(
        key=lambda t: (
            t.domain,
            t.log.replica_idx if t.log else 0,
            t.log.container if t.log else "",
        )
    )
    chosen = next((t for t in out if t.log is not None and str(t.log.pk) == selected), None)
    chosen = chosen or next((t for t in out if t.domain == selected), None)
    if chosen is None and not selected:  # a failed task opens on the party that failed
        failed = dict(  # the party with Kuscia's error first (its peers fail with it)
            PartyStatus.objects.filter(
                task__job=job, task__task_id=task_id, state=kt.FAILED
            ).values_list("domain_id", "err_msg")
        )
        culprits = sorted(failed, key=lambda d: (not failed[d], d))
        with_log = {t.domain: t for t in out if t.log is not None}
        chosen = next((with_log[d] for d in culprits if d in with_log), None)
    chosen = chosen or next((t for t in out if t.log is not None), None)
    chosen = chosen or (out[0] if out else None)
    if chosen is not None:
        chosen.selected = True
    return out


def _int(query: QueryDict, name: str) -> int:
    value = query.get(name, "")
    return int(value) if value.isdecimal() and len(value) < 12 else 0


def view(log: TaskLog, query: QueryDict, *, permalink_base: str) -> View:
    """The window the request asks for: `q` (+ `m`, the match) a search; `line` a line;
    otherwise the end (and live while the log is being followed)."""
    text = viewer.clean_query(query.get("q", ""))
    line = _int(query, "line")
    result = viewer.search(log, text) if text else None
    match = 0
    if result is not None and result.lines:
        match = min(_int(query, "m"), len(result.lines) - 1)
        line = result.lines[match]
    window = viewer.window_at(log, line) if line else viewer.window_end(log)
    viewer.mark(window, text)
    page = View(log, window, focus=line, search=result, match=match)
    page.live = not line and not text and not log.is_final and log.state != log.State.UNAVAILABLE
    view_url = reverse("logs:view", args=[log.pk])

    def at(**params: Any) -> str:
        return f"{view_url}?{urlencode({k: v for k, v in params.items() if v not in (None, '')})}"

    page.urls = {
        "view": view_url,
        "end": at(),
        "download": reverse("logs:download", args=[log.pk]),
        "permalink": f"{permalink_base}{'&' if '?' in permalink_base else '?'}log={log.pk}",
    }
    if not window.at_start and window.lines:
        page.urls["earlier"] = at(line=max(window.first - viewer.WINDOW // 2, 1))
    if not window.at_end and window.lines:
        page.urls["later"] = at(line=window.last + viewer.WINDOW // 2)
    if log.first_error_line:
        page.urls["error"] = at(line=log.first_error_line)
    if result is not None and result.lines:
        count = len(result.lines)
        page.urls["next"] = at(q=text, m=(match + 1) % count)
        page.urls["previous"] = at(q=text, m=(match - 1) % count)
    return page
