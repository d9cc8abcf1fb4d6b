"""Sync health per connection (SyncState): back-off after failures, the last error shown
by the sync banner and /healthz."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from connections.models import Connection, SyncState
from jobs.sync.signals import sync_health_changed
from kuscia.errors import KusciaError

if TYPE_CHECKING:
    from jobs.sync.reconcile import ReconcileSummary

log = logging.getLogger(__name__)
# Stored in English and translated when shown (dashboard/stored_texts.py).
WORKER_LOG_HINT = gettext_noop("See the worker's log.")


# ============================================================== sync health


def sync_state(connection: Connection) -> SyncState:
    state, _ = SyncState.objects.get_or_create(connection=connection)
    return state


def wake_poller(connection: Connection) -> None:
    """A job became known: end an idle back-off so the next beat polls it (not error back-off)."""
    SyncState.objects.filter(
        connection=connection, consecutive_failures=0, next_attempt__gt=timezone.now()
    ).update(next_attempt=None)


def backoff_delay(failures: int) -> float:
    """Exponential back-off after `failures` consecutive failures, capped."""
    base = max(float(settings.KUSCIA_POLL_SECONDS), 0.5)
    return float(min(settings.KUSCIA_BACKOFF_MAX_SECONDS, base * 2 ** max(failures - 1, 0)))


def record_failure(
    connection: Connection, exc: BaseException, started: datetime, summary: ReconcileSummary
) -> None:
    if isinstance(exc, KusciaError):
        kind, message, hint = exc.kind, exc.message, exc.hint
    else:
        kind, message, hint = "internal", f"{type(exc).__name__}: {exc}", WORKER_LOG_HINT
    with transaction.atomic():
        state = SyncState.objects.select_for_update().get(pk=sync_state(connection).pk)
        state.consecutive_failures += 1
        now = timezone.now()
        state.last_attempt = started
        state.last_error_kind = kind
        state.last_error_message = message[:2000]
        state.last_error_hint = hint
        state.last_error_at = now
        state.next_attempt = now + timedelta(seconds=backoff_delay(state.consecutive_failures))
        summary.error = f"{kind}: {message}"
        state.last_cycle = summary.as_dict()
        state.save()
        transaction.on_commit(
            lambda: sync_health_changed.send_robust(SyncState, connection=connection, ok=False)
        )


def record_success(
    connection: Connection, started: datetime, summary: ReconcileSummary, *, idle: bool
) -> None:
    now = timezone.now()
    next_attempt = now + timedelta(seconds=settings.KUSCIA_IDLE_POLL_SECONDS) if idle else None
    fields: dict[str, Any] = {
        "last_attempt": started,
        "last_success": now,
        "consecutive_failures": 0,
        "next_attempt": next_attempt,
        "last_cycle": summary.as_dict(),
    }
    if summary.slow_included:
        fields["last_slow_poll"] = started
    SyncState.objects.filter(connection=connection).update(**fields)  # the row exists by now
    transaction.on_commit(
        lambda: sync_health_changed.send_robust(SyncState, connection=connection, ok=True)
    )
