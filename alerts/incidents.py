"""The one write path of incidents and of the deliveries they queue.

An incident opens when a rule starts to match a subject (a job, a connection) and queues one
"firing" delivery per channel of the rule; when the rule stops matching it waits out the
grouping window (KC_ALERTS_GROUP_SECONDS) as "resolving" — matching again inside the window
turns it back to "firing" without a message — and then resolves, queueing one "resolved"
delivery to each target that got the firing one. At most one open incident per (rule,
subject) and one delivery per (incident, event, target) are enforced by unique constraints, so
concurrent workers (the sync hook, the sweep) cannot open or queue twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from alerts.models import Channel, Delivery, Incident, Rule, Subscription
from alerts.queue import enqueue_after_commit

log = logging.getLogger(__name__)

State = Incident.State
Event = Delivery.Event


@dataclass(frozen=True)
class Facts:
    """What the messages say about the subject, captured when the incident opens."""

    subject: str
    job_state: str = ""
    party: str = ""
    reason: str = ""
    link: str = ""
    connection_id: int | None = None
    job_id: int | None = None


def job_key(job_pk: int) -> str:
    return f"job:{job_pk}"


def connection_key(connection_pk: int) -> str:
    return f"connection:{connection_pk}"


def _incident(
    *, rule: Rule | None, kind: str, key: str, facts: Facts, now: datetime, notify_only: bool
) -> Incident:
    return Incident(
        rule=rule,
        rule_name=rule.name if rule is not None else "notify-me",
        kind=kind,
        subject_key=key,
        connection_id=facts.connection_id,
        job_id=facts.job_id,
        subject=facts.subject[:200],
        job_state=facts.job_state,
        party=facts.party[:200],
        reason=facts.reason[:4000],
        link=facts.link[:500],
        minutes=rule.minutes if rule is not None else 0,
        notify_only=notify_only,
        opened_at=now,
        state=State.RESOLVED if notify_only else State.FIRING,
        resolved_at=now if notify_only else None,
    )


def fire(rule: Rule, key: str, facts: Facts, *, now: datetime | None = None) -> Incident | None:
    """The rule matches `key`: open its incident and queue the firing messages, unless one is
    open already (a resolving one goes back to firing, silently). Returns the new incident."""
    now = now or timezone.now()
    channels = _channels_of(rule)
    with transaction.atomic():
        current = Incident.objects.select_for_update().filter(
            rule=rule, subject_key=key, resolved_at__isnull=True
        )
        existing = current.first()
        if existing is not None:
            if existing.state == State.RESOLVING:
                current.update(state=State.FIRING, resolve_after=None, resolved_note="")
            return None
        try:
            with transaction.atomic():
                incident = _incident(
                    rule=rule, kind=rule.kind, key=key, facts=facts, now=now, notify_only=False
                )
                incident.save()
        except IntegrityError:  # another worker opened it a moment ago
            return None
        _queue(incident, Event.FIRING, channels=channels, now=now)
    log.info("alert %s fired for %s (incident %s)", rule.name, facts.subject, incident.pk)
    return incident


def notice(rule: Rule, key: str, facts: Facts, *, now: datetime | None = None) -> Incident:
    """An event rule (job ended): a closed incident with firing messages only. Each call is one
    event (the sync engine records every transition once)."""
    now = now or timezone.now()
    with transaction.atomic():
        incident = _incident(
            rule=rule, kind=rule.kind, key=key, facts=facts, now=now, notify_only=True
        )
        incident.save()
        _queue(incident, Event.FIRING, channels=_channels_of(rule), now=now)
    log.info("alert %s noticed %s (incident %s)", rule.name, facts.subject, incident.pk)
    return incident


def notify_subscribers(
    subscriptions: Sequence[Subscription], key: str, facts: Facts, *, now: datetime | None = None
) -> Incident | None:
    """The "notify me when this job ends" notice: one for the job, one e-mail per subscriber
    with an address; the subscriptions are marked notified (each user is told once)."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = [s.pk for s in subscriptions]
        claimed = list(
            Subscription.objects.select_for_update()
            .filter(pk__in=ids, notified_at__isnull=True)
            .select_related("user")
        )
        if not claimed:
            return None
        incident = _incident(
            rule=None, kind=Rule.Kind.JOB_ENDED, key=key, facts=facts, now=now, notify_only=True
        )
        incident.save()
        Subscription.objects.filter(pk__in=[s.pk for s in claimed]).update(
            notified_at=now, incident=incident
        )
        users = [s.user for s in claimed if s.user.email]
        _queue(incident, Event.FIRING, users=users, now=now)
    return incident


def clear(incident_ids: Iterable[int], *, note: str, now: datetime | None = None) -> int:
    """The rule stopped matching these incidents' subjects: resolve them after the grouping
    window (at once when it is 0). Returns how many changed."""
    now = now or timezone.now()
    ids = list(incident_ids)
    if not ids:
        return 0
    window = float(settings.KC_ALERTS_GROUP_SECONDS)
    if window <= 0:
        return sum(resolve(i, note=note, now=now) for i in ids)
    return Incident.objects.filter(pk__in=ids, state=State.FIRING).update(
        state=State.RESOLVING, resolve_after=now + timedelta(seconds=window), resolved_note=note
    )


def resolve(incident_id: int, *, note: str | None = None, now: datetime | None = None) -> bool:
    """Resolve an open incident and queue its "resolved" messages (to the targets that got the
    firing one). False when it was not open."""
    now = now or timezone.now()
    with transaction.atomic():
        incident = (
            Incident.objects.select_for_update()
            .filter(pk=incident_id, resolved_at__isnull=True)
            .first()
        )
        if incident is None:
            return False
        incident.state = State.RESOLVED
        incident.resolved_at = now
        incident.resolve_after = None
        if note is not None:
            incident.resolved_note = note
        incident.save(update_fields=["state", "resolved_at", "resolve_after", "resolved_note"])
        if not incident.notify_only:
            fired = Delivery.objects.filter(incident=incident, event=Event.FIRING)
            channels = [d.channel for d in fired.select_related("channel") if d.channel is not None]
            users = [d.user for d in fired.select_related("user") if d.user is not None]
            _queue(incident, Event.RESOLVED, channels=channels, users=users, now=now)
    log.info("alert incident %s resolved (%s)", incident_id, incident.subject)
    return True


def close_silently(rule: Rule, *, note: str, now: datetime | None = None) -> int:
    """A rule was disabled, changed its kind or deleted: its open incidents end without a
    message (nobody should hear "resolved" for a change of configuration)."""
    now = now or timezone.now()
    return Incident.objects.filter(rule=rule, resolved_at__isnull=True).update(
        state=State.RESOLVED, resolved_at=now, resolve_after=None, resolved_note=note
    )


def finish_due(now: datetime | None = None) -> int:
    """Resolve the incidents whose grouping window ended (the sweep)."""
    now = now or timezone.now()
    ids = list(Incident.objects.due_to_resolve(now).values_list("pk", flat=True))
    return sum(resolve(i, now=now) for i in ids)


def queue_test(channel: Channel, *, now: datetime | None = None) -> Delivery:
    """A test message to one channel (shown in the delivery log like any other)."""
    delivery = Delivery.objects.create(
        event=Event.TEST,
        channel=channel,
        target=f"channel:{channel.pk}",
        target_name=channel.name,
        kind=channel.kind,
        created_at=now or timezone.now(),
    )
    enqueue_after_commit([delivery.pk])
    return delivery


def _channels_of(rule: Rule) -> list[Channel]:
    live = getattr(rule, "live_channels", None)
    if live is not None:
        return list(live)
    return list(rule.channels.filter(enabled=True))


def _queue(
    incident: Incident,
    event: str,
    *,
    now: datetime,
    channels: Sequence[Channel] = (),
    users: Sequence[Any] = (),
) -> list[int]:
    rows = [
        Delivery(
            incident=incident,
            event=event,
            channel=c,
            target=f"channel:{c.pk}",
            target_name=c.name,
            kind=c.kind,
            created_at=now,
        )
        for c in channels
    ] + [
        Delivery(
            incident=incident,
            event=event,
            user=u,
            target=f"user:{u.pk}",
            target_name=u.get_username(),
            kind=Channel.Kind.EMAIL,
            created_at=now,
        )
        for u in users
    ]
    if not rows:
        return []
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    ids = list(
        Delivery.objects.filter(
            incident=incident, event=event, status=Delivery.Status.PENDING
        ).values_list("pk", flat=True)
    )
    enqueue_after_commit(ids)
    return ids
