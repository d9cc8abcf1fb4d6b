"""Builders for the job page's large sections: the task graph, the party x task matrix, the
timeline and the history. Each is built in Python as one string (a template loop over 128
tasks, or 384 matrix cells, costs several times more). Every Kuscia-provided string goes
through `_e` (HTML escaping of & < > " '), so err_msg, aliases and ids stay text.

The page renders them once; the polled live part (views.job_live) renders them again with
`oob`, and htmx swaps them in out of band. What the user did in them survives the swap through
element ids (static/js/console.js): a graph node, a task link or a message's summary keeps the
focus, an opened message stays open (its id names its state and text: a message that changes
comes closed, as a new one) and keeps its scroll position."""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections.abc import Callable, Sequence
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import quote_plus

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, pgettext_lazy

from jobs import dag as dag_mod
from jobs.templatetags.kc import badge_html, duration, iso, percent, stamp, state_class, state_icon

if TYPE_CHECKING:
    from jobs.querysets import Change
    from jobs.views import GanttBar, TaskView

register = template.Library()

ERR_SUMMARY_CHARS = 60  # a matrix cell shows this much of a party's err_msg until opened
OOB = ' hx-swap-oob="true"'  # on a section's root in the live part: htmx swaps it by its id
CURRENT = ' aria-current="true"'  # the selected graph node


def _as_stored(text: str) -> str:
    return text


# How a recorded change's message is shown: the console's own messages are stored in English and
# translated where shown by dashboard.stored_texts.stored, which the layers keep out of jobs'
# reach; dashboard installs it at start (DashboardConfig.ready). Kuscia's messages stay as they are.
stored_message: Callable[[str], str] = _as_stored


def set_stored_message_reader(reader: Callable[[str], str]) -> None:
    global stored_message
    stored_message = reader


# A recorded change's kind and source (Transition.Kind, Transition.Source) in words.
HISTORY_WORDS = {
    "job": pgettext_lazy("a change of", "job"),
    "task": pgettext_lazy("a change of", "task"),
    "party": pgettext_lazy("a change of", "party"),
    "watch": pgettext_lazy("seen by", "watch"),
    "poll": pgettext_lazy("seen by", "poll"),
    "action": pgettext_lazy("seen by", "action"),
    "create": pgettext_lazy("seen by", "create"),
}


_MARKUP = re.compile("[&<>\"']")


def _e(value: object) -> str:
    text = str(value)
    return escape(text, quote=True) if _MARKUP.search(text) else text


def _safe(parts: Sequence[str]) -> SafeString:
    return mark_safe("".join(parts))  # noqa: S308 - every part is built from _e()'d values


def summary(text: str) -> str:
    """The first ERR_SUMMARY_CHARS characters of a message (Django's truncatechars)."""
    if len(text) <= ERR_SUMMARY_CHARS:
        return text
    return text[: ERR_SUMMARY_CHARS - 1] + "\u2026"


@register.simple_tag
def dag_svg(
    layout: dag_mod.Layout,
    tasks: Sequence[TaskView],
    selected: TaskView | None,
    task_base: str,
    now: dt.datetime,
    oob: bool = False,
) -> SafeString:
    """The task graph as inline SVG (its scroll box is the template's). Each node's link has
    the id `dag-<index in spec order>`, which gives it the focus back after a swap."""
    if not layout.nodes:
        return mark_safe("")
    w, h = dag_mod.NODE_W, dag_mod.NODE_H
    chosen = selected.task.task_id if selected is not None else None
    out = [
        f'<svg class="dag" id="job-dag"{OOB if oob else ""} '
        f'xmlns="http://www.w3.org/2000/svg" width="{layout.width}" height="{layout.height}" '
        f'viewBox="0 0 {layout.width} {layout.height}" role="group">'
        '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="8" '
        'markerHeight="8" orient="auto"><path d="M0,0 L8,4 L0,8 z" class="arrowhead"/></marker>'
        "</defs>"
    ]
    out.extend(f'<path class="edge" d="{e.d}" marker-end="url(#arrow)"/>' for e in layout.edges)
    base = _e(task_base)
    for i, tv in enumerate(tasks):
        t, b = tv.task, tv.box
        if b is None:
            continue
        alias = t.alias or t.task_id
        short = alias if len(alias) <= 22 else alias[:21] + "\u2026"
        pct = percent(t.progress)
        took = duration(t.start_time, t.end_time, now, t.state)
        meta = f"{t.state} \u00b7 {pct}% \u00b7 {took}"
        label = f"{alias}: {t.state}, {pct}%, {took}"  # the node's name in words
        is_chosen = t.task_id == chosen
        cls = state_class(t.state) + (" selected" if is_chosen else "")
        out.append(
            f'<a href="{base}?task={_e(quote_plus(t.task_id))}#task-panel" class="node {cls}" '
            f'id="dag-{i}" data-task="{_e(t.task_id)}" '
            f'aria-label="{_e(label)}"'
            f"{CURRENT if is_chosen else ''}>"
            f"<title>{_e(alias)} ({_e(t.task_id)}) \u2014 {_e(t.state)}</title>"
            f'<g transform="translate({b.x},{b.y})"><rect class="ring" x="-5" y="-5" '
            f'width="{w + 10}" height="{h + 10}" rx="9"/>'
            f'<rect class="box" width="{w}" height="{h}" rx="6"/>'
            f'<rect class="bar" y="{h - 4}" height="4" '
            f'width="{round((t.progress or 0) * w, 1)}"/>'
            f'<text class="icon" x="10" y="24">{state_icon(t.state)}</text>'
            f'<text class="alias" x="30" y="24">{_e(short)}</text>'
            f'<text class="meta" x="10" y="47">'
            f"{_e(meta)}</text></g></a>"
        )
    out.append("</svg>")
    return _safe(out)


def matrix_cell(key: str, state: str, err: str) -> str:
    """One party's cell; `key` (task and party column) plus a checksum of what the cell says
    make the ids that keep an opened message open, scrolled and focused across swaps."""
    if not err:
        return f"<td>{badge_html(state)}</td>"
    said = zlib.crc32(f"{state}\0{err}".encode())
    cid = f"mx-{key}-{said:08x}"
    return (
        f'<td>{badge_html(state)}<details class="errmsg" id="{cid}"><summary id="{cid}-s">'
        f'{_e(summary(err))}</summary><pre class="wrap" id="{cid}-m">{_e(err)}</pre></details>'
        "</td>"
    )


@register.simple_tag
def party_matrix(
    tasks: Sequence[TaskView], party_ids: Sequence[str], oob: bool = False
) -> SafeString:
    """One row per task (spec order), one cell per party: its state and err_msg."""
    out = [
        f'<table class="matrix" id="party-matrix"{OOB if oob else ""}>'
        f'<thead><tr><th scope="col">{_e(gettext("Task"))}</th>',
        *(f'<th scope="col">{_e(p)}</th>' for p in party_ids),
        "</tr></thead><tbody>",
    ]
    for i, tv in enumerate(tasks):
        t = tv.task
        out.append(
            f'<tr><th scope="row"><a id="mx-{i}" href="?task={_e(quote_plus(t.task_id))}'
            f'#task-panel">{_e(t.alias or t.task_id)}</a></th>'
        )
        for j, ps in enumerate(tv.in_columns(party_ids)):
            out.append(
                matrix_cell(f"{i}-{j}", ps.state, ps.err_msg)
                if ps
                else '<td><span class="muted">\u2013</span></td>'
            )
        out.append("</tr>")
    out.append("</tbody></table>")
    return _safe(out)


@register.simple_tag
def gantt_svg(bars: Sequence[GanttBar], height: int) -> SafeString:
    """Bars per task on one time axis (positions precomputed by views._gantt)."""
    out = [
        f'<svg class="gantt" id="job-gantt" xmlns="http://www.w3.org/2000/svg" width="100%" '
        f'height="{height}" role="img" aria-label="{_e(gettext("Task timeline"))}">'
    ]
    for bar in bars:
        t = bar.task
        alias = t.alias or t.task_id
        short = alias if len(alias) <= 28 else alias[:27] + "\u2026"
        y = bar.row * 22
        out.append(
            f'<g class="{state_class(t.state)}"><title>{_e(alias)}: '
            f"{bar.label} ({_e(t.state)})</title>"
            f'<rect class="lane" x="0" y="{y}" width="100%" height="20"/>'
            f'<rect class="span" x="{bar.start * 100:.2f}%" y="{y}" '
            f'width="{bar.width * 100:.2f}%" height="20" rx="3"/>'
            f'<text x="4" y="{y}" dy="14">{state_icon(t.state)} {_e(short)} \u00b7 {bar.label}'
            "</text></g>"
        )
    out.append("</svg>")
    return _safe(out)


@register.filter
def history_word(value: str) -> str:
    """A change's kind or source in words (as stored when it is none of HISTORY_WORDS)."""
    return str(HISTORY_WORDS.get(value, value))


@register.simple_tag
def history_rows(transitions: Sequence[Change], with_task: bool = True) -> SafeString:
    """The history table's rows: when, what, old -> new state, source, message."""
    out = []
    new = gettext("(new)")
    for tr in transitions:
        what = _e(history_word(tr.kind))
        if with_task and tr.task_id:
            what += " " + _e(tr.task_id)
        if tr.domain_id:
            what += " @" + _e(tr.domain_id)
        out.append(
            f'<tr><td class="nowrap"><time datetime="{iso(tr.observed_at)}">'
            f"{stamp(tr.observed_at)}</time></td>"
            f'<td>{what}</td><td class="nowrap">{_e(tr.old_state or new)} \u2192 '
            f"{_e(tr.new_state)}</td><td>{_e(history_word(tr.source))}</td>"
            f'<td class="wrap">{_e(stored_message(tr.message))}</td></tr>'
        )
    return _safe(out)
