"""The lease keeper of a watch: renewals keep the lease past its TTL; a renewal that hangs or
fails gives the lease up (on_lost: the watch closes its stream) at the local deadline, before
the store lets another worker take it."""

from __future__ import annotations

import threading
import time

from jobs.sync.leases import LeaseKeeper


class FakeLease:
    fence = None

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.renewals = 0
        self.release_hang = threading.Event()

    def acquire(self) -> bool:
        return True

    def renew(self) -> bool:
        self.renewals += 1
        if self.mode == "hang":
            self.release_hang.wait(30)
        if self.mode == "raise":
            raise ConnectionError("Redis unreachable")
        return self.mode == "ok"

    def release(self) -> None:
        pass


def keep(lease: FakeLease, ttl: float = 0.6) -> tuple[LeaseKeeper, threading.Event, float]:
    """A keeper as the watch starts it (renewing every ttl / 5)."""
    lost = threading.Event()
    asked = time.monotonic()
    keeper = LeaseKeeper(lease, ttl / 5, ttl=ttl, acquired_at=asked, on_lost=lost.set)
    keeper.start()
    return keeper, lost, asked


def test_renewals_keep_the_lease_past_its_ttl() -> None:
    lease = FakeLease("ok")
    keeper, lost, _ = keep(lease)
    while lease.renewals < 12:  # 12 renewals x 0.12 s: well past the 0.6 s TTL
        assert not lost.wait(0.02)
    assert not keeper.lost and not keeper.expired()
    keeper.stop()
    assert not lost.is_set()


def test_a_hanging_renewal_gives_the_lease_up_before_it_expires_in_the_store() -> None:
    lease = FakeLease("hang")
    keeper, lost, _ = keep(lease)
    assert lost.wait(10), "on_lost was never called while the renewal hung"
    # Given up by the deadline, while the first renewal still hangs (not by its outcome).
    assert lease.renewals == 1 and not lease.release_hang.is_set()
    assert keeper.lost and keeper.expired()
    lease.release_hang.set()
    keeper.stop()


def test_a_failing_or_raising_renewal_loses_the_lease() -> None:
    for mode in ("fail", "raise"):
        lease = FakeLease(mode)
        keeper, lost, _ = keep(lease)
        assert lost.wait(10), mode
        assert keeper.lost and lease.renewals >= 1
        keeper.stop()
