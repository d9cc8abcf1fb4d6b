"""Who did what to which Kuscia job, and what Kuscia answered; who changed which connection;
who changed which alert channel, rule or "notify me" subscription.

Written only by operate.actions (one record per create/act attempt), connections.changes (one
per connection change, one per live connection check) and alerts.changes (one per alerts
change). Never holds certificates, tokens or channel secrets: `request_summary` is the request
body Kuscia received (job ids, spec, reason), or for a connection or an alerts item the names
of the fields that changed.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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

    def for_export(
        self, *, filters: dict[str, Any], fields: tuple[str, ...]
    ) -> AuditRecordQuerySet:
        """The audit page's records (same filters, same order) as tuples of `fields`, for a
        streamed export; the request body is left out (it can be large)."""
        return self.for_list(filters=filters).values_list(*fields)  # type: ignore[return-value]

    def for_job(self, *, connection_id: int, job_id: str) -> AuditRecordQuerySet:
        return self.filter(connection_id=connection_id, job_id=job_id).order_by("-created_at")

    def last_done(self, *, connection_id: int, job_id: str, action: str) -> AuditRecord | None:
        """The newest `action` on a job that Kuscia accepted (who asked, when and why: the job
        page says "Stopped by demo at 10:02"). One query."""
        return (
            self.filter(
                connection_id=connection_id,
                job_id=job_id,
                action=action,
                outcome__in=(AuditRecord.Outcome.OK, AuditRecord.Outcome.NO_EFFECT),
            )
            .order_by("-created_at", "-id")
            .first()
        )

    def checks_since(self, *, user_id: int, connection_id: int, since: Any) -> AuditRecordQuerySet:
        """The connection checks `user_id` ran on `connection_id` since `since` (rate limit)."""
        return self.filter(
            action=AuditRecord.Action.CONNECTION_CHECK,
            user_id=user_id,
            connection_id=connection_id,
            created_at__gte=since,
        )

    def by_key(self, key: str) -> AuditRecordQuerySet:
        return self.filter(idempotency_key=key)

    def usernames(self) -> list[str]:
        return list(self.order_by("username").values_list("username", flat=True).distinct())


class AuditRecord(models.Model):
    class Action(models.TextChoices):
        CREATE = "create", _("Create")
        STOP = "stop", _("Stop")
        CANCEL = "cancel", _("Cancel")
        SUSPEND = "suspend", _("Suspend")
        RESTART = "restart", _("Restart")
        APPROVE = "approve", _("Approve")
        REJECT = "reject", _("Reject")
        DELETE = "delete", _("Delete")
        FORGET = "forget", _("Forget (local)")
        TRACK = "track", _("Add by id")
        CONNECTION_ADD = "connection_add", _("Add connection")
        CONNECTION_EDIT = "connection_edit", _("Edit connection")
        CONNECTION_ON = "connection_on", _("Enable connection")
        CONNECTION_OFF = "connection_off", _("Disable connection")
        CONNECTION_CHECK = "connection_check", _("Check connection")
        CONNECTION_REMOVE = "connection_del", _("Remove connection")
        CHANNEL_ADD = "channel_add", _("Add alert channel")
        CHANNEL_EDIT = "channel_edit", _("Edit alert channel")
        CHANNEL_DELETE = "channel_delete", _("Delete alert channel")
        CHANNEL_TEST = "channel_test", _("Test alert channel")
        RULE_ADD = "rule_add", _("Add alert rule")
        RULE_EDIT = "rule_edit", _("Edit alert rule")
        RULE_DELETE = "rule_delete", _("Delete alert rule")
        ALERTS_FILE = "alerts_file", _("Alerts provisioning file")
        NOTIFY_ON = "notify_on", _("Notify me when a job ends")
        NOTIFY_OFF = "notify_off", _("Stop notifying me")
        DATA_CREATE = "data_create", _("Register data")
        DATA_UPDATE = "data_update", _("Edit data")
        DATA_DELETE = "data_delete", _("Delete data")
        GRANT_CREATE = "grant_create", _("Grant data")
        GRANT_DELETE = "grant_delete", _("Revoke data grant")

    class Outcome(models.TextChoices):
        PENDING = "pending", _("In progress")
        OK = "ok", _("Done")
        NO_EFFECT = "no_effect", _("No effect")
        ERROR = "error", _("Kuscia error")

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
