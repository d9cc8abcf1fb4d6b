"""The world's core: clock, the action heap, ticking and watch subscriptions.

State changes are scheduled actions on a heap, processed in time order by `tick()` (called by
the background ticker, before every request, and by `advance()` with a manual clock), so
timestamps are exact even when ticks are late. The concept mixins (job service, job
controller, network, logs) build on the state declared here.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .base import JSON
from .clock import Clock
from .faults import Faults

if TYPE_CHECKING:
    from .jobs import Job, TaskRun
    from .network import Domain, Route


@dataclass(order=True)
class _Action:
    at: float
    seq: int
    kind: str = field(compare=False)
    job_id: str = field(compare=False)
    gen: int = field(compare=False)
    alias: str = field(compare=False, default="")
    step: int = field(compare=False, default=0)


class Subscription:
    """A watch subscriber: the initial burst plus a queue of later events."""

    def __init__(self, world: WorldCore, initial: list[tuple[int, JSON]]) -> None:
        self.world = world
        self.initial = initial
        self.queue: queue.Queue[tuple[int, JSON]] = queue.Queue()

    def close(self) -> None:
        self.world._unsubscribe(self)


class WorldCore:
    """State shared by every concept, time and events. All public methods take the lock.

    The state is set up by world.World.__init__; it is declared here so that each concept's
    mixin sees its type.
    """

    mode: str  # "master" or "autonomy"
    local_domain: str  # the P2P node's domain; "" on a master
    clock: Clock
    speed: float
    lock: threading.RLock
    jobs: dict[str, Job]
    domains: dict[str, Domain]
    routes: dict[tuple[str, str], Route]  # by (source, destination)
    domaindata: dict[tuple[str, str], JSON]  # by (domain_id, domaindata_id)
    datasources: dict[tuple[str, str], JSON]  # by (domain_id, datasource_id)
    grants: dict[tuple[str, str], JSON]  # by (domain_id, domaindatagrant_id)
    app_images: set[str]
    faults: Faults
    log_mode: str
    domain_cert_pem: str
    shuffle: bool
    _rng: random.Random
    started_at: float
    _heap: list[_Action]
    _seq: itertools.count[int]
    _subs: list[Subscription]
    _listeners: list[Callable[[], None]]

    # ------------------------------------------------------------ small helpers

    def now(self) -> float:
        return self.clock.now()

    def scaled(self, sim_seconds: float) -> float:
        return sim_seconds / self.speed

    def set_faults(self, **kwargs: Any) -> Faults:
        with self.lock:
            self.faults = Faults(**kwargs)
            return self.faults

    def add_listener(self, fn: Callable[[], None]) -> None:
        self._listeners.append(fn)

    def advance(self, seconds: float) -> None:
        """Move a ManualClock forward and process everything that became due."""
        advance = getattr(self.clock, "advance", None)
        if advance is None:
            raise TypeError("advance() needs a ManualClock")
        advance(seconds)
        self.tick()

    def run_until_idle(self, limit: float = 3600.0) -> None:
        """Manual clock: advance until no action is pending (or `limit` seconds passed)."""
        spent = 0.0
        while True:
            with self.lock:
                if not self._heap:
                    return
                nxt = min(a.at for a in self._heap)
            step = max(nxt - self.now(), 0.0)
            if spent + step > limit:
                return
            self.advance(step)
            spent += step

    def _schedule(
        self, job: Job, delay_sim: float, kind: str, alias: str = "", step: int = 0, *, at: float
    ) -> None:
        heapq.heappush(
            self._heap,
            _Action(
                at + self.scaled(delay_sim), next(self._seq), kind, job.job_id, job.gen, alias, step
            ),
        )

    # ------------------------------------------------------------ events

    def subscribe(self) -> Subscription:
        """Register a watcher; atomically take an ADDED snapshot of every existing job."""
        with self.lock:
            self._tick_locked()
            initial = [(0, self.job_status(j)) for j in self._ordered_jobs()]
            sub = Subscription(self, initial)
            self._subs.append(sub)
            return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        with self.lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def _publish(self, etype: int, job: Job) -> None:
        status = self.job_status(job)
        for sub in self._subs:
            sub.queue.put((etype, status))

    def _ordered_jobs(self) -> list[Job]:
        """The order of a Kubernetes list (the watch's initial burst): by object name."""
        return sorted(self.jobs.values(), key=lambda j: j.job_id)

    # ------------------------------------------------------------ ticking

    def tick(self) -> None:
        with self.lock:
            self._tick_locked()

    def _tick_locked(self) -> None:
        now = self.now()
        while self._heap and self._heap[0].at <= now:
            action = heapq.heappop(self._heap)
            job = self.jobs.get(action.job_id)
            if job is None or job.gen != action.gen:
                continue
            self._apply(job, action)

    # ------------------------------------------------------------ provided by the mixins

    def _apply(self, job: Job, a: _Action) -> None:
        raise NotImplementedError

    def job_status(self, job: Job) -> JSON:
        raise NotImplementedError

    def _write_log(
        self, job: Job, run: TaskRun, step: int, at: float, culprit: str = "", error: str = ""
    ) -> None:
        raise NotImplementedError
