"""The one write path: apply an observation of a job (batchQuery element, watch event, QueryJob
reply, the reply to a create done here) to the local rows.

Per chunk of jobs it locks the job rows (SELECT ... FOR UPDATE, by primary key) in one
transaction; skips observations older than what is stored; compares field by field and writes
only rows that changed; records a Transition for every job, task and party state change with
its source (watch / poll / action / create); keeps the denormalised job fields in step.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from connections.models import Connection
from jobs.models import Endpoint, Job, PartyStatus, Task, Transition
from jobs.sync.batch import (
    Batch,
    Claim,
    JobView,
    Obs,
    WriteStats,
    fingerprint,
    kuscia_time,
    set_field,
    stage_list,
)
from jobs.sync.children import apply_task_spec, apply_task_status, touch_task
from jobs.sync.health import wake_poller
from jobs.sync.signals import transitions_recorded
from kuscia import types as kt

log = logging.getLogger(__name__)


Source = Transition.Source
# How the job became known -> the source recorded on its first transitions.
FIRST_SOURCE: dict[str, str] = {
    Job.Source.CREATED: Source.CREATE,
    Job.Source.ADDED: Source.ACTION,
    Job.Source.DISCOVERED: Source.WATCH,
}
BATCH_NOT_FOUND = 11203
# The transition a re-created job gets: stored in English, translated where shown
# (dashboard/stored_texts.STORED_FORMATS; the values are Kuscia's times).
RECREATED = gettext_noop("job re-created in Kuscia (new create_time %(new)s, was %(old)s)")
WATCH_EVENT_STAMP_SECONDS = 5.0  # SyncState.watch_last_event is written at most this often


def apply_observations(
    connection: Connection,
    observations: Sequence[Obs],
    *,
    source: str,
    observed_at: datetime | None = None,
    create_missing: bool = False,
    job_source: str = Job.Source.DISCOVERED,
    claim_source: bool = False,
    tolerable: dict[str, bool | None] | None = None,
) -> tuple[WriteStats, dict[str, Job]]:
    """Apply observations of jobs of one connection in one transaction (see module doc)."""
    now = observed_at or timezone.now()
    by_id: dict[str, Obs] = {}
    for obs in observations:
        by_id[obs.job_id] = obs
    if not by_id:
        return WriteStats(), {}
    ids = sorted(by_id)
    batch = Batch(now, source)
    with transaction.atomic():
        if create_missing:
            known = set(
                Job.objects.filter(connection=connection, job_id__in=ids).values_list(
                    "job_id", flat=True
                )
            )
            fresh = [
                Job(
                    connection=connection,
                    job_id=i,
                    state="",  # marks "never observed": the first transition is "" -> state
                    source=job_source,
                    first_seen=now,
                    last_changed=now,
                )
                for i in ids
                if i not in known
            ]
            if fresh:
                Job.objects.bulk_create(fresh, ignore_conflicts=True)
                batch.stats.jobs_created += len(fresh)
        locked = list(
            Job.objects.select_for_update()
            .filter(connection=connection, job_id__in=ids)
            .order_by("pk")
        )
        views = _load_children(locked)
        claim = Claim(job_source, claim_source, tolerable)
        for view in views:
            _diff_job(view, by_id[view.job.job_id], batch, claim)
        batch.write()
        if batch.transitions:
            written = list(batch.transitions)
            transaction.on_commit(
                lambda: transitions_recorded.send_robust(
                    Transition, connection=connection, transitions=written
                )
            )
    return batch.stats, {v.job.job_id: v.job for v in views}


def _load_children(jobs: list[Job]) -> list[JobView]:
    views = {j.pk: JobView(j) for j in jobs}
    if not views:
        return []
    tasks_by_pk: dict[int, Task] = {}
    for t in Task.objects.filter(job_id__in=list(views)).order_by("position", "pk"):
        views[t.job_id].tasks[t.task_id] = t
        tasks_by_pk[t.pk] = t
    parties_by_pk: dict[int, PartyStatus] = {}
    task_job: dict[int, int] = {t.pk: t.job_id for t in tasks_by_pk.values()}
    for p in PartyStatus.objects.filter(task_id__in=list(tasks_by_pk)):
        task = tasks_by_pk[p.task_id]
        views[task_job[p.task_id]].parties.setdefault(task.task_id, {})[p.domain_id] = p
        parties_by_pk[p.pk] = p
    for e in Endpoint.objects.filter(party_id__in=list(parties_by_pk)):
        party = parties_by_pk[e.party_id]
        key = (tasks_by_pk[party.task_id].task_id, party.domain_id)
        views[task_job[party.task_id]].endpoints.setdefault(key, {})[e.port_name] = e
    return list(views.values())


def _diff_job(view: JobView, obs: Obs, batch: Batch, claim: Claim) -> None:
    """Compare one observation with the stored job and queue what changed: the job's own
    fields, then its tasks and parties, then the totals derived from them."""
    job = view.job
    first = job.state == ""
    if not first and job.last_synced is not None and batch.observed_at < job.last_synced:
        batch.stats.stale_skipped += 1
        return
    src = FIRST_SOURCE.get(job.source, batch.source) if first else batch.source
    changed: set[str] = set()
    moved = _diff_job_fields(view, obs, batch, claim, src, changed)
    for pos, ts in enumerate(obs.status.tasks):
        moved |= apply_task_status(view, batch, pos, ts, src)
    moved |= _pending_until_reported(view, batch, src)
    moved |= _derive_totals(view, obs.status, changed)
    if moved:
        set_field(job, "last_changed", batch.observed_at, changed)
    if changed or moved:
        if obs.raw:
            job.raw = obs.raw
            changed.add("raw")
        job.last_synced = batch.observed_at
        changed.add("last_synced")
        batch.jobs.append(job)
        batch.job_fields.update(changed)


def _diff_job_fields(
    view: JobView, obs: Obs, batch: Batch, claim: Claim, src: str, changed: set[str]
) -> bool:
    """The job row's own fields (state with its transition, times, stages) and, with a spec,
    the tasks it lists. True when the job's state moved."""
    job, status = view.job, obs.status
    if claim.claim_source:
        set_field(job, "source", claim.job_source, changed)
    if job.gone_at is not None:
        set_field(job, "gone_at", None, changed)
        set_field(job, "gone_reason", "", changed)
    old_state = job.state
    reborn = _new_incarnation(job, status)
    if reborn:
        message, when = _start_new_incarnation(view, status, batch, changed)
    else:
        message = status.err_msg
        when = kuscia_time(status.state, status.create_time, status.start_time, status.end_time)
    moved = False
    if set_field(job, "state", status.state, changed) or reborn:
        moved = True
        batch.transition(
            job,
            Transition.Kind.JOB,
            old_state,
            status.state,
            source=src,
            message=message,
            kuscia_time=when,
        )
    set_field(job, "err_msg", status.err_msg, changed)
    set_field(job, "create_time", status.create_time, changed)
    set_field(job, "start_time", status.start_time, changed)
    set_field(job, "end_time", status.end_time, changed)
    set_field(job, "stage_status", stage_list(status.stage_status_list), changed)
    set_field(job, "approve_status", stage_list(status.approve_status_list), changed)
    detail = obs.detail
    if detail is not None:
        set_field(job, "initiator", detail.initiator, changed)
        set_field(job, "max_parallelism", detail.max_parallelism, changed)
        set_field(job, "custom_fields", dict(detail.custom_fields), changed)
        set_field(job, "spec_fetched", True, changed)
        for pos, spec in enumerate(detail.tasks):
            tol = spec.tolerable
            if claim.tolerable is not None and spec.task_id in claim.tolerable:
                tol = claim.tolerable[spec.task_id]
            apply_task_spec(view, batch, pos, spec, tol)
    return moved


def _start_new_incarnation(
    view: JobView, status: kt.JobStatusDetail, batch: Batch, changed: set[str]
) -> tuple[str, datetime | None]:
    """Deleted and created again in Kuscia with the same id (or the simulator restarted): one
    clear transition, then the new run's tasks from scratch ("" -> state), and the spec fetched
    again (reconcile QueryJobs spec_fetched=False jobs). Returns the transition's message and
    Kuscia time."""
    job = view.job
    message = RECREATED % {"new": _iso(status.create_time), "old": _iso(job.create_time)}
    batch.dead_tasks.extend(t.pk for t in view.tasks.values() if t.pk is not None)
    view.tasks.clear()
    view.parties.clear()
    view.endpoints.clear()
    set_field(job, "spec_fetched", False, changed)
    return message, status.create_time


def _pending_until_reported(view: JobView, batch: Batch, src: str) -> bool:
    """Tasks the spec lists but the status does not mention yet are Pending (Kuscia's rule)."""
    moved = False
    for task in view.tasks.values():
        if task.state == "":
            task.state = kt.PENDING
            moved = True
            batch.transition(
                view.job, Transition.Kind.TASK, "", kt.PENDING, source=src, task_id=task.task_id
            )
            touch_task(view, batch, task, {"state"})
    return moved


def _derive_totals(view: JobView, status: kt.JobStatusDetail, changed: set[str]) -> bool:
    """The denormalised job fields lists and filters read: parties, task counts, progress, the
    status fingerprint. True when the progress moved."""
    job = view.job
    set_field(job, "status_hash", fingerprint(status), changed)
    tasks = list(view.tasks.values())
    parties: set[str] = {s.domain_id for s in status.stage_status_list}
    for task in tasks:
        parties.update(view.parties.get(task.task_id, {}))
    set_field(job, "parties", sorted(parties), changed)
    set_field(job, "task_count", len(tasks), changed)
    set_field(job, "tasks_succeeded", sum(t.state == kt.SUCCEEDED for t in tasks), changed)
    progress = (
        round(sum(1.0 if t.state == kt.SUCCEEDED else t.progress for t in tasks) / len(tasks), 4)
        if tasks
        else (1.0 if status.state == kt.SUCCEEDED else 0.0)
    )
    return set_field(job, "progress", progress, changed)


def _new_incarnation(job: Job, status: kt.JobStatusDetail) -> bool:
    """The observed job is another run under the same id: Kuscia's create_time differs from
    the stored one (both known; the watch omits zero values, so a missing time proves nothing)."""
    return (
        job.state != ""
        and job.create_time is not None
        and status.create_time is not None
        and status.create_time != job.create_time
    )


def _iso(t: datetime | None) -> str:
    return t.isoformat() if t is not None else "unknown"


# ============================================================== public write API


def apply_job_status(
    connection: Connection,
    status: kt.JobStatus,
    *,
    source: str,
    observed_at: datetime | None = None,
) -> Job:
    """Store one observed JobStatus (watch event, batch element). Creates the job if unknown
    (its spec is fetched later by reconcile: spec_fetched stays False)."""
    _, jobs = apply_observations(
        connection,
        [Obs(status.job_id, status.status, status.raw)],
        source=source,
        observed_at=observed_at,
        create_missing=True,
    )
    job = jobs[status.job_id]
    wake_poller(connection)
    return job


def apply_job_statuses(
    connection: Connection,
    statuses: Sequence[kt.JobStatus],
    *,
    source: str,
    observed_at: datetime | None = None,
    create_missing: bool = False,
    known: dict[str, str] | None = None,
) -> WriteStats:
    """Store a chunk of JobStatus in one transaction (known jobs only unless create_missing).
    Jobs whose stored fingerprint equals the observed status cost one shared read (none when
    `known`, job_id -> status_hash of jobs not gone, read by the caller, is given), no lock."""
    if known is None:
        stored = {
            job_id: (digest, gone_at)
            for job_id, digest, gone_at in Job.objects.filter(
                connection=connection, job_id__in=[s.job_id for s in statuses]
            ).values_list("job_id", "status_hash", "gone_at")
        }
    else:
        stored = {job_id: (digest, None) for job_id, digest in known.items()}
    todo = [
        s
        for s in statuses
        if (s.job_id in stored or create_missing)
        and stored.get(s.job_id) != (fingerprint(s.status), None)
    ]
    if not todo:
        return WriteStats()
    stats, _ = apply_observations(
        connection,
        [Obs(s.job_id, s.status, s.raw) for s in todo],
        source=source,
        observed_at=observed_at,
        create_missing=create_missing,
    )
    return stats


def apply_job_detail(
    connection: Connection,
    detail: kt.JobDetail,
    *,
    source: str,
    job_source: str = Job.Source.DISCOVERED,
    observed_at: datetime | None = None,
    claim_source: bool = False,
    tolerable: dict[str, bool | None] | None = None,
) -> Job:
    """Store a QueryJob reply: spec (tasks, dependencies, images, input config) and status."""
    _, jobs = apply_observations(
        connection,
        [Obs(detail.job_id, detail.status, detail.raw, detail)],
        source=source,
        observed_at=observed_at,
        create_missing=True,
        job_source=job_source,
        claim_source=claim_source,
        tolerable=tolerable,
    )
    wake_poller(connection)
    return jobs[detail.job_id]


def record_created(
    connection: Connection, spec: kt.JobSpec, detail_or_none: kt.JobDetail | None
) -> Job:
    """A job created through the console. Keeps `tolerable` from the submitted spec (QueryJob
    never returns it); without a QueryJob reply the spec itself is stored as Pending."""
    detail = detail_or_none or kt.JobDetail(
        job_id=spec.job_id,
        initiator=spec.initiator,
        max_parallelism=spec.max_parallelism or 1,
        tasks=spec.tasks,
        status=kt.JobStatusDetail(state=kt.PENDING),
        custom_fields=dict(spec.custom_fields),
    )
    return apply_job_detail(
        connection,
        detail,
        source=Source.CREATE,
        job_source=Job.Source.CREATED,
        claim_source=True,
        tolerable={t.task_id: t.tolerable for t in spec.tasks},
    )
