"""Template helpers for the monitoring pages: state icons, durations, ages, sync indicator."""

from __future__ import annotations

import datetime as dt
import functools
import html
import json
import re
from typing import Any
from urllib.parse import quote

from django import template
from django.conf import settings
from django.http import QueryDict
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, gettext_lazy, ngettext

from jobs.failure import command_of
from jobs.inputs import loads_json
from jobs.querysets import GONE
from kuscia import types as kt

register = template.Library()

# State is never shown by colour alone: every badge carries an icon and the state's name.
ICONS = {
    kt.PENDING: "◷",
    kt.RUNNING: "▶",
    kt.SUCCEEDED: "✓",
    kt.FAILED: "✗",
    kt.AWAITING_APPROVAL: "◇",
    kt.APPROVAL_REJECT: "⊘",
    kt.CANCELLED: "■",
    kt.SUSPENDED: "‖",
    kt.UNKNOWN: "?",
}
GONE_ICON = "\u26a0"  # a job Kuscia no longer has, lost before it finished (querysets.GONE)
# Why a job is gone (Job.gone_reason, jobs.sync.marks.mark_gone's reasons) in words.
GONE_REASONS = {
    "deleted-here": gettext_lazy("deleted from this console"),
    "not-found": gettext_lazy("Kuscia answers that it has no such job"),
    "watch-deleted": gettext_lazy("the watch reported it deleted"),
}


@register.filter
def state_icon(state: str) -> str:
    return GONE_ICON if state == GONE else ICONS.get(state, "?")


@register.filter
def gone_reason(reason: str) -> str:
    """Why a job is gone, in words (the stored code when it is none of GONE_REASONS)."""
    return str(GONE_REASONS.get(reason, reason or "?"))


@register.filter
def state_class(state: str) -> str:
    if state == GONE:
        return "st-gone"
    return "st-" + (state.lower() if state in ICONS else "unknown")


_CONN, _JOB = "kc-connection-slot", "kc-job-slot"


@functools.cache
def _job_url_shape(script_prefix: str) -> str:
    return reverse("jobs:detail", args=(_CONN, _JOB))


@register.filter
def job_url(job: Any) -> str:
    """The job's detail URL; the same as {% url 'jobs:detail' ... %}, reversed once per
    process instead of once per table row (reverse() is the dearest part of a row)."""
    shape = _job_url_shape(get_script_prefix())
    return shape.replace(_CONN, quote(job.connection.name, safe="")).replace(
        _JOB, quote(job.job_id, safe="")
    )


@register.filter
def stamp(when: dt.datetime | None) -> str:
    """'2026-11-29 08:15:02' in the current time zone ('' for None): |date's result at a
    fraction of its cost, for table rows."""
    return timezone.localtime(when).strftime("%Y-%m-%d %H:%M:%S") if when else ""


@register.filter
def iso(when: dt.datetime | None) -> str:
    """ISO 8601 for <time datetime>, like |date:'c' ('' for None)."""
    return timezone.localtime(when).isoformat() if when else ""


def badge_html(state: str) -> str:
    """A state as icon and name (never colour alone), as an escaped plain string: the one
    badge markup, for this module's tags and the job page's builders (kc_detail)."""
    return (
        f'<span class="state {state_class(state)}"><span class="icon" aria-hidden="true">'
        f"{state_icon(state)}</span> {html.escape(state)}</span>"
    )


@register.simple_tag
def state_badge(state: str) -> SafeString:
    """badge_html as a template tag (it sits in every table row)."""
    return mark_safe(badge_html(state))  # noqa: S308 - badge_html escapes the state


def job_badge_html(state: str, gone: bool) -> str:
    """A job's state badge: a job Kuscia lost before it finished is not shown as running (or
    waiting) but as "gone while <last known state>"."""
    if not gone or state in kt.TERMINAL_JOB_STATES:
        return badge_html(state)
    text = gettext("gone while %(state)s") % {"state": state}
    return (
        f'<span class="state st-gone"><span class="icon" aria-hidden="true">{GONE_ICON}</span> '
        f"{html.escape(text)}</span>"
    )


@register.simple_tag
def job_badge(job: Any) -> SafeString:
    """job_badge_html of a job (its state and gone_at)."""
    return mark_safe(job_badge_html(job.state, job.gone_at is not None))  # noqa: S308


def human_seconds(seconds: float) -> str:
    """A short duration in the active language: 45s, 3m 05s, 2h 05m, 3d 4h (3分05秒 …). The
    same messages as dashboard.timefmt.human_duration, which the layers keep out of reach here
    (jobs sits below dashboard)."""
    s = max(int(seconds), 0)
    if s < 60:
        return gettext("%(s)ds") % {"s": s}
    m, s = divmod(s, 60)
    if m < 60:
        return gettext("%(m)dm %(s)02ds") % {"m": m, "s": s}
    h, m = divmod(m, 60)
    if h < 48:
        return gettext("%(h)dh %(m)02dm") % {"h": h, "m": m}
    d, h = divmod(h, 24)
    return gettext("%(d)dd %(h)dh") % {"d": d, "h": h}


def ago_text(when: dt.datetime | None) -> str:
    """'3m 05s ago' in the active language ('never' for None)."""
    if when is None:
        return gettext("never")
    took = human_seconds((timezone.now() - when).total_seconds())
    return gettext("%(duration)s ago") % {"duration": took}


@register.simple_tag
def duration(
    start: dt.datetime | None,
    end: dt.datetime | None,
    now: dt.datetime | None = None,
    state: str = "",
) -> str:
    """ "3m 05s" between start and end (or now, for something still running); a dash if unknown,
    which includes a finished `state` whose end time Kuscia did not report (counting up to now
    would make a finished job look longer every minute)."""
    if start is None or (end is None and state in kt.TERMINAL_JOB_STATES):
        return "\u2013"
    return human_seconds(((end or now or timezone.now()) - start).total_seconds())


@register.filter
def ago(when: dt.datetime | None) -> str:
    return ago_text(when)


_INNER_CAPITAL = re.compile("(?<=[a-z])(?=[A-Z])")


@register.filter
def breakable(text: str) -> SafeString:
    """Escaped text that may wrap before an inner capital: Awaiting<wbr>Approval."""
    return mark_safe(_INNER_CAPITAL.sub("<wbr>", html.escape(str(text))))  # noqa: S308


@register.filter
def percent(value: float | None) -> int:
    return round((value or 0) * 100)


def progress_html(progress: float | None, succeeded: int, count: int, *, words: bool) -> str:
    """A job's progress bar with what it means in words: the bar and the percentage are
    Kuscia's progress (the mean of its tasks' progress), the count is of succeeded tasks, so
    "25%" and "0/2 succeeded" stand side by side instead of a bare "0/2" next to a quarter-full
    bar. `words`: "tasks succeeded" (the job page) rather than "succeeded" (tables, lists)."""
    pct = percent(progress)
    done = (
        ngettext("%(ok)d/%(n)d task succeeded", "%(ok)d/%(n)d tasks succeeded", count)
        if words
        else gettext("%(ok)d/%(n)d succeeded")
    ) % {"ok": succeeded, "n": count}
    title = gettext("Kuscia's progress: %(pct)d%% (the mean of its tasks' progress)") % {"pct": pct}
    return (
        f'<span class="prog" title="{html.escape(title)}"><progress max="1" '
        f'value="{progress or 0}" aria-label="{html.escape(title)}"></progress> '
        f'{pct}% <span class="muted">\u00b7 {html.escape(done)}</span></span>'
    )


@register.filter
def command_said(job: Any) -> str:
    """A job's message in words when it is only Kuscia's trace of a command ("Party:  execute
    the cmd: Stop." -> "Stopped"), else "" (the message says something itself)."""
    command = command_of(job) if job.err_msg else None
    if command is None:
        return ""
    return {
        "stop": gettext("Stopped"),
        "cancel": gettext("Cancelled"),
        "restart": gettext("Restarted"),
    }.get(command.action, "")


@register.simple_tag
def job_progress(job: Any, words: bool = False) -> SafeString:
    """progress_html of a job."""
    html_ = progress_html(job.progress, job.tasks_succeeded, job.task_count, words=words)
    return mark_safe(html_)  # noqa: S308 - built from numbers and escaped texts


@register.filter
def thousands(value: int | None) -> str:
    """12345 -> '12,345' (counts on the overview's tiles)."""
    return f"{value or 0:,}"


@register.filter
def pretty_json(text: Any) -> str:
    """Pretty-print JSON given as text or data; text that is not JSON (or is nested too deeply
    to read, or holds a lone surrogate) comes back unchanged. The result is escaped by the
    template like any other string."""
    if isinstance(text, str):
        if not text.strip():
            return ""
        try:  # (text holding a lone surrogate escape is shown as written, not decoded)
            return json.dumps(loads_json(text), indent=2, ensure_ascii=False, sort_keys=False)
        except ValueError:
            return text
    try:
        return json.dumps(text, indent=2, ensure_ascii=False, sort_keys=False)
    except RecursionError:  # data (from a JSON field) nested deeper than the stack here allows
        return gettext("(nested too deeply to show)")


@register.simple_tag(takes_context=True)
def query_with(context: template.Context, **changes: Any) -> str:
    """The current query string with some parameters replaced ("" removes one)."""
    request = context.get("request")
    query: QueryDict = request.GET.copy() if request is not None else QueryDict(mutable=True)
    for key, value in changes.items():
        if value in ("", None):
            query.pop(key, None)
        else:
            query[key] = str(value)
    encoded = query.urlencode()
    return "?" + encoded if encoded else "?"


def stale_after() -> dt.timedelta:
    """Sync data older than this is called stale (several missed poll rounds)."""
    return dt.timedelta(seconds=max(60.0, 6 * float(getattr(settings, "KUSCIA_POLL_SECONDS", 5))))


def sync_health(connections: Any) -> list[dict[str, Any]]:
    """One entry per connection: name, last success, age text, failing/stale flags, error."""
    now = timezone.now()
    out = []
    for c in connections:
        sync = getattr(c, "sync", None) if _has_sync(c) else None
        last = sync.last_success if sync else None
        failing = bool(sync and sync.last_error_at and (last is None or sync.last_error_at >= last))
        stale = last is None or now - last > stale_after()
        out.append(
            {
                "connection": c,
                "last_success": last,
                "age": ago_text(last),
                "failing": failing,
                "stale": stale,
                "kind": sync.last_error_kind if sync else "",
                "message": sync.last_error_message if sync else "",
                "hint": sync.last_error_hint if sync else "",
                "failures": sync.consecutive_failures if sync else 0,
                "watch_since": sync.watch_connected_since if sync else None,
            }
        )
    return out


def _has_sync(connection: Any) -> bool:
    try:
        connection.sync  # noqa: B018
    except Exception:  # RelatedObjectDoesNotExist: never synced yet
        return False
    return True


def request_sync_health(request: Any) -> list[dict[str, Any]]:
    """sync_health of every enabled connection, read once per request (the layout's
    indicator and the overview's sync card show the same rows)."""
    from connections.models import Connection

    cached = getattr(request, "_kc_sync_health", None)
    if cached is None:
        cached = sync_health(Connection.objects.with_sync())
        request._kc_sync_health = cached
    return cached


def sync_indicator_context(request: Any) -> dict[str, Any]:
    """Context of the sync indicator: one query for every enabled connection."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"health": [], "show": False}
    health = request_sync_health(request)
    return {
        "health": health,
        "show": True,
        "problems": banner_items(health),
        "request": request,
    }


def banner_items(health: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The red banner's items, grouped so that ten connections with one problem make one item,
    not ten: failing connections by error kind and hint (each keeps its own message in `rows`;
    the hint is said once), stale ones alike; never-synced connections apart from the others
    in both cases (`age`: the oldest)."""
    items: list[dict[str, Any]] = []
    groups: dict[tuple[object, ...], dict[str, Any]] = {}
    for h in health:
        if not (h["failing"] or h["stale"]):
            continue
        never = h["last_success"] is None
        key = ("failing", h["kind"], h["hint"], never) if h["failing"] else ("stale", never)
        row = {"name": h["connection"].name, "message": h["message"], "age": h["age"]}
        group = groups.get(key)
        if group is None:
            group = groups[key] = {**h, "names": [], "rows": []}
            items.append(group)
        elif not never and h["last_success"] < group["last_success"]:
            group.update(last_success=h["last_success"], age=h["age"])
        group["names"].append(row["name"])
        group["rows"].append(row)
    return items


@register.inclusion_tag("jobs/_sync_indicator.html", takes_context=True)
def sync_indicator(context: template.Context) -> dict[str, Any]:
    """The sync indicator in the layout (it refreshes itself through jobs:sync_status)."""
    return sync_indicator_context(context.get("request"))


@register.simple_tag
def job_row(job: Any, now: dt.datetime) -> str:
    """One row of the job list (list.html's table head names the columns), built in Python:
    the list re-renders up to 200 rows on every poll, and a template row costs several times
    more. format_html escapes every value."""
    gone = job.gone_at is not None
    return format_html(
        '<tr class="{}"><td><a class="jobid" href="{}">{}</a><div class="muted small">{}{}</div>'
        "</td><td>{}</td><td>{}</td><td>{}</td>"
        '<td class="nowrap">{}</td><td class="nowrap"><time datetime="{}">{}</time></td>'
        '<td class="nowrap">{}</td><td class="nowrap">{}</td></tr>',
        "gone" if gone else "",
        job_url(job),
        job.job_id,
        job.connection.name,
        " · " + gettext("gone from Kuscia") if gone else "",
        mark_safe(job_badge_html(job.state, gone)),  # noqa: S308 - escaped there
        job.initiator or "\u2013",
        ", ".join(job.parties or ()) or "\u2013",
        job_progress(job),
        iso(job.create_time),
        stamp(job.create_time) or "\u2013",
        duration(job.start_time, job.stopped_at, now, job.state),
        ago(job.last_changed),
    )
