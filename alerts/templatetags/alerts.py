"""`{% job_notify_button job %}`: the "notify me when this job ends" button of a job page
(rendered by alerts/job_notify.html, which the job page includes). One query.
`{{ incident.kind|rule_kind }}`, `{{ delivery.kind|channel_kind }}`: a stored kind in words."""

from __future__ import annotations

from typing import Any

from django import template

from alerts.models import Channel, Rule, Subscription

register = template.Library()


@register.filter
def rule_kind(value: str) -> str:
    """A rule kind in the reader's words (as stored when it is no longer one)."""
    return str(Rule.Kind(value).label) if value in Rule.Kind.values else value


@register.filter
def channel_kind(value: str) -> str:
    """A channel kind in the reader's words (as stored when it is no longer one)."""
    return str(Channel.Kind(value).label) if value in Channel.Kind.values else value


@register.inclusion_tag("alerts/_notify_button.html", takes_context=True)
def job_notify_button(context: dict[str, Any], job: Any) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    waiting = bool(
        user is not None
        and user.is_authenticated
        and Subscription.objects.filter(user=user, job=job, notified_at__isnull=True).exists()
    )
    return {
        "job": job,
        "waiting": waiting,
        "email": getattr(user, "email", ""),
        "next": request.get_full_path() if request is not None else "",
        "csrf_token": context.get("csrf_token"),
    }
