"""Benchmark the streamed exports (dashboard.export): memory stays flat as the row count grows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kc_pages_export \
        .venv/bin/python bench/bench_export.py [--sizes 10000,100000] [--reload]

Loads, for each size N, N jobs on a connection of their own (`exp-N`) and N audit records
naming it, then exports the job list filtered to that connection and the audit log filtered
likewise, as CSV and as JSON, through the real view and middleware (Django's test client, the
streamed body read chunk by chunk as a server would send it). For each export it prints the
time, the bytes written and the peak of Python memory allocated meanwhile (tracemalloc), and it
asserts that every row was written (CSV lines and JSON objects counted) and that the larger
export's peak stays within a small factor of the smaller one's (bounded memory, not O(rows)).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kc_pages_export")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from audit.models import AuditRecord  # noqa: E402
from connections.models import Connection  # noqa: E402
from dashboard import export as export_module  # noqa: E402
from jobs.models import Job  # noqa: E402
from kuscia import types as kt  # noqa: E402

STATES = [kt.SUCCEEDED, kt.SUCCEEDED, kt.FAILED, kt.RUNNING, kt.PENDING]


def load(n: int) -> Connection:
    """N jobs and N audit records on connection exp-N (kept when already there)."""
    name = f"exp-{n}"
    conn, _ = Connection.objects.get_or_create(name=name, defaults={"url": "https://127.0.0.1:1"})
    if Job.objects.filter(connection=conn).count() == n and (
        AuditRecord.objects.filter(connection_name=name).count() == n
    ):
        return conn
    Job.objects.filter(connection=conn).delete()
    AuditRecord.objects.filter(connection_name=name).delete()
    now = timezone.now()
    batch = 5000
    for start in range(0, n, batch):
        jobs, records = [], []
        for i in range(start, min(start + batch, n)):
            created = now - dt.timedelta(seconds=i * 7)
            state = STATES[i % len(STATES)]
            jobs.append(
                Job(
                    connection=conn,
                    job_id=f"exp-{i:07d}",
                    initiator="alice",
                    state=state,
                    # every fifth message starts like a formula: the export must defuse it
                    err_msg='=HYPERLINK("http://x")' if i % 5 == 2 else "",
                    create_time=created,
                    start_time=created,
                    parties=["alice", "bob"],
                    task_count=3,
                    tasks_succeeded=3 if state == kt.SUCCEEDED else 1,
                    progress=1.0 if state == kt.SUCCEEDED else 0.3,
                    source=Job.Source.DISCOVERED,
                    first_seen=created,
                    last_changed=created,
                )
            )
            records.append(
                AuditRecord(
                    created_at=created,
                    username="demo",
                    connection_name=name,
                    job_id=f"exp-{i:07d}",
                    action=AuditRecord.Action.STOP,
                    reason="+1 maintenance window" if i % 7 == 0 else "maintenance",
                    outcome=AuditRecord.Outcome.OK,
                    state_before=kt.RUNNING,
                    state_after=kt.FAILED,
                )
            )
        Job.objects.bulk_create(jobs, batch_size=batch)
        AuditRecord.objects.bulk_create(records, batch_size=batch)
    return conn


def export(client: Client, url: str) -> tuple[float, int, int, int, bytes]:
    """(seconds, bytes, peak KB of Python allocations, rows counted (CSV lines or JSON
    objects), the body's first bytes)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    started = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert response.streaming, "the export must stream"
    size = 0
    head = b""
    lines = 0
    objects = 0
    for chunk in response.streaming_content:
        data = chunk if isinstance(chunk, bytes) else chunk.encode()
        if len(head) < 4096:
            head += data[: 4096 - len(head)]
        size += len(data)
        lines += data.count(b"\n")
        objects += data.count(b'{"connection"') + data.count(b'{"created_at"')
    took = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rows = lines if response["Content-Type"].startswith("text/csv") else objects
    return took, size, peak // 1024, rows, head


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000", help="two row counts, smaller first")
    ap.add_argument("--chunk", type=int, default=export_module.CHUNK, help="rows per fetch")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    assert len(sizes) == 2 and 0 < sizes[0] < sizes[1], "give two sizes, smaller first"
    # memory is bounded by the chunk: both sizes must span several chunks to show it
    assert sizes[0] >= 4 * args.chunk, "the smaller size must be at least 4 chunks"
    export_module.CHUNK = args.chunk
    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import User

    user, _ = User.objects.get_or_create(username="bench", defaults={"is_superuser": True})
    peaks: dict[str, list[int]] = {}
    with override_settings(DEBUG=False, ALLOWED_HOSTS=["*"]):
        client = Client()
        client.force_login(user)
        export(client, "/jobs/export/?connection=none")  # warm up (imports, first queries)
        export(client, "/audit/export/?format=json&connection=none")
        print(f"chunk {args.chunk} rows")
        print(f"{'export':28} {'rows':>8} {'seconds':>8} {'MB':>7} {'peak KB':>8}")
        for n in sizes:
            conn = load(n)
            assert Job.objects.filter(connection=conn).count() == n  # preconditions
            assert AuditRecord.objects.filter(connection_name=conn.name).count() == n
            for kind, base in (("jobs", "/jobs/export/"), ("audit", "/audit/export/")):
                for fmt in ("csv", "json"):
                    url = f"{base}?format={fmt}&connection={conn.name}"
                    took, size, peak, rows, head = export(client, url)
                    # CSV: a header line and one line per row (no field holds a newline)
                    written = rows - 1 if fmt == "csv" else rows
                    assert written == n, f"{kind} {fmt}: {written} rows written of {n}"
                    if fmt == "csv" and kind == "jobs":
                        assert b",=" not in head, "a formula cell went out unescaped"
                    if fmt == "json" and n == sizes[0]:
                        body = b"".join(
                            c if isinstance(c, bytes) else c.encode()
                            for c in client.get(url).streaming_content
                        )
                        assert len(json.loads(body)) == n
                    peaks.setdefault(f"{kind} {fmt}", []).append(peak)
                    print(
                        f"{kind + ' ' + fmt:28} {n:8} {took:8.2f} {size / 1e6:7.1f} {peak:8}",
                        flush=True,
                    )
    for name, (small, large) in peaks.items():
        ratio = large / max(small, 1)
        print(
            f"{name}: peak {small} KB at {sizes[0]} rows, {large} KB at {sizes[1]} (x{ratio:.2f})"
        )
        # bounded: growing the rows by sizes[1]/sizes[0] must not grow the peak with them
        assert ratio < 1.5 + 0.1 * (sizes[1] / sizes[0]) ** 0.5, f"{name}: memory grows with rows"


if __name__ == "__main__":
    main()
