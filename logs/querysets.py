"""Named reads of the log archive (the views', the planner's and retention's queries)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import F, Max, Q

from connections.models import Connection, NodeRole

if TYPE_CHECKING:
    from jobs.models import Job
    from logs.models import LogSegment, TaskLog


class TaskLogQuerySet(models.QuerySet["TaskLog"]):
    def of_task(self, job: Job, task_id: str) -> TaskLogQuerySet:
        """Every log of every run of one task of one job."""
        return self.filter(job=job, task_id=task_id)

    def latest_attempt(self, job: Job, task_id: str) -> int:
        found = self.of_task(job, task_id).aggregate(m=Max("attempt"))["m"]
        return int(found or 0)

    def shown_with(self, job: Job, task_id: str) -> TaskLogQuerySet:
        """A task's logs as a job row shows them: its own; in P2P also those stored under the
        other autonomy connections' rows of the same job (logs.plan stores each party's log
        once, under the row of the connection that serves that party)."""
        seen = Q(job=job)
        if job.connection.role == NodeRole.AUTONOMY or job.connection.mode == Connection.Mode.P2P:
            seen |= Q(kuscia_job_id=job.job_id, job__connection__role=NodeRole.AUTONOMY)
        return self.filter(seen, task_id=task_id)

    def tabs(self, job: Job, task_id: str) -> list[TaskLog]:
        """The viewer's tabs: each party's latest run's logs by replica and container
        (replicas Kuscia has not confirmed yet left out). One query."""
        rows = list(
            self.shown_with(job, task_id)
            .filter(discovered=True)
            .select_related("node")
            .order_by("domain_id", "-attempt", "replica_idx", "container")
        )
        return _latest_per_party(rows, job.pk)

    def for_viewer(self, pk: int) -> TaskLog | None:
        return self.select_related("job", "job__connection", "node").filter(pk=pk).first()

    def of_party(self, job: Job, task_id: str, domain: str) -> TaskLog | None:
        """A party's log of the latest run (replica 0 first), for the failure card."""
        rows = list(
            self.shown_with(job, task_id)
            .filter(domain_id=domain, discovered=True)
            .order_by("-attempt", "replica_idx", "container")
        )
        latest = _latest_per_party(rows, job.pk)
        return latest[0] if latest else None

    # ------------------------------------------------------------ the planner

    def active_followers(self, since: dt.datetime) -> int:
        """Logs a follower has reported on since `since` (the followers running now)."""
        return self.filter(heartbeat_at__gte=since).exclude(state__in=_final()).count()

    def due(
        self, now: dt.datetime, queued_before: dt.datetime, alive_since: dt.datetime, limit: int
    ) -> list[TaskLog]:
        """Logs to hand to a follower: not final, not waiting for a retry, not handed out
        recently, and no follower alive on them. Those being followed first (a follower died:
        resume the live tail), then the oldest (first come, first served); replicas that may
        not exist last."""
        from logs.models import TaskLog

        return list(
            self.exclude(state__in=_final())
            .exclude(state=TaskLog.State.UNAVAILABLE)
            .filter(job__isnull=False)
            .filter(Q(next_try_at__isnull=True) | Q(next_try_at__lte=now))
            .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=queued_before))
            .filter(Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=alive_since))
            .order_by(
                models.Case(models.When(state=TaskLog.State.FOLLOWING, then=0), default=1),
                "-discovered",
                "created_at",
            )[:limit]
        )

    def unavailable_retry(self, now: dt.datetime, before: dt.datetime, limit: int) -> list[Any]:
        """Unavailable logs worth asking again (no node served them: a connection may have
        been added since): not tried since `before`."""
        from logs.models import TaskLog

        return list(
            self.filter(state=TaskLog.State.UNAVAILABLE, job__isnull=False, lines=0)
            .filter(Q(next_try_at__isnull=True) | Q(next_try_at__lte=now))
            .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=before))
            .order_by("-created_at")[:limit]
        )

    def expired(self, before: dt.datetime, limit: int) -> list[TaskLog]:
        """Logs past retention, and logs whose job the console forgot."""
        return list(self.filter(Q(created_at__lt=before) | Q(job__isnull=True))[:limit])


class LogSegmentQuerySet(models.QuerySet["LogSegment"]):
    def of_log(self, log: TaskLog) -> LogSegmentQuerySet:
        """A log's segments in order (download, search)."""
        return self.filter(log=log).order_by("seq").only("name", "first_line", "lines")

    def covering(self, log: TaskLog, start: int, end: int) -> list[LogSegment]:
        """The segments holding lines [start, end) (0-based), in order. One query."""
        return list(
            self.filter(log=log, first_line__lt=end)
            .annotate(after=F("first_line") + F("lines"))
            .filter(after__gt=start)
            .order_by("first_line")
            .only("name", "first_line", "lines")
        )


def _latest_per_party(rows: list[TaskLog], own_job: int) -> list[TaskLog]:
    """Of rows ordered by party then newest attempt: each party's newest attempt, one row per
    replica and container (the job row's own first, should another row repeat it)."""
    newest: dict[str, int] = {}
    picked: dict[tuple[str, int, str], TaskLog] = {}
    for row in rows:
        attempt = newest.setdefault(row.domain_id, row.attempt)
        if row.attempt != attempt:
            continue
        key = (row.domain_id, row.replica_idx, row.container)
        if key not in picked or row.job_id == own_job:
            picked[key] = row
    return list(picked.values())


def _final() -> tuple[str, ...]:
    from logs.models import TaskLog

    return tuple(TaskLog.FINAL)
