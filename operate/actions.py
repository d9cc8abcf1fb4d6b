"""The only code that changes anything in Kuscia: create, stop, cancel, suspend, restart,
approve/reject, delete (plus the local "forget" and "add by id").

Every service is keyword-only and runs as one audited attempt (`attempt`): one AuditRecord
(who, when, connection, job, action, reason, request, Kuscia's code and message), finished
whatever happens. It re-queries the job at once through jobs.sync (the only writer of job
state). Each call carries a one-time key (the form's token): the audit table's unique key
makes a double submit or a retry find the first attempt instead of acting twice.

What Kuscia can be asked to do to a job from its page (stop, cancel, suspend, restart,
approve, reject) is one table, KUSCIA_ACTIONS: the client call, the states its button is
offered in, and when Kuscia would answer success without changing anything. One service,
act_on_job, runs any of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

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


@dataclass(frozen=True)
class ActionResult:
    record: AuditRecord
    job: Job | None
    duplicate: bool = False  # the key was used before: nothing was sent this time

    @property
    def ok(self) -> bool:
        return self.record.outcome in (Outcome.OK, Outcome.NO_EFFECT)


def client_for(connection: Connection) -> KusciaClient:
    return KusciaClient(connection.client_config())


def job_for_action(*, connection_name: str, job_id: str) -> Job | None:
    return Job.objects.for_detail(connection_name, job_id).first()


# ---------------------------------------------------------------- the audited attempt


# Notes and hints are stored in English and translated when shown (dashboard/stored_texts.py).
CRASH_HINT = gettext_noop(
    "The console failed while acting (its log says why). Kuscia may or may not have done it: "
    "check the job's state before trying again."
)
ALREADY_FINISHED = gettext_noop(
    "No effect: the job had already finished (%(state)s). Kuscia answers success anyway."
)
NOT_AWAITING_APPROVAL = gettext_noop("No effect: the job was not awaiting approval (%(state)s).")
REQUERY_FAILED = gettext_noop("Could not re-query the job: %(message)s")
NOT_IN_KUSCIA = gettext_noop("Kuscia no longer had this job; it is marked deleted here.")
DELETE_FIRST = gettext_noop("Only a job deleted from Kuscia can be forgotten; delete it first.")
FORGOTTEN = gettext_noop("Removed from the console's database.")


class KeySpent(Exception):
    """The one-time key was already used for another action or another job (`earlier`)."""

    def __init__(self, earlier: AuditRecord) -> None:
        super().__init__(f"key already used for {earlier.action} of {earlier.job_id}")
        self.earlier = earlier


class Attempt:
    """The audit row of one attempt, claimed by `attempt`; the service finishes it once."""

    def __init__(self, record: AuditRecord, *, duplicate: bool = False) -> None:
        self.record = record
        self.duplicate = duplicate  # an earlier attempt's row: report it, do nothing
        self.finished = False

    def finish(self, outcome: str, **fields: Any) -> None:
        record = self.record
        record.outcome = outcome
        record.finished_at = timezone.now()
        for name, value in fields.items():
            setattr(record, name, value)
        record.save()
        self.finished = True

    def succeeded(self, *, note: str = "", no_effect: bool = False, **fields: Any) -> None:
        """Kuscia answered success (`no_effect`: but changed nothing, `note` says why)."""
        outcome = Outcome.NO_EFFECT if no_effect else Outcome.OK
        self.finish(outcome, kuscia_code=0, kuscia_message="success", note=note, **fields)

    def failed(self, exc: KusciaError) -> None:
        """Kuscia (or the way to it) refused: its kind, code, message and hint are kept."""
        self.finish(
            Outcome.ERROR,
            kuscia_code=exc.code,
            kuscia_message=exc.message,
            error_kind=exc.kind,
            hint=exc.hint,
        )

    def result(self, job: Job | None) -> ActionResult:
        return ActionResult(record=self.record, job=job, duplicate=self.duplicate)


@contextmanager
def attempt(
    key: str,
    *,
    user: Any,
    action: str,
    connection: Connection,
    job_id: str,
    request: dict[str, Any],
    **fields: Any,
) -> Iterator[Attempt]:
    """The audit row of one attempt, claimed under the one-time `key`.

    A key used before for this same action on this same job (a double submit, a retry) gives
    the earlier row with `duplicate` set: the service returns it and does nothing. A key used
    for anything else raises KeySpent. A claimed row never stays "In progress": if the body
    fails before finishing it (a bug, or a worker's time limit, SystemExit, in the middle of a
    call), it is finished as an internal error and the exception goes on to the server log.
    """
    claimed = _claim(
        key,
        **who(user),
        action=action,
        connection=connection,
        connection_name=connection.name,
        job_id=job_id,
        request_summary=request,
        **fields,
    )
    try:
        yield claimed
    except BaseException:
        if not (claimed.duplicate or claimed.finished):
            claimed.finish(Outcome.ERROR, error_kind="internal", hint=CRASH_HINT)
        raise


def _claim(key: str, **fields: Any) -> Attempt:
    if not key:
        raise ValueError("an action needs its one-time key")
    try:
        with transaction.atomic():
            return Attempt(AuditRecord.objects.create(idempotency_key=key, **fields))
    except IntegrityError:
        earlier = AuditRecord.objects.by_key(key).get()
    if any(
        getattr(earlier, name) != fields[name] for name in ("action", "connection_name", "job_id")
    ):
        raise KeySpent(earlier)
    return Attempt(earlier, duplicate=True)


def _job_attempt(
    key: str, *, user: Any, job: Job, action: str, **fields: Any
) -> AbstractContextManager[Attempt]:
    """The attempt of an action on a job the console has (its state before is recorded)."""
    return attempt(
        key,
        user=user,
        action=action,
        connection=job.connection,
        job_id=job.job_id,
        state_before=job.state,
        **fields,
    )


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


# ---------------------------------------------------------------- what Kuscia can do to a job


@dataclass(frozen=True)
class KusciaAction:
    """Something Kuscia can be asked to do to a job: one button on the job page."""

    call: Callable[[KusciaClient, str, str], object]  # (client, job_id, reason)
    offered_in: frozenset[str]  # the job states in which it can have an effect
    # Why Kuscia would answer success but change nothing ("" when it would act), judged on
    # the job as Kuscia has it just before the call. None: the job is not queried first.
    no_effect: Callable[[kt.JobDetail], str] | None = None
    request: dict[str, str] = field(default_factory=dict)  # audited besides job_id and reason


FINISHED = frozenset({kt.SUCCEEDED, kt.CANCELLED, kt.APPROVAL_REJECT})
UNFINISHED = frozenset({kt.AWAITING_APPROVAL, kt.PENDING, kt.RUNNING, kt.SUSPENDED})


def _already_finished(state: str) -> str:
    return ALREADY_FINISHED % {"state": state}


def _cancel_no_effect(detail: kt.JobDetail) -> str:
    """§8.3: cancel answers success on a finished job but changes nothing."""
    state = detail.status.state
    return _already_finished(state) if state in FINISHED else ""


def _stop_no_effect(detail: kt.JobDetail) -> str:
    """Stop too, and also on a Failed job whose tasks have all ended."""
    state = detail.status.state
    ended = state == kt.FAILED and detail.status.end_time is not None
    return _already_finished(state) if state in FINISHED or ended else ""


def _approve_no_effect(detail: kt.JobDetail) -> str:
    state = detail.status.state
    if state != kt.AWAITING_APPROVAL:
        return NOT_AWAITING_APPROVAL % {"state": state}
    return ""


def _approve(accept: bool) -> Callable[[KusciaClient, str, str], object]:
    return lambda client, job_id, reason: client.approve_job(job_id, accept, reason=reason)


# In the order the job page shows the buttons.
KUSCIA_ACTIONS: dict[str, KusciaAction] = {
    Action.STOP: KusciaAction(KusciaClient.stop_job, UNFINISHED, _stop_no_effect),
    Action.CANCEL: KusciaAction(
        KusciaClient.cancel_job, UNFINISHED | {kt.FAILED}, _cancel_no_effect
    ),
    Action.SUSPEND: KusciaAction(KusciaClient.suspend_job, frozenset({kt.RUNNING})),
    Action.RESTART: KusciaAction(KusciaClient.restart_job, kt.RESTARTABLE_JOB_STATES),
    Action.APPROVE: KusciaAction(
        _approve(True),
        frozenset({kt.AWAITING_APPROVAL}),
        _approve_no_effect,
        request={"result": "APPROVE_RESULT_ACCEPT"},
    ),
    Action.REJECT: KusciaAction(
        _approve(False),
        frozenset({kt.AWAITING_APPROVAL}),
        _approve_no_effect,
        request={"result": "APPROVE_RESULT_REJECT"},
    ),
}


def offered_actions(job: Job) -> list[str]:
    """The actions a job-detail page offers for `job` (delete and forget by presence)."""
    if job.gone_at is not None:
        return [Action.FORGET]
    offered = [name for name, a in KUSCIA_ACTIONS.items() if job.state in a.offered_in]
    if job.state == kt.FAILED and job.end_time is None:  # tasks may still run: Stop stops them
        offered.insert(0, Action.STOP)
    return [*offered, Action.DELETE]


# ---------------------------------------------------------------- the services


def create_job(*, user: Any, connection: Connection, spec: kt.JobSpec, key: str) -> ActionResult:
    with attempt(
        key,
        user=user,
        action=Action.CREATE,
        connection=connection,
        job_id=spec.job_id,
        request=spec_to_request(spec),
    ) as done:
        if done.duplicate:
            return done.result(_job_of(done.record))
        try:
            with client_for(connection) as client:
                client.create_job(spec)
                try:
                    detail: kt.JobDetail | None = client.query_job(spec.job_id)
                except KusciaError:
                    detail = None
        except KusciaError as exc:
            done.failed(exc)
            return done.result(None)
        job = sync.record_created(connection, spec, detail)
        done.succeeded(state_after=job.state)
        return done.result(job)


def _refresh(job: Job, client: KusciaClient) -> tuple[Job, str]:
    """Re-query `job` now; a failure is a note, not a failure of the action."""
    try:
        return sync.refresh_job(job, source=Transition.Source.ACTION, client=client), ""
    except KusciaError as exc:
        return job, REQUERY_FAILED % {"message": exc.message}


def act_on_job(*, action: str, user: Any, job: Job, key: str, reason: str = "") -> ActionResult:
    """Ask Kuscia to do `action` (a key of KUSCIA_ACTIONS) to `job`, then re-query the job."""
    kuscia_action = KUSCIA_ACTIONS[action]
    request = {"job_id": job.job_id, **kuscia_action.request, "reason": reason}
    with _job_attempt(
        key, user=user, job=job, action=action, reason=reason, request=request
    ) as done:
        if done.duplicate:
            return done.result(job)
        try:
            client = client_for(job.connection)
        except KusciaError as exc:  # the connection's settings are unusable
            done.failed(exc)
            return done.result(job)
        with client:
            note = ""
            try:
                if kuscia_action.no_effect is not None:
                    before = client.query_job(job.job_id)
                    done.record.state_before = before.status.state
                    note = kuscia_action.no_effect(before)
                kuscia_action.call(client, job.job_id, reason)
            except KusciaError as exc:
                done.failed(exc)
                return done.result(_refresh(job, client)[0])
            refreshed, refresh_note = _refresh(job, client)
        done.succeeded(
            no_effect=bool(note),
            note="\n".join(n for n in (note, refresh_note) if n),  # one message a line
            state_after=refreshed.state,
        )
        return done.result(refreshed)


def delete_job(*, user: Any, job: Job, key: str, reason: str = "") -> ActionResult:
    """Delete in Kuscia; the console keeps the job's history, marked deleted."""
    request = {"job_id": job.job_id}
    with _job_attempt(
        key, user=user, job=job, action=Action.DELETE, reason=reason, request=request
    ) as done:
        if done.duplicate:
            return done.result(job)
        try:
            with client_for(job.connection) as client:
                client.delete_job(job.job_id)
        except KusciaError as exc:
            if exc.kind != "not_found":
                done.failed(exc)
                return done.result(job)
            # Kuscia no longer has it: the outcome the user wanted; keep the history.
            _mark_deleted(job)
            done.finish(
                Outcome.NO_EFFECT,
                kuscia_code=exc.code,
                kuscia_message=exc.message,
                note=NOT_IN_KUSCIA,
                state_after="deleted",
            )
            return done.result(job)
        _mark_deleted(job)
        done.succeeded(state_after="deleted")
        return done.result(job)


def _mark_deleted(job: Job) -> None:
    sync.mark_gone(job, reason="deleted-here")
    job.refresh_from_db()


def forget_job(*, user: Any, job: Job, key: str, reason: str = "") -> ActionResult:
    """Remove a job Kuscia no longer has from the local database (history included)."""
    request = {"job_id": job.job_id, "local": True}
    with _job_attempt(
        key, user=user, job=job, action=Action.FORGET, reason=reason, request=request
    ) as done:
        if done.duplicate:
            return done.result(None)
        if job.gone_at is None:
            done.finish(
                Outcome.ERROR,
                error_kind="state_precondition",
                note=DELETE_FIRST,
            )
            return done.result(job)
        sync.forget_job(job)
        done.finish(Outcome.OK, note=FORGOTTEN)
        return done.result(None)


def track_job(*, user: Any, connection: Connection, job_id: str, key: str) -> ActionResult:
    """Add an existing Kuscia job by id (QueryJob, then keep it in sync)."""
    with attempt(
        key,
        user=user,
        action=Action.TRACK,
        connection=connection,
        job_id=job_id,
        request={"job_id": job_id},
    ) as done:
        if done.duplicate:
            return done.result(_job_of(done.record))
        try:
            job = sync.track_job(connection, job_id, source=Job.Source.ADDED)
        except KusciaError as exc:
            done.failed(exc)
            return done.result(None)
        done.succeeded(state_after=job.state)
        return done.result(job)
