"""Hand deliveries to the `alerts` Celery queue once the rows that describe them are committed
(a worker must find the row it is given)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction


def enqueue(delivery_ids: Sequence[int]) -> None:
    from alerts.tasks import deliver  # the task module imports the services, not the reverse

    for pk in delivery_ids:
        deliver.apply_async((pk,))


def enqueue_after_commit(delivery_ids: Sequence[int]) -> None:
    ids = list(delivery_ids)
    if ids:
        transaction.on_commit(lambda: enqueue(ids))
