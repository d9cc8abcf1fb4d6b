"""Parse throughput of batchQuery replies (jobs/s) for 1, 100 and 1,000 jobs.

Each job has 2 tasks x 2 parties x 3 endpoints, in the unary (protojson) dialect with every
field present, like the seed document's reply. Two figures per size:
  wire    json.loads + kuscia.wire.parse_batch_job_status on the reply bytes
  client  KusciaClient.batch_query_job_status through httpx.MockTransport (HTTP plumbing,
          envelope checks and parsing; no network)

Run: .venv/bin/python bench/bench_parse.py [--sizes 1 100 1000] [--budget 1.0]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from kuscia import wire  # noqa: E402
from kuscia.client import KusciaClient  # noqa: E402
from kuscia.config import ConnectionConfig  # noqa: E402

SIZES = (1, 100, 1000)
T = "2023-07-27T01:55:46Z"


def party(task: str, domain: str) -> dict:
    return {
        "domain_id": domain,
        "state": "Succeeded",
        "err_msg": "",
        "endpoints": [
            {"port_name": "spu", "scope": "Cluster", "endpoint": f"{task}-0-spu.{domain}.svc"},
            {"port_name": "fed", "scope": "Cluster", "endpoint": f"{task}-0-fed.{domain}.svc"},
            {
                "port_name": "global",
                "scope": "Domain",
                "endpoint": f"{task}-0-global.{domain}.svc:8081",
            },
        ],
    }


def job(i: int) -> dict:
    tasks = []
    for name in ("psi", "split"):
        task_id = f"job-{i}-{name}"
        tasks.append(
            {
                "task_id": task_id,
                "state": "Succeeded",
                "err_msg": "",
                "create_time": T,
                "start_time": T,
                "end_time": T,
                "parties": [party(task_id, "alice"), party(task_id, "bob")],
                "alias": name,
                "progress": 1,
            }
        )
    return {
        "job_id": f"job-{i}",
        "status": {
            "state": "Succeeded",
            "err_msg": "",
            "create_time": T,
            "start_time": T,
            "end_time": T,
            "tasks": tasks,
            "stage_status_list": [
                {"domain_id": "alice", "state": "JobCreateStageSucceeded"},
                {"domain_id": "bob", "state": "JobCreateStageSucceeded"},
            ],
            "approve_status_list": [
                {"domain_id": "alice", "state": "JobAccepted"},
                {"domain_id": "bob", "state": "JobAccepted"},
            ],
        },
    }


def reply_bytes(n: int) -> bytes:
    body = {
        "status": {"code": 0, "message": "success", "details": []},
        "data": {"jobs": [job(i) for i in range(n)]},
    }
    return json.dumps(body, separators=(",", ":")).encode()


def measure(fn, n_jobs: int, budget: float = 1.0) -> tuple[float, float]:
    """(median, best) jobs/s over repeated runs within about `budget` seconds."""
    fn()  # warm up
    rates = []
    deadline = time.perf_counter() + budget
    while time.perf_counter() < deadline or len(rates) < 5:
        start = time.perf_counter()
        fn()
        rates.append(n_jobs / (time.perf_counter() - start))
    return statistics.median(rates), max(rates)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    ap.add_argument("--budget", type=float, default=1.0, help="seconds of runs per figure")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load:.1f}")
    print("jobs/s as median (best) of repeated runs")
    print(f"{'jobs/reply':>10} {'bytes':>10} {'wire jobs/s':>20} {'client jobs/s':>20}")
    for n in args.sizes:
        raw = reply_bytes(n)
        ids = [f"job-{i}" for i in range(n)]

        def wire_only(raw: bytes = raw, n: int = n) -> None:
            jobs = wire.parse_batch_job_status(json.loads(raw)["data"])
            assert len(jobs) == n

        transport = httpx.MockTransport(lambda request, raw=raw: httpx.Response(200, content=raw))
        kc = KusciaClient(
            ConnectionConfig(url="http://127.0.0.1:8082", protocol="NOTLS"), transport=transport
        )

        def via_client(kc: KusciaClient = kc, ids: list[str] = ids, n: int = n) -> None:
            assert len(kc.batch_query_job_status(ids)) == n

        w = measure(wire_only, n, args.budget)
        c = measure(via_client, n, args.budget)
        kc.close()
        wtxt = f"{w[0]:,.0f} ({w[1]:,.0f})"
        ctxt = f"{c[0]:,.0f} ({c[1]:,.0f})"
        print(f"{n:>10} {len(raw):>10} {wtxt:>20} {ctxt:>20}")


if __name__ == "__main__":
    main()
