"""The viewer's lines as HTML in one pass (a 200-line window through the template engine costs
more than everything else on the page). Every text from a log is escaped here."""

from __future__ import annotations

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from logs.viewer import Line

register = template.Library()


@register.simple_tag
def log_rows(lines: list[Line], focus: int = 0, permalink: str = "") -> SafeString:
    """<div class="ln-row" id="L12"><a class="ln" href="…#L12">12</a><span class="tx">…</span>
    per line; without `permalink` the number is plain text (the failure card's excerpt)."""
    label = gettext("Link to line %(n)s")
    base = escape(permalink)
    out: list[str] = []
    for line in lines:
        n = line.number
        classes = "ln-row"
        if line.error:
            classes += " err"
        if line.match:
            classes += " hit"
        if n == focus:
            classes += " focus"
        if permalink:
            number = (
                f'<a class="ln" href="{base}&amp;line={n}#L{n}" '
                f'aria-label="{escape(label % {"n": n})}">{n}</a>'
            )
        else:
            number = f'<span class="ln">{n}</span>'
        out.append(
            f'<div class="{classes}" id="L{n}">{number}<span class="tx">{escape(line.shown)}'
            "</span></div>\n"
        )
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped
