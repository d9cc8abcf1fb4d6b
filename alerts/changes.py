"""The audited write path of what people change in the alerts pages (channels and rules by
admins, "notify me" by anyone) and of what the provisioning file changes.

Each change and its audit record are written in one transaction. Audit rows name the fields
that changed, never their values for URLs and secrets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts import incidents
from alerts.messages import deployment_language
from alerts.models import Channel, Delivery, Rule, Subscription
from alerts.secrets import seal, unseal, url_hint
from audit.models import AuditRecord
from audit.records import who
from connections.models import Connection
from jobs.models import Job

Action = AuditRecord.Action


def _record(
    user: Any,
    action: str,
    summary: dict[str, Any],
    *,
    connection: Connection | None = None,
    job_id: str = "",
) -> AuditRecord:
    return AuditRecord.objects.create(
        **who(user),
        connection=connection,
        connection_name=connection.name if connection is not None else "",
        job_id=job_id,
        action=action,
        request_summary=summary,
        outcome=AuditRecord.Outcome.OK,
        finished_at=timezone.now(),
    )


@dataclass(frozen=True)
class ChannelInput:
    name: str
    kind: str
    target: str | None  # None: keep the stored URL / addresses
    secret: str | None  # None: keep; "": none
    enabled: bool


def save_channel(*, user: Any, channel: Channel | None, data: ChannelInput) -> Channel:
    now = timezone.now()
    with transaction.atomic():
        ch = channel if channel is not None else Channel(created_at=now)
        changed = [n for n in ("name", "kind", "enabled") if getattr(ch, n) != getattr(data, n)]
        ch.name, ch.kind, ch.enabled = data.name, data.kind, data.enabled
        if data.target is not None and (
            not ch.target_encrypted or _differs(ch.target_encrypted, data.target)
        ):
            ch.target_encrypted = seal(data.target)
            ch.target_hint = (
                data.target if data.kind == Channel.Kind.EMAIL else url_hint(data.target)
            )
            changed.append("target")
        if data.secret is not None and _differs(ch.secret_encrypted, data.secret):
            ch.secret_encrypted = seal(data.secret)
            changed.append("secret")
        ch.updated_at = now
        ch.save()
        action = Action.CHANNEL_ADD if channel is None else Action.CHANNEL_EDIT
        _record(user, action, {"channel": ch.name, "kind": ch.kind, "changed": changed})
    return ch


def _differs(sealed: str, value: str) -> bool:
    try:
        return unseal(sealed) != value
    except Exception:  # unreadable (secret key changed): replace it
        return True


def delete_channel(*, user: Any, channel: Channel) -> None:
    with transaction.atomic():
        summary = {"channel": channel.name, "kind": channel.kind}
        channel.delete()
        _record(user, Action.CHANNEL_DELETE, summary)


def test_channel(*, user: Any, channel: Channel) -> Delivery:
    with transaction.atomic():
        delivery = incidents.queue_test(channel)
        _record(user, Action.CHANNEL_TEST, {"channel": channel.name, "kind": channel.kind})
    return delivery


@dataclass(frozen=True)
class RuleInput:
    name: str
    kind: str
    minutes: int
    connection: Connection | None
    party: str
    initiator: str
    channels: list[Channel]
    enabled: bool


def save_rule(*, user: Any, rule: Rule | None, data: RuleInput) -> Rule:
    now = timezone.now()
    with transaction.atomic():
        r = rule if rule is not None else Rule(created_at=now)
        before = {c.pk for c in r.channels.all()} if rule is not None else set()
        changed = [
            n
            for n in ("name", "kind", "minutes", "party", "initiator", "enabled")
            if getattr(r, n) != getattr(data, n)
        ]
        connection_id = data.connection.pk if data.connection is not None else None
        if r.connection_id != connection_id:
            changed.append("connection")
        if rule is not None and (not data.enabled or r.kind != data.kind):
            close_rule_incidents(r)
        r.name, r.kind, r.minutes = data.name, data.kind, data.minutes
        r.party, r.initiator, r.enabled = data.party, data.initiator, data.enabled
        r.connection = data.connection
        r.updated_at = now
        r.save()
        if {c.pk for c in data.channels} != before:
            changed.append("channels")
        r.channels.set(data.channels)
        action = Action.RULE_ADD if rule is None else Action.RULE_EDIT
        summary = {
            "rule": r.name,
            "when": r.kind,
            "minutes": r.minutes,
            "channels": sorted(c.name for c in data.channels),
            "changed": changed,
        }
        _record(user, action, summary, connection=data.connection)
    return r


def delete_rule(*, user: Any, rule: Rule) -> None:
    with transaction.atomic():
        close_rule_incidents(rule)
        summary = {"rule": rule.name, "when": rule.kind}
        rule.delete()
        _record(user, Action.RULE_DELETE, summary)


def close_rule_incidents(rule: Rule) -> int:
    with deployment_language():
        return incidents.close_silently(rule, note=_("rule changed or removed"))


def subscribe(*, user: Any, job: Job) -> Subscription:
    with transaction.atomic():
        sub, created = Subscription.objects.get_or_create(user=user, job=job)
        if not created and sub.notified_at is not None:
            sub.notified_at, sub.incident, sub.created_at = None, None, timezone.now()
            sub.save(update_fields=["notified_at", "incident", "created_at"])
        _record(
            user, Action.NOTIFY_ON, {"email": True}, connection=job.connection, job_id=job.job_id
        )
    return sub


def unsubscribe(*, user: Any, job: Job) -> bool:
    with transaction.atomic():
        deleted, _rows = Subscription.objects.filter(user=user, job=job).delete()
        if deleted:
            _record(user, Action.NOTIFY_OFF, {}, connection=job.connection, job_id=job.job_id)
    return bool(deleted)


def record_provisioning(*, path: str, done: dict[str, list[str]]) -> AuditRecord:
    return _record(None, Action.ALERTS_FILE, {"file": path, **done})
