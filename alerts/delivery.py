"""Sending one delivery, at most once per (incident, event, target).

1. Claim: one conditional UPDATE moves the row from queued/retry-due to `claimed` and counts
   the attempt; a second worker (or a duplicate task message) finds nothing to claim.
2. Build the request (decrypt the channel's URL and secret, render the message).
3. `sending` is committed before the first byte leaves. A worker killed after this point leaves
   the row `sending`: the sweep marks it `unknown` and never sends it again, so the receiver
   cannot get it twice. A worker killed while `claimed` (before sending) is retried by the sweep.
4. The outcome: `sent`; `retry` with exponential back-off (5xx, 429, timeouts, lost
   connections, throttling) until KC_ALERTS_MAX_ATTEMPTS; or `failed`. Every try is a
   DeliveryAttempt row (the delivery log).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts import channels, outbound, queue
from alerts.messages import Message, for_delivery
from alerts.models import Channel, Delivery, DeliveryAttempt
from alerts.secrets import SecretUnreadable, unseal

log = logging.getLogger(__name__)
Status = Delivery.Status


@dataclass(frozen=True)
class Outcome:
    status: str
    retry_in: float | None = None


class Undeliverable(Exception):
    """The delivery cannot be sent at all (no channel, no address, unreadable secret)."""


def backoff(attempts: int) -> float:
    base = max(float(settings.KC_ALERTS_RETRY_SECONDS), 0.1)
    return float(min(settings.KC_ALERTS_RETRY_MAX_SECONDS, base * 2 ** max(attempts - 1, 0)))


def claim(delivery_id: int, now: datetime) -> bool:
    due = Q(status=Status.PENDING) | Q(status=Status.RETRY, next_try__isnull=True)
    due |= Q(status=Status.RETRY, next_try__lte=now + timedelta(seconds=0.5))
    return bool(
        Delivery.objects.filter(due, pk=delivery_id).update(
            status=Status.CLAIMED, claimed_at=now, attempts=F("attempts") + 1, next_try=None
        )
    )


Sender = Callable[[], tuple[channels.Verdict, int | None]]  # verdict, HTTP status


def run(delivery_id: int) -> Outcome | None:
    """Send one delivery if it can be claimed; None when another worker has it or it is done."""
    now = timezone.now()
    if not claim(delivery_id, now):
        return None
    d = Delivery.objects.select_related("incident", "channel", "user").get(pk=delivery_id)
    attempt = DeliveryAttempt(delivery=d, number=d.attempts, started_at=now)
    try:
        send = _prepare(d)
    except Undeliverable as exc:
        return _finish(d, attempt, channels.Verdict(False, False, ""), None, error=str(exc))
    if not Delivery.objects.filter(pk=d.pk, status=Status.CLAIMED).update(status=Status.SENDING):
        return None  # the sweep took the claim back meanwhile: it is queued again
    attempt.save()
    try:
        verdict, http_status = send()
        error = "" if verdict.ok else verdict.result
    except outbound.SendError as exc:
        verdict, http_status, error = channels.Verdict(False, True, ""), None, str(exc)
    return _finish(d, attempt, verdict, http_status, error=error)


def _prepare(d: Delivery) -> Sender:
    """Everything that can fail before sending, so that `sending` means "bytes may be out"."""
    message = for_delivery(d)
    if d.user is not None:
        if not d.user.email:
            raise Undeliverable(_("The user has no e-mail address."))
        to_user = [d.user.email]
        return lambda: (channels.send_email(to_user, message), None)
    channel = d.channel
    if channel is None:
        raise Undeliverable(_("The channel was deleted."))
    try:
        target, secret = unseal(channel.target_encrypted), unseal(channel.secret_encrypted)
    except SecretUnreadable as exc:
        raise Undeliverable(str(exc)) from None
    if channel.kind == Channel.Kind.EMAIL:
        addresses = channels.email_addresses(target)
        return lambda: (channels.send_email(addresses, message), None)
    kind = channel.kind
    request = channels.build(
        kind,
        target,
        secret,
        message,
        delivery_uid=str(d.uid),
        payload=webhook_payload(d, message),
    )

    def post() -> tuple[channels.Verdict, int | None]:
        reply = outbound.post(
            request.url, request.body, headers=request.headers, params=request.params
        )
        return channels.judge(kind, reply), reply.status

    return post


def _finish(
    d: Delivery,
    attempt: DeliveryAttempt,
    verdict: channels.Verdict,
    http_status: int | None,
    *,
    error: str,
) -> Outcome:
    now = timezone.now()
    if verdict.ok:
        status, retry_in = Status.SENT, None
    elif verdict.retry and d.attempts < settings.KC_ALERTS_MAX_ATTEMPTS:
        status, retry_in = Status.RETRY, backoff(d.attempts)
    else:
        status, retry_in = Status.FAILED, None
    attempt.finished_at = now
    attempt.http_status = http_status
    attempt.result = verdict.result[:300]
    attempt.error = error[:4000]
    attempt.ok = verdict.ok
    attempt.save()
    Delivery.objects.filter(pk=d.pk).update(
        status=status,
        sent_at=now if verdict.ok else None,
        next_try=now + timedelta(seconds=retry_in) if retry_in is not None else None,
        http_status=http_status,
        result=verdict.result[:300],
        error=error[:4000],
    )
    log.info(
        "alert delivery %s (%s to %s, attempt %s): %s %s",
        d.pk,
        d.event,
        d.target_name,
        d.attempts,
        status,
        verdict.result or error,
    )
    return Outcome(status, retry_in)


def webhook_payload(d: Delivery, message: Message) -> dict[str, Any]:
    """The generic webhook's JSON body."""
    incident = d.incident
    body: dict[str, Any] = {
        "event": "test" if incident is None else f"incident.{d.event}",
        "delivery": str(d.uid),
        "title": message.title,
        "text": message.text(),
        "link": message.link,
    }
    if incident is not None:
        body["incident"] = {
            "id": incident.pk,
            "rule": incident.rule_name,
            "kind": incident.kind,
            "state": incident.state,
            "subject": incident.subject,
            "job_state": incident.job_state,
            "party": incident.party,
            "reason": incident.reason,
            "opened_at": incident.opened_at.isoformat(),
            "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        }
    json.dumps(body)  # fail here, not in the channel, if something is not serialisable
    return body


def recover(now: datetime | None = None) -> dict[str, int]:
    """The sweep's look at deliveries whose worker or task message was lost: a stale claim is
    queued again (nothing was sent), a stale `sending` becomes `unknown` (never sent again),
    and queued or due rows nobody picked up are handed to the queue again (the claim makes a
    duplicate message harmless)."""
    now = now or timezone.now()
    # Claimed this long ago without `sending`: the worker died. Queued this long ago and still
    # queued: the task message was lost (a worker killed with it reserved).
    lost_after = now - timedelta(seconds=float(settings.KC_ALERTS_LOST_SECONDS))
    stale = Delivery.objects.filter(status=Status.CLAIMED, claimed_at__lt=lost_after)
    requeue = list(stale.values_list("pk", flat=True))
    if requeue:
        Delivery.objects.filter(pk__in=requeue, status=Status.CLAIMED).update(
            status=Status.RETRY,
            next_try=now,
            error=_("The worker stopped before sending; queued again."),
        )
    sending_limit = 3 * float(settings.KC_ALERTS_HTTP_TIMEOUT) + 10.0
    unknown = Delivery.objects.filter(
        status=Status.SENDING, claimed_at__lt=now - timedelta(seconds=sending_limit)
    ).update(
        status=Status.UNKNOWN,
        error=_(
            "The worker stopped while sending: the receiver may or may not have the message. "
            "It is not sent again, so that it never arrives twice."
        ),
    )
    lost = Delivery.objects.lost(lost_after)
    ids = requeue + [pk for pk in lost.values_list("pk", flat=True)[:500] if pk not in requeue]
    queue.enqueue(ids)
    return {"requeued": len(requeue), "unknown": unknown, "queued": len(ids)}
