"""Texts stored in the database, in the reader's language.

The console stores its notes and hints in English — an audit row's note and hint, a sync
state's last error hint: the record, the same for every reader and in the server's log — and
translates them when a page shows them (the `stored` filter of kc_text). A stored text is one
message per line. A line is a msgid of one of the catalogues as it is (a kuscia/ hint marked
with N_, a note marked with gettext_noop where it is written), or one of STORED_FORMATS with its
values filled in. A line that is neither (an old row, a message reworded since) is shown as it
was stored.
"""

from __future__ import annotations

import re
from functools import cache

from django.utils.translation import gettext

from connections.changes import STOPS_AT
from connections.nodes import NO_NODE_HINT, NO_NODE_MASTER, NO_NODE_P2P
from jobs.sync.apply import RECREATED
from operate.actions import ALREADY_FINISHED, NOT_AWAITING_APPROVAL, REQUERY_FAILED

# Stored messages with values -> the values that are messages themselves (translated too);
# the others are facts (Kuscia's state names and messages) and stay as they are.
STORED_FORMATS: dict[str, frozenset[str]] = {
    STOPS_AT: frozenset({"step"}),
    ALREADY_FINISHED: frozenset(),
    NOT_AWAITING_APPROVAL: frozenset(),
    REQUERY_FAILED: frozenset(),
    NO_NODE_MASTER: frozenset(),
    NO_NODE_P2P: frozenset(),
    NO_NODE_HINT: frozenset(),
    RECREATED: frozenset(),
}

_PLACEHOLDER = re.compile(r"%\\\((\w+)\\\)s")


def stored(text: str) -> str:
    """A stored text in the active language, line by line."""
    return "\n".join(_line(line) for line in text.splitlines())


def _line(line: str) -> str:
    if not line.strip():
        return line
    shown = gettext(line)
    if shown != line:
        return shown
    for message, pattern in _patterns():
        match = pattern.fullmatch(line)
        if match:
            words = STORED_FORMATS[message]
            values = {k: gettext(v) if k in words else v for k, v in match.groupdict().items()}
            return gettext(message) % values
    return line


@cache
def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    """STORED_FORMATS as regular expressions whose groups are the values."""
    return [
        (message, re.compile(_PLACEHOLDER.sub(r"(?P<\1>.*?)", re.escape(message)), re.S))
        for message in STORED_FORMATS
    ]
