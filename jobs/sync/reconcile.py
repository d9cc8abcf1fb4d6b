"""Reconcile: the poll cycle run by beat. Chunked status/batchQuery over the jobs that can still
change; an unknown id (11203 fails the whole batch) is isolated and marked gone; idle and error
back-off; one poller per connection by lease."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from connections.models import Connection
from jobs.models import Job
from jobs.sync.apply import BATCH_NOT_FOUND, Source, apply_job_detail, apply_job_statuses
from jobs.sync.batch import WriteStats
from jobs.sync.health import record_failure, record_success, sync_state
from jobs.sync.leases import make_lease
from jobs.sync.marks import clear_refused, mark_gone_ids, mark_refused
from jobs.sync.track import client_for
from kuscia import types as kt
from kuscia.client import KusciaClient
from kuscia.errors import KusciaError

log = logging.getLogger(__name__)


# ============================================================== reconcile


@dataclass
class ReconcileSummary:
    connection: str
    polled: int = 0
    chunks: int = 0
    requests: int = 0
    specs_fetched: int = 0
    gone: list[str] = field(default_factory=list)
    # ids Kuscia refused with 11203 without "not found" (e.g. a lite node's "domain's KusciaAPI
    # could only retrieve the job ..."): not gone, just not visible through this connection
    refused: list[str] = field(default_factory=list)
    refused_message: str = ""  # Kuscia's message for the last of them
    writes: WriteStats = field(default_factory=WriteStats)
    slow_included: bool = False
    seconds: float = 0.0
    fetch_seconds: float = 0.0
    error: str = ""
    skipped: str = ""  # "locked", "waiting" (back-off / idle), "disabled"

    def as_dict(self) -> dict[str, Any]:
        return {
            "connection": self.connection,
            "polled": self.polled,
            "chunks": self.chunks,
            "requests": self.requests,
            "specs_fetched": self.specs_fetched,
            "gone": self.gone[:50],
            "gone_count": len(self.gone),
            "refused": self.refused[:50],
            "rows_written": self.writes.rows,
            "transitions": self.writes.transitions,
            "stale_skipped": self.writes.stale_skipped,
            "slow_included": self.slow_included,
            "seconds": round(self.seconds, 4),
            "fetch_seconds": round(self.fetch_seconds, 4),
            "error": self.error,
            "skipped": self.skipped,
        }

    def __str__(self) -> str:
        if self.skipped:
            return f"{self.connection}: skipped ({self.skipped})"
        text = (
            f"{self.connection}: polled {self.polled} jobs in {self.chunks} chunks, "
            f"{self.requests} requests, {self.writes.rows} rows written "
            f"({self.writes.transitions} transitions), {len(self.gone)} gone, "
            f"{self.specs_fetched} specs fetched, {self.seconds:.3f}s"
        )
        if self.refused:
            text += f"; {len(self.refused)} refused by Kuscia (not visible here): "
            text += ", ".join(self.refused[:5]) + (" …" if len(self.refused) > 5 else "")
        return text + (f"; error {self.error}" if self.error else "")


@dataclass
class PollPlan:
    ids: list[str]  # to batchQuery, in primary-key order
    specs_missing: list[str]  # known only from a status: QueryJob them (a few per cycle)
    any_active: bool
    hashes: dict[str, str] = field(default_factory=dict)  # job_id -> status_hash when read
    refused: set[str] = field(default_factory=set)  # jobs Kuscia refused to show (refused_at)


def poll_plan(connection: Connection, *, now: datetime, include_slow: bool) -> PollPlan:
    """What one reconcile asks Kuscia (one query): every active job; with include_slow also
    restartable (Failed/Suspended) jobs changed within KUSCIA_RESTARTABLE_SECONDS and jobs that
    finished within KUSCIA_RECENT_SECONDS. Other terminal jobs are never polled. A job Kuscia
    refused to show (refused_at) is asked again only with include_slow."""
    restartable = now - timedelta(seconds=settings.KUSCIA_RESTARTABLE_SECONDS)
    recent = now - timedelta(seconds=settings.KUSCIA_RECENT_SECONDS)
    finished = kt.TERMINAL_JOB_STATES - kt.RESTARTABLE_JOB_STATES
    wanted = Q(state__in=kt.ACTIVE_JOB_STATES) | Q(spec_fetched=False)
    if include_slow:
        wanted |= Q(state__in=kt.RESTARTABLE_JOB_STATES, last_changed__gte=restartable)
        wanted |= Q(state__in=finished, last_changed__gte=recent)
    plan = PollPlan(ids=[], specs_missing=[], any_active=False)
    rows = (
        Job.objects.filter(connection=connection, gone_at__isnull=True)
        .filter(wanted)
        .order_by("pk")
        .values_list("job_id", "state", "spec_fetched", "last_changed", "status_hash", "refused_at")
    )
    for job_id, state, spec_fetched, last_changed, digest, refused_at in rows:
        plan.hashes[job_id] = digest
        if refused_at is not None:
            plan.refused.add(job_id)
            if not include_slow:
                continue
        active = state in kt.ACTIVE_JOB_STATES
        plan.any_active |= active
        if not spec_fetched and len(plan.specs_missing) < settings.KUSCIA_SPECS_PER_CYCLE:
            plan.specs_missing.append(job_id)
        if (
            active
            or (include_slow and state in kt.RESTARTABLE_JOB_STATES and last_changed >= restartable)
            or (include_slow and state in finished and last_changed >= recent)
        ):
            plan.ids.append(job_id)
    return plan


def jobs_to_poll(connection: Connection, *, now: datetime, include_slow: bool) -> list[str]:
    """The ids reconcile batch-queries (see poll_plan)."""
    return poll_plan(connection, now=now, include_slow=include_slow).ids


_QUOTED = re.compile(r'"([^"]+)"')


def _fails_the_batch(exc: KusciaError) -> bool:
    """11203: one id Kuscia will not answer for fails the whole batch. That is an unknown id
    (kind "not_found": the message says "not found") or one this connection may not see."""
    return exc.code == BATCH_NOT_FOUND or exc.kind == "not_found"


def fetch_statuses(
    client: KusciaClient, ids: Sequence[str], summary: ReconcileSummary
) -> tuple[list[kt.JobStatus], list[str]]:
    """batchQuery `ids`; on 11203 (one id fails the whole batch) isolate the failing ids (by the
    id Kuscia names in a not-found message, else by bisection). Returns (statuses, unknown): an
    id is unknown only when Kuscia said "not found"; one it refused otherwise is added to
    `summary.refused` and left as it is."""
    if not ids:
        return [], []
    try:
        summary.requests += 1
        return list(client.batch_query_job_status(list(ids))), []
    except KusciaError as exc:
        if not _fails_the_batch(exc):
            raise
        not_found, message = exc.kind == "not_found", exc.message
        named = [i for i in _QUOTED.findall(message) if i in ids] if not_found else []
    if len(ids) == 1:
        if not_found:
            return [], list(ids)
        summary.refused.extend(ids)
        summary.refused_message = message
        log.warning("kuscia refused job %s: %s", ids[0], message)
        return [], []
    if named:
        rest = [i for i in ids if i not in named]
        statuses, unknown = fetch_statuses(client, rest, summary)
        return statuses, sorted(set(named)) + unknown
    mid = len(ids) // 2
    left, lost_left = fetch_statuses(client, ids[:mid], summary)
    right, lost_right = fetch_statuses(client, ids[mid:], summary)
    return left + right, lost_left + lost_right


class _Renewer(Protocol):
    def renew(self) -> bool: ...


def reconcile_connection(
    connection: Connection,
    *,
    client: KusciaClient | None = None,
    include_slow: bool | None = None,
    lease: _Renewer | None = None,
) -> ReconcileSummary:
    """One reconcile cycle for a connection. Records success or the classified error (with
    back-off) on its SyncState; returns the summary (never raises a KusciaError)."""
    started = timezone.now()
    t0 = time.perf_counter()
    summary = ReconcileSummary(connection=connection.name)
    state = sync_state(connection)
    if include_slow is None:
        include_slow = state.last_slow_poll is None or (
            started - state.last_slow_poll
        ).total_seconds() >= float(settings.KUSCIA_SLOW_POLL_SECONDS)
    summary.slow_included = include_slow
    plan = poll_plan(connection, now=started, include_slow=include_slow)
    ids = plan.ids
    summary.polled = len(ids)
    own = client is None
    try:
        if own:
            client = client_for(connection)
        assert client is not None
        size = max(1, int(settings.KUSCIA_BATCH_SIZE))
        chunks = [ids[i : i + size] for i in range(0, len(ids), size)]
        fetcher = client

        def fetch(chunk: list[str]) -> tuple[datetime, list[kt.JobStatus], list[str], float]:
            observed_at = timezone.now()
            f0 = time.perf_counter()
            statuses, unknown = fetch_statuses(fetcher, chunk, summary)
            return observed_at, statuses, unknown, time.perf_counter() - f0

        # Fetch chunk i+1 (network, parsing) while chunk i is compared and written; a single
        # chunk is fetched in this thread.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kuscia-fetch") as pool:
            pending = pool.submit(fetch, chunks[0]) if len(chunks) > 1 else None
            for i in range(len(chunks)):
                if pending is None:
                    observed_at, statuses, unknown, took = fetch(chunks[i])
                else:
                    observed_at, statuses, unknown, took = pending.result()
                pending = pool.submit(fetch, chunks[i + 1]) if i + 1 < len(chunks) else None
                summary.fetch_seconds += took
                summary.chunks += 1
                clear_refused(connection, plan.refused & {s.job_id for s in statuses})
                summary.writes.add(
                    apply_job_statuses(
                        connection,
                        statuses,
                        source=Source.POLL,
                        observed_at=observed_at,
                        known={s.job_id: plan.hashes.get(s.job_id, "") for s in statuses},
                    )
                )
                gone = mark_gone_ids(
                    connection, unknown, reason="not-found", observed_at=observed_at
                )
                summary.writes.gone += gone
                summary.gone.extend(unknown)
                if lease is not None:
                    lease.renew()
        mark_refused(connection, summary.refused, summary.refused_message, started)
        _fetch_missing_specs(connection, client, plan.specs_missing, summary)
    except Exception as exc:
        summary.seconds = time.perf_counter() - t0
        if not isinstance(exc, KusciaError):
            log.exception("reconcile of %s failed", connection.name)
        record_failure(connection, exc, started, summary)
        return summary
    finally:
        if own and client is not None:
            client.close()
    summary.seconds = time.perf_counter() - t0
    idle = not plan.any_active
    record_success(connection, started, summary, idle=idle)
    return summary


def _fetch_missing_specs(
    connection: Connection, client: KusciaClient, pending: list[str], summary: ReconcileSummary
) -> None:
    """Jobs first seen through a status only (watch, batch) get their spec once via QueryJob."""
    for job_id in pending:
        observed_at = timezone.now()
        summary.requests += 1
        try:
            detail = client.query_job(job_id)
        except KusciaError as exc:
            if exc.kind != "not_found":
                raise
            summary.writes.gone += mark_gone_ids(
                connection, [job_id], reason="not-found", observed_at=observed_at
            )
            summary.gone.append(job_id)
            continue
        apply_job_detail(connection, detail, source=Source.POLL, observed_at=observed_at)
        summary.specs_fetched += 1


# ============================================================== the poll cycle (beat)


def run_poll_cycle(*, force: bool = False) -> list[ReconcileSummary]:
    """Reconcile every enabled connection that is due (not backing off) and not being polled
    by another worker right now."""
    if settings.KUSCIA_DEFAULT_CONNECTION:
        Connection.objects.ensure_default()
    summaries = []
    for connection in Connection.objects.job_sources().order_by("pk"):
        summaries.append(poll_connection(connection, force=force))
    return summaries


def poll_connection(connection: Connection, *, force: bool = False) -> ReconcileSummary:
    state = sync_state(connection)
    if not force and state.next_attempt is not None and state.next_attempt > timezone.now():
        return ReconcileSummary(connection=connection.name, skipped="waiting")
    lease = make_lease(f"poll:{connection.pk}", settings.KUSCIA_POLL_LEASE_SECONDS)
    if not lease.acquire():
        return ReconcileSummary(connection=connection.name, skipped="locked")
    try:
        return reconcile_connection(connection, lease=lease)
    finally:
        lease.release()
