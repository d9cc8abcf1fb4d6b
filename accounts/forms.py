"""The sign-in forms with failed-login throttling (the console's and the Django admin's: one
throttle for every way to sign in); the preference and language-switch forms."""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import throttle
from accounts.preferences import time_zone_names

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
                ngettext(
                    "Too many failed sign-in attempts. Try again in %(minutes)d minute, or ask "
                    "an admin to reset your password.",
                    "Too many failed sign-in attempts. Try again in %(minutes)d minutes, or ask "
                    "an admin to reset your password.",
                    minutes,
                )
                % {"minutes": minutes},
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


def _language_choices() -> list[tuple[str, str]]:
    # Each language named in its own language, as switchers do.
    return [(code, name) for code, name in settings.LANGUAGES]


class LanguageSwitchForm(forms.Form):
    """The header's switcher: one of LANGUAGES, and the page to return to."""

    language = forms.ChoiceField(choices=_language_choices)
    next = forms.CharField(required=False, max_length=2000)


def _zone_choices() -> list[tuple[str, str]]:
    default = [("", _("Deployment default (%(zone)s)") % {"zone": settings.TIME_ZONE})]
    return default + [(name, name) for name in time_zone_names()]


class PreferenceForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=lambda: [("", _("The browser's language")), *_language_choices()],
        help_text=_("The header's language buttons change this too."),
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        required=False,
        choices=_zone_choices,
        help_text=_(
            "Times on every page are shown in this zone, which is named beside them. "
            "Date filters use it too."
        ),
    )
