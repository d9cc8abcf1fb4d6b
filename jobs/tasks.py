"""Celery adapters over jobs.sync (all logic, locking and error handling live there)."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from typing import Any

from celery import shared_task
from celery.signals import worker_process_init, worker_ready, worker_shutting_down

from jobs import stats, sync


@shared_task(name="jobs.tasks.poll_kuscia", ignore_result=True)
def poll_kuscia() -> list[dict[str, Any]]:
    """Beat, every KUSCIA_POLL_SECONDS: reconcile each due connection (one poller each)."""
    return [s.as_dict() for s in sync.run_poll_cycle()]


@shared_task(name="jobs.tasks.watch_kuscia", ignore_result=True)
def watch_kuscia(connection_id: int | None = None) -> dict[str, Any]:
    """Without an id (beat): start a watcher for every connection that has none. With an id:
    watch until the finite timeout, then relaunch (one watcher per connection, by lease)."""
    if connection_id is None:
        started = [cid for cid in sync.watch_candidates() if sync.watch_is_free(cid)]
        for cid in started:
            watch_kuscia.apply_async((cid,))
        return {"started": started}
    summary = sync.watch_connection(connection_id)
    if summary.relaunch_after is not None:
        watch_kuscia.apply_async((connection_id,), countdown=summary.relaunch_after)
    return {
        "connection": summary.connection,
        "events": summary.events,
        "error": summary.error,
        "skipped": summary.skipped,  # "shutdown": ended by the worker's stop, not its timeout
    }


@shared_task(name="jobs.tasks.refresh_job_stats", ignore_result=True)
def refresh_job_stats() -> dict[str, Any]:
    """Beat, every KC_STATS_SECONDS: recount the overview's jobs per state and party activity."""
    row = stats.refresh()
    return {"computed_at": row.computed_at.isoformat(), "took_ms": row.took_ms}


@worker_ready.connect
def start_watchers(**_: Any) -> None:
    """Start watching as soon as a worker is up (beat's check only comes an interval later)."""
    watch_kuscia.apply_async()


# Fast warm shutdown. A watch blocks in a read for up to KUSCIA_WATCH_SECONDS, and a warm
# shutdown (Ctrl-C, SIGTERM) waits for running tasks. When the worker starts shutting down it
# closes the watch streams of its own process (solo/threads pools) and sends STOP_WATCH_SIGNAL to
# its prefork pool processes, which close theirs: the watch task returns, releases its lease and
# does not relaunch. SIGURG because billiard's pool children turn every terminating signal
# (SIGUSR1/2, SIGTERM, SIGHUP, ... with the blocking pool used by the filesystem broker) into an
# exit; SIGURG is left alone, is ignored by default (harmless to any process that lacks the
# handler) and is only ever raised by the kernel for a socket that asked for it (none here).
STOP_WATCH_SIGNAL = signal.SIGURG
_pool: list[Any] = []  # the worker's pool, kept by worker_ready


def _stop_watching_soon(*_: Any) -> None:
    # From a signal handler: do the closing in a thread (never block or take locks here).
    threading.Thread(target=sync.stop_watching, name="stop-watching", daemon=True).start()


@worker_process_init.connect
def _child_handles_stop_signal(**_: Any) -> None:
    signal.signal(STOP_WATCH_SIGNAL, _stop_watching_soon)


@worker_ready.connect
def _keep_pool(sender: Any = None, **_: Any) -> None:
    _pool[:] = [getattr(sender, "pool", None)]


def pool_pids() -> list[int]:
    """Process ids of the prefork pool processes (none for the solo and threads pools)."""
    inner = getattr(_pool[0], "_pool", None) if _pool else None
    procs = getattr(inner, "_pool", None) or []
    return [p.pid for p in procs if getattr(p, "pid", None) and p.pid != os.getpid()]


@worker_shutting_down.connect
def stop_watching_on_shutdown(**_: Any) -> None:
    _stop_watching_soon()
    for pid in pool_pids():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, STOP_WATCH_SIGNAL)
