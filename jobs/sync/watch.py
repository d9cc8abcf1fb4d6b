"""The watch consumer: one long-lived job/watch stream per connection (by lease), finite and
relaunched; the initial ADDED burst discovers jobs, MODIFIED updates, DELETED marks gone."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from connections.models import Connection, SyncState
from jobs.models import Job
from jobs.sync.apply import WATCH_EVENT_STAMP_SECONDS, Source, apply_observations
from jobs.sync.batch import Obs, fingerprint
from jobs.sync.health import sync_state
from jobs.sync.leases import LeaseKeeper, make_lease
from jobs.sync.marks import clear_refused, mark_gone_ids
from jobs.sync.track import client_for, track_job
from kuscia import types as kt
from kuscia.client import KusciaClient
from kuscia.errors import KusciaError

log = logging.getLogger(__name__)


# ============================================================== the watch


@dataclass
class WatchSummary:
    connection: str
    events: int = 0
    discovered: int = 0
    gone: int = 0
    error: str = ""
    skipped: str = ""  # "locked", "disabled", "shutdown" (the worker is stopping)

    @property
    def relaunch_after(self) -> float | None:
        """Seconds before the next watch (None: do not relaunch from here)."""
        if self.skipped:
            return None
        return 5.0 if self.error else 0.0


# Open watch streams of this process, so a worker shutting down can end them at once (a watch
# otherwise holds a warm shutdown for up to KUSCIA_WATCH_SECONDS).
_streams: set[Any] = set()
_streams_lock = threading.Lock()
_stopping = threading.Event()


def stop_watching() -> int:
    """This process is shutting down: close every open watch stream (thread-safe; wakes a
    blocked read) and start no new one. The watch tasks then return, release their leases and
    do not relaunch. Returns the number of streams closed."""
    _stopping.set()
    closed = 0
    for attempt in range(2):  # again shortly after, for a stream caught while (re)connecting
        with _streams_lock:
            open_now = list(_streams)
        for stream in open_now:
            with contextlib.suppress(Exception):
                stream.close()
                closed += attempt == 0
        if attempt == 0:
            time.sleep(0.5)
    return closed


def watch_stopping() -> bool:
    return _stopping.is_set()


def watch_candidates() -> list[int]:
    if settings.KUSCIA_DEFAULT_CONNECTION:
        Connection.objects.ensure_default()
    return list(Connection.objects.job_sources().order_by("pk").values_list("pk", flat=True))


def _set_watch(connection: Connection, **fields: Any) -> None:
    sync_state(connection)
    SyncState.objects.filter(connection=connection).update(**fields)


def handle_watch_event(
    connection: Connection, event: kt.WatchEvent, client: KusciaClient, summary: WatchSummary
) -> None:
    """ADDED/MODIFIED: same write path as reconcile (unknown job = discovery via QueryJob);
    DELETED: the job is gone."""
    if event.job is None or event.type in (kt.EventType.HEARTBEAT, kt.EventType.ERROR):
        return
    observed_at = timezone.now()
    job_id = event.job.job_id
    summary.events += 1
    if event.type == kt.EventType.DELETED:
        summary.gone += mark_gone_ids(
            connection, [job_id], reason="watch-deleted", observed_at=observed_at
        )
        return
    row = (
        Job.objects.filter(connection=connection, job_id=job_id)
        .values_list("spec_fetched", "status_hash", "gone_at", "create_time", "refused_at")
        .first()
    )
    if row is not None and row[4] is not None:  # Kuscia shows it again
        clear_refused(connection, {job_id})
    if row is not None and row[0] and row[2] is None and row[1] == fingerprint(event.job.status):
        return  # nothing new (e.g. the ADDED burst after a reconnect)
    created = event.job.status.create_time
    reborn = row is not None and row[3] is not None and created is not None and created != row[3]
    if row is None or not row[0] or reborn:  # unknown, no spec yet, or a new run: QueryJob
        try:
            track_job(connection, job_id, source=Job.Source.DISCOVERED, client=client)
            summary.discovered += row is None or not row[0]
            return
        except KusciaError as exc:
            if exc.kind == "not_found":
                return  # deleted again already
            log.warning("discovery of %s failed (%s); storing its status only", job_id, exc)
    apply_observations(
        connection,
        [Obs(job_id, event.job.status, event.job.raw)],
        source=Source.WATCH,
        observed_at=observed_at,
        create_missing=True,
    )


def watch_connection(
    connection_id: int,
    *,
    timeout_seconds: int | None = None,
    client: KusciaClient | None = None,
) -> WatchSummary:
    """Consume the watch stream of one connection until its finite timeout, a silence over
    30 s (the client raises) or an error. One watcher per connection across workers (lease)."""
    connection = Connection.objects.job_sources().filter(pk=connection_id).first()
    if connection is None:  # disabled, or a lite of a master's deployment (log node only)
        return WatchSummary(connection=str(connection_id), skipped="disabled")
    summary = WatchSummary(connection=connection.name)
    if _stopping.is_set():
        summary.skipped = "shutdown"
        return summary
    # A short lease, renewed every second: a worker killed while watching is replaced a few
    # seconds later (the TTL plus beat's KUSCIA_WATCH_CHECK_SECONDS), and the keeper closes the
    # stream at its local deadline, before the lease can pass to another worker (leases.py).
    ttl = float(settings.KUSCIA_WATCH_LEASE_SECONDS)
    lease = make_lease(f"watch:{connection.pk}", ttl, fenced=True)
    asked = time.monotonic()
    if not lease.acquire():
        summary.skipped = "locked"
        return summary
    log.info("watch of %s started (lease fence %s)", connection.name, lease.fence)
    opened: list[Any] = []  # the stream, for the keeper to close when the lease is lost
    keeper = LeaseKeeper(
        lease,
        min(1.0, ttl / 5),
        ttl=ttl,
        acquired_at=asked,
        on_lost=lambda: [s.close() for s in opened],
    )
    keeper.start()
    own = client is None
    stamp = 0.0
    lease_lost = False
    try:
        if own:
            client = client_for(connection)
        assert client is not None
        stream = client.watch_jobs(timeout_seconds=timeout_seconds or settings.KUSCIA_WATCH_SECONDS)
        opened.append(stream)
        with _streams_lock:
            _streams.add(stream)
        if _stopping.is_set() or keeper.lost:
            stream.close()
        try:
            _set_watch(connection, watch_connected_since=timezone.now(), watch_last_error="")
            for event in stream:
                if keeper.expired():  # never act on an event without holding the lease
                    lease_lost = True
                    break
                handle_watch_event(connection, event, client, summary)
                if time.monotonic() - stamp > WATCH_EVENT_STAMP_SECONDS:
                    stamp = time.monotonic()
                    _set_watch(connection, watch_last_event=timezone.now())
        finally:
            with _streams_lock:
                _streams.discard(stream)
            stream.close()
    except KusciaError as exc:
        if not _stopping.is_set():
            summary.error = f"{exc.kind}: {exc.message}"
            _set_watch(connection, watch_last_error=summary.error[:2000])
    except Exception as exc:
        log.exception("watch of %s failed", connection.name)
        summary.error = f"internal: {type(exc).__name__}: {exc}"
        _set_watch(connection, watch_last_error=summary.error[:2000])
    finally:
        keeper.stop()
        if (lease_lost or keeper.lost) and not _stopping.is_set():
            summary.error = "lease lost"
        _set_watch(connection, watch_connected_since=None)
        lease.release()
        log.info("watch of %s ended (lease fence %s)", connection.name, lease.fence)
        if own and client is not None:
            client.close()
    if _stopping.is_set():
        summary.skipped = "shutdown"
        summary.error = ""
    return summary


def watch_is_free(connection_id: int) -> bool:
    """True when no worker holds the watch lease of this connection (a hint: racy by nature)."""
    lease = make_lease(f"watch:{connection_id}", 1.0)
    if lease.acquire():
        lease.release()
        return True
    return False
