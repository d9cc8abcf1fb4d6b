"""What the console knows about Kuscia, kept in the local database.

Only jobs.sync writes job/task/party/endpoint/transition/sync-state rows (one write path).
Reads that views need are named QuerySet methods in jobs.querysets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from jobs.kuscia import types as kt
from jobs.querysets import (
    ConnectionQuerySet,
    JobQuerySet,
    JobStatsQuerySet,
    TaskQuerySet,
    TransitionQuerySet,
)

if TYPE_CHECKING:
    from jobs.kuscia.config import ConnectionConfig

STATE_CHOICES = [(s, s) for s in kt.JOB_STATES]
DEFAULT_CONNECTION_NAME = "default"


def _default_connection_fields() -> dict[str, object]:
    """The default connection as the KUSCIA_* settings describe it (paths only, never contents)."""
    return {
        "url": settings.KUSCIA_API_URL,
        "protocol": settings.KUSCIA_PROTOCOL,
        "cert_dir": settings.KUSCIA_CERT_DIR,
        "ca_file": settings.KUSCIA_CA_FILE,
        "cert_file": settings.KUSCIA_CERT_FILE,
        "key_file": settings.KUSCIA_KEY_FILE,
        "token_file": settings.KUSCIA_TOKEN_FILE,
        "tls_server_name": settings.KUSCIA_TLS_SERVER_NAME,
        "mode": settings.KUSCIA_MODE,
        "local_domain": settings.KUSCIA_LOCAL_DOMAIN,
    }


class ConnectionManager(models.Manager.from_queryset(ConnectionQuerySet)):  # type: ignore[misc]
    def ensure_default(self) -> Connection:
        """The env-configured connection named `default`, created or brought up to date with the
        KUSCIA_* settings (which stay its source of truth). Safe to call concurrently."""
        fields = _default_connection_fields()
        conn = self.filter(name=DEFAULT_CONNECTION_NAME).first()
        if conn is None:
            try:
                with transaction.atomic():
                    return self.create(name=DEFAULT_CONNECTION_NAME, is_default=True, **fields)
            except IntegrityError:
                conn = self.get(name=DEFAULT_CONNECTION_NAME)
        if conn.is_default:
            changed = [k for k, v in fields.items() if getattr(conn, k) != v]
            if changed:
                for k in changed:
                    setattr(conn, k, fields[k])
                conn.save(update_fields=changed)
        return conn


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

    objects = ConnectionManager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def client_config(self) -> ConnectionConfig:
        """The client's settings for this connection (certificate paths, never contents)."""
        from jobs.kuscia.config import ConnectionConfig

        explicit = {
            "ca_file": self.ca_file,
            "cert_file": self.cert_file,
            "key_file": self.key_file,
            "token_file": self.token_file,
        }
        common = {
            "protocol": self.protocol,
            "tls_server_name": self.tls_server_name,
            "connect_timeout": settings.KUSCIA_CONNECT_TIMEOUT,
            "read_timeout": settings.KUSCIA_READ_TIMEOUT,
        }
        if self.cert_dir:
            overrides = {k: v for k, v in explicit.items() if v}
            return ConnectionConfig.from_cert_dir(self.url, self.cert_dir, **overrides, **common)
        return ConnectionConfig(url=self.url, **explicit, **common)  # type: ignore[arg-type]


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
    # The last watch failure ("kind: message"), cleared when a watch connects again.
    watch_last_error = models.TextField(blank=True)
    # When restartable / recently finished jobs were last included in a reconcile (slow cadence).
    last_slow_poll = models.DateTimeField(null=True, blank=True)
    # Summary of the last reconcile cycle (jobs polled, requests, rows written, gone, seconds).
    last_cycle = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"sync of {self.connection_id}"

    @property
    def backoff_seconds(self) -> float:
        """Seconds between the last attempt and the next one (0 when not backing off)."""
        if self.next_attempt is None or self.last_attempt is None:
            return 0.0
        return max(0.0, (self.next_attempt - self.last_attempt).total_seconds())


class SyncLease(models.Model):
    """A named, expiring lock held by one worker (used when there is no Redis)."""

    name = models.CharField(max_length=100, unique=True)
    owner = models.CharField(max_length=100, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.owner or 'free'})"


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

    objects = JobStatsQuerySet.as_manager()

    def __str__(self) -> str:
        return f"job stats at {self.computed_at:%Y-%m-%d %H:%M:%S}"
