"""Celery adapters over the archive (logic in logs.plan, logs.follow, logs.retention).

follow_log runs on the `logs` queue: run a worker with `-Q logs` whose concurrency bounds the
followers reading at once (they are long-running while a task runs)."""

from __future__ import annotations

import signal
from dataclasses import asdict
from typing import Any

from celery import shared_task
from celery.signals import worker_process_init, worker_shutting_down
from django.db import connections

from logs import follow, plan, retention


@shared_task(name="logs.tasks.plan_logs", ignore_result=True)
def plan_logs() -> dict[str, Any]:
    """Beat: learn node roles, index new task runs, hand logs to followers."""
    return plan.run_cycle(lambda pk: follow_log.apply_async((pk,))).as_dict()


@shared_task(name="logs.tasks.follow_log", ignore_result=True)
def follow_log(log_id: int) -> dict[str, Any]:
    """Follow (or fetch once) one party's log of one task run into the archive."""
    try:
        return asdict(follow.follow_log(log_id))
    finally:
        connections.close_all()  # a threads pool keeps a connection per thread otherwise


@shared_task(name="logs.tasks.clean_logs", ignore_result=True)
def clean_logs() -> dict[str, Any]:
    """Beat: remove logs past KC_LOG_RETENTION_DAYS (or whose job was forgotten)."""
    return {"removed": retention.clean()}


@worker_shutting_down.connect
def stop_following_on_shutdown(**_: Any) -> None:
    """A warm shutdown closes the follow streams: the followers store what they have and
    return (the planner hands their logs out again later)."""
    follow.stop_following()


@worker_process_init.connect
def _child_stops_following(**_: Any) -> None:
    # jobs.tasks makes SIGURG close a prefork child's watch streams at shutdown; close the
    # follow streams too, then do what it did.
    previous = signal.getsignal(signal.SIGURG)

    def handler(signum: int, frame: Any) -> None:
        follow.stop_following()
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGURG, handler)
