"""The log viewer: a task's logs with one tab per party (replica, container), a log's window
(its end, live while it is followed; a line; a search match), the download, and the failing
party's last lines for the job page's failure card. Signed-in users only (the login
middleware); everything from Kuscia is escaped by the templates."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from logs import pages, viewer
from logs.models import TaskLog

STOP_POLLING = 286  # htmx stops polling an element answered with this status


@require_GET
@vary_on_headers("HX-Request")
def task_logs(request: HttpRequest, connection: str, job_id: str, task_id: str) -> HttpResponse:
    ref = pages.get_task(connection, job_id, task_id)
    job = ref.job
    selected = request.GET.get("log", "") or request.GET.get("party", "")
    tabs = pages.tabs(ref, selected)
    chosen = next((t for t in tabs if t.selected), None)
    context = {"job": job, "task_id": task_id, "tabs": tabs, "tab": chosen}
    if chosen is not None and chosen.log is not None:
        base = pages.panel_url(job, task_id)
        context["page"] = pages.view(chosen.log, request.GET, permalink_base=base)
    htmx = bool(getattr(request, "htmx", False))
    return render(request, "logs/panel.html#panel" if htmx else "logs/panel.html", context)


@require_GET
@vary_on_headers("HX-Request")
def log_view(request: HttpRequest, pk: int) -> HttpResponse:
    log = TaskLog.objects.for_viewer(pk)
    if log is None or log.job is None:
        raise Http404
    base = pages.panel_url(log.job, log.task_id)
    page = pages.view(log, request.GET, permalink_base=base)
    response = render(request, "logs/_view.html", {"page": page})
    polled = request.GET.get("poll") == "1"
    if polled and not page.live:
        response.status_code = STOP_POLLING  # final now: this was the last refresh
    return response


@require_GET
def log_download(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    log = TaskLog.objects.for_viewer(pk)
    if log is None:
        raise Http404
    response = StreamingHttpResponse(viewer.chunks(log), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{log.download_name}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def party_tail(
    request: HttpRequest, connection: str, job_id: str, task_id: str, domain: str
) -> HttpResponse:
    """The failure card's excerpt: a party's last lines and a link to its whole log."""
    job = pages.get_task(connection, job_id, task_id).job
    log = TaskLog.objects.of_party(job, task_id, domain)
    context = {
        "job": job,
        "task_id": task_id,
        "domain": domain,
        "log": log,
        "window": viewer.window_end(log, viewer.TAIL) if log is not None else None,
        "url": pages.panel_url(job, task_id, log=log.pk if log else None, party=domain),
        "reason": pages.no_node_reason(job, domain) if log is None else "",
    }
    return render(request, "logs/_tail.html", context)
