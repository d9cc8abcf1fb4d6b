"""Sending a delivery: claimed once, signed, retried with back-off, every attempt logged; a
worker lost before sending is retried, one lost while sending is never sent again."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from alerts import delivery, incidents
from alerts.models import Channel, Delivery, Rule
from alerts.secrets import seal, url_hint
from tests.alerts.conftest import Receiver, SmtpServer, Step

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast(settings: Any) -> None:
    settings.KC_ALERTS_HTTP_TIMEOUT = 0.5
    settings.KC_ALERTS_RETRY_SECONDS = 2
    settings.KC_ALERTS_MAX_ATTEMPTS = 3
    settings.KC_BASE_URL = "https://console.example"


def channel(kind: str, url: str, secret: str = "", name: str = "ops") -> Channel:
    return Channel.objects.create(
        name=name,
        kind=kind,
        target_encrypted=seal(url),
        target_hint=url_hint(url),
        secret_encrypted=seal(secret),
    )


def firing(ch: Channel, queued: list[int]) -> Delivery:
    r = Rule.objects.create(name="failed", kind=Rule.Kind.JOB_FAILED)
    r.channels.set([ch])
    facts = incidents.Facts(
        subject="job-x",
        job_state="Failed",
        party="bob",
        reason="exit code 1",
        link="/jobs/local/job-x/",
    )
    incidents.fire(r, "job:1", facts)
    return Delivery.objects.get()


def test_sent_once_signed_with_the_facts_and_a_link(receiver: Receiver, queued: list[int]) -> None:
    url = receiver.add("/hook", "webhook", "whsec")
    d = firing(channel("webhook", url, "whsec"), queued)
    out = delivery.run(d.pk)
    assert out is not None and out.status == "sent"
    assert delivery.run(d.pk) is None  # a second worker / duplicate message: nothing to claim
    (hit,) = receiver.hits_at("/hook")
    assert hit.verified and hit.headers["x-kc-event"] == "incident.firing"
    assert hit.headers["x-kc-delivery"] == str(d.uid)
    body = hit.json()
    assert body["incident"]["party"] == "bob" and body["incident"]["job_state"] == "Failed"
    assert body["link"] == "https://console.example/jobs/local/job-x/"
    assert "Job job-x failed" in body["text"] and "Reason: exit code 1" in body["text"]
    d.refresh_from_db()
    assert (d.status, d.attempts, d.http_status) == ("sent", 1, 200)
    assert d.tries.get().ok


def test_retries_after_500_and_timeouts_with_backoff(receiver: Receiver, queued: list[int]) -> None:
    url = receiver.add("/hook", "webhook", "s", Step(status=500, body="down"), Step(sleep=1.5))
    d = firing(channel("webhook", url, "s"), queued)
    first = delivery.run(d.pk)
    assert first is not None and (first.status, first.retry_in) == ("retry", 2.0)
    assert delivery.run(d.pk) is None  # not due yet
    Delivery.objects.filter(pk=d.pk).update(next_try=timezone.now())
    second = delivery.run(d.pk)
    assert second is not None and (second.status, second.retry_in) == ("retry", 4.0)
    Delivery.objects.filter(pk=d.pk).update(next_try=timezone.now())
    third = delivery.run(d.pk)
    assert third is not None and third.status == "sent"
    d.refresh_from_db()
    tries = list(d.tries.order_by("number").values_list("http_status", "ok"))
    assert tries == [(500, False), (None, False), (200, True)]
    assert "timeout" in d.tries.get(number=2).error
    assert len(receiver.hits_at("/hook")) == 3


def test_gives_up_after_the_last_attempt(receiver: Receiver, queued: list[int]) -> None:
    url = receiver.add("/hook", "webhook", "", *[Step(status=503)] * 5)
    d = firing(channel("webhook", url), queued)
    for _ in range(3):
        Delivery.objects.filter(pk=d.pk).update(next_try=None)
        out = delivery.run(d.pk)
    assert out is not None and out.status == "failed" and out.retry_in is None
    d.refresh_from_db()
    assert d.attempts == 3 and d.http_status == 503


def test_a_refused_signature_is_final_and_logged(receiver: Receiver, queued: list[int]) -> None:
    url = receiver.add("/fs", "feishu", "right")
    d = firing(channel("feishu", url, "wrong"), queued)
    out = delivery.run(d.pk)
    assert out is not None and out.status == "failed"
    d.refresh_from_db()
    assert "19021" in d.result and d.http_status == 200


def test_email_channel_and_user_email_go_through_smtp(
    use_smtp: SmtpServer, queued: list[int]
) -> None:
    ch = channel("email", "ops@example.org, oncall@example.org")
    ch.target_hint = "ops@example.org, oncall@example.org"
    ch.save()
    d = firing(ch, queued)
    assert delivery.run(d.pk).status == "sent"  # type: ignore[union-attr]
    (mail,) = use_smtp.messages
    assert sorted(mail.rcpt_tos) == ["oncall@example.org", "ops@example.org"]
    assert "Subject: Job job-x failed" in mail.content
    assert "https://console.example/jobs/local/job-x/" in mail.content
    d.refresh_from_db()
    assert d.result.startswith("SMTP accepted by 127.0.0.1:")
    user = User.objects.create_user("ann", "ann@example.org", "pw")
    inc = incidents.notify_subscribers([], "job:1", incidents.Facts(subject="x"))
    assert inc is None  # nobody waiting
    dv = Delivery.objects.create(
        incident=d.incident,
        event="resolved",
        user=user,
        target="user:1",
        target_name="ann",
        kind="email",
    )
    assert delivery.run(dv.pk).status == "sent"  # type: ignore[union-attr]
    assert use_smtp.messages[-1].rcpt_tos == ["ann@example.org"]


def test_smtp_down_is_retried(settings: Any, queued: list[int]) -> None:
    from tests.alerts.conftest import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    d = firing(channel("email", "ops@example.org"), queued)
    out = delivery.run(d.pk)
    assert out is not None and out.status == "retry"
    d.refresh_from_db()
    assert "ConnectionRefusedError" in d.result


def test_unreadable_secret_fails_clearly(
    receiver: Receiver, queued: list[int], settings: Any
) -> None:
    url = receiver.add("/hook", "webhook", "s")
    d = firing(channel("webhook", url, "s"), queued)
    settings.SECRET_KEY = "another-key-" * 5
    out = delivery.run(d.pk)
    assert out is not None and out.status == "failed"
    d.refresh_from_db()
    assert "cannot be decrypted" in d.error
    assert receiver.hits_at("/hook") == []


def test_lost_workers_are_recovered_without_sending_twice(
    receiver: Receiver, queued: list[int]
) -> None:
    url = receiver.add("/hook", "webhook", "")
    ch = channel("webhook", url)
    claimed = firing(ch, queued)
    long_ago = timezone.now() - dt.timedelta(minutes=5)
    Delivery.objects.filter(pk=claimed.pk).update(status="claimed", claimed_at=long_ago, attempts=1)
    sending = Delivery.objects.create(
        event="test",
        channel=ch,
        target=f"channel:{ch.pk}",
        target_name="ops",
        kind="webhook",
        status="sending",
        claimed_at=long_ago,
        attempts=1,
    )
    lost = Delivery.objects.create(
        event="test",
        channel=ch,
        target=f"channel:{ch.pk}",
        target_name="ops",
        kind="webhook",
        created_at=long_ago,
    )
    queued.clear()
    summary = delivery.recover()
    assert summary == {"requeued": 1, "unknown": 1, "queued": 2}
    assert sorted(queued) == sorted([claimed.pk, lost.pk])
    sending.refresh_from_db()
    assert sending.status == "unknown" and "never arrives twice" in sending.error
    assert delivery.run(sending.pk) is None  # never sent again
    assert delivery.run(claimed.pk).status == "sent"  # type: ignore[union-attr]
    assert len(receiver.hits_at("/hook")) == 1
