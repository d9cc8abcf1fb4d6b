"""Failed-login throttling: at most LOGIN_FAILURE_LIMIT failures per username and client address,
and LOGIN_FAILURE_USER_LIMIT per username from anywhere, within LOGIN_FAILURE_WINDOW seconds.

Checking and recording are one atomic step (`begin`): under a row lock on the attempt's keys
(LoginThrottleKey; SQLite's IMMEDIATE transactions serialize writers the same way) the recent
failures are counted and, when no limit is reached, the attempt is recorded as a failure before
the password is checked. A correct password then takes its record back (`succeeded`), so any
number of requests in parallel get at most the limit of password checks.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import LoginFailure, LoginThrottleKey

LOCK_ATTEMPTS = 3  # a key row removed by the clean-up between insert and lock: insert again


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
class Attempt:
    """One sign-in attempt: refused (`blocked`, `retry_after` seconds until the oldest counted
    failure leaves the window), or let through with its failure records (`recorded`)."""

    username: str
    ip: str
    blocked: bool
    retry_after: int = 0
    recorded: tuple[int, ...] = ()


def _lock_keys(keys: list[str], now: datetime) -> None:
    """Row locks on `keys` (created when missing), in key order so two attempts never wait
    for each other in a cycle. Call inside a transaction."""
    for _ in range(LOCK_ATTEMPTS):
        LoginThrottleKey.objects.bulk_create(
            [LoginThrottleKey(key=k, last_at=now) for k in keys], ignore_conflicts=True
        )
        locked = list(
            LoginThrottleKey.objects.select_for_update()
            .filter(key__in=keys)
            .order_by("key")
            .values_list("pk", flat=True)
        )
        if len(locked) == len(keys):
            LoginThrottleKey.objects.filter(pk__in=locked).update(last_at=now)
            return
    raise RuntimeError("login throttle: could not lock the attempt's keys")


def begin(username: str, ip: str) -> Attempt:
    """Check and record in one step: blocked when a limit is reached, else recorded as a
    failure (taken back by `succeeded` or `not_checked`)."""
    window = timedelta(seconds=_setting("LOGIN_FAILURE_WINDOW", 900))
    pair_key, user_key = _keys(username, ip)
    limits = (
        (pair_key, _setting("LOGIN_FAILURE_LIMIT", 5)),
        (user_key, _setting("LOGIN_FAILURE_USER_LIMIT", 20)),
    )
    with transaction.atomic():
        now = timezone.now()
        _lock_keys(sorted({pair_key, user_key}), now)
        for key, limit in limits:
            recent = LoginFailure.objects.recent(key, now - window)
            if recent.count() >= limit:
                oldest = recent.order_by("at").values_list("at", flat=True).first()
                retry = window - (now - oldest) if oldest else window
                return Attempt(username, ip, True, max(1, int(retry.total_seconds())))
        recorded = tuple(LoginFailure.objects.create(key=key, at=now).pk for key, _ in limits)
    _forget_old(now, window)
    return Attempt(username, ip, False, recorded=recorded)


def succeeded(attempt: Attempt) -> None:
    """The password was right: the attempt is no failure, and the username+address starts
    afresh (the per-username count keeps the others' failures)."""
    pair_key, _user_key = _keys(attempt.username, attempt.ip)
    LoginFailure.objects.filter(pk__in=attempt.recorded).delete()
    LoginFailure.objects.filter(key=pair_key).delete()


def not_checked(attempt: Attempt) -> None:
    """No password was checked (the form lacked one): the attempt counts for nothing."""
    LoginFailure.objects.filter(pk__in=attempt.recorded).delete()


def _forget_old(now: datetime, window: timedelta) -> None:
    """Keep the tables small: drop what no window can count any more. Key rows another attempt
    holds are left alone (SKIP LOCKED), so the clean-up never waits for a sign-in."""
    horizon = now - window * 4
    LoginFailure.objects.filter(at__lt=horizon).delete()
    with transaction.atomic():
        stale = list(
            LoginThrottleKey.objects.select_for_update(skip_locked=True)
            .filter(last_at__lt=horizon)
            .values_list("pk", flat=True)[:1000]
        )
        if stale:
            LoginThrottleKey.objects.filter(pk__in=stale).delete()
