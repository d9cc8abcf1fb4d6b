"""What the console knows about Kuscia, kept in the local database.

Only jobs.sync writes job/task/party/endpoint/transition/sync-state rows (one write path).
Reads that views need are named QuerySet methods in jobs.querysets.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from jobs.kuscia import types as kt
from jobs.querysets import ConnectionQuerySet, JobQuerySet, TaskQuerySet, TransitionQuerySet

STATE_CHOICES = [(s, s) for s in kt.JOB_STATES]


class Connection(models.Model):
    """A Kuscia API endpoint the console talks to. Certificate files stay on disk: only their
    paths are stored, never their contents."""

    class Protocol(models.TextChoices):
        MTLS = "MTLS"
        TLS = "TLS"
        NOTLS = "NOTLS"

    class Mode(models.TextChoices):
        CENTRALIZED = "centralized", "Centralized (master)"
        LITE = "lite", "Lite node"
        P2P = "p2p", "P2P (autonomy node)"

    name = models.SlugField(max_length=64, unique=True)
    url = models.CharField(max_length=255, help_text="e.g. https://127.0.0.1:8082")
    protocol = models.CharField(max_length=8, choices=Protocol.choices, default=Protocol.MTLS)
    cert_dir = models.CharField(max_length=500, blank=True)
    ca_file = models.CharField(max_length=500, blank=True)
    cert_file = models.CharField(max_length=500, blank=True)
    key_file = models.CharField(max_length=500, blank=True)
    token_file = models.CharField(max_length=500, blank=True)
    tls_server_name = models.CharField(max_length=255, blank=True)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.CENTRALIZED)
    local_domain = models.CharField(max_length=63, blank=True)
    enabled = models.BooleanField(default=True)
    is_default = models.BooleanField(
        default=False, help_text="Created from the KUSCIA_* environment variables."
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ConnectionQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SyncState(models.Model):
    """Health of the sync engine for one connection."""

    connection = models.OneToOneField(Connection, on_delete=models.CASCADE, related_name="sync")
    last_attempt = models.DateTimeField(null=True, blank=True)
    last_success = models.DateTimeField(null=True, blank=True)
    last_error_kind = models.CharField(max_length=64, blank=True)
    last_error_message = models.TextField(blank=True)
    last_error_hint = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_attempt = models.DateTimeField(null=True, blank=True)
    watch_connected_since = models.DateTimeField(null=True, blank=True)
    watch_last_event = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"sync of {self.connection_id}"


class Job(models.Model):
    class Source(models.TextChoices):
        CREATED = "created", "Created in the console"
        ADDED = "added", "Added by id"
        DISCOVERED = "discovered", "Discovered by watch"

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
    raw = models.JSONField(default=dict, blank=True)  # last raw Kuscia reply for this job

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
        ]

    def __str__(self) -> str:
        return f"{self.connection_id}/{self.job_id}"

    @property
    def is_terminal(self) -> bool:
        return self.state in kt.TERMINAL_JOB_STATES or self.gone_at is not None


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
