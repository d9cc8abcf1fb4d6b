"""Observe one job now: add it by id (QueryJob) or re-query it after an action."""

from __future__ import annotations

import logging

from django.utils import timezone

from connections.models import Connection
from jobs.models import Job
from jobs.sync.apply import FIRST_SOURCE, Source, apply_job_detail
from jobs.sync.marks import mark_gone
from kuscia.client import KusciaClient
from kuscia.errors import KusciaError

log = logging.getLogger(__name__)


def client_for(connection: Connection) -> KusciaClient:
    return KusciaClient(connection.client_config())


def track_job(
    connection: Connection,
    job_id: str,
    *,
    source: str = Job.Source.ADDED,
    client: KusciaClient | None = None,
) -> Job:
    """QueryJob and store (add by id, or discovery). Raises KusciaError (kind not_found...)."""
    observed_at = timezone.now()
    if client is None:
        with client_for(connection) as own:
            detail = own.query_job(job_id)
    else:
        detail = client.query_job(job_id)
    return apply_job_detail(
        connection,
        detail,
        source=FIRST_SOURCE.get(source, Source.ACTION),
        job_source=source,
        observed_at=observed_at,
    )


def refresh_job(
    job: Job, *, source: str = Source.ACTION, client: KusciaClient | None = None
) -> Job:
    """Re-query one job now (after an action). A job Kuscia no longer knows is marked gone;
    other failures raise KusciaError."""
    connection = job.connection
    observed_at = timezone.now()
    try:
        if client is None:
            with client_for(connection) as own:
                detail = own.query_job(job.job_id)
        else:
            detail = client.query_job(job.job_id)
    except KusciaError as exc:
        if exc.kind == "not_found":
            return mark_gone(job, reason="not-found", observed_at=observed_at)
        raise
    return apply_job_detail(connection, detail, source=source, observed_at=observed_at)
