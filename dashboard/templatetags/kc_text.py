"""English the console did not write for this page, in the reader's language:
`{% load kc_text %}`.

    {{ record.note|stored }}    a note or hint stored in English (dashboard/stored_texts.py)
    {{ exc.hint|translated }}   a kuscia/ hint or Text (connections/texts.py)
    {{ exc|error_message }}     a live Kuscia error's message, with its code and route
    {% js_texts %}              the words of static/js/*.js, as JSON for the scripts (kcText)
"""

from __future__ import annotations

from django import template
from django.utils.functional import Promise
from django.utils.html import json_script
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from connections import texts
from dashboard import stored_texts
from kuscia.errors import KusciaError
from kuscia.texts import Text

register = template.Library()


@register.filter
def stored(value: str | None) -> str:
    return stored_texts.stored(value or "")


@register.filter
def translated(value: Text | str | None) -> str:
    return texts.translated(value or "")


@register.filter
def error_message(value: KusciaError) -> str:
    return texts.error_message(value)


# The words the scripts write into pages (console.js and operate.js read them with kcText).
JS_TEXTS: dict[str, Promise] = {
    "new": _("(new)"),
    "no_such_task": _("%(alias)s (no such task)"),
    "json_empty": _("empty"),
    "json_valid": _("valid JSON"),
    "json_invalid": _("not valid JSON: %(error)s"),
}


@register.simple_tag
def js_texts() -> SafeString:
    return json_script({k: str(v) for k, v in JS_TEXTS.items()}, "kc-texts")
