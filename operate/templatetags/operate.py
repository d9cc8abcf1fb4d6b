"""Template helpers for the job action buttons (templates/jobs/_job_actions.html)."""

from __future__ import annotations

import secrets
from typing import Any

from django import template
from django.utils.functional import Promise
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from audit.models import AuditRecord

register = template.Library()

LABELS: dict[str, tuple[Promise, Promise]] = {
    "stop": (_("Stop"), _("Stops running tasks; the job ends Failed.")),
    "cancel": (_("Cancel"), _("Stops running tasks; the job ends Cancelled (final).")),
    "suspend": (_("Suspend"), _("Stops running tasks; the job waits for a restart.")),
    "restart": (_("Restart"), _("Re-runs the tasks that did not succeed.")),
    "approve": (_("Approve"), _("Accept this job for your parties.")),
    "reject": (_("Reject"), _("Reject this job for your parties (final).")),
    "delete": (
        _("Delete"),
        _("Deletes the job and its tasks in Kuscia; the console keeps the history."),
    ),
    "forget": (_("Forget"), _("Removes this job and its history from the console.")),
}


@register.simple_tag
def one_time_token() -> str:
    """A fresh key per rendered form: a double submit finds the first attempt's audit row."""
    return secrets.token_urlsafe(24)


@register.simple_tag
def job_actions(job: Any) -> list[dict[str, str]]:
    from operate.actions import offered_actions

    return [
        {"action": a, "label": str(LABELS[a][0]), "help": str(LABELS[a][1])}
        for a in offered_actions(job)
    ]


@register.filter
def action_label(action: str) -> str:
    """An action's button label ("delete" -> "Delete"); an unknown one as it is."""
    label = LABELS.get(action)
    return str(label[0]) if label else action


@register.simple_tag
def buttons_may_change(job: Any) -> bool:
    """Whether the offered buttons can change without an action here (the job still moves)."""
    from kuscia import types as kt

    return job is not None and job.gone_at is None and job.state in kt.ACTIVE_JOB_STATES


@register.simple_tag(takes_context=True)
def action_result(context: template.Context, job: Any) -> AuditRecord | None:
    """The audit row named by ?done=<id> after an action redirect, if it is about this job."""
    request = context.get("request")
    from jobs.inputs import db_id

    pk = db_id(request.GET.get("done", "")) if request is not None else None
    if pk is None or job is None:
        return None
    return AuditRecord.objects.filter(
        pk=pk, connection_id=job.connection_id, job_id=job.job_id
    ).first()


@register.simple_tag
def dependency_chips(tform: Any) -> str:
    """The checkbox chips of a task's dependencies (one per other task's alias, chosen ones
    checked), built here: a 128-task job has 128 x 127 of them, too many for a template loop."""
    name = tform["dependencies"].html_name
    chosen = {str(v) for v in (tform["dependencies"].value() or [])}
    return format_html_join(
        "",
        '<label class="chip"><input type="checkbox" name="{}" value="{}"{}><span>{}</span></label>',
        (
            (name, value, mark_safe(" checked") if value in chosen else "", label)
            for value, label in tform.fields["dependencies"].choices
        ),
    )
