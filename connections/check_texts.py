"""The connection check's words in the reader's language. kuscia/ is framework-free and writes
the steps' names, details and hints in English, marked for translation (kuscia.texts); the
pages and `manage.py kuscia check` show them through these functions. The values in a detail
are facts about the connection (names, paths, dates, Kuscia's words) and stay as they are."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from connections.texts import translated
from kuscia.check import CheckStep

STATUS_LABELS: dict[str, Promise] = {
    "ok": _("ok"),
    "warn": _("warning"),
    "fail": _("failed"),
    "skipped": _("skipped"),
}


def step_label(name: str) -> str:
    """A step's name in the active language (a step kuscia.check does not name: as it is)."""
    return translated(name)


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def step_detail(step: CheckStep) -> str:
    """What the step found, in the active language."""
    if not step.texts:
        return step.detail
    return " ".join(translated(t) for t in step.texts)


def step_hint(step: CheckStep) -> str:
    return translated(step.hint)
