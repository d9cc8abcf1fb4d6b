"""The audited write paths of connections: changes made by admins, and live connection checks
(with the checks' rate limit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from audit.models import AuditRecord
from audit.records import who
from connections.models import Connection
from kuscia.check import CheckStep, first_failure

Outcome = AuditRecord.Outcome
Action = AuditRecord.Action
# Stored in English and translated when shown (dashboard/stored_texts.py).
CHECK_CRASH_HINT = gettext_noop(
    "The console failed while checking (its log says why); try the check again."
)
ALL_PASSED = gettext_noop("All steps passed.")
STOPS_AT = gettext_noop("Stops at %(step)s.")  # the step's name, translated too


def _finish(record: AuditRecord, *, outcome: str, **fields: Any) -> None:
    record.outcome = outcome
    record.finished_at = timezone.now()
    for name, value in fields.items():
        setattr(record, name, value)
    record.save()


def record_connection_change(
    *, user: Any, connection: Connection, action: str, changed: list[str], username: str = ""
) -> AuditRecord:
    """The audit row of a connection added, edited, enabled, disabled or removed (by an admin
    through connections.views, or on the command line with `username` naming who ran it), in
    the same transaction as the change. It names the fields that changed, never their values'
    files: paths are stored on the connection, secrets nowhere."""
    person = who(user)
    if username and person["user"] is None:
        person["username"] = username
    return AuditRecord.objects.create(
        **person,
        connection=connection,
        connection_name=connection.name,
        job_id="",
        action=action,
        request_summary={
            "url": connection.url,
            "protocol": connection.protocol,
            "mode": connection.mode,
            "enabled": connection.enabled,
            "changed": changed,
        },
        outcome=Outcome.OK,
        finished_at=timezone.now(),
    )


@dataclass(frozen=True)
class CheckSlot:
    """A live connection check let through (`record`, its audit row), or refused for the rate
    limit (`retry_after` seconds until the oldest counted check leaves the window)."""

    record: AuditRecord | None
    retry_after: int = 0


def begin_connection_check(
    *, user: Any, connection: Connection, limit: int, window: float
) -> CheckSlot:
    """Count `user`'s checks of `connection` in the last `window` seconds and, below `limit`,
    write this check's audit row: one step, under a lock of the connection's row, so parallel
    requests cannot all pass the count."""
    with transaction.atomic():
        Connection.objects.select_for_update().filter(pk=connection.pk).exists()
        now = timezone.now()
        recent = AuditRecord.objects.checks_since(
            user_id=user.pk, connection_id=connection.pk, since=now - timedelta(seconds=window)
        )
        if recent.count() >= limit:
            oldest = recent.order_by("created_at").values_list("created_at", flat=True).first()
            left = window - (now - oldest).total_seconds() if oldest else window
            return CheckSlot(None, max(1, int(left + 0.999)))
        record = AuditRecord.objects.create(
            **who(user),
            created_at=now,
            connection=connection,
            connection_name=connection.name,
            job_id="",
            action=Action.CONNECTION_CHECK,
            request_summary={"url": connection.url, "protocol": connection.protocol},
        )
    return CheckSlot(record)


def finish_connection_check(record: AuditRecord, steps: list[CheckStep] | None) -> None:
    """How the check ended: every step's status, and the failing step with its detail (the
    check reports facts such as names and dates, never a file's contents). None: it crashed."""
    if steps is None:
        _finish(record, outcome=Outcome.ERROR, error_kind="internal", hint=CHECK_CRASH_HINT)
        return
    failed = first_failure(steps)
    summary = {**record.request_summary, "steps": {s.name: s.status for s in steps}}
    if failed is None:
        _finish(record, outcome=Outcome.OK, request_summary=summary, note=ALL_PASSED)
        return
    _finish(
        record,
        outcome=Outcome.ERROR,
        request_summary=summary,
        error_kind=failed.name[:32],
        kuscia_message=failed.detail,
        hint=failed.hint,
        note=STOPS_AT % {"step": failed.name},
    )
