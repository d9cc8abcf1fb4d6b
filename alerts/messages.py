"""The texts of alert messages: short, in the deployment's language (LANGUAGE_CODE), naming the
job, its state, the party and the reason, with an absolute link (KC_BASE_URL)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from alerts.models import Delivery, Incident, Rule

REASON_CHARS = 300
P = ParamSpec("P")
R = TypeVar("R")
Kind = Rule.Kind


@dataclass(frozen=True)
class Message:
    event: str  # "firing" | "resolved" | "test"
    title: str
    lines: list[tuple[str, str]] = field(default_factory=list)  # (label, value)
    link: str = ""

    def text(self) -> str:
        out = [self.title]
        out += [f"{label}: {value}" for label, value in self.lines if value]
        if self.link:
            out.append(self.link)
        return "\n".join(out)


def deployment_language() -> translation.override:
    """Alert texts (messages, and the reasons and notes stored on incidents, which the pages and
    later messages show) are in the deployment's language, whoever's request or worker makes
    them."""
    return translation.override(settings.LANGUAGE_CODE)


def in_deployment_language(func: Callable[P, R]) -> Callable[P, R]:
    """`func` runs in the deployment's language (deployment_language)."""

    @functools.wraps(func)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        with deployment_language():
            return func(*args, **kwargs)

    return wrapped


def absolute(path: str) -> str:
    if not path:
        return ""
    return f"{settings.KC_BASE_URL}{path}" if path.startswith("/") else path


def for_delivery(delivery: Delivery) -> Message:
    """The message a delivery carries, rendered now in the deployment's language."""
    with deployment_language():
        if delivery.incident is None:
            return Message(
                event=Delivery.Event.TEST,
                title=_("Test message from Kuscia Console"),
                lines=[(_("Channel"), delivery.target_name)],
                link=absolute("/alerts/"),
            )
        return for_incident(delivery.incident, delivery.event)


def for_incident(incident: Incident, event: str) -> Message:
    title = _title(incident)
    lines: list[tuple[str, str]] = []
    if incident.kind in (Kind.NODE_NOT_READY, Kind.ROUTE_FAILED):
        what = _("Node") if incident.kind == Kind.NODE_NOT_READY else _("Route")
        lines.append((what, incident.subject))
        lines.append((_("State"), incident.job_state))
        conn = incident.connection
        lines.append((_("Connection"), conn.name if conn is not None else ""))
    elif incident.kind != Kind.SYNC_FAILING:
        lines.append((_("Job"), incident.subject))
        lines.append((_("State"), incident.job_state))
        lines.append((_("Party"), incident.party))
    else:
        lines.append((_("Connection"), incident.subject))
    lines.append((_("Reason"), _short(incident.reason)))
    if incident.rule_name:
        lines.append((_("Rule"), incident.rule_name))
    if event == Delivery.Event.RESOLVED:
        title = _("Resolved: %(title)s") % {"title": title}
        lines = [(_("Now"), incident.resolved_note), *lines[:1]]
    return Message(event=event, title=title, lines=lines, link=absolute(incident.link))


def _title(incident: Incident) -> str:
    subject = incident.subject
    n = incident.minutes
    if incident.kind == Kind.JOB_FAILED:
        return _("Job %(job)s failed") % {"job": subject}
    if incident.kind == Kind.JOB_ENDED:
        return _("Job %(job)s ended: %(state)s") % {"job": subject, "state": incident.job_state}
    if incident.kind == Kind.PENDING_LONGER:
        return _("Job %(job)s Pending for more than %(n)s min") % {"job": subject, "n": n}
    if incident.kind == Kind.APPROVAL_LONGER:
        return _("Job %(job)s awaiting approval for more than %(n)s min") % {
            "job": subject,
            "n": n,
        }
    if incident.kind == Kind.NO_PROGRESS:
        return _("Job %(job)s Running with no progress for %(n)s min") % {"job": subject, "n": n}
    if incident.kind == Kind.NODE_NOT_READY:
        if not n:
            return _("Node %(node)s not Ready") % {"node": subject}
        return _("Node %(node)s not Ready for %(n)s min") % {"node": subject, "n": n}
    if incident.kind == Kind.ROUTE_FAILED:
        if not n:
            return _("Route %(route)s Failed") % {"route": subject}
        return _("Route %(route)s Failed for %(n)s min") % {"route": subject, "n": n}
    if incident.kind == Kind.SYNC_FAILING:
        return _("Connection %(name)s: Kuscia sync failing or stale") % {"name": subject}
    return _("Alert %(rule)s: %(subject)s") % {"rule": incident.rule_name, "subject": subject}


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1] + "…"
