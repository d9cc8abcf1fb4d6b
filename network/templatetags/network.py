"""Template helpers of the network and data pages: node and route status badges (colour, icon
and text, never colour alone), the 24 h strip, certificate expiry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jobs.templatetags.kc import stamp
from network import derive
from network.models import DEGRADED, GONE, NO_AGENT, NOT_READY, READY, ROUTE_DOWN, ROUTE_UP

register = template.Library()

# status -> (css class shared with job states, icon, label)
BADGES = {
    READY: ("st-succeeded", "✓", gettext_lazy("Ready")),
    NOT_READY: ("st-failed", "✗", gettext_lazy("Not ready")),
    DEGRADED: ("st-pending", "◐", gettext_lazy("Degraded")),
    NO_AGENT: ("st-unknown", "?", gettext_lazy("No agent reported")),
    GONE: ("st-cancelled", "∅", gettext_lazy("Gone")),
    ROUTE_UP: ("st-succeeded", "✓", gettext_lazy("Succeeded")),
    ROUTE_DOWN: ("st-failed", "✗", gettext_lazy("Failed")),
    "": ("st-unknown", "\u2013", gettext_lazy("No route known")),
}


def _badge(status: str) -> tuple[str, str, str]:
    cls, icon, label = BADGES.get(status, ("st-unknown", "?", status))
    return cls, icon, str(label)


@register.simple_tag
def net_badge(status: str) -> SafeString:
    cls, icon, label = _badge(status)
    return format_html(
        '<span class="state {}"><span class="icon" aria-hidden="true">{}</span> {}</span>',
        cls,
        icon,
        label,
    )


@register.filter
def net_class(status: str) -> str:
    return _badge(status)[0]


@register.filter
def net_icon(status: str) -> str:
    return _badge(status)[1]


@register.filter
def net_label(status: str) -> str:
    return _badge(status)[2]


@register.simple_tag
def strip(segments: Sequence[derive.Segment], down_percent: float = 0.0) -> SafeString:
    """The 24 h up/down strip: coloured segments for the eye, a text for everyone else."""
    names = {"up": _("up"), "down": _("down"), "none": _("not known")}
    parts = format_html_join(
        "",
        '<span class="seg seg-{}" style="left:{}%;width:{}%" title="{}: {} \u2013 {}"></span>',
        (
            (
                s.state,
                f"{s.start:.3f}",
                f"{max(s.width, 0.4):.3f}",
                names[s.state],
                stamp(s.since),
                stamp(s.until),
            )
            for s in segments
        ),
    )
    text = _("Last 24 h: down %(percent)s%% of the time") % {"percent": down_percent}
    return format_html('<span class="strip" role="img" aria-label="{}">{}</span>', text, parts)


@register.simple_tag
def cert_expiry(view: Any) -> SafeString:
    """A node's (or route's) certificate expiry: a warning under 30 days, an error after."""
    if not view.cert_state:
        if getattr(view.node, "cert_present", False):
            return format_html('<span class="muted">{}</span>', _("present, not readable"))
        return format_html('<span class="muted">{}</span>', _("none"))
    when = view.node.cert_not_after.date().isoformat()
    if view.cert_state == "expired":
        return format_html(
            '<span class="warnline bad"><span aria-hidden="true">✗</span> {}</span>',
            _("expired on %(date)s") % {"date": when},
        )
    if view.cert_state == "soon":
        return format_html(
            '<span class="warnline warn"><span aria-hidden="true">⚠</span> {}</span>',
            _("expires %(date)s, in %(days)s days") % {"date": when, "days": view.cert_days},
        )
    return format_html("{}", _("valid until %(date)s") % {"date": when})


@register.inclusion_tag("network/_diagnosis.html")
def network_diagnosis(job: Any) -> dict[str, Any]:
    """The failure card's network part for a failed job (nothing, and no query, otherwise):
    its parties' nodes and the routes between them during the run, and what Kuscia's task
    and party messages name. Six queries."""
    from kuscia import types as kt
    from network.diagnosis import diagnose, failure_messages

    if job is None or job.state != kt.FAILED:
        return {"diagnosis": None}
    return {"diagnosis": diagnose(job, failure_messages(job))}


@register.inclusion_tag("network/_tiles.html")
def network_tiles() -> dict[str, Any]:
    """Overview tiles: nodes not Ready and routes down (linking to /network/), and the network
    poll's health per connection. Three queries."""
    from network.models import NetworkSync, Node, Route
    from network.present import poll_health

    return {
        "nodes_down": Node.objects.not_ready_count(),
        "routes_down": Route.objects.down_count(),
        "polls": poll_health(NetworkSync.objects.for_pages()),
    }


@register.simple_tag
def route_url(route: Any) -> str:
    return reverse(
        "network:route",
        args=(route.connection.name, route.source, route.destination),
    )


@register.simple_tag
def node_url(node: Any) -> str:
    return reverse("network:node", args=(node.connection.name, node.domain_id))


@register.simple_tag
def data_url(item: Any) -> str:
    return reverse(
        "network:data_item", args=(item.connection.name, item.domain_id, item.domaindata_id)
    )
