"""Who did what to which Kuscia job, and what Kuscia answered; who changed which connection;
who changed which alert channel, rule or "notify me" subscription.

Written only by operate.actions (one record per create/act attempt), connections.changes (one
per connection change) and alerts.changes (one per alerts change). Never holds certificates,
tokens or channel secrets: `request_summary` is the request body Kuscia received (job ids, spec,
reason), or for a connection or an alerts item the names of the fields that changed.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditRecordQuerySet(models.QuerySet["AuditRecord"]):
    def for_list(self, *, filters: dict[str, Any]) -> AuditRecordQuerySet:
        """The audit page: newest first, filtered by the page's GET parameters."""
        qs = self.select_related("connection").order_by("-created_at", "-id")
        if filters.get("action"):
            qs = qs.filter(action=filters["action"])
        if filters.get("outcome"):
            qs = qs.filter(outcome=filters["outcome"])
        if filters.get("user"):
            qs = qs.filter(username__iexact=filters["user"])
        if filters.get("connection"):
            qs = qs.filter(connection_name=filters["connection"])
        if filters.get("job"):
            qs = qs.filter(job_id__icontains=filters["job"])
        if filters.get("since"):
            qs = qs.filter(created_at__date__gte=filters["since"])
        if filters.get("until"):
            qs = qs.filter(created_at__date__lte=filters["until"])
        return qs

    def for_job(self, *, connection_id: int, job_id: str) -> AuditRecordQuerySet:
        return self.filter(connection_id=connection_id, job_id=job_id).order_by("-created_at")

    def by_key(self, key: str) -> AuditRecordQuerySet:
        return self.filter(idempotency_key=key)

    def usernames(self) -> list[str]:
        return list(self.order_by("username").values_list("username", flat=True).distinct())


class AuditRecord(models.Model):
    class Action(models.TextChoices):
        CREATE = "create", "Create"
        STOP = "stop", "Stop"
        CANCEL = "cancel", "Cancel"
        SUSPEND = "suspend", "Suspend"
        RESTART = "restart", "Restart"
        APPROVE = "approve", "Approve"
        REJECT = "reject", "Reject"
        DELETE = "delete", "Delete"
        FORGET = "forget", "Forget (local)"
        TRACK = "track", "Add by id"
        CONNECTION_ADD = "connection_add", "Add connection"
        CONNECTION_EDIT = "connection_edit", "Edit connection"
        CONNECTION_ON = "connection_on", "Enable connection"
        CONNECTION_OFF = "connection_off", "Disable connection"
        CHANNEL_ADD = "channel_add", "Add alert channel"
        CHANNEL_EDIT = "channel_edit", "Edit alert channel"
        CHANNEL_DELETE = "channel_delete", "Delete alert channel"
        CHANNEL_TEST = "channel_test", "Test alert channel"
        RULE_ADD = "rule_add", "Add alert rule"
        RULE_EDIT = "rule_edit", "Edit alert rule"
        RULE_DELETE = "rule_delete", "Delete alert rule"
        ALERTS_FILE = "alerts_file", "Alerts provisioning file"
        NOTIFY_ON = "notify_on", "Notify me when a job ends"
        NOTIFY_OFF = "notify_off", "Stop notifying me"

    class Outcome(models.TextChoices):
        PENDING = "pending", "In progress"
        OK = "ok", "Done"
        NO_EFFECT = "no_effect", "No effect"
        ERROR = "error", "Kuscia error"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    username = models.CharField(max_length=150)
    connection = models.ForeignKey(
        "connections.Connection", null=True, blank=True, on_delete=models.SET_NULL
    )
    connection_name = models.CharField(max_length=64)
    job_id = models.CharField(max_length=63, db_index=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    reason = models.TextField(blank=True)
    request_summary = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    kuscia_code = models.IntegerField(null=True, blank=True)
    kuscia_message = models.TextField(blank=True)
    error_kind = models.CharField(max_length=32, blank=True)
    hint = models.TextField(blank=True)
    note = models.TextField(blank=True)  # e.g. "had no effect: the job was already Succeeded"
    state_before = models.CharField(max_length=20, blank=True)
    state_after = models.CharField(max_length=20, blank=True)
    # One-time token of the submitted form: a double submit or retry finds this row instead of
    # acting twice.
    idempotency_key = models.CharField(max_length=64, null=True, blank=True, unique=True)

    objects = AuditRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["connection_name", "job_id"])]

    def __str__(self) -> str:
        return f"{self.username} {self.action} {self.connection_name}/{self.job_id}"
