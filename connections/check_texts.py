"""The connection check's words in the reader's language. kuscia/ is framework-free and names
its steps in English (kuscia.check's constants); the pages and `manage.py kuscia check` show
them through these maps. A step's detail is facts about the connection (names, dates, Kuscia's
words) and stays as the check wrote it."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kuscia import check

STEP_LABELS: dict[str, Promise] = {
    check.FILES: _("Certificate and token files"),
    check.ADDRESS: _("Address and port"),
    check.TLS: _("TLS handshake"),
    check.EXPIRY: _("Certificate expiry"),
    check.SERVER_CERT: _("Server certificate"),
    check.CLIENT_CERT: _("Client certificate accepted"),
    check.TOKEN: _("Token accepted"),
    check.API_PATH: _("API path"),
    check.HEALTHZ: _("healthZ"),
    check.WATCH: _("Watch stream"),
    check.ROUTES: _("Domain routes"),
}

STATUS_LABELS: dict[str, Promise] = {
    "ok": _("ok"),
    "warn": _("warning"),
    "fail": _("failed"),
    "skipped": _("skipped"),
}


def step_label(name: str) -> str:
    """A step's name in the active language (a step this map does not know: as it is)."""
    return str(STEP_LABELS.get(name, name))


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))
