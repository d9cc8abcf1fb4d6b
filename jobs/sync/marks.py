"""Marks on jobs Kuscia no longer shows: gone (deleted, unknown), refused (Kuscia will not
show it to us), and forgotten (the local row deleted on purpose)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from connections.models import Connection
from jobs.models import Job

log = logging.getLogger(__name__)

DELETED_HERE = "deleted-here"
# A console delete races the watch's DELETED event (and reconcile's not-found) for the same
# deletion: within this many seconds of the job being marked gone, "deleted-here" replaces them.
GONE_RACE_SECONDS = 120.0


def mark_gone(job: Job, *, reason: str, observed_at: datetime | None = None) -> Job:
    """Kuscia no longer knows this job: keep the row and its history, note when and why.

    The first observation sets gone_at and the reason, with one exception: a delete done in this
    console ("deleted-here") is the more specific fact, so it replaces the reason the watch or
    reconcile recorded moments earlier for the same deletion (gone_at, the first time the job
    was seen gone, stays). A job already gone for longer than GONE_RACE_SECONDS keeps its
    reason: it was deleted elsewhere before the console tried."""
    now = observed_at or timezone.now()
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.gone_at is None:
            locked.gone_at = now
            locked.gone_reason = reason[:32]
            locked.last_synced = now
            locked.save(update_fields=["gone_at", "gone_reason", "last_synced"])
        elif (
            reason == DELETED_HERE
            and locked.gone_reason != DELETED_HERE
            and locked.gone_at >= now - timedelta(seconds=GONE_RACE_SECONDS)
        ):
            locked.gone_reason = DELETED_HERE
            locked.save(update_fields=["gone_reason"])
    job.refresh_from_db()
    return job


def mark_gone_ids(
    connection: Connection, job_ids: Iterable[str], *, reason: str, observed_at: datetime
) -> int:
    ids = list(job_ids)
    if not ids:
        return 0
    return Job.objects.filter(connection=connection, job_id__in=ids, gone_at__isnull=True).update(
        gone_at=observed_at, gone_reason=reason[:32], last_synced=observed_at
    )


def mark_refused(
    connection: Connection, job_ids: list[str], message: str, observed_at: datetime
) -> None:
    """Jobs Kuscia refused to show (11203 without "not found"): not gone; polled less often."""
    if not job_ids:
        return
    jobs = Job.objects.filter(connection=connection, job_id__in=job_ids)
    jobs.filter(refused_at__isnull=True).update(refused_at=observed_at)
    jobs.update(refused_message=message)


def clear_refused(connection: Connection, job_ids: set[str]) -> None:
    """Jobs Kuscia shows again: no longer refused."""
    if job_ids:
        Job.objects.filter(connection=connection, job_id__in=job_ids).update(
            refused_at=None, refused_message=""
        )


def forget_job(job: Job) -> None:
    """Delete the local row and its history (Kuscia is not touched)."""
    Job.objects.filter(pk=job.pk).delete()
