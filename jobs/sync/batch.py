"""What one chunk of observations collects before writing: the rows to write in bulk, the
locked job with its children, and the comparison helpers."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jobs.models import Endpoint, Job, PartyStatus, Task, Transition
from kuscia import types as kt

log = logging.getLogger(__name__)

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
class Obs:
    job_id: str
    status: kt.JobStatusDetail
    raw: dict[str, Any]
    detail: kt.JobDetail | None = None


def set_field(obj: Any, name: str, value: Any, changed: set[str]) -> bool:
    if getattr(obj, name) != value:
        setattr(obj, name, value)
        changed.add(name)
        return True
    return False


def stage_list(items: Iterable[kt.PartyStageStatus]) -> list[dict[str, str]]:
    # Kuscia builds these lists from Go maps: sort so a reordering is not a change.
    return [{"domain_id": s.domain_id, "state": s.state} for s in sorted(items, key=_stage_key)]


def _stage_key(s: kt.PartyStageStatus) -> tuple[str, str]:
    return (s.domain_id, s.state)


def kuscia_time(
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


def party_spec(parties: Sequence[kt.Party]) -> list[dict[str, Any]]:
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


class Batch:
    """Rows to write for one chunk, collected while comparing, then written in bulk."""

    def __init__(self, observed_at: datetime, source: str) -> None:
        self.observed_at = observed_at
        self.source = source
        self.stats = WriteStats()
        self.jobs: list[Job] = []
        self.job_fields: set[str] = set()
        # Rows keyed by (job pk, task id[, domain]): a row changed twice is written once.
        self.new_tasks: dict[tuple[int, str], Task] = {}
        self.tasks: dict[tuple[int, str], Task] = {}
        self.task_fields: set[str] = set()
        self.new_parties: list[PartyStatus] = []
        self.parties: dict[tuple[int, str, str], PartyStatus] = {}
        self.party_fields: set[str] = set()
        self.new_endpoints: list[Endpoint] = []
        self.endpoints: list[Endpoint] = []
        self.endpoint_fields: set[str] = set()
        self.dead_endpoints: list[int] = []
        self.dead_tasks: list[int] = []  # a job's previous incarnation (parties, endpoints cascade)
        self.transitions: list[Transition] = []

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
            Task.objects.bulk_create(list(self.new_tasks.values()), batch_size=500)
        if self.tasks:
            Task.objects.bulk_update(
                list(self.tasks.values()), sorted(self.task_fields), batch_size=500
            )
        s.tasks_written += len(self.new_tasks) + len(self.tasks)
        if self.new_parties:
            PartyStatus.objects.bulk_create(self.new_parties, batch_size=500)
        if self.parties:
            PartyStatus.objects.bulk_update(
                list(self.parties.values()), sorted(self.party_fields), batch_size=500
            )
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


class JobView:
    """One locked job and its children, as loaded for the chunk. Rows not yet in the database
    are the ones with `_state.adding` (Django's own flag for unsaved instances)."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.tasks: dict[str, Task] = {}  # task id -> task
        self.parties: dict[str, dict[str, PartyStatus]] = {}  # task id -> domain -> party
        self.endpoints: dict[tuple[str, str], dict[str, Endpoint]] = {}  # (task, domain) -> port


@dataclass(frozen=True)
class Claim:
    """How the jobs of a chunk became known, and what the caller knows better than Kuscia."""

    job_source: str = Job.Source.DISCOVERED
    claim_source: bool = False  # overwrite the stored source with job_source
    tolerable: dict[str, bool | None] | None = None  # task id -> tolerable (QueryJob omits it)
