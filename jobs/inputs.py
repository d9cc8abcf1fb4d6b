"""Values from outside (a request, a pasted document) that Python reads without complaint but
that the database or the response cannot hold: the one place that turns them into "no value"
or a clear error, so that no page answers 5xx.

- `db_id`: a row id. ASCII digits only, at most an int64 (PostgreSQL bigint, SQLite INTEGER):
  int() refuses more than 4300 digits, and the database refuses more than 19.
- `loads_json`: json.loads, also refusing JSON nested too deeply to read and strings holding a
  lone surrogate (`"\\ud800"` is valid JSON, but no UTF-8 text can hold the character: the
  page or the database would fail on it).

NUL characters are refused for the whole request by accounts.middleware.RejectNulMiddleware.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

INT64_MAX = 2**63 - 1
TOO_DEEP = gettext_lazy("JSON nested too deeply to read.")
LONE_SURROGATE = gettext_lazy(
    "a string holds a lone surrogate escape (such as \\ud800), which is no character: "
    "write the text itself, or \\ud83d\\ude00 pairs"
)


def db_id(text: str) -> int | None:
    """The row id written in `text`, or None when it names none a database could hold."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    value = int(text)
    return value if value <= INT64_MAX else None


def has_lone_surrogate(value: Any) -> bool:
    """Whether a string in `value` (a JSON document: keys too) holds a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def loads_json(text: str) -> Any:
    """json.loads for text that came from outside. ValueError, its message written for the
    user, for text that is not JSON, nested too deeply, or holds a lone surrogate."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(str(TOO_DEEP)) from None
    except ValueError as exc:
        raise ValueError(_("Not valid JSON: %(error)s.") % {"error": exc}) from None
    if has_lone_surrogate(value):
        raise ValueError(_("Not valid JSON: %(error)s.") % {"error": LONE_SURROGATE})
    return value
