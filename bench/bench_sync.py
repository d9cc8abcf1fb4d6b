"""Benchmark of the sync engine on the simulator (mTLS) and PostgreSQL.

For each size N (active jobs of 2 tasks x 2 parties, each with task ids of its own, frozen by a
manual clock so nothing changes between cycles) it prints:

* Kuscia requests per reconcile cycle, rows written per cycle when nothing changed (goal 0);
* cycle time, the fetch+parse-only time over the same chunks (the floor) and the ratio
  (goal <= 1.5x);
* latency from a state change in the simulator (a stop: Running -> Failed) to the DB row,
  with the watch (goal p95 <= 1 s) and with polling only (every --poll-interval seconds).

Usage:
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/kc_sync_bench \\
      .venv/bin/python bench/bench_sync.py --sizes 100 1000 10000

The database is created when missing and its job tables are emptied for each size.

Preconditions, checked for every size (the script exits with status 1 when one fails, so a
change that stops it measuring what it says fails its smoke test, tests/jobs/test_bench_sync.py):
* all N jobs are Running in the simulator and in the database before the cycles (a job whose
  task ids clash with another job's is failed by the simulator, as by Kuscia);
* every cycle sends ceil(N / batch size) requests;
* each latency sample starts from a job that is Running in the simulator and in the database.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kc_sync_bench")
os.environ["KUSCIA_DEFAULT_CONNECTION"] = "0"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")


def ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            c.execute(f'CREATE DATABASE "{name}"')


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


class PreconditionFailed(Exception):
    """The benchmark would not measure what it claims: stop with status 1."""


def require(ok: bool, what: str) -> None:
    if not ok:
        raise PreconditionFailed(what)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--samples", type=int, default=30, help="latency samples with watch")
    ap.add_argument("--poll-samples", type=int, default=10)
    ap.add_argument("--poll-interval", type=float, default=2.0)
    args = ap.parse_args()

    if os.environ["DATABASE_URL"].startswith("postgres"):
        ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)

    from django.conf import settings

    from simulator import ensure_certs

    certs = Path(tempfile.mkdtemp(prefix="bench-sync-certs-"))
    ensure_certs(certs)
    print(
        f"# bench_sync: PostgreSQL {connection.settings_dict['NAME']}, simulator over mTLS, "
        f"batch size {settings.KUSCIA_BATCH_SIZE}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    rows: list[dict[str, Any]] = []
    for n in args.sizes:
        try:
            result = bench_one(n, args, certs)
        except PreconditionFailed as exc:
            print(f"N={n}: PRECONDITION FAILED: {exc}", file=sys.stderr, flush=True)
            return 1
        rows.append(result)
        print(
            f"N={n:>6}: active jobs {result['active']}  requests/cycle {result['requests']:>4} "
            f"(expected {result['expected_requests']})  rows written (no change) "
            f"{result['rows']}  cycle {result['cycle_s']:.3f}s  "
            f"fetch+parse {result['floor_s']:.3f}s  ratio {result['ratio']:.2f}x | "
            f"watch burst {result['burst_s']:.1f}s, latency "
            f"watch p50 {result['watch_p50'] * 1000:.0f}ms p95 {result['watch_p95'] * 1000:.0f}ms"
            f" | polling every {args.poll_interval:g}s p50 {result['poll_p50']:.2f}s "
            f"p95 {result['poll_p95']:.2f}s  (setup {result['setup_s']:.0f}s, "
            f"load average {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    return 0


def _sim_process(conn: Any, cert_dir: str) -> None:
    """The simulator in its own process (its HTTP threads must not share our GIL), driven
    through a pipe: ("create", ids), ("advance", s), ("stop", id), ("query", id), ("quit",)."""
    from simulator import ManualClock, Simulator
    from simulator.demo import example_job

    sim = Simulator(cert_dir=cert_dir, demo=False, clock=ManualClock(), heartbeat_interval=5.0)
    sim.start()
    conn.send(sim.url)
    while True:
        cmd, *rest = conn.recv()
        if cmd == "create":
            for job_id in rest[0]:
                # Task ids of its own (<job>-psi, <job>-split): they name cluster-wide objects,
                # and a job whose task ids clash with another job's fails at once.
                job = example_job(job_id, prefix=job_id)
                job["custom_fields"] = {"sim-task-seconds": "3600"}
                sim.world.create_job(job)
            conn.send(len(rest[0]))
        elif cmd == "advance":
            sim.world.advance(rest[0])
            conn.send(True)
        elif cmd == "stop":
            sim.world.stop_job(rest[0])
            conn.send(True)
        elif cmd == "query":
            conn.send([sim.world.query_job(i) for i in rest[0]])
        elif cmd == "states":
            conn.send([s["status"]["state"] for s in sim.world.batch_query_status(rest[0])])
        else:
            sim.stop()
            conn.send(True)
            return


class SimProcess:
    def __init__(self, cert_dir: Path) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_sim_process, args=(child, str(cert_dir)), daemon=True)
        self.proc.start()
        self.url = self.conn.recv()

    def call(self, *cmd: Any) -> Any:
        self.conn.send(cmd)
        return self.conn.recv()

    def close(self) -> None:
        try:
            self.call("quit")
        finally:
            self.proc.join(timeout=10)
            if self.proc.is_alive():
                self.proc.kill()


def running_from(sim: SimProcess, job_id: str) -> None:
    """A latency sample starts from a job Running in the simulator and in the database."""
    from jobs.models import Job

    state = sim.call("states", [job_id])[0]
    require(state == "Running", f"{job_id} is {state} in the simulator before its sample")
    stored = Job.objects.filter(job_id=job_id).values_list("state", flat=True).first()
    require(stored == "Running", f"{job_id} is {stored} in the database before its sample")


def bench_one(n: int, args: argparse.Namespace, certs: Path) -> dict[str, Any]:
    from django.conf import settings
    from django.db import connection, connections

    from connections.models import Connection
    from jobs import sync
    from jobs.models import Job
    from jobs.sync import apply as sync_apply
    from jobs.sync import batch as sync_batch
    from kuscia.client import KusciaClient
    from kuscia.wire import parse_job_detail

    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE jobs_endpoint, jobs_partystatus, jobs_task, jobs_transition, jobs_job, "
            "jobs_syncstate, jobs_synclease, jobs_connection RESTART IDENTITY CASCADE"
        )
    sim = SimProcess(certs)
    try:
        ids = [f"bench-{i:05d}" for i in range(n)]
        t = time.perf_counter()
        for i in range(0, n, 1000):
            sim.call("create", ids[i : i + 1000])
        sim.call("advance", 5)  # validated, Running, first task Running with endpoints
        conn = Connection.objects.create(
            name="bench", url=sim.url, protocol="MTLS", cert_dir=str(certs)
        )
        details = [
            parse_job_detail(d)
            for i in range(0, n, 1000)
            for d in sim.call("query", ids[i : i + 1000])
        ]
        for i in range(0, n, 500):
            sync_apply.apply_observations(
                conn,
                [sync_batch.Obs(d.job_id, d.status, d.raw, d) for d in details[i : i + 500]],
                source="action",
                create_missing=True,
                job_source=Job.Source.ADDED,
            )
        setup = time.perf_counter() - t
        sim_states = [st for i in range(0, n, 1000) for st in sim.call("states", ids[i : i + 1000])]
        active = sim_states.count("Running")
        require(active == n, f"{active} of {n} jobs Running in the simulator ({set(sim_states)})")
        stored = Job.objects.filter(connection=conn, state="Running").count()
        require(stored == n, f"{stored} of {n} jobs Running in the database")
        client = KusciaClient(conn.client_config())
        sync.reconcile_connection(conn, client=client, include_slow=False)  # warm-up
        cycles = [
            sync.reconcile_connection(conn, client=client, include_slow=False)
            for _ in range(args.cycles)
        ]
        require(all(not c.error for c in cycles), f"cycle error: {cycles[0].error}")
        size = settings.KUSCIA_BATCH_SIZE
        expected = math.ceil(n / size)
        sent = [c.requests for c in cycles]
        require(all(r == expected for r in sent), f"requests per cycle {sent}, not {expected}")
        floors = []
        for _ in range(args.cycles):
            f0 = time.perf_counter()
            for i in range(0, n, size):
                client.batch_query_job_status(ids[i : i + size])
            floors.append(time.perf_counter() - f0)
        cycle_s = statistics.median(c.seconds for c in cycles)
        floor_s = statistics.median(floors)
        result: dict[str, Any] = {
            "n": n,
            "active": active,
            "expected_requests": expected,
            "setup_s": setup,
            "requests": cycles[0].requests,
            "rows": max(c.writes.rows for c in cycles),
            "cycle_s": cycle_s,
            "floor_s": floor_s,
            "ratio": cycle_s / floor_s,
        }

        # --- latency with the watch (same code path as the watch task, in a thread)
        summary = sync.WatchSummary(connection=conn.name)
        wclient = KusciaClient(conn.client_config())
        stream = wclient.watch_jobs(timeout_seconds=3600)

        def consume() -> None:
            try:
                for event in stream:
                    sync.handle_watch_event(conn, event, wclient, summary)
            except Exception as exc:  # closed under our feet at the end
                if not stream.closed:
                    print("watch error:", exc)
            finally:
                connections.close_all()

        watcher = threading.Thread(target=consume, daemon=True)
        b0 = time.perf_counter()
        watcher.start()
        deadline = time.monotonic() + 600
        while summary.events < n:
            if not watcher.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"watch burst incomplete: {summary.events}/{n} events")
            time.sleep(0.05)
        result["burst_s"] = time.perf_counter() - b0
        pool = list(ids)
        random.shuffle(pool)
        lat_watch = []
        for _ in range(min(args.samples, n // 2)):
            job_id = pool.pop()
            running_from(sim, job_id)
            t0 = time.perf_counter()
            sim.call("stop", job_id)
            while not Job.objects.filter(job_id=job_id, state="Failed").exists():
                if time.perf_counter() - t0 > 60:
                    raise RuntimeError(f"{job_id}: no update within 60 s (watch)")
                time.sleep(0.002)
            lat_watch.append(time.perf_counter() - t0)
        stream.close()
        watcher.join(timeout=10)
        wclient.close()
        result["watch_p50"] = statistics.median(lat_watch)
        result["watch_p95"] = pct(lat_watch, 95)

        # --- latency with polling only
        stop = threading.Event()

        def poll_loop() -> None:
            pclient = KusciaClient(conn.client_config())
            try:
                while not stop.is_set():
                    started = time.monotonic()
                    sync.reconcile_connection(conn, client=pclient, include_slow=False)
                    stop.wait(max(0.0, args.poll_interval - (time.monotonic() - started)))
            finally:
                pclient.close()
                connections.close_all()

        poller = threading.Thread(target=poll_loop, daemon=True)
        poller.start()
        lat_poll = []
        for _ in range(min(args.poll_samples, len(pool))):
            time.sleep(random.uniform(0, args.poll_interval))
            job_id = pool.pop()
            running_from(sim, job_id)
            t0 = time.perf_counter()
            sim.call("stop", job_id)
            while not Job.objects.filter(job_id=job_id, state="Failed").exists():
                if time.perf_counter() - t0 > 120:
                    raise RuntimeError(f"{job_id}: no update within 120 s (polling)")
                time.sleep(0.005)
            lat_poll.append(time.perf_counter() - t0)
        stop.set()
        poller.join(timeout=60)
        result["poll_p50"] = statistics.median(lat_poll)
        result["poll_p95"] = pct(lat_poll, 95)
        client.close()
    finally:
        sim.close()
    return result


if __name__ == "__main__":
    sys.exit(main())
