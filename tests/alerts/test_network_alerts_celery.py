"""Node and route alerts end to end: a real Celery worker with beat (the network poll and the
alerts sweep) on Redis and PostgreSQL, the simulator over mTLS, the signature-checking local
receiver. A route broken in the simulator gives exactly one signed firing call; fixed, exactly
one resolved call."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from alerts.models import Delivery, Incident
from connections.models import Connection
from network.models import Route
from simulator import Simulator
from tests.alerts.conftest import Receiver
from tests.alerts.test_alerts_celery import HOOK_SECRET, worker_env
from tests.fixtures.celery import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
POLL = 1.0


def route_status(conn: Connection, source: str, destination: str) -> str:
    r = Route.objects.filter(connection=conn, source=source, destination=destination).first()
    return r.status if r else ""


def test_a_broken_route_sends_one_firing_and_one_resolved_message(
    kuscia_sim_factory: Callable[..., Simulator],
    celery_worker_factory: Callable[..., Any],
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    sim = kuscia_sim_factory(speed=50)
    conn = Connection.objects.create(
        name="sim", url=sim.url, protocol="MTLS", cert_dir=str(sim.cert_dir), local_domain="alice"
    )
    hook = receiver.add("/hook", "webhook", HOOK_SECRET)
    path = tmp_path / "alerts.yaml"
    path.write_text(
        "channels:\n"
        f"  - {{name: ops-hook, kind: webhook, url: '{hook}', secret: {HOOK_SECRET}}}\n"
        "rules:\n"
        "  - {name: route-down, when: route_failed, minutes: 0, party: bob,"
        " channels: [ops-hook]}\n"
        "  - {name: node-down, when: node_not_ready, minutes: 5, channels: [ops-hook]}\n"
    )
    celery_worker_factory(
        **worker_env(path),
        KUSCIA_NETWORK_POLL_SECONDS=str(POLL),
        KUSCIA_NETWORK_INVENTORY_SECONDS="60",
        KUSCIA_NETWORK_DOMAINS="bob,carol",
    )
    wait_for(lambda: route_status(conn, "bob", "alice") == "Succeeded", 60, what="routes known")
    time.sleep(2 * POLL)
    assert receiver.hits_at("/hook") == []  # everything up: nothing said

    sim.world.set_route_status("bob", "alice", "Failed", "DestinationUnreachable")
    broken = time.time()
    wait_for(lambda: receiver.hits_at("/hook"), 30, interval=0.05, what="the firing call")
    took = receiver.hits_at("/hook")[0].at - broken
    print(f"route broken in the simulator → webhook: {took:.2f} s")
    time.sleep(4 * POLL)  # polls and sweeps later: still one call
    (firing,) = receiver.hits_at("/hook")
    assert firing.verified and firing.headers["x-kc-event"] == "incident.firing"
    body = firing.json()
    assert body["incident"]["subject"] == "bob → alice"
    assert body["incident"]["job_state"] == "Failed"
    assert "DestinationUnreachable" in body["incident"]["reason"]
    assert body["link"] == "http://console.test/network/routes/sim/bob/alice/"

    sim.world.set_route_status("bob", "alice", "Succeeded")
    wait_for(lambda: len(receiver.hits_at("/hook")) >= 2, 30, interval=0.05, what="resolved")
    time.sleep(4 * POLL)
    hits = receiver.hits_at("/hook")
    assert [h.headers["x-kc-event"] for h in hits] == ["incident.firing", "incident.resolved"]
    assert all(h.verified for h in hits)
    inc = Incident.objects.get(rule_name="route-down")
    assert inc.state == "resolved" and inc.connection_id == conn.pk
    assert not Incident.objects.filter(rule_name="node-down").exists()
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
