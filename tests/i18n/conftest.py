"""Pages in both languages need the compiled catalogues; every test here starts and ends in the
default language and time zone (a request activates the reader's and leaves them on the thread)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from django.utils import timezone, translation

from dashboard.catalogues import compile_all


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues() -> None:
    compile_all()


@pytest.fixture(autouse=True)
def default_language_and_zone() -> Iterator[None]:
    translation.deactivate()
    timezone.deactivate()
    yield
    translation.deactivate()
    timezone.deactivate()


class _Text(HTMLParser):
    """The text a reader sees, less code, preformatted blocks and scripts."""

    SKIP = {"code", "pre", "script", "style", "title"}

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.depth += 1
        for name, value in attrs:  # labels people read or hear: titles and aria-labels
            if name in ("title", "aria-label", "placeholder") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.depth:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


# Words that stay in Latin letters in Chinese too: names, protocols, Kuscia's own words.
LATIN_OK = {
    "kuscia", "kusciaapi", "console", "api", "url", "id", "tls", "mtls", "notls", "http",
    "https", "token", "master", "lite", "autonomy", "healthz", "english", "utc", "ca", "crt",
    "key", "p2p", "django", "docker", "worker", "ca.crt", "kusciaapi-server.crt",
    "kusciaapi-server.key", "kuscia_",
    "csv", "json",  # file formats (the export links)
    "pod",  # Kubernetes' word, kept in Latin letters as Kuscia's Chinese docs do (Pod 名称)
}  # fmt: skip


def english_words(html: str, *, allowed: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """Latin words of three letters or more in what a reader sees, less the allowed ones (the
    test's own data: user and connection names, ids)."""
    text = re.sub(r"\S*/\S*", " ", visible_text(html))  # paths, URLs, zone names
    words = re.findall(r"[A-Za-z][\w\-.]*[\w]", text)
    words = [w for w in words if len(w) >= 3]
    ok = LATIN_OK | {a.lower() for a in allowed}
    return [w for w in words if w.lower() not in ok]
