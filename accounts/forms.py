"""The sign-in forms with failed-login throttling: the console's and the Django admin's (one
throttle for every way to sign in)."""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from accounts import throttle

log = logging.getLogger("accounts")


class ThrottledAuthenticationForm(AuthenticationForm):
    """Refuses to even try the password once a username+address has failed too often."""

    throttled_for: int = 0

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        ip = throttle.client_ip(self.request) if self.request else ""
        attempt = throttle.begin(username, ip)  # checks the limits and records, atomically
        if attempt.blocked:
            self.throttled_for = attempt.retry_after
            minutes = max(1, (attempt.retry_after + 59) // 60)
            log.warning("login throttled user=%r ip=%s", username[:150], ip)
            raise forms.ValidationError(
                f"Too many failed sign-in attempts. Try again in {minutes} minute"
                f"{'s' if minutes != 1 else ''}, or ask an admin to reset your password.",
                code="throttled",
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            log.info("login failed user=%r ip=%s", username[:150], ip)
            raise  # the attempt stays recorded as a failure
        if self.user_cache is None:  # no password given: nothing was checked
            throttle.not_checked(attempt)
            return cleaned
        throttle.succeeded(attempt)
        log.info("login ok user=%r ip=%s", username[:150], ip)
        return cleaned


class ThrottledAdminAuthenticationForm(ThrottledAuthenticationForm, AdminAuthenticationForm):
    """The Django admin's sign-in (staff only) behind the same throttle (accounts.apps sets it
    as the admin site's login form)."""
