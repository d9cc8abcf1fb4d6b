"""Fault suite with figures: the console's sync (real Celery workers with beat) against the
simulator over mTLS, through TCP proxies of our own to Kuscia, PostgreSQL and Redis (cut to play
a server down or restarted; the shared servers are never touched), while this process polls a
few pages and listens to the simulator's own event stream (the ground truth).

For each fault it prints:
* recover: seconds from the end of the fault until the database shows every change made during
  it (jobs stopped on Kuscia, spread over the fault, the last one at its end);
* requests: Kuscia requests the workers sent from the start of the fault to recovery (their
  Prometheus counters), how many of those failed, and how many reached the simulator;
* lost / dup: job and task transitions (old -> new state) the simulator went through and the
  console did not store, or stored more than once (goal 0 and 0);
* 5xx: page answers of 500 or more while it lasted (goal 0), of how many polled.

Faults: Kuscia down (connections refused); a burst of 503s; 10 s replies; garbage and truncated
bodies; the watch cut in the middle of an object; PostgreSQL and Redis "restarted" (their proxy
cut: open connections reset, new ones refused); a worker SIGKILLed in the middle of a poll cycle
(restarted as a supervisor would); two workers, the one holding the watch SIGKILLed.

Preconditions (exit status 1 when one fails): before each fault every job's state in the
database equals the simulator's, and the jobs changed during it are Running in both.

Usage:
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/kc_faults_bench \\
  REDIS_URL=redis://127.0.0.1:6379/6 .venv/bin/python bench/bench_faults.py [--down 60]
      [--window 10] [--slow 10] [--jobs 40] [--changes 4] [--only kuscia_down,...] [--json F]

The database is dropped and created again (it must be one of the benchmark's own).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kc_faults_bench")
os.environ["KUSCIA_DEFAULT_CONNECTION"] = "0"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
CELERY = Path(sys.executable).parent / "celery"
PAGES_EVERY = 0.25  # seconds between two page requests
SCENARIOS = (
    "kuscia_down",
    "http_503_burst",
    "slow_replies",
    "garbage_bodies",
    "watch_cut_mid_object",
    "postgres_restart",
    "redis_restart",
    "worker_sigkill",
    "two_workers_sigkill",
)


class PreconditionFailed(Exception):
    pass


def require(ok: bool, what: str) -> None:
    if not ok:
        raise PreconditionFailed(what)


@dataclass
class Result:
    scenario: str
    fault_s: float
    recover_s: float | None  # None: not recovered within the limit
    requests: int  # sent by the workers
    failed: int  # of those, answered with an error (or none)
    received: int  # reached the simulator
    changes: int
    truth: int  # transitions the simulator went through
    lost: int
    dup: int
    pages: int
    pages_5xx: int
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ ground truth


class Truth:
    """Every job and task state the simulator published (its watch subscription), in order."""

    def __init__(self, world: Any) -> None:
        self.seq: dict[tuple[str, str], list[str]] = defaultdict(list)  # (job, task|"") -> states
        self.lock = threading.Lock()
        self.sub = world.subscribe()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for _, status in self.sub.initial:
            self._add(status)
        while True:
            _, status = self.sub.queue.get()
            self._add(status)

    def _add(self, status: dict[str, Any]) -> None:
        job_id = status["job_id"]
        detail = status["status"]
        with self.lock:
            self._push((job_id, ""), detail["state"])
            for task in detail.get("tasks") or []:
                if task.get("state"):
                    self._push((job_id, task["task_id"]), task["state"])

    def _push(self, key: tuple[str, str], state: str) -> None:
        states = self.seq[key]
        if not states or states[-1] != state:
            states.append(state)

    def mark(self) -> dict[tuple[str, str], int]:
        with self.lock:
            return {k: len(v) for k, v in self.seq.items()}

    def pairs_since(self, mark: dict[tuple[str, str], int]) -> Counter[tuple[str, str, str, str]]:
        """(job, task, old, new) for every change after `mark` (from the state at the mark)."""
        out: Counter[tuple[str, str, str, str]] = Counter()
        with self.lock:
            for key, states in self.seq.items():
                start = max(mark.get(key, 0) - 1, 0)
                first = mark.get(key, 0) == 0  # a new job/task: its first state too
                tail = states[start:]
                if first and tail:
                    out[(key[0], key[1], "", tail[0])] += 1
                for old, new in itertools.pairwise(tail):
                    out[(key[0], key[1], old, new)] += 1
        return out


def console_requests(metrics_dir: Path) -> tuple[int, int]:
    """(requests, failed requests) the workers sent to Kuscia, from their Prometheus files."""
    from prometheus_client import CollectorRegistry, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(metrics_dir))
    sent = failed = 0.0
    for metric in registry.collect():
        for sample in metric.samples:
            if sample.name == "kuscia_requests_total":
                sent += sample.value
                failed += sample.value if sample.labels.get("outcome") != "ok" else 0
    return int(sent), int(failed)


def stored_pairs(after_id: int) -> Counter[tuple[str, str, str, str]]:
    from jobs.models import Transition

    rows = Transition.objects.filter(id__gt=after_id, kind__in=["job", "task"]).values_list(
        "job__job_id", "task_id", "old_state", "new_state", "kind"
    )
    return Counter((j, t if kind == "task" else "", o, n) for j, t, o, n, kind in rows)


# ------------------------------------------------------------------ workers


class Workers:
    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        self.env, self.logdir = env, logdir
        self.procs: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self) -> subprocess.Popen[bytes]:
        n = len(self.procs)
        log = self.logdir / f"worker-{n}.log"
        cmd = [
            str(CELERY),
            "-A",
            "dashboard",
            "worker",
            "-B",
            "-s",
            str(self.logdir / f"beat-{n}"),
            "-l",
            "INFO",
            "-c",
            "3",
            "-n",
            f"faults{n}-{uuid.uuid4().hex[:6]}@%h",
            "--without-mingle",
            "--without-gossip",
        ]
        with log.open("wb") as out:
            proc = subprocess.Popen(
                cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.procs.append((proc, log))
        return proc

    def log(self, proc: subprocess.Popen[bytes]) -> str:
        path = next(p for w, p in self.procs if w is proc)
        return path.read_text(errors="replace") if path.exists() else ""

    def alive(self) -> list[subprocess.Popen[bytes]]:
        return [w for w, _ in self.procs if w.poll() is None]

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def stop_all(self) -> None:
        for proc, _ in self.procs:
            self.kill(proc)

    def watch_holder(self) -> subprocess.Popen[bytes] | None:
        """The live worker whose last watch started with the highest lease fence."""
        best: tuple[int, subprocess.Popen[bytes]] | None = None
        for proc in self.alive():
            text = self.log(proc)
            for line in text.splitlines():
                if "started (lease fence" in line:
                    fence = int(line.rsplit("fence", 1)[1].strip(" )") or 0)
                    if best is None or fence > best[0]:
                        best = (fence, proc)
        return best[1] if best else None


# ------------------------------------------------------------------ pages


class PagePoller(threading.Thread):
    def __init__(self, paths: list[str]) -> None:
        super().__init__(daemon=True)
        self.paths = paths
        self.answers: list[tuple[float, str, int]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        from django.contrib.auth.models import User
        from django.db import connections
        from django.test import Client

        client = Client(raise_request_exception=False)
        client.force_login(User.objects.get(username="bench"))
        i = 0
        while not self.stopped.wait(PAGES_EVERY):
            path = self.paths[i % len(self.paths)]
            i += 1
            try:
                status = client.get(path).status_code
            except Exception:  # a crash in the page itself: a 500 to the user
                status = 599
            self.answers.append((time.monotonic(), path, status))
        connections.close_all()

    def between(self, t0: float, t1: float) -> list[tuple[float, str, int]]:
        return [a for a in self.answers if t0 <= a[0] <= t1]


# ------------------------------------------------------------------ the bench


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(7)

    def setup(self) -> None:
        import django

        recreate_database(os.environ["DATABASE_URL"])
        django.setup()
        from django.contrib.auth.models import User
        from django.core.management import call_command

        from connections.models import Connection
        from simulator import Simulator
        from simulator.proxy import TcpProxy

        call_command("migrate", verbosity=0)
        User.objects.create_superuser("bench", "bench@example.org", "x")
        self.tmp = Path(tempfile.mkdtemp(prefix="bench-faults-"))
        self.sim = Simulator(
            cert_dir=self.tmp / "certs", demo=False, speed=1.0, heartbeat_interval=1.0
        ).start()
        self.truth = Truth(self.sim.world)
        self.kuscia = TcpProxy("127.0.0.1", self.sim.port).start()
        db = urlparse(os.environ["DATABASE_URL"])
        redis_url = urlparse(os.environ["REDIS_URL"])
        self.pg = TcpProxy(db.hostname or "127.0.0.1", db.port or 5432).start()
        self.redis = TcpProxy(redis_url.hostname or "127.0.0.1", redis_url.port or 6379).start()
        self.conn = Connection.objects.create(
            name="faults",
            url=f"https://127.0.0.1:{self.kuscia.port}",
            protocol="MTLS",
            cert_dir=str(self.tmp / "certs"),
        )
        self.ids = [f"fault-{i:03d}" for i in range(self.args.jobs)]
        for job_id in self.ids:
            self.create_job(job_id)
        self.prefix = f"kc-faults-{uuid.uuid4().hex[:8]}:"
        self.metrics = self.tmp / "metrics"
        self.metrics.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        env.update(
            DATABASE_URL=db._replace(netloc=f"{db.username or 'postgres'}@127.0.0.1:"
                                     f"{self.pg.port}").geturl(),
            REDIS_URL=redis_url._replace(netloc=f"127.0.0.1:{self.redis.port}").geturl(),
            KC_REDIS_PREFIX=self.prefix,
            KC_VAR_DIR=str(self.tmp / "var"),
            PROMETHEUS_MULTIPROC_DIR=str(self.metrics),
            KUSCIA_POLL_SECONDS="1",
            KUSCIA_IDLE_POLL_SECONDS="2",
            KUSCIA_BACKOFF_MAX_SECONDS="4",
            KUSCIA_SLOW_POLL_SECONDS="5",
            KUSCIA_DEFAULT_CONNECTION="0",
            LOG_LEVEL="INFO",
        )  # fmt: skip
        self.workers = Workers(env, self.tmp)
        self.workers.start()
        self.wait_synced(120, "the first sync")
        self.pages = PagePoller(
            ["/", "/jobs/", f"/jobs/{self.conn.name}/{self.ids[0]}/", "/healthz", "/network/"]
        )
        self.pages.start()

    def create_job(self, job_id: str) -> None:
        from simulator.demo import example_job

        job = example_job(job_id, prefix=job_id)  # task ids of its own
        job["custom_fields"] = {"sim-task-seconds": "100000"}
        self.sim.world.create_job(job)

    def sim_states(self) -> dict[str, str]:
        return {
            s["job_id"]: s["status"]["state"]
            for s in self.sim.world.batch_query_status(sorted(self.sim.world.jobs))
        }

    def db_states(self) -> dict[str, str]:
        from jobs.models import Job

        return dict(Job.objects.filter(connection=self.conn).values_list("job_id", "state"))

    def task_states_match(self, job_ids: list[str]) -> bool:
        from jobs.models import Task

        want: dict[tuple[str, str], str] = {}
        for s in self.sim.world.batch_query_status(job_ids):
            for t in s["status"]["tasks"]:
                want[(s["job_id"], t["task_id"])] = t["state"]
        got = {
            (j, t): st
            for j, t, st in Task.objects.filter(
                job__connection=self.conn, job__job_id__in=job_ids
            ).values_list("job__job_id", "task_id", "state")
        }
        return all(got.get(k) == v for k, v in want.items())

    def synced(self, job_ids: list[str] | None = None) -> bool:
        sim, db = self.sim_states(), self.db_states()
        if job_ids is not None:
            sim = {k: sim[k] for k in job_ids}
            db = {k: db.get(k, "") for k in job_ids}
        return sim == db and self.task_states_match(job_ids or list(sim))

    def wait_synced(self, limit: float, what: str) -> None:
        deadline = time.monotonic() + limit
        while not self.synced():
            if time.monotonic() > deadline:
                sim, db = self.sim_states(), self.db_states()
                diff = {k: (v, db.get(k)) for k, v in sim.items() if db.get(k) != v}
                raise PreconditionFailed(f"{what}: database differs from the simulator: {diff}")
            time.sleep(0.2)

    # -------------------------------------------------------------- one scenario

    def run(
        self,
        name: str,
        start: Callable[[], object],
        end: Callable[[], object],
        seconds: float,
        notes: Callable[[], list[str]] | None = None,
    ) -> Result:
        from jobs.models import Transition

        self.wait_synced(120, f"before {name}")
        running = [j for j, s in self.sim_states().items() if s == "Running"]
        require(len(running) >= self.args.changes, f"{name}: {len(running)} jobs still Running")
        changed = self.rng.sample(running, self.args.changes)
        mark = self.truth.mark()
        base_id = Transition.objects.order_by("-id").values_list("id", flat=True).first() or 0
        received0 = self.sim.requests
        sent0, failed0 = console_requests(self.metrics)
        t0 = time.monotonic()
        start()
        started = time.monotonic()
        for i, job_id in enumerate(changed[:-1]):  # spread over the fault, the last at its end
            wait_until(started + (i + 1) * seconds / len(changed))
            self.sim.world.stop_job(job_id)
        wait_until(started + seconds)
        end()
        ended = time.monotonic()
        self.sim.world.stop_job(changed[-1])
        recover: float | None = None
        deadline = ended + self.args.limit
        while time.monotonic() < deadline:
            if self.synced(changed):
                recover = time.monotonic() - ended
                break
            time.sleep(0.1)
        received = self.sim.requests - received0
        sent, failed = console_requests(self.metrics)
        # A few more cycles, so that a late duplicate would be counted too.
        time.sleep(3.0)
        truth = self.truth.pairs_since(mark)
        stored = stored_pairs(base_id)
        lost = sum((truth - stored).values())
        dup = sum((stored - truth).values())
        answers = self.pages.between(t0, time.monotonic())
        bad = [a for a in answers if a[2] >= 500]
        res = Result(
            scenario=name,
            fault_s=round(ended - started, 1),
            recover_s=None if recover is None else round(recover, 2),
            requests=sent - sent0,
            failed=failed - failed0,
            received=received,
            changes=len(changed),
            truth=sum(truth.values()),
            lost=lost,
            dup=dup,
            pages=len(answers),
            pages_5xx=len(bad),
            notes=(notes() if notes else []) + [f"{p} {s}" for _, p, s in bad[:3]],
        )
        if lost or dup:
            res.notes.append(f"lost {sorted((truth - stored).elements())[:4]}")
            res.notes.append(f"dup {sorted((stored - truth).elements())[:4]}")
        return res

    # -------------------------------------------------------------- the faults

    def misbehave(self, **faults: Any) -> None:
        """Kuscia (its gateway) restarts, then answers with `faults`: open connections, the
        watch among them, are reset, so the faults meet the reconnections too."""
        self.kuscia.cut()
        self.sim.world.set_faults(**faults)
        self.kuscia.restore()

    def scenarios(self) -> dict[str, Callable[[], Result]]:
        a = self.args
        world = self.sim.world
        return {
            "kuscia_down": lambda: self.run(
                "kuscia_down", self.kuscia.cut, self.kuscia.restore, a.down
            ),
            "http_503_burst": lambda: self.run(
                "http_503_burst",
                lambda: self.misbehave(error_rate=1.0),
                world.set_faults,
                a.window,
            ),
            "slow_replies": lambda: self.run(
                "slow_replies",
                lambda: self.misbehave(latency=a.slow),
                world.set_faults,
                max(a.window, a.slow + 1),
            ),
            "garbage_bodies": lambda: self.run(
                "garbage_bodies",
                lambda: self.misbehave(garbage_rate=0.3, malformed_rate=0.3, seed=3),
                world.set_faults,
                a.window,
            ),
            "watch_cut_mid_object": lambda: self.run(
                "watch_cut_mid_object",
                lambda: self.misbehave(stream_cut_after=1.0, stream_cut_mid_object=True),
                world.set_faults,
                a.window,
            ),
            "postgres_restart": lambda: self.run(
                "postgres_restart", self.pg.cut, self.pg.restore, a.window
            ),
            "redis_restart": lambda: self.run(
                "redis_restart", self.redis.cut, self.redis.restore, a.window
            ),
            "worker_sigkill": self.worker_sigkill,
            "two_workers_sigkill": self.two_workers_sigkill,
        }

    def watching(self) -> int:
        return len(self.sim.world._subs) - 1  # open watch streams (less our own)

    def worker_sigkill(self) -> Result:
        """The only worker, SIGKILLed while the simulator answers one of its requests (made to
        take 0.3 s); a new one started at the end of the fault, as a supervisor would."""

        def start() -> None:
            self.sim.world.set_faults(latency=0.3)
            deadline = time.monotonic() + 30
            while self.sim.in_flight - self.watching() <= 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            for proc in self.workers.alive():
                self.workers.kill(proc)
            self.sim.world.set_faults()

        return self.run("worker_sigkill", start, self.workers.start, self.args.window)

    def two_workers_sigkill(self) -> Result:
        self.workers.start()  # a second worker; both run beat, as two replicas would
        deadline = time.monotonic() + 60
        while len([w for w in self.workers.alive() if "ready." in self.workers.log(w)]) < 2:
            require(time.monotonic() < deadline, "the second worker did not become ready")
            time.sleep(0.2)

        def start() -> None:  # the one holding the watch, in the middle of a cycle
            holder = self.workers.watch_holder()
            require(holder is not None, "no worker holds the watch")
            self.sim.world.set_faults(latency=0.3)
            deadline = time.monotonic() + 30
            while self.sim.in_flight - self.watching() <= 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            self.workers.kill(holder)  # type: ignore[arg-type]
            self.sim.world.set_faults()

        def notes() -> list[str]:
            holder = self.workers.watch_holder()
            return [f"watch taken over by the other worker: {holder is not None}"]

        return self.run("two_workers_sigkill", start, lambda: None, self.args.window, notes)

    def close(self) -> None:
        self.pages.stopped.set()
        self.workers.stop_all()
        for proxy in (self.kuscia, self.pg, self.redis):
            proxy.stop()
        self.sim.stop()


def wait_until(t: float) -> None:
    while (left := t - time.monotonic()) > 0:
        time.sleep(min(left, 0.05))


def recreate_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--down", type=float, default=60.0, help="seconds Kuscia is down")
    ap.add_argument("--window", type=float, default=10.0, help="seconds of the other faults")
    ap.add_argument("--slow", type=float, default=10.0, help="seconds per slow reply")
    ap.add_argument("--jobs", type=int, default=0, help="default: enough for every change")
    ap.add_argument("--changes", type=int, default=4, help="jobs stopped during each fault")
    ap.add_argument("--limit", type=float, default=180.0, help="seconds to wait for recovery")
    ap.add_argument("--only", default="", help="comma-separated scenarios")
    ap.add_argument("--json", default="", help="write the results here too")
    args = ap.parse_args()
    if not os.environ.get("REDIS_URL"):
        sys.exit("Set REDIS_URL (the workers' broker and leases).")
    chosen = [s for s in args.only.split(",") if s] or list(SCENARIOS)
    unknown = set(chosen) - set(SCENARIOS)
    if unknown:
        sys.exit(f"unknown scenarios {sorted(unknown)}; known: {', '.join(SCENARIOS)}")
    args.jobs = args.jobs or args.changes * len(chosen) + 4
    bench = Bench(args)
    results: list[Result] = []
    try:
        bench.setup()
        print(
            f"# bench_faults: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, "
            f"{args.jobs} jobs, {args.changes} stopped per fault, poll every 1 s, watch on",
            flush=True,
        )
        print(
            f"{'fault':22} {'lasted':>7} {'recover':>8} {'requests (failed, at Kuscia)':>28} "
            f"{'lost':>5} {'dup':>4} {'5xx':>9}  notes",
            flush=True,
        )
        table = bench.scenarios()
        for name in chosen:
            r = table[name]()
            results.append(r)
            rec = "never" if r.recover_s is None else f"{r.recover_s:.1f}s"
            reqs = f"{r.requests} ({r.failed}, {r.received})"
            print(
                f"{r.scenario:22} {r.fault_s:6.1f}s {rec:>8} {reqs:>28} {r.lost:5d} "
                f"{r.dup:4d} {r.pages_5xx:4d}/{r.pages:<4d}  {'; '.join(r.notes)}",
                flush=True,
            )
        print(f"# load average at the end {os.getloadavg()[0]:.1f}", flush=True)
    except PreconditionFailed as exc:
        print(f"PRECONDITION FAILED: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        if hasattr(bench, "pages"):
            bench.close()
        if args.json:
            Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
