"""Failed sign-in attempts, kept in the database so that throttling holds across every web
process. Only a hash of the username and client address is stored, never a password.
LoginThrottleKey holds one row per hashed key: the row an attempt locks while it counts and
records (accounts.throttle)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class LoginFailureQuerySet(models.QuerySet["LoginFailure"]):
    def recent(self, key: str, since: object) -> LoginFailureQuerySet:
        return self.filter(key=key, at__gte=since)


class LoginFailure(models.Model):
    key = models.CharField(max_length=64, db_index=True)  # sha256 of "scope|value"
    at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = LoginFailureQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["key", "at"])]

    def __str__(self) -> str:
        return f"login failure {self.key[:8]} at {self.at:%Y-%m-%d %H:%M:%S}"


class LoginThrottleKey(models.Model):
    key = models.CharField(max_length=64, unique=True)  # as LoginFailure.key
    last_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"login throttle key {self.key[:8]}"
