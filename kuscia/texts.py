"""English texts the console shows in its readers' language.

kuscia/ is framework-free: it writes its hints and the connection check's details in English.
`N_` marks such a message (gettext's "no-op" convention: it returns its argument unchanged) so
that `manage.py catalogues` extracts it into the connections app's catalogue; the console then
translates it where it shows it (connections/texts.py). A message with values is a `Text`: the
English format with %(name)s placeholders and the values, which are facts (names, paths, dates,
Kuscia's or the TLS library's own words) and are never translated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


def N_(message: str) -> str:
    """Mark `message` for translation where it is shown; returns it unchanged."""
    return message


@dataclass(frozen=True)
class Text:
    """A message (English, marked with N_) and the values of its placeholders."""

    message: str
    args: Mapping[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message % dict(self.args) if self.args else self.message
