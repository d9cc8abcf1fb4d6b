"""Named, expiring leases that keep one poller and one watcher per connection across workers
(Redis when REDIS_URL is set, else a database row)."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import uuid
from datetime import timedelta
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db.models import Q
from django.utils import timezone

from connections.models import SyncLease

log = logging.getLogger(__name__)


# ============================================================== leases (one worker per duty)


class Lease(Protocol):
    def acquire(self) -> bool: ...
    def renew(self) -> bool: ...
    def release(self) -> None: ...


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class DbLease:
    """A lease row in the database (works on SQLite and PostgreSQL, no Redis needed)."""

    def __init__(self, name: str, ttl: float) -> None:
        self.name, self.ttl, self.owner = name, ttl, _owner()

    def acquire(self) -> bool:
        try:
            with transaction.atomic():
                SyncLease.objects.get_or_create(name=self.name)
        except IntegrityError:
            pass
        now = timezone.now()
        free = Q(owner=self.owner) | Q(expires_at__isnull=True) | Q(expires_at__lt=now)
        taken = (
            SyncLease.objects.filter(name=self.name)
            .filter(free)
            .update(owner=self.owner, expires_at=now + timedelta(seconds=self.ttl))
        )
        return taken == 1

    def renew(self) -> bool:
        expires = timezone.now() + timedelta(seconds=self.ttl)
        return (
            SyncLease.objects.filter(name=self.name, owner=self.owner).update(expires_at=expires)
            == 1
        )

    def release(self) -> None:
        SyncLease.objects.filter(name=self.name, owner=self.owner).update(owner="", expires_at=None)


class RedisLease:
    """A Redis lock with a TTL (SET NX PX with an owner token), renewable and releasable."""

    def __init__(self, name: str, ttl: float) -> None:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        key = f"{settings.KC_REDIS_PREFIX}kc:lease:{name}"
        self._lock = client.lock(key, timeout=ttl, blocking=False, thread_local=False)

    def acquire(self) -> bool:
        return bool(self._lock.acquire(blocking=False))

    def renew(self) -> bool:
        from redis.exceptions import LockError

        try:
            self._lock.reacquire()
        except LockError:
            return False
        return True

    def release(self) -> None:
        from redis.exceptions import LockError

        with contextlib.suppress(LockError):
            self._lock.release()


def make_lease(name: str, ttl: float) -> Lease:
    return RedisLease(name, ttl) if settings.REDIS_URL else DbLease(name, ttl)


class LeaseKeeper(threading.Thread):
    """Renews a lease in the background while a long call (the watch) blocks."""

    def __init__(self, lease: Lease, interval: float) -> None:
        super().__init__(daemon=True, name="lease-keeper")
        self.lease, self.interval = lease, interval
        self.stopped = threading.Event()
        self.lost = False

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.interval):
                if not self.lease.renew():
                    self.lost = True
                    return
        finally:
            connections.close_all()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)
