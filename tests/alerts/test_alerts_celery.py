"""Alerts end to end: a real Celery worker with beat on Redis and PostgreSQL, the simulator over
mTLS, a local HTTP receiver that checks signatures, a local SMTP server. Channels and rules come
from a provisioning file the worker loads when it starts."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from alerts.models import Delivery, Incident, Subscription
from connections.models import Connection, SyncState
from jobs.models import Job
from kuscia import types as kt
from simulator import Simulator
from simulator.demo import example_job
from tests.alerts.conftest import Receiver, SmtpServer, Step
from tests.fixtures.celery import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

HOOK_SECRET = "whsec-integration-1"


def failing_job(job_id: str, *, times: int = 1, seconds: int = 60) -> dict[str, Any]:
    job = example_job(job_id, prefix=job_id)
    job["custom_fields"] = {
        "sim-task-seconds": str(seconds),  # 60: ~1.2 s of real time at speed 50
        "sim-fail-task": f"{job_id}-psi",
        "sim-fail-party": "bob",
        "sim-fail-reason": "exit-code",
        "sim-fail-times": str(times),
    }
    return job


def provisioning(tmp_path: Path, receiver: Receiver, *, smtp: SmtpServer | None = None) -> Path:
    hook = receiver.add("/hook", "webhook", HOOK_SECRET)
    ding = receiver.add("/ding", "dingtalk", "SECding-int")
    lines = [
        "channels:",
        f"  - {{name: ops-hook, kind: webhook, url: '{hook}', secret: {HOOK_SECRET}}}",
        f"  - {{name: team-ding, kind: dingtalk, url: '{ding}', secret: SECding-int}}",
    ]
    names = ["ops-hook", "team-ding"]
    if smtp is not None:
        lines.append("  - {name: ops-mail, kind: email, to: [ops@example.org]}")
        names.append("ops-mail")
    lines += [
        "rules:",
        f"  - {{name: job-failed, when: job_failed, channels: [{', '.join(names)}]}}",
        "  - {name: lost-kuscia, when: sync_failing, minutes: 0, channels: [ops-hook]}",
    ]
    path = tmp_path / "alerts.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def worker_env(path: Path, smtp: SmtpServer | None = None, **extra: str) -> dict[str, str]:
    env = {
        "KC_ALERTS_FILE": str(path),
        "KC_ALERTS_SWEEP_SECONDS": "1",
        "KC_ALERTS_GROUP_SECONDS": "0",
        "KC_ALERTS_HTTP_TIMEOUT": "1",
        "KC_ALERTS_RETRY_SECONDS": "0.5",
        "KC_ALERTS_LOST_SECONDS": "3",
        "KC_BASE_URL": "http://console.test",
    }
    if smtp is not None:
        env.update({"EMAIL_HOST": smtp.host, "EMAIL_PORT": str(smtp.port)})
    env.update(extra)
    return env


def connect(sim: Simulator) -> Connection:
    return Connection.objects.create(
        name="sim", url=sim.url, protocol="MTLS", cert_dir=str(sim.cert_dir)
    )


def watching() -> bool:
    return SyncState.objects.filter(watch_connected_since__isnull=False).exists()


def test_a_failing_job_sends_one_signed_message_and_one_resolved(
    kuscia_sim_factory: Callable[..., Simulator],
    celery_worker_factory: Callable[..., Any],
    receiver: Receiver,
    smtp_server: SmtpServer,
    tmp_path: Path,
) -> None:
    sim = kuscia_sim_factory(speed=50, heartbeat_interval=1.0)
    conn = connect(sim)
    path = provisioning(tmp_path, receiver, smtp=smtp_server)
    celery_worker_factory(**worker_env(path, smtp_server))
    wait_for(watching, 30, what="the watch connected")
    sim.world.create_job(failing_job("job-f", seconds=300))  # fails after ~6 s
    job = wait_for(lambda: Job.objects.filter(job_id="job-f").first(), 20, what="job-f known")
    ann = User.objects.create_user("ann", "ann@example.org", "pw")
    Subscription.objects.create(user=ann, job=job)
    wait_for(lambda: receiver.hits_at("/hook"), 30, interval=0.05, what="the webhook call")
    failed_at = Job.objects.get(pk=job.pk).last_changed
    first = receiver.hits_at("/hook")[0]
    print(f"job Failed in the DB → webhook: {first.at - failed_at.timestamp():.3f} s")
    time.sleep(3)  # several polls, watch events and sweeps later: still one call per channel
    hits = receiver.hits_at("/hook")
    assert len(hits) == 1, [h.body for h in hits]
    assert first.verified and first.headers["x-kc-event"] == "incident.firing"
    body = first.json()
    assert body["incident"]["subject"] == "job-f" and body["incident"]["party"] == "bob"
    assert body["incident"]["job_state"] == kt.FAILED and body["incident"]["reason"]
    assert body["link"] == "http://console.test/jobs/sim/job-f/"
    (ding,) = receiver.hits_at("/ding")
    assert ding.verified and "job-f" in ding.json()["text"]["content"]
    wait_for(lambda: len(smtp_server.messages) >= 2, 20, what="two e-mails")
    rcpts = sorted(tuple(m.rcpt_tos) for m in smtp_server.messages)
    assert rcpts == [("ann@example.org",), ("ops@example.org",)]
    # Restarted (sim-fail-times=1: the second run succeeds): one "resolved" per channel.
    sim.world.restart_job("job-f")
    wait_for(lambda: len(receiver.hits_at("/hook")) >= 2, 30, what="the resolved message")
    wait_for(lambda: Job.objects.filter(pk=job.pk, state=kt.SUCCEEDED).exists(), 30, what="success")
    time.sleep(2)
    hits = receiver.hits_at("/hook")
    assert [h.headers["x-kc-event"] for h in hits] == ["incident.firing", "incident.resolved"]
    assert all(h.verified for h in hits)
    assert hits[1].json()["incident"]["state"] == "resolved"
    assert len(receiver.hits_at("/ding")) == 2
    wait_for(lambda: len(smtp_server.messages) == 3, 20, what="the resolved e-mail")
    inc = Incident.objects.get(rule_name="job-failed")
    assert inc.state == "resolved" and inc.connection_id == conn.pk
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


def test_receiver_errors_and_timeouts_are_retried(
    kuscia_sim_factory: Callable[..., Simulator],
    celery_worker_factory: Callable[..., Any],
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    sim = kuscia_sim_factory(speed=50, heartbeat_interval=1.0)
    connect(sim)
    path = provisioning(tmp_path, receiver)
    receiver.script("/hook", Step(status=500, body="oops"), Step(sleep=2.5), Step(status=502))
    celery_worker_factory(**worker_env(path))
    wait_for(watching, 30, what="the watch connected")
    sim.world.create_job(failing_job("job-r", times=5))
    d = wait_for(
        lambda: Delivery.objects.filter(target_name="ops-hook", status="sent").first(),
        60,
        what="the delivery sent after retries",
    )
    hits = receiver.hits_at("/hook")
    assert len(hits) == 4 and all(h.verified for h in hits)
    assert len({h.headers["x-kc-delivery"] for h in hits}) == 1  # the same delivery id
    assert d.attempts == 4
    tries = list(d.tries.order_by("number").values_list("http_status", "ok"))
    assert tries == [(500, False), (None, False), (502, False), (200, True)]
    assert "timeout" in d.tries.get(number=2).error
    gaps = [b.at - a.at for a, b in itertools.pairwise(hits)]
    assert gaps[2] > gaps[0], gaps  # back-off grows (0.5 s, 1 s + the timeout, 2 s)


def test_a_worker_killed_while_sending_never_sends_twice(
    kuscia_sim_factory: Callable[..., Simulator],
    celery_worker_factory: Callable[..., Any],
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    sim = kuscia_sim_factory(speed=50, heartbeat_interval=1.0)
    connect(sim)
    path = provisioning(tmp_path, receiver)
    receiver.script("/hook", Step(block=True))
    env = worker_env(path, KC_ALERTS_HTTP_TIMEOUT="30")  # the request outlives the worker
    # Two processes: the watch holds one, so the two channels' deliveries go one after the other.
    # With three, the other channel's call could be in flight when the worker dies, and then
    # (rightly) never be sent again: the lost-before-sending path below would not be tested.
    worker = celery_worker_factory(concurrency=2, **env)
    wait_for(watching, 30, what="the watch connected")
    sim.world.create_job(failing_job("job-k", times=5))
    assert receiver.arrivals["/hook"].wait(40), "the webhook call never arrived"
    worker.kill()  # SIGKILL, the whole process group, while the call is in flight
    receiver.release.set()
    d = Delivery.objects.get(target_name="ops-hook")
    assert d.status == "sending"
    celery_worker_factory(**worker_env(path, KC_ALERTS_HTTP_TIMEOUT="1"))
    # The new worker's sweep finds the orphaned `sending` row (older than 3 x timeout + 10 s)
    # and marks it unknown instead of sending it again.
    wait_for(
        lambda: Delivery.objects.filter(pk=d.pk, status="unknown").exists(),
        60,
        what="the orphaned delivery marked unknown",
    )
    time.sleep(3)
    assert len(receiver.hits_at("/hook")) == 1
    d.refresh_from_db()
    assert "never arrives twice" in d.error
    # The other channel's delivery, lost with the worker before it was sent (queued or claimed),
    # is queued again by the sweep and sent once.
    wait_for(
        lambda: Delivery.objects.filter(target_name="team-ding", status="sent").exists(),
        30,
        what="the other channel's delivery sent",
    )
    assert len(receiver.hits_at("/ding")) == 1


def test_losing_kuscia_is_an_alert_and_so_is_getting_it_back(
    kuscia_sim_factory: Callable[..., Simulator],
    celery_worker_factory: Callable[..., Any],
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    sim = kuscia_sim_factory(speed=50, heartbeat_interval=1.0)
    connect(sim)
    path = provisioning(tmp_path, receiver)
    # While Kuscia is down each watch attempt briefly looks connected: the grouping window
    # keeps that flapping inside one incident.
    celery_worker_factory(**worker_env(path, KC_ALERTS_GROUP_SECONDS="4"))
    wait_for(
        lambda: SyncState.objects.filter(last_success__isnull=False).exists(), 30, what="a sync"
    )
    port = sim.port
    sim.stop()
    hit = wait_for(lambda: receiver.hits_at("/hook"), 40, what="the sync-failing alert")[0]
    body = hit.json()
    assert hit.verified and body["incident"]["kind"] == "sync_failing"
    assert body["incident"]["subject"] == "sim" and "connect" in body["incident"]["reason"]
    time.sleep(6)  # longer than the window: still one incident, one message
    assert len(receiver.hits_at("/hook")) == 1
    kuscia_sim_factory(speed=50, heartbeat_interval=1.0, port=port)
    wait_for(lambda: len(receiver.hits_at("/hook")) >= 2, 40, what="the resolved message")
    time.sleep(2)
    events = [h.headers["x-kc-event"] for h in receiver.hits_at("/hook")]
    assert events == ["incident.firing", "incident.resolved"]
