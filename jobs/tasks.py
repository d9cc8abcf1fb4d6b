"""Celery adapters over jobs.sync (all logic, locking and error handling live there)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import worker_ready

from jobs import sync


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
    return {"connection": summary.connection, "events": summary.events, "error": summary.error}


@worker_ready.connect
def start_watchers(**_: Any) -> None:
    """Start watching as soon as a worker is up (beat's check only comes an interval later)."""
    watch_kuscia.apply_async()
