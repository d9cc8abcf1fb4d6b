"""The only code that changes domain data and grants in Kuscia: register, edit and delete a
DomainData; grant it to a domain and take the grant back.

Each service is keyword-only, writes one AuditRecord (who, when, connection, the data id in
`job_id`, the action, the request sent, Kuscia's code and message) and re-reads the object at
once through network.sync (the inventory's one write path). A one-time key (the form's token)
makes a double submit find the first attempt instead of acting twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from audit.models import AuditRecord
from audit.records import who
from connections.models import Connection
from jobs.sync.track import client_for
from kuscia import types as kt
from kuscia import wire_network as wn
from kuscia.client import KusciaClient
from kuscia.errors import KusciaAPIError, KusciaError
from network import sync
from network.models import DataItem, GrantItem

log = logging.getLogger(__name__)
# Hints stored in English on the audit row and translated where shown (the audit page's
# `stored` filter, views_data._said).
SERVER_LOG_HINT = gettext_noop("See the server log.")
OTHER_ID_HINT = gettext_noop("Choose another id, or edit the existing data instead.")
Outcome = AuditRecord.Outcome

# Audit actions (AuditRecord.action; ≤ 16 characters).
DATA_CREATE = "data_create"
DATA_UPDATE = "data_update"
DATA_DELETE = "data_delete"
GRANT_CREATE = "grant_create"
GRANT_DELETE = "grant_delete"


@dataclass(frozen=True)
class DataResult:
    record: AuditRecord
    domaindata_id: str = ""
    duplicate: bool = False

    @property
    def ok(self) -> bool:
        return self.record.outcome == Outcome.OK


class KeySpent(Exception):
    """The form's one-time key was used for another action or object."""


def _claim(key: str, **fields: Any) -> tuple[AuditRecord, bool]:
    if not key:
        raise ValueError("a data action needs its one-time key")
    try:
        with transaction.atomic():
            return AuditRecord.objects.create(idempotency_key=key, **fields), True
    except IntegrityError:
        earlier = AuditRecord.objects.by_key(key).get()
        # (the data id is not compared: a registration learns its id from Kuscia)
        if (earlier.action, earlier.connection_name) != (
            fields["action"],
            fields["connection_name"],
        ):
            raise KeySpent(key) from None
        return earlier, False


def _finish(record: AuditRecord, outcome: str, **fields: Any) -> None:
    record.outcome = outcome
    record.finished_at = timezone.now()
    for name, value in fields.items():
        setattr(record, name, value)
    record.save()


def _run(
    *,
    user: Any,
    connection: Connection,
    action: str,
    object_id: str,
    key: str,
    request: dict[str, Any],
    call: Callable[[KusciaClient], str],
) -> DataResult:
    """Claim the audit row, call Kuscia, finish the row with Kuscia's answer. A failure that is
    not Kuscia's still finishes the row (as internal) before it goes on to the log."""
    record, fresh = _claim(
        key,
        **who(user),
        connection=connection,
        connection_name=connection.name,
        job_id=object_id[:63],
        action=action,
        request_summary=request,
    )
    if not fresh:
        return DataResult(record, record.job_id, duplicate=True)
    try:
        with client_for(connection) as client:
            done_id = call(client)
    except KusciaError as exc:
        _finish(
            record,
            Outcome.ERROR,
            kuscia_code=exc.code,
            kuscia_message=exc.message,
            error_kind=exc.kind,
            hint=exc.hint,
        )
        return DataResult(record, object_id)
    except BaseException:
        _finish(record, Outcome.ERROR, error_kind="internal", hint=SERVER_LOG_HINT)
        raise
    _finish(record, Outcome.OK, kuscia_code=0, kuscia_message="success", job_id=done_id[:63])
    return DataResult(record, done_id)


def _reread(connection: Connection, client: KusciaClient, domain_id: str, data_id: str) -> None:
    """Store the item as Kuscia now has it (a failure to read is logged, not an error)."""
    try:
        item = client.query_domaindata(domain_id, data_id)
    except KusciaError as exc:
        log.warning("could not re-read %s/%s: %s", domain_id, data_id, exc)
        return
    sync.apply_domaindata(connection, domain_id, [item], observed_at=timezone.now(), complete=False)
    sync.refresh_facets(connection)


# ---------------------------------------------------------------------- domain data


def register_data(
    *, user: Any, connection: Connection, spec: kt.DomainDataSpec, key: str
) -> DataResult:
    """domaindata/create. Kuscia silently overwrites an existing id (an upsert), so an
    explicit id is looked up first and an existing one refused."""

    def call(client: KusciaClient) -> str:
        if spec.domaindata_id:
            try:
                client.query_domaindata(spec.domain_id, spec.domaindata_id)
            except KusciaError as exc:
                if exc.kind != "not_found":
                    raise
            else:
                raise KusciaAPIError(
                    _("%(id)s already exists in %(domain)s: Kuscia would overwrite it.")
                    % {"id": spec.domaindata_id, "domain": spec.domain_id},
                    kind="already_exists",
                    route="/api/v1/domaindata/query",
                    hint=OTHER_ID_HINT,
                )
        new_id = client.create_domaindata(spec)
        _reread(connection, client, spec.domain_id, new_id)
        return new_id

    return _run(
        user=user,
        connection=connection,
        action=DATA_CREATE,
        object_id=spec.domaindata_id or spec.name or spec.relative_uri,
        key=key,
        request=wn.domaindata_request(spec),
        call=call,
    )


def update_data(*, user: Any, item: DataItem, spec: kt.DomainDataSpec, key: str) -> DataResult:
    def call(client: KusciaClient) -> str:
        client.update_domaindata(spec)
        _reread(item.connection, client, item.domain_id, item.domaindata_id)
        return item.domaindata_id

    return _run(
        user=user,
        connection=item.connection,
        action=DATA_UPDATE,
        object_id=item.domaindata_id,
        key=key,
        request=wn.domaindata_request(spec),
        call=call,
    )


def delete_data(*, user: Any, item: DataItem, key: str) -> DataResult:
    """domaindata/delete (the DomainData object; the file stays). Marked gone here at once."""

    def call(client: KusciaClient) -> str:
        # already gone from Kuscia: mark it so here too
        try:
            client.delete_domaindata(item.domain_id, item.domaindata_id)
        except KusciaError as exc:
            if exc.kind != "not_found":
                raise
        sync.mark_data_gone(
            item.connection, item.domain_id, item.domaindata_id, observed_at=timezone.now()
        )
        return item.domaindata_id

    return _run(
        user=user,
        connection=item.connection,
        action=DATA_DELETE,
        object_id=item.domaindata_id,
        key=key,
        request={"domain_id": item.domain_id, "domaindata_id": item.domaindata_id},
        call=call,
    )


# ---------------------------------------------------------------------- grants


def grant_data(*, user: Any, item: DataItem, spec: kt.DomainDataGrantSpec, key: str) -> DataResult:
    def call(client: KusciaClient) -> str:
        grant_id = client.create_grant(spec)
        try:
            grant = client.query_grant(item.domain_id, grant_id)
        except KusciaError as exc:
            log.warning("could not re-read grant %s: %s", grant_id, exc)
        else:
            sync.apply_grants(
                item.connection,
                item.domain_id,
                [grant],
                observed_at=timezone.now(),
                complete=False,
            )
        return item.domaindata_id

    return _run(
        user=user,
        connection=item.connection,
        action=GRANT_CREATE,
        object_id=item.domaindata_id,
        key=key,
        request=wn.grant_request(spec),
        call=call,
    )


def revoke_grant(*, user: Any, grant: GrantItem, key: str) -> DataResult:
    def call(client: KusciaClient) -> str:
        try:
            client.delete_grant(grant.domain_id, grant.grant_id)
        except KusciaError as exc:
            if exc.kind != "not_found":
                raise
        sync.mark_grant_gone(
            grant.connection, grant.domain_id, grant.grant_id, observed_at=timezone.now()
        )
        return grant.domaindata_id

    return _run(
        user=user,
        connection=grant.connection,
        action=GRANT_DELETE,
        object_id=grant.domaindata_id,
        key=key,
        request={"domain_id": grant.domain_id, "domaindatagrant_id": grant.grant_id},
        call=call,
    )
