"""The archive's planner (beat, every KC_LOG_PLAN_SECONDS): learn what each connection is, make
an index row for every party's log of every task run that has started, and hand logs to
followers — at most KC_LOG_FOLLOWERS at a time across the workers.

Which runs: tasks with a start time on job-source connections whose job changed within
KC_LOG_BACKFILL_DAYS (Kuscia keeps a finished job's tasks for 30 days by default), so the
tasks of jobs that ended while nobody followed them are fetched once as well. A task that
starts again (restart) is a new run: its logs get new rows (attempt 2, ...), the old ones stay.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from connections import nodes
from connections.models import Connection, NodeRole
from jobs.models import Job, PartyStatus, Task
from kuscia.client import KusciaClient
from kuscia.errors import KusciaError
from kuscia.logstream import DeployTemplate, containers_for
from kuscia.node import NodeInfo
from logs.models import TaskLog

log = logging.getLogger(__name__)
PROBES_PER_CYCLE = 2
TASKS_PER_CYCLE = 200
REQUEUE_AFTER = timedelta(seconds=60)  # a log handed out but not started is handed out again


@dataclass
class PlanSummary:
    probed: list[str] = field(default_factory=list)
    created: int = 0
    queued: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def run_cycle(enqueue: Callable[[int], Any], now: datetime | None = None) -> PlanSummary:
    now = now or timezone.now()
    summary = PlanSummary()
    summary.probed = probe_nodes(now)
    summary.created = ensure_logs(now)
    summary.queued = hand_out(enqueue, now)
    return summary


def probe_nodes(now: datetime, limit: int = PROBES_PER_CYCLE) -> list[str]:
    """Ask Kuscia what the connections never (or long ago) checked are."""
    probed: list[str] = []
    for connection in Connection.objects.enabled().order_by("role_checked_at", "pk"):
        if len(probed) >= limit:
            break
        if not nodes.needs_probe(connection, now):
            continue
        parties = sorted(Job.objects.recent_parties(connection))
        try:
            nodes.probe_and_record(connection, parties)
        except KusciaError as err:
            nodes.record_node(connection, NodeInfo("", (), f"{err.kind}: {err.message}"))
        probed.append(connection.name)
    return probed


def ensure_logs(now: datetime, limit: int = TASKS_PER_CYCLE) -> int:
    """Index rows for the parties of task runs that have none yet; how many were made."""
    cutoff = now - timedelta(days=settings.KC_LOG_BACKFILL_DAYS)
    has_log = TaskLog.objects.filter(
        job=OuterRef("job"), task_id=OuterRef("task_id"), task_started_at=OuterRef("start_time")
    )
    tasks = list(
        Task.objects.filter(
            job__connection__in=Connection.objects.job_sources(),
            job__last_changed__gte=cutoff,
            start_time__isnull=False,
        )
        .exclude(Exists(has_log))
        .select_related("job", "job__connection")
        .order_by("-start_time")[:limit]
    )
    if not tasks:
        return 0
    owners = p2p_owners({t.job.job_id for t in tasks})
    images = AppImages()
    parties: dict[int, list[str]] = defaultdict(list)
    for task_pk, domain in PartyStatus.objects.filter(task__in=tasks).values_list(
        "task_id", "domain_id"
    ):
        parties[task_pk].append(domain)
    rows: list[TaskLog] = []
    for task in tasks:
        attempt = TaskLog.objects.latest_attempt(task.job, task.task_id) + 1
        spec = [p.get("domain_id") for p in task.party_spec or [] if isinstance(p, dict)]
        roles = {
            p.get("domain_id"): str(p.get("role") or "")
            for p in task.party_spec or []
            if isinstance(p, dict)
        }
        domains = sorted({d for d in [*parties[task.pk], *spec] if isinstance(d, str) and d})
        domains = [
            d for d in domains if owners.get((task.job.job_id, d), task.job_id) == task.job_id
        ]
        rows += [
            TaskLog(
                job=task.job,
                connection_name=task.job.connection.name,
                kuscia_job_id=task.job.job_id,
                task_id=task.task_id,
                attempt=attempt,
                task_started_at=task.start_time,
                domain_id=domain,
                container=container,
            )
            for domain in domains
            for container in images.logs_of(task, roles.get(domain, ""))
        ]
    made = TaskLog.objects.bulk_create(rows, ignore_conflicts=True)
    return len(made)


class AppImages:
    """Which container logs a task's pods have, from its AppImage (asked once per connection
    and image within a cycle): [""] (the pod's only container, the log API's default) unless
    the deploy template has several, then one per container name."""

    def __init__(self) -> None:
        self.known: dict[tuple[int, str], tuple[DeployTemplate, ...] | None] = {}

    def logs_of(self, task: Task, role: str) -> list[str]:
        templates = self._templates(task.job.connection, task.app_image)
        names = containers_for(templates or (), role)
        return list(names) if len(names) > 1 else [""]

    def _templates(self, connection: Connection, image: str) -> tuple[DeployTemplate, ...] | None:
        if not image:
            return None
        key = (connection.pk, image)
        if key not in self.known:
            try:
                with KusciaClient(connection.client_config()) as client:
                    self.known[key] = client.query_app_image_templates(image)
            except KusciaError as err:  # a lite (11104), an image gone: its default log
                log.info("app image %s on %s: %s", image, connection.name, err)
                self.known[key] = None
        return self.known[key]


def p2p_owners(job_ids: set[str]) -> dict[tuple[str, str], int]:
    """In P2P every autonomy connection has its own row of a job: a party's log is stored
    once, under the row of the connection that serves that party ((job id, domain) -> job
    row). Parties no job-source autonomy connection serves are not listed (every row keeps
    its own: nothing is fetched for them, their panel says how to add a node)."""
    rows = Job.objects.filter(
        job_id__in=job_ids,
        connection__in=Connection.objects.job_sources(),
        connection__role=NodeRole.AUTONOMY,
    ).values_list("pk", "job_id", "connection__domains")
    owners: dict[tuple[str, str], int] = {}
    for pk, job_id, served in rows.order_by("pk"):
        for domain in served or []:
            owners.setdefault((job_id, domain), pk)
    return owners


def hand_out(enqueue: Callable[[int], Any], now: datetime) -> list[int]:
    """Queue logs for followers, keeping at most KC_LOG_FOLLOWERS in flight (running, or
    queued within REQUEUE_AFTER)."""
    alive_since = now - timedelta(seconds=settings.KC_LOG_LEASE_SECONDS)
    queued_since = now - REQUEUE_AFTER
    in_flight = (
        TaskLog.objects.exclude(state__in=TaskLog.FINAL)
        .filter(Q(heartbeat_at__gte=alive_since) | Q(queued_at__gte=queued_since))
        .count()
    )
    room = settings.KC_LOG_FOLLOWERS - in_flight
    if room <= 0:
        return []
    picked = TaskLog.objects.due(now, queued_since, alive_since, room)
    if len(picked) < room:
        picked += TaskLog.objects.unavailable_retry(now, queued_since, room - len(picked))
    queued: list[int] = []
    for row in picked:
        TaskLog.objects.filter(pk=row.pk).update(queued_at=now)
        enqueue(row.pk)
        queued.append(row.pk)
    return queued
