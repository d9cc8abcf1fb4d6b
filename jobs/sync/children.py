"""The tasks, parties and endpoints of one observed job: compared with the stored rows and
queued on the chunk's Batch (part of the one write path, called from apply)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from jobs.models import Endpoint, PartyStatus, Task, Transition
from jobs.sync.batch import Batch, JobView, kuscia_time, party_spec, set_field
from kuscia import types as kt

log = logging.getLogger(__name__)


def task_row(view: JobView, task_id: str, alias: str, pos: int) -> Task:
    task = view.tasks.get(task_id)
    if task is None:
        task = Task(job=view.job, task_id=task_id, alias=alias or task_id, position=pos, state="")
        view.tasks[task_id] = task
    return task


def touch_task(view: JobView, batch: Batch, task: Task, changed: set[str]) -> None:
    """Queue a task row: a new one is created whatever changed; a stored one is updated in the
    fields that changed."""
    key = (view.job.pk, task.task_id)
    if task._state.adding:
        batch.new_tasks[key] = task
    elif changed:
        batch.tasks[key] = task
        batch.task_fields.update(changed)


def apply_task_spec(
    view: JobView, batch: Batch, pos: int, spec: kt.TaskSpec, tolerable: bool | None
) -> None:
    task = task_row(view, spec.task_id, spec.alias, pos)
    changed: set[str] = set()
    set_field(task, "position", pos, changed)
    set_field(task, "alias", spec.alias or spec.task_id, changed)
    set_field(task, "app_image", spec.app_image, changed)
    set_field(task, "dependencies", list(spec.dependencies), changed)
    set_field(task, "priority", spec.priority, changed)
    set_field(task, "task_input_config", spec.task_input_config, changed)
    schedule = dataclasses.asdict(spec.schedule_config) if spec.schedule_config else None
    set_field(task, "schedule_config", schedule, changed)
    set_field(task, "party_spec", party_spec(spec.parties), changed)
    if tolerable is not None:  # QueryJob never returns it: keep what we know
        set_field(task, "tolerable", tolerable, changed)
    touch_task(view, batch, task, changed)
    known = view.parties.setdefault(task.task_id, {})
    for p in spec.parties:
        party = known.get(p.domain_id)
        if party is None:
            party = PartyStatus(task=task, domain_id=p.domain_id, role=p.role, state=kt.PENDING)
            known[p.domain_id] = party
            batch.new_parties.append(party)
        elif party.role != p.role and p.role:
            party.role = p.role
            touch_party(view, batch, task, party, {"role"})


def touch_party(
    view: JobView, batch: Batch, task: Task, party: PartyStatus, changed: set[str]
) -> None:
    if not changed or party._state.adding:
        return  # new rows are in batch.new_parties already
    batch.parties[(view.job.pk, task.task_id, party.domain_id)] = party
    batch.party_fields.update(changed)


def apply_task_status(view: JobView, batch: Batch, pos: int, ts: kt.TaskStatus, src: str) -> bool:
    job = view.job
    task = task_row(view, ts.task_id, ts.alias, pos if not job.spec_fetched else len(view.tasks))
    changed: set[str] = set()
    moved = False
    old = task.state
    if set_field(task, "state", ts.state, changed):
        moved = True
        batch.transition(
            job,
            Transition.Kind.TASK,
            old,
            ts.state,
            source=src,
            task_id=task.task_id,
            message=ts.err_msg,
            kuscia_time=kuscia_time(ts.state, ts.create_time, ts.start_time, ts.end_time),
        )
    set_field(task, "err_msg", ts.err_msg, changed)
    if set_field(task, "progress", ts.progress, changed):
        moved = True
    set_field(task, "create_time", ts.create_time, changed)
    set_field(task, "start_time", ts.start_time, changed)
    set_field(task, "end_time", ts.end_time, changed)
    if ts.alias and not task.alias:
        set_field(task, "alias", ts.alias, changed)
    touch_task(view, batch, task, changed)

    known = view.parties.setdefault(task.task_id, {})
    for ps in ts.parties:
        party = known.get(ps.domain_id)
        if party is None:
            party = PartyStatus(task=task, domain_id=ps.domain_id, state="")
            known[ps.domain_id] = party
            batch.new_parties.append(party)
        pchanged: set[str] = set()
        pold = party.state
        if set_field(party, "state", ps.state, pchanged):
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
        set_field(party, "err_msg", ps.err_msg, pchanged)
        touch_party(view, batch, task, party, pchanged)
        apply_endpoints(view, batch, task, party, ps.endpoints)
    return moved


def apply_endpoints(
    view: JobView,
    batch: Batch,
    task: Task,
    party: PartyStatus,
    endpoints: Sequence[kt.Endpoint],
) -> None:
    existing = view.endpoints.setdefault((task.task_id, party.domain_id), {})
    wanted = {e.port_name: e for e in endpoints}
    for port, e in wanted.items():
        row = existing.get(port)
        if row is None:
            row = Endpoint(party=party, port_name=port, scope=e.scope, endpoint=e.endpoint)
            existing[port] = row
            batch.new_endpoints.append(row)
            continue
        echanged: set[str] = set()
        set_field(row, "scope", e.scope, echanged)
        set_field(row, "endpoint", e.endpoint, echanged)
        if echanged:
            batch.endpoints.append(row)
            batch.endpoint_fields.update(echanged)
    for port in list(existing):
        if port not in wanted and existing[port].pk is not None:
            batch.dead_endpoints.append(existing.pop(port).pk)
