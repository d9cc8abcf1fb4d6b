"""The overview's trends, computed by beat (jobs.stats.refresh, at most every TRENDS_SECONDS)
and stored on the JobStats row, so the overview only draws them:

* jobs created (started), succeeded and failed per hour over the last 24 hours and per day
  over the last 30 days (hours and days of the console's TIME_ZONE);
* how long jobs waited before Kuscia ran them (creation to the first recorded Running), and
  how long finished jobs took (Kuscia's start to end), as percentiles, over the last 30 days,
  from at most SAMPLE jobs each (the newest).

Stored as plain JSON: {"zone", "hours": [{"t", "started", "succeeded", "failed"}], "days": [...],
"pending": {"n", "p50", "p90", "p99", "max"}, "duration": {"Succeeded": {...}, "Failed": {...}}}
with times as ISO 8601 strings and percentiles in seconds.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from typing import Any

from django.conf import settings
from django.utils import timezone

from jobs.models import Job
from kuscia import types as kt

TRENDS_SECONDS = 60.0  # recomputed at most this often (the counts are recounted every few s)
HOURS = 24
DAYS = 30
SAMPLE = 20_000
PERCENTILES = (50, 90, 99)
SERIES = ("started", "succeeded", "failed")


def percentiles(values: list[float]) -> dict[str, float | int]:
    """{"n", "p50", "p90", "p99", "max"} of `values` (nearest rank); {"n": 0} when empty."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    out: dict[str, float | int] = {"n": len(ordered), "max": round(ordered[-1], 1)}
    for p in PERCENTILES:
        rank = max(math.ceil(p / 100 * len(ordered)) - 1, 0)
        out[f"p{p}"] = round(ordered[rank], 1)
    return out


def _series(unit: str, now: dt.datetime, count: int, tz: dt.tzinfo) -> list[dict[str, Any]]:
    local = timezone.localtime(now, tz)
    if unit == "hour":
        last = now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
        starts = [last - dt.timedelta(hours=count - 1 - i) for i in range(count)]
    else:
        today = local.date()
        starts = [
            timezone.make_aware(
                dt.datetime.combine(today - dt.timedelta(days=count - 1 - i), dt.time()), tz
            )
            for i in range(count)
        ]
    since = starts[0]
    created = Job.objects.created_per(unit, since, tz)
    ended = Job.objects.ended_per(unit, since, tz)
    rows = []
    for start in starts:
        # aware datetimes of one instant are equal (and hash alike) in any zone
        rows.append(
            {
                "t": start.isoformat(),
                "started": created.get(start, 0),
                "succeeded": ended.get((start, kt.SUCCEEDED), 0),
                "failed": ended.get((start, kt.FAILED), 0),
            }
        )
    return rows


def compute(now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    month = now - dt.timedelta(days=DAYS)
    runs: dict[str, list[float]] = {kt.SUCCEEDED: [], kt.FAILED: []}
    for state, start, end in Job.objects.run_times(month, SAMPLE):
        runs[state].append(max((end - start).total_seconds(), 0.0))
    waits = [
        max((running - created).total_seconds(), 0.0)
        for created, running in Job.objects.pending_times(month, SAMPLE)
    ]
    return {
        "zone": settings.TIME_ZONE,
        "computed_at": now.isoformat(),
        "hours": _series("hour", now, HOURS, tz),
        "days": _series("day", now, DAYS, tz),
        "pending": percentiles(waits),
        "duration": {state: percentiles(values) for state, values in runs.items()},
    }
