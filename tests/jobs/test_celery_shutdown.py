"""A warm shutdown of a real worker (SIGTERM, or Ctrl-C on the process group as in `make run`)
ends the running watch at once instead of waiting up to KUSCIA_WATCH_SECONDS."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from connections.models import Connection, SyncLease, SyncState
from simulator import Simulator
from tests.fixtures.celery import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

WATCH_SECONDS = 300


@pytest.mark.parametrize(
    ("how", "broker"),
    [
        ("sigterm-main", "redis"),
        ("sigint-group", "redis"),
        # `make run` without REDIS_URL: kombu's filesystem transport, whose blocking prefork
        # pool turns SIGUSR1/SIGUSR2/... into an exit of the pool process (hence SIGURG).
        ("sigint-group", "filesystem"),
    ],
)
def test_warm_shutdown_ends_the_watch_promptly(
    how: str,
    broker: str,
    kuscia_sim_factory: Callable[..., Simulator],
    celery_worker_factory: Callable[..., Any],
    celery_prefix: str,
    tmp_path: Path,
) -> None:
    sim = kuscia_sim_factory(speed=50, heartbeat_interval=1.0)
    conn = Connection.objects.create(
        name="sim", url=sim.url, protocol="MTLS", cert_dir=str(sim.cert_dir)
    )
    extra = {"KUSCIA_WATCH_SECONDS": str(WATCH_SECONDS)}
    if broker == "filesystem":
        extra.update(REDIS_URL="", KC_VAR_DIR=str(tmp_path / "var"))
    worker = celery_worker_factory(**extra)
    wait_for(
        lambda: SyncState.objects.filter(
            connection=conn, watch_connected_since__isnull=False
        ).exists(),
        30,
        what="the watch connected",
    )
    time.sleep(2)  # the watch task is now blocked reading the stream (heartbeats only)
    assert worker.proc.poll() is None

    started = time.monotonic()
    if how == "sigterm-main":  # systemctl stop (KillMode=mixed), kill PID
        worker.proc.send_signal(signal.SIGTERM)
    else:  # Ctrl-C in a terminal: SIGINT to the whole foreground process group
        os.killpg(worker.proc.pid, signal.SIGINT)
    try:
        code = worker.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"worker still running 60 s after {how}:\n{worker.output()[-4000:]}")
    took = time.monotonic() - started
    log = worker.output()
    print(f"{how} ({broker}): worker exited with {code} after {took:.2f} s")

    # The watch ended because the worker stopped (its stream closed), not at its timeout.
    ended = re.search(r"watch_kuscia\[[^]]+\] succeeded in .*'skipped': 'shutdown'", log)
    assert ended, log[-3000:]
    assert "Warm shutdown" in log and "Cold shutdown" not in log, log[-3000:]
    assert "exited with" not in log, log[-3000:]  # no pool process died on the way
    state = SyncState.objects.get(connection=conn)
    assert state.watch_connected_since is None  # the watch task ran its cleanup
    assert state.watch_last_error == ""  # a shutdown is not a watch failure
    # The lease is released (not left to expire).
    if broker == "redis":
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        assert not client.exists(f"{celery_prefix}kc:lease:watch:{conn.pk}")
    else:
        lease = SyncLease.objects.get(name=f"watch:{conn.pk}")
        assert lease.owner == "" and lease.expires_at is None
    assert "watch_kuscia" in log and "raised" not in log.split("Warm shutdown")[-1]
