"""The one write path: apply an observation of a job (batchQuery element, watch event, QueryJob
reply, the reply to a create done here) to the local rows.

Per chunk of jobs it locks the job rows (SELECT ... FOR UPDATE, by primary key) in one
transaction; skips observations older than what is stored; compares field by field and writes
only rows that changed; records a Transition for every job, task and party state change with
its source (watch / poll / action / create); keeps the denormalised job fields in step.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from connections.models import Connection
from jobs.models import Endpoint, Job, PartyStatus, Task, Transition
from jobs.sync.health import wake_poller
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
    src = FIRST_SOURCE.get(job.source, batch.source) if first else batch.source
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
