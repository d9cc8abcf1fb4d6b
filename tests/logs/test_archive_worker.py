"""The task-log archive end to end: real Celery workers (beat, the logs queue) on Redis and
PostgreSQL, a master simulator with the lite nodes of alice and bob over mTLS. The stored logs
are compared byte for byte with what the nodes serve (their pod logs as Go's JSON encoder sends
them, rebuilt as "\\n"-terminated lines)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils.html import escape

from connections import nodes
from connections.models import Connection
from jobs.models import Job
from logs import viewer
from logs.models import LogSegment, TaskLog
from simulator import Simulator
from simulator.demo import example_job
from simulator.tasklog import go_string
from tests.fixtures.celery import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

PARTIES = ("alice", "bob")


@pytest.fixture
def deployment(
    transactional_db: Any, kuscia_sim_factory: Callable[..., Simulator], tmp_path: Path
) -> tuple[Simulator, dict[str, Connection]]:
    master = kuscia_sim_factory()
    conns = {
        "master": Connection.objects.create(
            name="master", url=master.url, cert_dir=str(master.cert_dir)
        )
    }
    for d in PARTIES:
        lite = kuscia_sim_factory(
            cert_dir=tmp_path / f"lite-{d}", world=master.world, lite_domain=d
        )
        conns[d] = Connection.objects.create(
            name=f"lite-{d}", url=lite.url, cert_dir=str(lite.cert_dir), mode="lite"
        )
    for c in (conns["alice"], conns["bob"], conns["master"]):  # the master last: it learns
        nodes.probe_and_record(c)  # alice and bob from its lites
    return master, conns


def start_worker(factory: Callable[..., Any], storage: Path, **env: str) -> Any:
    return factory(
        concurrency=6,
        KC_LOG_STORAGE_OPTIONS=json.dumps({"location": str(storage)}),
        KC_LOG_PLAN_SECONDS="0.5",
        KC_LOG_FLUSH_SECONDS="0.2",
        KC_LOG_END_GRACE_SECONDS="0.5",
        KC_LOG_LEASE_SECONDS="4",
        KC_LOG_FOLLOWERS="4",
        **env,
    )


def create(master: Simulator, job_id: str, **custom: str) -> None:
    job = example_job(job_id, prefix=job_id)
    job["custom_fields"] = {"sim-task-seconds": "50", **custom}
    master.world.create_job(job)


def node_bytes(master: Simulator, job_id: str, task_id: str, domain: str) -> bytes:
    """The log as the node serves it, as the archive must store it."""
    job = master.world.jobs[job_id]
    run = next(r for r in job.runs.values() if r.task_id == task_id)
    return "".join(f"{go_string(line)}\n" for line in run.log_lines[domain]).encode()


def logs_of(job_id: str) -> list[TaskLog]:
    return list(TaskLog.objects.filter(kuscia_job_id=job_id, discovered=True).order_by("id"))


def all_final(job_id: str, expected: int) -> list[TaskLog] | None:
    rows = logs_of(job_id)
    return rows if len(rows) == expected and all(r.is_final for r in rows) else None


def test_both_parties_through_their_lites_kept_after_the_job_is_deleted(
    deployment, celery_worker_factory, log_storage, client, pages_user
):
    master, conns = deployment
    start_worker(celery_worker_factory, log_storage)
    create(master, "job-two")
    rows = wait_for(lambda: all_final("job-two", 4), 90, 0.3, "4 complete logs")
    expected = {}
    for row in rows:
        assert row.state == "complete", (row, row.message)
        assert row.node_id == conns[row.domain_id].pk  # each party from its own lite
        expected[row.pk] = node_bytes(master, "job-two", row.task_id, row.domain_id)
        assert viewer.read_all(row) == expected[row.pk]
        assert f"[{row.domain_id}]".encode() in expected[row.pk]
    # Kuscia deletes the job: the console marks it gone, the logs stay readable
    master.world.delete_job("job-two")
    wait_for(lambda: Job.objects.filter(job_id="job-two", gone_at__isnull=False).exists(), 30)
    client.force_login(pages_user)
    for row in rows:
        row.refresh_from_db()
        assert row.state == "complete"
        assert viewer.read_all(row) == expected[row.pk]
        page = client.get(
            reverse("logs:task", args=["master", "job-two", row.task_id]), {"log": row.pk}
        )
        assert page.status_code == 200
        assert f"start task {row.task_id} of job job-two" in page.content.decode()
        download = client.get(reverse("logs:download", args=[row.pk]))
        assert b"".join(download.streaming_content) == expected[row.pk]


def test_a_follower_killed_mid_stream_resumes_without_duplicates_or_gaps(
    deployment, celery_worker_factory, log_storage
):
    master, _ = deployment
    first = start_worker(celery_worker_factory, log_storage)
    # a long first task writing ~1.5 MB per party over ~25 s (speed 50: 1250 s simulated)
    create(master, "job-kill", **{"sim-task-seconds": "1250", "sim-log-kb": "1500"})

    def following_with_lines() -> TaskLog | None:
        row = TaskLog.objects.filter(
            kuscia_job_id="job-kill", task_id="job-kill-psi", domain_id="bob"
        ).first()
        if row is None or row.state != "following":
            return None
        return row if LogSegment.objects.filter(log=row, sealed=True).exists() else None

    before = wait_for(following_with_lines, 60, 0.2, "bob's log followed, a segment sealed")
    assert master.world.jobs["job-kill"].runs["job-kill-psi"].phase == "Running"
    first.kill()  # SIGKILL to the whole worker: followers die mid-stream
    before.refresh_from_db()
    stored_then = before.lines
    sealed_then = set(
        LogSegment.objects.filter(log=before, sealed=True).values_list("name", flat=True)
    )
    start_worker(celery_worker_factory, log_storage)
    rows = wait_for(lambda: all_final("job-kill", 4), 150, 0.5, "4 final logs")
    for row in rows:
        assert row.state == "complete", (row, row.message)
        assert viewer.read_all(row) == node_bytes(master, "job-kill", row.task_id, row.domain_id)
    bob = next(r for r in rows if r.task_id == "job-kill-psi" and r.domain_id == "bob")
    assert bob.lines > stored_then  # the new follower went on where the killed one was
    # what was stored before the kill was replayed and kept, not written again
    assert sealed_then and sealed_then <= set(
        LogSegment.objects.filter(log=bob).values_list("name", flat=True)
    )
    assert bob.size > 1_000_000


def test_a_stream_cut_mid_line_is_read_again(deployment, celery_worker_factory, log_storage):
    master, _ = deployment
    master.world.set_faults(log_cut_after=4, log_cuts=3)  # the next 3 streams break in line 5
    start_worker(celery_worker_factory, log_storage)
    create(master, "job-cut")
    rows = wait_for(lambda: all_final("job-cut", 4), 120, 0.5, "4 final logs")
    assert master.world.faults.log_cuts == 0  # every cut happened
    for row in rows:
        assert row.state == "complete", (row, row.message)
        assert viewer.read_all(row) == node_bytes(master, "job-cut", row.task_id, row.domain_id)


def test_the_cap_truncates_with_a_visible_notice(deployment, celery_worker_factory, log_storage):
    master, _ = deployment
    start_worker(celery_worker_factory, log_storage, KC_LOG_MAX_BYTES="40000")
    create(master, "job-cap", **{"sim-log-kb": "300"})
    rows = wait_for(lambda: all_final("job-cap", 4), 120, 0.5, "4 final logs")
    for row in rows:
        assert row.state == "truncated", (row, row.message)
        data = viewer.read_all(row)
        body, notice = data[:-1].rsplit(b"\n", 1)
        assert len(body) + 1 <= 40_000
        assert node_bytes(master, "job-cap", row.task_id, row.domain_id).startswith(body)
        assert notice.startswith(b"[kuscia-console] Log truncated")


def test_a_line_written_in_two_writes_is_stored_once(
    deployment, celery_worker_factory, log_storage, client, pages_user
):
    """The node writes a progress line in two writes 0.6 s apart (sim-split-line): the follow
    stream sends its halves as two lines (Kuscia's tail does), so the stored log has them
    while the task runs; the final read makes it one line, byte for byte, shown once."""
    master, _ = deployment
    start_worker(celery_worker_factory, log_storage)
    create(master, "job-split", **{"sim-task-seconds": "600", "sim-split-line": "50"})
    world_job = master.world.jobs["job-split"]

    def halves() -> tuple[bytes, bytes] | None:
        run = next((r for r in world_job.runs.values() if r.task_id == "job-split-psi"), None)
        return run.partial.get("bob") if run else None

    first, rest = wait_for(halves, 60, 0.05, "bob's line half written")
    whole = go_string(first + rest)

    def stored_split() -> TaskLog | None:
        row = TaskLog.objects.filter(
            kuscia_job_id="job-split", task_id="job-split-psi", domain_id="bob"
        ).first()
        if row is None or not row.lines:
            return None
        return row if f"\n{go_string(first)}\n".encode() in viewer.read_all(row) else None

    wait_for(stored_split, 30, 0.1, "the unfinished half stored as a line while following")
    rows = wait_for(lambda: all_final("job-split", 4), 120, 0.5, "4 final logs")
    client.force_login(pages_user)
    for row in rows:
        assert row.state == "complete", (row, row.message)
        stored = viewer.read_all(row)
        assert stored == node_bytes(master, "job-split", row.task_id, row.domain_id)
        if row.task_id == "job-split-psi" and row.domain_id == "bob":
            lines = stored.decode().split("\n")
            assert lines.count(whole) == 1
            assert go_string(first) not in lines and go_string(rest) not in lines
            found = viewer.search(row, whole)
            assert found is not None and len(found.lines) == 1
            page = client.get(reverse("logs:view", args=[row.pk]), {"line": found.lines[0]})
            assert page.status_code == 200
            assert page.content.decode().count(escape(whole)) == 1
