"""Benchmark the monitoring pages on PostgreSQL with many jobs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kc_pages_bench \
        .venv/bin/python bench/bench_pages.py [--jobs 100000] [--runs 40] [--reload] [--load-only]

Loads N jobs (2-20 tasks, 2-3 parties, party states per task, endpoints for the two detail
jobs, transitions for those too) with bulk_create, then prints the median and p95 server time
(in-process Django test client: middleware, views, queries, templates; no network) for each
page and fragment, next to a trivial view through the same middleware (the floor), and the
response sizes. Re-uses the data when the database already holds N jobs (unless --reload).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kc_pages_bench")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection as db  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.utils import timezone  # noqa: E402

from connections.models import Connection, SyncState  # noqa: E402
from jobs.models import Endpoint, Job, PartyStatus, Task, Transition  # noqa: E402
from kuscia import types as kt  # noqa: E402


def trivial(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


urlpatterns = [path("bench-trivial/", trivial), path("", include("dashboard.urls"))]

STATES = [kt.SUCCEEDED] * 6 + [kt.FAILED] * 2 + [kt.RUNNING, kt.PENDING, kt.CANCELLED]
PARTIES = ["alice", "bob", "carol", "dave", "erin"]


def load(n: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    now = timezone.now()
    Connection.objects.all().delete()
    conns = [
        Connection.objects.create(name=f"node-{i}", url="https://127.0.0.1:1") for i in range(3)
    ]
    for c in conns:
        SyncState.objects.create(connection=c, last_success=now, last_attempt=now)
    t0 = time.perf_counter()
    batch = 5000
    for start in range(0, n, batch):
        jobs = []
        for i in range(start, min(start + batch, n)):
            state = STATES[i % len(STATES)]
            n_tasks = 128 if i == 1 else 2 if i == 0 else rnd.randint(2, 20)
            parties = sorted(rnd.sample(PARTIES, rnd.choice((2, 3))))
            created = now - dt.timedelta(seconds=rnd.randint(60, 90 * 86400))
            done = state in kt.TERMINAL_JOB_STATES
            jobs.append(
                Job(
                    connection=conns[i % 3],
                    job_id=f"job-{i:07d}",
                    initiator=parties[0],
                    state=state,
                    err_msg="Task[t1]-Party[bob]: container exited with code 1"
                    if state == kt.FAILED
                    else "",
                    create_time=created,
                    start_time=created,
                    end_time=created + dt.timedelta(minutes=5) if done else None,
                    parties=parties,
                    task_count=n_tasks,
                    tasks_succeeded=n_tasks if state == kt.SUCCEEDED else n_tasks // 2,
                    progress=1.0 if state == kt.SUCCEEDED else 0.5,
                    source=Job.Source.DISCOVERED,
                    first_seen=created,
                    last_changed=created + dt.timedelta(minutes=5),
                    spec_fetched=True,
                )
            )
        Job.objects.bulk_create(jobs, batch_size=batch)
        created_jobs = list(Job.objects.filter(job_id__in=[j.job_id for j in jobs]))
        tasks = []
        for j in created_jobs:
            for k in range(j.task_count):
                tstate = (
                    kt.SUCCEEDED
                    if k < j.tasks_succeeded
                    else (j.state if j.state != kt.SUCCEEDED else kt.SUCCEEDED)
                )
                if tstate not in kt.TASK_STATES:
                    tstate = kt.FAILED
                tasks.append(
                    Task(
                        job=j,
                        position=k,
                        task_id=f"{j.job_id}-t{k}",
                        alias=f"t{k}",
                        dependencies=[f"t{(k - 1) // 2}"] if k else [],
                        state=tstate,
                        progress=1.0 if tstate == kt.SUCCEEDED else 0.3,
                        start_time=j.start_time,
                        task_input_config='{"sf_node_eval_param": {"domain": "psi"}}',
                    )
                )
        Task.objects.bulk_create(tasks, batch_size=10000)
        parties = []
        by_job = {j.pk: j for j in created_jobs}
        for t in Task.objects.filter(job__in=created_jobs).only("id", "job_id", "state"):
            for p in by_job[t.job_id].parties:
                parties.append(
                    PartyStatus(
                        task_id=t.id,
                        domain_id=p,
                        state=t.state,
                        err_msg="exit 1" if t.state == kt.FAILED else "",
                    )
                )
        PartyStatus.objects.bulk_create(parties, batch_size=10000)
        print(
            f"  loaded {min(start + batch, n)} jobs ({time.perf_counter() - t0:.0f} s)", flush=True
        )
    for job_id in ("job-0000000", "job-0000001"):
        job = Job.objects.get(job_id=job_id)
        eps, trs = [], []
        for ps in PartyStatus.objects.filter(task__job=job).select_related("task"):
            eps.append(
                Endpoint(
                    party=ps,
                    port_name="fed",
                    scope="Cluster",
                    endpoint=f"{ps.task.task_id}-0-fed.{ps.domain_id}.svc",
                )
            )
            eps.append(
                Endpoint(
                    party=ps,
                    port_name="global",
                    scope="Domain",
                    endpoint=f"{ps.task.task_id}-0-global.{ps.domain_id}.svc:26836",
                )
            )
        for t in Task.objects.filter(job=job):
            trs.append(
                Transition(
                    job=job,
                    kind="task",
                    task_id=t.task_id,
                    old_state="Pending",
                    new_state="Running",
                    source="watch",
                )
            )
            trs.append(
                Transition(
                    job=job,
                    kind="task",
                    task_id=t.task_id,
                    old_state="Running",
                    new_state=t.state,
                    source="watch",
                )
            )
        Endpoint.objects.bulk_create(eps)
        Transition.objects.bulk_create(trs)
    with db.cursor() as cur:  # what autovacuum does for a live table (visibility map, stats)
        cur.execute("VACUUM ANALYZE")


DATA_ITEMS = 20_000  # DomainData rows for the search (over the parties' domains)


def load_network(conn: Connection) -> None:
    """Nodes for the parties and DATA_ITEMS data rows on `conn` (kept when already there)."""
    from network.models import DataItem, Node

    if DataItem.objects.count() == DATA_ITEMS and Node.objects.count() == len(PARTIES):
        return
    DataItem.objects.all().delete()
    Node.objects.all().delete()
    Node.objects.bulk_create(Node(connection=conn, domain_id=p, status="Ready") for p in PARTIES)
    DataItem.objects.bulk_create(
        (
            DataItem(
                connection=conn,
                domain_id=PARTIES[i % len(PARTIES)],
                domaindata_id=f"table-{i:06d}",
                name=f"table-{i:06d}.csv",
                type="table",
            )
            for i in range(DATA_ITEMS)
        ),
        batch_size=5000,
    )
    with db.cursor() as cur:
        cur.execute("ANALYZE network_dataitem")


# A SecretFlow task_input_config of the usual size (about 2 KB), as the detail jobs' tasks carry.
TASK_INPUT_CONFIG = json.dumps(
    {
        "sf_datasource_config": {p: {"id": "default-data-source"} for p in ("alice", "bob")},
        "sf_cluster_desc": {
            "parties": ["alice", "bob"],
            "devices": [
                {
                    "name": "spu",
                    "type": "spu",
                    "parties": ["alice", "bob"],
                    "config": json.dumps(
                        {
                            "runtime_config": {"protocol": "SEMI2K", "field": "FM128"},
                            "link_desc": {"connect_retry_times": 60},
                        }
                    ),
                }
            ],
            "ray_fed_config": {"cross_silo_comm_backend": "brpc_link"},
        },
        "sf_node_eval_param": {
            "domain": "data_prep",
            "name": "psi",
            "version": "0.0.5",
            "attr_paths": [f"input/receiver_input/key_{i}" for i in range(20)],
            "attrs": [{"ss": [f"id_{i}"]} for i in range(20)],
        },
        "sf_input_ids": ["alice-table", "bob-table"],
        "sf_output_ids": ["psi-output-0", "psi-report-0"],
        "sf_output_uris": ["psi-output-0.csv", "psi-report-0.json"],
    }
)


def status_reply(job: Job) -> dict[str, object]:
    """A batchQuery-shaped status of `job` from its rows (what sync stores as `raw`)."""
    parties: dict[int, list[dict[str, object]]] = {}
    endpoints: dict[int, list[dict[str, str]]] = {}
    for e in Endpoint.objects.filter(party__task__job=job):
        endpoints.setdefault(e.party_id, []).append(
            {"port_name": e.port_name, "scope": e.scope, "endpoint": e.endpoint}
        )
    for p in PartyStatus.objects.filter(task__job=job):
        parties.setdefault(p.task_id, []).append(
            {
                "domain_id": p.domain_id,
                "state": p.state,
                "err_msg": p.err_msg,
                "endpoints": endpoints.get(p.pk, []),
            }
        )
    tasks = [
        {
            "task_id": t.task_id,
            "alias": t.alias,
            "state": t.state,
            "err_msg": t.err_msg,
            "create_time": str(t.create_time),
            "start_time": str(t.start_time),
            "end_time": str(t.end_time),
            "progress": t.progress,
            "parties": parties.get(t.pk, []),
        }
        for t in Task.objects.filter(job=job).order_by("position")
    ]
    return {
        "job_id": job.job_id,
        "status": {
            "state": job.state,
            "err_msg": job.err_msg,
            "create_time": str(job.create_time),
            "start_time": str(job.start_time),
            "tasks": tasks,
        },
    }


def search_queries(n: int) -> list[tuple[str, str, str | None]]:
    """(case, query, group that must have a hit in the answer (None: nothing may be found)):
    ids of jobs that exist at this size (job-0042424 and job-0004242 at 100,000 jobs)."""
    big, small = f"{min(42424, n - 1):07d}", f"{min(4242, n // 2):07d}"
    return [
        ("search, exact job id", f"job-{big}", "sg-jobs"),
        ("search, part of a job id", big[:4], "sg-jobs"),
        ("search, task id prefix", f"job-{small}-t1", "sg-tasks"),
        ("search, pod name", f"job-{small}-t1-0", "sg-tasks"),
        ("search, alias (in every job)", "t1", "sg-tasks"),
        ("search, party", "carol", "sg-parties"),
        ("search, data id part", "table-0042", "sg-data"),
        ("search, nothing found", "zz-nothing", None),
    ]


def searches(n: int) -> list[tuple[str, str, dict[str, str]]]:
    cases = [(name, f"/search/?q={q}", {}) for name, q, _ in search_queries(n)]
    typing = f"job-{min(42424, n - 1):07d}"[:9]  # job-00424 at 100,000 jobs
    cases.append(("search fragment (typing)", f"/search/?q={typing}", {"HTTP_HX_REQUEST": "true"}))
    return cases


def check_searches(client: Client, n: int) -> None:
    """Preconditions: each search finds what the data implies (else its time means nothing)."""
    for name, q, group in search_queries(n):
        html = client.get(f"/search/?q={q}").content.decode()
        if group is None:
            assert "search-hit" not in html, name
        else:
            assert f'id="{group}"' in html, f"{name}: no {group} for {q!r}"


def measure(client: Client, url: str, runs: int, **extra: str) -> tuple[float, float, int, int]:
    first = client.get(url, **{k: v for k, v in extra.items() if k != "etag"})  # warm up
    if extra.pop("etag", None):  # a poll of an unchanged job: the browser sends If-None-Match
        extra["HTTP_IF_NONE_MATCH"] = first["ETag"]
    times = []
    size = status = 0
    for _ in range(runs):
        t = time.perf_counter()
        r = client.get(url, **extra)
        times.append((time.perf_counter() - t) * 1000)
        size, status = len(r.content), r.status_code
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], size, status


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--reload", action="store_true")
    ap.add_argument("--load-only", action="store_true", help="load the data and stop")
    ap.add_argument("--only", default="", help="comma-separated words: cases whose name has one")
    args = ap.parse_args()
    if db.vendor != "postgresql":
        sys.exit("Point DATABASE_URL at PostgreSQL (a database of your own).")
    call_command("migrate", verbosity=0)
    if args.reload or Job.objects.count() != args.jobs:
        print(f"loading {args.jobs} jobs ...", flush=True)
        Job.objects.all().delete()
        load(args.jobs)
    print(
        f"jobs={Job.objects.count()} tasks={Task.objects.count()} "
        f"party_states={PartyStatus.objects.count()}"
    )
    assert Job.objects.count() == args.jobs, "the database does not hold the jobs asked for"
    load_network(Connection.objects.get(name="node-0"))
    if args.load_only:
        return
    # the two detail jobs are live (polled) ones, with a last raw reply as Kuscia sends it
    Job.objects.filter(job_id__in=["job-0000000", "job-0000001"]).update(
        state=kt.RUNNING, end_time=None
    )
    for job in Job.objects.filter(job_id__in=["job-0000000", "job-0000001"]):
        Job.objects.filter(pk=job.pk).update(raw=status_reply(job))
        Task.objects.filter(job=job).update(task_input_config=TASK_INPUT_CONFIG)
    from django.contrib.auth.models import User

    user, _ = User.objects.get_or_create(username="bench", defaults={"is_superuser": True})
    hx = {"HTTP_HX_REQUEST": "true"}
    deep = Job.objects.count() // 25 // 2
    from urllib.parse import quote

    from jobs.querysets import Cursor, JobFilter

    # the pager's "next" link at the same depth (the row before that page, as a cursor)
    mark = Job.objects.filtered(JobFilter())[(deep - 1) * 25 - 1]
    cursor = quote(Cursor.of(mark, "-created").encode(), safe="")
    cases = [
        ("trivial view (floor)", "/bench-trivial/", {}),
        ("overview", "/", {}),
        ("overview fragment", "/", hx),
        ("list, first page", "/jobs/", {}),
        (f"list, deep page {deep} (cursor)", f"/jobs/?after={cursor}", {}),
        (
            "list, filtered",
            "/jobs/?state=Failed&state=Running&party=carol&initiator=alice&sort=-changed",
            {},
        ),
        ("list, id search", "/jobs/?q=00042", {}),
        ("list fragment", "/jobs/?state=Running", hx),
        ("detail, 2 tasks", "/jobs/node-0/job-0000000/", {}),
        ("detail, 128 tasks", "/jobs/node-1/job-0000001/", {}),
        ("detail live part, 2 tasks", "/jobs/node-0/job-0000000/live/", hx),
        ("detail live part, 128 tasks", "/jobs/node-1/job-0000001/live/", hx),
        (
            "detail live 128, gzip",
            "/jobs/node-1/job-0000001/live/",
            {**hx, "HTTP_ACCEPT_ENCODING": "gzip"},
        ),
        ("detail live 128, unchanged", "/jobs/node-1/job-0000001/live/", {**hx, "etag": "1"}),
        ("task page (of 128)", "/jobs/node-1/job-0000001/tasks/job-0000001-t64/", {}),
        ("task fragment", "/jobs/node-1/job-0000001/tasks/job-0000001-t64/", hx),
        ("history, 128 tasks (opened)", "/jobs/node-1/job-0000001/history/", hx),
        ("raw reply, 128 tasks (opened)", "/jobs/node-1/job-0000001/raw/", hx),
        *searches(args.jobs),
    ]
    # The overview reads the JobStats row that beat recounts every KC_STATS_SECONDS: time that
    # recount (off the request path) and leave a fresh row for the pages.
    from jobs import stats

    took = sorted(stats.refresh().took_ms for _ in range(5))
    print(f"stats recount (by beat, not a page): median {took[2]:.1f}, max {took[-1]:.1f} ms")
    with override_settings(ROOT_URLCONF=__name__, DEBUG=False, ALLOWED_HOSTS=["*"]):
        client = Client()
        client.force_login(user)
        check_searches(client, args.jobs)
        print(f"{'case':32} {'median ms':>10} {'p95 ms':>8} {'KB':>7} status")
        for name, url, extra in cases:
            if args.only and not any(word in name for word in args.only.split(",")):
                continue
            med, p95, size, status = measure(client, url, args.runs, **extra)
            assert status in (200, 304), f"{name}: {url} answered {status}"
            print(f"{name:32} {med:10.1f} {p95:8.1f} {size / 1024:7.1f} {status}", flush=True)


if __name__ == "__main__":
    main()
