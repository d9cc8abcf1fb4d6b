"""sync.stop_watching (called when a worker shuts down) ends a watch blocked in a read at once:
the task returns without an error, releases its lease and asks for no relaunch."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from django.conf import settings

from connections.models import Connection, SyncLease, SyncState
from jobs import sync
from jobs.sync import watch
from simulator import Simulator

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _not_stopping() -> Iterator[None]:
    watch._stopping.clear()
    yield
    watch._stopping.clear()


def test_stop_watching_ends_a_blocked_watch_and_releases_its_lease(kuscia_sim: Simulator) -> None:
    conn = Connection.objects.create(
        name="sim", url=kuscia_sim.url, protocol="MTLS", cert_dir=str(kuscia_sim.cert_dir)
    )
    closed: list[int] = []

    def stopper() -> None:
        # The watch is open on both ends (the console holds the stream, the simulator serves a
        # watcher) and, with no job to tell of, waits in a read for the next heartbeat.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (watch._streams and kuscia_sim.world._subs):
            time.sleep(0.02)
        closed.append(sync.stop_watching())

    thread = threading.Thread(target=stopper)
    thread.start()
    summary = sync.watch_connection(conn.pk, timeout_seconds=300)
    thread.join(timeout=10)

    assert closed == [1]
    # Ended by the stop (not by its 300 s timeout, which would leave skipped empty).
    assert summary.skipped == "shutdown" and summary.error == ""
    assert summary.relaunch_after is None
    assert not watch._streams
    # Released (in Redis when REDIS_URL is set, else the lease row): another worker may take it.
    assert sync.watch_is_free(conn.pk)
    if not settings.REDIS_URL:
        lease = SyncLease.objects.get(name=f"watch:{conn.pk}")
        assert lease.owner == "" and lease.expires_at is None
    state = SyncState.objects.get(connection=conn)
    assert state.watch_connected_since is None and state.watch_last_error == ""
    # While the process is stopping no new watch starts.
    assert sync.watch_connection(conn.pk, timeout_seconds=300).skipped == "shutdown"
