"""Times and durations as people read them, in the active language and time zone.

Times are stored in UTC. A page shows them in the zone activated for its request (the user's
preference, else TIME_ZONE: accounts.middleware.PreferenceMiddleware) and names that zone: next
to an absolute time ("2026-11-29 08:15:02 UTC+8"), or in the title of a <time> element where
space is short. Relative times ("3m 05s ago", "3分05秒前") always carry the exact time in a
<time datetime=… title=…> element. The template filters of dashboard/templatetags/kc_time.py
render these; Python code (e.g. table rows built in Python) calls the functions here.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext

STAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
DASH = "\u2013"


def zone_name() -> str:
    """The active zone's IANA name, e.g. "Asia/Shanghai"."""
    return timezone.get_current_timezone_name()


def offset_label(when: dt.datetime | None = None) -> str:
    """The active zone's offset from UTC at `when` (default: now): "UTC", "UTC+8",
    "UTC-3:30". Daylight saving time is taken into account."""
    local = timezone.localtime(when or timezone.now())
    minutes = int((local.utcoffset() or dt.timedelta(0)).total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'+' if minutes > 0 else '-'}{hours}" + (f":{rest:02d}" if rest else "")


def zone_title(when: dt.datetime | None = None) -> str:
    """The zone for a title or a heading: "Asia/Shanghai (UTC+8)", or "UTC"."""
    name, offset = zone_name(), offset_label(when)
    return name if name == offset else f"{name} ({offset})"


def stamp(when: dt.datetime) -> str:
    """'2026-11-29 08:15:02' in the active zone (the zone is not named)."""
    return timezone.localtime(when).strftime(STAMP_FORMAT)


def iso(when: dt.datetime) -> str:
    """ISO 8601 with the active zone's offset, for <time datetime>: the same instant for
    every reader, whatever their zone."""
    return timezone.localtime(when).isoformat()


def absolute(when: dt.datetime) -> str:
    """'2026-11-29 08:15:02 UTC+8': the time and the zone it is in."""
    return f"{stamp(when)} {offset_label(when)}"


def full_title(when: dt.datetime) -> str:
    """'2026-11-29 08:15:02 Asia/Shanghai (UTC+8)': for a title on hover."""
    return f"{stamp(when)} {zone_title(when)}"


def human_duration(seconds: float) -> str:
    """A short duration in the active language: 45s, 3m 05s, 2h 05m, 3d 4h (3分05秒 …)."""
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


def relative(when: dt.datetime, now: dt.datetime | None = None) -> str:
    """'3m 05s ago' / 'in 2m 00s' / 'just now', in the active language."""
    seconds = ((now or timezone.now()) - when).total_seconds()
    if abs(seconds) < 1:
        return gettext("just now")
    if seconds > 0:
        return gettext("%(duration)s ago") % {"duration": human_duration(seconds)}
    return gettext("in %(duration)s") % {"duration": human_duration(-seconds)}


def elapsed_html(since: dt.datetime | None, now: dt.datetime | None = None) -> SafeString:
    """How long since `since` ("5m 03s"), in a <time> element whose title is `since` exactly."""
    if since is None:
        return format_html("{}", DASH)
    seconds = ((now or timezone.now()) - since).total_seconds()
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        iso(since),
        full_title(since),
        human_duration(seconds),
    )


def when_html(when: dt.datetime | None, *, short: bool = False) -> SafeString:
    """An absolute time in a <time> element. The zone is named in the text, or only in the
    title when `short` (for table cells whose column heading names the zone)."""
    if when is None:
        return format_html("{}", DASH)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        iso(when),
        full_title(when),
        stamp(when) if short else absolute(when),
    )


def ago_html(when: dt.datetime | None, now: dt.datetime | None = None) -> SafeString:
    """A relative time in a <time> element whose title is the exact time and its zone."""
    if when is None:
        return format_html("{}", gettext("never"))
    return format_html(
        '<time datetime="{}" title="{}">{}</time>', iso(when), full_title(when), relative(when, now)
    )
