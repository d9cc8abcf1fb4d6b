"""Two real Celery workers (each with its beat): the one holding the watch is SIGKILLed and the
other takes the watch over within seconds (the short lease, renewed every second, and beat's
check every 2 s: the defaults). At no time do two watches run: the lease numbers its holders
(fence 1, 2, ...) and each watch logs the fence it started with; the simulator, like Kuscia,
counts the open watch streams."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from django.conf import settings

from connections.models import Connection, SyncState
from jobs.models import Job
from kuscia import types as kt
from simulator import Simulator
from simulator.demo import example_job
from tests.fixtures.celery import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

STARTED = re.compile(r"watch of sim started \(lease fence (\d+)\)")
CHECKED = "'started': []"  # beat's watch check found the watch held


def fences(worker: Any) -> list[int]:
    return [int(m) for m in STARTED.findall(worker.output())]


def test_sigkilled_watcher_is_replaced_within_seconds_never_two(
    kuscia_sim_factory: Callable[..., Simulator],
    celery_worker_factory: Callable[..., Any],
    celery_prefix: str,
) -> None:
    # Heartbeats every 0.2 s: the simulator notices a dead watcher's stream at once.
    sim = kuscia_sim_factory(speed=1, heartbeat_interval=0.2)
    conn = Connection.objects.create(
        name="sim", url=sim.url, protocol="MTLS", cert_dir=str(sim.cert_dir)
    )
    # The shipped defaults (5 s lease, beat's check every 2 s), not the tests' fast ones.
    defaults = {
        "KUSCIA_WATCH_LEASE_SECONDS": str(settings.KUSCIA_WATCH_LEASE_SECONDS),
        "KUSCIA_WATCH_CHECK_SECONDS": str(
            settings.CELERY_BEAT_SCHEDULE["watch-kuscia"]["schedule"]
        ),
        "KUSCIA_WATCH_SECONDS": "600",  # no watch ends (and is relaunched anywhere) by itself
    }
    a = celery_worker_factory(**defaults)
    wait_for(lambda: fences(a) == [1], 60, what="worker A watching (fence 1)")
    b = celery_worker_factory(**defaults)
    wait_for(lambda: "ready." in b.output(), 60, what="worker B ready")

    most = [0]
    sampling = threading.Event()

    def sample() -> None:  # open watch streams at the simulator, the whole time
        while not sampling.wait(0.01):
            most[0] = max(most[0], len(sim.world._subs))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    # B's beat checks the watch, and the lease outlives its 5 s TTL by renewals: 5 checks
    # that found it held (every 2 s, in either worker) after B was ready.
    base = a.output().count(CHECKED) + b.output().count(CHECKED)
    wait_for(
        lambda: a.output().count(CHECKED) + b.output().count(CHECKED) >= base + 5,
        60,
        what="five watch checks with both workers up",
    )
    assert fences(a) == [1] and fences(b) == [], "a second watch started while A held it"
    assert "ended (lease fence 1)" not in a.output()

    a.kill()  # SIGKILL: no release, the lease must expire
    killed = time.monotonic()
    # Within seconds (a bound for a loaded CI machine; the time taken is printed).
    wait_for(lambda: fences(b) == [2], 20, interval=0.05, what="worker B took the watch over")
    took = time.monotonic() - killed
    print(f"watch takeover after SIGKILL: {took:.1f} s")
    wait_for(
        lambda: SyncState.objects.filter(
            connection=conn, watch_connected_since__isnull=False
        ).exists(),
        30,
        what="the new watch connected",
    )
    # It really watches: a job created on Kuscia now is discovered by B's watch.
    job = example_job("job-after", prefix="job-after")
    job["custom_fields"] = {"sim-task-seconds": "1000"}
    sim.world.create_job(job)
    wait_for(
        lambda: Job.objects.filter(job_id="job-after", state=kt.RUNNING).exists(),
        30,
        what="job-after seen after the takeover",
    )
    sampling.set()
    sampler.join(timeout=5)
    # The lease's own count: two holders in all, one after the other.
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    assert int(client.get(f"{celery_prefix}kc:lease:watch:{conn.pk}:fence") or 0) == 2
    assert fences(a) == [1] and fences(b) == [2]
    assert most[0] == 1, f"{most[0]} watch streams open at once at the simulator"
