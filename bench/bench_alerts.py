"""Benchmark of alerts: the beat sweep at N jobs, and Kuscia change → webhook latency.

1. Sweep (goal <= 50 ms at 100,000 jobs): N jobs in a realistic mix of states and ages, four
   duration rules (Pending > 10 min, awaiting approval > 30 min, no progress > 60 min, sync
   failing > 5 min) and two event rules. The first sweep must open exactly the incidents the
   generated data implies (asserted); then it prints the time and query count of steady sweeps
   (what beat runs every KC_ALERTS_SWEEP_SECONDS: the provisioning check and rules.sweep).
   Deliveries are recorded, not sent.
2. Latency (goal p95 <= 2 s with the watch; needs PostgreSQL and REDIS_URL): a real Celery
   worker with beat, the simulator in its own process over mTLS, a local HTTP receiver that
   checks the webhook signature. Per sample a Running job is stopped in the simulator (Running
   → Failed) and the time until the signed webhook call arrives is measured.

Usage:
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/kc_alerts_bench \\
  REDIS_URL=redis://127.0.0.1:6379/3 .venv/bin/python bench/bench_alerts.py --jobs 100000
  (--samples 0 skips the latency part; the database is created when missing and its job and
  alerts tables are emptied.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kc_alerts_bench")
os.environ["KUSCIA_DEFAULT_CONNECTION"] = "0"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")  # not one line per incident opened
sys.path.insert(0, str(ROOT / "bench"))
from bench_sync import ensure_database, pct  # noqa: E402  (after the environment defaults)

SECRET = "bench-webhook-secret"
# (state, share in %) of the generated jobs; ages spread evenly over 0..119 minutes.
MIX = [
    ("Pending", 2),
    ("AwaitingApproval", 1),
    ("Running", 6),
    ("Failed", 15),
    ("Cancelled", 5),
    ("Succeeded", 71),
]
DURATION_RULES = [  # name, kind, minutes, state
    ("pending-10", "pending_longer", 10, "Pending"),
    ("approval-30", "approval_longer", 30, "AwaitingApproval"),
    ("stuck-60", "no_progress", 60, "Running"),
]


def state_of(i: int) -> str:
    k = i % 100
    for state, share in MIX:
        if k < share:
            return state
        k -= share
    raise AssertionError("MIX must add up to 100")


def minutes_ago(i: int) -> int:
    return (i * 7) % 120


def empty_tables() -> None:
    from django.db import connection

    from alerts.models import Channel, Delivery, Incident, ProvisionState, Rule, Subscription
    from connections.models import Connection
    from jobs.models import Job

    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                "TRUNCATE alerts_deliveryattempt, alerts_delivery, alerts_incident, "
                "alerts_subscription, alerts_rule_channels, alerts_rule, alerts_channel, "
                "alerts_provisionstate, jobs_endpoint, jobs_partystatus, jobs_task, "
                "jobs_transition, jobs_job, jobs_syncstate, jobs_synclease, jobs_connection "
                "RESTART IDENTITY CASCADE"
            )
        return
    for model in (Delivery, Incident, Subscription, Rule, Channel, ProvisionState, Job):
        model.objects.all().delete()
    Connection.objects.all().delete()


def populate(n: int, now: dt.datetime) -> dict[str, int]:
    """N jobs on one healthy connection, one connection failing for 30 minutes, the rules.
    Returns the incidents the first sweep must open, per rule."""
    from alerts.models import Channel, Rule
    from alerts.secrets import seal
    from connections.models import Connection, SyncState
    from jobs.models import Job

    conn = Connection.objects.create(name="bench", url="https://127.0.0.1:1")
    SyncState.objects.create(connection=conn, last_success=now, last_attempt=now)
    broken = Connection.objects.create(
        name="broken", url="https://127.0.0.1:2", created_at=now - dt.timedelta(days=1)
    )
    SyncState.objects.create(
        connection=broken,
        last_success=now - dt.timedelta(minutes=30),
        consecutive_failures=40,
        last_error_kind="connect_refused",
        last_error_message="refused",
    )
    batch: list[Job] = []
    expected = {name: 0 for name, *_ in DURATION_RULES}
    for i in range(n):
        state, ago = state_of(i), minutes_ago(i)
        changed = now - dt.timedelta(minutes=ago, seconds=1)
        for name, _kind, minutes, rule_state in DURATION_RULES:
            expected[name] += state == rule_state and ago >= minutes
        batch.append(
            Job(
                connection=conn,
                job_id=f"bench-{i:06d}",
                initiator="alice",
                state=state,
                parties=["alice", "bob"],
                task_count=2,
                source=Job.Source.DISCOVERED,
                spec_fetched=True,
                first_seen=changed,
                last_changed=changed,
                last_synced=changed,
                approve_status=[{"domain_id": "alice", "state": "JobAccepted"}],
            )
        )
        if len(batch) == 5000:
            Job.objects.bulk_create(batch)
            batch = []
    if batch:
        Job.objects.bulk_create(batch)
    hook = Channel.objects.create(
        name="hook", kind="webhook", target_encrypted=seal("http://127.0.0.1:9/x")
    )
    for name, kind, minutes, _state in DURATION_RULES:
        Rule.objects.create(name=name, kind=kind, minutes=minutes).channels.set([hook])
    Rule.objects.create(name="sync-5", kind="sync_failing", minutes=5).channels.set([hook])
    Rule.objects.create(name="failed", kind="job_failed").channels.set([hook])
    Rule.objects.create(name="ended", kind="job_ended").channels.set([hook])
    expected["sync-5"] = 1
    return expected


def bench_sweep(n: int, sweeps: int) -> dict[str, Any]:
    from django.db import connection
    from django.db.models import Count
    from django.utils import timezone

    from alerts import provision, queue, rules
    from alerts.models import Delivery, Incident
    from jobs.models import Job

    queue.enqueue = lambda ids: None  # type: ignore[assignment]  # recorded, not sent
    empty_tables()
    t = time.perf_counter()
    now = timezone.now()  # every sweep looks at the data as of this instant (no job crosses a
    expected = populate(n, now)  # threshold while the benchmark runs)
    setup = time.perf_counter() - t
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE jobs_job")
    assert Job.objects.count() == n, "precondition: N jobs"
    first = rules.sweep(now)
    opened = dict(Incident.objects.order_by().values_list("rule_name").annotate(n=Count("id")))
    assert opened == {k: v for k, v in expected.items() if v}, (opened, expected)
    assert first.opened == sum(expected.values())
    assert Delivery.objects.count() == first.opened, "precondition: one delivery per incident"
    Delivery.objects.update(status="sent")  # as the workers would have: nothing is lost
    if connection.vendor == "postgresql":  # what autovacuum does after such a burst of rows
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE alerts_incident")
            cur.execute("VACUUM ANALYZE alerts_delivery")
    times, queries = [], []
    for _ in range(sweeps):
        counted: list[str] = []

        def count(execute: Any, sql: str, *rest: Any, seen: list[str] = counted) -> Any:
            seen.append(sql)
            return execute(sql, *rest)

        with connection.execute_wrapper(count):
            t0 = time.perf_counter()
            provision.refresh()
            s = rules.sweep(now)
            times.append(time.perf_counter() - t0)
        queries.append(len(counted))
        assert s.opened == 0 and s.cleared == 0 and s.resolved == 0, s.as_dict()
        assert s.deliveries == {"requeued": 0, "unknown": 0, "queued": 0}, s.deliveries
    return {
        "n": n,
        "setup_s": setup,
        "incidents": first.opened,
        "p50_ms": statistics.median(times) * 1000,
        "p95_ms": pct(times, 95) * 1000,
        "max_ms": max(times) * 1000,
        "queries": max(queries),
    }


# ============================================================== latency


class Receiver:
    """Records when each signed webhook call arrives, by the job it names."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.bad = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(want, self.headers.get("X-KC-Signature", "")):
                    receiver.bad += 1
                data = json.loads(body)
                if data.get("event") == "incident.firing":
                    receiver.arrived.setdefault(data["incident"]["subject"], time.time())
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def bench_latency(samples: int) -> dict[str, Any]:
    from django.conf import settings
    from django.db import connection

    from alerts.models import Channel, Rule
    from alerts.secrets import seal
    from connections.models import Connection, SyncState
    from jobs.models import Job
    from simulator import ManualClock, Simulator, ensure_certs
    from simulator.demo import example_job

    assert connection.vendor == "postgresql", "precondition: PostgreSQL (the worker shares it)"
    assert settings.REDIS_URL, "precondition: REDIS_URL (the worker's broker)"
    empty_tables()
    receiver = Receiver()
    certs = Path(tempfile.mkdtemp(prefix="bench-alerts-certs-"))
    ensure_certs(certs)
    # A manual clock: a job changes only when told to. The simulator serves from threads of
    # this process, which otherwise only sleeps between database polls.
    sim = Simulator(cert_dir=certs, demo=False, clock=ManualClock(), heartbeat_interval=5.0)
    sim.start()
    log = Path(tempfile.mkdtemp(prefix="bench-alerts-")) / "worker.log"
    worker = None
    try:
        Connection.objects.create(name="bench", url=sim.url, protocol="MTLS", cert_dir=str(certs))
        hook = Channel.objects.create(
            name="hook",
            kind="webhook",
            target_encrypted=seal(receiver.url),
            secret_encrypted=seal(SECRET),
        )
        Rule.objects.create(name="failed", kind="job_failed").channels.set([hook])
        worker = start_worker(log)
        wait(lambda: SyncState.objects.filter(watch_connected_since__isnull=False).exists(), 60)
        ids = [f"lat-{i:03d}" for i in range(samples)]
        for job_id in ids:
            job = example_job(job_id, prefix=job_id)  # task ids are cluster-wide
            job["custom_fields"] = {"sim-task-seconds": "3600"}
            sim.world.create_job(job)
        sim.world.advance(5)
        wait(lambda: Job.objects.filter(job_id__in=ids, state="Running").count() == samples, 60)
        latencies = []
        for job_id in ids:
            t0 = time.time()
            sim.world.stop_job(job_id)
            wait(lambda j=job_id: j in receiver.arrived, 30)  # type: ignore[misc]
            latencies.append(receiver.arrived[job_id] - t0)
        assert receiver.bad == 0, "every call carried a valid signature"
        return {
            "samples": samples,
            "p50_s": statistics.median(latencies),
            "p95_s": pct(latencies, 95),
            "max_s": max(latencies),
        }
    except Exception:
        if log.exists():
            print(log.read_text()[-4000:], file=sys.stderr)
        raise
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        sim.stop()


def start_worker(log: Path) -> subprocess.Popen[bytes]:
    from django.db import connection

    db = connection.settings_dict
    env = dict(os.environ)
    user, host, port = db.get("USER") or "postgres", db.get("HOST") or "127.0.0.1", db.get("PORT")
    env.update(
        {
            "DATABASE_URL": f"postgres://{user}@{host}:{port or 5432}/{db['NAME']}",
            "KC_REDIS_PREFIX": f"kc-bench-alerts-{uuid.uuid4().hex[:8]}:",
            "KUSCIA_POLL_SECONDS": "1",
            "KUSCIA_WATCH_CHECK_SECONDS": "1",
            "KC_ALERTS_SWEEP_SECONDS": "5",
            "LOG_LEVEL": "WARNING",
        }
    )
    celery = Path(sys.executable).parent / "celery"
    cmd = [str(celery), "-A", "dashboard", "worker", "-B", "-c", "3", "--without-mingle"]
    cmd += ["--without-gossip", "-s", str(log.parent / "beat"), "-l", "WARNING"]
    with log.open("wb") as out:
        return subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def wait(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout} s")
        time.sleep(0.005)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--sweeps", type=int, default=20)
    ap.add_argument("--samples", type=int, default=20, help="latency samples (0: skip)")
    args = ap.parse_args()
    assert args.jobs >= 100, "precondition: at least 100 jobs (every state of the mix)"
    if os.environ["DATABASE_URL"].startswith("postgres"):
        ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    print(f"# bench_alerts: {connection.vendor} {connection.settings_dict['NAME']}", flush=True)
    r = bench_sweep(args.jobs, args.sweeps)
    print(
        f"sweep N={r['n']}: {r['incidents']} incidents opened by the first sweep; steady sweep "
        f"p50 {r['p50_ms']:.1f} ms p95 {r['p95_ms']:.1f} ms max {r['max_ms']:.1f} ms, "
        f"{r['queries']} queries (goal <= 50 ms; setup {r['setup_s']:.0f} s)",
        flush=True,
    )
    if args.samples:
        lat = bench_latency(args.samples)
        print(
            f"latency Kuscia change -> signed webhook ({lat['samples']} samples, watch): "
            f"p50 {lat['p50_s'] * 1000:.0f} ms p95 {lat['p95_s'] * 1000:.0f} ms "
            f"max {lat['max_s'] * 1000:.0f} ms (goal p95 <= 2000 ms)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
