"""Celery adapters over network.poll (all logic, locking and error handling live there)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from network import poll


@shared_task(name="network.tasks.poll_network", ignore_result=True)
def poll_network() -> list[int]:
    """Beat, every KUSCIA_NETWORK_POLL_SECONDS: one poll task per due connection."""
    due = poll.due_connections()
    for connection_id in due:
        poll_network_connection.apply_async((connection_id,), expires=poll.poll_seconds() * 2)
    return due


@shared_task(name="network.tasks.poll_network_connection", ignore_result=True)
def poll_network_connection(connection_id: int) -> dict[str, Any]:
    """Domains and routes (one batch each) and, on the slow cycle, the data inventory."""
    return poll.poll_connection(connection_id).as_dict()
