"""The overview's aggregate numbers: jobs per state (exact) and activity per party.

Counting a large job table on every overview request is the dearest part of the page, so the
numbers are computed off the request path: `refresh()` (the beat task refresh_job_stats, every
KC_STATS_SECONDS) writes the one JobStats row and `current()` reads it. A page recounts by itself
only when there is no row yet or it is older than KC_STATS_MAX_AGE (beat not running), so the
overview is never wrong by more than that.
"""

from __future__ import annotations

import datetime as dt
import time

from django.conf import settings
from django.utils import timezone

from jobs.models import Job, JobStats
from jobs.trends import TRENDS_SECONDS
from jobs.trends import compute as compute_trends

ACTIVITY_WINDOW = dt.timedelta(hours=24)
ACTIVITY_JOBS = 20_000  # at most this many most recently changed jobs feed the activity table


def refresh(now: dt.datetime | None = None, *, trends: bool | None = None) -> JobStats:
    """Recount and store the stats row (the only writer of JobStats). Three queries + upsert,
    and the trends (jobs.trends, a few more) when they are older than TRENDS_SECONDS or
    `trends` is True (False: never)."""
    now = now or timezone.now()
    started = time.perf_counter()
    if trends is None:
        old = JobStats.objects.trends_age()
        trends = old is None or (now - old).total_seconds() >= TRENDS_SECONDS
    since = now - ACTIVITY_WINDOW
    jobs = Job.objects
    changed = jobs.changed_since(since, ACTIVITY_JOBS)
    fields = {
        "counts": jobs.state_totals(),
        "activity": jobs.party_activity(since, limit=ACTIVITY_JOBS),
        "activity_jobs": min(changed, ACTIVITY_JOBS),
        "activity_capped": changed > ACTIVITY_JOBS,
        "computed_at": now,
    }
    if trends:
        fields["trends"] = compute_trends(now)
        fields["trends_at"] = now
    fields["took_ms"] = round((time.perf_counter() - started) * 1000, 1)
    row, _ = JobStats.objects.update_or_create(key=1, defaults=fields)
    return row


def current(now: dt.datetime | None = None) -> JobStats:
    """The stats row as beat last wrote it; recounted here when missing or too old."""
    now = now or timezone.now()
    row = JobStats.objects.current()
    max_age = dt.timedelta(seconds=float(getattr(settings, "KC_STATS_MAX_AGE", 60.0)))
    if row is None or now - row.computed_at > max_age:
        # on the request path (beat is not running): the trends only when there are none
        row = refresh(now, trends=row is None or row.trends_at is None)
    return row
