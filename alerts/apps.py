from __future__ import annotations

import logging
from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

log = logging.getLogger("alerts")


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = _("Alerts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The sync engine's hooks (jobs never imports alerts: it only sends these signals).
        from jobs.sync.signals import sync_health_changed, transitions_recorded

        transitions_recorded.connect(_on_transitions, dispatch_uid="alerts.transitions")
        sync_health_changed.connect(_on_sync_health, dispatch_uid="alerts.sync_health")


def _on_transitions(sender: Any, *, connection: Any, transitions: Any, **_: Any) -> None:
    from alerts.rules import on_transitions

    try:
        on_transitions(connection=connection, transitions=transitions)
    except Exception:
        log.exception("alerts: evaluating %d transitions failed", len(transitions))
        raise


def _on_sync_health(sender: Any, *, connection: Any, ok: bool, **_: Any) -> None:
    from alerts.rules import on_sync_health

    try:
        on_sync_health(connection=connection, ok=ok)
    except Exception:
        log.exception("alerts: evaluating the sync health of %s failed", connection)
        raise
