"""Alerts: where messages go (channels), when they are sent (rules), what happened (incidents)
and what was sent (deliveries, attempts); personal "notify me when this job ends" subscriptions.

Written by alerts.incidents (incidents and deliveries: the one write path, called from the sync
hook and the beat sweep), alerts.delivery (delivery outcomes), alerts.changes (what admins and
users change in the pages, audited) and alerts.provision (the KC_ALERTS_FILE).
Channel targets and secrets are stored encrypted (alerts.secrets) and never rendered.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from alerts.querysets import (
    ChannelQuerySet,
    DeliveryQuerySet,
    IncidentQuerySet,
    RuleQuerySet,
    SubscriptionQuerySet,
)
from connections.models import Connection
from jobs.models import Job


class Channel(models.Model):
    class Kind(models.TextChoices):
        WEBHOOK = "webhook", _("Generic webhook")
        DINGTALK = "dingtalk", _("DingTalk robot")
        FEISHU = "feishu", _("Feishu / Lark bot")
        WECOM = "wecom", _("WeCom group robot")
        SLACK = "slack", _("Slack incoming webhook")
        EMAIL = "email", _("E-mail")

    name = models.SlugField(_("name"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    # The webhook URL (WeCom and Slack URLs are the credential) or the e-mail addresses,
    # Fernet-encrypted; `target_hint` is what pages show (scheme://host/… or the addresses).
    target_encrypted = models.TextField()
    target_hint = models.CharField(max_length=200, blank=True)
    secret_encrypted = models.TextField(blank=True)  # signing secret, Fernet-encrypted
    enabled = models.BooleanField(_("enabled"), default=True)
    provisioned = models.BooleanField(default=False)  # from KC_ALERTS_FILE: read-only in pages
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ChannelQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_encrypted)


class Rule(models.Model):
    class Kind(models.TextChoices):
        JOB_FAILED = "job_failed", _("Job failed")
        JOB_ENDED = "job_ended", _("Job ended (any final state)")
        PENDING_LONGER = "pending_longer", _("Job Pending longer than N minutes")
        APPROVAL_LONGER = "approval_longer", _("Job awaiting approval longer than N minutes")
        NO_PROGRESS = "no_progress", _("Job Running with no progress for N minutes")
        NODE_NOT_READY = "node_not_ready", _("Node not Ready for N minutes")
        ROUTE_FAILED = "route_failed", _("Route Failed for N minutes")
        SYNC_FAILING = "sync_failing", _("Connection sync failing or stale for N minutes")

    name = models.SlugField(_("name"), max_length=64, unique=True)
    kind = models.CharField(_("when"), max_length=20, choices=Kind.choices)
    enabled = models.BooleanField(_("enabled"), default=True)
    minutes = models.PositiveIntegerField(_("minutes"), default=0)
    connection = models.ForeignKey(
        Connection,
        verbose_name=_("connection"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="alert_rules",
    )
    party = models.CharField(_("party"), max_length=63, blank=True)
    initiator = models.CharField(_("initiator"), max_length=63, blank=True)
    channels = models.ManyToManyField(Channel, verbose_name=_("channels"), related_name="rules")
    provisioned = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = RuleQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["enabled", "kind"], name="alerts_rule_enabled_kind")]

    def __str__(self) -> str:
        return self.name

    def matches_job(self, *, connection_id: int, parties: list[str], initiator: str) -> bool:
        """The rule's scope (connection, party, initiator; empty = any) holds for this job."""
        return (
            (self.connection_id is None or self.connection_id == connection_id)
            and (not self.party or self.party in parties)
            and (not self.initiator or self.initiator == initiator)
        )


class Incident(models.Model):
    """A rule matching one subject (a job, a connection, a node, a route) from when it starts
    to when it stops.
    Subscriptions' "job ended" notices are incidents without a rule."""

    class State(models.TextChoices):
        FIRING = "firing", _("firing")
        RESOLVING = "resolving", _("resolving")  # stopped matching, inside the grouping window
        RESOLVED = "resolved", _("resolved")

    rule = models.ForeignKey(
        Rule, null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    rule_name = models.CharField(max_length=64)  # kept when the rule is deleted
    kind = models.CharField(max_length=20)
    # "job:<pk>", "connection:<pk>", "node:<pk>", "route:<pk>"
    subject_key = models.CharField(max_length=100)
    connection = models.ForeignKey(Connection, null=True, blank=True, on_delete=models.SET_NULL)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL)
    # job id, connection name, node domain or route "src → dst", for messages
    subject = models.CharField(max_length=200)
    job_state = models.CharField(max_length=20, blank=True)
    party = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True)  # path; messages prefix KC_BASE_URL
    minutes = models.PositiveIntegerField(default=0)  # the rule's N when it opened
    state = models.CharField(max_length=12, choices=State.choices, default=State.FIRING)
    notify_only = models.BooleanField(default=False)  # an event notice: no "resolved" message
    opened_at = models.DateTimeField(default=timezone.now)
    resolve_after = models.DateTimeField(null=True, blank=True)  # end of the grouping window
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_note = models.TextField(blank=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject_key"],
                condition=Q(resolved_at__isnull=True),
                name="alerts_one_open_incident",
            )
        ]
        indexes = [
            # the sweep's "open incidents of this rule" (index-only on PostgreSQL)
            models.Index(
                fields=["rule", "state", "job"],
                condition=Q(resolved_at__isnull=True),
                name="alerts_inc_open_rule",
            ),
            models.Index(fields=["state", "resolve_after"], name="alerts_inc_state_after"),
            models.Index(fields=["subject_key", "state"], name="alerts_inc_subject"),
            models.Index(fields=["-opened_at"], name="alerts_inc_opened"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_name} {self.subject} ({self.state})"


class Delivery(models.Model):
    """One message of an incident (firing or resolved) to one channel or one user, or a test
    message. At most one per (incident, event, target): two workers never both send it."""

    class Event(models.TextChoices):
        FIRING = "firing", _("firing")
        RESOLVED = "resolved", _("resolved")
        TEST = "test", _("test message")

    class Status(models.TextChoices):
        PENDING = "pending", _("queued")
        CLAIMED = "claimed", _("claimed by a worker")
        SENDING = "sending", _("sending")
        RETRY = "retry", _("waiting to retry")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        UNKNOWN = "unknown", _("outcome unknown")

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=10, choices=Event.choices)
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    target = models.CharField(max_length=40)  # "channel:<pk>" or "user:<pk>"
    target_name = models.CharField(max_length=150)  # channel name or username, for the log
    kind = models.CharField(max_length=16)  # the channel's kind ("email" for a user)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_try = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    result = models.CharField(max_length=300, blank=True)  # provider reply / SMTP result
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "event", "target"], name="alerts_one_delivery_per_event"
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_try"], name="alerts_dlv_status_next"),
            models.Index(fields=["-created_at"], name="alerts_dlv_created"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.target_name} ({self.status})"


class DeliveryAttempt(models.Model):
    """One try of a delivery: what the receiver answered (HTTP status, provider reply, SMTP
    result) or the error."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    result = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    ok = models.BooleanField(default=False)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="alerts_one_attempt_row")
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"


class Subscription(models.Model):
    """A user's "notify me when this job ends" (to the user's own e-mail address)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="job_subscriptions"
    )
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="subscriptions")
    created_at = models.DateTimeField(default=timezone.now)
    notified_at = models.DateTimeField(null=True, blank=True)
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.SET_NULL)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "job"], name="alerts_one_subscription")
        ]
        indexes = [models.Index(fields=["job", "notified_at"], name="alerts_sub_job")]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.job_id}"


class ProvisionState(models.Model):
    """The last look at KC_ALERTS_FILE: which content was applied, and its problems if any."""

    key = models.PositiveSmallIntegerField(primary_key=True, default=1)
    path = models.CharField(max_length=500, blank=True)
    # {path: [mtime_ns, size]} of the file and the secret files it names, when last looked at
    signature = models.JSONField(default=dict, blank=True)
    digest = models.CharField(max_length=64, blank=True)  # sha256 of the applied content
    checked_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    errors = models.JSONField(default=list, blank=True)  # ["file:line: what"], [] when valid
    summary = models.JSONField(default=dict, blank=True)  # what the last apply changed

    def __str__(self) -> str:
        return f"provisioning from {self.path or '(no file)'}"
