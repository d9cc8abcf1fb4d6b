"""Users' language and time-zone preferences: which values are valid, what applies to a request,
and the one write path (`save_preference`)."""

from __future__ import annotations

import functools
import zoneinfo
from typing import Any

from django.conf import settings
from django.db import transaction

from accounts.models import Preference

UNSET: Any = object()


def language_codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


@functools.cache
def time_zone_names() -> tuple[str, ...]:
    """Every IANA zone name this machine knows ("Area/City" and UTC; not the old aliases such as
    "PRC" or "EST5EDT"), sorted. Scans the zone database once per process."""
    names = {n for n in zoneinfo.available_timezones() if "/" in n and not n.startswith("Etc/")}
    names.add("UTC")
    return tuple(sorted(names))


@functools.cache
def zone(name: str) -> zoneinfo.ZoneInfo | None:
    """The zone called `name`, or None when this machine does not know it."""
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def preference_of(user: Any) -> Preference | None:
    """The user's saved preferences (None when signed out or never saved). The backend loads
    them with the user, so this asks the database nothing."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.preference  # type: ignore[no-any-return]
    except Preference.DoesNotExist:
        return None


def validate_language(value: str) -> str:
    if value and value not in language_codes():
        raise ValueError(f"unknown language {value!r}")
    return value


def validate_time_zone(value: str) -> str:
    if value and (value not in time_zone_names() or zone(value) is None):
        raise ValueError(f"unknown time zone {value!r}")
    return value


def save_preference(*, user: Any, language: str = UNSET, time_zone: str = UNSET) -> Preference:
    """Save a signed-in user's language and/or time zone ("" = follow the default). Values are
    checked here too, whatever form sent them (ValueError for an unknown one)."""
    changes: dict[str, str] = {}
    if language is not UNSET:
        changes["language"] = validate_language(language)
    if time_zone is not UNSET:
        changes["time_zone"] = validate_time_zone(time_zone)
    with transaction.atomic():
        pref, _created = Preference.objects.select_for_update().get_or_create(user=user)
        for field, value in changes.items():
            setattr(pref, field, value)
        pref.save()
    user.preference = pref  # the request's user sees the change at once
    return pref
