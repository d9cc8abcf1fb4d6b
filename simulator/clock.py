"""Clocks for the simulator.

The world reads time only through a clock: `now()` is a POSIX timestamp (seconds, float).
`RealClock` follows the wall clock; `ManualClock` only moves when a test calls `advance()`,
which makes state-machine tests deterministic. Simulated durations are divided by the
simulator's `speed`, independently of the clock.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...


class RealClock:
    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that stands still until `advance(seconds)` is called."""

    def __init__(self, start: dt.datetime | float | None = None) -> None:
        if start is None:
            start = dt.datetime(2026, 1, 1, 8, 0, 0, tzinfo=dt.UTC)
        self._now = start.timestamp() if isinstance(start, dt.datetime) else float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a clock does not go back")
        with self._lock:
            self._now += seconds
            return self._now


def rfc3339(ts: float | None) -> str:
    """Kuscia's timestamp format: RFC3339, UTC, whole seconds, `Z`; unset is ""."""
    if ts is None:
        return ""
    return dt.datetime.fromtimestamp(int(ts), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
