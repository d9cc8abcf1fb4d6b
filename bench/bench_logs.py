"""Benchmark of the task-log archive and viewer (PostgreSQL, the simulator over mTLS).

Prints:
* archive throughput: finished tasks' logs (every party, --mb MB each) fetched from the lite
  nodes by --parallel followers at once, stored through Django's storage API, as MB/s end to
  end (simulator, network, parse, store), and the store-only MB/s (lines fed straight to the
  archive, the console's own share);
* viewer: a --log-mb MB log opened at its end (the panel page, in-process server time, p50 and
  p95 over --runs), and a search over it (a different word each run, nothing cached);
  goals: open p95 <= 100 ms, search p95 <= 500 ms.

Usage:
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/kc_logs_bench \\
      .venv/bin/python bench/bench_logs.py [--jobs 8] [--mb 2] [--parallel 8] [--log-mb 20]

The database is created when missing and migrated; the bench's own rows are removed first.
Log objects go to a temporary folder. Preconditions are asserted (every log complete and equal
to the node's, the big log's size, the search's match count), figures are only printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kc_logs_bench")
os.environ["KUSCIA_DEFAULT_CONNECTION"] = "0"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

from bench.bench_sync import ensure_database, pct  # noqa: E402 (after the environment)

MB = 1024 * 1024
PARTIES = ("alice", "bob")


def use_storage(folder: Path) -> None:
    from django.conf import settings
    from django.core.files.storage import storages

    settings.STORAGES = {
        **settings.STORAGES,
        "task_logs": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder)},
        },
    }
    storages._storages = {}  # type: ignore[attr-defined]
    storages._backends = None  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------- archive


def archive_throughput(jobs: int, mb: float, parallel: int, out: dict[str, Any]) -> None:
    from django.utils import timezone

    from connections import nodes
    from connections.models import Connection
    from jobs.sync.track import track_job
    from logs import follow, plan, viewer
    from logs.models import TaskLog
    from simulator import Simulator
    from simulator.demo import example_job
    from simulator.tasklog import go_string

    certs = Path(tempfile.mkdtemp(prefix="bench-logs-certs-"))
    master = Simulator(cert_dir=certs, demo=False, speed=500).start()
    lites = [Simulator(cert_dir=certs, world=master.world, lite_domain=d).start() for d in PARTIES]
    try:
        master_conn = Connection.objects.create(
            name="bench-master", url=master.url, cert_dir=str(certs)
        )
        conns = [master_conn]
        for d, lite in zip(PARTIES, lites, strict=True):
            conns.append(
                Connection.objects.create(name=f"bench-{d}", url=lite.url, cert_dir=str(certs))
            )
        for c in [*conns[1:], conns[0]]:
            nodes.probe_and_record(c)
        assert conns[0].role == "master" and conns[0].domains == list(PARTIES), conns[0].domains
        t0 = time.perf_counter()
        for i in range(jobs):
            spec = example_job(f"bench-job-{i}", prefix=f"bj{i}")
            spec["custom_fields"] = {"sim-task-seconds": "10", "sim-log-kb": str(int(mb * 1024))}
            master.world.create_job(spec)
        deadline = time.monotonic() + 600
        while any(j.phase not in ("Succeeded", "Failed") for j in master.world.jobs.values()):
            assert time.monotonic() < deadline, "simulated jobs did not finish"
            time.sleep(0.1)
        out["simulator_seconds"] = round(time.perf_counter() - t0, 2)
        for i in range(jobs):
            track_job(conns[0], f"bench-job-{i}")
        plan.ensure_logs(timezone.now(), limit=10_000)
        rows = list(TaskLog.objects.filter(kuscia_job_id__startswith="bench-job-"))
        assert len(rows) == jobs * 2 * len(PARTIES), len(rows)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(parallel) as pool:
            summaries = list(pool.map(lambda r: _follow_one(follow, r.pk), rows))
        seconds = time.perf_counter() - t0
        total = 0
        for row in TaskLog.objects.filter(pk__in=[r.pk for r in rows]):
            assert row.state == "complete", (row, row.message, summaries)
            job = master.world.jobs[row.kuscia_job_id]
            run = next(r for r in job.runs.values() if r.task_id == row.task_id)
            expected = "".join(f"{go_string(x)}\n" for x in run.log_lines[row.domain_id])
            assert viewer.read_all(row) == expected.encode(), row
            total += row.size
        out["archive_logs"] = len(rows)
        out["archive_mb"] = round(total / MB, 1)
        out["archive_seconds"] = round(seconds, 2)
        out["archive_mb_per_s"] = round(total / MB / seconds, 1)
    finally:
        for s in [*lites, master]:
            s.stop()


def _follow_one(follow: Any, pk: int) -> str:
    from django.db import connection

    try:
        return str(follow.follow_log(pk).outcome)
    finally:
        connection.close()


def store_only(mb: float, out: dict[str, Any]) -> None:
    """Lines fed straight to the archive: the console's share of the throughput."""
    from logs.archive import Archive, claim
    from logs.models import TaskLog

    lines = _lines(int(mb * MB))
    row = TaskLog.objects.create(
        connection_name="bench", kuscia_job_id="bench-store", task_id="t", domain_id="alice"
    )
    claim(row)
    t0 = time.perf_counter()
    archive = Archive(row, max_bytes=10 * int(mb * MB))
    for i in range(0, len(lines), 100):  # Kuscia's chunks of 100 lines
        archive.feed(lines[i : i + 100])
    archive.finish(authoritative=True, state=TaskLog.State.COMPLETE)
    seconds = time.perf_counter() - t0
    row.refresh_from_db()
    out["store_only_mb_per_s"] = round(row.size / MB / seconds, 1)


def _lines(size: int) -> list[str]:
    out: list[str] = []
    total = i = 0
    while total < size:
        level = "ERROR" if i % 5000 == 4999 else "INFO"
        line = (
            f"2025-04-16 10:42:57.123 {level} [alice] sgd.py:118 - lr epoch {i // 1000:03d} "
            f"batch {i:07d} loss={1 / (i + 1):.6f} marker-{i % 97:02d}"
        )
        out.append(line)
        total += len(line) + 1
        i += 1
    return out


# ---------------------------------------------------------------------------------- viewer


def viewer_figures(log_mb: float, runs: int, out: dict[str, Any]) -> None:
    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import reverse

    from connections.models import Connection
    from jobs.models import Job, Task
    from logs import viewer
    from logs.archive import Archive, claim
    from logs.models import TaskLog

    conn = Connection.objects.create(name="bench-view", url="https://127.0.0.1:1")
    job = Job.objects.create(connection=conn, job_id="bench-view-job", source="added")
    Task.objects.create(job=job, task_id="bench-view-task", alias="t", party_spec=[])
    row = TaskLog.objects.create(
        job=job,
        connection_name=conn.name,
        kuscia_job_id=job.job_id,
        task_id="bench-view-task",
        domain_id="alice",
    )
    claim(row)
    lines = _lines(int(log_mb * MB))
    archive = Archive(row, max_bytes=2 * int(log_mb * MB))
    for i in range(0, len(lines), 100):
        archive.feed(lines[i : i + 100])
    archive.finish(authoritative=True, state=TaskLog.State.COMPLETE)
    row.refresh_from_db()
    assert row.state == "complete" and row.size >= log_mb * MB, (row.state, row.size)
    assert row.lines == len(lines)
    out["view_log_mb"] = round(row.size / MB, 1)
    out["view_log_lines"] = row.lines

    user = User.objects.create_user("bench-viewer", password="x")
    client = Client()
    client.force_login(user)
    url = reverse("logs:task", args=[conn.name, job.job_id, "bench-view-task"])
    view_url = reverse("logs:view", args=[row.pk])
    first = client.get(url)
    html = first.content.decode()
    assert first.status_code == 200 and f'id="L{row.lines}"' in html, "opens at its end"
    assert f'id="L{row.lines - 200}"' not in html, "only the last 200 lines"
    opens: list[float] = []
    for _ in range(runs):
        t0 = time.perf_counter()
        response = client.get(url)
        opens.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200
    searches: list[float] = []
    for k in range(runs):
        word = f"marker-{k % 97:02d}"
        viewer._cache.clear()
        t0 = time.perf_counter()
        response = client.get(view_url, {"q": word}, HTTP_HX_REQUEST="true")
        searches.append((time.perf_counter() - t0) * 1000)
        expected = sum(1 for i in range(len(lines)) if i % 97 == k % 97)
        assert f"{expected} matches" in response.content.decode(), (word, expected)
    out["open_end_ms_p50"] = round(statistics.median(opens), 1)
    out["open_end_ms_p95"] = round(pct(opens, 95), 1)
    out["search_ms_p50"] = round(statistics.median(searches), 1)
    out["search_ms_p95"] = round(pct(searches, 95), 1)


def clean() -> None:
    from django.contrib.auth.models import User

    from connections.models import Connection
    from logs.models import TaskLog

    TaskLog.objects.filter(connection_name__startswith="bench").delete()
    TaskLog.objects.filter(kuscia_job_id__startswith="bench").delete()
    Connection.objects.filter(name__startswith="bench").delete()
    User.objects.filter(username="bench-viewer").delete()


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The figures (also used at small size by tests/logs/test_bench_logs.py)."""
    folder = Path(tempfile.mkdtemp(prefix="bench-logs-store-"))
    use_storage(folder)
    clean()
    out: dict[str, Any] = {}
    try:
        archive_throughput(args.jobs, args.mb, args.parallel, out)
        store_only(args.mb * 4, out)
        viewer_figures(args.log_mb, args.runs, out)
    finally:
        clean()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=8, help="finished jobs (2 tasks x 2 parties)")
    ap.add_argument("--mb", type=float, default=2.0, help="MB per party log")
    ap.add_argument("--parallel", type=int, default=8, help="followers at once")
    ap.add_argument("--log-mb", type=float, default=20.0, help="size of the viewer's log")
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    figures = run(args)
    print(json.dumps(figures, indent=2))
    print(
        f"archive: {figures['archive_mb']} MB in {figures['archive_logs']} logs, "
        f"{args.parallel} at once: {figures['archive_mb_per_s']} MB/s end to end "
        f"(store only: {figures['store_only_mb_per_s']} MB/s)"
    )
    print(
        f"viewer, {figures['view_log_mb']} MB log: opens at its end p95 "
        f"{figures['open_end_ms_p95']} ms (goal <= 100), search p95 "
        f"{figures['search_ms_p95']} ms (goal <= 500)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
