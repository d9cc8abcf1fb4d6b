"""What the console knows about Kuscia, kept in the local database.

Only jobs.sync writes job/task/party/endpoint/transition rows (one write path).
Reads that views need are named QuerySet methods in jobs.querysets.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from connections.models import Connection
from jobs.querysets import (
    JobQuerySet,
    JobStatsQuerySet,
    TaskQuerySet,
    TransitionQuerySet,
)
from kuscia import types as kt

STATE_CHOICES = [(s, s) for s in kt.JOB_STATES]


class Job(models.Model):
    class Source(models.TextChoices):
        CREATED = "created", _("Created in the console")
        ADDED = "added", _("Added by id")
        DISCOVERED = "discovered", _("Discovered by watch")

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="jobs")
    job_id = models.CharField(max_length=63)
    initiator = models.CharField(max_length=63, blank=True)
    max_parallelism = models.PositiveIntegerField(default=1)
    custom_fields = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=20, choices=STATE_CHOICES, default=kt.PENDING)
    err_msg = models.TextField(blank=True)
    create_time = models.DateTimeField(null=True, blank=True)
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    stage_status = models.JSONField(default=list, blank=True)  # [{"domain_id", "state"}]
    approve_status = models.JSONField(default=list, blank=True)
    parties = models.JSONField(default=list, blank=True)  # sorted domain ids, for filters
    task_count = models.PositiveIntegerField(default=0)
    tasks_succeeded = models.PositiveIntegerField(default=0)
    progress = models.FloatField(default=0.0)  # mean task progress, 0..1
    source = models.CharField(max_length=16, choices=Source.choices)
    spec_fetched = models.BooleanField(default=False)
    first_seen = models.DateTimeField(default=timezone.now)
    last_synced = models.DateTimeField(null=True, blank=True)
    last_changed = models.DateTimeField(default=timezone.now)  # last observed state/progress change
    gone_at = models.DateTimeField(null=True, blank=True)
    # why: "deleted-here", "not-found" (reconcile), "watch-deleted"
    gone_reason = models.CharField(max_length=32, blank=True)
    # Kuscia answered 11203 without "not found" for this job (e.g. a lite node whose domain is
    # not a party): it still exists but this connection may not see it; asked again only on
    # slow polls, cleared by the next status (jobs.sync.reconcile_connection).
    refused_at = models.DateTimeField(null=True, blank=True)
    refused_message = models.TextField(blank=True)
    raw = models.JSONField(default=dict, blank=True)  # last raw Kuscia reply for this job
    # Fingerprint of the last applied status (jobs.sync): an unchanged job costs no write.
    status_hash = models.CharField(max_length=32, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "job_id"], name="uniq_job_per_connection")
        ]
        indexes = [
            models.Index(fields=["state", "connection"]),
            models.Index(fields=["-first_seen"]),
            models.Index(fields=["-create_time"]),
            models.Index(fields=["-last_changed"]),
            # the list filtered by initiator and state(s): its bounded count and its pages
            models.Index(fields=["initiator", "state"], name="jobs_job_initiator_state"),
            # the overview's trends: jobs ended per hour and day (jobs.trend_queries)
            models.Index(fields=["end_time"], name="jobs_job_end_time"),
        ]

    def __str__(self) -> str:
        return f"{self.connection_id}/{self.job_id}"

    @property
    def is_terminal(self) -> bool:
        return self.state in kt.TERMINAL_JOB_STATES or self.gone_at is not None

    @property
    def gone_unfinished(self) -> bool:
        """Kuscia lost the job before it finished: its state is only the last one known."""
        return self.gone_at is not None and self.state not in kt.TERMINAL_JOB_STATES

    @property
    def stopped_at(self) -> dt.datetime | None:
        """When the job stopped running, as far as the console knows: Kuscia's end time, or
        for a job gone before it finished, when it was seen gone (its duration stops there)."""
        if self.end_time is not None:
            return self.end_time
        return self.gone_at if self.gone_unfinished else None


class Task(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="tasks")
    position = models.PositiveIntegerField(default=0)  # order in the job spec
    task_id = models.CharField(max_length=63)
    alias = models.CharField(max_length=63)
    app_image = models.CharField(max_length=255, blank=True)
    dependencies = models.JSONField(default=list, blank=True)  # aliases
    priority = models.IntegerField(default=0)
    tolerable = models.BooleanField(null=True, blank=True)  # None: unknown (not ours)
    task_input_config = models.TextField(blank=True)
    schedule_config = models.JSONField(null=True, blank=True)
    party_spec = models.JSONField(default=list, blank=True)  # [{"domain_id","role","resources"}]
    state = models.CharField(max_length=20, default=kt.PENDING)
    err_msg = models.TextField(blank=True)
    progress = models.FloatField(default=0.0)
    create_time = models.DateTimeField(null=True, blank=True)
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["job", "position"]
        constraints = [models.UniqueConstraint(fields=["job", "task_id"], name="uniq_task_per_job")]

    def __str__(self) -> str:
        return f"{self.job_id}/{self.task_id}"


class PartyStatus(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="party_statuses")
    domain_id = models.CharField(max_length=63)
    role = models.CharField(max_length=63, blank=True)
    state = models.CharField(max_length=20, default=kt.PENDING)
    err_msg = models.TextField(blank=True)

    class Meta:
        ordering = ["task", "domain_id"]
        constraints = [
            models.UniqueConstraint(fields=["task", "domain_id"], name="uniq_party_per_task")
        ]

    def __str__(self) -> str:
        return f"{self.task_id}/{self.domain_id}"


class Endpoint(models.Model):
    party = models.ForeignKey(PartyStatus, on_delete=models.CASCADE, related_name="endpoints")
    port_name = models.CharField(max_length=63)
    scope = models.CharField(max_length=16)
    endpoint = models.CharField(max_length=255)

    class Meta:
        ordering = ["party", "port_name"]
        constraints = [
            models.UniqueConstraint(fields=["party", "port_name"], name="uniq_endpoint_per_party")
        ]

    def __str__(self) -> str:
        return self.endpoint


class Transition(models.Model):
    """Every observed change of a job, task or party state."""

    class Kind(models.TextChoices):
        JOB = "job"
        TASK = "task"
        PARTY = "party"

    class Source(models.TextChoices):
        WATCH = "watch"
        POLL = "poll"
        ACTION = "action"
        CREATE = "create"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="transitions")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    task_id = models.CharField(max_length=63, blank=True)
    domain_id = models.CharField(max_length=63, blank=True)
    old_state = models.CharField(max_length=20, blank=True)  # "" for first observation
    new_state = models.CharField(max_length=20)
    message = models.TextField(blank=True)
    kuscia_time = models.DateTimeField(null=True, blank=True)
    observed_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=8, choices=Source.choices)

    objects = TransitionQuerySet.as_manager()

    class Meta:
        ordering = ["observed_at", "id"]
        indexes = [models.Index(fields=["job", "observed_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.task_id or self.job_id} {self.old_state}->{self.new_state}"


class JobStats(models.Model):
    """Jobs per state (exact) and per-party activity, for the overview. One row, written only
    by jobs.stats.refresh() (the beat task refresh_job_stats, every KC_STATS_SECONDS), so the
    overview reads one small row instead of counting a large table on every request."""

    key = models.PositiveSmallIntegerField(primary_key=True, default=1)
    counts = models.JSONField(default=dict)  # {state: jobs}, every state present
    activity = models.JSONField(default=list)  # [{party, active, failed, succeeded, total}]
    activity_jobs = models.PositiveIntegerField(default=0)  # jobs the activity looked at
    activity_capped = models.BooleanField(default=False)  # more changed than it looked at
    computed_at = models.DateTimeField()
    took_ms = models.FloatField(default=0.0)  # what computing it cost
    # jobs.trends.compute(): per hour / per day series and percentiles (recomputed at most
    # every jobs.trends.TRENDS_SECONDS, so not with every recount)
    trends = models.JSONField(default=dict, blank=True)
    trends_at = models.DateTimeField(null=True, blank=True)

    objects = JobStatsQuerySet.as_manager()

    def __str__(self) -> str:
        return f"job stats at {self.computed_at:%Y-%m-%d %H:%M:%S}"
