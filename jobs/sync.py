"""The sync engine: the only code that writes observed Kuscia state into the local database.

Every observation of a job (a batchQuery element, a watch event, a QueryJob reply, the reply
to a create done here) goes through one write path, `_apply`, which per chunk of jobs:

* locks the job rows (SELECT ... FOR UPDATE, ordered by primary key) inside ONE transaction, so
  two workers applying the same change serialise and the second finds nothing left to do;
* skips observations older than what is stored (fetched before the last write), so a slow
  worker can never roll a job back;
* compares field by field and writes only rows that changed (0 rows when nothing did);
* records a Transition for every job, task and party state change it writes, with the source
  (watch / poll / action / create);
* keeps the denormalised job fields (parties, task_count, tasks_succeeded, progress,
  last_changed) in step.

Around it: reconcile (chunked batchQuery over the jobs that can still change, with the unknown
ids of an 11203 isolated and marked gone), the watch consumer, sync health (SyncState with
back-off) and the leases that keep one poller and one watcher per connection across workers.
Celery tasks and management commands are thin adapters over the functions here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db.models import Q
from django.utils import timezone

from connections.models import Connection, SyncLease, SyncState
from jobs.models import Endpoint, Job, PartyStatus, Task, Transition
from kuscia import types as kt
from kuscia.client import KusciaClient
from kuscia.errors import KusciaError

log = logging.getLogger(__name__)

Source = Transition.Source
# How the job became known -> the source recorded on its first transitions.
_FIRST_SOURCE: dict[str, str] = {
    Job.Source.CREATED: Source.CREATE,
    Job.Source.ADDED: Source.ACTION,
    Job.Source.DISCOVERED: Source.WATCH,
}
BATCH_NOT_FOUND = 11203
WATCH_EVENT_STAMP_SECONDS = 5.0  # SyncState.watch_last_event is written at most this often


# ============================================================== the write path


@dataclass
class WriteStats:
    """Rows written by the write path (SyncState excluded)."""

    jobs_created: int = 0
    jobs_updated: int = 0
    tasks_written: int = 0
    parties_written: int = 0
    endpoints_written: int = 0
    transitions: int = 0
    stale_skipped: int = 0
    gone: int = 0

    @property
    def rows(self) -> int:
        return (
            self.jobs_created
            + self.jobs_updated
            + self.tasks_written
            + self.parties_written
            + self.endpoints_written
            + self.transitions
            + self.gone
        )

    def add(self, other: WriteStats) -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass(frozen=True)
class _Obs:
    job_id: str
    status: kt.JobStatusDetail
    raw: dict[str, Any]
    detail: kt.JobDetail | None = None


def _set(obj: Any, name: str, value: Any, changed: set[str]) -> bool:
    if getattr(obj, name) != value:
        setattr(obj, name, value)
        changed.add(name)
        return True
    return False


def _stage_list(items: Iterable[kt.PartyStageStatus]) -> list[dict[str, str]]:
    # Kuscia builds these lists from Go maps: sort so a reordering is not a change.
    return [{"domain_id": s.domain_id, "state": s.state} for s in sorted(items, key=_stage_key)]


def _stage_key(s: kt.PartyStageStatus) -> tuple[str, str]:
    return (s.domain_id, s.state)


def _kuscia_time(
    state: str,
    create: datetime | None,
    start: datetime | None,
    end: datetime | None,
) -> datetime | None:
    if state in (kt.SUCCEEDED, kt.FAILED, kt.CANCELLED, kt.APPROVAL_REJECT):
        return end
    if state == kt.RUNNING:
        return start
    if state in (kt.PENDING, kt.AWAITING_APPROVAL):
        return create
    return None


def _party_spec(parties: Sequence[kt.Party]) -> list[dict[str, Any]]:
    return [
        {
            "domain_id": p.domain_id,
            "role": p.role,
            "resources": dataclasses.asdict(p.resources) if p.resources else None,
        }
        for p in parties
    ]


def fingerprint(status: kt.JobStatusDetail) -> str:
    """A digest of everything the write path stores from a status, independent of the orders
    Kuscia takes from Go maps and of the JSON dialect (watch omits zero values)."""

    def when(t: datetime | None) -> str:
        return t.isoformat() if t else ""

    norm = (
        status.state,
        status.err_msg,
        when(status.create_time),
        when(status.start_time),
        when(status.end_time),
        sorted(_stage_key(x) for x in status.stage_status_list),
        sorted(_stage_key(x) for x in status.approve_status_list),
        [
            (
                t.task_id,
                t.alias,
                t.state,
                t.err_msg,
                float(t.progress),
                when(t.create_time),
                when(t.start_time),
                when(t.end_time),
                sorted(
                    (
                        p.domain_id,
                        p.state,
                        p.err_msg,
                        sorted((e.port_name, e.scope, e.endpoint) for e in p.endpoints),
                    )
                    for p in t.parties
                ),
            )
            for t in status.tasks
        ],
    )
    return hashlib.blake2b(repr(norm).encode(), digest_size=16).hexdigest()


class _Batch:
    """Rows to write for one chunk, collected while comparing, then written in bulk."""

    def __init__(self, observed_at: datetime, source: str) -> None:
        self.observed_at = observed_at
        self.source = source
        self.stats = WriteStats()
        self.jobs: list[Job] = []
        self.job_fields: set[str] = set()
        self.new_tasks: list[Task] = []
        self.tasks: list[Task] = []
        self.task_fields: set[str] = set()
        self.new_parties: list[PartyStatus] = []
        self.parties: list[PartyStatus] = []
        self.party_fields: set[str] = set()
        self.new_endpoints: list[Endpoint] = []
        self.endpoints: list[Endpoint] = []
        self.endpoint_fields: set[str] = set()
        self.dead_endpoints: list[int] = []
        self.dead_tasks: list[int] = []  # a job's previous incarnation (parties, endpoints cascade)
        self.transitions: list[Transition] = []
        self.queued: set[int] = set()  # id() of rows already in one of the lists above

    def transition(
        self,
        job: Job,
        kind: str,
        old: str,
        new: str,
        *,
        source: str,
        task_id: str = "",
        domain_id: str = "",
        message: str = "",
        kuscia_time: datetime | None = None,
    ) -> None:
        self.transitions.append(
            Transition(
                job=job,
                kind=kind,
                task_id=task_id,
                domain_id=domain_id,
                old_state=old,
                new_state=new,
                message=message,
                kuscia_time=kuscia_time,
                observed_at=self.observed_at,
                source=source,
            )
        )

    def write(self) -> None:
        s = self.stats
        if self.dead_tasks:
            Task.objects.filter(pk__in=self.dead_tasks).delete()
            s.tasks_written += len(self.dead_tasks)
        if self.jobs:
            Job.objects.bulk_update(self.jobs, sorted(self.job_fields), batch_size=500)
            s.jobs_updated += len(self.jobs)
        if self.new_tasks:
            Task.objects.bulk_create(self.new_tasks, batch_size=500)
        if self.tasks:
            Task.objects.bulk_update(self.tasks, sorted(self.task_fields), batch_size=500)
        s.tasks_written += len(self.new_tasks) + len(self.tasks)
        if self.new_parties:
            PartyStatus.objects.bulk_create(self.new_parties, batch_size=500)
        if self.parties:
            PartyStatus.objects.bulk_update(self.parties, sorted(self.party_fields), batch_size=500)
        s.parties_written += len(self.new_parties) + len(self.parties)
        if self.dead_endpoints:
            Endpoint.objects.filter(pk__in=self.dead_endpoints).delete()
        if self.new_endpoints:
            Endpoint.objects.bulk_create(self.new_endpoints, batch_size=500)
        if self.endpoints:
            Endpoint.objects.bulk_update(
                self.endpoints, sorted(self.endpoint_fields), batch_size=500
            )
        s.endpoints_written += (
            len(self.new_endpoints) + len(self.endpoints) + len(self.dead_endpoints)
        )
        if self.transitions:
            Transition.objects.bulk_create(self.transitions, batch_size=500)
            s.transitions += len(self.transitions)


class _JobView:
    """One locked job and its children, as loaded for the chunk."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.tasks: dict[str, Task] = {}
        self.parties: dict[int, dict[str, PartyStatus]] = {}  # id(task) -> domain -> party
        self.endpoints: dict[int, dict[str, Endpoint]] = {}  # id(party) -> port -> endpoint
        self.new_task_ids: set[int] = set()
        self.new_party_ids: set[int] = set()


def _apply(
    connection: Connection,
    observations: Sequence[_Obs],
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
    by_id: dict[str, _Obs] = {}
    for obs in observations:
        by_id[obs.job_id] = obs
    if not by_id:
        return WriteStats(), {}
    ids = sorted(by_id)
    batch = _Batch(now, source)
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
        for view in views:
            _diff_job(view, by_id[view.job.job_id], batch, job_source, claim_source, tolerable)
        batch.write()
    return batch.stats, {v.job.job_id: v.job for v in views}


def _load_children(jobs: list[Job]) -> list[_JobView]:
    views = {j.pk: _JobView(j) for j in jobs}
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
        views[task_job[p.task_id]].parties.setdefault(id(task), {})[p.domain_id] = p
        parties_by_pk[p.pk] = p
    party_job = {p.pk: task_job[p.task_id] for p in parties_by_pk.values()}
    for e in Endpoint.objects.filter(party_id__in=list(parties_by_pk)):
        party = parties_by_pk[e.party_id]
        views[party_job[e.party_id]].endpoints.setdefault(id(party), {})[e.port_name] = e
    return list(views.values())


def _diff_job(
    view: _JobView,
    obs: _Obs,
    batch: _Batch,
    job_source: str,
    claim_source: bool,
    tolerable: dict[str, bool | None] | None,
) -> None:
    job = view.job
    first = job.state == ""
    if not first and job.last_synced is not None and batch.observed_at < job.last_synced:
        batch.stats.stale_skipped += 1
        return
    src = _FIRST_SOURCE.get(job.source, batch.source) if first else batch.source
    status = obs.status
    changed: set[str] = set()
    moved = False  # a state or progress change somewhere in the job

    if claim_source:
        _set(job, "source", job_source, changed)
    if job.gone_at is not None:
        _set(job, "gone_at", None, changed)
        _set(job, "gone_reason", "", changed)
    old_state = job.state
    reborn = _new_incarnation(job, status)
    if reborn:
        # Deleted and created again in Kuscia with the same id (or the simulator restarted):
        # one clear transition, then the new run's tasks from scratch ("" -> state), and the
        # spec fetched again (reconcile QueryJobs spec_fetched=False jobs).
        message = (
            f"job re-created in Kuscia (new create_time {_iso(status.create_time)}, "
            f"was {_iso(job.create_time)})"
        )
        when = status.create_time
        batch.dead_tasks.extend(t.pk for t in view.tasks.values() if t.pk is not None)
        view.tasks.clear()
        view.parties.clear()
        view.endpoints.clear()
        _set(job, "spec_fetched", False, changed)
    else:
        message = status.err_msg
        when = _kuscia_time(status.state, status.create_time, status.start_time, status.end_time)
    if _set(job, "state", status.state, changed) or reborn:
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
    _set(job, "err_msg", status.err_msg, changed)
    _set(job, "create_time", status.create_time, changed)
    _set(job, "start_time", status.start_time, changed)
    _set(job, "end_time", status.end_time, changed)
    _set(job, "stage_status", _stage_list(status.stage_status_list), changed)
    _set(job, "approve_status", _stage_list(status.approve_status_list), changed)

    detail = obs.detail
    if detail is not None:
        _set(job, "initiator", detail.initiator, changed)
        _set(job, "max_parallelism", detail.max_parallelism, changed)
        _set(job, "custom_fields", dict(detail.custom_fields), changed)
        _set(job, "spec_fetched", True, changed)
        for pos, spec in enumerate(detail.tasks):
            tol = spec.tolerable
            if tolerable is not None and spec.task_id in tolerable:
                tol = tolerable[spec.task_id]
            _apply_task_spec(view, batch, pos, spec, tol)

    for pos, ts in enumerate(status.tasks):
        moved |= _apply_task_status(view, batch, pos, ts, src)

    # Tasks the spec lists but the status does not mention yet: Pending (Kuscia's own rule).
    for task in view.tasks.values():
        if task.state == "":
            task.state = kt.PENDING
            moved = True
            batch.transition(
                job, Transition.Kind.TASK, "", kt.PENDING, source=src, task_id=task.task_id
            )
            _touch_task(view, batch, task, {"state"})

    _set(job, "status_hash", fingerprint(status), changed)
    tasks = list(view.tasks.values())
    parties: set[str] = {s.domain_id for s in status.stage_status_list}
    for task in tasks:
        parties.update(view.parties.get(id(task), {}))
    _set(job, "parties", sorted(parties), changed)
    _set(job, "task_count", len(tasks), changed)
    _set(job, "tasks_succeeded", sum(t.state == kt.SUCCEEDED for t in tasks), changed)
    progress = (
        round(sum(1.0 if t.state == kt.SUCCEEDED else t.progress for t in tasks) / len(tasks), 4)
        if tasks
        else (1.0 if status.state == kt.SUCCEEDED else 0.0)
    )
    if _set(job, "progress", progress, changed):
        moved = True
    if moved:
        _set(job, "last_changed", batch.observed_at, changed)
    if changed or moved:
        if obs.raw:
            job.raw = obs.raw
            changed.add("raw")
        job.last_synced = batch.observed_at
        changed.add("last_synced")
        batch.jobs.append(job)
        batch.job_fields.update(changed)


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


def _task(view: _JobView, task_id: str, alias: str, pos: int) -> Task:
    task = view.tasks.get(task_id)
    if task is None:
        task = Task(job=view.job, task_id=task_id, alias=alias or task_id, position=pos, state="")
        view.tasks[task_id] = task
        view.new_task_ids.add(id(task))
    return task


def _touch_task(view: _JobView, batch: _Batch, task: Task, changed: set[str]) -> None:
    if not changed:
        return
    if id(task) not in batch.queued:
        batch.queued.add(id(task))
        (batch.new_tasks if id(task) in view.new_task_ids else batch.tasks).append(task)
    if id(task) not in view.new_task_ids:
        batch.task_fields.update(changed)


def _apply_task_spec(
    view: _JobView, batch: _Batch, pos: int, spec: kt.TaskSpec, tolerable: bool | None
) -> None:
    task = _task(view, spec.task_id, spec.alias, pos)
    changed: set[str] = set()
    if id(task) in view.new_task_ids:
        changed.add("new")
    _set(task, "position", pos, changed)
    _set(task, "alias", spec.alias or spec.task_id, changed)
    _set(task, "app_image", spec.app_image, changed)
    _set(task, "dependencies", list(spec.dependencies), changed)
    _set(task, "priority", spec.priority, changed)
    _set(task, "task_input_config", spec.task_input_config, changed)
    schedule = dataclasses.asdict(spec.schedule_config) if spec.schedule_config else None
    _set(task, "schedule_config", schedule, changed)
    _set(task, "party_spec", _party_spec(spec.parties), changed)
    if tolerable is not None:  # QueryJob never returns it: keep what we know
        _set(task, "tolerable", tolerable, changed)
    _touch_task(view, batch, task, changed)
    known = view.parties.setdefault(id(task), {})
    for p in spec.parties:
        party = known.get(p.domain_id)
        if party is None:
            party = PartyStatus(task=task, domain_id=p.domain_id, role=p.role, state=kt.PENDING)
            known[p.domain_id] = party
            view.new_party_ids.add(id(party))
            batch.new_parties.append(party)
        elif party.role != p.role and p.role:
            party.role = p.role
            _touch_party(view, batch, party, {"role"})


def _touch_party(view: _JobView, batch: _Batch, party: PartyStatus, changed: set[str]) -> None:
    if not changed or id(party) in view.new_party_ids:
        return  # new rows are in batch.new_parties already
    if id(party) not in batch.queued:
        batch.queued.add(id(party))
        batch.parties.append(party)
    batch.party_fields.update(changed)


def _apply_task_status(
    view: _JobView, batch: _Batch, pos: int, ts: kt.TaskStatus, src: str
) -> bool:
    job = view.job
    task = _task(view, ts.task_id, ts.alias, pos if not job.spec_fetched else len(view.tasks))
    changed: set[str] = set()
    moved = False
    if id(task) in view.new_task_ids:
        changed.add("new")
    old = task.state
    if _set(task, "state", ts.state, changed):
        moved = True
        batch.transition(
            job,
            Transition.Kind.TASK,
            old,
            ts.state,
            source=src,
            task_id=task.task_id,
            message=ts.err_msg,
            kuscia_time=_kuscia_time(ts.state, ts.create_time, ts.start_time, ts.end_time),
        )
    _set(task, "err_msg", ts.err_msg, changed)
    if _set(task, "progress", ts.progress, changed):
        moved = True
    _set(task, "create_time", ts.create_time, changed)
    _set(task, "start_time", ts.start_time, changed)
    _set(task, "end_time", ts.end_time, changed)
    if ts.alias and not task.alias:
        _set(task, "alias", ts.alias, changed)
    _touch_task(view, batch, task, changed)

    known = view.parties.setdefault(id(task), {})
    for ps in ts.parties:
        party = known.get(ps.domain_id)
        if party is None:
            party = PartyStatus(task=task, domain_id=ps.domain_id, state="")
            known[ps.domain_id] = party
            view.new_party_ids.add(id(party))
            batch.new_parties.append(party)
        pchanged: set[str] = set()
        pold = party.state
        if _set(party, "state", ps.state, pchanged):
            moved = True
            batch.transition(
                job,
                Transition.Kind.PARTY,
                pold,
                ps.state,
                source=src,
                task_id=task.task_id,
                domain_id=ps.domain_id,
                message=ps.err_msg,
            )
        _set(party, "err_msg", ps.err_msg, pchanged)
        _touch_party(view, batch, party, pchanged)
        _apply_endpoints(view, batch, party, ps.endpoints)
    return moved


def _apply_endpoints(
    view: _JobView, batch: _Batch, party: PartyStatus, endpoints: Sequence[kt.Endpoint]
) -> None:
    existing = view.endpoints.setdefault(id(party), {})
    wanted = {e.port_name: e for e in endpoints}
    for port, e in wanted.items():
        row = existing.get(port)
        if row is None:
            row = Endpoint(party=party, port_name=port, scope=e.scope, endpoint=e.endpoint)
            existing[port] = row
            batch.new_endpoints.append(row)
            continue
        echanged: set[str] = set()
        _set(row, "scope", e.scope, echanged)
        _set(row, "endpoint", e.endpoint, echanged)
        if echanged:
            batch.endpoints.append(row)
            batch.endpoint_fields.update(echanged)
    for port in list(existing):
        if port not in wanted and existing[port].pk is not None:
            batch.dead_endpoints.append(existing.pop(port).pk)


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
    _, jobs = _apply(
        connection,
        [_Obs(status.job_id, status.status, status.raw)],
        source=source,
        observed_at=observed_at,
        create_missing=True,
    )
    job = jobs[status.job_id]
    _wake_poller(connection)
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
    stats, _ = _apply(
        connection,
        [_Obs(s.job_id, s.status, s.raw) for s in todo],
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
    _, jobs = _apply(
        connection,
        [_Obs(detail.job_id, detail.status, detail.raw, detail)],
        source=source,
        observed_at=observed_at,
        create_missing=True,
        job_source=job_source,
        claim_source=claim_source,
        tolerable=tolerable,
    )
    _wake_poller(connection)
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


DELETED_HERE = "deleted-here"
# A console delete races the watch's DELETED event (and reconcile's not-found) for the same
# deletion: within this many seconds of the job being marked gone, "deleted-here" replaces them.
GONE_RACE_SECONDS = 120.0


def mark_gone(job: Job, *, reason: str, observed_at: datetime | None = None) -> Job:
    """Kuscia no longer knows this job: keep the row and its history, note when and why.

    The first observation sets gone_at and the reason, with one exception: a delete done in this
    console ("deleted-here") is the more specific fact, so it replaces the reason the watch or
    reconcile recorded moments earlier for the same deletion (gone_at, the first time the job
    was seen gone, stays). A job already gone for longer than GONE_RACE_SECONDS keeps its
    reason: it was deleted elsewhere before the console tried."""
    now = observed_at or timezone.now()
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.gone_at is None:
            locked.gone_at = now
            locked.gone_reason = reason[:32]
            locked.last_synced = now
            locked.save(update_fields=["gone_at", "gone_reason", "last_synced"])
        elif (
            reason == DELETED_HERE
            and locked.gone_reason != DELETED_HERE
            and locked.gone_at >= now - timedelta(seconds=GONE_RACE_SECONDS)
        ):
            locked.gone_reason = DELETED_HERE
            locked.save(update_fields=["gone_reason"])
    job.refresh_from_db()
    return job


def _mark_gone_ids(
    connection: Connection, job_ids: Iterable[str], *, reason: str, observed_at: datetime
) -> int:
    ids = list(job_ids)
    if not ids:
        return 0
    return Job.objects.filter(connection=connection, job_id__in=ids, gone_at__isnull=True).update(
        gone_at=observed_at, gone_reason=reason[:32], last_synced=observed_at
    )


def _mark_refused(
    connection: Connection, job_ids: list[str], message: str, observed_at: datetime
) -> None:
    """Jobs Kuscia refused to show (11203 without "not found"): not gone; polled less often."""
    if not job_ids:
        return
    jobs = Job.objects.filter(connection=connection, job_id__in=job_ids)
    jobs.filter(refused_at__isnull=True).update(refused_at=observed_at)
    jobs.update(refused_message=message)


def _clear_refused(connection: Connection, job_ids: set[str]) -> None:
    """Jobs Kuscia shows again: no longer refused."""
    if job_ids:
        Job.objects.filter(connection=connection, job_id__in=job_ids).update(
            refused_at=None, refused_message=""
        )


def forget_job(job: Job) -> None:
    """Delete the local row and its history (Kuscia is not touched)."""
    Job.objects.filter(pk=job.pk).delete()


def _client(connection: Connection) -> KusciaClient:
    return KusciaClient(connection.client_config())


def track_job(
    connection: Connection,
    job_id: str,
    *,
    source: str = Job.Source.ADDED,
    client: KusciaClient | None = None,
) -> Job:
    """QueryJob and store (add by id, or discovery). Raises KusciaError (kind not_found...)."""
    observed_at = timezone.now()
    if client is None:
        with _client(connection) as own:
            detail = own.query_job(job_id)
    else:
        detail = client.query_job(job_id)
    return apply_job_detail(
        connection,
        detail,
        source=_FIRST_SOURCE.get(source, Source.ACTION),
        job_source=source,
        observed_at=observed_at,
    )


def refresh_job(
    job: Job, *, source: str = Source.ACTION, client: KusciaClient | None = None
) -> Job:
    """Re-query one job now (after an action). A job Kuscia no longer knows is marked gone;
    other failures raise KusciaError."""
    connection = job.connection
    observed_at = timezone.now()
    try:
        if client is None:
            with _client(connection) as own:
                detail = own.query_job(job.job_id)
        else:
            detail = client.query_job(job.job_id)
    except KusciaError as exc:
        if exc.kind == "not_found":
            return mark_gone(job, reason="not-found", observed_at=observed_at)
        raise
    return apply_job_detail(connection, detail, source=source, observed_at=observed_at)


# ============================================================== sync health


def sync_state(connection: Connection) -> SyncState:
    state, _ = SyncState.objects.get_or_create(connection=connection)
    return state


def _wake_poller(connection: Connection) -> None:
    """A job became known: end an idle back-off so the next beat polls it (not error back-off)."""
    SyncState.objects.filter(
        connection=connection, consecutive_failures=0, next_attempt__gt=timezone.now()
    ).update(next_attempt=None)


def backoff_delay(failures: int) -> float:
    """Exponential back-off after `failures` consecutive failures, capped."""
    base = max(float(settings.KUSCIA_POLL_SECONDS), 0.5)
    return float(min(settings.KUSCIA_BACKOFF_MAX_SECONDS, base * 2 ** max(failures - 1, 0)))


def _record_failure(
    connection: Connection, exc: BaseException, started: datetime, summary: ReconcileSummary
) -> None:
    if isinstance(exc, KusciaError):
        kind, message, hint = exc.kind, exc.message, exc.hint
    else:
        kind, message, hint = "internal", f"{type(exc).__name__}: {exc}", "See the worker's log."
    with transaction.atomic():
        state = SyncState.objects.select_for_update().get(pk=sync_state(connection).pk)
        state.consecutive_failures += 1
        now = timezone.now()
        state.last_attempt = started
        state.last_error_kind = kind
        state.last_error_message = message[:2000]
        state.last_error_hint = hint
        state.last_error_at = now
        state.next_attempt = now + timedelta(seconds=backoff_delay(state.consecutive_failures))
        summary.error = f"{kind}: {message}"
        state.last_cycle = summary.as_dict()
        state.save()


def _record_success(
    connection: Connection, started: datetime, summary: ReconcileSummary, *, idle: bool
) -> None:
    now = timezone.now()
    next_attempt = now + timedelta(seconds=settings.KUSCIA_IDLE_POLL_SECONDS) if idle else None
    fields: dict[str, Any] = {
        "last_attempt": started,
        "last_success": now,
        "consecutive_failures": 0,
        "next_attempt": next_attempt,
        "last_cycle": summary.as_dict(),
    }
    if summary.slow_included:
        fields["last_slow_poll"] = started
    SyncState.objects.filter(connection=connection).update(**fields)  # the row exists by now


# ============================================================== reconcile


@dataclass
class ReconcileSummary:
    connection: str
    polled: int = 0
    chunks: int = 0
    requests: int = 0
    specs_fetched: int = 0
    gone: list[str] = field(default_factory=list)
    # ids Kuscia refused with 11203 without "not found" (e.g. a lite node's "domain's KusciaAPI
    # could only retrieve the job ..."): not gone, just not visible through this connection
    refused: list[str] = field(default_factory=list)
    refused_message: str = ""  # Kuscia's message for the last of them
    writes: WriteStats = field(default_factory=WriteStats)
    slow_included: bool = False
    seconds: float = 0.0
    fetch_seconds: float = 0.0
    error: str = ""
    skipped: str = ""  # "locked", "waiting" (back-off / idle), "disabled"

    def as_dict(self) -> dict[str, Any]:
        return {
            "connection": self.connection,
            "polled": self.polled,
            "chunks": self.chunks,
            "requests": self.requests,
            "specs_fetched": self.specs_fetched,
            "gone": self.gone[:50],
            "gone_count": len(self.gone),
            "refused": self.refused[:50],
            "rows_written": self.writes.rows,
            "transitions": self.writes.transitions,
            "stale_skipped": self.writes.stale_skipped,
            "slow_included": self.slow_included,
            "seconds": round(self.seconds, 4),
            "fetch_seconds": round(self.fetch_seconds, 4),
            "error": self.error,
            "skipped": self.skipped,
        }

    def __str__(self) -> str:
        if self.skipped:
            return f"{self.connection}: skipped ({self.skipped})"
        text = (
            f"{self.connection}: polled {self.polled} jobs in {self.chunks} chunks, "
            f"{self.requests} requests, {self.writes.rows} rows written "
            f"({self.writes.transitions} transitions), {len(self.gone)} gone, "
            f"{self.specs_fetched} specs fetched, {self.seconds:.3f}s"
        )
        if self.refused:
            text += f"; {len(self.refused)} refused by Kuscia (not visible here): "
            text += ", ".join(self.refused[:5]) + (" …" if len(self.refused) > 5 else "")
        return text + (f"; error {self.error}" if self.error else "")


@dataclass
class PollPlan:
    ids: list[str]  # to batchQuery, in primary-key order
    specs_missing: list[str]  # known only from a status: QueryJob them (a few per cycle)
    any_active: bool
    hashes: dict[str, str] = field(default_factory=dict)  # job_id -> status_hash when read
    refused: set[str] = field(default_factory=set)  # jobs Kuscia refused to show (refused_at)


def poll_plan(connection: Connection, *, now: datetime, include_slow: bool) -> PollPlan:
    """What one reconcile asks Kuscia (one query): every active job; with include_slow also
    restartable (Failed/Suspended) jobs changed within KUSCIA_RESTARTABLE_SECONDS and jobs that
    finished within KUSCIA_RECENT_SECONDS. Other terminal jobs are never polled. A job Kuscia
    refused to show (refused_at) is asked again only with include_slow."""
    restartable = now - timedelta(seconds=settings.KUSCIA_RESTARTABLE_SECONDS)
    recent = now - timedelta(seconds=settings.KUSCIA_RECENT_SECONDS)
    finished = kt.TERMINAL_JOB_STATES - kt.RESTARTABLE_JOB_STATES
    wanted = Q(state__in=kt.ACTIVE_JOB_STATES) | Q(spec_fetched=False)
    if include_slow:
        wanted |= Q(state__in=kt.RESTARTABLE_JOB_STATES, last_changed__gte=restartable)
        wanted |= Q(state__in=finished, last_changed__gte=recent)
    plan = PollPlan(ids=[], specs_missing=[], any_active=False)
    rows = (
        Job.objects.filter(connection=connection, gone_at__isnull=True)
        .filter(wanted)
        .order_by("pk")
        .values_list("job_id", "state", "spec_fetched", "last_changed", "status_hash", "refused_at")
    )
    for job_id, state, spec_fetched, last_changed, digest, refused_at in rows:
        plan.hashes[job_id] = digest
        if refused_at is not None:
            plan.refused.add(job_id)
            if not include_slow:
                continue
        active = state in kt.ACTIVE_JOB_STATES
        plan.any_active |= active
        if not spec_fetched and len(plan.specs_missing) < settings.KUSCIA_SPECS_PER_CYCLE:
            plan.specs_missing.append(job_id)
        if (
            active
            or (include_slow and state in kt.RESTARTABLE_JOB_STATES and last_changed >= restartable)
            or (include_slow and state in finished and last_changed >= recent)
        ):
            plan.ids.append(job_id)
    return plan


def jobs_to_poll(connection: Connection, *, now: datetime, include_slow: bool) -> list[str]:
    """The ids reconcile batch-queries (see poll_plan)."""
    return poll_plan(connection, now=now, include_slow=include_slow).ids


_QUOTED = re.compile(r'"([^"]+)"')


def _fails_the_batch(exc: KusciaError) -> bool:
    """11203: one id Kuscia will not answer for fails the whole batch. That is an unknown id
    (kind "not_found": the message says "not found") or one this connection may not see."""
    return exc.code == BATCH_NOT_FOUND or exc.kind == "not_found"


def fetch_statuses(
    client: KusciaClient, ids: Sequence[str], summary: ReconcileSummary
) -> tuple[list[kt.JobStatus], list[str]]:
    """batchQuery `ids`; on 11203 (one id fails the whole batch) isolate the failing ids (by the
    id Kuscia names in a not-found message, else by bisection). Returns (statuses, unknown): an
    id is unknown only when Kuscia said "not found"; one it refused otherwise is added to
    `summary.refused` and left as it is."""
    if not ids:
        return [], []
    try:
        summary.requests += 1
        return list(client.batch_query_job_status(list(ids))), []
    except KusciaError as exc:
        if not _fails_the_batch(exc):
            raise
        not_found, message = exc.kind == "not_found", exc.message
        named = [i for i in _QUOTED.findall(message) if i in ids] if not_found else []
    if len(ids) == 1:
        if not_found:
            return [], list(ids)
        summary.refused.extend(ids)
        summary.refused_message = message
        log.warning("kuscia refused job %s: %s", ids[0], message)
        return [], []
    if named:
        rest = [i for i in ids if i not in named]
        statuses, unknown = fetch_statuses(client, rest, summary)
        return statuses, sorted(set(named)) + unknown
    mid = len(ids) // 2
    left, lost_left = fetch_statuses(client, ids[:mid], summary)
    right, lost_right = fetch_statuses(client, ids[mid:], summary)
    return left + right, lost_left + lost_right


class _Renewer(Protocol):
    def renew(self) -> bool: ...


def reconcile_connection(
    connection: Connection,
    *,
    client: KusciaClient | None = None,
    include_slow: bool | None = None,
    lease: _Renewer | None = None,
) -> ReconcileSummary:
    """One reconcile cycle for a connection. Records success or the classified error (with
    back-off) on its SyncState; returns the summary (never raises a KusciaError)."""
    started = timezone.now()
    t0 = time.perf_counter()
    summary = ReconcileSummary(connection=connection.name)
    state = sync_state(connection)
    if include_slow is None:
        include_slow = state.last_slow_poll is None or (
            started - state.last_slow_poll
        ).total_seconds() >= float(settings.KUSCIA_SLOW_POLL_SECONDS)
    summary.slow_included = include_slow
    plan = poll_plan(connection, now=started, include_slow=include_slow)
    ids = plan.ids
    summary.polled = len(ids)
    own = client is None
    try:
        if own:
            client = _client(connection)
        assert client is not None
        size = max(1, int(settings.KUSCIA_BATCH_SIZE))
        chunks = [ids[i : i + size] for i in range(0, len(ids), size)]
        fetcher = client

        def fetch(chunk: list[str]) -> tuple[datetime, list[kt.JobStatus], list[str], float]:
            observed_at = timezone.now()
            f0 = time.perf_counter()
            statuses, unknown = fetch_statuses(fetcher, chunk, summary)
            return observed_at, statuses, unknown, time.perf_counter() - f0

        # Fetch chunk i+1 (network, parsing) while chunk i is compared and written; a single
        # chunk is fetched in this thread.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kuscia-fetch") as pool:
            pending = pool.submit(fetch, chunks[0]) if len(chunks) > 1 else None
            for i in range(len(chunks)):
                if pending is None:
                    observed_at, statuses, unknown, took = fetch(chunks[i])
                else:
                    observed_at, statuses, unknown, took = pending.result()
                pending = pool.submit(fetch, chunks[i + 1]) if i + 1 < len(chunks) else None
                summary.fetch_seconds += took
                summary.chunks += 1
                _clear_refused(connection, plan.refused & {s.job_id for s in statuses})
                summary.writes.add(
                    apply_job_statuses(
                        connection,
                        statuses,
                        source=Source.POLL,
                        observed_at=observed_at,
                        known={s.job_id: plan.hashes.get(s.job_id, "") for s in statuses},
                    )
                )
                gone = _mark_gone_ids(
                    connection, unknown, reason="not-found", observed_at=observed_at
                )
                summary.writes.gone += gone
                summary.gone.extend(unknown)
                if lease is not None:
                    lease.renew()
        _mark_refused(connection, summary.refused, summary.refused_message, started)
        _fetch_missing_specs(connection, client, plan.specs_missing, summary)
    except Exception as exc:
        summary.seconds = time.perf_counter() - t0
        if not isinstance(exc, KusciaError):
            log.exception("reconcile of %s failed", connection.name)
        _record_failure(connection, exc, started, summary)
        return summary
    finally:
        if own and client is not None:
            client.close()
    summary.seconds = time.perf_counter() - t0
    idle = not plan.any_active
    _record_success(connection, started, summary, idle=idle)
    return summary


def _fetch_missing_specs(
    connection: Connection, client: KusciaClient, pending: list[str], summary: ReconcileSummary
) -> None:
    """Jobs first seen through a status only (watch, batch) get their spec once via QueryJob."""
    for job_id in pending:
        observed_at = timezone.now()
        summary.requests += 1
        try:
            detail = client.query_job(job_id)
        except KusciaError as exc:
            if exc.kind != "not_found":
                raise
            summary.writes.gone += _mark_gone_ids(
                connection, [job_id], reason="not-found", observed_at=observed_at
            )
            summary.gone.append(job_id)
            continue
        apply_job_detail(connection, detail, source=Source.POLL, observed_at=observed_at)
        summary.specs_fetched += 1


# ============================================================== leases (one worker per duty)


class Lease(Protocol):
    def acquire(self) -> bool: ...
    def renew(self) -> bool: ...
    def release(self) -> None: ...


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class DbLease:
    """A lease row in the database (works on SQLite and PostgreSQL, no Redis needed)."""

    def __init__(self, name: str, ttl: float) -> None:
        self.name, self.ttl, self.owner = name, ttl, _owner()

    def acquire(self) -> bool:
        try:
            with transaction.atomic():
                SyncLease.objects.get_or_create(name=self.name)
        except IntegrityError:
            pass
        now = timezone.now()
        free = Q(owner=self.owner) | Q(expires_at__isnull=True) | Q(expires_at__lt=now)
        taken = (
            SyncLease.objects.filter(name=self.name)
            .filter(free)
            .update(owner=self.owner, expires_at=now + timedelta(seconds=self.ttl))
        )
        return taken == 1

    def renew(self) -> bool:
        expires = timezone.now() + timedelta(seconds=self.ttl)
        return (
            SyncLease.objects.filter(name=self.name, owner=self.owner).update(expires_at=expires)
            == 1
        )

    def release(self) -> None:
        SyncLease.objects.filter(name=self.name, owner=self.owner).update(owner="", expires_at=None)


class RedisLease:
    """A Redis lock with a TTL (SET NX PX with an owner token), renewable and releasable."""

    def __init__(self, name: str, ttl: float) -> None:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        key = f"{settings.KC_REDIS_PREFIX}kc:lease:{name}"
        self._lock = client.lock(key, timeout=ttl, blocking=False, thread_local=False)

    def acquire(self) -> bool:
        return bool(self._lock.acquire(blocking=False))

    def renew(self) -> bool:
        from redis.exceptions import LockError

        try:
            self._lock.reacquire()
        except LockError:
            return False
        return True

    def release(self) -> None:
        from redis.exceptions import LockError

        with contextlib.suppress(LockError):
            self._lock.release()


def make_lease(name: str, ttl: float) -> Lease:
    return RedisLease(name, ttl) if settings.REDIS_URL else DbLease(name, ttl)


class _Keeper(threading.Thread):
    """Renews a lease in the background while a long call (the watch) blocks."""

    def __init__(self, lease: Lease, interval: float) -> None:
        super().__init__(daemon=True, name="lease-keeper")
        self.lease, self.interval = lease, interval
        self.stopped = threading.Event()
        self.lost = False

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.interval):
                if not self.lease.renew():
                    self.lost = True
                    return
        finally:
            connections.close_all()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


# ============================================================== the poll cycle (beat)


def run_poll_cycle(*, force: bool = False) -> list[ReconcileSummary]:
    """Reconcile every enabled connection that is due (not backing off) and not being polled
    by another worker right now."""
    if settings.KUSCIA_DEFAULT_CONNECTION:
        Connection.objects.ensure_default()
    summaries = []
    for connection in Connection.objects.filter(enabled=True).order_by("pk"):
        summaries.append(poll_connection(connection, force=force))
    return summaries


def poll_connection(connection: Connection, *, force: bool = False) -> ReconcileSummary:
    state = sync_state(connection)
    if not force and state.next_attempt is not None and state.next_attempt > timezone.now():
        return ReconcileSummary(connection=connection.name, skipped="waiting")
    lease = make_lease(f"poll:{connection.pk}", settings.KUSCIA_POLL_LEASE_SECONDS)
    if not lease.acquire():
        return ReconcileSummary(connection=connection.name, skipped="locked")
    try:
        return reconcile_connection(connection, lease=lease)
    finally:
        lease.release()


# ============================================================== the watch


@dataclass
class WatchSummary:
    connection: str
    events: int = 0
    discovered: int = 0
    gone: int = 0
    error: str = ""
    skipped: str = ""  # "locked", "disabled", "shutdown" (the worker is stopping)

    @property
    def relaunch_after(self) -> float | None:
        """Seconds before the next watch (None: do not relaunch from here)."""
        if self.skipped:
            return None
        return 5.0 if self.error else 0.0


# Open watch streams of this process, so a worker shutting down can end them at once (a watch
# otherwise holds a warm shutdown for up to KUSCIA_WATCH_SECONDS).
_streams: set[Any] = set()
_streams_lock = threading.Lock()
_stopping = threading.Event()


def stop_watching() -> int:
    """This process is shutting down: close every open watch stream (thread-safe; wakes a
    blocked read) and start no new one. The watch tasks then return, release their leases and
    do not relaunch. Returns the number of streams closed."""
    _stopping.set()
    closed = 0
    for attempt in range(2):  # again shortly after, for a stream caught while (re)connecting
        with _streams_lock:
            open_now = list(_streams)
        for stream in open_now:
            with contextlib.suppress(Exception):
                stream.close()
                closed += attempt == 0
        if attempt == 0:
            time.sleep(0.5)
    return closed


def watch_stopping() -> bool:
    return _stopping.is_set()


def watch_candidates() -> list[int]:
    if settings.KUSCIA_DEFAULT_CONNECTION:
        Connection.objects.ensure_default()
    return list(Connection.objects.filter(enabled=True).order_by("pk").values_list("pk", flat=True))


def _set_watch(connection: Connection, **fields: Any) -> None:
    sync_state(connection)
    SyncState.objects.filter(connection=connection).update(**fields)


def handle_watch_event(
    connection: Connection, event: kt.WatchEvent, client: KusciaClient, summary: WatchSummary
) -> None:
    """ADDED/MODIFIED: same write path as reconcile (unknown job = discovery via QueryJob);
    DELETED: the job is gone."""
    if event.job is None or event.type in (kt.EventType.HEARTBEAT, kt.EventType.ERROR):
        return
    observed_at = timezone.now()
    job_id = event.job.job_id
    summary.events += 1
    if event.type == kt.EventType.DELETED:
        summary.gone += _mark_gone_ids(
            connection, [job_id], reason="watch-deleted", observed_at=observed_at
        )
        return
    row = (
        Job.objects.filter(connection=connection, job_id=job_id)
        .values_list("spec_fetched", "status_hash", "gone_at", "create_time", "refused_at")
        .first()
    )
    if row is not None and row[4] is not None:  # Kuscia shows it again
        _clear_refused(connection, {job_id})
    if row is not None and row[0] and row[2] is None and row[1] == fingerprint(event.job.status):
        return  # nothing new (e.g. the ADDED burst after a reconnect)
    created = event.job.status.create_time
    reborn = row is not None and row[3] is not None and created is not None and created != row[3]
    if row is None or not row[0] or reborn:  # unknown, no spec yet, or a new run: QueryJob
        try:
            track_job(connection, job_id, source=Job.Source.DISCOVERED, client=client)
            summary.discovered += row is None or not row[0]
            return
        except KusciaError as exc:
            if exc.kind == "not_found":
                return  # deleted again already
            log.warning("discovery of %s failed (%s); storing its status only", job_id, exc)
    _apply(
        connection,
        [_Obs(job_id, event.job.status, event.job.raw)],
        source=Source.WATCH,
        observed_at=observed_at,
        create_missing=True,
    )


def watch_connection(
    connection_id: int,
    *,
    timeout_seconds: int | None = None,
    client: KusciaClient | None = None,
) -> WatchSummary:
    """Consume the watch stream of one connection until its finite timeout, a silence over
    30 s (the client raises) or an error. One watcher per connection across workers (lease)."""
    connection = Connection.objects.filter(pk=connection_id, enabled=True).first()
    if connection is None:
        return WatchSummary(connection=str(connection_id), skipped="disabled")
    summary = WatchSummary(connection=connection.name)
    if _stopping.is_set():
        summary.skipped = "shutdown"
        return summary
    ttl = float(settings.KUSCIA_WATCH_LEASE_SECONDS)
    lease = make_lease(f"watch:{connection.pk}", ttl)
    if not lease.acquire():
        summary.skipped = "locked"
        return summary
    keeper = _Keeper(lease, ttl / 3)
    keeper.start()
    own = client is None
    stamp = 0.0
    try:
        if own:
            client = _client(connection)
        assert client is not None
        stream = client.watch_jobs(timeout_seconds=timeout_seconds or settings.KUSCIA_WATCH_SECONDS)
        with _streams_lock:
            _streams.add(stream)
        if _stopping.is_set():
            stream.close()
        try:
            _set_watch(connection, watch_connected_since=timezone.now(), watch_last_error="")
            for event in stream:
                handle_watch_event(connection, event, client, summary)
                if time.monotonic() - stamp > WATCH_EVENT_STAMP_SECONDS:
                    stamp = time.monotonic()
                    _set_watch(connection, watch_last_event=timezone.now())
                if keeper.lost:
                    summary.error = "lease lost"
                    break
        finally:
            with _streams_lock:
                _streams.discard(stream)
            stream.close()
    except KusciaError as exc:
        if not _stopping.is_set():
            summary.error = f"{exc.kind}: {exc.message}"
            _set_watch(connection, watch_last_error=summary.error[:2000])
    except Exception as exc:
        log.exception("watch of %s failed", connection.name)
        summary.error = f"internal: {type(exc).__name__}: {exc}"
        _set_watch(connection, watch_last_error=summary.error[:2000])
    finally:
        keeper.stop()
        _set_watch(connection, watch_connected_since=None)
        lease.release()
        if own and client is not None:
            client.close()
    if _stopping.is_set():
        summary.skipped = "shutdown"
        summary.error = ""
    return summary


def watch_is_free(connection_id: int) -> bool:
    """True when no worker holds the watch lease of this connection (a hint: racy by nature)."""
    lease = make_lease(f"watch:{connection_id}", 1.0)
    if lease.acquire():
        lease.release()
        return True
    return False
