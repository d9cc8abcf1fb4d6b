"""Times in the user's zone and language, for every page: `{% load kc_time %}`.

    {{ job.create_time|when }}         <time …>2026-11-29 08:15:02 UTC+8</time>
    {{ job.create_time|when:"short" }} <time … title="… Asia/Shanghai (UTC+8)">2026-11-29 …</time>
    {{ sync.last_success|ago }}       <time datetime=… title=…>3m 05s ago</time> (3分05秒前)
    {{ sync.watch_since|elapsed }}    <time datetime=… title=…>5m 03s</time>: time since then
    {{ seconds_or_timedelta|took }}   3m 05s (3分05秒)
    {% zone_label %}                  UTC+8        {% zone_title %}  Asia/Shanghai (UTC+8)

Use "short" only where the zone is named nearby (a column heading with {% zone_label %}).
See dashboard/timefmt.py for the same from Python.
"""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils.safestring import SafeString

from dashboard import timefmt

register = template.Library()


@register.filter
def when(value: dt.datetime | None, style: str = "") -> SafeString:
    return timefmt.when_html(value, short=style == "short")


@register.filter
def ago(value: dt.datetime | None) -> SafeString:
    return timefmt.ago_html(value)


@register.filter
def elapsed(value: dt.datetime | None) -> SafeString:
    return timefmt.elapsed_html(value)


@register.filter
def took(value: dt.timedelta | float | None) -> str:
    if value is None:
        return timefmt.DASH
    seconds = value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
    return timefmt.human_duration(seconds)


@register.simple_tag
def zone_label() -> str:
    return timefmt.offset_label()


@register.simple_tag
def zone_title() -> str:
    return timefmt.zone_title()
