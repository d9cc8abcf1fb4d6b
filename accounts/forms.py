"""The sign-in form with failed-login throttling; the preference and language-switch forms."""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.conf import settings
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
        verdict = throttle.check(username, ip)
        if verdict.blocked:
            self.throttled_for = verdict.retry_after
            minutes = max(1, (verdict.retry_after + 59) // 60)
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
            throttle.record_failure(username, ip)
            log.info("login failed user=%r ip=%s", username[:150], ip)
            raise
        throttle.clear(username, ip)
        log.info("login ok user=%r ip=%s", username[:150], ip)
        return cleaned


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
