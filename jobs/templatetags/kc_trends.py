"""The overview's trend charts, drawn on the server as SVG from the stored trends
(jobs.trends): readable without JavaScript, every bar group titled (a tooltip), the chart named
and summed up for screen readers (role="img", <title>, <desc>), and its numbers in a table
beside it. Colour is never the only cue: a legend names each series and the table has them."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

from django import template
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from jobs.trends import SERIES

register = template.Library()

# The section as rendered, by (when the trends were computed, language, time zone): the trends
# change once a minute, so the overview (polled, and opened often) draws them once per minute
# per language and zone instead of on every request. The section holds nothing of the user.
_RENDERED: dict[tuple[str, str, str], str] = {}
_RENDERED_MAX = 64

WIDTH, HEIGHT = 540, 160
LEFT, BOTTOM, TOP = 34, 22, 10


def _labels() -> dict[str, str]:
    return {"started": _("started"), "succeeded": _("succeeded"), "failed": _("failed")}


def _when(iso: str, unit: str) -> str:
    at = timezone.localtime(dt.datetime.fromisoformat(iso))
    return at.strftime("%H:%M") if unit == "hours" else at.strftime("%m-%d")


@register.simple_tag
def trend_chart(trends: dict[str, Any], unit: str, chart_id: str) -> SafeString:
    """An SVG bar chart of trends[unit] ("hours" or "days"): per bucket three bars (started,
    succeeded, failed), the y axis from 0 to the largest count."""
    rows = trends.get(unit) or []
    if not rows:
        return SafeString("")
    labels = _labels()
    top = max(max(r[k] for k in SERIES) for r in rows) or 1
    plot_w, plot_h = WIDTH - LEFT - 4, HEIGHT - BOTTOM - TOP
    slot = plot_w / len(rows)
    bar = max(slot / 4, 1.0)
    every = 6 if unit == "hours" else 5
    totals = {k: sum(r[k] for r in rows) for k in SERIES}
    title = (
        _("Jobs per hour, last 24 hours") if unit == "hours" else _("Jobs per day, last 30 days")
    )
    desc = _("In all: %(started)s started, %(succeeded)s succeeded, %(failed)s failed.") % totals
    parts = [
        f'<svg class="trend" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d">',
        f'<title id="{chart_id}-t">{html.escape(title)}</title>',
        f'<desc id="{chart_id}-d">{html.escape(desc)}</desc>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_h}" '
        f'x2="{WIDTH - 4}" y2="{TOP + plot_h}"/>',
        f'<text class="tick" x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end">{top}</text>',
        f'<text class="tick" x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end">0</text>',
    ]
    for i, r in enumerate(rows):
        x0 = LEFT + i * slot + (slot - 3 * bar) / 2
        when = _when(r["t"], unit)
        tip = ", ".join(f"{r[k]} {labels[k]}" for k in SERIES)
        group = [f"<g><title>{html.escape(when)}: {html.escape(tip)}</title>"]
        for j, key in enumerate(SERIES):
            h = r[key] / top * plot_h
            y = TOP + plot_h - h
            group.append(
                f'<rect class="tr-{key}" x="{x0 + j * bar:.1f}" y="{y:.1f}" '
                f'width="{bar:.1f}" height="{max(h, 0):.1f}"/>'
            )
        # a transparent full-height target, so the tooltip shows over an empty slot too
        group.append(
            f'<rect class="hit" x="{LEFT + i * slot:.1f}" y="{TOP}" '
            f'width="{slot:.1f}" height="{plot_h}"/></g>'
        )
        parts.extend(group)
        if i % every == 0 or i == len(rows) - 1:
            last = i == len(rows) - 1  # the last label ends at the chart's edge
            x = WIDTH - 4 if last else LEFT + (i + 0.5) * slot
            parts.append(
                f'<text class="tick" x="{x:.1f}" y="{HEIGHT - 6}" '
                f'text-anchor="{"end" if last else "middle"}">{html.escape(when)}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


@register.simple_tag
def trends_section(stats: Any) -> SafeString:
    """jobs/_trends.html for the JobStats row `stats`, rendered once per computation of the
    trends, language and time zone (see _RENDERED)."""
    if stats is None or not stats.trends or stats.trends_at is None:
        return SafeString("")
    key = (stats.trends_at.isoformat(), get_language() or "", timezone.get_current_timezone_name())
    html = _RENDERED.get(key)
    if html is None:
        html = render_to_string("jobs/_trends.html", {"stats": stats})
        if len(_RENDERED) >= _RENDERED_MAX:
            _RENDERED.clear()
        _RENDERED[key] = html
    return mark_safe(html)  # noqa: S308 - the template escapes what it shows


@register.simple_tag
def trend_parts(trends: dict[str, Any]) -> dict[str, Any]:
    """What the trends section lists: the two charts (unit, heading, rows) and the times
    (label, percentiles) of waiting and of finished jobs' durations."""
    duration = trends.get("duration") or {}
    return {
        "units": [
            ("hours", _("Per hour, last 24 hours"), trends.get("hours") or []),
            ("days", _("Per day, last 30 days"), trends.get("days") or []),
        ],
        "times": [
            (_("Time spent Pending (until Running)"), trends.get("pending") or {}),
            (_("Duration of Succeeded jobs"), duration.get("Succeeded") or {}),
            (_("Duration of Failed jobs"), duration.get("Failed") or {}),
        ],
    }


@register.filter
def trend_when(iso: str, unit: str) -> str:
    """A bucket's start as the table shows it: hour (HH:MM) or day (MM-DD), in the reader's zone."""
    return _when(iso, unit)
