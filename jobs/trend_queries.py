"""The queries behind the overview's trends (jobs.trends), as JobQuerySet methods (JobQuerySet
inherits them): for beat, off the request path. Each is one bounded query: counts grouped by
hour or day in the database, or at most `limit` rows of two timestamps."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models.functions import TruncDay, TruncHour

from kuscia import types as kt

if TYPE_CHECKING:
    from jobs.models import Job  # noqa: F401

TRUNC = {"hour": TruncHour, "day": TruncDay}


class TrendQuerySet(models.QuerySet["Job"]):
    def created_per(self, unit: str, since: dt.datetime, tz: dt.tzinfo) -> dict[dt.datetime, int]:
        """{start of the hour/day in `tz`: jobs created then} since `since`. Kuscia's
        start_time is the controller's first reconcile, seconds after creation: a job counts
        as started when it was created (the create_time index serves the range)."""
        bucket = TRUNC[unit]("create_time", tzinfo=tz)
        rows = (
            self.filter(create_time__gte=since)
            .order_by()
            .annotate(b=bucket)
            .values_list("b")
            .annotate(n=models.Count("pk"))
        )
        return {b: n for b, n in rows if b is not None}

    def ended_per(
        self, unit: str, since: dt.datetime, tz: dt.tzinfo
    ) -> dict[tuple[dt.datetime, str], int]:
        """{(start of the hour/day in `tz`, Succeeded or Failed): jobs that ended so then}."""
        bucket = TRUNC[unit]("end_time", tzinfo=tz)
        rows = (
            self.filter(end_time__gte=since, state__in=(kt.SUCCEEDED, kt.FAILED))
            .order_by()
            .annotate(b=bucket)
            .values_list("b", "state")
            .annotate(n=models.Count("pk"))
        )
        return {(b, state): n for b, state, n in rows if b is not None}

    def run_times(self, since: dt.datetime, limit: int) -> list[tuple[str, Any, Any]]:
        """(state, start_time, end_time) of at most `limit` jobs that ended since `since`,
        newest first: their durations."""
        return list(
            self.filter(
                end_time__gte=since,
                start_time__isnull=False,
                state__in=(kt.SUCCEEDED, kt.FAILED),
            )
            .order_by("-end_time")
            .values_list("state", "start_time", "end_time")[:limit]
        )

    def pending_times(self, since: dt.datetime, limit: int) -> list[tuple[Any, Any]]:
        """(create_time, first time seen Running) of at most `limit` jobs created since
        `since` that were seen Running (recorded job transitions; Kuscia gives no time for it),
        newest first: how long each waited."""
        from jobs.models import Transition

        first_running = (
            Transition.objects.filter(
                job=models.OuterRef("pk"), kind=Transition.Kind.JOB, new_state=kt.RUNNING
            )
            .order_by("observed_at")
            .values("observed_at")[:1]
        )
        rows = (
            self.filter(create_time__gte=since)
            .order_by("-create_time")
            .annotate(running=models.Subquery(first_running))
            .filter(running__isnull=False)
            .values_list("create_time", "running")[:limit]
        )
        return list(rows)
