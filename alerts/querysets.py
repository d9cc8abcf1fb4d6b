"""Named reads of the alerts pages and of the sweep. Every query a view runs is a method here."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Count, Q

if TYPE_CHECKING:
    from alerts.models import Channel, Delivery, Incident, Rule, Subscription  # noqa: F401

OPEN_STATES = ("firing", "resolving")


class ChannelQuerySet(models.QuerySet["Channel"]):
    def for_page(self) -> ChannelQuerySet:
        """The channels list: each with how many rules use it."""
        return self.annotate(rule_count=Count("rules")).order_by("name")

    def usable(self) -> ChannelQuerySet:
        return self.filter(enabled=True)


class RuleQuerySet(models.QuerySet["Rule"]):
    def for_page(self) -> RuleQuerySet:
        return self.select_related("connection").prefetch_related("channels").order_by("name")

    def enabled_of(
        self, kinds: tuple[str, ...] | frozenset[str], *, with_channels: bool = True
    ) -> RuleQuerySet:
        """Enabled rules of these kinds; with_channels: each with `live_channels` (its enabled
        channels, one more query), for callers that will fire most of them."""
        from alerts.models import Channel

        qs = self.filter(enabled=True, kind__in=list(kinds)).order_by("pk")
        if not with_channels:
            return qs
        live = models.Prefetch(
            "channels", queryset=Channel.objects.filter(enabled=True), to_attr="live_channels"
        )
        return qs.prefetch_related(live)


class IncidentQuerySet(models.QuerySet["Incident"]):
    def open(self) -> IncidentQuerySet:
        return self.filter(resolved_at__isnull=True)

    def open_of_rule(self, rule_id: int) -> IncidentQuerySet:
        """Unordered: the sweep reads thousands of them and never needs an order."""
        return self.filter(rule_id=rule_id, resolved_at__isnull=True).order_by()

    def due_to_resolve(self, now: dt.datetime) -> IncidentQuerySet:
        """Incidents whose grouping window ended without the rule matching again."""
        return self.filter(state="resolving", resolve_after__lte=now)

    def for_page(self, limit: int = 50) -> IncidentQuerySet:
        """Open incidents first, then the most recent ones."""
        return self.select_related("rule", "connection").order_by("resolved_at", "-opened_at")[
            :limit
        ]


class DeliveryQuerySet(models.QuerySet["Delivery"]):
    def for_log(self, *, filters: dict[str, Any]) -> DeliveryQuerySet:
        """The delivery log: newest first, filtered by the page's GET parameters."""
        qs = (
            self.select_related("incident").prefetch_related("tries").order_by("-created_at", "-id")
        )
        if filters.get("channel"):
            qs = qs.filter(target_name=filters["channel"])
        if filters.get("event"):
            qs = qs.filter(event=filters["event"])
        if filters.get("status"):
            qs = qs.filter(status=filters["status"])
        if filters.get("rule"):
            qs = qs.filter(incident__rule_name=filters["rule"])
        if filters.get("subject"):
            qs = qs.filter(incident__subject__icontains=filters["subject"])
        if filters.get("since"):
            qs = qs.filter(created_at__date__gte=filters["since"])
        if filters.get("until"):
            qs = qs.filter(created_at__date__lte=filters["until"])
        return qs

    def target_names(self) -> list[str]:
        return list(self.order_by("target_name").values_list("target_name", flat=True).distinct())

    def lost(self, before: dt.datetime) -> DeliveryQuerySet:
        """Queued before `before`, or due to retry since before it, and still not picked up."""
        return self.filter(
            Q(status="pending", created_at__lt=before)
            | Q(status="retry", next_try__lt=before)
            | Q(status="retry", next_try__isnull=True)
        ).order_by("pk")


class SubscriptionQuerySet(models.QuerySet["Subscription"]):
    def of_user(self, user: Any) -> SubscriptionQuerySet:
        return self.filter(user=user).select_related("job__connection").order_by("-created_at")

    def waiting_on(self, job_ids: list[int]) -> SubscriptionQuerySet:
        """Not yet notified subscriptions of these jobs, with their users."""
        return self.filter(job_id__in=job_ids, notified_at__isnull=True).select_related("user")
