"""kuscia/'s English in the reader's language.

kuscia/ is framework-free and writes English: it marks each message with N_ (kuscia.texts) and
`manage.py catalogues` extracts them into this app's catalogue; a message with values is a Text
(the English format and its values). `translated` shows either in the active language. The
values are facts (names, paths, dates, Kuscia's and the TLS library's own words) and stay as
they are. Texts stored in the database: dashboard/stored_texts.py.
"""

from __future__ import annotations

from django.utils.translation import gettext

from kuscia.errors import KusciaError
from kuscia.texts import Text


def translated(value: Text | str) -> str:
    """A kuscia/ text (or one English message) in the active language."""
    if not isinstance(value, Text):
        return gettext(value) if value else ""
    message = gettext(value.message) if value.message else ""
    if not value.args:
        return message
    args = {k: translated(v) if isinstance(v, Text) else v for k, v in value.args.items()}
    return message % args


def error_message(exc: KusciaError) -> str:
    """A Kuscia error's message as str(exc) gives it (with its code and route), in the active
    language where the console wrote it."""
    code = f" [{exc.code}]" if exc.code is not None else ""
    where = f" ({exc.route})" if exc.route else ""
    return f"{translated(exc.text)}{code}{where}"
