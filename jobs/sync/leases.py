"""Named, expiring leases that keep one poller and one watcher per connection across workers
(Redis when REDIS_URL is set, else a database row).

A holder that may block (the watch) keeps its lease with a LeaseKeeper: it renews the lease
often and also keeps a local deadline, the last moment the lease is sure to be its own (the
time just before the renewal was sent, plus the TTL; the store's expiry is later). At that
deadline, less a margin, without a renewal, the keeper calls `on_lost` (the watch closes its
stream) before any other worker can take the lease. So a short TTL (a dead holder is replaced
within seconds) never lets two holders act at once.

Fenced Redis leases also count their holders: each acquisition takes the next `fence` number
(INCR on `<key>:fence`), logged by the watch, so that takeovers can be counted and checked."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
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
    fence: int | None  # the holder's number (Redis: 1, 2, ... per acquisition), else None

    def acquire(self) -> bool: ...
    def renew(self) -> bool: ...
    def release(self) -> None: ...


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class DbLease:
    """A lease row in the database (works on SQLite and PostgreSQL, no Redis needed)."""

    def __init__(self, name: str, ttl: float) -> None:
        self.name, self.ttl, self.owner = name, ttl, _owner()
        self.fence: int | None = None

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

    def __init__(self, name: str, ttl: float, *, fenced: bool = False) -> None:
        import redis

        # Time-outs: a renewal must fail (not hang) when Redis is unreachable.
        wait = max(1.0, ttl / 2)
        self._client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=wait, socket_connect_timeout=wait
        )
        self.key = f"{settings.KC_REDIS_PREFIX}kc:lease:{name}"
        self._lock = self._client.lock(self.key, timeout=ttl, blocking=False, thread_local=False)
        self.fence: int | None = None
        self.fenced = fenced

    def acquire(self) -> bool:
        if not self._lock.acquire(blocking=False):
            return False
        if self.fenced:
            self.fence = int(self._client.incr(f"{self.key}:fence"))
        return True

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


def make_lease(name: str, ttl: float, *, fenced: bool = False) -> Lease:
    """`fenced`: number the holders (Redis only; for duties whose takeovers are checked)."""
    return RedisLease(name, ttl, fenced=fenced) if settings.REDIS_URL else DbLease(name, ttl)


class LeaseKeeper(threading.Thread):
    """Renews a lease in the background while a long call (the watch) blocks.

    With `ttl` (and `acquired_at`, the monotonic time just before the lease was acquired) it
    also keeps the local deadline: `expired()` is true from `margin` before it, and a watchdog
    thread then gives the lease up (`lost`, `on_lost()`) unless a renewal moved the deadline,
    even while a renewal hangs. A renewal that fails, or raises (the store is unreachable),
    loses the lease too."""

    def __init__(
        self,
        lease: Lease,
        interval: float,
        *,
        ttl: float | None = None,
        acquired_at: float | None = None,
        on_lost: Callable[[], object] | None = None,
    ) -> None:
        super().__init__(daemon=True, name="lease-keeper")
        self.lease, self.interval, self.on_lost = lease, interval, on_lost
        self.stopped = threading.Event()
        self.lost = False
        self.margin = min(interval, ttl / 4) if ttl else 0.0
        start = time.monotonic() if acquired_at is None else acquired_at
        self.valid_until = start + ttl if ttl else float("inf")
        self.ttl = ttl
        self._lose_once = threading.Lock()
        self._watchdog = threading.Thread(target=self._watch_deadline, daemon=True)

    def expired(self) -> bool:
        return self.lost or time.monotonic() >= self.valid_until - self.margin

    def _wait(self) -> float:
        return max(0.0, min(self.interval, self.valid_until - self.margin - time.monotonic()))

    def start(self) -> None:
        super().start()
        if self.ttl:
            self._watchdog.start()

    def _watch_deadline(self) -> None:
        while not self.stopped.wait(max(0.02, self.valid_until - self.margin - time.monotonic())):
            if self.expired():
                self._lose()
                return

    def _lose(self) -> None:
        if not self._lose_once.acquire(blocking=False):
            return
        self.lost = True
        if self.on_lost is not None:
            try:
                self.on_lost()
            except Exception:  # closing a stream that is closing already
                log.debug("on_lost of %s failed", self.lease, exc_info=True)

    def run(self) -> None:
        try:
            while not self.stopped.wait(self._wait()):
                if self.expired():
                    self._lose()
                    return
                sent = time.monotonic()
                try:
                    renewed = self.lease.renew()
                except Exception as exc:
                    log.warning("lease renewal failed: %s", exc)
                    renewed = False
                if self.stopped.is_set():
                    return
                if not renewed:
                    self._lose()
                    return
                if self.ttl:
                    self.valid_until = sent + self.ttl
        finally:
            connections.close_all()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)
        if self._watchdog.is_alive():
            self._watchdog.join(timeout=5)
