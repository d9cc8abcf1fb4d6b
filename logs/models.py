"""The archive of task logs: an index in the database, the text in Django's storage.

A TaskLog is one party's log of one run of a task (one replica, one container), as that
party's node serves it. Its text is a sequence of LogSegments, each one object in the log
storage (`STORAGES["task_logs"]`): a segment holds whole lines, so line N is found from the
index alone. Only logs.archive writes these rows and objects (one write path); the follower
(logs.follow) and the planner (logs.plan) decide when.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from connections.models import Connection
from jobs.models import Job
from logs.querysets import LogSegmentQuerySet, TaskLogQuerySet


class TaskLog(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("not fetched yet")
        FOLLOWING = "following", _("following")
        COMPLETE = "complete", _("complete")
        PARTIAL = "partial", _("partial")  # stored while it ran; Kuscia lost the rest
        TRUNCATED = "truncated", _("truncated")  # the size cap was reached
        UNAVAILABLE = "unavailable", _("unavailable")

    FINAL = (State.COMPLETE, State.PARTIAL, State.TRUNCATED)

    # The job as the console knows it; the names stay when its row is forgotten (retention
    # then removes the log).
    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="task_logs"
    )
    connection_name = models.CharField(max_length=64)
    kuscia_job_id = models.CharField(max_length=63)
    task_id = models.CharField(max_length=63)
    attempt = models.PositiveIntegerField(default=1)  # a restarted task runs again: 2, 3, ...
    task_started_at = models.DateTimeField(null=True, blank=True)  # the run this log is of
    domain_id = models.CharField(max_length=63)  # the party: never mixed
    replica_idx = models.PositiveIntegerField(default=0)
    container = models.CharField(max_length=63, blank=True)  # "" = the pod's only container
    # A replica > 0 is asked for when replica 0 exists; it shows once Kuscia has served it.
    discovered = models.BooleanField(default=True)
    node = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )  # the lite/autonomy connection the text came from
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    message = models.TextField(blank=True)  # why unavailable / the last fetch error
    hint = models.TextField(blank=True)
    size = models.BigIntegerField(default=0)  # bytes stored (the truncation marker included)
    lines = models.BigIntegerField(default=0)
    first_error_line = models.BigIntegerField(null=True, blank=True)  # 1-based
    fetched_at = models.DateTimeField(null=True, blank=True)  # last bytes stored or verified
    finished_at = models.DateTimeField(null=True, blank=True)  # reached a final state
    created_at = models.DateTimeField(default=timezone.now)
    # Scheduling: when the planner may hand it to a follower again, when it last did, how
    # often fetching failed, and the follower that owns the writes (a stale one is refused).
    next_try_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    tries = models.PositiveIntegerField(default=0)
    writer = models.CharField(max_length=64, blank=True)

    objects = TaskLogQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "task_id", "attempt", "domain_id", "replica_idx", "container"],
                name="uniq_task_log",
            )
        ]
        indexes = [
            models.Index(fields=["state", "next_try_at"], name="logs_tasklog_todo"),
            models.Index(fields=["job", "task_id"], name="logs_tasklog_task"),
            models.Index(fields=["created_at"], name="logs_tasklog_created"),
        ]

    def __str__(self) -> str:
        where = f"{self.domain_id}[{self.replica_idx}]"
        return f"{self.kuscia_job_id}/{self.task_id}#{self.attempt} {where}"

    @property
    def is_final(self) -> bool:
        return self.state in self.FINAL

    @property
    def prefix(self) -> str:
        """The storage folder of its segments (only ids in it: nothing from Kuscia)."""
        return f"task-logs/{self.pk}"

    @property
    def download_name(self) -> str:
        parts = [self.kuscia_job_id, self.task_id, self.domain_id, f"r{self.replica_idx}"]
        if self.container:
            parts.append(self.container)
        if self.attempt > 1:
            parts.append(f"attempt{self.attempt}")
        safe = "_".join("".join(c if c.isalnum() or c in "-." else "-" for c in p) for p in parts)
        return f"{safe}.log"


class LogSegment(models.Model):
    """Lines [first_line, first_line + lines) of a log (0-based), one storage object."""

    log = models.ForeignKey(TaskLog, on_delete=models.CASCADE, related_name="segments")
    seq = models.PositiveIntegerField()
    name = models.CharField(max_length=255)  # the storage name
    first_line = models.BigIntegerField()
    lines = models.PositiveIntegerField()
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    first_error = models.PositiveIntegerField(null=True, blank=True)  # index within it
    sealed = models.BooleanField(default=False)  # False: the open tail, rewritten on appends
    marker = models.BooleanField(default=False)  # the console's truncation notice

    objects = LogSegmentQuerySet.as_manager()

    class Meta:
        ordering = ["log", "seq"]
        constraints = [models.UniqueConstraint(fields=["log", "seq"], name="uniq_log_segment")]
        indexes = [models.Index(fields=["log", "first_line"], name="logs_segment_line")]

    def __str__(self) -> str:
        return f"{self.log_id}#{self.seq} lines {self.first_line}+{self.lines}"
