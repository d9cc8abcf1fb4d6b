"""The sync engine end to end: real Celery worker + beat on Redis, PostgreSQL, the simulator
over mTLS. Jobs are created and deleted directly on the simulator (never through the console)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest

from connections.models import Connection, SyncState
from jobs.models import Job, JobStats, PartyStatus, Task, Transition
from kuscia import types as kt
from simulator import Simulator
from simulator.demo import example_job
from tests.fixtures.celery import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def sim_job(job_id: str, seconds: float = 100.0, **custom: str) -> dict[str, Any]:
    job = example_job(job_id, prefix=job_id)  # task ids are cluster-wide: one set per job
    job["custom_fields"] = {"sim-task-seconds": str(seconds), **custom}
    return job


def connect(sim: Simulator, name: str = "sim") -> Connection:
    return Connection.objects.create(
        name=name, url=sim.url, protocol="MTLS", cert_dir=str(sim.cert_dir)
    )


def sim_states(sim: Simulator) -> dict[str, str]:
    return {
        s["job_id"]: s["status"]["state"]
        for s in sim.world.batch_query_status(sorted(sim.world.jobs))
    }


def assert_transition_chains(jobs: Any) -> int:
    """Per job/task/party, transitions form one chain (old == previous new): a duplicate
    transition would break it."""
    chains: dict[tuple[int, str, str, str], list[Transition]] = defaultdict(list)
    for t in Transition.objects.filter(job__in=jobs).order_by("id"):
        chains[(t.job_id, t.kind, t.task_id, t.domain_id)].append(t)
    for key, items in chains.items():
        prev = None
        for t in items:
            if prev is not None:
                assert t.old_state == prev.new_state, (
                    key,
                    [(i.old_state, i.new_state) for i in items],
                )
            assert t.old_state != t.new_state
            prev = t
    return sum(len(v) for v in chains.values())


def assert_consistent(job: Job) -> None:
    tasks = list(Task.objects.filter(job=job))
    assert job.task_count == len(tasks)
    assert job.tasks_succeeded == sum(t.state == kt.SUCCEEDED for t in tasks)
    parties = set(PartyStatus.objects.filter(task__job=job).values_list("domain_id", flat=True))
    assert parties <= set(job.parties)


def test_discovery_progress_final_state_and_deletion(
    kuscia_sim_factory: Callable[..., Simulator], celery_worker_factory: Callable[..., Any]
) -> None:
    sim = kuscia_sim_factory(speed=50, heartbeat_interval=1.0)
    conn = connect(sim)
    celery_worker_factory()
    wait_for(
        lambda: SyncState.objects.filter(watch_connected_since__isnull=False).exists(),
        30,
        what="the watch connected",
    )
    # Created directly on Kuscia: 2 tasks x 150 simulated s at speed 50 = ~6 s of real time.
    sim.world.create_job(sim_job("job-a", 150))
    job = wait_for(
        lambda: Job.objects.filter(connection=conn, job_id="job-a", spec_fetched=True).first(),
        30,
        what="job-a discovered",
    )
    assert job.source == Job.Source.DISCOVERED and job.initiator == "alice"
    assert job.task_count == 2 and job.parties == ["alice", "bob"]
    progress_seen: set[float] = set()

    def finished() -> bool:
        j = Job.objects.get(pk=job.pk)
        progress_seen.add(j.progress)
        return j.state == kt.SUCCEEDED

    wait_for(finished, 60, interval=0.05, what="job-a Succeeded in the DB")
    job.refresh_from_db()
    assert job.progress == 1.0 and job.tasks_succeeded == 2 and job.end_time is not None
    assert any(0 < p < 1 for p in progress_seen), progress_seen
    assert_consistent(job)
    kinds = set(Transition.objects.filter(job=job).values_list("kind", "new_state"))
    assert {("job", "Running"), ("job", "Succeeded"), ("task", "Succeeded")} <= kinds
    assert ("party", "Succeeded") in kinds
    assert_transition_chains([job])

    # Beat also recounts the overview's jobs per state, off the request path.
    def counted() -> bool:
        row = JobStats.objects.current()
        return row is not None and row.counts.get(kt.SUCCEEDED) == 1 and row.took_ms > 0

    wait_for(counted, 20, what="beat's refresh_job_stats counted job-a as Succeeded")

    # A job deleted directly on Kuscia is marked gone; the others keep syncing.
    sim.world.create_job(sim_job("job-b", 1000))
    sim.world.create_job(sim_job("job-c", 200))
    wait_for(
        lambda: Job.objects.filter(job_id__in=["job-b", "job-c"], state=kt.RUNNING).count() == 2,
        30,
        what="job-b and job-c running in the DB",
    )
    sim.world.delete_job("job-b")
    b = wait_for(
        lambda: Job.objects.filter(job_id="job-b", gone_at__isnull=False).first(),
        20,
        what="job-b gone",
    )
    assert b.gone_reason in ("watch-deleted", "not-found")
    assert Transition.objects.filter(job=b).exists()  # history kept
    wait_for(
        lambda: Job.objects.filter(job_id="job-c", state=kt.SUCCEEDED).exists(),
        60,
        what="job-c Succeeded after job-b was deleted",
    )
    state = SyncState.objects.get(connection=conn)
    assert state.last_success is not None and state.consecutive_failures == 0


def test_kuscia_down_backs_off_and_recovers(
    kuscia_sim_factory: Callable[..., Simulator], celery_worker_factory: Callable[..., Any]
) -> None:
    sim = kuscia_sim_factory(speed=50)
    port = sim.port
    conn = connect(sim)
    sim.world.create_job(sim_job("job-long", 100000))
    celery_worker_factory()
    wait_for(
        lambda: Job.objects.filter(job_id="job-long", state=kt.RUNNING).exists(),
        30,
        what="job-long running in the DB",
    )
    sim.stop()
    state = wait_for(
        lambda: SyncState.objects.filter(connection=conn, consecutive_failures__gte=3).first(),
        40,
        what="three failed cycles",
    )
    assert state.last_error_kind in ("connect_refused", "connection", "timeout")
    assert state.last_error_message and state.last_error_hint
    assert state.next_attempt is not None and state.backoff_seconds > 0.5
    assert Job.objects.get(job_id="job-long").gone_at is None  # down is not gone
    # Kuscia comes back on the same address (with the job still there).
    back = kuscia_sim_factory(speed=50, port=port)
    back.world.create_job(sim_job("job-long", 1))
    recovered = wait_for(
        lambda: SyncState.objects.filter(
            connection=conn, consecutive_failures=0, last_success__gt=state.last_error_at
        ).first(),
        30,
        what="recovery",
    )
    assert recovered.last_cycle.get("error") == ""
    wait_for(
        lambda: Job.objects.filter(job_id="job-long", state=kt.SUCCEEDED).exists(),
        30,
        what="job-long Succeeded after recovery",
    )


def test_killed_worker_loses_nothing_and_two_workers_do_not_duplicate(
    kuscia_sim_factory: Callable[..., Simulator], celery_worker_factory: Callable[..., Any]
) -> None:
    sim = kuscia_sim_factory(speed=50)
    conn = connect(sim)
    ids = [f"job-{i:03d}" for i in range(120)]
    for n, job_id in enumerate(ids):
        extra = {"sim-fail-task": f"{job_id}-split"} if n % 7 == 0 else {}
        sim.world.create_job(sim_job(job_id, 50 + n % 5 * 10, **extra))
    first = celery_worker_factory()
    # Kill it hard in the middle of discovery / the first cycles.
    wait_for(lambda: Job.objects.filter(connection=conn).count() >= 10, 30, what="some jobs")
    first.kill()
    for job in Job.objects.filter(connection=conn):
        assert_consistent(job)
    # Two workers (each with its own beat) take over and finish the work.
    celery_worker_factory()
    celery_worker_factory()

    def all_done() -> bool:
        want = sim_states(sim)
        if not all(s in kt.TERMINAL_JOB_STATES for s in want.values()):
            return False
        got = dict(Job.objects.filter(connection=conn).values_list("job_id", "state"))
        return got == want

    wait_for(all_done, 120, interval=0.5, what="all 120 jobs final and equal to the simulator")
    jobs = list(Job.objects.filter(connection=conn))
    for job in jobs:
        assert_consistent(job)
        assert job.spec_fetched and job.gone_at is None
    failed = [j for j in jobs if j.state == kt.FAILED]
    assert len(failed) == len([i for i in range(120) if i % 7 == 0])
    assert all("-split]" in j.err_msg for j in failed)
    total = assert_transition_chains(jobs)
    # every job: "" -> Pending? -> Running -> final, tasks and parties too: many transitions
    assert total >= 120 * 3
    time.sleep(2)  # a few more cycles with both workers: nothing new may be written
    assert assert_transition_chains(jobs) == total
