"""Retention (beat, every KC_LOG_CLEAN_SECONDS): a log older than KC_LOG_RETENTION_DAYS, or
whose job the console forgot, is removed: its storage objects first, then its index rows."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from logs import storage
from logs.models import TaskLog

BATCH = 200


def clean(now: datetime | None = None, batch: int = BATCH) -> int:
    """Remove expired logs (at most `batch`); how many were removed."""
    before = (now or timezone.now()) - timedelta(days=settings.KC_LOG_RETENTION_DAYS)
    removed = 0
    for row in TaskLog.objects.expired(before, batch):
        storage.delete_prefix(row.prefix)
        row.delete()
        removed += 1
    return removed
