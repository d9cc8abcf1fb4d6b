"""Template helpers of the network and data pages: node and route status badges (colour, icon
and text, never colour alone), the 24 h strip, certificate expiry."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from html import escape as esc
from typing import Any
from urllib.parse import quote

from django import template
from django.urls import get_script_prefix, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from jobs.templatetags.kc import ago, iso, stamp
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


def _badge_html(status: str) -> str:
    """net_badge's markup as a plain escaped string (the route rows build theirs with
    f-strings: format_html per cell was the dearest part of a row)."""
    cls, icon, label = _badge(status)
    return (
        f'<span class="state {esc(cls)}"><span class="icon" aria-hidden="true">{esc(icon)}'
        f"</span> {esc(label)}</span>"
    )


@register.simple_tag
def net_badge(status: str) -> SafeString:
    return SafeString(_badge_html(status))


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
    """The 24 h up/down strip: coloured segments for the eye, a text for everyone else. Built
    with f-strings over escaped values (it is in every row of the route list)."""
    names = {"up": esc(_("up")), "down": esc(_("down")), "none": esc(_("not known"))}
    parts = "".join(
        f'<span class="seg seg-{s.state}" style="left:{s.start:.3f}%;'
        f'width:{max(s.width, 0.4):.3f}%" title="{names[s.state]}: {esc(stamp(s.since))} '
        f'\u2013 {esc(stamp(s.until))}"></span>'
        for s in segments
    )
    text = _("Last 24 h: down %(percent)s%% of the time") % {"percent": down_percent}
    return SafeString(f'<span class="strip" role="img" aria-label="{esc(text)}">{parts}</span>')


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


DIAGONAL = SafeString('<td class="diag" aria-hidden="true"></td>')


@register.simple_tag
def route_matrix(matrix: Any, several: bool = False) -> SafeString:
    """The source x destination table, built in Python (up to MATRIX_MAX^2 cells: a template
    per cell costs several times more). Every value is escaped by format_html."""
    head = format_html_join(
        "", '<th scope="col" class="dst">{}</th>', ((d,) for d in matrix.domains)
    )
    rows = []
    for source, cells in matrix.rows:
        tds = []
        for cell in cells:
            if cell is None:
                tds.append(DIAGONAL)
            elif not cell.views:
                tds.append(
                    format_html(
                        '<td class="none"><span class="sr-only">{}</span>'
                        '<span aria-hidden="true">·</span></td>',
                        _("No route %(s)s to %(d)s known")
                        % {"s": cell.source, "d": cell.destination},
                    )
                )
            else:
                tds.append(_cell_html(cell, several))
        rows.append(
            format_html('<tr><th scope="row">{}</th>{}</tr>', source, SafeString("".join(tds)))
        )
    caption = _(
        "Source (rows) to destination (columns). Each cell: status and the last 24 hours. "
        "Hover or focus a cell for the reason."
    )
    return format_html(
        '<div class="matrix-wrap scroll-x" tabindex="0" role="region" aria-label="{}">'
        '<table class="route-matrix"><caption class="muted small">{}</caption>'
        '<thead><tr><th scope="col"><span class="sr-only">{}</span>↓ / →</th>{}</tr></thead>'
        "<tbody>{}</tbody></table></div>",
        _("Route matrix"),
        caption,
        _("Source"),
        head,
        SafeString("".join(rows)),
    )


def _cell_html(cell: Any, several: bool) -> SafeString:
    v = cell.first
    status = cell.status
    cls, icon, label = _badge(status)
    lines = []
    for rv in cell.views:
        text = f"{rv.route.connection.name}: " if several else ""
        text += str(_badge(rv.status)[2]) + " " + _("since %(age)s") % {"age": ago(rv.route.since)}
        if rv.route.reason_code:
            text += f" — {rv.route.reason_code}"
        lines.append(format_html('<span class="tip-line">{}</span>', text))
    if cell.disagree:
        lines.append(
            format_html(
                '<span class="tip-line">{}</span>', _("Connections disagree about this route.")
            )
        )
    return format_html(
        '<td class="cell {}{}"><a href="{}" aria-describedby="tip-{}">'
        '<span aria-hidden="true">{}</span><span class="sr-only">{} → {}: {}</span>{}</a>{}'
        '<span class="tip" role="tooltip" id="tip-{}"><strong>{} → {}</strong>{}</span></td>',
        cls,
        " disagree" if cell.disagree else "",
        route_url(v.route),
        v.route.pk,
        icon,
        cell.source,
        cell.destination,
        label,
        SafeString('<span aria-hidden="true">⚠</span>') if cell.disagree else "",
        strip(v.segments, v.down_percent),
        v.route.pk,
        cell.source,
        cell.destination,
        SafeString("".join(lines)),
    )


@register.simple_tag
def node_chips(cards: Sequence[Any], several: bool = False) -> SafeString:
    """Nodes in one line each, name and status (a full card each would not fit): the healthy
    ones, and the problems beyond the cards shown."""
    items = format_html_join(
        "",
        '<li><a href="{}"><span class="state {}"><span aria-hidden="true">{}</span>'
        " {}</span> {}</a></li>",
        ((node_url(c.views[0].node), *_badge(c.status), c.domain_id) for c in cards),
    )
    return format_html('<ul class="node-chips">{}</ul>', items)


@register.simple_tag
def source_rows(sources: Sequence[tuple[str, int, int, int]], connection: str = "") -> SafeString:
    """The rows of the routes-per-source table (up to a hundred domains and more: built in
    Python, as the matrix is). Each source links to its routes."""
    extra = f"&connection={quote(connection, safe='')}" if connection else ""
    return format_html_join(
        "",
        '<tr{}><th scope="row"><a href="?source={}{}">{}</a></th><td>{}</td><td>{}</td>'
        "<td>{}</td></tr>",
        (
            (
                SafeString(' class="has-down"') if down else "",
                quote(d, safe=""),
                extra,
                d,
                up,
                format_html(
                    '<strong class="warnline bad"><span aria-hidden="true">✗</span> {}</strong>',
                    down,
                )
                if down
                else 0,
                gone,
            )
            for d, up, down, gone in sources
        ),
    )


@register.simple_tag
def source_links(domains: Sequence[str], connection: str = "") -> SafeString:
    """Source domains as links to their routes, comma-separated on one line."""
    extra = f"&connection={quote(connection, safe='')}" if connection else ""
    return format_html_join(
        ", ", '<a href="?source={}{}">{}</a>', ((quote(d, safe=""), extra, d) for d in domains)
    )


@register.simple_tag
def route_row(view: Any, several: bool = False) -> SafeString:
    """One row of the route list (the narrow screens' view: the reason in text). Built with
    f-strings: every value from Kuscia or a catalogue goes through esc()."""
    r = view.route
    if r.reason_code:
        reason = f"<strong>{esc(r.reason_code)}</strong>"
        if r.kuscia_updated_at:
            said = _("Kuscia: %(t)s") % {"t": stamp(r.kuscia_updated_at)}
            reason += f' <span class="muted small">{esc(said)}</span>'
    elif view.status == ROUTE_DOWN:
        why = _("no reason given (a new route is Failed until it is first Ready)")
        reason = f'<span class="muted">{esc(why)}</span>'
    else:
        reason = "\u2013"
    conn = f' <span class="muted small">{esc(r.connection.name)}</span>' if several else ""
    return SafeString(
        f'<tr class="{"gone" if r.gone_at else ""}"><td><a href="{esc(route_url(r))}" '
        f'class="route-name">{esc(r.source)} → {esc(r.destination)}</a>{conn}</td>'
        f"<td>{_badge_html(view.status)}</td>"
        f'<td class="wrap">{reason}</td><td class="nowrap"><time datetime="{esc(iso(r.since))}" '
        f'title="{esc(stamp(r.since))}">{esc(ago(r.since))}</time></td>'
        f"<td>{strip(view.segments, view.down_percent)}</td></tr>"
    )


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


@functools.cache
def _shape(name: str, slots: int, script_prefix: str) -> str:
    """A URL with placeholder slots, reversed once per process (reverse() per table row is
    the dearest part of a row); the same URL as {% url %} gives."""
    return reverse(name, args=[f"kc-slot-{i}" for i in range(slots)])


def _url(name: str, *parts: str) -> str:
    url = _shape(name, len(parts), get_script_prefix())
    for i, part in enumerate(parts):
        url = url.replace(f"kc-slot-{i}", quote(part, safe=""), 1)
    return url


@register.simple_tag
def route_url(route: Any) -> str:
    return _url("network:route", route.connection.name, route.source, route.destination)


@register.simple_tag
def node_url(node: Any) -> str:
    return _url("network:node", node.connection.name, node.domain_id)


@register.simple_tag
def data_url(item: Any) -> str:
    return reverse(
        "network:data_item", args=(item.connection.name, item.domain_id, item.domaindata_id)
    )
