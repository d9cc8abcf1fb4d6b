"""The audited write path of connection changes made by admins."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from audit.models import AuditRecord
from audit.records import who
from connections.models import Connection

Outcome = AuditRecord.Outcome


def record_connection_change(
    *, user: Any, connection: Connection, action: str, changed: list[str]
) -> AuditRecord:
    """The audit row of a connection added, edited, enabled or disabled (by an admin, through
    connections.views, in the same transaction as the change). It names the fields that
    changed, never their values' files: paths are stored on the connection, secrets nowhere."""
    return AuditRecord.objects.create(
        **who(user),
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
