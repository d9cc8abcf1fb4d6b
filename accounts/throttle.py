"""Failed-login throttling: at most LOGIN_FAILURE_LIMIT failures per username and client address,
and LOGIN_FAILURE_USER_LIMIT per username from anywhere, within LOGIN_FAILURE_WINDOW seconds."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import LoginFailure


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def client_ip(request: HttpRequest) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted proxy rewrites it.
    return str(request.META.get("REMOTE_ADDR", ""))


def _key(scope: str, value: str) -> str:
    return hashlib.sha256(f"{scope}|{value}".encode()).hexdigest()


def _keys(username: str, ip: str) -> tuple[str, str]:
    name = username.strip().lower()
    return _key("user+ip", f"{name}|{ip}"), _key("user", name)


@dataclass(frozen=True)
class Verdict:
    blocked: bool
    retry_after: int  # seconds until the oldest counted failure leaves the window


def check(username: str, ip: str) -> Verdict:
    window = timedelta(seconds=_setting("LOGIN_FAILURE_WINDOW", 900))
    since = timezone.now() - window
    pair_key, user_key = _keys(username, ip)
    for key, limit in (
        (pair_key, _setting("LOGIN_FAILURE_LIMIT", 5)),
        (user_key, _setting("LOGIN_FAILURE_USER_LIMIT", 20)),
    ):
        recent = LoginFailure.objects.recent(key, since)
        if recent.count() >= limit:
            oldest = recent.order_by("at").values_list("at", flat=True).first()
            retry = window - (timezone.now() - oldest) if oldest else window
            return Verdict(True, max(1, int(retry.total_seconds())))
    return Verdict(False, 0)


def record_failure(username: str, ip: str) -> None:
    pair_key, user_key = _keys(username, ip)
    LoginFailure.objects.bulk_create([LoginFailure(key=pair_key), LoginFailure(key=user_key)])
    # Keep the table small: drop what no window can count any more.
    horizon = timezone.now() - timedelta(seconds=_setting("LOGIN_FAILURE_WINDOW", 900) * 4)
    LoginFailure.objects.filter(at__lt=horizon).delete()


def clear(username: str, ip: str) -> None:
    pair_key, _user_key = _keys(username, ip)
    LoginFailure.objects.filter(key=pair_key).delete()
