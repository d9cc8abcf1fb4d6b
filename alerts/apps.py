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
        # The sync engines' hooks (jobs and network never import alerts: they only send these
        # signals).
        from jobs.sync.signals import sync_health_changed, transitions_recorded
        from network.signals import network_changed

        transitions_recorded.connect(_on_transitions, dispatch_uid="alerts.transitions")
        sync_health_changed.connect(_on_sync_health, dispatch_uid="alerts.sync_health")
        network_changed.connect(_on_network_change, dispatch_uid="alerts.network")


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


def _on_network_change(sender: Any, *, connection: Any, **_: Any) -> None:
    from alerts.rules import on_network_change

    try:
        on_network_change(connection=connection)
    except Exception:
        log.exception("alerts: evaluating the node and route rules of %s failed", connection)
        raise
