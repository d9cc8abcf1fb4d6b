"""Celery adapters over alerts (queue `alerts`, see CELERY_TASK_ROUTES)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import worker_ready

from alerts import delivery, provision, rules


@shared_task(bind=True, name="alerts.tasks.deliver", ignore_result=True, max_retries=None)
def deliver(self: Any, delivery_id: int) -> str:
    """Send one delivery (claimed first: a duplicate message sends nothing); retried with
    exponential back-off while the receiver fails in a way worth retrying."""
    outcome = delivery.run(delivery_id)
    if outcome is not None and outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status if outcome is not None else "not claimed"


@shared_task(name="alerts.tasks.sweep", ignore_result=True)
def sweep() -> dict[str, Any]:
    """Beat, every KC_ALERTS_SWEEP_SECONDS: reload a changed provisioning file, evaluate the
    duration rules, resolve incidents whose grouping window ended, re-queue lost deliveries."""
    loaded = provision.refresh()
    summary = rules.sweep()
    summary.provisioning = loaded
    return summary.as_dict()


@shared_task(name="alerts.tasks.provision", ignore_result=True)
def load_provisioning() -> str:
    return provision.refresh(force=True)


@worker_ready.connect
def provision_at_start(**_: Any) -> None:
    """Load KC_ALERTS_FILE when a worker starts (the sweep then follows its changes)."""
    load_provisioning.apply_async()
