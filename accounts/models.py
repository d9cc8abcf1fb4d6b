"""Failed sign-in attempts, kept in the database so that throttling holds across every web
process (only a hash of the username and client address is stored, never a password; one
LoginThrottleKey row per hashed key is what an attempt locks while it counts and records, see
accounts.throttle); and each user's display preferences (language, time zone)."""

from __future__ import annotations

from django.conf import settings
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


class Preference(models.Model):
    """A user's display preferences. An empty value follows the default: the browser's language
    (else LANGUAGE_CODE), and the deployment's TIME_ZONE. Written only by
    accounts.preferences.save_preference."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference"
    )
    language = models.CharField(max_length=16, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"preferences of user {self.user_id}"
