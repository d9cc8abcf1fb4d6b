"""The only code that changes anything in Kuscia: create, stop, cancel, suspend, restart,
approve/reject, delete (plus the local "forget" and "add by id").

Every service is keyword-only, writes one AuditRecord (who, when, connection, job, action,
reason, request, Kuscia's code and message), and re-queries the job at once through jobs.sync
(the only writer of job state). Each call carries a one-time key (the form's token): the audit
table's unique key makes a double submit or a retry find the first attempt instead of acting
twice.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import AuditRecord
from audit.records import who
from connections.models import Connection
from jobs import sync
from jobs.models import Job, Transition
from kuscia import types as kt
from kuscia.client import KusciaClient
from kuscia.errors import KusciaError
from kuscia.wire import spec_to_request

Action = AuditRecord.Action
Outcome = AuditRecord.Outcome

# §8.3: stop and cancel answer success on finished jobs but change nothing.
STOP_NO_EFFECT = frozenset({kt.SUCCEEDED, kt.CANCELLED, kt.APPROVAL_REJECT})
CANCEL_NO_EFFECT = frozenset({kt.SUCCEEDED, kt.CANCELLED, kt.APPROVAL_REJECT})

# Where each button is offered (the states in which Kuscia lets the action have an effect).
OFFERED_IN: dict[str, frozenset[str]] = {
    Action.STOP: frozenset({kt.AWAITING_APPROVAL, kt.PENDING, kt.RUNNING, kt.SUSPENDED}),
    Action.CANCEL: frozenset(
        {kt.AWAITING_APPROVAL, kt.PENDING, kt.RUNNING, kt.SUSPENDED, kt.FAILED}
    ),
    Action.SUSPEND: frozenset({kt.RUNNING}),
    Action.RESTART: kt.RESTARTABLE_JOB_STATES,
    Action.APPROVE: frozenset({kt.AWAITING_APPROVAL}),
    Action.REJECT: frozenset({kt.AWAITING_APPROVAL}),
}


@dataclass(frozen=True)
class ActionResult:
    record: AuditRecord
    job: Job | None
    duplicate: bool = False  # the key was used before: nothing was sent this time

    @property
    def ok(self) -> bool:
        return self.record.outcome in (Outcome.OK, Outcome.NO_EFFECT)


def offered_actions(job: Job) -> list[str]:
    """The actions a job-detail page offers for `job` (delete and forget by presence)."""
    if job.gone_at is not None:
        return [Action.FORGET]
    offered = [a for a, states in OFFERED_IN.items() if job.state in states]
    if job.state == kt.FAILED and job.end_time is None:  # tasks may still run: Stop stops them
        offered.insert(0, Action.STOP)
    return [*offered, Action.DELETE]


def client_for(connection: Connection) -> KusciaClient:
    return KusciaClient(connection.client_config())


# ---------------------------------------------------------------- audit bookkeeping


P = ParamSpec("P")
CRASH_HINT = (
    "The console failed while acting (its log says why). Kuscia may or may not have done it: "
    "check the job's state before trying again."
)
# The row the running service claimed (see _audited).
_claimed: contextvars.ContextVar[AuditRecord | None] = contextvars.ContextVar(
    "claimed", default=None
)


def _audited(service: Callable[P, ActionResult]) -> Callable[P, ActionResult]:
    """A claimed row never stays "In progress": if the service fails with anything but a Kuscia
    error (which it records itself), the row is finished as an internal error and the
    exception goes on to the server log."""

    @functools.wraps(service)
    def run(*args: P.args, **kwargs: P.kwargs) -> ActionResult:
        token = _claimed.set(None)
        try:
            return service(*args, **kwargs)
        except BaseException:  # also a worker's timeout (SystemExit) in the middle of a call
            record = _claimed.get()
            if record is not None and record.outcome == Outcome.PENDING:
                _finish(record, outcome=Outcome.ERROR, error_kind="internal", hint=CRASH_HINT)
            raise
        finally:
            _claimed.reset(token)

    return run


class KeySpent(Exception):
    """The one-time key was already used for another action or another job (`earlier`)."""

    def __init__(self, earlier: AuditRecord) -> None:
        super().__init__(f"key already used for {earlier.action} of {earlier.job_id}")
        self.earlier = earlier


def _claim(key: str, **fields: Any) -> tuple[AuditRecord, bool]:
    """Create the pending audit row for `key`; (existing row, False) if the key was used for
    this same action on this same job (a double submit or a retry). KeySpent if it was used
    for something else: that attempt is not this one."""
    if not key:
        raise ValueError("an action needs its one-time key")
    try:
        with transaction.atomic():
            record = AuditRecord.objects.create(idempotency_key=key, **fields)
    except IntegrityError:
        earlier = AuditRecord.objects.by_key(key).get()
        same = ("action", "connection_name", "job_id")
        if any(getattr(earlier, name) != fields[name] for name in same):
            raise KeySpent(earlier) from None
        return earlier, False
    _claimed.set(record)
    return record, True


def _finish(record: AuditRecord, *, outcome: str, **fields: Any) -> None:
    record.outcome = outcome
    record.finished_at = timezone.now()
    for name, value in fields.items():
        setattr(record, name, value)
    record.save()


def _fail(record: AuditRecord, exc: KusciaError, **fields: Any) -> None:
    _finish(
        record,
        outcome=Outcome.ERROR,
        kuscia_code=exc.code,
        kuscia_message=exc.message,
        error_kind=exc.kind,
        hint=exc.hint,
        **fields,
    )


def _refresh(job: Job, client: KusciaClient) -> tuple[Job, str]:
    """Re-query `job` now; a failure is a note, not a failure of the action."""
    try:
        return sync.refresh_job(job, source=Transition.Source.ACTION, client=client), ""
    except KusciaError as exc:
        return job, f"Could not re-query the job: {exc.message}"


# ---------------------------------------------------------------- create


@_audited
def create_job(*, user: Any, connection: Connection, spec: kt.JobSpec, key: str) -> ActionResult:
    request = spec_to_request(spec)
    record, fresh = _claim(
        key,
        **who(user),
        connection=connection,
        connection_name=connection.name,
        job_id=spec.job_id,
        action=Action.CREATE,
        request_summary=request,
    )
    if not fresh:
        return ActionResult(record=record, job=_job_of(record), duplicate=True)
    try:
        with client_for(connection) as client:
            client.create_job(spec)
            try:
                detail: kt.JobDetail | None = client.query_job(spec.job_id)
            except KusciaError:
                detail = None
    except KusciaError as exc:
        _fail(record, exc)
        return ActionResult(record=record, job=None)
    job = sync.record_created(connection, spec, detail)
    _finish(
        record,
        outcome=Outcome.OK,
        kuscia_code=0,
        kuscia_message="success",
        state_after=job.state,
    )
    return ActionResult(record=record, job=job)


def previous_attempt(key: str) -> ActionResult | None:
    """The earlier attempt made with this one-time key (a double submit or a retry), if any."""
    record = AuditRecord.objects.by_key(key).first() if key else None
    if record is None:
        return None
    return ActionResult(record=record, job=_job_of(record), duplicate=True)


def _job_of(record: AuditRecord) -> Job | None:
    if record.connection_id is None:
        return None
    return Job.objects.of_record(record.connection_id, record.job_id).first()


# ---------------------------------------------------------------- acting on one job


@_audited
def _act(
    *,
    action: str,
    user: Any,
    job: Job,
    key: str,
    reason: str,
    request: dict[str, Any],
    call: Callable[[KusciaClient], object],
    no_effect: Callable[[kt.JobDetail], str] | None = None,
) -> ActionResult:
    record, fresh = _claim(
        key,
        **who(user),
        connection=job.connection,
        connection_name=job.connection.name,
        job_id=job.job_id,
        action=action,
        reason=reason,
        request_summary=request,
        state_before=job.state,
    )
    if not fresh:
        return ActionResult(record=record, job=job, duplicate=True)
    note = ""
    try:
        client = client_for(job.connection)
    except KusciaError as exc:
        _fail(record, exc)
        return ActionResult(record=record, job=job)
    with client:
        try:
            if no_effect is not None:
                before = client.query_job(job.job_id)
                record.state_before = before.status.state
                note = no_effect(before)
            call(client)
        except KusciaError as exc:
            _fail(record, exc)
            refreshed, _ = _refresh(job, client)
            return ActionResult(record=record, job=refreshed)
        refreshed, refresh_note = _refresh(job, client)
    _finish(
        record,
        outcome=Outcome.NO_EFFECT if note else Outcome.OK,
        kuscia_code=0,
        kuscia_message="success",
        note=" ".join(n for n in (note, refresh_note) if n),
        state_after=refreshed.state,
    )
    return ActionResult(record=record, job=refreshed)


def _stop_no_effect(detail: kt.JobDetail) -> str:
    state = detail.status.state
    if state in STOP_NO_EFFECT or (state == kt.FAILED and detail.status.end_time is not None):
        return f"No effect: the job had already finished ({state}). Kuscia answers success anyway."
    return ""


def _cancel_no_effect(detail: kt.JobDetail) -> str:
    state = detail.status.state
    if state in CANCEL_NO_EFFECT:
        return f"No effect: the job had already finished ({state}). Kuscia answers success anyway."
    return ""


def _approve_no_effect(detail: kt.JobDetail) -> str:
    state = detail.status.state
    if state != kt.AWAITING_APPROVAL:
        return f"No effect: the job was not awaiting approval ({state})."
    return ""


def stop_job(*, user: Any, job: Job, key: str, reason: str = "") -> ActionResult:
    return _act(
        action=Action.STOP,
        user=user,
        job=job,
        key=key,
        reason=reason,
        request={"job_id": job.job_id, "reason": reason},
        call=lambda c: c.stop_job(job.job_id, reason=reason),
        no_effect=_stop_no_effect,
    )


def cancel_job(*, user: Any, job: Job, key: str, reason: str = "") -> ActionResult:
    return _act(
        action=Action.CANCEL,
        user=user,
        job=job,
        key=key,
        reason=reason,
        request={"job_id": job.job_id, "reason": reason},
        call=lambda c: c.cancel_job(job.job_id, reason=reason),
        no_effect=_cancel_no_effect,
    )


def suspend_job(*, user: Any, job: Job, key: str, reason: str = "") -> ActionResult:
    return _act(
        action=Action.SUSPEND,
        user=user,
        job=job,
        key=key,
        reason=reason,
        request={"job_id": job.job_id, "reason": reason},
        call=lambda c: c.suspend_job(job.job_id, reason=reason),
    )


def restart_job(*, user: Any, job: Job, key: str, reason: str = "") -> ActionResult:
    return _act(
        action=Action.RESTART,
        user=user,
        job=job,
        key=key,
        reason=reason,
        request={"job_id": job.job_id, "reason": reason},
        call=lambda c: c.restart_job(job.job_id, reason=reason),
    )


def approve_job(*, user: Any, job: Job, key: str, accept: bool, reason: str = "") -> ActionResult:
    result = "APPROVE_RESULT_ACCEPT" if accept else "APPROVE_RESULT_REJECT"
    return _act(
        action=Action.APPROVE if accept else Action.REJECT,
        user=user,
        job=job,
        key=key,
        reason=reason,
        request={"job_id": job.job_id, "result": result, "reason": reason},
        call=lambda c: c.approve_job(job.job_id, accept, reason=reason),
        no_effect=_approve_no_effect,
    )


@_audited
def delete_job(*, user: Any, job: Job, key: str, reason: str = "") -> ActionResult:
    """Delete in Kuscia; the console keeps the job's history, marked deleted."""
    record, fresh = _claim(
        key,
        **who(user),
        connection=job.connection,
        connection_name=job.connection.name,
        job_id=job.job_id,
        action=Action.DELETE,
        reason=reason,
        request_summary={"job_id": job.job_id},
        state_before=job.state,
    )
    if not fresh:
        return ActionResult(record=record, job=job, duplicate=True)
    try:
        with client_for(job.connection) as client:
            client.delete_job(job.job_id)
    except KusciaError as exc:
        if exc.kind == "not_found":
            # Kuscia no longer has it: the outcome the user wanted; keep the history.
            sync.mark_gone(job, reason="deleted-here")
            job.refresh_from_db()
            _finish(
                record,
                outcome=Outcome.NO_EFFECT,
                kuscia_code=exc.code,
                kuscia_message=exc.message,
                note="Kuscia no longer had this job; it is marked deleted here.",
                state_after="deleted",
            )
            return ActionResult(record=record, job=job)
        _fail(record, exc)
        return ActionResult(record=record, job=job)
    sync.mark_gone(job, reason="deleted-here")
    job.refresh_from_db()
    _finish(
        record, outcome=Outcome.OK, kuscia_code=0, kuscia_message="success", state_after="deleted"
    )
    return ActionResult(record=record, job=job)


@_audited
def forget_job(*, user: Any, job: Job, key: str, reason: str = "") -> ActionResult:
    """Remove a job Kuscia no longer has from the local database (history included)."""
    record, fresh = _claim(
        key,
        **who(user),
        connection=job.connection,
        connection_name=job.connection.name,
        job_id=job.job_id,
        action=Action.FORGET,
        reason=reason,
        request_summary={"job_id": job.job_id, "local": True},
        state_before=job.state,
    )
    if not fresh:
        return ActionResult(record=record, job=None, duplicate=True)
    if job.gone_at is None:
        _finish(
            record,
            outcome=Outcome.ERROR,
            error_kind="state_precondition",
            note="Only a job deleted from Kuscia can be forgotten; delete it first.",
        )
        return ActionResult(record=record, job=job)
    sync.forget_job(job)
    _finish(record, outcome=Outcome.OK, note="Removed from the console's database.")
    return ActionResult(record=record, job=None)


@_audited
def track_job(*, user: Any, connection: Connection, job_id: str, key: str) -> ActionResult:
    """Add an existing Kuscia job by id (QueryJob, then keep it in sync)."""
    record, fresh = _claim(
        key,
        **who(user),
        connection=connection,
        connection_name=connection.name,
        job_id=job_id,
        action=Action.TRACK,
        request_summary={"job_id": job_id},
    )
    if not fresh:
        return ActionResult(record=record, job=_job_of(record), duplicate=True)
    try:
        job = sync.track_job(connection, job_id, source=Job.Source.ADDED)
    except KusciaError as exc:
        _fail(record, exc)
        return ActionResult(record=record, job=None)
    _finish(
        record, outcome=Outcome.OK, kuscia_code=0, kuscia_message="success", state_after=job.state
    )
    return ActionResult(record=record, job=job)


def job_for_action(*, connection_name: str, job_id: str) -> Job | None:
    return Job.objects.for_detail(connection_name, job_id).first()


# ---------------------------------------------------------------- connections
